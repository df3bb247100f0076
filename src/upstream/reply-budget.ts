/**
 * The process-wide bound on node reply bytes held in memory at once (`server.maxReplyBytesInFlight`).
 * One budget is shared by every NodeClient of a proxy: replies are counted while they stream in,
 * and released when the call completes or is abandoned, or, for a call made for a client request
 * with a `ReplyHold` (the HTTP server opens one per request), once the client's reply is written:
 * the answer lives on, parsed and re-serialised, until then. A reservation that does not fit fails
 * at once (the call answers SY_OVERLOADED) instead of letting memory grow until switchyard stalls.
 */
import { type CallSignal, CancelSignal } from '../util/call-signal.js'

export class ReplyBudget {
  readonly capacityBytes: number
  #usedBytes = 0
  #peakBytes = 0

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes
  }

  get usedBytes(): number {
    return this.#usedBytes
  }

  /** Highest `usedBytes` seen, for tests and figures. */
  get peakBytes(): number {
    return this.#peakBytes
  }

  /** Reserves `bytes`; false (nothing reserved) when they do not fit. */
  tryReserve(bytes: number): boolean {
    if (this.#usedBytes + bytes > this.capacityBytes) return false
    this.#usedBytes += bytes
    if (this.#usedBytes > this.#peakBytes) this.#peakBytes = this.#usedBytes
    return true
  }

  release(bytes: number): void {
    this.#usedBytes = Math.max(0, this.#usedBytes - bytes)
  }
}

/**
 * Reservations made on behalf of one client request, released together when its reply has been
 * written (or the client went away); the request's `CancelSignal` carries it to the node calls.
 * Work that outlives the request (background broadcast sends) registers after `release()` and is
 * released at once.
 */
export class ReplyHold {
  #releases: Array<() => void> = []
  #released = false

  /** Runs `release` when the hold is released (now, if it already was). */
  defer(release: () => void): void {
    if (this.#released) release()
    else this.#releases.push(release)
  }

  release(): void {
    if (this.#released) return
    this.#released = true
    for (const release of this.#releases.splice(0)) release()
  }
}

// Keyed by the client request's abort signal, which already travels with every node call made
// for that request: no AsyncLocalStorage (its promise hooks cost every call) and no extra parameter.
/** The hold of the client request a node call with this signal is made for, if any. */
export function replyHoldOf(signal: CallSignal | undefined): ReplyHold | undefined {
  return signal instanceof CancelSignal ? signal.hold : undefined
}
