/**
 * switchyard as a library. `createProxy(config)` wires the built-in chain families (evm, bitcoin);
 * pass `adapters` to add or replace families. `parseConfig`, `parseConfigText` and
 * `loadConfigFile` validate against the built-in families unless given others. The Fastify app
 * is a separate entry (`switchyard/server`), so embedding the proxy does not require Fastify.
 */
import { bitcoinFamily } from '../chains/bitcoin/bitcoin-family.js'
import { evmFamily } from '../chains/evm/evm-family.js'
import type { ChainFamily } from './chain-adapter.js'
import * as configFile from './config/load-config.js'
import type { ProxyConfig, ProxyConfigInput } from './config/schema.js'
import { Proxy, type ProxyOptions } from './proxy.js'

/** Chain families by the name a config gives in `family:`. */
export type ChainFamilies = Readonly<Record<string, ChainFamily>>

export const builtinFamilies: ChainFamilies = Object.freeze({ evm: evmFamily, bitcoin: bitcoinFamily })

/** Validates a config object (parsed YAML, or written in code); `${ENV}` is interpolated from `env`. */
export function parseConfig(raw: unknown | ProxyConfigInput, env: configFile.Env = process.env, source = '<object>', families: ChainFamilies = builtinFamilies): ProxyConfig {
  return configFile.parseConfig(raw, env, source, families)
}

/** Validates YAML (or JSON) text. */
export function parseConfigText(text: string, env: configFile.Env = process.env, source = '<text>', families: ChainFamilies = builtinFamilies): ProxyConfig {
  return configFile.parseConfigText(text, env, source, families)
}

/** Reads and validates a config file; every problem is listed, each with its path (`ConfigError`). */
export function loadConfigFile(path: string, env: configFile.Env = process.env, families: ChainFamilies = builtinFamilies): Promise<ProxyConfig> {
  return configFile.loadConfigFile(path, env, families)
}

export interface CreateProxyOptions extends Partial<ProxyOptions> {}

/**
 * Builds a proxy from a validated config (`loadConfigFile`) or a plain config object (validated
 * here, `${ENV}` interpolated, against the built-in families plus `options.adapters`). Call
 * `await proxy.start()` before sending requests.
 */
export function createProxy(config: ProxyConfig | ProxyConfigInput, options: CreateProxyOptions = {}): Proxy {
  const families = options.adapters === undefined ? builtinFamilies : { ...builtinFamilies, ...options.adapters }
  const validated = isValidated(config) ? config : parseConfig(config, process.env, '<object>', families)
  return new Proxy(validated, { ...options, adapters: families })
}

function isValidated(config: ProxyConfig | ProxyConfigInput): config is ProxyConfig {
  const chains = (config as { chains?: Record<string, { name?: unknown; health?: { headQuorum?: unknown } }> }).chains ?? {}
  return Object.entries(chains).every(([name, chain]) => chain.name === name && typeof chain.health?.headQuorum === 'number')
}

// Every other export is the core's (src/core.ts), so the two entries list them once.
export * from './core.js'
export type { HandledRequest } from './server/rpc-route.js'
