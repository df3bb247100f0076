/**
 * Which routable node serves the next call. Pure: inputs are the node figures, outputs a choice.
 * score = weight / (latency × (1 + in-flight) × (1 + errorPenalty × errorRate))
 * Power of two choices: sample two candidates, keep the better score. A slow, busy or failing node
 * still gets some traffic (so its figures stay current) but much less, and there is no herd onto
 * the single best node.
 */
export interface ScoreInput {
  /** Configured weight (default 1). */
  weight: number
  /** Peak-EWMA latency, ms. */
  latencyMs: number
  inFlight: number
  /** EWMA of failed attempts, 0..1. */
  errorRate: number
}

/** How much a 100% error rate divides the score by (1 + 20 = 21×). */
export const ERROR_PENALTY = 20
/** Latencies below this are treated as equal, so sub-millisecond noise does not decide. */
export const LATENCY_FLOOR_MS = 1

export function scoreNode(input: ScoreInput): number {
  const latency = Math.max(input.latencyMs, LATENCY_FLOOR_MS)
  return input.weight / (latency * (1 + input.inFlight) * (1 + ERROR_PENALTY * input.errorRate))
}

/**
 * Picks one of `candidates` by power of two choices over `score`. `random` returns [0, 1).
 * Candidates with weight 0 are only chosen when no other is left.
 */
export function pickByTwoChoices<T>(candidates: readonly T[], score: (candidate: T) => number, random: () => number): T | undefined {
  const weighted = candidates.filter((candidate) => score(candidate) > 0)
  const pool = weighted.length > 0 ? weighted : candidates
  if (pool.length <= 1) return pool[0]
  const first = Math.floor(random() * pool.length)
  let second = Math.floor(random() * (pool.length - 1))
  if (second >= first) second += 1
  const a = pool[first] as T
  const b = pool[second] as T
  return score(b) > score(a) ? b : a
}
