/**
 * The broadcast path of one chain. A signed transaction is decoded locally, sent in parallel to
 * `fanout` at-head nodes of distinct providers, and every reply gets a verdict; a reply that claims
 * the node holds it ("accepted", "already known", "nonce too low") is checked by a lookup on that
 * node. `decideBroadcast` (broadcast-decision.ts) turns that evidence into the client's answer: the
 * txid once enough nodes are shown to hold it and the journal has it; the other sends finish in the
 * background and are appended to the record. Transport failures and node-local refusals move the
 * same bytes to a spare node. A transaction is never altered or re-signed.
 *
 * A repeat of a transaction the journal has as pending or seen is looked up on the at-head nodes,
 * re-sent to those that lack it, and answered as soon as one holds it; only a confirmed one is
 * answered from the journal alone.
 *
 * A client may have at most `maxOpenPerClient` broadcasts per chain not yet confirmed (journal
 * records pending or seen, plus its fresh broadcasts still running); one more is refused with
 * SY_TOO_MANY_OPEN before any node sees it, so no client can make the journal and every
 * rebroadcast round grow without end. Repeats of its open ones are never refused. Without client
 * keys every broadcast is the one anonymous client, and the bound applies to all of them together.
 */
import type { BroadcastSupport, DecodedTransaction, TxPresence } from '../chain-adapter.js'
import type { BroadcastConfig, ChainConfig } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import type { JsonRpcErrorObject, RpcCall } from '../jsonrpc/types.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import type { ProxyEvents } from '../proxy-events.js'
import { selectCandidates } from '../routing/node-choice.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import type { Clock } from '../util/clock.js'
import { type BroadcastDecision, type BroadcastResult, type NodeEvidence, type SendVerdict, decideBroadcast, shown, summarizeEvidence, summarizeOutcomes } from './broadcast-decision.js'
import type { BroadcastJournal, BroadcastRecord, BroadcastStatus, NodeOutcome } from './broadcast-journal.js'

export type { BroadcastResult } from './broadcast-decision.js'

/** What the client gets: a result, or an error that is either the node's own or a ProxyError. */
export type BroadcastAnswer =
  | { ok: true; result: BroadcastResult; nodeId: string | undefined; attempts: number }
  | { ok: false; error: JsonRpcErrorObject | ProxyError; nodeId: string | undefined; attempts: number }

/** One send to one node: its verdict and, for a reply claiming the node holds it, what a lookup showed. */
export interface SendOutcome {
  node: PoolNode
  verdict: SendVerdict
  error?: JsonRpcErrorObject
  failure?: string
  presence?: TxPresence
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
  /** `journal.maxOpenPerClient`: broadcasts per client and chain not yet confirmed; undefined: no bound. */
  maxOpenPerClient?: number | undefined
}

/** Who is broadcasting: a configured client's name; omitted: the anonymous client. */
export interface BroadcastOptions {
  client?: string | undefined
}

/** Statuses that count against `maxOpenPerClient`: not yet confirmed (a confirmed one settles on its own within its reorg window). */
const UNCONFIRMED: readonly BroadcastStatus[] = ['pending', 'seen']

/** Up to 5 lookups 60 ms apart after "accepted": bcoin answers the txid before its mempool has the transaction. */
const VERIFY_ATTEMPTS = 5
const VERIFY_GAP_MS = 60
/** At-head nodes outside the fan-out asked when the sends alone do not decide. */
const CROSS_CHECK_NODES = 2

export class Broadcaster {
  readonly #options: BroadcasterOptions
  readonly #config: BroadcastConfig
  readonly #inFlight = new Map<string, Promise<BroadcastAnswer>>()
  readonly #background = new Set<Promise<unknown>>()
  /** Fresh broadcasts running per client ('' = anonymous): not in the journal yet, but counted against the bound. */
  readonly #freshByClient = new Map<string, number>()

  constructor(options: BroadcasterOptions) {
    this.#options = options
    this.#config = options.chain.broadcast
  }

  /** Broadcasts the transaction in a client's params; identical concurrent calls share one fan-out. */
  async broadcast(params: RpcCall['params'], options: BroadcastOptions = {}): Promise<BroadcastAnswer> {
    let tx: DecodedTransaction
    try {
      tx = this.#options.support.decode(params)
    } catch (error) {
      if (error instanceof ProxyError) return { ok: false, error, nodeId: undefined, attempts: 0 }
      throw error
    }
    const running = this.#inFlight.get(tx.id)
    if (running !== undefined) return await running
    const work = this.#broadcast(tx, options.client).finally(() => this.#inFlight.delete(tx.id))
    this.#inFlight.set(tx.id, work)
    return await work
  }

  /** Waits for background sends to settle and be journaled (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background])
  }

  /** Sends the same bytes to `node` again (rebroadcast); returns the verdict and, for a claim, the lookup. */
  async resend(tx: DecodedTransaction, node: PoolNode): Promise<SendOutcome> {
    return await this.#send(tx, node)
  }

  async #broadcast(tx: DecodedTransaction, client: string | undefined): Promise<BroadcastAnswer> {
    const { chain, journal } = this.#options
    let known: BroadcastRecord | undefined
    try {
      known = await journal.get(chain.name, tx.id)
    } catch {
      // An unreadable journal: send anyway; the write after the fan-out reports the journal's state.
      known = undefined
    }
    if (known?.status === 'confirmed') return { ok: true, result: summarizeOutcomes(tx.id, known.outcomes), nodeId: undefined, attempts: 0 }
    if (known !== undefined && UNCONFIRMED.includes(known.status)) return await this.#fanOut(tx, known, client)
    // A fresh broadcast (or a closed record broadcast anew) would add an open record: within the client's bound only.
    const key = client ?? ''
    const refused = await this.#overBound(tx, client, this.#freshByClient.get(key) ?? 0)
    if (refused !== undefined) return refused
    this.#freshByClient.set(key, (this.#freshByClient.get(key) ?? 0) + 1)
    try {
      return await this.#fanOut(tx, known, client)
    } finally {
      const left = (this.#freshByClient.get(key) ?? 1) - 1
      if (left > 0) this.#freshByClient.set(key, left)
      else this.#freshByClient.delete(key)
    }
  }

  /** SY_TOO_MANY_OPEN when the client already has `maxOpenPerClient` unconfirmed broadcasts on this chain. */
  async #overBound(tx: DecodedTransaction, client: string | undefined, running: number): Promise<BroadcastAnswer | undefined> {
    const { chain, journal, maxOpenPerClient } = this.#options
    if (maxOpenPerClient === undefined) return undefined
    let open: number
    try {
      open = (await journal.count(chain.name, UNCONFIRMED, client ?? null)) + running
    } catch {
      // An unreadable journal: like the read above, the write after the fan-out reports it.
      return undefined
    }
    if (open < maxOpenPerClient) return undefined
    const who = client === undefined ? 'anonymous clients (no client keys configured) have' : `client ${client} has`
    const error = new ProxyError(
      'SY_TOO_MANY_OPEN',
      `${who} ${open} ${chain.name} broadcasts not yet confirmed (journal.maxOpenPerClient ${maxOpenPerClient}); transaction ${tx.id} was not sent: retry once some confirm`,
      { chain: chain.name, txid: tx.id, ...(client === undefined ? {} : { client }), open, limit: maxOpenPerClient, bound: 'journal.maxOpenPerClient' },
    )
    return { ok: false, error, nodeId: undefined, attempts: 0 }
  }

  /**
   * Sends to the at-head targets (looking each up first on a repeat), asks the decision after each
   * reply, answers early on success, and records everything.
   */
  async #fanOut(tx: DecodedTransaction, known: BroadcastRecord | undefined, client: string | undefined): Promise<BroadcastAnswer> {
    const { chain } = this.#options
    const repeat = known !== undefined && (known.status === 'pending' || known.status === 'seen')
    const trustReplies = !this.#config.verifyAcceptance
    // A repeat looks at every at-head node (lookups are cheap) so each one lacking it gets the bytes again.
    const atHead = this.#candidates(new Set())
    const targets = repeat ? atHead : this.#targets(new Set())
    // Fresh sends need two holders while two at-head nodes exist: no single node's word answers the
    // client while another can confirm it. A repeat of a verified record needs one.
    const holdersNeeded = repeat || trustReplies ? this.#config.minAccepts : Math.max(this.#config.minAccepts, Math.min(2, atHead.length))

    const evidence = new Map<string, NodeEvidence>()
    const outcomes: NodeOutcome[] = []
    const prefix = repeat ? 'repeat: ' : ''
    const used = new Set<PoolNode>(targets)
    let attempts = 0
    let early: ((decision: BroadcastDecision) => void) | undefined
    const decidedEarly = new Promise<BroadcastDecision>((resolve) => (early = resolve))
    const decide = (settled: boolean, crossChecked: boolean): BroadcastDecision =>
      decideBroadcast({ chain: chain.name, txid: tx.id, evidence: [...evidence.values()], holdersNeeded, settled, crossChecked, trustReplies })

    const lane = async (first: PoolNode): Promise<void> => {
      let node: PoolNode | undefined = first
      while (node !== undefined) {
        const id = node.config.id
        if (repeat) {
          const presence = await this.#lookup(node, tx)
          if (shown(presence.state)) {
            evidence.set(id, { nodeId: id, lookup: presence.state })
            outcomes.push({ nodeId: id, outcome: 'lookup', lookup: presence.state, at: this.#options.clock.now() })
            const decision = decide(false, false)
            if (decision.kind === 'success') early?.(decision)
            return
          }
        }
        evidence.set(id, { nodeId: id, running: true })
        attempts += 1
        const sent = await this.#send(tx, node)
        evidence.set(id, toEvidence(sent))
        outcomes.push(toNodeOutcome(sent, prefix, this.#options.clock.now()))
        const decision = decide(false, false)
        if (decision.kind === 'success') early?.(decision)
        if (sent.verdict !== 'failed' && sent.verdict !== 'node-local') return
        node = this.#targets(used)[0]
        if (node !== undefined) used.add(node)
      }
    }
    const all = targets.length === 0 ? Promise.resolve([]) : Promise.all(targets.map(lane))
    const first = await Promise.race([decidedEarly, all.then(() => undefined)])

    if (first?.kind === 'success') {
      const written = outcomes.length
      const answer = await this.#succeed(tx, known, client, first.holders, [...evidence.values()], outcomes.slice(0, written), attempts, repeat)
      // The other sends finish in the background; their verdicts are appended, never rewritten
      // (not at all when the journal just failed: the client was told it is not journaled).
      this.#track(
        all.then(async () => {
          const later = outcomes.slice(written)
          if (answer.ok && later.length > 0) await this.#options.journal.update(chain.name, tx.id, { append: later, at: this.#options.clock.now() })
        }),
      )
      return answer
    }

    await all
    let decision = decide(true, false)
    if (decision.kind === 'cross-check') {
      const others = this.#candidates(new Set()).filter((node) => !evidence.has(node.config.id)).slice(0, CROSS_CHECK_NODES)
      await Promise.all(
        others.map(async (node) => {
          const presence = await this.#lookup(node, tx)
          const id = node.config.id
          evidence.set(id, { nodeId: id, lookup: presence.state, ...(presence.state === 'conflict' ? { lookupDetail: presence.detail } : {}) })
          outcomes.push({ nodeId: id, outcome: 'lookup', lookup: presence.state, message: 'detail' in presence ? presence.detail : undefined, at: this.#options.clock.now() })
        }),
      )
      decision = decide(true, true)
    }
    return await this.#conclude(tx, known, client, decision, evidence, outcomes, attempts, repeat)
  }

  /** Every send settled: record the decision and build the client's answer. */
  async #conclude(
    tx: DecodedTransaction,
    known: BroadcastRecord | undefined,
    client: string | undefined,
    decision: BroadcastDecision,
    evidence: ReadonlyMap<string, NodeEvidence>,
    outcomes: NodeOutcome[],
    attempts: number,
    repeat: boolean,
  ): Promise<BroadcastAnswer> {
    const { chain, pool, events } = this.#options
    if (decision.kind === 'success') return await this.#succeed(tx, known, client, decision.holders, [...evidence.values()], outcomes, attempts, repeat)
    if (decision.kind === 'wait' || decision.kind === 'cross-check') throw new Error(`broadcast decision left undecided after every send settled (${decision.kind})`)
    if (decision.status !== undefined) {
      // A repeat that fails (nodes unreachable, a refusal) leaves a pending record's status to the
      // rebroadcaster's rounds, unless it found a conflict; its outcomes are appended either way.
      // The answer does not depend on recording a failure: the journal's monitor reports that.
      const status = repeat && decision.status !== 'conflicted' ? known!.status : decision.status
      await this.#journal(tx, known, client, outcomes, status).catch(() => undefined)
    }
    if (decision.kind === 'node-error') return { ok: false, error: decision.error, nodeId: decision.nodeId, attempts }
    if (decision.code === 'SY_TX_CONFLICT') events.emit('broadcast:conflict', { chain: chain.name, txid: tx.id, detail: decision.detail ?? decision.message })
    if (decision.code === 'SY_NO_ROUTABLE_NODE') {
      const statuses: Record<string, string> = {}
      for (const node of pool.nodes) statuses[node.config.id] = node.health.status
      return { ok: false, error: new ProxyError(decision.code, decision.message, { chain: chain.name, nodes: statuses }), nodeId: undefined, attempts }
    }
    const details = { chain: chain.name, txid: tx.id, ...(decision.causes === undefined ? {} : { causes: decision.causes }) }
    return { ok: false, error: new ProxyError(decision.code, decision.message, details), nodeId: undefined, attempts }
  }

  /** Journals a success, then tells the client (and the event's subscribers); a failed write is SY_TX_NOT_JOURNALED. */
  async #succeed(
    tx: DecodedTransaction,
    known: BroadcastRecord | undefined,
    client: string | undefined,
    holders: string[],
    evidence: NodeEvidence[],
    outcomes: NodeOutcome[],
    attempts: number,
    repeat: boolean,
  ): Promise<BroadcastAnswer> {
    const { chain, events } = this.#options
    const result = summarizeEvidence(tx.id, evidence, !this.#config.verifyAcceptance)
    try {
      await this.#journal(tx, known, client, outcomes, repeat ? known!.status : 'pending')
    } catch {
      return this.#notJournaled(tx, holders, attempts)
    }
    if (!repeat) events.emit('broadcast:accepted', { chain: chain.name, txid: tx.id, accepted: result.accepted, alreadyKnown: result.alreadyKnown })
    return { ok: true, result, nodeId: holders[0], attempts }
  }

  /**
   * Records the broadcast: a new record, or the outcomes appended to the existing one, whose status
   * moves to `status` only if it is still the one this broadcast started from (compare-and-set).
   * The raw bytes go with it; the journal keeps them only while the record is open.
   */
  async #journal(tx: DecodedTransaction, known: BroadcastRecord | undefined, client: string | undefined, outcomes: NodeOutcome[], status: BroadcastStatus): Promise<void> {
    const { journal, chain, clock } = this.#options
    const now = clock.now()
    if (known === undefined) {
      const record: BroadcastRecord = {
        chain: chain.name,
        txid: tx.id,
        raw: tx.raw,
        ...(client === undefined ? {} : { client }),
        status,
        firstSeenAt: now,
        updatedAt: now,
        confirmations: 0,
        rebroadcasts: 0,
        sender: tx.sender,
        nonce: tx.nonce,
        outcomes,
      }
      if (await journal.insert(record)) return
      // Recorded meanwhile (another proxy instance, or a read that failed): append to it instead.
      known = await journal.get(chain.name, tx.id)
      if (known === undefined) throw new Error(`journal insert of ${tx.id} neither created nor found a record`)
    }
    const holders = outcomes.some((outcome) => shown(outcome.lookup))
    await journal.update(chain.name, tx.id, {
      append: outcomes,
      expect: known.status,
      // A closed record broadcast anew is the new broadcaster's, with its bytes again.
      set: status === known.status ? (holders ? { unheldRounds: 0 } : {}) : { status, unheldRounds: 0, raw: tx.raw, client: client ?? null },
      at: now,
    })
  }

  #notJournaled(tx: DecodedTransaction, holders: string[], attempts: number): BroadcastAnswer {
    const chain = this.#options.chain.name
    const error = new ProxyError(
      'SY_TX_NOT_JOURNALED',
      `transaction ${tx.id} was sent and is held by ${holders.join(', ')}, but the journal write failed: do not re-sign it; re-send the same bytes or look it up`,
      { chain, txid: tx.id, heldBy: holders },
    )
    return { ok: false, error, nodeId: undefined, attempts }
  }

  /** One send: the node's verdict, and for a claim the lookup. Only transport failures count against the node's health. */
  async #send(tx: DecodedTransaction, node: PoolNode): Promise<SendOutcome> {
    const { support, pool } = this.#options
    const transport = this.#transport(node)
    const outcome = await transport.call({ method: support.method, params: support.sendParams(tx) }, { timeoutMs: this.#config.timeoutMs })
    if (!outcome.ok) {
      pool.recordFailure(node, outcome.failure)
      return { node, verdict: 'failed', failure: outcome.failure.kind }
    }
    pool.recordSuccess(node, outcome.latencyMs)
    const classified = support.classifyReply(outcome.answer)
    if (classified.verdict === 'accepted' && classified.returnedId !== tx.id) return { node, verdict: 'id-mismatch', failure: `returned ${classified.returnedId ?? 'nothing'}` }
    const sent: SendOutcome = { node, verdict: classified.verdict, ...(outcome.answer.error ? { error: outcome.answer.error } : {}) }
    const claim = classified.verdict === 'accepted' || classified.verdict === 'already-known'
    if ((claim && this.#config.verifyAcceptance) || classified.verdict === 'ambiguous') {
      sent.presence = await this.#verify(node, tx, classified.verdict === 'accepted' ? VERIFY_ATTEMPTS : 1)
    }
    return sent
  }

  /** Looks the transaction up on `node`, again while it is absent (up to `attempts` times). */
  async #verify(node: PoolNode, tx: DecodedTransaction, attempts: number): Promise<TxPresence> {
    for (let attempt = 1; ; attempt++) {
      const presence = await this.#lookup(node, tx)
      if (presence.state !== 'absent' || attempt >= attempts) return presence
      await new Promise((resolve) => setTimeout(resolve, VERIFY_GAP_MS))
    }
  }

  async #lookup(node: PoolNode, tx: DecodedTransaction): Promise<TxPresence> {
    try {
      return await this.#options.support.lookup(this.#transport(node), tx, { timeoutMs: this.#config.timeoutMs })
    } catch (error) {
      return { state: 'unknown', detail: error instanceof Error ? error.message : String(error) }
    }
  }

  #transport(node: PoolNode): NodeTransport {
    return this.#options.transports.get(node.config.id) ?? node.transport
  }

  /** Routable at-head nodes not in `exclude`, best score first. */
  #candidates(exclude: ReadonlySet<PoolNode>): PoolNode[] {
    const { pool } = this.#options
    return selectCandidates(pool.nodes, { head: pool.head, tried: exclude, atHeadOnly: true }).sort((a, b) => pool.score(b) - pool.score(a))
  }

  /**
   * Up to `fanout` routable at-head nodes not in `exclude`, one per provider first (best score
   * first within a provider), then the best of the rest.
   */
  #targets(exclude: ReadonlySet<PoolNode>): PoolNode[] {
    const candidates = this.#candidates(exclude)
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

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.#background.delete(tracked))
    this.#background.add(tracked)
  }
}

export function toEvidence(sent: SendOutcome): NodeEvidence {
  return {
    nodeId: sent.node.config.id,
    verdict: sent.verdict,
    error: sent.error,
    failure: sent.failure,
    lookup: sent.presence?.state,
    ...(sent.presence?.state === 'conflict' ? { lookupDetail: sent.presence.detail } : {}),
  }
}

/** A send as the journal keeps it; `prefix` marks re-sends (`repeat: `, `rebroadcast: `). */
export function toNodeOutcome(sent: SendOutcome, prefix: string, at: number): NodeOutcome {
  const presenceDetail = sent.presence !== undefined && 'detail' in sent.presence ? sent.presence.detail : undefined
  return {
    nodeId: sent.node.config.id,
    outcome: `${prefix}${sent.verdict}`,
    code: sent.error?.code,
    message: sent.error?.message ?? sent.failure ?? presenceDetail,
    lookup: sent.presence?.state,
    at,
  }
}
