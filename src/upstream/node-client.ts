/**
 * HTTP JSON-RPC client for one node: keep-alive pool, per-attempt timeout, and the one place that
 * turns an HTTP exchange into either an answer or a NodeFailure. The URL (and any credentials or
 * API key in it) stays inside this module: messages name the node by id only.
 */
import { readFile } from 'node:fs/promises'
import { Pool } from 'undici'
import type { JsonRpcErrorObject, JsonRpcVersion, RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { NodeFailure } from './node-failure.js'
import type { CallOptions, CallOutcome, NodeTransport } from './node-transport.js'

export interface NodeClientOptions {
  nodeId: string
  url: string
  /** Basic-auth credentials; override any user:password in the URL. */
  username?: string | undefined
  password?: string | undefined
  /** Bitcoin Core cookie file (`__cookie__:<hex>`); read once at start. */
  cookieFile?: string | undefined
  /** Version of the JSON-RPC envelope sent to the node. */
  version: JsonRpcVersion
  /** Sockets kept open to the node. Default 64. */
  connections?: number
  /** Idle keep-alive sockets are closed after this long, ms. Default 30000. */
  keepAliveTimeoutMs?: number
}

/** Statuses that mean "node unavailable" even when a JSON body comes with them. */
const UNAVAILABLE_STATUSES = new Set([401, 403, 407, 408, 429, 502, 503, 504])
/** Largest node reply read, bytes: bounds memory if a node misbehaves. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024

export class NodeClient implements NodeTransport {
  readonly nodeId: string
  readonly #pool: Pool
  readonly #path: string
  readonly #version: JsonRpcVersion
  readonly #cookieFile: string | undefined
  #authorization: string | undefined
  #nextId = 1

  constructor(options: NodeClientOptions) {
    this.nodeId = options.nodeId
    const url = new URL(options.url)
    if (options.username !== undefined || options.password !== undefined) {
      this.#authorization = `Basic ${Buffer.from(`${options.username ?? ''}:${options.password ?? ''}`).toString('base64')}`
    } else if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username)
      const password = decodeURIComponent(url.password)
      this.#authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
    }
    this.#path = `${url.pathname}${url.search}` || '/'
    this.#version = options.version
    this.#cookieFile = options.cookieFile
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 64,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      // Our own timer bounds each attempt; undici's per-phase timeouts only backstop it.
      headersTimeout: 0,
      bodyTimeout: 0,
    })
  }

  /** Reads the cookie file, if any. Called before the first probe; re-called on 401. */
  async loadCredentials(): Promise<void> {
    if (this.#cookieFile === undefined) return
    const cookie = (await readFile(this.#cookieFile, 'utf8')).trim()
    this.#authorization = `Basic ${Buffer.from(cookie).toString('base64')}`
  }

  async call(call: RpcCall, options: CallOptions): Promise<CallOutcome> {
    const id = this.#nextId++
    const envelope =
      this.#version === '2.0'
        ? { jsonrpc: '2.0', id, method: call.method, params: call.params ?? [] }
        : { jsonrpc: '1.0', id, method: call.method, params: call.params ?? [] }
    const started = performance.now()
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, options.timeoutMs)
    const onOuterAbort = (): void => controller.abort()
    options.signal?.addEventListener('abort', onOuterAbort, { once: true })
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.#authorization !== undefined) headers.authorization = this.#authorization
    try {
      const response = await this.#pool.request({
        path: this.#path,
        method: 'POST',
        headers,
        body: JSON.stringify(envelope),
        signal: controller.signal,
      })
      const text = await readLimited(response.body)
      const latencyMs = performance.now() - started
      const outcome = interpret(this.nodeId, id, response.statusCode, text)
      if (!outcome.ok && response.statusCode === 401 && this.#cookieFile !== undefined) {
        // bitcoind rewrites its cookie on restart: pick up the new one for the next call.
        void this.loadCredentials().catch(() => undefined)
      }
      return outcome.ok ? { ok: true, answer: outcome.answer, latencyMs } : { ok: false, failure: outcome.failure, latencyMs }
    } catch (error) {
      const latencyMs = performance.now() - started
      if (timedOut) {
        return { ok: false, failure: { kind: 'timeout', message: `node ${this.nodeId} did not answer within ${options.timeoutMs} ms` }, latencyMs }
      }
      if (options.signal?.aborted === true) {
        return { ok: false, failure: { kind: 'aborted', message: `request to node ${this.nodeId} was cancelled` }, latencyMs }
      }
      return { ok: false, failure: { kind: 'connect', message: `node ${this.nodeId} connection failed: ${errorCode(error)}` }, latencyMs }
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onOuterAbort)
    }
  }

  async close(): Promise<void> {
    await this.#pool.destroy()
  }
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > MAX_REPLY_BYTES) throw Object.assign(new Error('reply too large'), { code: 'REPLY_TOO_LARGE' })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Network error codes only (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, ...): messages may echo the URL. */
function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return 'network error'
}

type Interpretation = { ok: true; answer: RpcAnswer } | { ok: false; failure: NodeFailure }

/**
 * Body first, status second: bitcoind answers legacy (1.0) RPC errors with HTTP 500 or 404 and a
 * valid error body, which is the node's answer; 429/502/503/504 (and auth failures) mean the node
 * is unavailable whatever the body says.
 */
export function interpret(nodeId: string, expectedId: number, status: number, text: string): Interpretation {
  if (UNAVAILABLE_STATUSES.has(status)) {
    return { ok: false, failure: { kind: 'http-status', httpStatus: status, message: `node ${nodeId} answered HTTP ${status}` } }
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    if (status >= 400) {
      return { ok: false, failure: { kind: 'http-status', httpStatus: status, message: `node ${nodeId} answered HTTP ${status}` } }
    }
    return { ok: false, failure: { kind: 'bad-response', message: `node ${nodeId} sent a reply that is not JSON` } }
  }
  const answer = toAnswer(body, expectedId)
  if (answer !== undefined) return { ok: true, answer }
  if (status >= 400) {
    return { ok: false, failure: { kind: 'http-status', httpStatus: status, message: `node ${nodeId} answered HTTP ${status}` } }
  }
  return { ok: false, failure: { kind: 'bad-response', message: `node ${nodeId} sent a reply that is not a JSON-RPC response` } }
}

function toAnswer(body: unknown, expectedId: number): RpcAnswer | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const reply = body as Record<string, unknown>
  // Nodes echo our numeric id; some stringify it. Anything else is someone else's reply.
  if (reply.id !== expectedId && reply.id !== String(expectedId)) return undefined
  const error = reply.error
  if (error !== undefined && error !== null) {
    if (!isErrorObject(error)) return undefined
    const normalized: JsonRpcErrorObject = { code: error.code, message: error.message }
    if (error.data !== undefined) normalized.data = error.data
    return { error: normalized }
  }
  if (!('result' in reply)) return undefined
  return { result: reply.result }
}

function isErrorObject(value: unknown): value is JsonRpcErrorObject {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return typeof candidate.code === 'number' && typeof candidate.message === 'string'
}
