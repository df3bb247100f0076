/**
 * EVM method policy: which methods pass (and how), and which block height a call needs.
 * Allowlist from the reliability reference §4.2 (its recommended EVM list plus dshackle's): the
 * reads a wallet service needs. Node-keystore, admin, debug, miner, txpool, engine, trace and
 * dev-node methods never pass. Subscriptions and filters (eth_newFilter…) never reach a node
 * either (node-local state that a failover would silently lose): they are `stream` methods,
 * served by switchyard from its own head tracking (`src/streams/`).
 */
import type { MethodClass } from '../../src/chain-adapter.js'
import type { RpcCall } from '../../src/jsonrpc/types.js'

const READS: ReadonlySet<string> = new Set([
  'net_version',
  'net_listening',
  'net_peerCount',
  'web3_clientVersion',
  'eth_protocolVersion',
  'eth_syncing',
  'eth_blockNumber',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleCountByBlockNumber',
  'eth_getUncleByBlockHashAndIndex',
  'eth_getUncleByBlockNumberAndIndex',
  'eth_getTransactionByHash',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getTransactionReceipt',
  'eth_getBalance',
  'eth_getTransactionCount',
  'eth_getStorageAt',
  'eth_getCode',
  'eth_getProof',
  'eth_call',
  'eth_estimateGas',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
  'eth_blobBaseFee',
  'eth_getLogs',
])

/** Filters and subscriptions: answered by switchyard's streams, never by a node. */
const STREAMS: ReadonlySet<string> = new Set([
  'eth_newFilter',
  'eth_newBlockFilter',
  'eth_newPendingTransactionFilter',
  'eth_getFilterChanges',
  'eth_getFilterLogs',
  'eth_uninstallFilter',
  'eth_subscribe',
  'eth_unsubscribe',
])

/**
 * How the proxy treats an EVM method: allowlisted reads are `read`, `eth_sendRawTransaction` takes
 * the `broadcast` path, `eth_chainId` is answered `local`ly from config, filters and subscriptions
 * are `stream`, everything else (unknown methods included) is `forbidden`. Method names are
 * case-sensitive, as nodes treat them.
 */
export function classifyEvmMethod(method: string): MethodClass {
  if (method === 'eth_sendRawTransaction') return 'broadcast'
  if (method === 'eth_chainId') return 'local'
  if (STREAMS.has(method)) return 'stream'
  return READS.has(method) ? 'read' : 'forbidden'
}

/** Index of the block parameter (number, tag or EIP-1898 object) of methods that take one. */
export const BLOCK_PARAM_INDEX: ReadonlyMap<string, number> = new Map([
  ['eth_getBlockByNumber', 0],
  ['eth_getBlockReceipts', 0],
  ['eth_getBlockTransactionCountByNumber', 0],
  ['eth_getTransactionByBlockNumberAndIndex', 0],
  ['eth_getUncleByBlockNumberAndIndex', 0],
  ['eth_getUncleCountByBlockNumber', 0],
  ['eth_getBalance', 1],
  ['eth_getCode', 1],
  ['eth_getTransactionCount', 1],
  ['eth_getStorageAt', 2],
  ['eth_call', 1],
  ['eth_estimateGas', 1],
  ['eth_getProof', 2],
  ['eth_feeHistory', 1],
])

/** Methods that name their block by hash: a node without that block is behind, not wrong. */
const BLOCK_HASH_METHODS: ReadonlySet<string> = new Set([
  'eth_getBlockByHash',
  'eth_getBlockTransactionCountByHash',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleByBlockHashAndIndex',
  'eth_getTransactionByBlockHashAndIndex',
])

/**
 * The height a call explicitly needs: a hex quantity, or an EIP-1898 `{ blockNumber }`, at the
 * method's block position; for `eth_getLogs` the higher end of a numeric range. Tags (latest,
 * pending, safe, finalized, earliest), block hashes and malformed params give `undefined`: the
 * router then prefers at-head nodes, and a node answers whatever is wrong with the params.
 */
export function requiredEvmHeight(call: RpcCall): number | undefined {
  const params = call.params
  if (!Array.isArray(params)) return undefined
  if (call.method === 'eth_getLogs') return logsHeight(params[0])
  const index = BLOCK_PARAM_INDEX.get(call.method)
  return index === undefined ? undefined : blockHeight(params[index])
}

function blockHeight(value: unknown): number | undefined {
  if (typeof value === 'string') return quantity(value)
  if (typeof value === 'object' && value !== null && 'blockNumber' in value) {
    const number = (value as { blockNumber: unknown }).blockNumber
    return typeof number === 'string' ? quantity(number) : undefined
  }
  return undefined
}

function logsHeight(filter: unknown): number | undefined {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return undefined
  const { fromBlock, toBlock, blockHash } = filter as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown }
  if (blockHash !== undefined) return undefined
  // An omitted end defaults to "latest" on the node: no explicit height, prefer the head.
  if (typeof fromBlock !== 'string' || typeof toBlock !== 'string') return undefined
  const from = quantity(fromBlock)
  const to = quantity(toBlock)
  return from === undefined || to === undefined ? undefined : Math.max(from, to)
}

/**
 * A hex quantity (`0x`-prefixed, leading zeros tolerated) as a safe integer. Tags, decimals,
 * uppercase `0X` and values beyond 2^53 − 1 give `undefined`.
 */
export function quantity(value: string): number | undefined {
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(value)) return undefined
  const parsed = Number.parseInt(value.slice(2), 16)
  return Number.isSafeInteger(parsed) ? parsed : undefined
}

/** Whether a call targets a block (by number, tag or hash): only then can "unknown block" mean the node is behind. */
export function targetsBlock(call: RpcCall): boolean {
  return call.method === 'eth_getLogs' || BLOCK_PARAM_INDEX.has(call.method) || BLOCK_HASH_METHODS.has(call.method)
}
