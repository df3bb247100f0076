/**
 * switchyard as a library. `createProxy(config)` wires the built-in chain adapters (evm, bitcoin);
 * pass `adapters` to add or replace families. The Fastify app is a separate entry
 * (`switchyard/server`), so embedding the proxy does not require Fastify.
 */
import { createBitcoinAdapter } from '../chains/bitcoin/index.js'
import { createEvmAdapter } from '../chains/evm/index.js'
import type { ChainAdapterFactory } from './chain-adapter.js'
import { parseConfig } from './config/load-config.js'
import type { ProxyConfig, ProxyConfigInput } from './config/schema.js'
import { Proxy, type ProxyOptions } from './proxy.js'

export const builtinAdapters: Readonly<Record<string, ChainAdapterFactory>> = {
  evm: createEvmAdapter,
  bitcoin: createBitcoinAdapter,
}

export interface CreateProxyOptions extends Partial<ProxyOptions> {}

/**
 * Builds a proxy from a validated config (`loadConfigFile`) or a plain config object (validated
 * here, `${ENV}` interpolated). Call `await proxy.start()` before sending requests.
 */
export function createProxy(config: ProxyConfig | ProxyConfigInput, options: CreateProxyOptions = {}): Proxy {
  const validated = isValidated(config) ? config : parseConfig(config)
  return new Proxy(validated, { ...options, adapters: { ...builtinAdapters, ...options.adapters } })
}

function isValidated(config: ProxyConfig | ProxyConfigInput): config is ProxyConfig {
  const chains = (config as { chains?: Record<string, { name?: unknown; health?: { headQuorum?: unknown } }> }).chains ?? {}
  return Object.entries(chains).every(([name, chain]) => chain.name === name && typeof chain.health?.headQuorum === 'number')
}

export { Proxy } from './proxy.js'
export type { CallResult, HandledRequest, ProxyOptions, ProxySnapshot } from './proxy.js'
export { ConfigError, loadConfigFile, parseConfig, parseConfigText } from './config/load-config.js'
export type { ChainConfig, HealthConfig, NodeConfig, ProxyConfig, ProxyConfigInput, RoutingConfig, ServerConfig } from './config/schema.js'
export type { ChainAdapter, ChainAdapterFactory, MethodClass, ProbeContext, ProbeObservation, HeadWatcher, HeadWatchHandlers } from './chain-adapter.js'
export { ProxyError, NodeRpcError, isProxyError } from './errors/proxy-error.js'
export { errorCatalog, type ProxyErrorCode } from './errors/catalog.js'
export { ProxyEvents } from './proxy-events.js'
export type { HeadEvent, NodeStateEvent, ProbeRoundEvent, ProxyEventMap, RequestEvent } from './proxy-events.js'
export type { ChainSnapshot, NodeSnapshot } from './pool/node-pool.js'
export type { NodeStatus } from './pool/node-health.js'
export type { JsonRpcErrorObject, JsonRpcId, RpcAnswer, RpcCall } from './jsonrpc/types.js'
export { ManualClock, systemClock, type Clock } from './util/clock.js'
export { MemoryJournal, type BroadcastJournal, type BroadcastQuery, type BroadcastRecord, type BroadcastStatus, type NodeOutcome } from './broadcast/broadcast-journal.js'
export { SqliteJournal } from './broadcast/sqlite-journal.js'
export type { BroadcastResult } from './broadcast/broadcaster.js'
export type { BroadcastSupport, BroadcastVerdict, DecodedTransaction, TxPresence } from './chain-adapter.js'
export type { BroadcastAcceptedEvent, BroadcastProgressEvent } from './proxy-events.js'
