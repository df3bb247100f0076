/**
 * The path of one read call, above the router's per-attempt failover:
 * 1. tip reads are pinned to the pool's read head (`head-pinning.ts`, the adapter's `pinToHeight`);
 *    the call as pinned then meets the adapter's own limits (`checkLimits`: EVM maxLogsRange),
 *    which refuse it with no node asked;
 * 2. listed methods, and reads at a height where nodes are forked without a majority, must be
 *    confirmed by agreeing nodes (`verified-read.ts`);
 * 3. otherwise the call is routed with a capability preference (`capability-filter.ts`); a node
 *    saying it lacks the capability (pruned, no -txindex, no old state) sends the call to others;
 * 4. an empty answer for data at or below the head is asked of one more node (`empty-answer.ts`).
 */
import type { RpcCall } from '../jsonrpc/types.js'
import type { PoolNode } from '../pool/node-pool.js'
import { capabilityFilter, remainingCandidates, retryFilter } from './capability-filter.js'
import { isEmptyAnswerEvidence, shouldConfirmEmpty } from './empty-answer.js'
import { pinnableHeight } from './head-pinning.js'
import type { RouteOptions, RouteResult } from './router.js'
import { type ReadContext, agreementNeeded, verifiedRead } from './verified-read.js'

export type { ReadContext } from './verified-read.js'

export async function routeRead(context: ReadContext, call: RpcCall, options: Pick<RouteOptions, 'signal'> = {}): Promise<RouteResult> {
  const { pool, router, adapter } = context
  const pinAt = pinnableHeight(pool.nodes, pool.readHead)
  const headRead = pinAt === undefined ? undefined : adapter.pinToHeight?.(call, pinAt)
  if (headRead?.kind === 'height') {
    // The answer is the read head; a node at that height is still asked, so a chain whose nodes
    // are all gone fails closed instead of answering a frozen height forever.
    const routed = await router.route(call, { signal: options.signal, minHeight: pinAt, unverifiedOk: true })
    if (!routed.ok || routed.answer.error !== undefined) return routed
    return { ...routed, answer: { result: headRead.result } }
  }
  const sent = headRead?.kind === 'pinned' ? headRead.call : call
  // switchyard's own limits (EVM maxLogsRange) judge the call as a node would get it; no node is asked.
  const refused = adapter.checkLimits?.(sent, pool.readHead)
  if (refused !== undefined) return { ok: false, error: refused, attempts: 0 }
  const height = adapter.requiredHeight(sent) ?? (headRead === undefined ? undefined : pinAt)
  const routeOptions = { signal: options.signal, minHeight: height }
  const agree = agreementNeeded({ verify: pool.chain.verify, method: call.method, height, agreementRequiredFrom: pool.agreementRequiredFrom, unverified: pool.needsAgreementAt(height) })
  if (agree !== undefined) return verifiedRead(context, sent, agree, routeOptions)

  const exclude = new Set<PoolNode>()
  const first = await routeCapable(context, sent, exclude, routeOptions)
  if (!first.ok) return first
  const empty = adapter.isEmptyAnswer?.(sent, first.answer) === true
  if (!shouldConfirmEmpty({ enabled: pool.chain.routing.confirmEmptyAnswers, empty, requiredHeight: height, readHead: pool.readHead })) return first
  if (remainingCandidates(pool.nodes, exclude) === 0) return first
  const second = await routeCapable(context, sent, exclude, routeOptions)
  const attempts = first.attempts + second.attempts
  if (!second.ok || second.answer.error !== undefined || adapter.isEmptyAnswer?.(sent, second.answer) === true) return { ...first, attempts }
  const emptyNode = pool.get(first.nodeId)
  const dataNode = pool.get(second.nodeId)
  const dataNodeHeight = dataNode?.health.height
  const dataHeight = dataNodeHeight === undefined ? undefined : adapter.dataHeight?.(sent, second.answer, dataNodeHeight)
  if (emptyNode !== undefined && isEmptyAnswerEvidence(dataHeight, emptyNode.health.height)) {
    pool.recordEmptyAnswer(emptyNode, `${sent.method} empty at height ${emptyNode.health.height}; ${second.nodeId} had it in block ${dataHeight}`)
  }
  return { ...second, attempts }
}

/**
 * One routed answer with capability routing: prefer nodes that keep what the call needs; when the
 * answering node says it lacks it anyway, ask the nodes not yet asked (preferring those that should
 * have it) and keep the first answer only if none of them can do better.
 */
async function routeCapable(context: ReadContext, call: RpcCall, exclude: Set<PoolNode>, options: Pick<RouteOptions, 'signal' | 'minHeight'>): Promise<RouteResult> {
  const { pool, router, adapter } = context
  const requirement = adapter.requirement?.(call)
  const first = await router.route(call, { ...options, exclude, filter: capabilityFilter(requirement, pool.nodes, exclude, pool.head) })
  if (!first.ok || first.answer.error === undefined) return first
  const missing = adapter.missingCapability?.(call, first.answer.error)
  if (missing === undefined) return first
  const lacking = pool.get(first.nodeId)
  if (missing === 'state' && requirement?.kind === 'state' && lacking !== undefined) pool.noteMissingState(lacking, requirement.height)
  if (remainingCandidates(pool.nodes, exclude) === 0) return first
  const retry = await router.route(call, { ...options, exclude, filter: retryFilter(missing, requirement, pool.nodes, exclude, pool.head) })
  const attempts = first.attempts + retry.attempts
  if (!retry.ok) return { ...first, attempts }
  const stillLacking = retry.answer.error !== undefined && adapter.missingCapability?.(call, retry.answer.error) !== undefined
  if (stillLacking) {
    const other = pool.get(retry.nodeId)
    if (missing === 'state' && requirement?.kind === 'state' && other !== undefined) pool.noteMissingState(other, requirement.height)
    return { ...first, attempts }
  }
  return { ...retry, attempts }
}
