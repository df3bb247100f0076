/**
 * What switchyard serves from its own view of a chain, with no per-client state on any node:
 * the pool's quorum head as a gap-free stream, logs per delivered block (reorgs reported with
 * `removed: true`), and EVM-style filters (`eth_newFilter`…) polled by clients. One object per
 * chain lives on the proxy across config reloads (`Proxy.streams(chain)`): it reads through
 * whichever chain runtime is current, so a reload or a node failover never loses a subscription
 * or a filter.
 */
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'

/** One block of the pool's canonical chain, as delivered to subscribers. */
export interface StreamHead {
  height: number
  /** Block hash as the family spells it (EVM 0x-prefixed lowercase; bitcoin display hex). */
  hash: string
  parentHash: string
  /** The block header object the family's nodes return (EVM: `eth_getBlockByNumber(h, false)`), sent as is. */
  header: unknown
}

/**
 * - `head`: the next block, every height once and in order from the subscription on (missed
 *   heights are backfilled; only blocks the quorum agrees on);
 * - `reorg`: blocks from `fromHeight` up were replaced; their replacements follow as `head`s.
 */
export type HeadStreamEvent = { kind: 'head'; head: StreamHead } | { kind: 'reorg'; fromHeight: number; removed: StreamHead[] }

/** An EVM log filter's criteria (eth_newFilter / eth_subscribe 'logs'), without a block range. */
export interface LogsQuery {
  address?: string | string[] | undefined
  topics?: Array<string | string[] | null> | undefined
}

/** A log as the node returned it; `removed: true` when a reorg took its block away. */
export interface LogEvent {
  log: Record<string, unknown>
  removed: boolean
}

export interface ChainStreams {
  /** Subscribes to heads from now on; returns the function that unsubscribes. */
  subscribeHeads(listener: (event: HeadStreamEvent) => void): () => void
  /**
   * Pending transaction hashes merged from the nodes that offer them (`pending-feed.ts`), each once;
   * undefined on families without them. Refused (SY_PENDING_NOT_OFFERED) when no routable node does.
   */
  subscribePending?(listener: (hash: string) => void): Promise<() => void>
  /** Logs matching `query` in each delivered block; undefined on families without logs. */
  subscribeLogs?(query: LogsQuery, listener: (event: LogEvent) => void): () => void
  /**
   * A filter method (`eth_newFilter`, `eth_newBlockFilter`, `eth_getFilterChanges`,
   * `eth_getFilterLogs`, `eth_uninstallFilter`, …): the answer. `client`: the caller's name
   * (filters are bounded per client and only visible to the client that made them).
   */
  handleFilterCall(call: RpcCall, client: string | undefined): Promise<RpcAnswer>
  /** Stops head tracking and drops filters (proxy close, chain removed by a reload). */
  close(): void
  /** What is open now, for metrics (scraped, never pushed). */
  stats?(): ChainStreamsStats
}

export interface ChainStreamsStats {
  /** Open `subscribeHeads` subscriptions (WebSocket newHeads, block streams); filters not counted. */
  headSubscribers: number
  /** Open `subscribeLogs` subscriptions; filters not counted. */
  logSubscribers: number
  /** Installed filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter) across clients. */
  filters: number
  /** Listeners of the pending-transaction feed (subscriptions and pending filters). */
  pendingListeners?: number
}
