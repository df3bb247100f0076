import { describe, expect, test } from 'vitest'
import { GracefulShutdown, type ShutdownPhase, type ShutdownSteps, type ShutdownTimers } from './graceful-shutdown.js'

/** One-shot timers driven by hand: `advance(ms)` runs what falls due, in time order. */
class ManualTimers implements ShutdownTimers {
  #now = 0
  #timers: Array<{ at: number; run: () => void; cancelled: boolean }> = []
  now(): number {
    return this.#now
  }
  after(ms: number, run: () => void): () => void {
    const timer = { at: this.#now + ms, run, cancelled: false }
    this.#timers.push(timer)
    return () => (timer.cancelled = true)
  }
  pending(): number {
    return this.#timers.filter((timer) => !timer.cancelled).length
  }
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms
    for (;;) {
      const due = this.#timers.filter((timer) => !timer.cancelled && timer.at <= until).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      due.cancelled = true
      this.#now = due.at
      due.run()
      await settle()
    }
    this.#now = until
    await settle()
  }
}

/** Lets promise continuations run (the steps below resolve when the test says so). */
const settle = async (): Promise<void> => {
  for (let index = 0; index < 10; index += 1) await Promise.resolve()
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Steps that record what ran and wait for the test to finish closing the listener and the proxy. */
function harness(options: { graceMs?: number; drainMs?: number } = {}) {
  const timers = new ManualTimers()
  const ran: string[] = []
  const phases: Array<[ShutdownPhase, number]> = []
  const listener = deferred()
  const finish = deferred()
  const steps: ShutdownSteps = {
    beginDrain: () => void ran.push('beginDrain'),
    closeListener: async () => {
      ran.push('closeListener')
      await listener.promise
    },
    cutConnections: () => {
      ran.push('cutConnections')
      // Cutting the sockets is what lets the listener's close complete.
      listener.resolve()
    },
    finish: async () => {
      ran.push('finish')
      await finish.promise
    },
  }
  const shutdown = new GracefulShutdown(steps, {
    graceMs: options.graceMs ?? 5_000,
    drainMs: options.drainMs ?? 30_000,
    timers,
    onPhase: (phase, sinceSignalMs) => phases.push([phase, sinceSignalMs]),
  })
  let report: Awaited<typeof shutdown.done> | undefined
  void shutdown.done.then((value) => (report = value))
  return { timers, ran, phases, listener, finish, shutdown, report: () => report }
}

describe('GracefulShutdown', () => {
  test('signal → grace (readiness off, still serving) → listener closed after graceMs → drained → journal closed → exit 0', async () => {
    const h = harness({ graceMs: 5_000 })
    expect(h.shutdown.phase).toBe('serving')
    h.shutdown.signal('SIGTERM')
    expect(h.shutdown.phase).toBe('grace')
    expect(h.ran).toEqual(['beginDrain'])

    await h.timers.advance(4_999)
    expect(h.ran).toEqual(['beginDrain'])
    await h.timers.advance(1)
    expect(h.shutdown.phase).toBe('draining')
    expect(h.ran).toEqual(['beginDrain', 'closeListener'])

    await h.timers.advance(1_200)
    h.listener.resolve()
    await settle()
    expect(h.shutdown.phase).toBe('finishing')
    expect(h.ran).toEqual(['beginDrain', 'closeListener', 'finish'])
    await h.timers.advance(300)
    h.finish.resolve()
    await settle()

    expect(h.report()).toEqual({ exitCode: 0, outcome: 'drained', signal: 'SIGTERM', graceMs: 5_000, drainMs: 1_500 })
    expect(h.phases).toEqual([
      ['grace', 0],
      ['draining', 5_000],
      ['finishing', 6_200],
      ['done', 6_500],
    ])
    expect(h.timers.pending()).toBe(0)
  })

  test('graceMs 0: the listener closes on the next timer turn', async () => {
    const h = harness({ graceMs: 0 })
    h.shutdown.signal('SIGINT')
    await h.timers.advance(0)
    expect(h.ran).toEqual(['beginDrain', 'closeListener'])
    h.listener.resolve()
    h.finish.resolve()
    await settle()
    expect(h.report()).toMatchObject({ exitCode: 0, outcome: 'drained', signal: 'SIGINT', graceMs: 0, drainMs: 0 })
  })

  test('requests still open drainMs after the listener closed: connections cut, the journal still closed, exit 1', async () => {
    const h = harness({ graceMs: 1_000, drainMs: 30_000 })
    h.shutdown.signal('SIGTERM')
    await h.timers.advance(1_000)
    await h.timers.advance(29_999)
    expect(h.ran).toEqual(['beginDrain', 'closeListener'])
    await h.timers.advance(1)
    expect(h.ran).toEqual(['beginDrain', 'closeListener', 'cutConnections', 'finish'])
    h.finish.resolve()
    await settle()
    expect(h.report()).toMatchObject({ exitCode: 1, outcome: 'deadline', graceMs: 1_000, drainMs: 30_000 })
    expect(h.report()?.detail).toContain('30000 ms after the listener closed')
  })

  test('background broadcast sends past the deadline are not cut (their outcome must be journaled): exit 1 once they are', async () => {
    const h = harness({ graceMs: 0, drainMs: 100 })
    h.shutdown.signal('SIGTERM')
    await h.timers.advance(0)
    h.listener.resolve()
    await settle()
    expect(h.shutdown.phase).toBe('finishing')
    await h.timers.advance(500)
    expect(h.ran).not.toContain('cutConnections')
    expect(h.report()).toBeUndefined()
    h.finish.resolve()
    await settle()
    expect(h.report()).toMatchObject({ exitCode: 1, outcome: 'deadline', drainMs: 500 })
  })

  test.each([
    { phase: 'grace', second: 'SIGTERM', exitCode: 143 },
    { phase: 'draining', second: 'SIGINT', exitCode: 130 },
    { phase: 'finishing', second: 'SIGTERM', exitCode: 143 },
  ] as const)('a second signal ($second) during $phase ends at once with $exitCode', async ({ phase, second, exitCode }) => {
    const h = harness({ graceMs: 1_000 })
    h.shutdown.signal('SIGTERM')
    if (phase !== 'grace') await h.timers.advance(1_000)
    if (phase === 'finishing') {
      h.listener.resolve()
      await settle()
    }
    expect(h.shutdown.phase).toBe(phase)
    h.shutdown.signal(second)
    await settle()
    expect(h.report()).toMatchObject({ exitCode, outcome: 'forced', signal: 'SIGTERM', drainMs: undefined })
    expect(h.report()?.detail).toBe(`${second} during ${phase}: exiting without finishing the drain`)
    expect(h.timers.pending()).toBe(0)
    // Nothing more happens after a forced end, not even when the steps complete late.
    const ran = [...h.ran]
    h.listener.resolve()
    h.finish.resolve()
    await h.timers.advance(60_000)
    expect(h.ran).toEqual(ran)
    expect(h.shutdown.phase).toBe('done')
  })

  test('a signal after the end changes nothing', async () => {
    const h = harness({ graceMs: 0 })
    h.shutdown.signal('SIGTERM')
    await h.timers.advance(0)
    h.listener.resolve()
    h.finish.resolve()
    await settle()
    h.shutdown.signal('SIGINT')
    await settle()
    expect(h.report()).toMatchObject({ exitCode: 0, outcome: 'drained' })
  })

  test.each([
    { step: 'closeListener', detail: 'closing the listener failed: boom' },
    { step: 'finish', detail: 'closing the proxy failed: boom' },
  ] as const)('$step failing: exit 1 with the reason', async ({ step, detail }) => {
    const h = harness({ graceMs: 0 })
    h.shutdown.signal('SIGTERM')
    await h.timers.advance(0)
    if (step === 'closeListener') h.listener.reject(new Error('boom'))
    else {
      h.listener.resolve()
      await settle()
      h.finish.reject(new Error('boom'))
    }
    await settle()
    expect(h.report()).toMatchObject({ exitCode: 1, outcome: 'failed', detail })
    expect(h.timers.pending()).toBe(0)
  })
})
