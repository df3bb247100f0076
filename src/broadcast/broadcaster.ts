/**
 * The broadcast path of one chain. A signed transaction is decoded locally, sent in parallel to
 * `fanout` at-head nodes of distinct providers, and every reply gets a verdict. The client hears
 * the txid once `minAccepts` nodes hold it, and only after the journal has it; the other sends
 * finish in the background and are recorded. Transport failures and node-local refusals move the
 * same bytes to a spare node. A transaction is never altered or re-signed.
 */
import { LRUCache } from 'lru-cache'
import type { BroadcastSupport, DecodedTransaction, TxPresence } from '../chain-adapter.js'
import type { BroadcastConfig, ChainConfig } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import type { JsonRpcErrorObject, RpcCall } from '../jsonrpc/types.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import type { ProxyEvents } from '../proxy-events.js'
import { selectCandidates } from '../routing/router.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import type { Clock } from '../util/clock.js'
import type { BroadcastJournal, BroadcastRecord, NodeOutcome } from './broadcast-journal.js'

export interface BroadcastResult {
  txid: string
  /** Nodes that accepted it now. */
  accepted: string[]
  /** Nodes that already had it (mempool or chain). */
  alreadyKnown: string[]
  /** Nodes that refused it, with their own error. */
  rejected: Array<{ nodeId: string; code: number; message: string }>
  /** Sends still running when the answer was given. */
  pending: string[]
}

/** What the client gets: a result, or an error that is either the node's own or a ProxyError. */
export type BroadcastAnswer =
  | { ok: true; result: BroadcastResult; nodeId: string | undefined; attempts: number }
  | { ok: false; error: JsonRpcErrorObject | ProxyError; nodeId: string | undefined; attempts: number }

export interface SendOutcome {
  node: PoolNode
  verdict: string
  error?: JsonRpcErrorObject
  failure?: string
}

export interface BroadcasterOptions {
  chain: ChainConfig
  support: BroadcastSupport
  pool: NodePool
  /** Per-node transports of the broadcast lane (own connections: a read flood cannot delay them). */
  transports: ReadonlyMap<string, NodeTransport>
  journal: BroadcastJournal
  events: ProxyEvents
  clock: Clock
}

/** Up to 5 lookups 60 ms apart: bcoin answers the txid before its mempool has the transaction. */
const VERIFY_ATTEMPTS = 5
const VERIFY_GAP_MS = 60

export class Broadcaster {
  readonly #options: BroadcasterOptions
  readonly #config: BroadcastConfig
  readonly #recent: LRUCache<string, BroadcastResult>
  readonly #inFlight = new Map<string, Promise<BroadcastAnswer>>()
  readonly #background = new Set<Promise<unknown>>()

  constructor(options: BroadcasterOptions) {
    this.#options = options
    this.#config = options.chain.broadcast
    this.#recent = new LRUCache({ max: this.#config.recentCacheSize })
  }

  /** Broadcasts the transaction in a client's params; identical concurrent calls share one fan-out. */
  async broadcast(params: RpcCall['params']): Promise<BroadcastAnswer> {
    let tx: DecodedTransaction
    try {
      tx = this.#options.support.decode(params)
    } catch (error) {
      if (error instanceof ProxyError) return { ok: false, error, nodeId: undefined, attempts: 0 }
      throw error
    }
    const running = this.#inFlight.get(tx.id)
    if (running !== undefined) return await running
    const work = this.#broadcast(tx).finally(() => this.#inFlight.delete(tx.id))
    this.#inFlight.set(tx.id, work)
    return await work
  }

  /** Waits for background sends to settle (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background])
  }

  /** Sends the same bytes to `node` again (rebroadcast); returns the verdict. */
  async resend(tx: DecodedTransaction, node: PoolNode): Promise<SendOutcome> {
    return await this.#send(tx, node)
  }

  async #broadcast(tx: DecodedTransaction): Promise<BroadcastAnswer> {
    const { chain, journal, pool } = this.#options
    const cached = this.#recent.get(tx.id)
    if (cached !== undefined) return { ok: true, result: cached, nodeId: undefined, attempts: 0 }
    const known = await journal.get(chain.name, tx.id)
    if (known !== undefined && known.status !== 'rejected' && known.status !== 'dropped') {
      // Idempotent repeat: same answer, no new fan-out storm. The rebroadcaster keeps it alive.
      return { ok: true, result: summarize(known.txid, known.outcomes, []), nodeId: undefined, attempts: 0 }
    }

    const targets = this.#targets(new Set())
    if (targets.length === 0) {
      const statuses: Record<string, string> = {}
      for (const node of pool.nodes) statuses[node.config.id] = node.health.status
      return { ok: false, error: new ProxyError('SY_NO_ROUTABLE_NODE', `no healthy ${chain.name} node at the pool head to broadcast to`, { chain: chain.name, nodes: statuses }), nodeId: undefined, attempts: 0 }
    }

    const outcomes: SendOutcome[] = []
    const used = new Set<PoolNode>(targets)
    let attempts = 0
    let settle: (() => void) | undefined
    const enough = new Promise<void>((resolve) => (settle = resolve))
    const successes = (): SendOutcome[] => outcomes.filter((outcome) => outcome.verdict === 'accepted' || outcome.verdict === 'already-known')

    // One lane per target: on a transport failure or node-local refusal, the lane moves the same
    // bytes to a spare node (never back to one already used).
    const lane = async (first: PoolNode): Promise<void> => {
      let node: PoolNode | undefined = first
      while (node !== undefined) {
        attempts += 1
        const outcome = await this.#send(tx, node)
        outcomes.push(outcome)
        if (successes().length >= this.#config.minAccepts) settle?.()
        if (outcome.verdict !== 'failed' && outcome.verdict !== 'node-local') return
        node = this.#targets(used)[0]
        if (node !== undefined) used.add(node)
      }
    }
    const all = Promise.all(targets.map(lane))
    await Promise.race([enough, all])

    if (successes().length >= this.#config.minAccepts) {
      const first = successes()[0]!
      const record = this.#record(tx, outcomes, 'pending')
      await journal.save(record)
      const running = [...used].filter((node) => !outcomes.some((outcome) => outcome.node === node)).map((node) => node.config.id)
      const result = summarize(tx.id, this.#nodeOutcomes(outcomes), running)
      this.#recent.set(tx.id, result)
      this.#options.events.emit('broadcast:accepted', { chain: chain.name, txid: tx.id, accepted: result.accepted, alreadyKnown: result.alreadyKnown })
      const background = all.then(async () => {
        const latest = (await journal.get(chain.name, tx.id)) ?? record
        // Every send has settled: its verdicts replace the early ones; lookups and rebroadcasts
        // the rebroadcaster may have recorded meanwhile stay.
        const sends = this.#nodeOutcomes(outcomes)
        await journal.save({ ...latest, outcomes: [...latest.outcomes.filter((entry) => !SEND_VERDICTS.has(entry.outcome)), ...sends], updatedAt: this.#options.clock.now() })
        this.#recent.set(tx.id, summarize(tx.id, sends, []))
      })
      this.#track(background)
      return { ok: true, result, nodeId: first.node.config.id, attempts }
    }

    await all
    return await this.#settleWithoutAcceptance(tx, outcomes, attempts)
  }

  /** No node accepted: resolve ambiguity by lookups, report conflicts, or pass the node's error on. */
  async #settleWithoutAcceptance(tx: DecodedTransaction, outcomes: SendOutcome[], attempts: number): Promise<BroadcastAnswer> {
    const { chain, journal, events } = this.#options
    const ambiguous = outcomes.filter((outcome) => outcome.verdict === 'ambiguous')
    let conflictDetail = outcomes.find((outcome) => outcome.verdict === 'conflict')?.error?.message
    // Lookups settle what the replies could not: ambiguous verdicts, silent drops (bcoin-style nodes
    // drop double-spends without an error) and sends that never got an answer.
    const unsettled = outcomes.every((outcome) => ['failed', 'node-local', 'dropped-silently', 'ambiguous'].includes(outcome.verdict))
    if (ambiguous.length > 0 || unsettled) {
      const presences = await this.#lookupAtHead(tx, 2)
      const holder = presences.find((entry) => entry.presence.state === 'mempool' || entry.presence.state === 'confirmed')
      if (holder !== undefined) {
        const known: SendOutcome = { node: holder.node, verdict: 'already-known' }
        const all = [...outcomes, known]
        await journal.save(this.#record(tx, all, 'pending'))
        const result = summarize(tx.id, this.#nodeOutcomes(all), [])
        this.#recent.set(tx.id, result)
        events.emit('broadcast:accepted', { chain: chain.name, txid: tx.id, accepted: result.accepted, alreadyKnown: result.alreadyKnown })
        return { ok: true, result, nodeId: holder.node.config.id, attempts }
      }
      const conflict = presences.find((entry) => entry.presence.state === 'conflict')
      if (conflict !== undefined && conflict.presence.state === 'conflict') conflictDetail ??= conflict.presence.detail
    }
    if (conflictDetail !== undefined) {
      await journal.save(this.#record(tx, outcomes, 'conflicted'))
      events.emit('broadcast:conflict', { chain: chain.name, txid: tx.id, detail: conflictDetail })
      return {
        ok: false,
        error: new ProxyError('SY_TX_CONFLICT', `transaction ${tx.id} conflicts with another transaction: ${conflictDetail}`, { chain: chain.name, txid: tx.id }),
        nodeId: undefined,
        attempts,
      }
    }
    await journal.save(this.#record(tx, outcomes, 'rejected'))
    // The most informative node answer: a definitive rejection, else the ambiguous one.
    const verdictOrder = ['invalid', 'ambiguous', 'node-local']
    for (const verdict of verdictOrder) {
      const answered = outcomes.find((outcome) => outcome.verdict === verdict && outcome.error !== undefined)
      if (answered?.error !== undefined) return { ok: false, error: answered.error, nodeId: answered.node.config.id, attempts }
    }
    const mismatch = outcomes.find((outcome) => outcome.verdict === 'id-mismatch')
    if (mismatch !== undefined) {
      return { ok: false, error: new ProxyError('SY_TX_ID_MISMATCH', `node ${mismatch.node.config.id} returned another transaction id than ${tx.id}`, { chain: chain.name, txid: tx.id }), nodeId: undefined, attempts }
    }
    const silent = outcomes.find((outcome) => outcome.verdict === 'dropped-silently')
    if (silent !== undefined) {
      return {
        ok: false,
        error: new ProxyError('SY_TX_NOT_ACCEPTED', `no node holds transaction ${tx.id} after sending it (it was dropped without an error: invalid, e.g. a bad signature)`, { chain: chain.name, txid: tx.id }),
        nodeId: undefined,
        attempts,
      }
    }
    const causes = outcomes.map((outcome) => `${outcome.node.config.id}: ${outcome.failure ?? outcome.verdict}`)
    return { ok: false, error: new ProxyError('SY_ALL_NODES_FAILED', `no ${chain.name} node took transaction ${tx.id} (${causes.join(', ')})`, { chain: chain.name, txid: tx.id, causes }), nodeId: undefined, attempts }
  }

  /** One send: the node's verdict. Only transport failures count against the node's health. */
  async #send(tx: DecodedTransaction, node: PoolNode): Promise<SendOutcome> {
    const { support, pool, transports } = this.#options
    const transport = transports.get(node.config.id) ?? node.transport
    const outcome = await transport.call({ method: support.method, params: support.sendParams(tx) }, { timeoutMs: this.#config.timeoutMs })
    if (!outcome.ok) {
      pool.recordFailure(node, outcome.failure)
      return { node, verdict: 'failed', failure: outcome.failure.kind }
    }
    pool.recordSuccess(node, outcome.latencyMs)
    const classified = support.classifyReply(outcome.answer)
    if (classified.verdict !== 'accepted') return { node, verdict: classified.verdict, ...(outcome.answer.error ? { error: outcome.answer.error } : {}) }
    if (classified.returnedId !== tx.id) return { node, verdict: 'id-mismatch', failure: `returned ${classified.returnedId ?? 'nothing'}` }
    if (!this.#config.verifyAcceptance) return { node, verdict: 'accepted' }
    return (await this.#holds(transport, tx)) ? { node, verdict: 'accepted' } : { node, verdict: 'dropped-silently' }
  }

  async #holds(transport: NodeTransport, tx: DecodedTransaction): Promise<boolean> {
    for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
      const presence = await this.#options.support.lookup(transport, tx, { timeoutMs: this.#config.timeoutMs })
      if (presence.state === 'mempool' || presence.state === 'confirmed') return true
      // A node we cannot ask keeps its word: its reply said accepted.
      if (presence.state === 'unknown') return true
      if (attempt < VERIFY_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, VERIFY_GAP_MS))
    }
    return false
  }

  async #lookupAtHead(tx: DecodedTransaction, count: number): Promise<Array<{ node: PoolNode; presence: TxPresence }>> {
    const nodes = this.#targets(new Set()).slice(0, Math.max(count, 2))
    return await Promise.all(
      nodes.map(async (node) => ({
        node,
        presence: await this.#options.support.lookup(this.#options.transports.get(node.config.id) ?? node.transport, tx, { timeoutMs: this.#config.timeoutMs }),
      })),
    )
  }

  /**
   * Up to `fanout` routable at-head nodes not in `exclude`, one per provider first (best score
   * first within a provider), then the best of the rest.
   */
  #targets(exclude: ReadonlySet<PoolNode>): PoolNode[] {
    const { pool } = this.#options
    const candidates = selectCandidates(pool.nodes, pool.head, undefined, exclude, true).sort((a, b) => pool.score(b) - pool.score(a))
    const chosen: PoolNode[] = []
    const providers = new Set<string>()
    for (const node of candidates) {
      const provider = node.config.provider ?? `node:${node.config.id}`
      if (providers.has(provider)) continue
      providers.add(provider)
      chosen.push(node)
    }
    for (const node of candidates) if (!chosen.includes(node)) chosen.push(node)
    return chosen.slice(0, this.#config.fanout)
  }

  #record(tx: DecodedTransaction, outcomes: SendOutcome[], status: BroadcastRecord['status']): BroadcastRecord {
    const now = this.#options.clock.now()
    return {
      chain: this.#options.chain.name,
      txid: tx.id,
      raw: tx.raw,
      status,
      firstSeenAt: now,
      updatedAt: now,
      confirmations: 0,
      rebroadcasts: 0,
      sender: tx.sender,
      nonce: tx.nonce,
      outcomes: outcomes.map((outcome) => toNodeOutcome(outcome, now)),
    }
  }

  #nodeOutcomes(outcomes: SendOutcome[]): NodeOutcome[] {
    const now = this.#options.clock.now()
    return outcomes.map((outcome) => toNodeOutcome(outcome, now))
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.#background.delete(tracked))
    this.#background.add(tracked)
  }
}

function toNodeOutcome(outcome: SendOutcome, at: number): NodeOutcome {
  return {
    nodeId: outcome.node.config.id,
    outcome: outcome.verdict,
    code: outcome.error?.code,
    message: outcome.error?.message ?? outcome.failure,
    at,
  }
}

/** Verdicts of sends (as opposed to the rebroadcaster's lookup and re-send entries). */
const SEND_VERDICTS = new Set(['accepted', 'already-known', 'ambiguous', 'conflict', 'invalid', 'node-local', 'failed', 'id-mismatch', 'dropped-silently'])

/** The per-node result of a broadcast, from its recorded outcomes (live ones or the journal's). */
function summarize(txid: string, outcomes: readonly NodeOutcome[], pending: string[]): BroadcastResult {
  const ids = (verdict: string) => [...new Set(outcomes.filter((outcome) => outcome.outcome === verdict).map((outcome) => outcome.nodeId))]
  return {
    txid,
    accepted: ids('accepted'),
    alreadyKnown: ids('already-known'),
    rejected: outcomes
      .filter((outcome) => outcome.code !== undefined && outcome.outcome !== 'already-known')
      .map((outcome) => ({ nodeId: outcome.nodeId, code: outcome.code!, message: outcome.message ?? '' })),
    pending,
  }
}
