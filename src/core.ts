/**
 * switchyard as a library without built-in chain families (`switchyard/core`): nothing here loads a
 * family's libraries, so an EVM-only application never loads bitcoinjs-lib, and a bitcoin-only one
 * never loads ethers. The families come from their own entries and are passed in:
 * `createProxy(config, { adapters: { evm: evmFamily } })`. The root entry (`switchyard`) is the
 * same with both built-in families wired in.
 */
import type { ChainFamily } from './chain-adapter.js'
import * as configFile from './config/load-config.js'
import type { ProxyConfig, ProxyConfigInput } from './config/schema.js'
import { Proxy, type ProxyOptions } from './proxy.js'

/** Chain families by the name a config gives in `family:`. */
export type ChainFamilies = Readonly<Record<string, ChainFamily>>

/** Validates a config object (parsed YAML, or written in code) against `families`; `${ENV}` is interpolated from `env`. */
export function parseConfig(raw: unknown | ProxyConfigInput, families: ChainFamilies, env: configFile.Env = process.env, source = '<object>'): ProxyConfig {
  return configFile.parseConfig(raw, env, source, families)
}

/** Validates YAML (or JSON) text against `families`. */
export function parseConfigText(text: string, families: ChainFamilies, env: configFile.Env = process.env, source = '<text>'): ProxyConfig {
  return configFile.parseConfigText(text, env, source, families)
}

/** Reads and validates a config file against `families`; every problem is listed, each with its path (`ConfigError`). */
export function loadConfigFile(path: string, families: ChainFamilies, env: configFile.Env = process.env): Promise<ProxyConfig> {
  return configFile.loadConfigFile(path, env, families)
}

export interface CoreProxyOptions extends Partial<ProxyOptions> {
  /** The chain families the config uses, by `family:` name (`{ evm: evmFamily }`). Required: the core has none built in. */
  adapters: Readonly<Record<string, ChainFamily>>
}

/**
 * Builds a proxy from a validated config (`loadConfigFile`) or a plain config object (validated
 * here against `options.adapters`, `${ENV}` interpolated). Call `await proxy.start()` before
 * sending requests.
 */
export function createProxy(config: ProxyConfig | ProxyConfigInput, options: CoreProxyOptions): Proxy {
  const validated = isValidated(config) ? config : parseConfig(config, options.adapters)
  return new Proxy(validated, options)
}

/** A config `parseConfig` returned has every chain's name and resolved health defaults. */
function isValidated(config: ProxyConfig | ProxyConfigInput): config is ProxyConfig {
  const chains = (config as { chains?: Record<string, { name?: unknown; health?: { headQuorum?: unknown } }> }).chains ?? {}
  return Object.entries(chains).every(([name, chain]) => chain.name === name && typeof chain.health?.headQuorum === 'number')
}

export { Proxy } from './proxy.js'
export type { CallOptions, CallResult, ProxyOptions, ProxySnapshot, ReloadResult } from './proxy.js'
export type { ConfigChange } from './runtime/reload-plan.js'
export type { ConfigReloadEvent } from './proxy-events.js'
export { ConfigError, type Env } from './config/load-config.js'
export type {
  BroadcastConfig,
  ChainConfig,
  ChainConfigInput,
  ConfigProblem,
  FamilyConfigSlice,
  FamilyDefaults,
  FamilyOptions,
  HealthConfig,
  NodeConfig,
  ProxyConfig,
  ProxyConfigInput,
  RoutingConfig,
  ServerConfig,
} from './config/schema.js'
export type {
  ChainAdapter,
  ChainAdapterFactory,
  ChainFamily,
  CredentialSource,
  MethodClass,
  ProbeContext,
  ProbeObservation,
  HeadWatcher,
  HeadWatchHandlers,
  BroadcastSupport,
  BroadcastVerdict,
  DecodedTransaction,
  TxPresence,
} from './chain-adapter.js'
export { ProxyError, NodeRpcError, isProxyError } from './errors/proxy-error.js'
export { errorCatalog, type ProxyErrorCode } from './errors/catalog.js'
export { ProxyEvents } from './proxy-events.js'
export type { HeadEvent, NodeStateEvent, ProbeRoundEvent, ProxyEventMap, RequestEvent, BroadcastAcceptedEvent, BroadcastProgressEvent } from './proxy-events.js'
export type { ChainSnapshot, NodeSnapshot } from './pool/node-pool.js'
export type { NodeStatus } from './pool/node-health.js'
export type { JsonRpcErrorObject, JsonRpcId, RpcAnswer, RpcCall } from './jsonrpc/types.js'
export { ManualClock, systemClock, type Clock } from './util/clock.js'
export { CancelSignal, type CallSignal } from './util/call-signal.js'
export { MemoryJournal, type BroadcastJournal, type BroadcastQuery, type BroadcastRecord, type BroadcastStatus, type NodeOutcome } from './broadcast/broadcast-journal.js'
export { SqliteJournal } from './broadcast/sqlite-journal.js'
export { PostgresJournal, type PostgresJournalOptions } from './broadcast/postgres-journal.js'
export { createJournal } from './broadcast/create-journal.js'
export type { BroadcastResult } from './broadcast/broadcaster.js'
