/**
 * The HTTP status Bitcoin Core gives a JSON-RPC error reply (src/httprpc.cpp `JSONErrorReply`):
 * in legacy mode (1.0 requests, the only mode before v28) -32600 → 400, -32601 → 404, any other
 * error → 500; bitcoind clients (and libraries that check the status first) expect exactly these.
 * 2.0 requests get 200 (Core v28+), as every JSON-RPC 2.0 client expects.
 */
import type { JsonRpcErrorObject, JsonRpcVersion } from '../../src/jsonrpc/types.js'

/** undefined: the usual 200. */
export function bitcoinLegacyHttpStatus(error: JsonRpcErrorObject, version: JsonRpcVersion): number | undefined {
  if (version !== '1.0') return undefined
  if (error.code === -32600) return 400
  if (error.code === -32601) return 404
  return 500
}
