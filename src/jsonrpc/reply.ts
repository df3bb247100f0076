import { type JsonRpcErrorObject, type JsonRpcId, type JsonRpcVersion, type RpcAnswer, rawResultOf } from './types.js'

export type JsonRpcReply =
  | { jsonrpc: '2.0'; id: JsonRpcId; result: unknown }
  | { jsonrpc: '2.0'; id: JsonRpcId; error: JsonRpcErrorObject }
  | { result: unknown; error: JsonRpcErrorObject | null; id: JsonRpcId }

/**
 * How a chain answers JSON-RPC 2.0 requests: `strict` is JSON-RPC 2.0 (exactly one of result and
 * error; Bitcoin Core 28+); `legacy` is what Core before 28 and bcoin send whatever the request
 * says (result, error and id all present, no `jsonrpc` member), which clients written against
 * them read (python-bitcoinrpc's `batch_` reads `error` from every reply).
 */
export type ReplyStyle = 'legacy' | 'strict'

/**
 * Shapes an answer for the client's own version: 2.0 has exactly one of result/error (unless the
 * chain's style is `legacy`); 1.0 (what bitcoind clients parse) always has both, the unused one
 * null, and echoes the id.
 */
export function shapeReply(id: JsonRpcId, version: JsonRpcVersion, answer: RpcAnswer, style: ReplyStyle = 'strict'): JsonRpcReply {
  if (version === '2.0' && style === 'strict') {
    return answer.error !== undefined ? { jsonrpc: '2.0', id, error: answer.error } : { jsonrpc: '2.0', id, result: answer.result }
  }
  return answer.error !== undefined ? { result: null, error: answer.error, id } : { result: answer.result ?? null, error: null, id }
}

/**
 * The reply's JSON text: the node's own text of the result spliced in when the answer kept it
 * (`withRawResult`), else the reply serialised. Same members in the same order either way.
 */
export function replyText(reply: JsonRpcReply, answer: RpcAnswer | undefined): string {
  const raw = answer === undefined || answer.error !== undefined ? undefined : rawResultOf(answer)
  if (raw === undefined || !('result' in reply)) return JSON.stringify(reply)
  const id = JSON.stringify(reply.id)
  return 'jsonrpc' in reply ? `{"jsonrpc":"2.0","id":${id},"result":${raw}}` : `{"result":${raw},"error":null,"id":${id}}`
}
