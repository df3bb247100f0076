/**
 * Peak-EWMA latency and EWMA error rate of one node, fed by live traffic and probes.
 * Peak: a sample above the average replaces it at once (react to a node slowing down now);
 * below it, the average decays toward the sample with time constant `decayMs` (recover slowly).
 */
/** Recent samples kept for percentiles (dashboard p50/p95, the hedge delay). */
const WINDOW = 256
/**
 * Percentiles come from a sorted copy of the window, re-sorted once this many samples arrived
 * since the last sort (fewer while the window is young: after 1, 2, 4, 8, 16 samples): hedged
 * reads read a node's p95 on every attempt, and sorting 256 samples each time cost ~50 µs a read
 * (~1.5 µs a sample and a read this way). A percentile is thus at most 15 samples (6% of the
 * window) stale.
 */
const RESORT_EVERY = 16

export class LatencyTracker {
  #latencyMs: number | undefined
  readonly #window = new Float64Array(WINDOW)
  #count = 0
  readonly #sorted = new Float64Array(WINDOW)
  /** `#count` when `#sorted` was last filled. */
  #sortedAt = 0
  #errorRate = 0
  #lastAt = 0
  readonly #decayMs: number
  readonly #errorAlpha: number

  constructor(options: { decayMs?: number; errorAlpha?: number } = {}) {
    this.#decayMs = options.decayMs ?? 10_000
    this.#errorAlpha = options.errorAlpha ?? 0.05
  }

  get latencyMs(): number | undefined {
    return this.#latencyMs
  }

  get errorRate(): number {
    return this.#errorRate
  }

  /** The q-quantile (0..1) of the last samples, ms (see RESORT_EVERY); undefined before any sample. */
  percentile(q: number): number | undefined {
    const size = Math.min(this.#count, WINDOW)
    if (size === 0) return undefined
    const stale = this.#count - this.#sortedAt
    if (stale > 0 && stale >= Math.min(RESORT_EVERY, this.#sortedAt)) {
      const sorted = this.#sorted.subarray(0, size)
      sorted.set(this.#window.subarray(0, size))
      sorted.sort()
      this.#sortedAt = this.#count
    }
    const sortedSize = Math.min(this.#sortedAt, WINDOW)
    return this.#sorted[Math.min(sortedSize - 1, Math.floor(q * sortedSize))]
  }

  observeLatency(sampleMs: number, now: number): void {
    this.#window[this.#count % WINDOW] = sampleMs
    this.#count += 1
    const current = this.#latencyMs
    if (current === undefined || sampleMs > current) {
      this.#latencyMs = sampleMs
    } else {
      const weight = Math.exp(-Math.max(0, now - this.#lastAt) / this.#decayMs)
      this.#latencyMs = current * weight + sampleMs * (1 - weight)
    }
    this.#lastAt = now
  }

  observeOutcome(failed: boolean): void {
    this.#errorRate = this.#errorRate * (1 - this.#errorAlpha) + (failed ? this.#errorAlpha : 0)
  }
}
