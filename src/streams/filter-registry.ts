/**
 * EVM filters served by switchyard itself (eth_newFilter, eth_newBlockFilter, eth_getFilterChanges,
 * eth_getFilterLogs, eth_uninstallFilter), fed by the chain's head stream and log feed, so no node
 * holds per-client state and a filter survives node failover and config reloads. Ids are 16 random
 * bytes; a filter is visible only to the client that made it (anonymous clients share one
 * namespace); a filter not polled for `idleTimeoutMs` is removed (on access, and by a sweep off the
 * request path); bounds per client and per chain; changes held between polls are bounded too.
 */
import { randomBytes } from 'node:crypto'
import type { FiltersConfig } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { Clock } from '../util/clock.js'
import type { HeadStream } from './head-stream.js'
import type { LogFeed } from './log-feed.js'
import type { PendingFeed } from './pending-feed.js'
import { type FilterCriteria, inBlockRange, parseFilterCriteria } from './log-match.js'

/** The namespace of calls without a client name (no client keys configured). */
const ANONYMOUS = '(anonymous)'
/** Longest pause between sweeps of expired filters, ms. */
const SWEEP_MAX_INTERVAL_MS = 30_000

interface Filter {
  readonly id: string
  readonly owner: string
  readonly kind: 'logs' | 'blocks' | 'pending'
  readonly criteria: FilterCriteria | undefined
  changes: unknown[]
  lastPollAt: number
  /** Set when more than maxPendingChanges piled up: the next poll says it is gone. */
  overflowed: boolean
  stop(): void
  /** Adds a change (bounded by maxPendingChanges). */
  push(change: unknown): void
}

export interface FilterRegistryOptions {
  chain: string
  clock: Clock
  /** The running `filters` settings (a reload changes them). */
  limits(): FiltersConfig
  heads: Pick<HeadStream, 'subscribe'>
  /** Undefined on families without logs: eth_newFilter is then not served. */
  logs: Pick<LogFeed, 'subscribe'> | undefined
  /** Undefined on families without pending transactions: eth_newPendingTransactionFilter is then not served. */
  pending?: Pick<PendingFeed, 'subscribe'> | undefined
  /** eth_getLogs as a client's read (tip pinning, maxLogsRange, failover); a ProxyError answer when refused. */
  getLogs(call: RpcCall): Promise<RpcAnswer>
}

export class FilterRegistry {
  readonly #options: FilterRegistryOptions
  readonly #filters = new Map<string, Filter>()
  #sweeper: NodeJS.Timeout | undefined

  constructor(options: FilterRegistryOptions) {
    this.#options = options
  }

  get size(): number {
    return this.#filters.size
  }

  async handle(call: RpcCall, client: string | undefined): Promise<RpcAnswer> {
    try {
      return { result: await this.#handle(call, client ?? ANONYMOUS) }
    } catch (error) {
      if (error instanceof ProxyError) return { error: error.toJsonRpcError() }
      if (error instanceof AnswerError) return error.answer
      throw error
    }
  }

  async #handle(call: RpcCall, owner: string): Promise<unknown> {
    const params = Array.isArray(call.params) ? call.params : []
    switch (call.method) {
      case 'eth_newFilter': {
        if (this.#options.logs === undefined) throw new ProxyError('SY_METHOD_NOT_ALLOWED', `eth_newFilter is not served on chain ${this.#options.chain}`, { method: call.method })
        const criteria = parseFilterCriteria(params[0])
        if (typeof criteria === 'string') throw new ProxyError('SY_INVALID_PARAMS', `eth_newFilter: ${criteria}`)
        return this.#install(owner, 'logs', criteria).id
      }
      case 'eth_newBlockFilter':
        return this.#install(owner, 'blocks', undefined).id
      case 'eth_getFilterChanges': {
        const filter = this.#find(owner, params[0])
        const changes = filter.changes
        filter.changes = []
        filter.lastPollAt = this.#options.clock.now()
        return changes
      }
      case 'eth_getFilterLogs': {
        const filter = this.#find(owner, params[0])
        filter.lastPollAt = this.#options.clock.now()
        if (filter.kind !== 'logs' || filter.criteria === undefined) throw notFound()
        const answer = await this.#options.getLogs({ method: 'eth_getLogs', params: [logsParams(filter.criteria)] })
        if (answer.error !== undefined) throw new AnswerError(answer)
        return answer.result
      }
      case 'eth_uninstallFilter': {
        const id = typeof params[0] === 'string' ? params[0].toLowerCase() : undefined
        const filter = id === undefined ? undefined : this.#filters.get(id)
        if (filter === undefined || filter.owner !== owner) return false
        this.#remove(filter)
        return true
      }
      case 'eth_newPendingTransactionFilter': {
        const pending = this.#options.pending
        if (pending === undefined) throw new ProxyError('SY_METHOD_NOT_ALLOWED', `eth_newPendingTransactionFilter is not served on chain ${this.#options.chain}`, { method: call.method })
        const filter = this.#install(owner, 'pending', undefined)
        let stop: () => void
        try {
          stop = await pending.subscribe((hash) => filter.push(hash))
        } catch (error) {
          this.#remove(filter)
          throw error
        }
        // Uninstalled (or swept, or closed) while the feed started: nobody would stop it later.
        if (this.#filters.get(filter.id) !== filter) stop()
        else filter.stop = stop
        return filter.id
      }
      case 'eth_subscribe':
      case 'eth_unsubscribe':
        throw new ProxyError('SY_SUBSCRIPTION_NEEDS_WS', `${call.method}: subscriptions need the WebSocket endpoint ws://<this host>/rpc/${this.#options.chain} (over HTTP, poll with eth_newFilter / eth_newBlockFilter)`, { method: call.method })
      default:
        throw new ProxyError('SY_METHOD_NOT_ALLOWED', `method ${call.method} is not served by switchyard's filters`, { method: call.method })
    }
  }

  /** Drops every filter and stops the sweep (chain removed, proxy closing). */
  close(): void {
    for (const filter of [...this.#filters.values()]) this.#remove(filter)
  }

  /** Removes filters not polled within `idleTimeoutMs`; runs on a timer, off the request path. */
  sweep(): void {
    const now = this.#options.clock.now()
    const { idleTimeoutMs } = this.#options.limits()
    for (const filter of [...this.#filters.values()]) if (now - filter.lastPollAt >= idleTimeoutMs) this.#remove(filter)
  }

  /** Makes and registers a filter; a 'pending' one is fed by the caller (its feed subscribes asynchronously). */
  #install(owner: string, kind: Filter['kind'], criteria: FilterCriteria | undefined): Filter {
    const { maxPerClient, maxPerChain, maxPendingChanges } = this.#options.limits()
    // Expired filters must not count against a client that simply stopped polling them.
    this.sweep()
    let owned = 0
    for (const filter of this.#filters.values()) if (filter.owner === owner) owned += 1
    if (owned >= maxPerClient) {
      throw new ProxyError('SY_TOO_MANY_FILTERS', `too many filters: this client already holds ${owned} on chain ${this.#options.chain} (filters.maxPerClient)`, { limit: maxPerClient, scope: 'client' })
    }
    if (this.#filters.size >= maxPerChain) {
      throw new ProxyError('SY_TOO_MANY_FILTERS', `too many filters on chain ${this.#options.chain} (filters.maxPerChain)`, { limit: maxPerChain, scope: 'chain' })
    }
    const id = `0x${randomBytes(16).toString('hex')}`
    const push = (change: unknown): void => {
      if (filter.overflowed) return
      if (filter.changes.length >= maxPendingChanges) {
        // Unbounded growth is worse than a clear "filter not found": the client re-creates it.
        filter.overflowed = true
        filter.changes = []
        filter.stop()
        return
      }
      filter.changes.push(change)
    }
    const filter: Filter = { id, owner, kind, criteria, changes: [], lastPollAt: this.#options.clock.now(), overflowed: false, stop: () => undefined, push }
    if (kind === 'blocks') {
      filter.stop = this.#options.heads.subscribe((event) => {
        if (event.kind === 'head') push(event.head.hash)
      })
    } else if (kind === 'logs') {
      const { fromBlock, toBlock, blockHash } = criteria ?? { query: {} }
      filter.stop = this.#options.logs!.subscribe(criteria?.query ?? {}, (event) => {
        const height = typeof event.log.blockNumber === 'string' ? Number.parseInt(event.log.blockNumber, 16) : Number.NaN
        if (blockHash !== undefined && String(event.log.blockHash).toLowerCase() !== blockHash.toLowerCase()) return
        if (blockHash === undefined && Number.isSafeInteger(height) && !inBlockRange(height, fromBlock, toBlock)) return
        push(event.log)
      })
    }
    this.#filters.set(id, filter)
    this.#startSweeper()
    return filter
  }

  #find(owner: string, idParam: unknown): Filter {
    if (typeof idParam !== 'string') throw new ProxyError('SY_INVALID_PARAMS', 'the filter id must be a string')
    const filter = this.#filters.get(idParam.toLowerCase())
    // Another client's filter looks exactly like a missing one: ids cannot be probed.
    if (filter === undefined || filter.owner !== owner) throw notFound()
    if (filter.overflowed) {
      this.#remove(filter)
      throw notFound(`dropped after more than ${this.#options.limits().maxPendingChanges} unpolled changes (filters.maxPendingChanges); re-create it and read the gap with eth_getLogs`)
    }
    if (this.#options.clock.now() - filter.lastPollAt >= this.#options.limits().idleTimeoutMs) {
      this.#remove(filter)
      throw notFound()
    }
    return filter
  }

  #remove(filter: Filter): void {
    filter.stop()
    this.#filters.delete(filter.id)
    if (this.#filters.size === 0) {
      clearInterval(this.#sweeper)
      this.#sweeper = undefined
    }
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return
    const intervalMs = Math.min(SWEEP_MAX_INTERVAL_MS, this.#options.limits().idleTimeoutMs)
    this.#sweeper = setInterval(() => this.sweep(), intervalMs)
    this.#sweeper.unref()
  }
}

/** A node's (or the read path's) error answer to pass on as it is. */
class AnswerError extends Error {
  constructor(readonly answer: RpcAnswer) {
    super('answer')
  }
}

function notFound(detail?: string): ProxyError {
  return new ProxyError('SY_FILTER_NOT_FOUND', detail === undefined ? 'filter not found' : `filter not found: ${detail}`)
}

/** eth_getLogs params of a filter's criteria, members absent when not given. */
function logsParams(criteria: FilterCriteria): Record<string, unknown> {
  const params: Record<string, unknown> = {}
  if (criteria.blockHash !== undefined) params.blockHash = criteria.blockHash
  if (criteria.fromBlock !== undefined) params.fromBlock = criteria.fromBlock
  if (criteria.toBlock !== undefined) params.toBlock = criteria.toBlock
  if (criteria.query.address !== undefined) params.address = criteria.query.address
  if (criteria.query.topics !== undefined) params.topics = criteria.query.topics
  return params
}

