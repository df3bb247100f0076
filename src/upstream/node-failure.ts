/**
 * Why a node did not give an answer. These are node/transport problems: they count against the
 * node's health and make the router try another node. A node's JSON-RPC error is not one of these.
 */
export type NodeFailureKind =
  | 'timeout' // no complete reply within the attempt's timeout
  | 'connect' // refused, reset, DNS, TLS: the request may or may not have reached the node
  | 'http-status' // 401/403/429/5xx or any other status without a JSON-RPC body
  | 'bad-response' // not JSON, not a JSON-RPC reply, wrong id
  | 'aborted' // the client went away or the overall deadline passed; not the node's fault

export interface NodeFailure {
  kind: NodeFailureKind
  /** Human-readable, never contains the node URL or credentials. */
  message: string
  httpStatus?: number
}

/** Whether this failure says something about the node's health (aborts by us do not). */
export function countsAgainstNode(failure: NodeFailure): boolean {
  return failure.kind !== 'aborted'
}
