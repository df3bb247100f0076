import type { JsonRpcErrorObject, JsonRpcId, JsonRpcVersion, RpcAnswer } from './types.js'

export type JsonRpcReply =
  | { jsonrpc: '2.0'; id: JsonRpcId; result: unknown }
  | { jsonrpc: '2.0'; id: JsonRpcId; error: JsonRpcErrorObject }
  | { result: unknown; error: JsonRpcErrorObject | null; id: JsonRpcId }

/**
 * Shapes an answer for the client's own version: 2.0 has exactly one of result/error; 1.0
 * (what bitcoind clients parse) always has both, the unused one null, and echoes the id.
 */
export function shapeReply(id: JsonRpcId, version: JsonRpcVersion, answer: RpcAnswer): JsonRpcReply {
  if (version === '2.0') {
    return answer.error !== undefined ? { jsonrpc: '2.0', id, error: answer.error } : { jsonrpc: '2.0', id, result: answer.result }
  }
  return answer.error !== undefined ? { result: null, error: answer.error, id } : { result: answer.result ?? null, error: null, id }
}
