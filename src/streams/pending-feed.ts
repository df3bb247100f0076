/**
 * Pending transactions of a chain, merged from every routable node that offers them: switchyard
 * holds one node-side `eth_newPendingTransactionFilter` per node (its own, shared by every client
 * filter and subscription of the chain; clients hold nothing on any node), polls each with
 * `eth_getFilterChanges` every `filters.pendingPollIntervalMs`, and hands each transaction hash on
 * once (the last `SEEN_LIMIT` hashes are remembered), whichever node saw it first. Mempools differ
 * per node and a node that failed over or dropped its filter leaves a gap nobody can backfill, so
 * this is a best-effort feed: what a wallet relies on comes from blocks.
 *
 * - A node that answers "method not found / not supported" is not asked again for
 *   `UNSUPPORTED_RETRY_MS`; a node whose filter is gone ("filter not found": restarted, expired)
 *   gets a new one next round; other failures are retried next round. None of it counts against
 *   the node: these are switchyard's own calls, not clients'.
 * - Runs only while someone listens; the last listener leaving uninstalls the node filters.
 */
import { LRUCache } from 'lru-cache'
import { ProxyError } from '../errors/proxy-error.js'
import type { RpcCall } from '../jsonrpc/types.js'
import type { ChainRuntime } from '../runtime/chain-runtime.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import type { Clock } from '../util/clock.js'

/** Transaction hashes remembered to hand each on once. */
export const SEEN_LIMIT = 50_000
/** A node that does not offer pending filters is asked again after this long, ms. */
export const UNSUPPORTED_RETRY_MS = 10 * 60_000

interface NodeFeed {
  transport: NodeTransport
  filterId: string | undefined
  unsupportedUntil: number | undefined
}

export interface PendingFeedOptions {
  chain: string
  clock: Clock
  /** The chain's runtime now; undefined once the chain is gone. */
  runtime(): ChainRuntime | undefined
  /** `filters.pendingPollIntervalMs` as running now. */
  pollIntervalMs(): number
}

export class PendingFeed {
  readonly #options: PendingFeedOptions
  readonly #listeners = new Set<(hash: string) => void>()
  readonly #nodes = new Map<string, NodeFeed>()
  /** Made at the first hash: its arrays are sized for SEEN_LIMIT at once (~0.8 MB), too much for every chain nobody watches. */
  #seen: LRUCache<string, true> | undefined
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> | undefined
  #closed = false

  constructor(options: PendingFeedOptions) {
    this.#options = options
  }

  get listeners(): number {
    return this.#listeners.size
  }

  /** Nodes with a pending filter installed now. */
  get offeringNodes(): string[] {
    return [...this.#nodes].filter(([, feed]) => feed.filterId !== undefined).map(([nodeId]) => nodeId)
  }

  /**
   * Starts listening. The first listener waits for a round that installs the node filters; when no
   * routable node offers pending transactions, it is refused (SY_PENDING_NOT_OFFERED) and nothing
   * stays installed. Returns the function that stops listening.
   */
  async subscribe(listener: (hash: string) => void): Promise<() => void> {
    if (this.#closed) throw new ProxyError('SY_PENDING_NOT_OFFERED', `chain ${this.#options.chain} is gone`)
    this.#listeners.add(listener)
    if (this.offeringNodes.length === 0) await this.tick()
    if (this.offeringNodes.length === 0) {
      this.#unlisten(listener)
      throw new ProxyError('SY_PENDING_NOT_OFFERED', `no routable node of chain ${this.#options.chain} offers pending transactions (eth_newPendingTransactionFilter)`, { chain: this.#options.chain })
    }
    this.#schedule()
    let done = false
    return () => {
      if (done) return
      done = true
      this.#unlisten(listener)
    }
  }

  /** One poll round over the routable nodes (tests call it; rounds never overlap). */
  tick(): Promise<void> {
    this.#round ??= this.#poll().finally(() => {
      this.#round = undefined
    })
    return this.#round
  }

  close(): void {
    this.#closed = true
    this.#listeners.clear()
    this.#stop()
  }

  #unlisten(listener: (hash: string) => void): void {
    this.#listeners.delete(listener)
    if (this.#listeners.size === 0) this.#stop()
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#listeners.size === 0 || this.#closed) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.tick().finally(() => this.#schedule())
    }, this.#options.pollIntervalMs())
    this.#timer.unref()
  }

  #stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const feeds = [...this.#nodes.values()]
    this.#nodes.clear()
    const runtime = this.#options.runtime()
    const timeoutMs = runtime?.chain.requestTimeoutMs ?? 1_000
    // Best effort: a node that misses this drops the filter itself after its idle timeout.
    for (const feed of feeds) if (feed.filterId !== undefined) void feed.transport.call({ method: 'eth_uninstallFilter', params: [feed.filterId] }, { timeoutMs }).catch(() => undefined)
  }

  async #poll(): Promise<void> {
    const runtime = this.#options.runtime()
    if (runtime === undefined || this.#listeners.size === 0) return
    const routable = runtime.pool.routable()
    const routableIds = new Set(routable.map((node) => node.config.id))
    // A node that left routing (or the chain) is forgotten; its filter expires on the node.
    for (const nodeId of [...this.#nodes.keys()]) if (!routableIds.has(nodeId)) this.#nodes.delete(nodeId)
    const timeoutMs = runtime.chain.requestTimeoutMs
    const now = this.#options.clock.now()
    await Promise.all(
      routable.map(async (node) => {
        let feed = this.#nodes.get(node.config.id)
        // A reload that rebuilt the node's client: the old filter belongs to the old connection's node.
        if (feed === undefined || feed.transport !== node.transport) {
          feed = { transport: node.transport, filterId: undefined, unsupportedUntil: undefined }
          this.#nodes.set(node.config.id, feed)
        }
        if (feed.unsupportedUntil !== undefined && now < feed.unsupportedUntil) return
        if (feed.filterId === undefined) {
          const installed = await ask(feed.transport, { method: 'eth_newPendingTransactionFilter', params: [] }, timeoutMs)
          if (installed.kind === 'unsupported') feed.unsupportedUntil = now + UNSUPPORTED_RETRY_MS
          else if (installed.kind === 'ok' && typeof installed.result === 'string') {
            feed.filterId = installed.result
            feed.unsupportedUntil = undefined
          }
          return
        }
        const changes = await ask(feed.transport, { method: 'eth_getFilterChanges', params: [feed.filterId] }, timeoutMs)
        if (changes.kind === 'gone' || changes.kind === 'unsupported') feed.filterId = undefined
        else if (changes.kind === 'ok' && Array.isArray(changes.result)) this.#emit(changes.result)
      }),
    )
  }

  #emit(hashes: readonly unknown[]): void {
    for (const value of hashes) {
      if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) continue
      const hash = value.toLowerCase()
      const seen = (this.#seen ??= new LRUCache<string, true>({ max: SEEN_LIMIT }))
      if (seen.has(hash)) continue
      seen.set(hash, true)
      for (const listener of this.#listeners) listener(hash)
    }
  }
}

type Asked = { kind: 'ok'; result: unknown } | { kind: 'unsupported' } | { kind: 'gone' } | { kind: 'failed' }

async function ask(transport: NodeTransport, call: RpcCall, timeoutMs: number): Promise<Asked> {
  let outcome
  try {
    outcome = await transport.call(call, { timeoutMs })
  } catch {
    return { kind: 'failed' }
  }
  if (!outcome.ok) return { kind: 'failed' }
  const error = outcome.answer.error
  if (error === undefined) return { kind: 'ok', result: outcome.answer.result }
  const message = String(error.message ?? '').toLowerCase()
  if (message.includes('filter not found')) return { kind: 'gone' }
  if (error.code === -32601 || /not (supported|available|implemented)|does not exist|unknown method|method not found/.test(message)) return { kind: 'unsupported' }
  return { kind: 'failed' }
}
