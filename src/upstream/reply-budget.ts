/**
 * The process-wide bound on node reply bytes held in memory at once (`server.maxReplyBytesInFlight`).
 * One budget is shared by every NodeClient of a proxy: replies are counted while they stream in,
 * and released when the call completes or is abandoned. A reservation that does not fit fails at
 * once (the call answers SY_OVERLOADED) instead of letting memory grow until switchyard stalls.
 */
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
