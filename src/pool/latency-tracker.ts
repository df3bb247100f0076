/**
 * Peak-EWMA latency and EWMA error rate of one node, fed by live traffic and probes.
 * Peak: a sample above the average replaces it at once (react to a node slowing down now);
 * below it, the average decays toward the sample with time constant `decayMs` (recover slowly).
 */
/** Recent samples kept for percentiles (dashboard p50/p95). */
const WINDOW = 256

export class LatencyTracker {
  #latencyMs: number | undefined
  readonly #window = new Float64Array(WINDOW)
  #count = 0
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

  /** The q-quantile (0..1) of the last samples, ms; undefined before any sample. */
  percentile(q: number): number | undefined {
    const size = Math.min(this.#count, WINDOW)
    if (size === 0) return undefined
    const sorted = Array.from(this.#window.subarray(0, size)).sort((a, b) => a - b)
    return sorted[Math.min(size - 1, Math.floor(q * size))]
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
