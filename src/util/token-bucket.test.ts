import { describe, expect, test } from 'vitest'
import { ManualClock } from './clock.js'
import { type BucketLimit, type BucketState, TokenBucket, admitAll, bucketLimit, fullBucket, refill, take, waitMs } from './token-bucket.js'

const FIVE_PER_SECOND: BucketLimit = { perSecond: 5, burst: 10 }

describe('refill', () => {
  test.each<[string, BucketState, number, BucketState]>([
    ['nothing passes, nothing added', { tokens: 3, atMs: 1000 }, 1000, { tokens: 3, atMs: 1000 }],
    ['200 ms at 5/s adds one token', { tokens: 3, atMs: 1000 }, 1200, { tokens: 4, atMs: 1200 }],
    ['a fraction of a token accumulates', { tokens: 0, atMs: 0 }, 100, { tokens: 0.5, atMs: 100 }],
    ['never above the burst', { tokens: 9, atMs: 0 }, 60_000, { tokens: 10, atMs: 60_000 }],
    ['a debt is paid back first', { tokens: -2, atMs: 0 }, 400, { tokens: 0, atMs: 400 }],
    ['a clock going backwards adds nothing and keeps the later time', { tokens: 2, atMs: 5000 }, 4000, { tokens: 2, atMs: 5000 }],
  ])('%s', (_name, state, nowMs, expected) => {
    const next = refill(state, FIVE_PER_SECOND, nowMs)
    expect(next.atMs).toBe(expected.atMs)
    expect(next.tokens).toBeCloseTo(expected.tokens, 9)
  })
})

describe('waitMs: how long a request of `cost` tokens waits', () => {
  test.each<[string, number, number, number]>([
    ['enough tokens → 0', 3, 3, 0],
    ['one token short at 5/s → 200 ms', 2, 3, 200],
    ['half a token short → 100 ms', 0.5, 1, 100],
    ['empty, a full burst → 2 s', 0, 10, 2000],
    ['more than the burst → never', 10, 11, Number.POSITIVE_INFINITY],
  ])('%s', (_name, tokens, cost, expected) => {
    expect(waitMs({ tokens, atMs: 0 }, FIVE_PER_SECOND, cost)).toBe(expected)
  })

  test('a slow bucket (one token every 1000 s) asks for the whole wait', () => {
    expect(waitMs({ tokens: 0, atMs: 0 }, { perSecond: 0.001, burst: 1 }, 1)).toBe(1_000_000)
  })
})

test('bucketLimit: burst defaults to perSecond rounded up, at least 1', () => {
  expect(bucketLimit({ perSecond: 5 })).toEqual({ perSecond: 5, burst: 5 })
  expect(bucketLimit({ perSecond: 2.5 })).toEqual({ perSecond: 2.5, burst: 3 })
  expect(bucketLimit({ perSecond: 0.1 })).toEqual({ perSecond: 0.1, burst: 1 })
  expect(bucketLimit({ perSecond: 5, burst: 20 })).toEqual({ perSecond: 5, burst: 20 })
})

test('take and fullBucket', () => {
  expect(fullBucket(FIVE_PER_SECOND, 7)).toEqual({ tokens: 10, atMs: 7 })
  expect(take({ tokens: 10, atMs: 7 }, 4)).toEqual({ tokens: 6, atMs: 7 })
})

describe('TokenBucket over a manual clock', () => {
  test('a full burst passes, the next call waits until a token has dripped in', () => {
    const clock = new ManualClock(0)
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, () => clock.now())
    for (let i = 0; i < 3; i++) {
      expect(bucket.waitMs(1)).toBe(0)
      bucket.take(1)
    }
    expect(bucket.waitMs(1)).toBe(500)
    clock.advance(499)
    expect(bucket.waitMs(1)).toBe(1)
    clock.advance(1)
    expect(bucket.waitMs(1)).toBe(0)
    bucket.take(1)
    expect(bucket.tokens()).toBeCloseTo(0, 9)
    clock.advance(10_000)
    expect(bucket.tokens()).toBe(3)
  })
})

describe('admitAll: every bucket or none', () => {
  const setup = () => {
    const clock = new ManualClock(0)
    const overall = new TokenBucket({ perSecond: 10, burst: 10 }, () => clock.now())
    const broadcast = new TokenBucket({ perSecond: 1, burst: 2 }, () => clock.now())
    return { clock, overall, broadcast }
  }

  test('all fit → all charged', () => {
    const { overall, broadcast } = setup()
    expect(admitAll([{ bucket: overall, cost: 3, tag: 'overall' }, { bucket: broadcast, cost: 2, tag: 'broadcast' }])).toEqual({ waitMs: 0 })
    expect(overall.tokens()).toBe(7)
    expect(broadcast.tokens()).toBe(0)
  })

  test('one short → none charged; the longest wait and its bucket are named', () => {
    const { overall, broadcast } = setup()
    broadcast.take(2)
    expect(admitAll([{ bucket: overall, cost: 3, tag: 'overall' }, { bucket: broadcast, cost: 1, tag: 'broadcast' }])).toEqual({ waitMs: 1000, tag: 'broadcast', limit: { perSecond: 1, burst: 2 } })
    expect(overall.tokens()).toBe(10)
  })

  test('more than a burst → Infinity (never), none charged', () => {
    const { overall, broadcast } = setup()
    const verdict = admitAll([{ bucket: overall, cost: 11, tag: 'overall' }, { bucket: broadcast, cost: 1, tag: 'broadcast' }])
    expect(verdict).toEqual({ waitMs: Number.POSITIVE_INFINITY, tag: 'overall', limit: { perSecond: 10, burst: 10 } })
    expect(broadcast.tokens()).toBe(2)
  })

  test('a zero cost touches nothing', () => {
    const { overall, broadcast } = setup()
    broadcast.take(2)
    expect(admitAll([{ bucket: overall, cost: 1, tag: 'overall' }, { bucket: broadcast, cost: 0, tag: 'broadcast' }])).toEqual({ waitMs: 0 })
  })
})
