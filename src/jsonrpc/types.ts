/**
 * JSON-RPC shapes shared by the core and the chain adapters.
 * Block heights are `number` (safe up to 2^53 for every chain we target); amounts stay strings/bigint.
 */

export type JsonRpcId = string | number | null

export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

/** One call as the proxy understands it, independent of the client's JSON-RPC version. */
export interface RpcCall {
  method: string
  params: unknown[] | Record<string, unknown> | undefined
}

/** What a node answered: a result or its own JSON-RPC error (an answer, not a node failure). */
export type RpcAnswer =
  | { result: unknown; error?: undefined }
  | { result?: undefined; error: JsonRpcErrorObject }

export type JsonRpcVersion = '1.0' | '2.0'
