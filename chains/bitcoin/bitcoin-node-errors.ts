/**
 * What a Bitcoin-family node's JSON-RPC error to a read means for routing (NodeErrorClass), and
 * which reads cost what the client chose. Never used for sendrawtransaction replies (see
 * bitcoin-broadcast.ts). Matching: code plus lower-cased message substring.
 *
 * Checked in this order; the first row that matches wins:
 * | class             | code / spelling (lower-cased substring)                                    | seen from (source)                          |
 * |-------------------|----------------------------------------------------------------------------|---------------------------------------------|
 * | `behind`          | getblockhash -8 `out of range` ("Block height out of range", bcoin with a trailing dot); getblockstats -8 `after current tip` ("Target block height N after current tip M") | Core src/rpc/blockchain.cpp, bcoin |
 * | `behind`          | `not fully downloaded` ("Block not available (not fully downloaded)")       | Core getblock / getblockstats               |
 * | `missing-state`   | `pruned data` ("Block not available (pruned data)"), `pruning event` (undo data), `use -txindex` (getrawtransaction without txindex: "No such mempool transaction. Use -txindex or provide a block hash…") | Core src/rpc/blockchain.cpp, rawtransaction.cpp |
 * | `refusal`         | -28 RPC_IN_WARMUP (any text: "Loading block index…", "Verifying blocks…", "Rewinding blocks…") | Core src/rpc/protocol.h |
 * | `refusal`         | -10 RPC_CLIENT_IN_INITIAL_DOWNLOAD; `work queue depth exceeded` (Core's 503 text, when a gateway wraps it in JSON) | Core src/rpc/protocol.h, src/httpserver.cpp |
 * | `request-invalid` | -32700 parse error, -32600 invalid request, -32601 method not found (an allowlisted method this node lacks: `getindexinfo` before 0.21, `estimatesmartfee` on Dogecoin) | JSON-RPC spec; Core httprpc.cpp |
 * | `request-invalid` | -32603 in the node's own words (`isCallSpecificInternalError`: bcoin `estimatesmartfee 127` → "Too many confirmations for estimate.") | bcoin |
 * | `refusal`         | provider refusals (src/upstream/provider-refusals.ts: rate limits, quotas, capacity, gateway trouble, -32603 "Internal error") | GetBlock, QuickNode, NOWNodes gateways |
 * | `answer`          | anything else: -8 invalid parameter, -5 not found, -22 decode failed, -25/-26 verdicts… |                                |
 *
 * `behind` from a node whose probed height covers the requested block is upgraded to a refusal by
 * the router (`decideAttempt`).
 */
import type { CallCost, NodeErrorClass } from '../../src/chain-adapter.js'
import type { JsonRpcErrorObject, RpcCall } from '../../src/jsonrpc/types.js'
import { isCallSpecificInternalError, isProviderRefusal } from '../../src/upstream/provider-refusals.js'

const RPC_INVALID_PARAMETER = -8
const RPC_IN_WARMUP = -28
const RPC_CLIENT_IN_INITIAL_DOWNLOAD = -10
const PARSE_ERROR = -32700
const INVALID_REQUEST = -32600
const METHOD_NOT_FOUND = -32601

const MISSING_STATE_FRAGMENTS = ['pruned data', 'pruning event', 'use -txindex']

export function classifyBitcoinError(call: RpcCall, error: JsonRpcErrorObject): NodeErrorClass {
  const message = error.message.toLowerCase()
  if (error.code === RPC_INVALID_PARAMETER) {
    if (call.method === 'getblockhash' && message.includes('out of range')) return 'behind'
    if (call.method === 'getblockstats' && message.includes('after current tip')) return 'behind'
  }
  if (message.includes('not fully downloaded')) return 'behind'
  if (MISSING_STATE_FRAGMENTS.some((fragment) => message.includes(fragment))) return 'missing-state'
  if (error.code === RPC_IN_WARMUP || error.code === RPC_CLIENT_IN_INITIAL_DOWNLOAD || message.includes('work queue depth exceeded')) return 'refusal'
  if (error.code === PARSE_ERROR || error.code === INVALID_REQUEST || error.code === METHOD_NOT_FOUND) return 'request-invalid'
  if (isCallSpecificInternalError(error)) return 'request-invalid'
  if (isProviderRefusal(error)) return 'refusal'
  return 'answer'
}

/**
 * Reads whose cost the client chose: a block with all its transactions decoded (getblock
 * verbosity 2/3, several MB and much CPU on mainnet), block statistics, verbose mempool dumps and
 * proofs. Everything else reads one small object.
 */
export function bitcoinCallCost(call: RpcCall): CallCost {
  const params = call.params
  const positional = Array.isArray(params) ? params : undefined
  const named = params !== undefined && !Array.isArray(params) ? params : undefined
  switch (call.method) {
    case 'getblockstats':
    case 'gettxoutproof':
      return 'heavy'
    case 'getblock': {
      const verbosity = positional?.[1] ?? named?.verbosity ?? named?.verbose
      return typeof verbosity === 'number' && verbosity >= 2 ? 'heavy' : 'cheap'
    }
    case 'getrawmempool':
    case 'getmempoolancestors':
    case 'getmempooldescendants': {
      const verbose = call.method === 'getrawmempool' ? (positional?.[0] ?? named?.verbose) : (positional?.[1] ?? named?.verbose)
      return verbose === true ? 'heavy' : 'cheap'
    }
    default:
      return 'cheap'
  }
}
