/**
 * The bitcoin broadcast path: local decoding (bitcoinjs-lib), the verdict of a node's reply to
 * `sendrawtransaction` (reliability reference §1, every Core spelling, old and new), and lookups
 * that tell whether a node holds a transaction. No txindex is assumed: lookups use the mempool,
 * `gettxout` on the transaction's outputs and inputs, and blocks by height.
 */
import { Transaction } from 'bitcoinjs-lib'
import type { BroadcastSupport, ClassifiedReply, DecodedTransaction, TxPresence } from '../../src/chain-adapter.js'
import { ProxyError } from '../../src/errors/proxy-error.js'
import type { RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'
import type { NodeTransport } from '../../src/upstream/node-transport.js'

/** Reason tokens, matched on the lower-cased message after stripping `NN: ` and ` (code NN)`. */
const ALREADY_KNOWN = ['already in block chain', 'already in utxo set', 'txn-already-in-mempool', 'txn-same-nonwitness-data-in-mempool', 'txn-already-known', 'transaction already in block chain', 'outputs already in utxo set']
const AMBIGUOUS = ['missingorspent', 'missing inputs', 'inputs missing or spent', 'missing-inputs']
const CONFLICT = ['txn-mempool-conflict', 'bip125-replacement-disallowed', 'insufficient fee', 'too many potential replacements', 'replacement-adds-unconfirmed']
const NODE_LOCAL = ['mempool full', 'mempool min fee not met', 'too-long-mempool-chain', 'mempool internal error', 'acceptToMemoryPool failed'.toLowerCase(), 'work queue depth exceeded', 'loading block index', 'verifying blocks', 'rewinding blocks']
/** Core's RPC codes that are the node's state, not a verdict: warm-up, P2P/mempool disabled, IBD. */
const NODE_LOCAL_CODES = new Set([-28, -31, -33, -10, -9])

/** Strips the BIP61 prefix (`258: `, ≤0.17) and the `(code 64)` suffix (0.18–0.19). */
export function normalizeReason(message: string): string {
  return message.toLowerCase().replace(/^\d+:\s*/, '').replace(/\s*\(code -?\d+\)\s*$/, '').trim()
}

export function classifyBitcoinReply(answer: RpcAnswer): ClassifiedReply {
  if (answer.error === undefined) {
    return typeof answer.result === 'string' ? { verdict: 'accepted', returnedId: answer.result.toLowerCase() } : { verdict: 'invalid' }
  }
  const { code } = answer.error
  const reason = normalizeReason(answer.error.message)
  // -27 is "already in chain / in UTXO set" under every name it had (RPC_VERIFY_ALREADY_IN_CHAIN, _IN_UTXO_SET).
  if (code === -27 || ALREADY_KNOWN.some((token) => reason.includes(token))) return { verdict: 'already-known' }
  if (AMBIGUOUS.some((token) => reason.includes(token))) return { verdict: 'ambiguous' }
  if (CONFLICT.some((token) => reason.includes(token))) return { verdict: 'conflict' }
  if (NODE_LOCAL_CODES.has(code) || NODE_LOCAL.some((token) => reason.includes(token))) return { verdict: 'node-local' }
  return { verdict: 'invalid' }
}

export function decodeBitcoinTransaction(params: RpcCall['params']): DecodedTransaction {
  const raw = Array.isArray(params) ? params[0] : params?.hexstring
  if (typeof raw !== 'string' || raw.length === 0 || raw.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(raw)) {
    throw new ProxyError('SY_INVALID_PARAMS', 'sendrawtransaction needs the signed transaction as a hex string')
  }
  let tx: Transaction
  try {
    tx = Transaction.fromHex(raw)
  } catch (error) {
    throw new ProxyError('SY_INVALID_PARAMS', `not a decodable bitcoin transaction: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (tx.isCoinbase()) throw new ProxyError('SY_INVALID_PARAMS', 'a coinbase transaction cannot be broadcast')
  if (tx.ins.length === 0 || tx.outs.length === 0) throw new ProxyError('SY_INVALID_PARAMS', 'a transaction needs at least one input and one output')
  return {
    id: tx.getId(),
    raw,
    inputs: tx.ins.map((input) => ({ txid: Buffer.from(input.hash).reverse().toString('hex'), vout: input.index })),
    outputCount: tx.outs.length,
  }
}

type Call = (method: string, params: unknown[]) => Promise<{ ok: true; result: unknown } | { ok: true; error: string } | { ok: false; detail: string }>

function caller(node: NodeTransport, timeoutMs: number): Call {
  return async (method, params) => {
    const outcome = await node.call({ method, params }, { timeoutMs })
    if (!outcome.ok) return { ok: false, detail: outcome.failure.message }
    if (outcome.answer.error !== undefined) return { ok: true, error: outcome.answer.error.message }
    return { ok: true, result: outcome.answer.result }
  }
}

/**
 * mempool (getmempoolentry) → chain (an unspent output of the tx, via gettxout, gives its depth) →
 * conflict (an input is gone while the tx is nowhere) → absent.
 */
export async function lookupBitcoinTransaction(node: NodeTransport, tx: DecodedTransaction, options: { timeoutMs: number }): Promise<TxPresence> {
  const call = caller(node, options.timeoutMs)
  const entry = await call('getmempoolentry', [tx.id])
  if (!entry.ok) return { state: 'unknown', detail: entry.detail }
  if ('result' in entry && entry.result !== null && entry.result !== undefined) return { state: 'mempool' }
  for (let vout = 0; vout < Math.min(tx.outputCount ?? 1, 4); vout++) {
    const out = await call('gettxout', [tx.id, vout, true])
    if (!out.ok) return { state: 'unknown', detail: out.detail }
    const found = 'result' in out ? (out.result as { confirmations?: unknown; bestblock?: unknown } | null) : null
    if (found === null || typeof found.confirmations !== 'number') continue
    if (found.confirmations === 0) return { state: 'mempool' }
    const tip = await call('getblockcount', [])
    if (!tip.ok || !('result' in tip) || typeof tip.result !== 'number') return { state: 'unknown', detail: 'no block count' }
    const height = tip.result - found.confirmations + 1
    const hash = await call('getblockhash', [height])
    if (!hash.ok || !('result' in hash) || typeof hash.result !== 'string') return { state: 'unknown', detail: 'no block hash' }
    return { state: 'confirmed', height, blockHash: hash.result }
  }
  for (const input of tx.inputs ?? []) {
    const spent = await call('gettxout', [input.txid, input.vout, true])
    if (!spent.ok) return { state: 'unknown', detail: spent.detail }
    if ('result' in spent && spent.result === null) {
      return { state: 'conflict', detail: `input ${input.txid}:${input.vout} is spent (or unknown) while ${tx.id} is in neither the mempool nor the chain` }
    }
  }
  return { state: 'absent' }
}

export function createBitcoinBroadcast(): BroadcastSupport {
  return {
    method: 'sendrawtransaction',
    decode: decodeBitcoinTransaction,
    sendParams: (tx) => [tx.raw],
    classifyReply: classifyBitcoinReply,
    lookup: lookupBitcoinTransaction,
    isBlockCanonical: async (node, height, blockHash, options) => {
      const outcome = await node.call({ method: 'getblockhash', params: [height] }, options)
      if (!outcome.ok || outcome.answer.error !== undefined) return undefined
      return outcome.answer.result === blockHash
    },
  }
}
