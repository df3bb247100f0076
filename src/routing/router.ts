/**
 * Routes one read call of one chain: picks the best routable node for the call's height needs,
 * fails over on node failures within one overall deadline, and records every attempt's outcome
 * in the pool (latency, error rate, consecutive failures → `down`).
 */
import type { ChainAdapter } from '../chain-adapter.js'
import { ProxyError } from '../errors/proxy-error.js'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import { isRoutable } from '../pool/node-health.js'
import { decideAttempt } from './retry-policy.js'
import { pickWeighted } from './scoring.js'

export interface RouteOptions {
  signal?: AbortSignal | undefined
  /** Only nodes at the pool head may serve (broadcast-grade freshness). */
  atHeadOnly?: boolean
}

export type RouteResult =
  | { ok: true; answer: RpcAnswer; nodeId: string; attempts: number }
  | { ok: false; error: ProxyError; attempts: number; nodeId?: undefined }

/**
 * Candidates for the next attempt, in preference tiers:
 * - explicit height N: routable nodes at or above N; if none has N yet, the at-head nodes (their
 *   "not yet" is the truth, a lagging node's would not be);
 * - otherwise: routable nodes at the pool head, else any routable node (all are within maxLagBlocks).
 */
export function selectCandidates(
  nodes: readonly PoolNode[],
  head: number | undefined,
  minHeight: number | undefined,
  tried: ReadonlySet<PoolNode>,
  atHeadOnly = false,
): PoolNode[] {
  const routable = nodes.filter((node) => isRoutable(node.health) && !tried.has(node))
  const atHead = head === undefined ? routable : routable.filter((node) => (node.health.height ?? -1) >= head)
  if (atHeadOnly) return atHead
  if (minHeight !== undefined) {
    const high = routable.filter((node) => (node.health.height ?? -1) >= minHeight)
    if (high.length > 0) return high
  }
  return atHead.length > 0 ? atHead : routable
}

export class Router {
  readonly #pool: NodePool
  readonly #adapter: ChainAdapter
  readonly #random: () => number

  constructor(pool: NodePool, adapter: ChainAdapter, random: () => number = Math.random) {
    this.#pool = pool
    this.#adapter = adapter
    this.#random = random
  }

  async route(call: RpcCall, options: RouteOptions = {}): Promise<RouteResult> {
    const chain = this.#pool.chain
    const deadline = performance.now() + chain.routing.deadlineMs
    const minHeight = this.#adapter.requiredHeight(call)
    const tried = new Set<PoolNode>()
    const causes: string[] = []
    let behindAnswer: { answer: RpcAnswer; nodeId: string } | undefined
    let attempts = 0
    while (attempts < chain.routing.maxAttempts) {
      const candidates = selectCandidates(this.#pool.nodes, this.#pool.head, minHeight, tried, options.atHeadOnly)
      const node = pickWeighted(candidates, (candidate) => this.#pool.score(candidate), this.#random)
      if (node === undefined) break
      const remainingMs = deadline - performance.now()
      if (remainingMs <= 0) return { ok: false, error: this.#deadlineError(causes), attempts }
      tried.add(node)
      attempts += 1
      node.inFlight += 1
      let outcome
      try {
        outcome = await node.transport.call(call, { timeoutMs: Math.min(chain.requestTimeoutMs, remainingMs), signal: options.signal })
      } finally {
        node.inFlight -= 1
      }
      const decision = decideAttempt(outcome, call, this.#adapter)
      if (outcome.ok) this.#pool.recordSuccess(node, outcome.latencyMs)
      else if (decision === 'try-next-failed') this.#pool.recordFailure(node, outcome.failure)
      if (decision === 'answer' && outcome.ok) return { ok: true, answer: outcome.answer, nodeId: node.config.id, attempts }
      if (decision === 'stop') {
        return { ok: false, error: new ProxyError('SY_DEADLINE_EXCEEDED', `call to ${chain.name} was cancelled`, { chain: chain.name }), attempts }
      }
      if (decision === 'try-next-behind' && outcome.ok) {
        behindAnswer = { answer: outcome.answer, nodeId: node.config.id }
        causes.push(`${node.config.id}: behind`)
      } else if (!outcome.ok) {
        causes.push(`${node.config.id}: ${outcome.failure.kind}`)
      }
    }
    // Every node that could be asked said "not yet": that is the answer.
    if (behindAnswer !== undefined) return { ok: true, ...behindAnswer, attempts }
    if (attempts === 0) return { ok: false, error: this.#noRoutableError(), attempts }
    if (performance.now() >= deadline) return { ok: false, error: this.#deadlineError(causes), attempts }
    return {
      ok: false,
      error: new ProxyError('SY_ALL_NODES_FAILED', `all ${attempts} attempted ${chain.name} nodes failed (${causes.join(', ')})`, {
        chain: chain.name,
        attempts,
        causes,
      }),
      attempts,
    }
  }

  #noRoutableError(): ProxyError {
    const chain = this.#pool.chain.name
    const statuses: Record<string, string> = {}
    for (const node of this.#pool.nodes) statuses[node.config.id] = node.health.status
    return new ProxyError('SY_NO_ROUTABLE_NODE', `no healthy, in-sync ${chain} node is available`, { chain, nodes: statuses })
  }

  #deadlineError(causes: string[]): ProxyError {
    const chain = this.#pool.chain
    return new ProxyError('SY_DEADLINE_EXCEEDED', `call to ${chain.name} did not complete within ${chain.routing.deadlineMs} ms`, {
      chain: chain.name,
      causes,
    })
  }
}
