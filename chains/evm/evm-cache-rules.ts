/**
 * Which EVM answers can never change (the answer cache, `src/routing/answer-cache.ts`, keeps them
 * once their block is final and the answer is not null or empty):
 * | method | policy |
 * |---|---|
 * | eth_chainId, net_version | constant |
 * | eth_getBlockByHash, eth_getTransactionByHash, eth_getTransactionReceipt, eth_getTransactionByBlockHashAndIndex, eth_getUncleByBlockHashAndIndex | by answer: the block number in it (`number` / `blockNumber`; a pending transaction has none) |
 * | eth_getBlockReceipts, eth_getLogs with a block hash | by answer: the first receipt's / log's block number |
 * | eth_getBlockByNumber, eth_getBlockReceipts, eth_getBlockTransactionCountByNumber, eth_getTransactionByBlockNumberAndIndex, eth_getUncleByBlockNumberAndIndex, eth_getUncleCountByBlockNumber | the explicit block number |
 * | eth_getBalance, eth_getCode, eth_getTransactionCount, eth_getStorageAt, eth_getProof, eth_call | the explicit block number (hex or EIP-1898 `{ blockNumber }`): state at a final block is fixed |
 * | eth_getLogs with explicit `fromBlock` and `toBlock` | the higher of the two: the logs of final blocks are fixed, and these are the heaviest reads clients repeat |
 * Never: tags (`latest`, `pending`, `safe`, `finalized`, and `earliest`, which nodes with expired
 * history answer with their own oldest block), an omitted block, EIP-1898 `{ blockHash }` state
 * reads (the answer names no block), counts by hash (no block number in a count), and every other
 * method (gas prices, fee history, estimates, node facts).
 */
import type { CachePolicy } from '../../src/chain-adapter.js'
import type { RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'
import { requiredEvmHeight } from './evm-methods.js'
import { evmDataHeight } from './evm-read-rules.js'

const CONSTANT: ReadonlySet<string> = new Set(['eth_chainId', 'net_version'])

const BY_ANSWER: ReadonlySet<string> = new Set([
  'eth_getBlockByHash',
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getUncleByBlockHashAndIndex',
])

const AT_NAMED_BLOCK: ReadonlySet<string> = new Set([
  'eth_getBlockByNumber',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByNumber',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getUncleByBlockNumberAndIndex',
  'eth_getUncleCountByBlockNumber',
  'eth_getBalance',
  'eth_getCode',
  'eth_getTransactionCount',
  'eth_getStorageAt',
  'eth_getProof',
  'eth_call',
  'eth_getLogs',
])

const BLOCK_HASH = /^0x[0-9a-fA-F]{64}$/

/** See the table in the header. */
export function evmCachePolicy(call: RpcCall): CachePolicy {
  if (CONSTANT.has(call.method)) return 'constant'
  if (BY_ANSWER.has(call.method)) return 'by-answer'
  if (!AT_NAMED_BLOCK.has(call.method)) return 'never'
  if (namesBlockHash(call)) return 'by-answer'
  return requiredEvmHeight(call) ?? 'never'
}

/** eth_getBlockReceipts by block hash, eth_getLogs `{ blockHash }` (EIP-234). */
function namesBlockHash(call: RpcCall): boolean {
  const first = Array.isArray(call.params) ? call.params[0] : undefined
  if (call.method === 'eth_getBlockReceipts') return typeof first === 'string' && BLOCK_HASH.test(first)
  if (call.method !== 'eth_getLogs' || typeof first !== 'object' || first === null) return false
  const blockHash = (first as { blockHash?: unknown }).blockHash
  return typeof blockHash === 'string' && BLOCK_HASH.test(blockHash)
}

/** The block number in a block, transaction or receipt answer (the first entry of a list). */
export function evmAnswerHeight(call: RpcCall, answer: RpcAnswer): number | undefined {
  return evmDataHeight(call, answer, 0)
}
