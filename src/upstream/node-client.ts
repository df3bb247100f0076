/**
 * HTTP JSON-RPC client for one node: keep-alive pool, per-attempt timeout, and the one place that
 * turns an HTTP exchange into either an answer or a NodeFailure. The URL (and any credentials or
 * API key in it) stays inside this module: messages name the node by id only.
 *
 * Time spent inside switchyard is never charged to the node: a call waits for one of the
 * `connections` slots before its timer starts (so undici never queues it), and a timer that fires
 * much later than scheduled (switchyard's event loop was blocked) gives the reply one more turn of
 * the loop and, if it is still missing, reports the timeout as `stalled`.
 */
import { Pool } from 'undici'
import type { CredentialSource } from '../chain-adapter.js'
import type { JsonRpcErrorObject, JsonRpcVersion, RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import { type NodeFailure, shortNodeMessage } from './node-failure.js'
import type { CallOptions, CallOutcome, NodeTransport } from './node-transport.js'
import { type ReplyBudget, replyHoldOf } from './reply-budget.js'

export interface NodeClientOptions {
  nodeId: string
  url: string
  /** Basic-auth credentials; override any user:password in the URL. */
  username?: string | undefined
  password?: string | undefined
  /** The family's own credentials (bitcoind cookie file): read at start and after a 401. */
  credentials?: CredentialSource | undefined
  /** Version of the JSON-RPC envelope sent to the node. */
  version: JsonRpcVersion
  /**
   * Calls in flight to the node at once, and sockets kept open to it. A further call waits for a
   * slot before its timeout starts. The proxy sets it to routing.maxInFlightPerNode. Default 64.
   */
  connections?: number
  /** Idle keep-alive sockets are closed after this long, ms. Default 30000. */
  keepAliveTimeoutMs?: number
  /** Largest reply read for one call, bytes; larger → `reply-too-large`. Default 32 MiB. */
  maxReplyBytes?: number
  /** Reply bytes held in memory across all clients of the process; full → `overloaded`. Default: unbounded. */
  replyBudget?: ReplyBudget | undefined
}

/** Statuses that mean "node unavailable" even when a JSON body comes with them. */
const UNAVAILABLE_STATUSES = new Set([401, 403, 407, 408, 429, 502, 503, 504])
/** Statuses that are a verdict on the request (malformed, too large, URI/headers too long) when no JSON-RPC reply comes with them. */
const REQUEST_STATUSES = new Set([400, 413, 414, 431])
const DEFAULT_MAX_REPLY_BYTES = 32 * 1024 * 1024
/**
 * A request body at least this large that the node's socket closes on (EPIPE, reset) while we send
 * it is more likely refused for its size than a sign of a dead node: anvil closes the socket on
 * bodies over about 1.5 MB, proxies in front of hosted nodes do the same with their own limits.
 */
export const LARGE_REQUEST_BYTES = 256 * 1024
const SEND_FAILURE_CODES = new Set(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'])

/**
 * How late a timer may fire before the timeout is blamed on switchyard's own event loop:
 * 100 ms, or a tenth of the timeout for longer ones. Timers in a healthy Node process fire within
 * a few ms (GC pauses stay well under 100 ms at our heap sizes); beyond this, the loop was not
 * reading sockets for a meaningful part of the node's time budget, so its reply may have been
 * waiting unread.
 */
export function stallThresholdMs(timeoutMs: number): number {
  return Math.max(100, timeoutMs / 10)
}

class ReplyLimitError extends Error {
  constructor(readonly failure: NodeFailure) {
    super(failure.message)
  }
}

export class NodeClient implements NodeTransport {
  readonly nodeId: string
  readonly #pool: Pool
  readonly #path: string
  readonly #version: JsonRpcVersion
  readonly #credentials: CredentialSource | undefined
  readonly #connections: number
  readonly #maxReplyBytes: number
  readonly #replyBudget: ReplyBudget | undefined
  #authorization: string | undefined
  #nextId = 1
  #active = 0
  readonly #waiting: Array<() => void> = []

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
    this.#credentials = options.credentials
    this.#connections = options.connections ?? 64
    this.#maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES
    this.#replyBudget = options.replyBudget
    this.#pool = new Pool(url.origin, {
      connections: this.#connections,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      // Our own timer bounds each attempt; undici's per-phase timeouts only backstop it.
      headersTimeout: 0,
      bodyTimeout: 0,
    })
  }

  /** Calls holding a connection slot now. */
  get activeCalls(): number {
    return this.#active
  }

  /** Reads the family's credentials (cookie file), if any. Called before the first probe; re-called on 401. */
  async loadCredentials(): Promise<void> {
    if (this.#credentials === undefined) return
    this.#authorization = await this.#credentials.authorization()
  }

  async call(call: RpcCall, options: CallOptions): Promise<CallOutcome> {
    // A free slot is taken synchronously: no extra await on the common path.
    const slot = this.#acquireSlot(options.signal)
    if (slot !== true && !(await slot)) {
      return { ok: false, failure: { kind: 'aborted', message: `request to node ${this.nodeId} was cancelled` }, latencyMs: 0 }
    }
    try {
      return await this.#send(call, options)
    } finally {
      this.#releaseSlot()
    }
  }

  async #send(call: RpcCall, options: CallOptions): Promise<CallOutcome> {
    const id = this.#nextId++
    const envelope =
      this.#version === '2.0'
        ? { jsonrpc: '2.0', id, method: call.method, params: call.params ?? [] }
        : { jsonrpc: '1.0', id, method: call.method, params: call.params ?? [] }
    const body = JSON.stringify(envelope)
    const started = performance.now()
    const controller = new AbortController()
    let timedOut = false
    let stalled = false
    let settled = false
    const dueAt = started + options.timeoutMs
    const timer = setTimeout(() => {
      if (performance.now() - dueAt > stallThresholdMs(options.timeoutMs)) {
        // The loop was blocked: let the poll phase read whatever arrived meanwhile before judging.
        stalled = true
        setImmediate(() => {
          if (settled) return
          timedOut = true
          controller.abort()
        })
        return
      }
      timedOut = true
      controller.abort()
    }, options.timeoutMs)
    const onOuterAbort = (): void => controller.abort()
    options.signal?.addEventListener('abort', onOuterAbort, { once: true })
    if (options.signal?.aborted === true) controller.abort()
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.#authorization !== undefined) headers.authorization = this.#authorization
    const held = { bytes: 0 }
    try {
      const response = await this.#pool.request({ path: this.#path, method: 'POST', headers, body, signal: controller.signal })
      const text = await this.#readReply(response, held)
      const latencyMs = performance.now() - started
      const outcome = interpret(this.nodeId, id, response.statusCode, text)
      if (!outcome.ok && response.statusCode === 401 && this.#credentials !== undefined) {
        // bitcoind rewrites its cookie on restart: pick up the new one for the next call.
        void this.loadCredentials().catch(() => undefined)
      }
      return outcome.ok ? { ok: true, answer: outcome.answer, latencyMs } : { ok: false, failure: outcome.failure, latencyMs }
    } catch (error) {
      const latencyMs = performance.now() - started
      if (error instanceof ReplyLimitError) return { ok: false, failure: error.failure, latencyMs }
      // The client going away wins over a timer that fired meanwhile: neither is the node's doing then.
      if (options.signal?.aborted === true) {
        return { ok: false, failure: { kind: 'aborted', message: `request to node ${this.nodeId} was cancelled` }, latencyMs }
      }
      if (timedOut) {
        const failure: NodeFailure = stalled
          ? { kind: 'timeout', stalled: true, message: `node ${this.nodeId} did not answer within ${options.timeoutMs} ms while switchyard's event loop was stalled` }
          : { kind: 'timeout', message: `node ${this.nodeId} did not answer within ${options.timeoutMs} ms` }
        return { ok: false, failure, latencyMs }
      }
      const code = errorCode(error)
      const bodyBytes = Buffer.byteLength(body)
      if (SEND_FAILURE_CODES.has(code) && bodyBytes >= LARGE_REQUEST_BYTES) {
        return {
          ok: false,
          failure: { kind: 'request-rejected', message: `node ${this.nodeId} closed the connection (${code}) on a ${bodyBytes}-byte request` },
          latencyMs,
        }
      }
      return { ok: false, failure: { kind: 'connect', message: `node ${this.nodeId} connection failed: ${code}` }, latencyMs }
    } finally {
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onOuterAbort)
      const budget = this.#replyBudget
      if (budget !== undefined && held.bytes > 0) {
        const bytes = held.bytes
        const hold = replyHoldOf(options.signal)
        if (hold === undefined) budget.release(bytes)
        else hold.defer(() => budget.release(bytes))
      }
    }
  }

  /**
   * Reads the reply within `maxReplyBytes` and the shared budget. A declared length is checked
   * (and reserved) before any byte is read; a streamed one chunk by chunk. `held.bytes` is what the
   * caller releases once the call is over.
   */
  async #readReply(response: { headers: Record<string, string | string[] | undefined>; body: AsyncIterable<Buffer> & { destroy(): unknown } }, held: { bytes: number }): Promise<string> {
    const declared = Number(response.headers['content-length'])
    if (Number.isFinite(declared) && declared > 0) {
      if (declared > this.#maxReplyBytes) {
        response.body.destroy()
        throw new ReplyLimitError(this.#tooLarge(declared))
      }
      if (this.#replyBudget !== undefined) {
        if (!this.#replyBudget.tryReserve(declared)) {
          response.body.destroy()
          throw new ReplyLimitError(this.#overloaded(declared))
        }
        held.bytes = declared
      }
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of response.body) {
      size += chunk.length
      if (size > this.#maxReplyBytes) throw new ReplyLimitError(this.#tooLarge(size))
      if (this.#replyBudget !== undefined && size > held.bytes) {
        const more = size - held.bytes
        if (!this.#replyBudget.tryReserve(more)) throw new ReplyLimitError(this.#overloaded(size))
        held.bytes += more
      }
      chunks.push(chunk)
    }
    return Buffer.concat(chunks, size).toString('utf8')
  }

  #tooLarge(bytes: number): NodeFailure {
    return { kind: 'reply-too-large', message: `node ${this.nodeId} reply of ${bytes}+ bytes exceeds the limit of ${this.#maxReplyBytes} bytes` }
  }

  #overloaded(bytes: number): NodeFailure {
    const capacity = this.#replyBudget?.capacityBytes ?? 0
    return { kind: 'overloaded', message: `reply of ${bytes}+ bytes from node ${this.nodeId} does not fit the ${capacity}-byte budget of replies in memory` }
  }

  /** Waits for a connection slot (no timer runs meanwhile); false when aborted while waiting. */
  #acquireSlot(signal: AbortSignal | undefined): Promise<boolean> | boolean {
    if (signal?.aborted === true) return false
    if (this.#active < this.#connections) {
      this.#active += 1
      return true
    }
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(grant)
        if (index >= 0) this.#waiting.splice(index, 1)
        resolve(false)
      }
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort)
        this.#active += 1
        resolve(true)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(grant)
    })
  }

  #releaseSlot(): void {
    this.#active -= 1
    this.#waiting.shift()?.()
  }

  async close(): Promise<void> {
    await this.#pool.destroy()
  }
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
 * is unavailable whatever the body says. An error reply with `id: null` (the node could not read
 * our request: anvil on a body it will not take) and 400/413/414/431 without a JSON-RPC reply are
 * verdicts on the request, judged by the router once another node has seen the same call.
 */
export function interpret(nodeId: string, expectedId: number, status: number, text: string): Interpretation {
  if (UNAVAILABLE_STATUSES.has(status)) return { ok: false, failure: httpFailure(nodeId, status) }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    if (REQUEST_STATUSES.has(status)) return { ok: false, failure: requestStatusFailure(nodeId, status) }
    if (status >= 400) return { ok: false, failure: httpFailure(nodeId, status) }
    return { ok: false, failure: { kind: 'bad-response', message: `node ${nodeId} sent a reply that is not JSON` } }
  }
  const answer = toAnswer(body, expectedId)
  if (answer !== undefined) return { ok: true, answer }
  const nullIdError = nullIdErrorOf(body)
  if (nullIdError !== undefined) {
    return {
      ok: false,
      failure: { kind: 'request-rejected', message: `node ${nodeId} rejected the request: ${nullIdError.code} ${shortNodeMessage(nullIdError.message)}` },
    }
  }
  if (REQUEST_STATUSES.has(status)) return { ok: false, failure: requestStatusFailure(nodeId, status) }
  if (status >= 400) return { ok: false, failure: httpFailure(nodeId, status) }
  return { ok: false, failure: { kind: 'bad-response', message: `node ${nodeId} sent a reply that is not a JSON-RPC response` } }
}

function httpFailure(nodeId: string, status: number): NodeFailure {
  return { kind: 'http-status', httpStatus: status, message: `node ${nodeId} answered HTTP ${status}` }
}

function requestStatusFailure(nodeId: string, status: number): NodeFailure {
  return { kind: 'request-rejected', httpStatus: status, message: `node ${nodeId} rejected the request with HTTP ${status}` }
}

function nullIdErrorOf(body: unknown): JsonRpcErrorObject | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const reply = body as Record<string, unknown>
  return reply.id === null && isErrorObject(reply.error) ? reply.error : undefined
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
