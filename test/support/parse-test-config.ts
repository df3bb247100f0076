/**
 * Config validation with the built-in families (evm, bitcoin), for tests that need a validated
 * config without loading the proxy (`src/index.ts` binds the same for library users).
 */
import { bitcoinFamily } from '../../chains/bitcoin/index.js'
import { evmFamily } from '../../chains/evm/index.js'
import type { ChainFamily } from '../../src/chain-adapter.js'
import * as configFile from '../../src/config/load-config.js'
import type { ProxyConfig } from '../../src/config/schema.js'

export const testFamilies: Readonly<Record<string, ChainFamily>> = { evm: evmFamily, bitcoin: bitcoinFamily }

export function parseConfig(raw: unknown, env: configFile.Env = process.env, source = '<object>'): ProxyConfig {
  return configFile.parseConfig(raw, env, source, testFamilies)
}

export function parseConfigText(text: string, env: configFile.Env = process.env, source = '<text>'): ProxyConfig {
  return configFile.parseConfigText(text, env, source, testFamilies)
}

export function loadConfigFile(path: string, env: configFile.Env = process.env): Promise<ProxyConfig> {
  return configFile.loadConfigFile(path, env, testFamilies)
}

export { ConfigError } from '../../src/config/load-config.js'
