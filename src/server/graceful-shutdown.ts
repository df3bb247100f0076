/**
 * The shutdown sequence of a serving process, as a small state machine over injected steps and
 * timers (so it is tested with a hand-driven clock; `appShutdownSteps` is the real I/O):
 *
 *   serving ─signal→ grace ─graceMs→ draining ─all answered→ finishing ─journal closed→ done (exit 0)
 *
 * - grace: `/readyz` answers 503 at once and every response says `Connection: close`, but new
 *   connections are still accepted and served, so a load balancer sees the 503 and moves traffic
 *   away before anything is refused, and keep-alive clients reconnect (to another instance).
 * - draining: the listener is closed (new connections are refused; idle keep-alive sockets are
 *   closed); accepted requests, streams and broadcasts finish.
 * - finishing: background broadcast sends are recorded, the journal is closed.
 * - `drainMs` after the listener closed, whatever is still open is cut and the exit code is 1,
 *   so a supervisor sees that the drain was not clean.
 * - A second signal at any point ends the sequence at once with 128 + the signal's number (the
 *   shell convention): the operator asked twice. Accepted broadcasts are already on disk (the
 *   journal writes synchronously before answering); sends still in the background are not
 *   recorded, and the next start's rebroadcaster looks at every open record again.
 */
import type { FastifyInstance } from 'fastify'
import type { Proxy } from '../proxy.js'
import type { ChainListeners } from './chain-listeners.js'

export type ShutdownPhase = 'serving' | 'grace' | 'draining' | 'finishing' | 'done'

export type ShutdownSignal = 'SIGTERM' | 'SIGINT'

/** Exit codes by the shell convention 128 + signal number, for a forced (second-signal) exit. */
const SIGNAL_NUMBERS: Record<ShutdownSignal, number> = { SIGINT: 2, SIGTERM: 15 }

/** Time for the sequence: now() and one-shot timers. Tests pass a hand-driven implementation. */
export interface ShutdownTimers {
  now(): number
  /** Runs `run` after `ms`; the returned function cancels it. */
  after(ms: number, run: () => void): () => void
}

export const systemTimers: ShutdownTimers = {
  now: () => performance.now(),
  after: (ms, run) => {
    const timer = setTimeout(run, ms)
    return () => clearTimeout(timer)
  },
}

/** The I/O of each step, supplied by the process (CLI) or an embedding application. */
export interface ShutdownSteps {
  /** Readiness turns 503 and responses carry `Connection: close`; calls are still served. */
  beginDrain(): void
  /** Stops accepting connections; resolves once every accepted request is answered and its connection closed. */
  closeListener(): Promise<void>
  /** The drain deadline passed: cuts the connections still open (their in-flight calls are aborted). */
  cutConnections(): void
  /** Lets background broadcast sends finish and be journaled, stops probing, closes the journal. */
  finish(): Promise<void>
}

/**
 * The steps for a Fastify app from `buildApp(proxy)` and the proxy's chain listeners, if any
 * (`startChainListeners`; the CLI's; embedding applications may use them too): every listener
 * drains, closes and is cut together.
 */
export function appShutdownSteps(app: FastifyInstance, proxy: Proxy, listeners?: Pick<ChainListeners, 'close' | 'closeAllConnections'>): ShutdownSteps {
  return {
    // isReady() false: /readyz 503; every app's onSend hook adds Connection: close from now on.
    beginDrain: () => proxy.beginDrain(),
    // Fastify stops accepting, ends event streams, closes idle keep-alive sockets, and resolves once every accepted request is answered.
    closeListener: async () => {
      await Promise.all([app.close(), listeners?.close()])
    },
    cutConnections: () => {
      app.server.closeAllConnections()
      listeners?.closeAllConnections()
    },
    // Background broadcast sends are journaled, probing stops, the journal is closed (flushed).
    finish: async () => await proxy.close(),
  }
}

export interface ShutdownOptions {
  /** How long after the signal new connections are still accepted while /readyz is 503, ms. */
  graceMs: number
  /** How long after the listener closed in-flight work may take before connections are cut, ms. */
  drainMs: number
  timers?: ShutdownTimers
  /** Called on every phase change, with ms since the first signal (logging). */
  onPhase?: (phase: ShutdownPhase, sinceSignalMs: number) => void
}

export interface ShutdownReport {
  /** 0: drained in time; 1: the deadline cut connections, or a step failed; 128+n: a second signal. */
  exitCode: number
  outcome: 'drained' | 'deadline' | 'forced' | 'failed'
  /** The signal that started the sequence. */
  signal: ShutdownSignal
  /** From the first signal to the listener closing, ms (the grace actually given). */
  graceMs: number | undefined
  /** From the listener closing to the journal closed, ms (the drain); undefined if it never finished. */
  drainMs: number | undefined
  /** What went wrong, for the log (deadline, failing step, second signal). */
  detail?: string
}

export class GracefulShutdown {
  readonly done: Promise<ShutdownReport>
  readonly #steps: ShutdownSteps
  readonly #options: ShutdownOptions
  readonly #timers: ShutdownTimers
  #phase: ShutdownPhase = 'serving'
  #signal: ShutdownSignal | undefined
  #signalAt = 0
  #listenerClosedAt: number | undefined
  #deadlinePassed = false
  #cancelTimer: (() => void) | undefined
  #resolve!: (report: ShutdownReport) => void

  constructor(steps: ShutdownSteps, options: ShutdownOptions) {
    this.#steps = steps
    this.#options = options
    this.#timers = options.timers ?? systemTimers
    this.done = new Promise((resolve) => (this.#resolve = resolve))
  }

  get phase(): ShutdownPhase {
    return this.#phase
  }

  /** A termination signal arrived: the first starts the sequence, a second ends it at once. */
  signal(signal: ShutdownSignal): void {
    if (this.#phase === 'done') return
    if (this.#phase !== 'serving') {
      this.#end({ exitCode: 128 + SIGNAL_NUMBERS[signal], outcome: 'forced', detail: `${signal} during ${this.#phase}: exiting without finishing the drain` })
      return
    }
    this.#signal = signal
    this.#signalAt = this.#timers.now()
    this.#enter('grace')
    try {
      this.#steps.beginDrain()
    } catch (error) {
      this.#end({ exitCode: 1, outcome: 'failed', detail: `starting the drain failed: ${describe(error)}` })
      return
    }
    this.#cancelTimer = this.#timers.after(this.#options.graceMs, () => void this.#drain())
  }

  async #drain(): Promise<void> {
    if (this.#phase !== 'grace') return
    this.#enter('draining')
    this.#listenerClosedAt = this.#timers.now()
    this.#cancelTimer = this.#timers.after(this.#options.drainMs, () => this.#deadline())
    try {
      await this.#steps.closeListener()
      if (this.phase !== 'draining') return
      this.#enter('finishing')
      await this.#steps.finish()
    } catch (error) {
      this.#end({ exitCode: 1, outcome: 'failed', detail: `${this.phase === 'finishing' ? 'closing the proxy' : 'closing the listener'} failed: ${describe(error)}` })
      return
    }
    if (this.#deadlinePassed) {
      this.#end({ exitCode: 1, outcome: 'deadline', detail: `work was still in flight ${this.#options.drainMs} ms after the listener closed: open connections were cut` })
    } else {
      this.#end({ exitCode: 0, outcome: 'drained' })
    }
  }

  #deadline(): void {
    if (this.#phase === 'done') return
    this.#deadlinePassed = true
    // Background broadcast sends (finishing) are never cut: their outcome must reach the journal, and node timeouts bound them.
    if (this.#phase === 'draining') this.#steps.cutConnections()
  }

  #enter(phase: ShutdownPhase): void {
    this.#phase = phase
    this.#options.onPhase?.(phase, this.#timers.now() - this.#signalAt)
  }

  #end(result: Pick<ShutdownReport, 'exitCode' | 'outcome' | 'detail'>): void {
    if (this.#phase === 'done') return
    this.#cancelTimer?.()
    const now = this.#timers.now()
    const listenerClosedAt = this.#listenerClosedAt
    this.#enter('done')
    this.#resolve({
      ...result,
      signal: this.#signal ?? 'SIGTERM',
      graceMs: listenerClosedAt === undefined ? undefined : listenerClosedAt - this.#signalAt,
      drainMs: listenerClosedAt === undefined || result.outcome === 'forced' ? undefined : now - listenerClosedAt,
    })
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
