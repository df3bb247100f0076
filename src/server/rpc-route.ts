/**
 * The HTTP side of `POST /rpc/:chain`: one request body (single call or batch, JSON-RPC 1.0 or
 * 2.0) → the HTTP status, the serialized reply and the routing headers. The proxy answers calls;
 * this module owns what HTTP adds around them: reply shapes per client version and the chain's
 * reply style (`Proxy.replyStyle`: 2.0 requests on a chain of pre-28 bitcoind or bcoin nodes get
 * their legacy shape), notifications (no reply, HTTP 204), and statuses (a proxy error's catalog
 * status; a chain family's legacy statuses for its old clients, e.g. bitcoind's 404/400/500 for
 * JSON-RPC 1.0 errors). The routes around it (paths, gate, headers) are rpc-http.ts.
 */
import { ProxyError } from '../errors/proxy-error.js'
import { type ParsedBody, type ParsedCall, parseBody } from '../jsonrpc/parse.js'
import { type JsonRpcReply, type ReplyStyle, replyText, shapeReply } from '../jsonrpc/reply.js'
import type { CallOptions, CallResult, Proxy } from '../proxy.js'

/** What the HTTP layer sends back for one request body. */
export interface HandledRequest {
  status: number
  /** Serialized JSON, or undefined for "no content" (notifications). */
  body: string | undefined
  /** Node ids that answered, in call order (deduplicated). */
  nodeIds: string[]
  attempts: number
}

/** A request body for one chain (raw text, or already parsed by the client gate). */
export async function handleRpcBody(proxy: Proxy, chain: string, body: string | ParsedBody, options: CallOptions = {}): Promise<HandledRequest> {
  if (!proxy.hasChain(chain)) return errorResponse(new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${chain.slice(0, 64)}"`))
  const parsed = typeof body === 'string' ? parseBody(body, proxy.config.server) : body
  if (parsed.kind === 'invalid') return errorResponse(parsed.error)
  // One style for the whole body: a batch's replies never mix shapes.
  const style = proxy.replyStyle(chain) ?? 'strict'
  if (parsed.kind === 'single') {
    const { reply, result } = await handleEntry(proxy, chain, parsed.entry, options, style)
    const nodeIds = result?.nodeId === undefined ? [] : [result.nodeId]
    const attempts = result?.attempts ?? 0
    if (reply === undefined) return { status: 204, body: undefined, nodeIds, attempts }
    return { status: statusFor(proxy, chain, parsed.entry, reply, result), body: replyText(reply, result?.answer), nodeIds, attempts }
  }
  const handled = await Promise.all(parsed.entries.map((entry) => handleEntry(proxy, chain, entry, options, style)))
  const replies: string[] = []
  const nodeIds = new Set<string>()
  let attempts = 0
  for (const { reply, result } of handled) {
    if (reply !== undefined) replies.push(replyText(reply, result?.answer))
    if (result?.nodeId !== undefined) nodeIds.add(result.nodeId)
    attempts += result?.attempts ?? 0
  }
  // A batch is always 200 (or 204 with only notifications): each entry carries its own outcome.
  if (replies.length === 0) return { status: 204, body: undefined, nodeIds: [...nodeIds], attempts }
  return { status: 200, body: `[${replies.join(',')}]`, nodeIds: [...nodeIds], attempts }
}

/**
 * Answers every call of a body with `error` and runs none (a path switchyard does not serve, such
 * as `/wallet/<name>`): each call's reply shaped for its version, statuses as for any error of
 * that call (bitcoind 1.0 clients: Core's legacy status), 2.0 notifications unanswered.
 */
export function refuseRpcBody(proxy: Proxy, chain: string, body: string | ParsedBody, error: ProxyError): HandledRequest {
  const parsed = typeof body === 'string' ? parseBody(body, proxy.config.server) : body
  if (parsed.kind === 'invalid') return errorResponse(parsed.error)
  const style = proxy.replyStyle(chain) ?? 'strict'
  const refuse = (entry: ParsedCall): ParsedCall => {
    if (entry.call === undefined) return entry
    const { call: _call, ...rest } = entry
    return { ...rest, error }
  }
  const entries = parsed.kind === 'single' ? [refuse(parsed.entry)] : parsed.entries.map(refuse)
  const replies = entries.flatMap((entry) => (entry.notification ? [] : [shapeReply(entry.id, entry.version, { error: (entry.error ?? error).toJsonRpcError() }, style)]))
  const none = { nodeIds: [], attempts: 0 }
  if (replies.length === 0) return { status: 204, body: undefined, ...none }
  if (parsed.kind === 'batch') return { status: 200, body: JSON.stringify(replies), ...none }
  const entry = entries[0]!
  const reply = replies[0]!
  const own = entry.error ?? error
  const status = own.httpStatus !== 200 ? own.httpStatus : (proxy.legacyHttpStatus(chain, own.toJsonRpcError(), entry.version) ?? 200)
  return { status, body: JSON.stringify(reply), ...none }
}

async function handleEntry(proxy: Proxy, chain: string, entry: ParsedCall, options: CallOptions, style: ReplyStyle): Promise<{ reply: JsonRpcReply | undefined; result: CallResult | undefined }> {
  if (entry.call === undefined) {
    const error = entry.error ?? new ProxyError('SY_INVALID_REQUEST', 'Invalid Request')
    return { reply: entry.notification ? undefined : shapeReply(entry.id, entry.version, { error: error.toJsonRpcError() }, style), result: undefined }
  }
  if (entry.notification) {
    // Reads have no effect, so skipping them is indistinguishable; broadcasts must still go out.
    if (proxy.methodClass(chain, entry.call.method) === 'broadcast') await proxy.call(chain, entry.call, options)
    return { reply: undefined, result: undefined }
  }
  const result = await proxy.call(chain, entry.call, options)
  return { reply: shapeReply(entry.id, entry.version, result.answer, style), result }
}

function errorResponse(error: ProxyError): HandledRequest {
  return { status: error.httpStatus, body: JSON.stringify(shapeReply(null, '2.0', { error: error.toJsonRpcError() })), nodeIds: [], attempts: 0 }
}

/**
 * HTTP status of a single call: a proxy outcome uses its catalog status (503 no node, 502, 504);
 * a node's error gets the family's legacy status for the client's version, if any; else 200.
 */
function statusFor(proxy: Proxy, chain: string, entry: ParsedCall, reply: JsonRpcReply, result: CallResult | undefined): number {
  const error = 'error' in reply ? reply.error : null
  if (error === null || error === undefined) return 200
  // A request switchyard refused itself (malformed entry, or a proxy outcome of the call).
  const proxyError = result === undefined ? (entry.error ?? new ProxyError('SY_INVALID_REQUEST', 'Invalid Request')) : result.proxyError
  if (proxyError !== undefined && proxyError.httpStatus !== 200) return proxyError.httpStatus
  if (result === undefined) return 200
  return proxy.legacyHttpStatus(chain, error, entry.version) ?? 200
}
