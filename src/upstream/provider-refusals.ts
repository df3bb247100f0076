/**
 * Refusals by the gateways of hosted node providers, answered at HTTP 200 as JSON-RPC errors. They
 * front every chain family alike, so both adapters' error tables start from this one. A refusal is
 * the node's failure: the router fails over and counts it against the node.
 *
 * Matching: lower-cased message, substring; codes only where a message alone would be ambiguous.
 * | spelling (lower-cased substring)                       | code    | seen from (source)                                            |
 * |--------------------------------------------------------|---------|---------------------------------------------------------------|
 * | `limit exceeded`                                       | -32005  | EIP-1474 "limit exceeded"; Infura, Ankr, QuickNode gateways   |
 * | `rate limit` (`rate limited`, `rate limit exceeded`)   | any     | Infura "daily request count exceeded, request rate limited"; eRPC normalizer |
 * | `request count exceeded`                               | any     | Infura daily quota                                            |
 * | `too many requests`                                    | any     | Alchemy, Ankr, Cloudflare gateways; eRPC normalizer           |
 * | `requests limited to`, `exceeded the quota`, `reached the quota`, `quota exceeded` | any | eRPC normalizer (several vendors) |
 * | `capacity` (`exceeded its compute units per second capacity`, `monthly capacity limit`) | any | Alchemy; eRPC normalizer |
 * | `reached the free tier`                                | any     | eRPC normalizer (billing)                                     |
 * | `under too much load`, `server is busy`, `overloaded`  | any     | eRPC normalizer; Chainstack/BlockPI style gateways            |
 * | `request timed out`, `request timeout`, `upstream request timeout`, `upstream connect error`, `gateway timeout`, `bad gateway`, `service unavailable`, `temporarily unavailable` | any | provider gateways and Envoy/nginx in front of a node |
 * | `internal error` / `internal server error`             | -32603 and any code for the word "internal server error" | JSON-RPC spec internal error; gateways |
 * -32603 alone is a refusal too when its message is the spec's own ("Internal error") or empty;
 * never when it is a verdict on the call (see `isVerdictMessage`: anvil answers an out-of-gas
 * eth_call with -32603 "EVM error OutOfGas"); and a -32603 in the node's own words is
 * `isCallSpecificInternalError`, which the adapters judge like a request error.
 */
import type { JsonRpcErrorObject } from '../jsonrpc/types.js'

const REFUSAL_FRAGMENTS = [
  'rate limit',
  'request count exceeded',
  'too many requests',
  'requests limited to',
  'exceeded the quota',
  'reached the quota',
  'quota exceeded',
  'capacity',
  'reached the free tier',
  'under too much load',
  'server is busy',
  'overloaded',
  'request timed out',
  'request timeout',
  'upstream connect error',
  'gateway timeout',
  'bad gateway',
  'service unavailable',
  'temporarily unavailable',
  'internal server error',
]

/** EIP-1474 "limit exceeded": Besu reuses -32005 for a transaction verdict, so the message must say it too. */
const LIMIT_EXCEEDED_CODE = -32005
const INTERNAL_ERROR_CODE = -32603

/**
 * Words of a node's verdict on the call itself (execution, gas, nonce…): never a refusal, whatever
 * the code, because every node would say the same.
 */
const VERDICT_FRAGMENTS = ['revert', 'evm error', 'vm exception', 'out of gas', 'outofgas', 'execution', 'invalid opcode', 'stack', 'insufficient', 'nonce', 'gas ']

export function isVerdictMessage(message: string): boolean {
  const lower = message.toLowerCase()
  return VERDICT_FRAGMENTS.some((fragment) => lower.includes(fragment))
}

/** Whether a node's error is a provider-side refusal (rate limit, quota, capacity, gateway trouble, internal error). */
export function isProviderRefusal(error: JsonRpcErrorObject): boolean {
  const message = error.message.toLowerCase()
  if (isVerdictMessage(message)) return false
  if (REFUSAL_FRAGMENTS.some((fragment) => message.includes(fragment))) return true
  if (error.code === LIMIT_EXCEEDED_CODE && message.includes('limit exceeded')) return true
  return error.code === INTERNAL_ERROR_CODE && !isCallSpecificInternalError(error)
}

/**
 * A -32603 in the node's own words (not "Internal error", not a refusal or a verdict above): it
 * may be the node's reaction to this very call, as when bcoin answers `estimatesmartfee 127` with
 * -32603 "Too many confirmations for estimate." (Core says -8 "Invalid conf_target"). Counting it
 * at once would let a client's parameters eject every node of a chain (found by the fuzz suite,
 * test/fuzz), so the adapters class it `request-invalid`: the call goes to the next node, and the
 * failure counts only if that node answers; the same error from it is passed on as the answer.
 */
export function isCallSpecificInternalError(error: JsonRpcErrorObject): boolean {
  if (error.code !== INTERNAL_ERROR_CODE) return false
  const message = error.message.toLowerCase().trim()
  if (message === '' || message.includes('internal error') || isVerdictMessage(message)) return false
  return !REFUSAL_FRAGMENTS.some((fragment) => message.includes(fragment))
}
