import { describe, expect, test } from 'vitest'
import { ProbePacer } from './probe-pacer.js'

/** Turns of a fake event loop, ended by the test. */
function turns() {
  const pending: Array<() => void> = []
  return {
    nextTurn: () => new Promise<void>((resolve) => pending.push(resolve)),
    /** Ends the current turn; resolves after the callers it let start have run. */
    async end(): Promise<void> {
      for (const resolve of pending.splice(0)) resolve()
      for (let i = 0; i < 10; i++) await Promise.resolve()
    },
    get waiting(): number {
      return pending.length
    },
  }
}

describe('ProbePacer', () => {
  test('lets perTurn callers start at once, with no promise to await, and the rest on later turns in the order they asked', async () => {
    const loop = turns()
    const pacer = new ProbePacer({ perTurn: 3, nextTurn: loop.nextTurn })
    const started: number[] = []
    const start = (id: number) => {
      const slot = pacer.take()
      if (slot === undefined) started.push(id)
      else void slot.then(() => started.push(id))
    }
    for (let id = 1; id <= 8; id++) start(id)
    expect(started).toEqual([1, 2, 3])
    await loop.end()
    expect(started).toEqual([1, 2, 3, 4, 5, 6])
    await loop.end()
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    await loop.end()
    expect(loop.waiting).toBe(0)
  })

  test('the count starts over each turn: a few callers a turn never wait', async () => {
    const loop = turns()
    const pacer = new ProbePacer({ perTurn: 2, nextTurn: loop.nextTurn })
    for (let turn = 0; turn < 5; turn++) {
      expect([pacer.take(), pacer.take()]).toEqual([undefined, undefined])
      await loop.end()
    }
    expect(pacer.take()).toBeUndefined()
    expect(pacer.take()).toBeUndefined()
    expect(pacer.take()).toBeInstanceOf(Promise)
  })

  test('with no caller, no turn is waited for (nothing scheduled)', () => {
    const loop = turns()
    new ProbePacer({ nextTurn: loop.nextTurn })
    expect(loop.waiting).toBe(0)
  })

  test('the default turn is a real event-loop turn: 20 starts at 8 a turn start over 3 turns', async () => {
    const pacer = new ProbePacer({ perTurn: 8 })
    // Turns counted by a chain of setImmediate callbacks of this test's own.
    let turn = 0
    let counting = true
    const count = (): void => {
      turn += 1
      if (counting) setImmediate(count)
    }
    setImmediate(count)
    const startedIn = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const slot = pacer.take()
        if (slot !== undefined) await slot
        return turn
      }),
    )
    counting = false
    expect(startedIn).toEqual([...Array(8).fill(0), ...Array(8).fill(1), ...Array(4).fill(2)])
  })
})
