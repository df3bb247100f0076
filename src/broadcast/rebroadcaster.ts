/**
 * Keeps accepted transactions alive until they are confirmed: every `rebroadcastIntervalMs` it
 * looks each open journal record up on the at-head nodes, re-sends the same bytes to nodes that
 * lack it, advances its status (pending → seen → confirmed at the chain's depth), notices when its
 * block leaves the chain (reorg: back to pending), and reports conflicts and drops. Records are
 * read from the journal each round, so a restarted proxy picks up where the last one stopped.
 *
 * Only lookups count: a re-send answered "accepted" or "already known" keeps a record alive only
 * once a lookup finds it on that node. After `dropAfterRounds` rounds in a row in which no node
 * holds it, it is `dropped`. Every write appends outcomes and changes the status by
 * compare-and-set against the status this round started from, so a concurrent write (the
 * broadcaster's background sends, a client's repeat) is never overwritten.
 *
 * Several processes may share the journal (replicas on PostgreSQL, workers on one SQLite file):
 * a round works only on the records it claimed (`claimDue`, `CLAIM_BATCH` at a time, each batch
 * claimed right before it is checked), so two live processes never re-send the same record in one
 * lease period, and the records of a process that died are taken over once its lease ran out. The
 * owner renews its claims every round, so a record stays with one process while it lives. Alone
 * on its journal, a process claims every open record each round: the same rounds as before.
 */
import type { BroadcastSupport, DecodedTransaction, TxPresence } from '../chain-adapter.js'
import type { ChainConfig } from '../config/schema.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import type { ProxyEvents } from '../proxy-events.js'
import { selectCandidates } from '../routing/node-choice.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import type { Clock } from '../util/clock.js'
import { shown } from './broadcast-decision.js'
import {
  type BroadcastJournal,
  type BroadcastRecord,
  type BroadcastStatus,
  type ClaimSettings,
  DEFAULT_CLAIM_LEASE_MS,
  type RecordChange,
  newClaimOwner,
} from './broadcast-journal.js'
import { type Broadcaster, toNodeOutcome } from './broadcaster.js'

export interface RebroadcasterOptions {
  chain: ChainConfig
  support: BroadcastSupport
  pool: NodePool
  transports: ReadonlyMap<string, NodeTransport>
  broadcaster: Broadcaster
  journal: BroadcastJournal
  events: ProxyEvents
  clock: Clock
  /** Who claims and for how long; default the journal's (`journal.claims`), else this process's own id and a 30 s lease. */
  claims?: ClaimSettings | undefined
}

/** Records claimed at a time: a batch's lease must outlast checking it, so claims are taken shortly before the checks. */
export const CLAIM_BATCH = 200

/** Claim owner of rebroadcasters given neither `claims` nor a journal that has them: one per process. */
const processOwner = newClaimOwner()

/** Confirmed records are watched for reorgs until this many times the confirmation depth. */
const SETTLE_FACTOR = 2

export class Rebroadcaster {
  readonly #options: RebroadcasterOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = true

  constructor(options: RebroadcasterOptions) {
    this.#options = options
  }

  /** One round over the open records; a call during a running round joins it. */
  tick(): Promise<void> {
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#schedule()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      void this.tick()
        .catch(() => undefined)
        .finally(() => this.#schedule())
    }, this.#options.chain.broadcast.rebroadcastIntervalMs)
    this.#timer.unref()
  }

  async #round(): Promise<void> {
    const { journal, chain, clock } = this.#options
    const { owner, leaseMs } = this.#options.claims ?? journal.claims ?? { owner: processOwner, leaseMs: DEFAULT_CLAIM_LEASE_MS }
    const claim = async (): Promise<BroadcastRecord[]> =>
      journal.claimDue === undefined
        ? await journal.open(chain.name)
        : await journal.claimDue(chain.name, { owner, now: clock.now(), leaseMs, limit: CLAIM_BATCH })
    // Least recently claimed first: a batch after the first brings records this round has not seen yet.
    const checked = new Set<string>()
    for (;;) {
      const batch = await claim()
      const fresh = batch.filter((record) => !checked.has(record.txid))
      for (const record of fresh) {
        if (this.#stopped && this.#timer === undefined && this.#running === undefined) return
        checked.add(record.txid)
        await this.#check(record)
      }
      if (journal.claimDue === undefined || batch.length < CLAIM_BATCH || fresh.length < batch.length) return
    }
  }

  async #check(record: BroadcastRecord): Promise<void> {
    const { support, pool, chain, events, clock } = this.#options
    const nodes = selectCandidates(pool.nodes, { head: pool.head, atHeadOnly: true })
    if (nodes.length === 0 || pool.head === undefined) return
    // Open records keep their bytes; a record without them (written by hand, a foreign store) cannot be re-sent.
    if (record.raw === undefined) return
    let tx: DecodedTransaction
    try {
      tx = support.decode([record.raw])
    } catch {
      return
    }
    const timeoutMs = chain.broadcast.timeoutMs
    const presences = await Promise.all(nodes.map(async (node) => ({ node, presence: await this.#lookup(node, tx) })))
    const now = clock.now()
    // The status this round's decisions are based on; every status change is compare-and-set against it.
    let status: BroadcastStatus = record.status
    const write = async (change: Omit<RecordChange, 'at' | 'expect'>): Promise<boolean> => {
      try {
        return await this.#options.journal.update(chain.name, record.txid, { ...change, expect: status, at: now })
      } catch {
        // The journal's monitor reports the failure (event, /readyz); the next round tries again.
        return false
      }
    }

    const confirmed = presences.find((entry) => entry.presence.state === 'confirmed')
    if (confirmed !== undefined && confirmed.presence.state === 'confirmed') {
      const { height, blockHash } = confirmed.presence
      const depth = Math.max(0, pool.head - height + 1)
      const reached = depth >= chain.confirmations && status !== 'confirmed'
      const next: BroadcastStatus = reached ? 'confirmed' : status === 'pending' ? 'seen' : status
      const applied = await write({
        set: { status: next, blockHeight: height, blockHash, confirmations: depth, unheldRounds: 0, ...(depth >= chain.confirmations * SETTLE_FACTOR ? { settled: true } : {}) },
      })
      if (applied && reached) {
        events.emit('broadcast:confirmed', { chain: chain.name, txid: record.txid, detail: `${depth} confirmations at height ${height}`, height, confirmations: depth })
      }
      return
    }

    if (record.blockHash !== undefined && record.blockHeight !== undefined) {
      // It was in a block and no node sees it there now: did that block leave the chain?
      const canonical = await support.isBlockCanonical(this.#transport(nodes[0]!), record.blockHeight, record.blockHash, { timeoutMs })
      if (canonical === false) {
        const applied = await write({ set: { status: 'pending', blockHeight: null, blockHash: null, confirmations: 0 } })
        if (!applied) return
        events.emit('broadcast:reorged', { chain: chain.name, txid: record.txid, detail: `block ${record.blockHash} at height ${record.blockHeight} left the chain`, height: record.blockHeight })
        status = 'pending'
      } else if (status === 'confirmed') {
        // Still canonical (its outputs may simply be spent by now): count depth from the block.
        const confirmations = Math.max(0, pool.head - record.blockHeight + 1)
        await write({ set: { confirmations, ...(confirmations >= chain.confirmations * SETTLE_FACTOR ? { settled: true } : {}) } })
        return
      }
    }

    const holders = presences.filter((entry) => shown(entry.presence.state))
    const conflicts = presences.filter((entry): entry is { node: PoolNode; presence: Extract<TxPresence, { state: 'conflict' }> } => entry.presence.state === 'conflict')
    if (holders.length === 0 && conflicts.length > 0) {
      const append = conflicts.map((entry) => ({ nodeId: entry.node.config.id, outcome: 'lookup: conflict', message: entry.presence.detail, lookup: 'conflict' as const, at: now }))
      if (await write({ append, set: { status: 'conflicted' } })) {
        events.emit('broadcast:conflict', { chain: chain.name, txid: record.txid, detail: conflicts[0]!.presence.detail })
      }
      return
    }

    const lacking = presences.filter((entry) => entry.presence.state === 'absent').map((entry) => entry.node)
    const resends = await Promise.all(lacking.map((node) => this.#options.broadcaster.resend(tx, node)))
    const append = resends.map((sent) => toNodeOutcome(sent, 'rebroadcast: ', now))
    const rebroadcasts = resends.length > 0 ? 1 : 0
    const trust = !chain.broadcast.verifyAcceptance
    const tookIt = resends.filter((sent) => shown(sent.presence?.state) || (trust && (sent.verdict === 'accepted' || sent.verdict === 'already-known')))
    if (holders.length + tookIt.length > 0) {
      await write({ append, rebroadcasts, set: { status: status === 'pending' ? 'seen' : status, unheldRounds: 0 } })
      return
    }

    // No node holds it. A round counts only if some node could say so (not every lookup unanswered).
    const answered = lacking.length > 0
    if (!answered) {
      await write({ append, rebroadcasts })
      return
    }
    const rounds = (record.unheldRounds ?? 0) + 1
    if (rounds < chain.broadcast.dropAfterRounds) {
      await write({ append, rebroadcasts, set: { unheldRounds: rounds } })
      return
    }
    if (await write({ append, rebroadcasts, set: { status: 'dropped', unheldRounds: rounds } })) {
      const refusal = resends.find((sent) => sent.error !== undefined && sent.verdict !== 'already-known')?.error?.message
      events.emit('broadcast:dropped', { chain: chain.name, txid: record.txid, detail: refusal ?? `no node holds it after ${rounds} rebroadcast rounds` })
    }
  }

  async #lookup(node: PoolNode, tx: DecodedTransaction): Promise<TxPresence> {
    try {
      return await this.#options.support.lookup(this.#transport(node), tx, { timeoutMs: this.#options.chain.broadcast.timeoutMs })
    } catch (error) {
      return { state: 'unknown', detail: error instanceof Error ? error.message : String(error) }
    }
  }

  #transport(node: PoolNode): NodeTransport {
    return this.#options.transports.get(node.config.id) ?? node.transport
  }
}
