/**
 * Outbound quotas (`nodes[].quota`): a provider that allows N requests a second answers the
 * N+1st with 429s or "-32005 rate limited", which would count against the node and eject a
 * healthy one. So the router spends a node's quota itself: a node whose bucket is empty is
 * skipped for the next candidate (no failure recorded, no ejection), and a call whose candidates
 * are all over quota gets SY_NODE_QUOTA, a proxy error that blames nobody.
 *
 * Only calls the router sends are counted; probes and broadcasts go out regardless (health must
 * stay known, a withdrawal is never held back) and use some of the provider's quota, so the
 * configured rate should leave room for them.
 */
import type { NodeConfig } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import { TokenBucket, bucketLimit } from '../util/token-bucket.js'

export class NodeQuota {
  readonly #buckets = new Map<string, TokenBucket>()

  /** `now`: ms on the pool's clock. */
  constructor(nodes: readonly Pick<NodeConfig, 'id' | 'quota'>[], now: () => number) {
    for (const node of nodes) if (node.quota !== undefined) this.#buckets.set(node.id, new TokenBucket(bucketLimit(node.quota), now))
  }

  /** Whether any node has a quota (else the router skips the check entirely). */
  get active(): boolean {
    return this.#buckets.size > 0
  }

  /** Whether the node may take one more call now. */
  allows(nodeId: string): boolean {
    const bucket = this.#buckets.get(nodeId)
    return bucket === undefined || bucket.waitMs(1) === 0
  }

  /** Spends one call of the node's quota (the router picked it). */
  spend(nodeId: string): void {
    this.#buckets.get(nodeId)?.take(1)
  }

  /** Soonest a node among `nodeIds` has room again, ms (0 if one has now). */
  soonestMs(nodeIds: readonly string[]): number {
    let soonest = Number.POSITIVE_INFINITY
    for (const id of nodeIds) soonest = Math.min(soonest, this.#buckets.get(id)?.waitMs(1) ?? 0)
    return Number.isFinite(soonest) ? soonest : 0
  }

  /** The error for a call whose candidates are all over quota. */
  exhausted(chain: string, nodeIds: readonly string[]): ProxyError {
    const retryAfterMs = this.soonestMs(nodeIds)
    return new ProxyError(
      'SY_NODE_QUOTA',
      `all ${nodeIds.length} ${chain} nodes that could serve this call are at their request quota (nodes[].quota); retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`,
      { chain, bound: 'nodes[].quota', nodes: nodeIds, retryAfterMs },
    )
  }
}
