/**
 * The pool head: the highest height that at least `quorum` nodes have reached. With a quorum of
 * 2, one node reporting a bogus height (misconfigured, on a fork, lying) cannot make every other
 * node look lagging. With fewer reporting nodes than the quorum, the quorum shrinks to what there
 * is, so a pool reduced to one node still has a head.
 */
export function computeHead(heights: readonly number[], quorum: number): number | undefined {
  if (heights.length === 0) return undefined
  const sorted = [...heights].sort((a, b) => b - a)
  const needed = Math.max(1, Math.min(quorum, sorted.length))
  return sorted[needed - 1]
}
