/**
 * Builds a chain's `ChainStreams` (heads, logs, filters) from an accessor of the chain's current
 * runtime: the object lives on the proxy for as long as the chain is configured, and a reload that
 * swaps the runtime swaps only the source of its reads, so subscriptions and filters carry on.
 */
import type { FiltersConfig } from '../config/schema.js'
import type { ProxyEvents } from '../proxy-events.js'
import { routeRead } from '../routing/read-path.js'
import type { ChainRuntime } from '../runtime/chain-runtime.js'
import type { Clock } from '../util/clock.js'
import type { ChainStreams, ChainStreamsStats } from './chain-streams.js'
import { FilterRegistry } from './filter-registry.js'
import { HeadStream } from './head-stream.js'
import { LogFeed } from './log-feed.js'
import { PendingFeed } from './pending-feed.js'

export interface ChainStreamsOptions {
  chain: string
  events: ProxyEvents
  clock: Clock
  /** The chain's runtime now; undefined once the chain is gone. */
  runtime(): ChainRuntime | undefined
  /** The running `filters` settings. */
  filters(): FiltersConfig
}

/** undefined when the chain's family has no `headerAt` (nothing to stream from). */
export function createChainStreams(options: ChainStreamsOptions): ChainStreams | undefined {
  const first = options.runtime()
  if (first?.adapter.headerAt === undefined) return undefined
  const heads = new HeadStream({ chain: options.chain, events: options.events, runtime: options.runtime })
  const logs = first.adapter.blockLogs === undefined ? undefined : new LogFeed(heads, options.runtime)
  const pending =
    first.adapter.classifyMethod('eth_newPendingTransactionFilter') === 'stream'
      ? new PendingFeed({ chain: options.chain, clock: options.clock, runtime: options.runtime, pollIntervalMs: () => options.filters().pendingPollIntervalMs })
      : undefined
  const filters = new FilterRegistry({
    chain: options.chain,
    clock: options.clock,
    limits: options.filters,
    heads,
    logs,
    pending,
    getLogs: async (call) => {
      const runtime = options.runtime()
      if (runtime === undefined) return { error: { code: -32601, message: `chain ${options.chain} is gone` } }
      const routed = await runtime.run(() => routeRead(runtime.readContext, call))
      return routed.ok ? routed.answer : { error: routed.error.toJsonRpcError() }
    },
  })
  let headSubscribers = 0
  let logSubscribers = 0
  const counted = (stop: () => void, count: (delta: number) => void): (() => void) => {
    count(1)
    let done = false
    return () => {
      if (done) return
      done = true
      count(-1)
      stop()
    }
  }
  const streams: ChainStreams = {
    subscribeHeads: (listener) => counted(heads.subscribe(listener), (delta) => (headSubscribers += delta)),
    handleFilterCall: (call, client) => filters.handle(call, client),
    close: () => {
      filters.close()
      pending?.close()
      logs?.close()
      heads.close()
    },
    stats: (): ChainStreamsStats => ({ headSubscribers, logSubscribers, filters: filters.size, pendingListeners: pending?.listeners ?? 0 }),
  }
  if (pending !== undefined) streams.subscribePending = (listener) => pending.subscribe(listener)
  if (logs !== undefined) streams.subscribeLogs = (query, listener) => counted(logs.subscribe(query, listener), (delta) => (logSubscribers += delta))
  return streams
}
