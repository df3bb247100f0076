/**
 * Turns a client's body into calls, keeping each call's id and JSON-RPC version so its reply can
 * be shaped the way that client expects (bitcoind clients send 1.0; EVM clients 2.0).
 */
import { ProxyError } from '../errors/proxy-error.js'
import type { JsonRpcId, JsonRpcVersion, RpcCall } from './types.js'

export interface ParsedCall {
  id: JsonRpcId
  version: JsonRpcVersion
  /** A valid JSON-RPC 2.0 request without an `id` member: executed, never answered. Never set on an invalid one. */
  notification: boolean
  /** Set when the element is valid. */
  call?: RpcCall
  /** Set when the element is not a valid request. */
  error?: ProxyError
}

export type ParsedBody =
  | { kind: 'single'; entry: ParsedCall }
  | { kind: 'batch'; entries: ParsedCall[] }
  | { kind: 'invalid'; error: ProxyError }

/** Limits checked before any node sees a call (server config). */
export interface BodyLimits {
  /** Most calls in one batch. */
  maxBatchSize: number
  /** Largest single call (method and params as sent to a node), bytes. */
  maxCallBytes: number
  /** Deepest nesting of arrays/objects in a call's params. */
  maxParamsDepth: number
}

/**
 * Parses a body into calls. Each call over `maxCallBytes` or nesting its params deeper than
 * `maxParamsDepth` gets SY_REQUEST_TOO_LARGE in its own entry (other batch entries proceed): the
 * proxy's own verdict, so no node ever sees it and no node can be blamed for refusing it. Sizes are
 * measured only when the whole body is larger than `maxCallBytes`, so small requests pay nothing.
 */
export function parseBody(text: string, limits: BodyLimits): ParsedBody {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return { kind: 'invalid', error: new ProxyError('SY_PARSE_ERROR', 'Parse error: the request body is not valid JSON') }
  }
  const measure = text.length > limits.maxCallBytes / 3 && Buffer.byteLength(text) > limits.maxCallBytes
  const parse = (value: unknown): ParsedCall => withinLimits(parseCall(value), limits, measure)
  if (Array.isArray(body)) {
    if (body.length === 0) return { kind: 'invalid', error: new ProxyError('SY_INVALID_REQUEST', 'Invalid Request: empty batch') }
    if (body.length > limits.maxBatchSize) {
      return {
        kind: 'invalid',
        error: new ProxyError('SY_BATCH_TOO_LARGE', `Invalid Request: batch of ${body.length} calls exceeds the limit of ${limits.maxBatchSize}`, { limit: limits.maxBatchSize }),
      }
    }
    return { kind: 'batch', entries: body.map(parse) }
  }
  return { kind: 'single', entry: parse(body) }
}

function withinLimits(entry: ParsedCall, limits: BodyLimits, measure: boolean): ParsedCall {
  const call = entry.call
  if (call === undefined) return entry
  if (exceedsDepth(call.params, limits.maxParamsDepth)) {
    return tooLarge(entry, `Request too large: params nest deeper than ${limits.maxParamsDepth} levels (server.maxParamsDepth)`, { limit: limits.maxParamsDepth, bound: 'server.maxParamsDepth' })
  }
  if (measure) {
    const bytes = Buffer.byteLength(call.method) + Buffer.byteLength(JSON.stringify(call.params ?? []))
    if (bytes > limits.maxCallBytes) {
      return tooLarge(entry, `Request too large: this call is ${bytes} bytes, over the limit of ${limits.maxCallBytes} (server.maxCallBytes)`, {
        limit: limits.maxCallBytes,
        bytes,
        bound: 'server.maxCallBytes',
      })
    }
  }
  return entry
}

function tooLarge(entry: ParsedCall, message: string, details: Record<string, string | number>): ParsedCall {
  const { call: _call, ...rest } = entry
  return { ...rest, error: new ProxyError('SY_REQUEST_TOO_LARGE', message, details) }
}

/** Whether `value` nests arrays/objects deeper than `maxDepth` (params itself is level 1). Iterative: no stack to overflow. */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return false
  const stack: Array<{ value: object; depth: number }> = [{ value, depth: 1 }]
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!
    if (depth > maxDepth) return true
    const children = Array.isArray(current) ? current : Object.values(current)
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 })
    }
  }
  return false
}

/**
 * One request object → a call, or the Invalid Request error its reply carries. JSON-RPC 2.0 §4–5:
 * only a valid request without an `id` member is a notification; an invalid one is always
 * answered, with its id when that id is usable and `null` otherwise (`{"jsonrpc":"2.0"}` gets an
 * error with id null, never silence). 1.0 (bitcoind: no `jsonrpc`, or "1.0"/"1.1") is always answered.
 */
export function parseCall(value: unknown): ParsedCall {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(null, '2.0', 'Invalid Request: expected a JSON-RPC request object')
  }
  const request = value as Record<string, unknown>
  // Own members only: a body is plain JSON, so nothing may come from Object.prototype.
  const hasId = Object.hasOwn(request, 'id')
  const rawId = hasId ? request.id : undefined
  // A number too large for a double (1e400) parses as Infinity and would be echoed as null: not an id the client could match.
  const idUsable = rawId === null || typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId))
  const id: JsonRpcId = idUsable ? (rawId as JsonRpcId) : null
  const jsonrpc = Object.hasOwn(request, 'jsonrpc') ? request.jsonrpc : undefined
  let version: JsonRpcVersion
  if (jsonrpc === '2.0') version = '2.0'
  else if (jsonrpc === undefined || jsonrpc === '1.0' || jsonrpc === '1.1') version = '1.0'
  else return invalid(id, '2.0', 'Invalid Request: jsonrpc must be "2.0" (or absent / "1.0" for JSON-RPC 1.0)')
  if (hasId && !idUsable) {
    return invalid(null, version, typeof rawId === 'number' ? 'Invalid Request: id is a number beyond the range of a double' : 'Invalid Request: id must be a string, a number or null')
  }
  const method = Object.hasOwn(request, 'method') ? request.method : undefined
  if (typeof method !== 'string' || method === '') return invalid(id, version, 'Invalid Request: method must be a non-empty string')
  const params = Object.hasOwn(request, 'params') ? request.params : undefined
  if (params !== undefined && params !== null && typeof params !== 'object') {
    return invalid(id, version, 'Invalid Request: params must be an array or an object')
  }
  // JSON-RPC 1.0 (bitcoind) always replies, even without an id; only 2.0 has notifications.
  const notification = version === '2.0' && !hasId
  const call: RpcCall = { method, params: (params ?? undefined) as RpcCall['params'] }
  return { id, version, notification, call }
}

function invalid(id: JsonRpcId, version: JsonRpcVersion, message: string): ParsedCall {
  return { id, version, notification: false, error: new ProxyError('SY_INVALID_REQUEST', message) }
}
