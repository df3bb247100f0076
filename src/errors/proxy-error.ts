import type { JsonRpcErrorObject } from '../jsonrpc/types.js'
import { errorCatalog, type ProxyErrorCode } from './catalog.js'

const brand = Symbol.for('switchyard.error')

/** Detail values carried to clients in `error.data`: node ids and counts, never URLs or secrets. */
export type ErrorDetails = Readonly<
  Record<string, string | number | boolean | readonly string[] | Readonly<Record<string, string>> | ReadonlyArray<Readonly<Record<string, string>>>>
>

/** An error made by the proxy (not a node's answer). */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode
  readonly rpcCode: number
  readonly httpStatus: number
  readonly details: ErrorDetails
  readonly [brand] = true

  constructor(code: ProxyErrorCode, message: string, details: ErrorDetails = {}) {
    super(message)
    this.name = 'ProxyError'
    this.code = code
    this.rpcCode = errorCatalog[code].rpcCode
    this.httpStatus = errorCatalog[code].httpStatus
    this.details = details
  }

  toJsonRpcError(): JsonRpcErrorObject {
    return { code: this.rpcCode, message: this.message, data: { code: this.code, ...this.details } }
  }

  /** Rebuilds a proxy error from its JSON-RPC form (`error.data.code` names the catalog entry). */
  static fromAnswer(error: JsonRpcErrorObject): ProxyError {
    const data = (typeof error.data === 'object' && error.data !== null ? error.data : {}) as Record<string, unknown>
    const code = typeof data.code === 'string' && data.code in errorCatalog ? (data.code as ProxyErrorCode) : 'SY_INTERNAL'
    const { code: _code, ...details } = data
    return new ProxyError(code, error.message, details as ErrorDetails)
  }

  /** HTTP status of a catalog code; 500 for an unknown one. */
  static statusOf(code: string): number {
    return code in errorCatalog ? errorCatalog[code as ProxyErrorCode].httpStatus : 500
  }

  /** Survives duplicated copies of the package, unlike a bare `instanceof`. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

export function isProxyError(value: unknown): value is ProxyError {
  return value instanceof ProxyError
}

/** A node's JSON-RPC error, surfaced to library callers of `proxy.request()`. */
export class NodeRpcError extends Error {
  readonly code: number
  readonly data: unknown
  /** Id of the node that answered. */
  readonly nodeId: string
  constructor(error: JsonRpcErrorObject, nodeId: string) {
    super(error.message)
    this.name = 'NodeRpcError'
    this.code = error.code
    this.data = error.data
    this.nodeId = nodeId
  }
}
