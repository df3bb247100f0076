/**
 * Which bitcoin-family answers can never change (the answer cache, `src/routing/answer-cache.ts`,
 * keeps them once their block is final and the answer is not null or empty):
 * | method | policy |
 * |---|---|
 * | getblock, getblockheader (verbose) | by answer: its `height`, only with `confirmations` ≥ 1 (a block off the active chain says -1) |
 * | getblockhash N, getblockstats N | the height N |
 * A cached block or header is served with `confirmations` counted from the read head (the value a
 * node at the read head gives), so it keeps growing as it would from a node.
 * Never: the non-verbose forms (hex: no height to tell the depth from), getblockstats by hash,
 * getrawtransaction (its `confirmations` moves with the tip and the answer names no height to
 * recount it from: a stale or miscounted confirmation count is worse than a node call), gettxout
 * (spent any time), and every tip, mempool, fee and node read.
 */
import type { CachePolicy } from '../../src/chain-adapter.js'
import type { RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'
import { requiredBitcoinHeight } from './bitcoin-methods.js'

/** See the table in the header. */
export function bitcoinCachePolicy(call: RpcCall): CachePolicy {
  if (call.method === 'getblock' || call.method === 'getblockheader') return 'by-answer'
  if (call.method === 'getblockhash' || call.method === 'getblockstats') return requiredBitcoinHeight(call) ?? 'never'
  return 'never'
}

/** `height` of a verbose block or header on the active chain (`confirmations` ≥ 1). */
export function bitcoinAnswerHeight(_call: RpcCall, answer: RpcAnswer): number | undefined {
  const value = answer.result
  if (answer.error !== undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const { height, confirmations } = value as { height?: unknown; confirmations?: unknown }
  if (typeof confirmations !== 'number' || confirmations < 1) return undefined
  return typeof height === 'number' && Number.isSafeInteger(height) && height >= 0 ? height : undefined
}

/** A cached verbose block or header with `confirmations` counted from `readHead`. */
export function bitcoinCachedAnswer(_call: RpcCall, answer: RpcAnswer, height: number, readHead: number): RpcAnswer {
  const value = answer.result
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('confirmations' in value)) return answer
  return { result: { ...value, confirmations: readHead - height + 1 } }
}
