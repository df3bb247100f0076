/**
 * What the evm family owns in the config: its chain, node and broadcast options (each with its
 * default and unit, like the core's in `src/config/schema.ts`), its defaults and its type. The
 * options stay flat in the file (`chainId:` beside `family:`, `wsUrl:` beside a node's `url:`);
 * `config/example.yaml` names each of them.
 */
import { z } from 'zod'
import { type ChainConfig, type FamilyConfigSlice, type NodeConfig, type OptionsOf, urlOption } from '../../src/config/schema.js'

const wsUrl = urlOption(['ws:', 'wss:'], 'must be a ws(s) URL')

export const evmChainOptions = {
  /** The chain id every node must report (`eth_chainId`); eth_chainId is answered from it. Required. */
  chainId: z
    .number({ error: (issue) => (issue.input === undefined ? 'required for evm chains' : undefined) })
    .int()
    .positive(),
  /** Block 0's hash (0x + 64 hex), compared at every probe as well as the chain id. Default none (not compared). */
  genesisHash: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be a 32-byte hex hash')
    .optional(),
  /**
   * Most blocks one eth_getLogs may span (toBlock − fromBlock + 1, `latest` read as the pool's
   * read head, `earliest` as 0); wider → SY_RANGE_TOO_LARGE and no node is asked. 0 = no limit.
   * Default 10000 (blocks).
   */
  maxLogsRange: z.number().int().nonnegative().default(10_000),
}

export const evmNodeOptions = {
  /** WebSocket endpoint for `newHeads` (heights pushed as blocks arrive). Secret, like `url`. Default none (polling only). */
  wsUrl: wsUrl.optional(),
}

export const evmBroadcastOptions = {
  /** Accept transactions without EIP-155 replay protection (no chain id in the signature). Default false. */
  allowUnprotected: z.boolean().default(false),
}

/** Seconds-long blocks: 3 blocks of slack absorbs normal propagation jitter. */
export const evmDefaults = { intervalMs: 1_000, maxLagBlocks: 3, staleAfterMs: 15_000, confirmations: 12, finalityDepth: 64 } as const

export const evmConfig = {
  name: 'evm',
  chainOptions: evmChainOptions,
  nodeOptions: evmNodeOptions,
  broadcastOptions: evmBroadcastOptions,
  defaults: evmDefaults,
} satisfies FamilyConfigSlice

export type EvmChainOptions = OptionsOf<typeof evmChainOptions>
export type EvmNodeOptions = OptionsOf<typeof evmNodeOptions>
export type EvmBroadcastOptions = OptionsOf<typeof evmBroadcastOptions>
/** A validated evm chain, its own options typed. */
export type EvmChainConfig = ChainConfig<EvmChainOptions, EvmNodeOptions, EvmBroadcastOptions>
export type EvmNodeConfig = NodeConfig<EvmNodeOptions>

/**
 * The evm view of a chain the core validated with `evmConfig` (the core types family options as
 * `unknown`). The evm adapter reads its options only through this.
 */
export function evmChainConfig(chain: ChainConfig): EvmChainConfig {
  return chain as EvmChainConfig
}

/** The evm view of one of its nodes. */
export function evmNodeConfig(node: NodeConfig): EvmNodeConfig {
  return node as EvmNodeConfig
}
