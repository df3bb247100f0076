/**
 * The hedging decisions as tables: which calls may be hedged, how long the first attempt runs
 * alone, and whether a hedge is sent when it is due.
 */
import { describe, expect, test } from 'vitest'
import { type HedgeCall, type HedgeFacts, type HedgeVerdict, hedgeDelayMs, hedgeVerdict, isHedgeable } from './hedge.js'

describe('isHedgeable', () => {
  const read: HedgeCall = { methodClass: 'read', atHeadOnly: false, verifiedRead: false }
  test.each<{ name: string; enabled: boolean; call: HedgeCall; expected: boolean }>([
    { name: 'a read with hedging on', enabled: true, call: read, expected: true },
    { name: 'a read with hedging off (the default)', enabled: false, call: read, expected: false },
    { name: 'a broadcast (eth_sendRawTransaction, sendrawtransaction)', enabled: true, call: { ...read, methodClass: 'broadcast' }, expected: false },
    { name: 'a method answered locally', enabled: true, call: { ...read, methodClass: 'local' }, expected: false },
    { name: 'a forbidden method', enabled: true, call: { ...read, methodClass: 'forbidden' }, expected: false },
    { name: 'a read routed to at-head nodes only', enabled: true, call: { ...read, atHeadOnly: true }, expected: false },
    { name: 'a route of a verified read', enabled: true, call: { ...read, verifiedRead: true }, expected: false },
  ])('$name → $expected', ({ enabled, call, expected }) => {
    expect(isHedgeable({ enabled }, call)).toBe(expected)
  })
})

describe('hedgeDelayMs', () => {
  test.each<{ afterMs: number; p95Ms: number | undefined; expected: number }>([
    { afterMs: 50, p95Ms: undefined, expected: 50 },
    { afterMs: 50, p95Ms: 12, expected: 50 },
    { afterMs: 50, p95Ms: 50, expected: 50 },
    { afterMs: 50, p95Ms: 180.5, expected: 180.5 },
  ])('afterMs $afterMs, p95 $p95Ms → $expected ms', ({ afterMs, p95Ms, expected }) => {
    expect(hedgeDelayMs(afterMs, p95Ms)).toBe(expected)
  })
})

describe('hedgeVerdict', () => {
  const armable: HedgeFacts = { hedgesInFlight: 0, maxInFlight: 16, attempts: 1, maxAttempts: 3, others: 2, remainingMs: 5_000, waitMs: 50 }
  test.each<{ name: string; facts: Partial<HedgeFacts>; expected: HedgeVerdict }>([
    { name: 'a slow first attempt with another node free', facts: {}, expected: 'hedge' },
    { name: 'due now, with time left', facts: { waitMs: 0, remainingMs: 1 }, expected: 'hedge' },
    { name: 'no other candidate', facts: { others: 0 }, expected: 'no-other-node' },
    { name: 'the chain at hedge.maxInFlight', facts: { hedgesInFlight: 16 }, expected: 'hedges-at-bound' },
    { name: 'one below hedge.maxInFlight', facts: { hedgesInFlight: 15 }, expected: 'hedge' },
    { name: 'routing.maxAttempts spent by the first attempt', facts: { attempts: 1, maxAttempts: 1 }, expected: 'attempts-spent' },
    { name: 'the deadline comes before the hedge would be due', facts: { remainingMs: 50 }, expected: 'no-time' },
    { name: 'due, but the deadline has passed', facts: { waitMs: 0, remainingMs: 0 }, expected: 'no-time' },
  ])('$name → $expected', ({ facts, expected }) => {
    expect(hedgeVerdict({ ...armable, ...facts })).toBe(expected)
  })
})
