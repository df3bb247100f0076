/**
 * Monotonic reads: tip reads (`eth_blockNumber`, `latest`, `getblockcount`, `getbestblockhash`) are
 * served at the pool's read head (the quorum head, never going backwards), so a client never sees
 * the chain go back when consecutive calls land on nodes a block apart, and never sees a height
 * the quorum has not reached.
 */
import { isRoutable } from '../pool/node-health.js'
import type { PoolNode } from '../pool/node-pool.js'

/**
 * The height tip reads are pinned to: the read head while a routable node has it (the quorum
 * reached it, so one normally does). undefined: route the call as it came — before the first probe
 * round, or when every node holding the read head left routing (down, forked, …) and the rest are
 * below it: an answer from a node a block behind is then better than no answer.
 */
export function pinnableHeight(nodes: ReadonlyArray<Pick<PoolNode, 'health'>>, readHead: number | undefined): number | undefined {
  if (readHead === undefined) return undefined
  return nodes.some((node) => isRoutable(node.health) && (node.health.height ?? -1) >= readHead) ? readHead : undefined
}
