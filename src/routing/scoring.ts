/**
 * Which routable node serves the next call. Pure: inputs are the node figures, outputs a choice.
 * score = weight / (latency × (1 + in-flight) × (1 + errorPenalty × errorRate))
 * A slow, busy or failing node still gets some traffic (so its figures stay current) but much
 * less, and there is no herd onto the single best node.
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
  return scoreOf(input.weight, input.latencyMs, input.inFlight, input.errorRate)
}

/** `scoreNode` without the input object: the router scores every candidate of every attempt. */
export function scoreOf(weight: number, latencyMs: number, inFlight: number, errorRate: number): number {
  return weight / (Math.max(latencyMs, LATENCY_FLOOR_MS) * (1 + inFlight) * (1 + ERROR_PENALTY * errorRate))
}

/**
 * Picks one of `candidates` at random, in proportion to `score`: traffic spreads over all routable
 * nodes and follows their figures (a node 10× slower gets about 10× less). Power of two choices
 * was tried first and dropped: with two nodes and sequential calls it samples both every time and
 * sends everything to the marginally faster one. `random` returns [0, 1). Candidates scoring 0
 * (weight 0) are chosen only when no other is left.
 */
export function pickWeighted<T>(candidates: readonly T[], score: (candidate: T) => number, random: () => number): T | undefined {
  if (candidates.length <= 1) return candidates[0]
  const scores = candidates.map((candidate) => Math.max(0, score(candidate)))
  const total = scores.reduce((sum, value) => sum + value, 0)
  if (total === 0) return candidates[Math.floor(random() * candidates.length)]
  let point = random() * total
  for (let index = 0; index < candidates.length; index++) {
    point -= scores[index] as number
    if (point < 0 && (scores[index] as number) > 0) return candidates[index]
  }
  // Floating-point leftovers: the last candidate with a positive score.
  for (let index = candidates.length - 1; index >= 0; index--) if ((scores[index] as number) > 0) return candidates[index]
  return candidates[0]
}
