/**
 * The EVM broadcast path: local decoding (ethers), the replay guard, the verdict of a node's reply
 * to `eth_sendRawTransaction` (reliability reference §2: geth, Erigon, Nethermind, Besu, Reth,
 * anvil) and lookups by hash and nonce. Verdicts key on lower-cased message substrings, never on
 * codes alone: Besu reuses codes, Erigon wraps nonce-too-low in INTERNAL_ERROR.
 */
import { Transaction } from 'ethers/transaction'
import type { BroadcastSupport, ClassifiedReply, DecodedTransaction, TxPresence } from '../../src/chain-adapter.js'
import { ProxyError } from '../../src/errors/proxy-error.js'
import type { RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'
import type { NodeTransport } from '../../src/upstream/node-transport.js'
import { quantity } from './evm-methods.js'

const ALREADY_KNOWN = [
  'already known',
  'known transaction',
  'already imported',
  'alreadyknown',
  'already_exists',
  'existing txn with same hash',
  'transaction already in mempool',
  'tx already in mempool',
  'already in the mempool',
  'transaction already exists',
  'already have transaction',
  'already exists in mempool',
]
const AMBIGUOUS = ['nonce too low', 'oldnonce', 'nonce is too low', 'nonce has already been used']
const CONFLICT = ['replacement transaction underpriced', 'replacementnotallowed', 'future transaction tries to replace pending', 'replacement transaction']
const NODE_LOCAL = [
  'txpool is full',
  'sub-pool is full',
  'transaction pool not enabled',
  'initial sync is still in progress',
  'syncing',
  'account limit exceeded',
  'address already reserved',
  'authority already reserved',
  'pool is full',
]

export function classifyEvmReply(answer: RpcAnswer): ClassifiedReply {
  if (answer.error === undefined) {
    return typeof answer.result === 'string' ? { verdict: 'accepted', returnedId: answer.result.toLowerCase() } : { verdict: 'invalid' }
  }
  const message = answer.error.message.toLowerCase()
  if (ALREADY_KNOWN.some((token) => message.includes(token))) return { verdict: 'already-known' }
  if (AMBIGUOUS.some((token) => message.includes(token))) return { verdict: 'ambiguous' }
  if (CONFLICT.some((token) => message.includes(token))) return { verdict: 'conflict' }
  if (NODE_LOCAL.some((token) => message.includes(token))) return { verdict: 'node-local' }
  return { verdict: 'invalid' }
}

/** geth / reth txpool `txMaxSize` (4 × 32 KiB slots) for every type but blob transactions. */
export const MAX_TX_BYTES = 128 * 1024
/** EIP-4844 blob transactions (type 3) carry their blobs in the network form and may be larger. */
const BLOB_TX_PREFIX = '0x03'

/**
 * Decodes and checks a signed transaction without any node: it must be signed, for this chain
 * (replay guard), and EIP-155 protected unless `allowUnprotected`.
 */
export function decodeEvmTransaction(params: RpcCall['params'], chainId: number, allowUnprotected: boolean): DecodedTransaction {
  const raw = Array.isArray(params) ? params[0] : undefined
  if (typeof raw !== 'string' || !/^0x[0-9a-fA-F]+$/.test(raw) || raw.length % 2 !== 0) {
    throw new ProxyError('SY_INVALID_PARAMS', 'eth_sendRawTransaction needs the signed transaction as 0x-prefixed hex')
  }
  // geth and reth refuse non-blob transactions over 128 KiB ("oversized data"); ethers takes tens
  // of milliseconds per 100 kB to decode, on the event loop: refuse before decoding, like the nodes.
  const bytes = (raw.length - 2) / 2
  if (bytes > MAX_TX_BYTES && !raw.startsWith(BLOB_TX_PREFIX)) {
    throw new ProxyError('SY_INVALID_PARAMS', `oversized data: the transaction is ${bytes} bytes, nodes accept at most ${MAX_TX_BYTES}`, { bytes, limit: MAX_TX_BYTES })
  }
  let tx: Transaction
  try {
    tx = Transaction.from(raw)
  } catch (error) {
    const reason = error instanceof Error ? (error as { shortMessage?: string }).shortMessage ?? error.message : String(error)
    throw new ProxyError('SY_INVALID_PARAMS', `not a decodable signed transaction: ${reason}`)
  }
  if (tx.signature === null || tx.from === null || tx.hash === null) throw new ProxyError('SY_INVALID_PARAMS', 'the transaction is not signed')
  const signedFor = tx.chainId
  if (signedFor === 0n) {
    if (!allowUnprotected) throw new ProxyError('SY_TX_WRONG_CHAIN', `transaction ${tx.hash} has no EIP-155 replay protection (no chain id); refused for chain ${chainId}`)
  } else if (signedFor !== BigInt(chainId)) {
    throw new ProxyError('SY_TX_WRONG_CHAIN', `transaction ${tx.hash} is signed for chain id ${signedFor}, not ${chainId}`, { signedFor: Number(signedFor), chainId })
  }
  return { id: tx.hash.toLowerCase(), raw, sender: tx.from.toLowerCase(), nonce: tx.nonce }
}

/**
 * By hash: pending → mempool; with a block → confirmed. Not found while the sender's nonce is
 * already used (pending count above it) → another transaction holds that nonce: conflict.
 */
export async function lookupEvmTransaction(node: NodeTransport, tx: DecodedTransaction, options: { timeoutMs: number }): Promise<TxPresence> {
  const found = await node.call({ method: 'eth_getTransactionByHash', params: [tx.id] }, options)
  if (!found.ok) return { state: 'unknown', detail: found.failure.message }
  if (found.answer.error !== undefined) return { state: 'unknown', detail: found.answer.error.message }
  const record = found.answer.result as { blockNumber?: unknown; blockHash?: unknown; hash?: unknown } | null
  if (record !== null && typeof record === 'object') {
    if (typeof record.hash === 'string' && record.hash.toLowerCase() !== tx.id) return { state: 'unknown', detail: 'node returned another transaction' }
    const height = typeof record.blockNumber === 'string' ? quantity(record.blockNumber) : undefined
    if (height === undefined || typeof record.blockHash !== 'string') return { state: 'mempool' }
    return { state: 'confirmed', height, blockHash: record.blockHash.toLowerCase() }
  }
  if (tx.sender === undefined || tx.nonce === undefined) return { state: 'absent' }
  const count = await node.call({ method: 'eth_getTransactionCount', params: [tx.sender, 'pending'] }, options)
  if (!count.ok) return { state: 'unknown', detail: count.failure.message }
  const next = typeof count.answer.result === 'string' ? quantity(count.answer.result) : undefined
  if (next === undefined) return { state: 'unknown', detail: 'no transaction count' }
  if (next > tx.nonce) return { state: 'conflict', detail: `nonce ${tx.nonce} of ${tx.sender} is used by another transaction` }
  return { state: 'absent' }
}

export function createEvmBroadcast(chainId: number, allowUnprotected = false): BroadcastSupport {
  return {
    method: 'eth_sendRawTransaction',
    decode: (params) => decodeEvmTransaction(params, chainId, allowUnprotected),
    sendParams: (tx) => [tx.raw],
    classifyReply: classifyEvmReply,
    lookup: lookupEvmTransaction,
    isBlockCanonical: async (node, height, blockHash, options) => {
      const outcome = await node.call({ method: 'eth_getBlockByNumber', params: [`0x${height.toString(16)}`, false] }, options)
      if (!outcome.ok || outcome.answer.error !== undefined) return undefined
      const block = outcome.answer.result as { hash?: unknown } | null
      return typeof block?.hash === 'string' ? block.hash.toLowerCase() === blockHash.toLowerCase() : false
    },
  }
}
