/**
 * What the bitcoin family owns in the config: its chain and node options (each with its default
 * and unit, like the core's in `src/config/schema.ts`), its defaults, its checks and its type. The
 * options stay flat in the file (`network:` beside `family:`, `cookieFile:` beside a node's
 * `url:`); `config/example.yaml` names each of them.
 */
import { z } from 'zod'
import type { ChainConfig, ConfigProblem, FamilyConfigSlice, NodeConfig, OptionsOf } from '../../src/config/schema.js'
import { genesisHashes } from './bitcoin-networks.js'

export const bitcoinChainOptions = {
  /**
   * The network preset whose genesis hash every node must report: mainnet, testnet3 (testnet),
   * testnet4, signet, regtest, litecoin, litecoin-testnet, litecoin-regtest, dogecoin,
   * dogecoin-testnet, dogecoin-regtest, bitcoincash. Required unless genesisHash is given.
   */
  network: z.string().optional(),
  /** Block 0's hash (64 hex) every node must report, for a chain without a preset; overrides `network`. Default: the preset's. */
  genesisHash: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be a 32-byte hex hash')
    .optional(),
  /**
   * How replies to JSON-RPC 2.0 requests are shaped: `legacy` = `result` and `error` both present
   * (Bitcoin Core before 28, bcoin; python-bitcoinrpc's `batch_` needs it), `strict` = JSON-RPC 2.0,
   * only one of them (Core 28+), `auto` = as the chain's nodes do (getnetworkinfo `version`
   * ≥ 280000 → strict): legacy while any routable node is legacy or not yet known. 1.0 requests
   * always get the legacy shape. Default auto.
   */
  replyStyle: z.enum(['legacy', 'strict', 'auto']).default('auto'),
}

export const bitcoinNodeOptions = {
  /**
   * Path of bitcoind's `.cookie` file (`__cookie__:<hex>`), sent as basic auth: read before the
   * first call and again after a 401 (bitcoind writes a new one at every start). Default none.
   */
  cookieFile: z.string().min(1).optional(),
}

/** 10-minute blocks: one block of lag is already a stale view of deposits. */
export const bitcoinDefaults = { intervalMs: 2_000, maxLagBlocks: 1, staleAfterMs: 120_000, confirmations: 2, finalityDepth: 6 } as const

/** A chain must say which chain it is: a preset name that exists, or a genesis hash. */
export function checkBitcoinChain(chain: Readonly<Record<string, unknown>>): ConfigProblem[] {
  const { network, genesisHash } = chain
  if (genesisHash !== undefined) return []
  if (network === undefined) return [{ path: ['network'], message: 'required for bitcoin chains (or give genesisHash)' }]
  if (typeof network === 'string' && !Object.hasOwn(genesisHashes, network)) {
    return [{ path: ['network'], message: `"${network}" is not a known preset (${Object.keys(genesisHashes).join(', ')}); give genesisHash instead` }]
  }
  return []
}

export const bitcoinConfig = {
  name: 'bitcoin',
  chainOptions: bitcoinChainOptions,
  nodeOptions: bitcoinNodeOptions,
  defaults: bitcoinDefaults,
  checkChain: checkBitcoinChain,
} satisfies FamilyConfigSlice

export type BitcoinChainOptions = OptionsOf<typeof bitcoinChainOptions>
export type BitcoinNodeOptions = OptionsOf<typeof bitcoinNodeOptions>
/** A validated bitcoin chain, its own options typed. */
export type BitcoinChainConfig = ChainConfig<BitcoinChainOptions, BitcoinNodeOptions>
export type BitcoinNodeConfig = NodeConfig<BitcoinNodeOptions>

/**
 * The bitcoin view of a chain the core validated with `bitcoinConfig` (the core types family
 * options as `unknown`). The bitcoin adapter reads its options only through this.
 */
export function bitcoinChainConfig(chain: ChainConfig): BitcoinChainConfig {
  return chain as BitcoinChainConfig
}

/** The bitcoin view of one of its nodes. */
export function bitcoinNodeConfig(node: NodeConfig): BitcoinNodeConfig {
  return node as BitcoinNodeConfig
}
