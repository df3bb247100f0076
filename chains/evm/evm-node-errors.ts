/**
 * What an EVM node's JSON-RPC error to a read means for routing (NodeErrorClass), and which reads
 * cost what the client chose. Never used for eth_sendRawTransaction replies: broadcasts have their
 * own verdict table (evm-broadcast.ts). Matching is on the lower-cased message (substring) and the
 * code only where messages collide: Besu reuses -32005 for a transaction verdict and Erigon
 * prefixes verdicts with INTERNAL_ERROR, so a code alone never decides.
 *
 * Checked in this order; the first row that matches wins:
 * | class             | spelling (lower-cased substring) / code                                   | seen from (source)                          |
 * |-------------------|----------------------------------------------------------------------------|---------------------------------------------|
 * | `answer`          | result/range limits: `query returned more than`, `returned more than`, `block range`, `range too large`, `range is too large`, `exceeds the range`, `max range`, `response size`, `response too large`, `exceeds max results`, `limit the query to` | Infura -32005 "query returned more than 10000 results", Alchemy "Log response size exceeded", eRPC normalizer; the client must narrow the query, every node of that provider says the same |
 * | `answer`          | execution verdicts: `revert`, `evm error`, `vm exception`, `out of gas`, `execution` (incl. geth `execution aborted (timeout = 5s)`), `invalid opcode`, `insufficient`, `nonce` | geth, anvil (-32603 "EVM error OutOfGas"), Hardhat, Nethermind |
 * | `missing-state`   | `missing trie node`, `historical state` + `not available`/`unavailable`, `no state available`, `state at block` + `pruned`, `world state` + `unavailable`/`not available`, `pruned history unavailable`, `requested data is not available`, `trie does not` (block-targeting calls only) | geth hash scheme / path scheme, Nethermind, reth `state at block #N is pruned`, Besu, eRPC normalizer |
 * | `behind`          | `header not found`, `unknown block`, `block not found`, `could not find block`, `blockoutofrangeerror`, `after last accepted block`, `greater than latest`; code -39001 (block-targeting calls only) | geth/reth, Besu/Erigon, anvil "BlockOutOfRangeError", Avalanche, Besu -39001 |
 * | `request-invalid` | code -32700 / -32600; code -32601 or `method not found`, `does not exist/is not available`, `not supported`, `unsupported method`, `not whitelisted`, `not included in your current plan`; `request entity too large`, `request too large`, `payload too large`, `body too large`, `content length too large`, `request size`, `max request size` | JSON-RPC spec, geth rpc/errors.go, anvil -32600 "Invalid request", provider gateways, geth HTTP 413 text |
 * | `request-invalid` | -32603 in the node's own words (`isCallSpecificInternalError`): maybe about the call, so counted only if another node answers it | node-specific failures |
 * | `refusal`         | provider refusals (src/upstream/provider-refusals.ts: -32005 `limit exceeded`, `rate limit`, `daily request count exceeded`, `too many requests`, `capacity`, `request timed out`, -32603 "Internal error"…) | Infura, Alchemy, Ankr, QuickNode, gateways |
 * | `answer`          | anything else (invalid params -32602, a verdict the node is entitled to)   |                                             |
 *
 * `behind` from a node whose probed height covers the requested block is upgraded to a refusal by
 * the router (`decideAttempt`): a node claiming a height must serve it.
 */
import type { CallCost, NodeErrorClass } from '../../src/chain-adapter.js'
import type { JsonRpcErrorObject, RpcCall } from '../../src/jsonrpc/types.js'
import { isCallSpecificInternalError, isProviderRefusal } from '../../src/upstream/provider-refusals.js'
import { targetsBlock } from './evm-methods.js'

const RESULT_LIMIT_FRAGMENTS = [
  'query returned more than',
  'returned more than',
  'block range',
  'range too large',
  'range is too large',
  'exceeds the range',
  'max range',
  'response size',
  'response too large',
  'exceeds max results',
  'limit the query to',
]

const VERDICT_FRAGMENTS = ['revert', 'evm error', 'vm exception', 'out of gas', 'outofgas', 'execution', 'invalid opcode', 'insufficient', 'nonce']

const MISSING_STATE_FRAGMENTS = ['missing trie node', 'no state available', 'pruned history unavailable', 'requested data is not available', 'trie does not']
/** Pairs that must both appear ("historical state … not available", "state at block #5 is pruned"). */
const MISSING_STATE_PAIRS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['historical state', ['not available', 'unavailable']],
  ['state at block', ['pruned']],
  ['world state', ['unavailable', 'not available']],
]

const BEHIND_FRAGMENTS = ['header not found', 'unknown block', 'block not found', 'could not find block', 'blockoutofrangeerror', 'after last accepted block', 'greater than latest']
/** Besu's "Unknown block" code. */
const BESU_UNKNOWN_BLOCK = -39001

const PARSE_ERROR = -32700
const INVALID_REQUEST = -32600
const METHOD_NOT_FOUND = -32601
const REQUEST_INVALID_FRAGMENTS = [
  'method not found',
  'does not exist/is not available',
  'not supported',
  'unsupported method',
  'not whitelisted',
  'not included in your current plan',
  'request entity too large',
  'request too large',
  'payload too large',
  'body too large',
  'content length too large',
  'request size',
  'max request size',
]

export function classifyEvmError(call: RpcCall, error: JsonRpcErrorObject): NodeErrorClass {
  const message = error.message.toLowerCase()
  if (RESULT_LIMIT_FRAGMENTS.some((fragment) => message.includes(fragment))) return 'answer'
  if (VERDICT_FRAGMENTS.some((fragment) => message.includes(fragment))) return 'answer'
  if (targetsBlock(call)) {
    if (MISSING_STATE_FRAGMENTS.some((fragment) => message.includes(fragment))) return 'missing-state'
    if (MISSING_STATE_PAIRS.some(([first, seconds]) => message.includes(first) && seconds.some((second) => message.includes(second)))) return 'missing-state'
    // anvil --prune-history: "BlockOutOfRangeError: block height is 30 but requested was 2" names a
    // block BELOW its tip: it lacks that old state (missing-state), not the block (behind).
    const range = /block height is (\d+) but requested was (\d+)/.exec(message)
    if (range !== null && Number(range[2]) < Number(range[1])) return 'missing-state'
    if (error.code === BESU_UNKNOWN_BLOCK || BEHIND_FRAGMENTS.some((fragment) => message.includes(fragment))) return 'behind'
  }
  if (error.code === PARSE_ERROR || error.code === INVALID_REQUEST || error.code === METHOD_NOT_FOUND) return 'request-invalid'
  if (REQUEST_INVALID_FRAGMENTS.some((fragment) => message.includes(fragment))) return 'request-invalid'
  if (isCallSpecificInternalError(error)) return 'request-invalid'
  if (isProviderRefusal(error)) return 'refusal'
  return 'answer'
}

/**
 * Reads whose cost the client chose: log scans over a range, EVM execution (eth_call,
 * eth_estimateGas), a whole block's receipts, proofs over a client-chosen key list. A timeout on
 * one of these is not held against a node (the prober's cheap probes still catch a dead one).
 */
const HEAVY_METHODS: ReadonlySet<string> = new Set(['eth_getLogs', 'eth_call', 'eth_estimateGas', 'eth_getBlockReceipts', 'eth_getProof'])

export function evmCallCost(call: RpcCall): CallCost {
  return HEAVY_METHODS.has(call.method) ? 'heavy' : 'cheap'
}
