import { describe, expect, test } from 'vitest'
import { ReplyHold, replyHoldOf } from '../upstream/reply-budget.js'
import { type CallSignal, CancelSignal } from '../util/call-signal.js'
import { ReadCoalescer } from './read-coalescer.js'

/** A piece of work the test settles by hand, recording how often it started and whether it was aborted. */
function heldWork<T>() {
  const started: CallSignal[] = []
  let settle!: (value: T) => void
  const done = new Promise<T>((resolve) => (settle = resolve))
  return {
    started,
    work: (signal: CallSignal) => {
      started.push(signal)
      return done
    },
    settle: (value: T) => settle(value),
  }
}

const ABORTED = { aborted: true }

describe('ReadCoalescer', () => {
  test('callers of one key while its work runs share it: one start, the same value, joins counted', async () => {
    const shared: unknown[] = []
    const coalescer = new ReadCoalescer<object>((value) => shared.push(value))
    const held = heldWork<object>()
    const results = [1, 2, 3].map(() => coalescer.run('k', undefined, held.work, () => ABORTED))
    await Promise.resolve()
    const value = { answer: 1 }
    held.settle(value)
    const settled = await Promise.all(results)
    expect(held.started).toHaveLength(1)
    expect(settled.map((result) => result.value)).toEqual([value, value, value])
    expect(settled.map((result) => result.joined)).toEqual([false, true, true])
    expect(coalescer.joined).toBe(2)
    expect(shared).toEqual([value])
    expect(coalescer.inFlight).toBe(0)
  })

  test("the shared work's node replies are held with the first caller's request (server.maxReplyBytesInFlight)", async () => {
    const coalescer = new ReadCoalescer<object>()
    const held = heldWork<object>()
    const hold = new ReplyHold()
    const first = new CancelSignal(hold)
    const results = [first, new CancelSignal(new ReplyHold())].map((signal) => coalescer.run('k', signal, held.work, () => ABORTED))
    await Promise.resolve()
    expect(held.started).toHaveLength(1)
    expect(held.started[0]).not.toBe(first)
    expect(replyHoldOf(held.started[0])).toBe(hold)
    held.settle({ answer: 1 })
    await Promise.all(results)
  })

  test('different keys run separately; a call after the work settled starts afresh; a lone caller is not shared', async () => {
    const shared: unknown[] = []
    const coalescer = new ReadCoalescer<number>((value) => shared.push(value))
    const a = heldWork<number>()
    const b = heldWork<number>()
    const first = coalescer.run('a', undefined, a.work, () => -1)
    const other = coalescer.run('b', undefined, b.work, () => -1)
    a.settle(1)
    b.settle(2)
    expect([(await first).value, (await other).value]).toEqual([1, 2])
    const again = heldWork<number>()
    const later = coalescer.run('a', undefined, again.work, () => -1)
    again.settle(3)
    expect(await later).toEqual({ value: 3, joined: false })
    expect([a.started.length, b.started.length, again.started.length]).toEqual([1, 1, 1])
    expect(coalescer.joined).toBe(0)
    expect(shared).toEqual([])
  })

  test('a caller that aborts gets its own aborted result at once; the others still get the work, which is not aborted', async () => {
    const coalescer = new ReadCoalescer<object>()
    const held = heldWork<object>()
    const leaving = new AbortController()
    const staying = new AbortController()
    const gone = coalescer.run('k', leaving.signal, held.work, () => ABORTED)
    const kept = coalescer.run('k', staying.signal, held.work, () => ABORTED)
    await Promise.resolve()
    leaving.abort()
    expect(await gone).toEqual({ value: ABORTED, joined: false })
    expect(held.started[0]?.aborted).toBe(false)
    held.settle({ answer: 1 })
    expect(await kept).toEqual({ value: { answer: 1 }, joined: true })
  })

  test('the work is aborted once every caller left, and a later caller does not join it', async () => {
    const coalescer = new ReadCoalescer<object>()
    const held = heldWork<object>()
    const callers = [new AbortController(), new AbortController()]
    const results = callers.map((controller) => coalescer.run('k', controller.signal, held.work, () => ABORTED))
    await Promise.resolve()
    for (const controller of callers) controller.abort()
    expect((await Promise.all(results)).map((result) => result.value)).toEqual([ABORTED, ABORTED])
    expect(held.started[0]?.aborted).toBe(true)
    const fresh = heldWork<object>()
    const next = coalescer.run('k', undefined, fresh.work, () => ABORTED)
    fresh.settle({ answer: 2 })
    expect(await next).toEqual({ value: { answer: 2 }, joined: false })
    expect(fresh.started).toHaveLength(1)
  })

  test('an already aborted caller starts nothing', async () => {
    const coalescer = new ReadCoalescer<object>()
    const held = heldWork<object>()
    expect(await coalescer.run('k', AbortSignal.abort(), held.work, () => ABORTED)).toEqual({ value: ABORTED, joined: false })
    expect(held.started).toHaveLength(0)
  })

  test('a failing work rejects every caller and leaves nothing in flight', async () => {
    const coalescer = new ReadCoalescer<object>()
    const work = () => Promise.reject(new Error('boom'))
    const results = [coalescer.run('k', undefined, work, () => ABORTED), coalescer.run('k', new AbortController().signal, work, () => ABORTED)]
    for (const result of results) await expect(result).rejects.toThrow('boom')
    expect(coalescer.inFlight).toBe(0)
  })
})
