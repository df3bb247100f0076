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

/**
 * The node's own text of an answer's `result`, when the node client kept it: a reply built from it
 * is the node's bytes spliced in, not the parsed value serialised again. Kept as a non-enumerable
 * symbol property, so that an answer copied or rebuilt (`{ ...answer }`, `{ result: other }`) never
 * carries text that no longer matches its result, and JSON.stringify and equality ignore it.
 */
const RAW_RESULT = Symbol('rawResult')

export function withRawResult<T extends RpcAnswer>(answer: T, raw: string): T {
  Object.defineProperty(answer, RAW_RESULT, { value: raw })
  return answer
}

export function rawResultOf(answer: RpcAnswer): string | undefined {
  return (answer as { [RAW_RESULT]?: string })[RAW_RESULT]
}
