/**
 * Bitcoin-family read rules: tip reads pinned to the pool's read head, "not found" answers that a
 * second node must confirm, what a call needs from a node (unpruned blocks, -txindex), errors that
 * say a node lacks it, and the node-view fields left out when answers are compared.
 *
 * Pinned to the read head:
 * | method | served as |
 * |---|---|
 * | getblockcount | the read head (a node at that height is still asked) |
 * | getbestblockhash | `getblockhash <read head>` |
 * getblockchaininfo, getchaintips and the mempool reads describe the node itself and are not pinned.
 */
import type { HeadRead, MissingCapability, ReadRequirement } from '../../src/chain-adapter.js'
import type { JsonRpcErrorObject, RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'

export function pinBitcoinToHeight(call: RpcCall, height: number): HeadRead | undefined {
  if (call.method === 'getblockcount') return { kind: 'height', result: height }
  if (call.method === 'getbestblockhash') return { kind: 'pinned', call: { method: 'getblockhash', params: [height] } }
  return undefined
}

/**
 * Empty answers confirmed on a second node:
 * | method | empty answer | spellings |
 * |---|---|---|
 * | getrawtransaction | error | Core -5 `No such mempool or blockchain transaction`, `No such transaction found in the provided block`; bcoin -1 `Transaction not found.` |
 * | getblock, getblockheader | error | Core -5 `Block not found`; bcoin -1 `Block not found` |
 * | gettxout | `null` | only with `include_mempool` false: with the mempool included, `null` is also the true answer "spent by a mempool transaction this node has", which another node may not have seen yet |
 * Core's `No such mempool transaction. Use -txindex …` is not empty but a missing capability.
 */
export function isBitcoinEmptyAnswer(call: RpcCall, answer: RpcAnswer): boolean {
  if (call.method === 'gettxout') return answer.error === undefined && answer.result === null && includeMempool(call) === false
  const error = answer.error
  if (error === undefined) return false
  const message = error.message.toLowerCase()
  if (call.method === 'getrawtransaction') {
    return message.includes('no such mempool or blockchain transaction') || message.includes('no such transaction found in the provided block') || message.startsWith('transaction not found')
  }
  if (call.method === 'getblock' || call.method === 'getblockheader') return /^block not found\.?$/.test(message)
  return false
}

function includeMempool(call: RpcCall): boolean {
  const params = call.params
  const value = Array.isArray(params) ? params[2] : params?.include_mempool
  return value !== false
}

/** `height` of a verbose block/header; else `nodeHeight − confirmations + 1` for an answer with confirmations ≥ 1. */
export function bitcoinDataHeight(_call: RpcCall, answer: RpcAnswer, nodeHeight: number): number | undefined {
  const value = answer.result
  if (answer.error !== undefined || typeof value !== 'object' || value === null) return undefined
  const { height, confirmations } = value as { height?: unknown; confirmations?: unknown }
  if (typeof height === 'number' && Number.isSafeInteger(height)) return height
  if (typeof confirmations === 'number' && Number.isSafeInteger(confirmations) && confirmations >= 1) return nodeHeight - confirmations + 1
  return undefined
}

/**
 * - getblockstats at a height needs that block's data (pruned nodes drop old blocks; getblock names
 *   a hash, so its height is unknown before asking: a pruned node's refusal sends it elsewhere);
 * - getrawtransaction without a block hash needs -txindex for confirmed transactions.
 */
export function bitcoinRequirement(call: RpcCall): ReadRequirement | undefined {
  const params = call.params
  if (call.method === 'getblockstats') {
    const value = Array.isArray(params) ? params[0] : params?.hash_or_height
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? { kind: 'block', height: value } : undefined
  }
  if (call.method === 'getrawtransaction') {
    const blockhash = Array.isArray(params) ? params[2] : params?.blockhash
    return blockhash === undefined || blockhash === null ? { kind: 'txindex' } : undefined
  }
  return undefined
}

/**
 * | spelling | lacks |
 * |---|---|
 * | Core/bcoin `Block not available (pruned data)` | pruned |
 * | bcoin `Cannot get coins when pruned.` | pruned |
 * | Core `No such mempool transaction. Use -txindex or provide a block hash …` | txindex |
 */
export function bitcoinMissingCapability(_call: RpcCall, error: JsonRpcErrorObject): MissingCapability | undefined {
  const message = error.message.toLowerCase()
  if (message.includes('pruned data') || message.includes('when pruned')) return 'pruned'
  if (message.includes('use -txindex')) return 'txindex'
  return undefined
}

/** Fields that describe the answering node's tip, not the data: they differ between honest nodes a block apart. */
const NODE_VIEW_FIELDS = ['confirmations', 'nextblockhash', 'bestblock']

/** The answer without node-view fields (and without bcoin's mempool-arrival `time` of getrawtransaction). */
export function canonicalBitcoinAnswer(call: RpcCall, answer: RpcAnswer): unknown {
  const value = answer.result
  if (answer.error !== undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return answer
  const result: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const field of NODE_VIEW_FIELDS) delete result[field]
  if (call.method === 'getrawtransaction') delete result.time
  return { result }
}
