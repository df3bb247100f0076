/**
 * Why a node did not give an answer. Whether a failure counts against the node is decided in one
 * place, `decideAttempt` (src/routing/attempt-decision.ts): some of these are the request's fault
 * or switchyard's own, not the node's. A node's JSON-RPC error is not one of these.
 */
export type NodeFailureKind =
  | 'timeout' // no complete reply within the attempt's timeout (see `stalled`)
  | 'connect' // refused, reset, DNS, TLS: the request may or may not have reached the node
  | 'http-status' // 401/403/429/5xx or any other status without a JSON-RPC body
  | 'bad-response' // not JSON, not a JSON-RPC reply, wrong id
  | 'refused' // a JSON-RPC reply that is the node's refusal (rate limited, internal error, "header not found" at a height it claims)
  | 'request-rejected' // a verdict on the request itself: `id: null` error, HTTP 400/413/414/431, socket closed while a large body was sent
  | 'reply-too-large' // the reply exceeds routing.maxReplyBytes: another node would send the same bytes
  | 'overloaded' // switchyard's own reply-byte budget is full: not the node's doing
  | 'aborted' // the client went away or the overall deadline passed; not the node's fault

export interface NodeFailure {
  kind: NodeFailureKind
  /** Human-readable, never contains the node URL or credentials. */
  message: string
  httpStatus?: number
  /**
   * `timeout` only: the timer fired much later than scheduled because switchyard's own event loop
   * was blocked, so the node's reply may have been waiting unread: never the node's fault.
   */
  stalled?: boolean
}

/**
 * Whether a failure can say something about the node's health at all. Probes use it (a probe is a
 * cheap, well-formed call, so everything else counts); calls go through `decideAttempt`, which also
 * weighs the call's cost and what other nodes said.
 */
export function countsAgainstNode(failure: NodeFailure): boolean {
  if (failure.kind === 'timeout') return failure.stalled !== true
  return failure.kind !== 'aborted' && failure.kind !== 'overloaded' && failure.kind !== 'reply-too-large'
}

/**
 * A node's own error text made fit for clients' eyes and logs: one line, at most 160 characters,
 * with anything URL-like removed (a provider may echo an endpoint with its key in it).
 */
export function shortNodeMessage(text: string): string {
  const clean = text.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>').replace(/\s+/g, ' ').trim()
  return clean.length > 160 ? `${clean.slice(0, 157)}...` : clean
}
