/**
 * EVM method policy: which methods pass (and how), and which block height a call needs.
 * Allowlist from the reliability reference §4.2 (recommended EVM list + dshackle's): reads a wallet
 * service needs; node-keystore, admin, debug, miner, txpool, engine, trace and dev-node methods
 * never pass. Filters (eth_newFilter…) are node-local state that would break under failover.
 */
import type { MethodClass } from '../../src/chain-adapter.js'
import type { JsonRpcErrorObject, RpcCall } from '../../src/jsonrpc/types.js'

const READS = new Set([
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

export function classifyEvmMethod(method: string): MethodClass {
  if (method === 'eth_sendRawTransaction') return 'broadcast'
  if (method === 'eth_chainId') return 'local'
  return READS.has(method) ? 'read' : 'forbidden'
}

/** Index of the block parameter of methods that take one. */
const BLOCK_PARAM_INDEX: Readonly<Record<string, number>> = {
  eth_getBlockByNumber: 0,
  eth_getBlockReceipts: 0,
  eth_getBlockTransactionCountByNumber: 0,
  eth_getTransactionByBlockNumberAndIndex: 0,
  eth_getUncleByBlockNumberAndIndex: 0,
  eth_getUncleCountByBlockNumber: 0,
  eth_getBalance: 1,
  eth_getCode: 1,
  eth_getTransactionCount: 1,
  eth_getStorageAt: 2,
  eth_call: 1,
  eth_estimateGas: 1,
  eth_getProof: 2,
  eth_feeHistory: 1,
}

/**
 * The height a call explicitly needs: a hex quantity, or an EIP-1898 `{ blockNumber }`, at the
 * method's block position; for eth_getLogs the higher end of a numeric range. Tags (latest,
 * pending, safe, finalized, earliest), block hashes and malformed params give undefined: the router
 * then prefers at-head nodes, and the node answers whatever is wrong with the params.
 */
export function requiredEvmHeight(call: RpcCall): number | undefined {
  const params = call.params
  if (!Array.isArray(params)) return undefined
  if (call.method === 'eth_getLogs') return logsHeight(params[0])
  const index = BLOCK_PARAM_INDEX[call.method]
  if (index === undefined) return undefined
  return blockHeight(params[index])
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
  if (typeof filter !== 'object' || filter === null) return undefined
  const { fromBlock, toBlock, blockHash } = filter as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown }
  if (blockHash !== undefined) return undefined
  // An omitted or tagged end means "latest": no explicit height, prefer the head.
  if (typeof toBlock !== 'string' || typeof fromBlock !== 'string') return undefined
  const from = quantity(fromBlock)
  const to = quantity(toBlock)
  if (from === undefined || to === undefined) return undefined
  return Math.max(from, to)
}

/** A hex quantity (0x-prefixed, no leading zeros required) as a safe integer; tags → undefined. */
export function quantity(value: string): number | undefined {
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(value)) return undefined
  const parsed = Number.parseInt(value.slice(2), 16)
  return Number.isSafeInteger(parsed) ? parsed : undefined
}

const BEHIND_MESSAGES = ['header not found', 'unknown block', 'block not found', 'missing trie node']

/**
 * A node error meaning "this node does not have that block or state yet" for a call that targets
 * a specific block: another node may have it (geth `header not found`, Besu -39001 Unknown block).
 */
export function isEvmNodeBehindAnswer(call: RpcCall, error: JsonRpcErrorObject): boolean {
  const targetsBlock = call.method === 'eth_getLogs' || BLOCK_PARAM_INDEX[call.method] !== undefined || call.method === 'eth_getBlockByHash'
  if (!targetsBlock) return false
  if (error.code === -39001) return true
  const message = error.message.toLowerCase()
  return BEHIND_MESSAGES.some((needle) => message.includes(needle))
}
