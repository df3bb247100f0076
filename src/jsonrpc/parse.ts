/**
 * Turns a client's body into calls, keeping each call's id and JSON-RPC version so its reply can
 * be shaped the way that client expects (bitcoind clients send 1.0; EVM clients 2.0).
 */
import { ProxyError } from '../errors/proxy-error.js'
import type { JsonRpcId, JsonRpcVersion, RpcCall } from './types.js'

export interface ParsedCall {
  id: JsonRpcId
  version: JsonRpcVersion
  /** JSON-RPC 2.0 request without an `id` member: executed, never answered. */
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

export function parseBody(text: string, maxBatchSize: number): ParsedBody {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return { kind: 'invalid', error: new ProxyError('SY_PARSE_ERROR', 'Parse error: the request body is not valid JSON') }
  }
  if (Array.isArray(body)) {
    if (body.length === 0) return { kind: 'invalid', error: new ProxyError('SY_INVALID_REQUEST', 'Invalid Request: empty batch') }
    if (body.length > maxBatchSize) {
      return {
        kind: 'invalid',
        error: new ProxyError('SY_BATCH_TOO_LARGE', `Invalid Request: batch of ${body.length} calls exceeds the limit of ${maxBatchSize}`, { limit: maxBatchSize }),
      }
    }
    return { kind: 'batch', entries: body.map(parseCall) }
  }
  return { kind: 'single', entry: parseCall(body) }
}

export function parseCall(value: unknown): ParsedCall {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(null, '2.0', 'Invalid Request: expected a JSON-RPC request object')
  }
  const request = value as Record<string, unknown>
  const rawId = request.id
  const id: JsonRpcId = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null
  let version: JsonRpcVersion
  if (request.jsonrpc === '2.0') version = '2.0'
  else if (request.jsonrpc === undefined || request.jsonrpc === '1.0' || request.jsonrpc === '1.1') version = '1.0'
  else return invalid(id, '2.0', 'Invalid Request: jsonrpc must be "2.0" (or absent / "1.0" for JSON-RPC 1.0)')
  if (rawId !== undefined && rawId !== null && typeof rawId !== 'string' && typeof rawId !== 'number') {
    return invalid(null, version, 'Invalid Request: id must be a string, a number or null')
  }
  // JSON-RPC 1.0 (bitcoind) always replies, even without an id; only 2.0 has notifications.
  const notification = version === '2.0' && !('id' in request)
  if (typeof request.method !== 'string' || request.method === '') {
    return { ...invalid(id, version, 'Invalid Request: method must be a non-empty string'), notification }
  }
  const params = request.params
  if (params !== undefined && params !== null && typeof params !== 'object') {
    return { ...invalid(id, version, 'Invalid Request: params must be an array or an object'), notification }
  }
  const call: RpcCall = { method: request.method, params: (params ?? undefined) as RpcCall['params'] }
  return { id, version, notification, call }
}

function invalid(id: JsonRpcId, version: JsonRpcVersion, message: string): ParsedCall {
  return { id, version, notification: false, error: new ProxyError('SY_INVALID_REQUEST', message) }
}
