/**
 * EVM read rules: which calls follow the tip and how they are pinned to the pool's read head,
 * which answers are "empty", what state a call needs, and which errors say a node lacks old state.
 *
 * Pinned to the read head (`latest` → the read head's number, so the answer never exceeds the
 * quorum head and never goes backwards):
 * | method | block parameter |
 * |---|---|
 * | eth_blockNumber | answered with the read head (a node at that height is still asked) |
 * | eth_getBlockByNumber, eth_getBlockReceipts, eth_getBlockTransactionCountByNumber, eth_getTransactionByBlockNumberAndIndex, eth_getUncleByBlockNumberAndIndex, eth_getUncleCountByBlockNumber | params[0] `latest` |
 * | eth_getBalance, eth_getCode, eth_getTransactionCount, eth_call | params[1] `latest`, EIP-1898 `{ blockNumber: 'latest' }`, or omitted |
 * | eth_getStorageAt, eth_getProof | params[2] likewise |
 * | eth_feeHistory | params[1] (newest block) `latest` |
 * | eth_getLogs | `toBlock` `latest` or omitted, `fromBlock` `latest` or omitted; not when the filter has a `blockHash`, names `pending`, or starts above the read head |
 * Never pinned: `pending` (the node's mempool: the next nonce, pending balances), `safe` and
 * `finalized` (the node's consensus-layer view, which the proxy does not track), `earliest`
 * (block 0, fixed), block hashes and EIP-1898 `{ blockHash }` (already exact), explicit numbers
 * (already exact), and eth_estimateGas (an estimate for the next block; some nodes refuse its block
 * parameter).
 */
import type { HeadRead, MissingCapability, ReadRequirement } from '../../src/chain-adapter.js'
import type { JsonRpcErrorObject, RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'
import { BLOCK_PARAM_INDEX, quantity, requiredEvmHeight } from './evm-methods.js'

/**
 * Methods whose params[index] names a block that `latest` pins: every method with a block
 * parameter, less eth_estimateGas (an estimate for the next block, where the node's own view is right).
 */
const BLOCK_TAG_INDEX: ReadonlyMap<string, number> = new Map([...BLOCK_PARAM_INDEX].filter(([method]) => method !== 'eth_estimateGas'))

/** State reads: their block parameter defaults to `latest` when omitted, and they need the node to keep state at that height. */
const STATE_METHODS: ReadonlySet<string> = new Set([
  'eth_getBalance',
  'eth_getCode',
  'eth_getTransactionCount',
  'eth_call',
  'eth_getStorageAt',
  'eth_getProof',
  'eth_estimateGas',
])

const hex = (height: number): string => `0x${height.toString(16)}`

/** See the table in the header. */
export function pinEvmToHeight(call: RpcCall, height: number): HeadRead | undefined {
  if (call.method === 'eth_blockNumber') return { kind: 'height', result: hex(height) }
  const params = call.params
  if (!Array.isArray(params)) return undefined
  if (call.method === 'eth_getLogs') {
    const filter = pinLogsFilter(params[0], height)
    return filter === undefined ? undefined : { kind: 'pinned', call: { method: call.method, params: [filter, ...params.slice(1)] } }
  }
  const index = BLOCK_TAG_INDEX.get(call.method)
  if (index === undefined) return undefined
  const value = params[index]
  let pinned: unknown
  if (value === 'latest') pinned = hex(height)
  else if (isLatestObject(value)) pinned = { ...value, blockNumber: hex(height) }
  // Omitted only as the last parameter; earlier positions are the node's to reject.
  else if (value === undefined && params.length === index && STATE_METHODS.has(call.method)) pinned = hex(height)
  else return undefined
  const next = [...params]
  next[index] = pinned
  return { kind: 'pinned', call: { method: call.method, params: next } }
}

function isLatestObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { blockNumber?: unknown }).blockNumber === 'latest'
}

function pinLogsFilter(filter: unknown, height: number): Record<string, unknown> | undefined {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return undefined
  const record = filter as Record<string, unknown>
  if (record.blockHash !== undefined) return undefined
  const { fromBlock, toBlock } = record
  if (fromBlock === 'pending' || toBlock === 'pending') return undefined
  const pinFrom = fromBlock === undefined || fromBlock === 'latest'
  const pinTo = toBlock === undefined || toBlock === 'latest'
  if (!pinFrom && !pinTo) return undefined
  // A range starting above the read head: pinning its end would turn it upside down.
  const from = typeof fromBlock === 'string' ? quantity(fromBlock) : undefined
  if (from !== undefined && from > height) return undefined
  const next = { ...record }
  if (pinFrom) next.fromBlock = hex(height)
  if (pinTo) next.toBlock = hex(height)
  return next
}

/**
 * Empty answers confirmed on a second node (`null` where the data should be):
 * eth_getTransactionByHash, eth_getTransactionReceipt, eth_getBlockByHash, eth_getBlockByNumber,
 * eth_getTransactionByBlockHashAndIndex, eth_getTransactionByBlockNumberAndIndex,
 * eth_getBlockReceipts. Not eth_getLogs: `[]` is the usual answer for most filters, and confirming
 * every one would double the heaviest read; list eth_getLogs in `verify.methods` to compare it
 * across nodes instead.
 */
const EMPTY_WHEN_NULL: ReadonlySet<string> = new Set([
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getBlockByHash',
  'eth_getBlockByNumber',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getBlockReceipts',
])

export function isEvmEmptyAnswer(call: RpcCall, answer: RpcAnswer): boolean {
  return answer.error === undefined && answer.result === null && EMPTY_WHEN_NULL.has(call.method)
}

/** The block number of a transaction, receipt or block answer (first receipt of eth_getBlockReceipts). */
export function evmDataHeight(_call: RpcCall, answer: RpcAnswer, _nodeHeight: number): number | undefined {
  if (answer.error !== undefined) return undefined
  const value = Array.isArray(answer.result) ? answer.result[0] : answer.result
  if (typeof value !== 'object' || value === null) return undefined
  const { blockNumber, number } = value as { blockNumber?: unknown; number?: unknown }
  const height = typeof blockNumber === 'string' ? blockNumber : number
  return typeof height === 'string' ? quantity(height) : undefined
}

/** State reads at an explicit height need state there (old state lives on archive nodes). */
export function evmRequirement(call: RpcCall): ReadRequirement | undefined {
  if (!STATE_METHODS.has(call.method)) return undefined
  const height = requiredEvmHeight(call)
  return height === undefined ? undefined : { kind: 'state', height }
}

/**
 * "This node no longer has the state at that height" (lower-cased fragments), only for state reads:
 * | client | spelling |
 * |---|---|
 * | geth, Nethermind | `missing trie node` |
 * | geth (debug/trace), Reth | `required historical state unavailable`, `historical state not available`, `historical state … is not available` |
 * | Besu | `world state unavailable` |
 * | Erigon | `state histories haven't been fully indexed` |
 * | generic | `state not available`, `state is not available`, `state … pruned` |
 * | anvil `--prune-history` | `BlockOutOfRangeError: block height is H but requested was R` with R < H |
 */
const MISSING_STATE_FRAGMENTS = [
  'missing trie node',
  'historical state',
  'world state unavailable',
  'state histories',
  'state not available',
  'state is not available',
]

export function evmMissingCapability(call: RpcCall, error: JsonRpcErrorObject): MissingCapability | undefined {
  if (!STATE_METHODS.has(call.method)) return undefined
  const message = error.message.toLowerCase()
  if (MISSING_STATE_FRAGMENTS.some((fragment) => message.includes(fragment))) return 'state'
  if (/\bstate\b.*\bpruned\b/.test(message)) return 'state'
  const outOfRange = /block height is (\d+) but requested was (\d+)/.exec(message)
  if (outOfRange !== null && Number(outOfRange[2]) < Number(outOfRange[1])) return 'state'
  return undefined
}
