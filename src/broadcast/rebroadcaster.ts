/**
 * Keeps accepted transactions alive until they are confirmed: every `rebroadcastIntervalMs` it
 * looks each open journal record up on the at-head nodes, re-sends the same bytes to nodes that
 * lack it, advances its status (pending → seen → confirmed at the chain's depth), notices when its
 * block leaves the chain (reorg: back to pending), and reports conflicts and drops. Records are
 * read from the journal each round, so a restarted proxy picks up where the last one stopped.
 */
import type { BroadcastSupport, DecodedTransaction, TxPresence } from '../chain-adapter.js'
import type { ChainConfig } from '../config/schema.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import type { ProxyEvents } from '../proxy-events.js'
import { selectCandidates } from '../routing/router.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import type { Clock } from '../util/clock.js'
import type { BroadcastJournal, BroadcastRecord, NodeOutcome } from './broadcast-journal.js'
import type { Broadcaster } from './broadcaster.js'

export interface RebroadcasterOptions {
  chain: ChainConfig
  support: BroadcastSupport
  pool: NodePool
  transports: ReadonlyMap<string, NodeTransport>
  broadcaster: Broadcaster
  journal: BroadcastJournal
  events: ProxyEvents
  clock: Clock
}

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
    const { journal, chain } = this.#options
    for (const record of await journal.open(chain.name)) {
      if (this.#stopped && this.#timer === undefined && this.#running === undefined) return
      await this.#check(record)
    }
  }

  async #check(record: BroadcastRecord): Promise<void> {
    const { support, pool, chain, journal, events, clock } = this.#options
    const nodes = selectCandidates(pool.nodes, pool.head, undefined, new Set(), true)
    if (nodes.length === 0 || pool.head === undefined) return
    let tx: DecodedTransaction
    try {
      tx = support.decode([record.raw])
    } catch {
      return
    }
    const timeoutMs = chain.broadcast.timeoutMs
    const presences = await Promise.all(nodes.map(async (node) => ({ node, presence: await support.lookup(this.#transport(node), tx, { timeoutMs }) })))
    const now = clock.now()
    const next: BroadcastRecord = { ...record, updatedAt: now, outcomes: [...record.outcomes] }

    const confirmed = presences.find((entry) => entry.presence.state === 'confirmed')
    if (confirmed !== undefined && confirmed.presence.state === 'confirmed') {
      const { height, blockHash } = confirmed.presence
      const depth = Math.max(0, pool.head - height + 1)
      Object.assign(next, { blockHeight: height, blockHash, confirmations: depth })
      if (depth >= chain.confirmations && record.status !== 'confirmed') {
        next.status = 'confirmed'
        events.emit('broadcast:confirmed', { chain: chain.name, txid: record.txid, detail: `${depth} confirmations at height ${height}`, height, confirmations: depth })
      } else if (record.status === 'pending') {
        next.status = 'seen'
      }
      if (depth >= chain.confirmations * SETTLE_FACTOR) next.settled = true
      await journal.save(next)
      return
    }

    if (record.blockHash !== undefined && record.blockHeight !== undefined) {
      // It was in a block and no node sees it there now: did that block leave the chain?
      const canonical = await support.isBlockCanonical(this.#transport(nodes[0]!), record.blockHeight, record.blockHash, { timeoutMs })
      if (canonical === false) {
        events.emit('broadcast:reorged', { chain: chain.name, txid: record.txid, detail: `block ${record.blockHash} at height ${record.blockHeight} left the chain`, height: record.blockHeight })
        Object.assign(next, { status: 'pending', blockHeight: undefined, blockHash: undefined, confirmations: 0 })
      } else if (record.status === 'confirmed') {
        // Still canonical (its outputs may simply be spent by now): count depth from the block.
        next.confirmations = Math.max(0, pool.head - record.blockHeight + 1)
        if (next.confirmations >= chain.confirmations * SETTLE_FACTOR) next.settled = true
        await journal.save(next)
        return
      }
    }

    const holders = presences.filter((entry) => entry.presence.state === 'mempool')
    const conflicts = presences.filter((entry): entry is { node: PoolNode; presence: Extract<TxPresence, { state: 'conflict' }> } => entry.presence.state === 'conflict')
    if (holders.length === 0 && conflicts.length > 0) {
      next.status = 'conflicted'
      next.outcomes.push(...conflicts.map((entry) => outcome(entry.node, 'lookup: conflict', entry.presence.detail, now)))
      await journal.save(next)
      events.emit('broadcast:conflict', { chain: chain.name, txid: record.txid, detail: conflicts[0]!.presence.detail })
      return
    }
    if (holders.length > 0 && next.status === 'pending') next.status = 'seen'

    const lacking = presences.filter((entry) => entry.presence.state === 'absent').map((entry) => entry.node)
    if (lacking.length === 0) {
      await journal.save(next)
      return
    }
    const verdicts = await Promise.all(lacking.map((node) => this.#options.broadcaster.resend(tx, node)))
    next.rebroadcasts += 1
    for (const verdict of verdicts) next.outcomes.push(outcome(verdict.node, `rebroadcast: ${verdict.verdict}`, verdict.error?.message ?? verdict.failure, now, verdict.error?.code))
    const took = verdicts.some((verdict) => verdict.verdict === 'accepted' || verdict.verdict === 'already-known')
    if (holders.length === 0 && !took && verdicts.every((verdict) => verdict.verdict === 'invalid' || verdict.verdict === 'dropped-silently')) {
      next.status = 'dropped'
      const detail = verdicts.find((verdict) => verdict.error !== undefined)?.error?.message ?? 'no node keeps it after re-sending'
      events.emit('broadcast:dropped', { chain: chain.name, txid: record.txid, detail })
    } else if (took && next.status === 'pending') {
      next.status = 'seen'
    }
    await journal.save(next)
  }

  #transport(node: PoolNode): NodeTransport {
    return this.#options.transports.get(node.config.id) ?? node.transport
  }
}

function outcome(node: PoolNode, kind: string, message: string | undefined, at: number, code?: number): NodeOutcome {
  return { nodeId: node.config.id, outcome: kind, code, message, at }
}
