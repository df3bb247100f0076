/**
 * Spreads the node requests of probe rounds over turns of the event loop. A round asks every node
 * of its chain at once (the probe, then the fork check's block hashes): with 50 nodes a chain that
 * was ~100 request starts and their replies in one or two turns, 5–15 ms in which no client request
 * was read or answered (`npm run bench -- --scale`: p99 of a cached call ~10 ms at 1,000 nodes).
 * Taking a slot before each start lets at most `perTurn` probe requests start per turn; the others
 * start on the next turns, after the client requests that arrived meanwhile. One pacer serves every
 * chain of the process: the event loop is shared. A probe's latency is measured from its own start,
 * so waiting for a slot never counts against a node.
 */

/** Probe requests started per event-loop turn, unless given. */
export const PROBE_STARTS_PER_TURN = 8

export class ProbePacer {
  readonly #perTurn: number
  readonly #nextTurn: () => Promise<void>
  #started = 0
  /** Settles at the next turn, when the count starts over; set while this turn has started any. */
  #turnEnd: Promise<void> | undefined

  constructor(options: { perTurn?: number; nextTurn?: () => Promise<void> } = {}) {
    this.#perTurn = Math.max(1, options.perTurn ?? PROBE_STARTS_PER_TURN)
    this.#nextTurn = options.nextTurn ?? (() => new Promise((resolve) => setImmediate(resolve)))
  }

  /**
   * undefined: start now (no promise, no microtask: the common case of small pools). Otherwise a
   * promise that settles when this caller may start, in the order callers asked.
   */
  take(): Promise<void> | undefined {
    if (this.#started < this.#perTurn) {
      this.#started += 1
      this.#turnEnd ??= this.#nextTurn().then(() => {
        this.#turnEnd = undefined
        this.#started = 0
      })
      return undefined
    }
    return this.#turnEnd!.then(() => this.take())
  }
}

/** The process's pacer (see the header): every prober takes its slots here unless given another. */
export const processProbePacer = new ProbePacer()
