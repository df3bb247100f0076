/**
 * Typed Bitcoin Core RPC on top of an in-process proxy (no HTTP hop): each method is a
 * `proxy.call`, as a request to `POST /rpc/<chain>` is, so reads get switchyard's routing and
 * `sendrawtransaction` its broadcast engine (fan-out, journal, rebroadcast). Methods carry Core's
 * names and parameters, so Core's RPC documentation applies; arguments left out are not sent (the
 * node applies its defaults). Reply types are Core's (amounts in BTC, as JSON numbers, as the node
 * prints them); other nodes of the family may leave fields out, as their types mark.
 *
 * A node's error is thrown as `BitcoinRpcError` (Core's `code` and `message`, and the node's id);
 * switchyard's own errors as `ProxyError`, as `proxy.request` does. Methods off the family's
 * allowlist (wallet, mining, node control) are refused by the proxy (SY_METHOD_NOT_ALLOWED).
 */
import { NodeRpcError, ProxyError } from '../../src/errors/proxy-error.js'
import type { JsonRpcErrorObject, RpcCall } from '../../src/jsonrpc/types.js'
import type { CallResult, Proxy } from '../../src/proxy.js'

/** Core's RPC error codes (`src/rpc/protocol.h`, without the `RPC_` prefix) a client commonly tells apart. */
export const bitcoinRpcErrorCodes = Object.freeze({
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  INVALID_ADDRESS_OR_KEY: -5,
  INVALID_PARAMETER: -8,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  VERIFY_ALREADY_IN_CHAIN: -27,
  IN_WARMUP: -28,
  METHOD_NOT_FOUND: -32601,
})

/** A node's own JSON-RPC error (Core: `code` from `bitcoinRpcErrorCodes`, `message` its text). */
export class BitcoinRpcError extends NodeRpcError {
  /** The method that failed. */
  readonly method: string
  constructor(error: JsonRpcErrorObject, nodeId: string, method: string) {
    super(error, nodeId)
    this.name = 'BitcoinRpcError'
    this.method = method
  }
}

export interface BlockchainInfo {
  chain: string
  blocks: number
  headers: number
  bestblockhash: string
  difficulty: number
  mediantime: number
  /** 0..1. */
  verificationprogress: number
  /** Core only (bcoin has none). */
  initialblockdownload?: boolean
  chainwork: string
  size_on_disk?: number
  pruned: boolean
  warnings?: string | string[]
}

export interface BlockHeader {
  hash: string
  /** -1 for a block off the active chain. */
  confirmations: number
  height: number
  version: number
  versionHex: string
  merkleroot: string
  /** s since epoch. */
  time: number
  mediantime: number
  nonce: number
  bits: string
  difficulty: number
  chainwork: string
  nTx: number
  previousblockhash?: string
  nextblockhash?: string
}

/** `getblock <hash> 1`: the header fields, sizes and the txids. */
export interface Block extends BlockHeader {
  size: number
  strippedsize: number
  weight: number
  tx: string[]
}

/** `getblock <hash> 2`: every transaction decoded (with its fee, in BTC, when the node knows the spent outputs). */
export interface BlockWithTransactions extends Omit<Block, 'tx'> {
  tx: Array<Transaction & { fee?: number }>
}

export interface ScriptPubKey {
  asm: string
  hex: string
  type: string
  address?: string
  desc?: string
}

export interface TransactionInput {
  /** Absent on a coinbase input. */
  txid?: string
  vout?: number
  coinbase?: string
  scriptSig?: { asm: string; hex: string }
  txinwitness?: string[]
  sequence: number
}

export interface TransactionOutput {
  /** BTC. */
  value: number
  n: number
  scriptPubKey: ScriptPubKey
}

/** A decoded transaction (`getrawtransaction <txid> true`, or in `getblock <hash> 2`). */
export interface Transaction {
  txid: string
  hash: string
  version: number
  size: number
  vsize: number
  weight: number
  locktime: number
  vin: TransactionInput[]
  vout: TransactionOutput[]
  hex?: string
  /** Set once mined (getrawtransaction). */
  blockhash?: string
  confirmations?: number
  time?: number
  blocktime?: number
}

/** Core's shape since 0.17; bcoin answers the older `{ fee, blocks }` (fee -1 without an estimate). */
export interface SmartFeeEstimate {
  /** BTC per kvB; absent when the node has no estimate yet (see `errors`). */
  feerate?: number
  errors?: string[]
  /** The target the estimate is for, in blocks. */
  blocks: number
}

export interface MempoolInfo {
  loaded?: boolean
  /** Transactions. */
  size: number
  /** Sum of virtual sizes, vbytes. */
  bytes: number
  /** Memory used, bytes. */
  usage: number
  total_fee?: number
  /** bytes. */
  maxmempool: number
  /** BTC per kvB. */
  mempoolminfee: number
  /** BTC per kvB (bcoin has none). */
  minrelaytxfee?: number
  incrementalrelayfee?: number
  unbroadcastcount?: number
  fullrbf?: boolean
}

/** Core's current shape; bcoin and Core before 0.19 answer an older one (`size`, `fee` where this has `vsize`, `fees`). */
export interface MempoolEntry {
  vsize: number
  weight?: number
  /** s since epoch. */
  time: number
  height: number
  descendantcount: number
  descendantsize: number
  ancestorcount: number
  ancestorsize: number
  wtxid?: string
  /** BTC. */
  fees?: { base: number; modified: number; ancestor: number; descendant: number }
  depends: string[]
  spentby?: string[]
  'bip125-replaceable'?: boolean
  unbroadcast?: boolean
}

/** `gettxout`: an unspent output. */
export interface TxOut {
  bestblock: string
  /** 0 for an output of a mempool transaction. */
  confirmations: number
  /** BTC. */
  value: number
  scriptPubKey: ScriptPubKey
  coinbase: boolean
}

export type FeeEstimateMode = 'economical' | 'conservative' | 'unset'

export interface BitcoinRpcOptions {
  /**
   * Name recorded on broadcasts made through this client (a `clients[].name`; each client's open
   * broadcasts count against `journal.maxOpenPerClient`). Default: none, the anonymous client.
   */
  client?: string
}

/** Options of one call. */
export interface BitcoinCallOptions {
  /** Gives up on the call (a broadcast, once sent, still completes and is journaled). */
  signal?: AbortSignal
}

export class BitcoinRpc {
  readonly #proxy: Proxy
  readonly #chain: string
  readonly #client: string | undefined

  /** @throws ProxyError SY_UNKNOWN_CHAIN for a chain the proxy does not have. */
  constructor(proxy: Proxy, chain: string, options: BitcoinRpcOptions = {}) {
    if (!proxy.hasChain(chain)) throw new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${chain.slice(0, 64)}"`)
    this.#proxy = proxy
    this.#chain = chain
    this.#client = options.client
  }

  /** Any allowlisted method, untyped: its result, or a thrown `BitcoinRpcError` / `ProxyError`. */
  async call<T = unknown>(method: string, params: unknown[] | Record<string, unknown> = [], options: BitcoinCallOptions = {}): Promise<T> {
    const result = await this.#proxy.call(this.#chain, { method, params: params as RpcCall['params'] }, { signal: options.signal, client: this.#client })
    return answerOf(result, method) as T
  }

  getblockchaininfo(): Promise<BlockchainInfo> {
    return this.#send('getblockchaininfo')
  }

  getblockcount(): Promise<number> {
    return this.#send('getblockcount')
  }

  getbestblockhash(): Promise<string> {
    return this.#send('getbestblockhash')
  }

  getblockhash(height: number): Promise<string> {
    return this.#send('getblockhash', height)
  }

  /** Verbosity 0: the serialized block (hex); 1 (Core's default): decoded with txids; 2: with every transaction decoded. */
  getblock(blockhash: string, verbosity: 0 | false): Promise<string>
  getblock(blockhash: string, verbosity?: 1 | true): Promise<Block>
  getblock(blockhash: string, verbosity: 2): Promise<BlockWithTransactions>
  getblock(blockhash: string, verbosity?: 0 | 1 | 2 | boolean): Promise<string | Block | BlockWithTransactions> {
    return this.#send('getblock', blockhash, verbosity)
  }

  /** verbose true (Core's default): decoded; false: the serialized header (hex). */
  getblockheader(blockhash: string, verbose?: true): Promise<BlockHeader>
  getblockheader(blockhash: string, verbose: false): Promise<string>
  getblockheader(blockhash: string, verbose?: boolean): Promise<BlockHeader | string> {
    return this.#send('getblockheader', blockhash, verbose)
  }

  /** Not verbose (Core's default): the serialized transaction (hex); verbose: decoded. `blockhash`: look in that block (for nodes without -txindex). */
  getrawtransaction(txid: string, verbose?: false | 0, blockhash?: string): Promise<string>
  getrawtransaction(txid: string, verbose: true | 1, blockhash?: string): Promise<Transaction>
  getrawtransaction(txid: string, verbose?: boolean | 0 | 1, blockhash?: string): Promise<string | Transaction> {
    return this.#send('getrawtransaction', txid, blockhash === undefined ? verbose : (verbose ?? false), blockhash)
  }

  /**
   * Broadcasts a signed transaction (hex) through switchyard's broadcast engine, as the HTTP
   * route does: resolves with the txid once enough nodes hold it and the journal has it
   * (`proxy.broadcastStatus(chain, txid)` has the per-node record). No `maxfeerate`: the engine
   * sends nodes the transaction alone (the same call on every node and every rebroadcast), so
   * Core's fee cap would not apply; check the fee before signing.
   */
  sendrawtransaction(hexstring: string): Promise<string> {
    return this.#send('sendrawtransaction', hexstring)
  }

  /** Fee estimate for confirmation within `confTarget` blocks. */
  estimatesmartfee(confTarget: number, estimateMode?: FeeEstimateMode): Promise<SmartFeeEstimate> {
    return this.#send('estimatesmartfee', confTarget, estimateMode)
  }

  getmempoolinfo(): Promise<MempoolInfo> {
    return this.#send('getmempoolinfo')
  }

  /** The txids in the node's mempool. */
  getrawmempool(): Promise<string[]> {
    return this.#send('getrawmempool', false)
  }

  /** @throws BitcoinRpcError (-5) when the transaction is not in the node's mempool. */
  getmempoolentry(txid: string): Promise<MempoolEntry> {
    return this.#send('getmempoolentry', txid)
  }

  /** The unspent output, or null when it is spent or does not exist. `includeMempool` (Core's default true): outputs spent in the mempool count as spent. */
  gettxout(txid: string, n: number, includeMempool?: boolean): Promise<TxOut | null> {
    return this.#send('gettxout', txid, n, includeMempool)
  }

  /** Positional params without the trailing ones left out, so the node applies its own defaults. */
  async #send<T>(method: string, ...args: unknown[]): Promise<T> {
    let end = args.length
    while (end > 0 && args[end - 1] === undefined) end -= 1
    return await this.call<T>(method, args.slice(0, end))
  }
}

/** Typed Bitcoin Core RPC for one chain of `proxy` (which it does not own). */
export function bitcoinRpc(proxy: Proxy, chain: string, options: BitcoinRpcOptions = {}): BitcoinRpc {
  return new BitcoinRpc(proxy, chain, options)
}

function answerOf(result: CallResult, method: string): unknown {
  const { answer } = result
  if (answer.error === undefined) return ownCopy(result, answer.result)
  if (result.proxyError !== undefined) throw result.proxyError
  if (result.nodeId === undefined) throw ProxyError.fromAnswer(answer.error)
  throw new BitcoinRpcError(answer.error, result.nodeId, method)
}

/** Cached and coalesced answers are frozen and shared with other callers: the caller gets its own copy. */
function ownCopy(result: CallResult, value: unknown): unknown {
  if ((result.cached !== true && result.coalesced !== true) || typeof value !== 'object' || value === null) return value
  return structuredClone(value)
}
