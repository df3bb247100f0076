/**
 * Verified reads (what eRPC calls consensus): a method listed in `chains.<name>.verify.methods` is
 * sent to `agree` distinct nodes in parallel and answered only when `agree` of them gave the same
 * answer (compared by a hash of canonical JSON: sorted keys, node-view fields removed by the
 * adapter). Node errors are answers too: two nodes giving the same error agree.
 *
 * | answers so far | next |
 * |---|---|
 * | `agree` identical | that answer; every node that answered otherwise gets a dispute (`pool.recordDispute`) and `read:disagree` is emitted |
 * | not yet, nodes left | ask as many more nodes as are still missing for the best answer, in parallel |
 * | not yet, no nodes left, ≥ 2 different answers | SY_NODES_DISAGREE with `data.answers: [{ nodeId, hash }]`, `read:disagree`; never one of the answers |
 * | not yet, no nodes left, one answer or none | the routing failure (SY_ALL_NODES_FAILED, SY_DEADLINE_EXCEEDED …): the answer could not be confirmed |
 * Fewer routable nodes than `agree` from the start → SY_NO_ROUTABLE_NODE (503): the chain cannot
 * serve this read safely right now, the same "no node fit to answer" a wallet already handles.
 * Reads at or above `pool.agreementRequiredFrom` (nodes forked with no majority), and reads at a
 * height the pool head reached but no fork check verified yet, take this path with agree = 2
 * whether or not the method is listed.
 */
import { createHash } from 'node:crypto'
import type { ChainAdapter } from '../chain-adapter.js'
import type { VerifyConfig } from '../config/schema.js'
import { type ErrorDetails, ProxyError } from '../errors/proxy-error.js'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import type { ProxyEvents } from '../proxy-events.js'
import { capabilityFilter, remainingCandidates } from './capability-filter.js'
import { isEmptyAnswerEvidence } from './empty-answer.js'
import type { RouteOptions, RouteResult, Router } from './router.js'

/** What a read needs from the chain's runtime. */
export interface ReadContext {
  readonly pool: NodePool
  readonly router: Pick<Router, 'route'>
  readonly adapter: ChainAdapter
  readonly events: ProxyEvents
}

export interface AgreementInput {
  verify: VerifyConfig
  /** The client's method (before pinning). */
  method: string
  /** The block height the call (as sent) names, if any. */
  height: number | undefined
  agreementRequiredFrom: number | undefined
  /** The height is at or below the pool head but no fork check verified it yet (`pool.needsAgreementAt`). */
  unverified?: boolean | undefined
}

/** How many agreeing nodes the read needs; undefined: an ordinary read. */
export function agreementNeeded(input: AgreementInput): number | undefined {
  if (input.verify.methods.includes(input.method)) return input.verify.agree
  const disputed = input.agreementRequiredFrom !== undefined && input.height !== undefined && input.height >= input.agreementRequiredFrom
  return disputed || input.unverified === true ? 2 : undefined
}

/** JSON with object keys sorted at every level, so equal answers serialize equally whatever the node's key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

/** First 16 hex digits of sha256 over the canonical JSON: enough to tell answers apart, short enough for logs. */
export function answerHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16)
}

export type Tally = { kind: 'agreed'; hash: string; minority: string[] } | { kind: 'undecided'; missing: number; distinct: number }

/** Pure: whether `agree` answers match, and who gave another answer. */
export function tallyAnswers(answers: ReadonlyArray<{ nodeId: string; hash: string }>, agree: number): Tally {
  const counts = new Map<string, number>()
  for (const { hash } of answers) counts.set(hash, (counts.get(hash) ?? 0) + 1)
  let best: string | undefined
  let bestCount = 0
  for (const [hash, count] of counts) {
    if (count > bestCount) {
      best = hash
      bestCount = count
    }
  }
  if (best !== undefined && bestCount >= agree) {
    return { kind: 'agreed', hash: best, minority: answers.filter((answer) => answer.hash !== best).map((answer) => answer.nodeId) }
  }
  return { kind: 'undecided', missing: agree - bestCount, distinct: counts.size }
}

interface Given {
  node: PoolNode
  nodeId: string
  answer: RpcAnswer
  hash: string
}

/**
 * Runs a verified read of `call` (already pinned) needing `agree` identical answers.
 * `options.minHeight` is passed to every route.
 */
export async function verifiedRead(context: ReadContext, call: RpcCall, agree: number, options: Pick<RouteOptions, 'signal' | 'minHeight'>): Promise<RouteResult> {
  const { pool, router, adapter } = context
  const chain = pool.chain.name
  const exclude = new Set<PoolNode>()
  const filter = capabilityFilter(adapter.requirement?.(call), pool.nodes, exclude, pool.head)
  const eligible = remainingCandidates(pool.nodes, exclude, filter)
  if (eligible < agree) {
    return {
      ok: false,
      attempts: 0,
      error: new ProxyError('SY_NO_ROUTABLE_NODE', `verified read of ${call.method} needs ${agree} agreeing ${chain} nodes; ${eligible} routable`, {
        chain,
        needed: agree,
        routable: eligible,
        nodes: Object.fromEntries(pool.nodes.map((node) => [node.config.id, node.health.status])),
      }),
    }
  }
  const given: Given[] = []
  let attempts = 0
  let failure: ProxyError | undefined
  let lacking: { answer: RpcAnswer; nodeId: string } | undefined
  let toAsk = agree
  for (;;) {
    const routed = await Promise.all(Array.from({ length: toAsk }, () => router.route(call, { ...options, exclude, filter, unverifiedOk: true })))
    let progressed = false
    for (const result of routed) {
      attempts += result.attempts
      if (!result.ok) {
        failure = result.error
        continue
      }
      const node = pool.get(result.nodeId)
      if (node === undefined) continue
      // "I lack that capability" says nothing about the data: not an answer to compare.
      if (result.answer.error !== undefined && adapter.missingCapability?.(call, result.answer.error) !== undefined) {
        lacking ??= { answer: result.answer, nodeId: result.nodeId }
        progressed = true
        continue
      }
      given.push({ node, nodeId: result.nodeId, answer: result.answer, hash: answerHash(adapter.canonicalAnswer?.(call, result.answer) ?? result.answer) })
      progressed = true
    }
    const tally = tallyAnswers(given, agree)
    if (tally.kind === 'agreed') return agreed(context, call, given, tally, attempts)
    const left = remainingCandidates(pool.nodes, exclude, filter)
    if (!progressed || left < tally.missing) break
    toAsk = tally.missing
  }
  const distinct = new Set(given.map((answer) => answer.hash))
  if (distinct.size >= 2) {
    const answers = given.map(({ nodeId, hash }) => ({ nodeId, hash }))
    context.events.emit('read:disagree', { chain, method: call.method, answers, minority: [], at: pool.now() })
    const details: ErrorDetails = { chain, method: call.method, agree, answers }
    return {
      ok: false,
      attempts,
      error: new ProxyError('SY_NODES_DISAGREE', `${chain} nodes gave ${distinct.size} different answers to ${call.method}; none had ${agree} agreeing nodes`, details),
    }
  }
  if (given.length === 0 && lacking !== undefined) return { ok: true, answer: lacking.answer, nodeId: lacking.nodeId, attempts }
  const confirmedBy = given.length
  return {
    ok: false,
    attempts,
    error:
      failure ??
      new ProxyError('SY_ALL_NODES_FAILED', `verified read of ${call.method}: ${confirmedBy} of ${agree} ${chain} nodes answered`, { chain, needed: agree, answered: confirmedBy }),
  }
}

function agreed(context: ReadContext, call: RpcCall, given: readonly Given[], tally: Extract<Tally, { kind: 'agreed' }>, attempts: number): RouteResult {
  const { pool, adapter } = context
  const winner = given.find((answer) => answer.hash === tally.hash)!
  if (tally.minority.length > 0) {
    const agreeing = given.filter((answer) => answer.hash === tally.hash).map((answer) => answer.nodeId)
    const winnerHeight = winner.node.health.height
    const dataHeight = winnerHeight === undefined ? undefined : adapter.dataHeight?.(call, winner.answer, winnerHeight)
    const blamed: string[] = []
    for (const answer of given) {
      if (answer.hash === tally.hash) continue
      // A node that said "not found" for data mined above its own height is a block late, not wrong.
      const late = adapter.isEmptyAnswer?.(call, answer.answer) === true && dataHeight !== undefined && !isEmptyAnswerEvidence(dataHeight, answer.node.health.height)
      if (late) continue
      pool.recordDispute(answer.node, `${call.method} answer ${answer.hash} lost to ${tally.hash} (${agreeing.join(', ')})`)
      blamed.push(answer.nodeId)
    }
    context.events.emit('read:disagree', {
      chain: pool.chain.name,
      method: call.method,
      answers: given.map(({ nodeId, hash }) => ({ nodeId, hash })),
      minority: blamed,
      at: pool.now(),
    })
  }
  return { ok: true, answer: winner.answer, nodeId: winner.nodeId, attempts }
}
