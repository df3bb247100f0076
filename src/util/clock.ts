/** Time source injected everywhere policies need "now", so tests drive time instead of sleeping. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock advanced by hand, for policy and prober tests. */
export class ManualClock implements Clock {
  #nowMs: number
  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs
  }
  now(): number {
    return this.#nowMs
  }
  advance(ms: number): void {
    this.#nowMs += ms
  }
}
