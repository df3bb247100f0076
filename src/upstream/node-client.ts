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
import { type Dispatcher, Pool } from 'undici'
import type { CredentialSource } from '../chain-adapter.js'
import { type JsonRpcErrorObject, type JsonRpcVersion, type RpcAnswer, type RpcCall, withRawResult } from '../jsonrpc/types.js'
import { type NodeFailure, shortNodeMessage } from './node-failure.js'
import type { BatchOutcome, CallOptions, CallOutcome, NodeTransport } from './node-transport.js'
import { type BatchEntriesOutcome, type BatchStats, CallBatcher } from './call-batcher.js'
import { type ReplyBudget, replyHoldOf } from './reply-budget.js'
import type { CallSignal } from '../util/call-signal.js'

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

const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' }

/** Turns a complete reply into the outcome of the request with id `id` (a batch's first id). */
type ReplyReader<T> = (status: number, text: string, latencyMs: number, id: number) => T

interface ReplyLimits {
  readonly maxReplyBytes: number
  readonly replyBudget: ReplyBudget | undefined
}

/**
 * One call's HTTP exchange on undici's dispatch API: the reply is gathered from its chunks as they
 * come (no body stream, no AbortController: one timer that aborts the request itself), within
 * `maxReplyBytes` and the shared reply budget. A declared length is checked (and reserved) before
 * any byte is read; a streamed one chunk by chunk. The outcome is settled once: by the reply, the
 * timer, the caller's signal or a transport error; whatever undici reports after that is ignored.
 */
class NodeExchange<T extends CallOutcome | BatchOutcome | BatchEntriesOutcome> implements Dispatcher.DispatchHandler {
  settled = false
  #controller: Dispatcher.DispatchController | undefined
  #status = 0
  #chunks: Buffer[] = []
  #size = 0
  /** Budget bytes reserved for this reply, released once the outcome is settled. */
  #held = 0
  #stalled = false
  readonly #started = performance.now()
  readonly #timer: NodeJS.Timeout
  #onOuterAbort: (() => void) | undefined

  constructor(
    private readonly client: NodeClient,
    /** The outcome of a complete reply (status and text) to the request with id `id` that took `latencyMs`. */
    private readonly read: ReplyReader<T>,
    private readonly id: number,
    private readonly body: string,
    private readonly options: CallOptions,
    private readonly resolve: (outcome: T) => void,
  ) {
    const dueAt = this.#started + options.timeoutMs
    this.#timer = setTimeout(() => {
      if (performance.now() - dueAt > stallThresholdMs(options.timeoutMs)) {
        // The loop was blocked: let the poll phase read whatever arrived meanwhile before judging.
        this.#stalled = true
        setImmediate(() => this.#timeout())
        return
      }
      this.#timeout()
    }, options.timeoutMs)
    const signal = options.signal
    if (signal === undefined) return
    if (signal.aborted) {
      this.#cancelled()
      return
    }
    this.#onOuterAbort = () => this.#cancelled()
    signal.addEventListener('abort', this.#onOuterAbort, { once: true })
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.settled) controller.abort(new Error('call settled before it was sent'))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.settled) return
    this.#status = statusCode
    const declared = Number(headers['content-length'])
    if (!Number.isFinite(declared) || declared <= 0) return
    const { maxReplyBytes, replyBudget } = this.client.limits
    if (declared > maxReplyBytes) return this.#limit(controller, this.#tooLarge(declared, maxReplyBytes))
    if (replyBudget === undefined) return
    if (!replyBudget.tryReserve(declared)) return this.#limit(controller, this.#overloaded(declared, replyBudget))
    this.#held = declared
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return
    this.#size += chunk.length
    const { maxReplyBytes, replyBudget } = this.client.limits
    if (this.#size > maxReplyBytes) return this.#limit(controller, this.#tooLarge(this.#size, maxReplyBytes))
    if (replyBudget !== undefined && this.#size > this.#held) {
      if (!replyBudget.tryReserve(this.#size - this.#held)) return this.#limit(controller, this.#overloaded(this.#size, replyBudget))
      this.#held = this.#size
    }
    this.#chunks.push(chunk)
  }

  onResponseEnd(): void {
    if (this.settled) return
    const chunks = this.#chunks
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, this.#size).toString('utf8')
    const latencyMs = performance.now() - this.#started
    const outcome = this.read(this.#status, text, latencyMs, this.id)
    if (!outcome.ok && this.#status === 401) this.client.unauthorized()
    this.#settle(outcome)
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return
    const nodeId = this.client.nodeId
    const code = errorCode(error)
    const bodyBytes = Buffer.byteLength(this.body)
    const failure: NodeFailure =
      SEND_FAILURE_CODES.has(code) && bodyBytes >= LARGE_REQUEST_BYTES
        ? { kind: 'request-rejected', message: `node ${nodeId} closed the connection (${code}) on a ${bodyBytes}-byte request` }
        : { kind: 'connect', message: `node ${nodeId} connection failed: ${code}` }
    this.#fail(failure, performance.now() - this.#started)
  }

  #timeout(): void {
    if (this.settled) return
    const nodeId = this.client.nodeId
    const timeoutMs = this.options.timeoutMs
    const failure: NodeFailure = this.#stalled
      ? { kind: 'timeout', stalled: true, message: `node ${nodeId} did not answer within ${timeoutMs} ms while switchyard's event loop was stalled` }
      : { kind: 'timeout', message: `node ${nodeId} did not answer within ${timeoutMs} ms` }
    this.#fail(failure, performance.now() - this.#started)
    this.#abortRequest()
  }

  /** The caller went away: not the node's doing, whatever else happened meanwhile. */
  #cancelled(): void {
    if (this.settled) return
    this.#fail({ kind: 'aborted', message: `request to node ${this.client.nodeId} was cancelled` }, performance.now() - this.#started)
    this.#abortRequest()
  }

  #limit(controller: Dispatcher.DispatchController, failure: NodeFailure): void {
    this.#fail(failure, performance.now() - this.#started)
    controller.abort(new Error(failure.message))
  }

  /** After settling, so that the error undici reports for it (at once) is ignored. */
  #abortRequest(): void {
    // Not on a socket yet: onRequestStart aborts it when undici gets to it.
    this.#controller?.abort(new Error('call settled'))
  }

  #fail(failure: NodeFailure, latencyMs: number): void {
    // Every failure has the same shape in a single call's outcome and in a batch's.
    this.#settle({ ok: false, failure, latencyMs } as T)
  }

  #settle(outcome: T): void {
    this.settled = true
    this.#chunks = []
    clearTimeout(this.#timer)
    if (this.#onOuterAbort !== undefined) this.options.signal?.removeEventListener('abort', this.#onOuterAbort)
    const budget = this.client.limits.replyBudget
    if (budget !== undefined && this.#held > 0) {
      const bytes = this.#held
      this.#held = 0
      const hold = replyHoldOf(this.options.signal)
      if (hold === undefined) budget.release(bytes)
      else hold.defer(() => budget.release(bytes))
    }
    this.resolve(outcome)
  }

  #tooLarge(bytes: number, maxReplyBytes: number): NodeFailure {
    return { kind: 'reply-too-large', message: `node ${this.client.nodeId} reply of ${bytes}+ bytes exceeds the limit of ${maxReplyBytes} bytes` }
  }

  #overloaded(bytes: number, budget: ReplyBudget): NodeFailure {
    return { kind: 'overloaded', message: `reply of ${bytes}+ bytes from node ${this.client.nodeId} does not fit the ${budget.capacityBytes}-byte budget of replies in memory` }
  }
}

export class NodeClient implements NodeTransport {
  readonly nodeId: string
  /** Made at the first call: an undici Pool holds a 2,048-slot queue (16 KB) from birth, and a broadcast lane may never be used. */
  #pool: Pool | undefined
  readonly #origin: string
  readonly #keepAliveTimeoutMs: number
  #closed = false
  readonly #path: string
  readonly #version: JsonRpcVersion
  readonly #credentials: CredentialSource | undefined
  readonly #connections: number
  readonly #limits: ReplyLimits
  #authorization: string | undefined
  #nextId = 1
  #active = 0
  readonly #waiting: Array<() => void> = []
  /** Made at the first call that may share a batch (routing.batch). */
  #batcher: CallBatcher | undefined
  #refusesBatches = false

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
    this.#limits = { maxReplyBytes: options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES, replyBudget: options.replyBudget }
    this.#origin = url.origin
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 30_000
  }

  #poolNow(): Pool {
    this.#pool ??= new Pool(this.#origin, {
      connections: this.#connections,
      keepAliveTimeout: this.#keepAliveTimeoutMs,
      // Our own timer bounds each attempt; undici's per-phase timeouts only backstop it.
      headersTimeout: 0,
      bodyTimeout: 0,
    })
    // Closed before its first call: its calls fail as on any destroyed pool (UND_ERR_DESTROYED).
    if (this.#closed && !this.#pool.destroyed) void this.#pool.destroy()
    return this.#pool
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

  call(call: RpcCall, options: CallOptions): Promise<CallOutcome> {
    const upTo = options.batchUpTo
    if (upTo === undefined) return this.#callOne(call, options)
    if (this.#batcher === undefined) {
      const client = this
      this.#batcher = new CallBatcher({
        nodeId: this.nodeId,
        get refusesBatches() {
          return client.#refusesBatches
        },
        refuseBatches: () => {
          this.#refusesBatches = true
        },
        sendOne: (one, oneOptions) => this.#callOne(one, oneOptions),
        sendBatch: (calls, batchOptions) => this.#callBatchEntries(calls, batchOptions),
      })
    }
    return this.#batcher.call(call, options, upTo)
  }

  /** The node answered a batch (a probe's or reads') with something else than a batch reply: single calls from then on. */
  get refusesBatches(): boolean {
    return this.#refusesBatches
  }

  /** Calls sent in batches of their own (routing.batch) so far, and whether the node refused batches. */
  get batchStats(): BatchStats {
    return this.#batcher?.stats ?? { batches: 0, calls: 0, refused: this.#refusesBatches }
  }

  async #callOne(call: RpcCall, options: CallOptions): Promise<CallOutcome> {
    // A free slot is taken synchronously: no extra await on the common path.
    const slot = this.#acquireSlot(options.signal)
    if (slot !== true && !(await slot)) return this.#cancelledBeforeSending()
    try {
      const id = this.#nextId++
      return await this.#send(JSON.stringify(this.#envelope(call, id)), id, options, this.#readSingle)
    } finally {
      this.#releaseSlot()
    }
  }

  /** The calls as one JSON-RPC batch, in one request and one connection slot (see `interpretBatch`). */
  async callBatch(calls: readonly RpcCall[], options: CallOptions): Promise<BatchOutcome> {
    const outcome = await this.#sendBatch(calls, options, (firstId, status, text, latencyMs): BatchOutcome => ({ ...interpretBatch(this.nodeId, firstId, calls.length, status, text), latencyMs }))
    if (!outcome.ok && outcome.refused === true) this.#refusesBatches = true
    return outcome
  }

  /** As callBatch, with each call's reply on its own (see `interpretBatchEntries`). */
  #callBatchEntries(calls: readonly RpcCall[], options: CallOptions): Promise<BatchEntriesOutcome> {
    return this.#sendBatch(calls, options, (firstId, status, text, latencyMs): BatchEntriesOutcome => ({ ...interpretBatchEntries(this.nodeId, firstId, calls.length, status, text), latencyMs }))
  }

  async #sendBatch<T extends BatchOutcome | BatchEntriesOutcome>(
    calls: readonly RpcCall[],
    options: CallOptions,
    read: (firstId: number, status: number, text: string, latencyMs: number) => T,
  ): Promise<T> {
    const slot = this.#acquireSlot(options.signal)
    if (slot !== true && !(await slot)) return this.#cancelledBeforeSending() as T
    try {
      const firstId = this.#nextId
      this.#nextId += calls.length
      const body = JSON.stringify(calls.map((call, index) => this.#envelope(call, firstId + index)))
      return await this.#send(body, firstId, options, (status, text, latencyMs) => read(firstId, status, text, latencyMs))
    } finally {
      this.#releaseSlot()
    }
  }

  #envelope(call: RpcCall, id: number) {
    return this.#version === '2.0'
      ? { jsonrpc: '2.0', id, method: call.method, params: call.params ?? [] }
      : { jsonrpc: '1.0', id, method: call.method, params: call.params ?? [] }
  }

  #cancelledBeforeSending(): { ok: false; failure: NodeFailure; latencyMs: number } {
    return { ok: false, failure: { kind: 'aborted', message: `request to node ${this.nodeId} was cancelled` }, latencyMs: 0 }
  }

  /** One reader for every single call (no closure per call on the hot path). */
  readonly #readSingle: ReplyReader<CallOutcome> = (status, text, latencyMs, id) => {
    const outcome = interpret(this.nodeId, id, status, text)
    return outcome.ok ? { ok: true, answer: outcome.answer, latencyMs } : { ok: false, failure: outcome.failure, latencyMs }
  }

  #send<T extends CallOutcome | BatchOutcome | BatchEntriesOutcome>(body: string, id: number, options: CallOptions, read: ReplyReader<T>): Promise<T> {
    return new Promise<T>((resolve) => {
      const exchange = new NodeExchange<T>(this, read, id, body, options, resolve)
      // Cancelled before it was sent: nothing goes to the node.
      if (exchange.settled) return
      this.#poolNow().dispatch({ path: this.#path, method: 'POST', headers: this.#headers, body }, exchange)
    })
  }

  get #headers(): Readonly<Record<string, string>> {
    return this.#authorization === undefined ? JSON_HEADERS : { ...JSON_HEADERS, authorization: this.#authorization }
  }

  /** For NodeExchange: the reply limits of this node. */
  get limits(): ReplyLimits {
    return this.#limits
  }

  /** For NodeExchange: the node answered 401. */
  unauthorized(): void {
    // bitcoind rewrites its cookie on restart: pick up the new one for the next call.
    if (this.#credentials !== undefined) void this.loadCredentials().catch(() => undefined)
  }

  /** Waits for a connection slot (no timer runs meanwhile); false when aborted while waiting. */
  #acquireSlot(signal: CallSignal | undefined): Promise<boolean> | boolean {
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
    this.#closed = true
    await this.#pool?.destroy()
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
  const answer = toAnswer(body, expectedId, text)
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

type BatchInterpretation = { ok: true; answers: RpcAnswer[] } | { ok: false; failure: NodeFailure; refused?: true }
type BatchEntriesInterpretation = { ok: true; entries: Array<RpcAnswer | undefined> } | { ok: false; failure: NodeFailure; refused?: true }

/**
 * A batch reply: an array holding one reply per id from `firstId` (any order, ids echoed as
 * numbers or strings). An array with a reply missing or malformed is a bad response; otherwise
 * as `interpretBatchEntries`.
 */
export function interpretBatch(nodeId: string, firstId: number, count: number, status: number, text: string): BatchInterpretation {
  const read = interpretBatchEntries(nodeId, firstId, count, status, text)
  if (!read.ok) return read
  const answers: RpcAnswer[] = []
  for (const entry of read.entries) {
    if (entry === undefined) return { ok: false, failure: { kind: 'bad-response', message: `node ${nodeId} left a call of a batch unanswered` } }
    answers.push(entry)
  }
  return { ok: true, answers }
}

/**
 * A batch reply read entry by entry: each call's reply by its id from `firstId` (any order, ids
 * echoed as numbers or strings), `undefined` for a call left unanswered or answered with something
 * that is not a JSON-RPC reply. Statuses that say the node is unavailable fail the batch as they
 * fail a call. A reply that is not an array (a single error object: "batch not supported", or the
 * null-id error of a node that could not read it), or an HTTP 4xx without one, is `refused`: the
 * node does not take batches.
 */
export function interpretBatchEntries(nodeId: string, firstId: number, count: number, status: number, text: string): BatchEntriesInterpretation {
  if (UNAVAILABLE_STATUSES.has(status)) return { ok: false, failure: httpFailure(nodeId, status) }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    if (status >= 400 && status < 500) return { ok: false, failure: httpFailure(nodeId, status), refused: true }
    if (status >= 500) return { ok: false, failure: httpFailure(nodeId, status) }
    return { ok: false, failure: { kind: 'bad-response', message: `node ${nodeId} sent a reply that is not JSON` } }
  }
  if (!Array.isArray(body)) {
    if (status >= 500) return { ok: false, failure: httpFailure(nodeId, status) }
    return { ok: false, failure: { kind: 'bad-response', message: `node ${nodeId} did not answer a JSON-RPC batch with one` }, refused: true }
  }
  const entries: Array<RpcAnswer | undefined> = new Array<RpcAnswer | undefined>(count).fill(undefined)
  for (const reply of body) {
    const id = typeof reply === 'object' && reply !== null ? Number((reply as { id?: unknown }).id) : Number.NaN
    const index = id - firstId
    if (!Number.isInteger(index) || index < 0 || index >= count || entries[index] !== undefined) continue
    const answer = toAnswer(reply, id, '')
    if (answer !== undefined) entries[index] = answer
  }
  return { ok: true, entries }
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

function toAnswer(body: unknown, expectedId: number, text: string): RpcAnswer | undefined {
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
  const answer = { result: reply.result }
  const raw = text.length >= RAW_RESULT_MIN_BYTES ? rawResultText(text, reply) : undefined
  return raw === undefined ? answer : withRawResult(answer, raw)
}

/**
 * Replies at least this large keep the node's text of their result for the client's reply (below
 * it, serialising the parsed result again costs less than finding its text).
 */
const RAW_RESULT_MIN_BYTES = 512

/** `"error": null, "id": <our id>` closing a bitcoind-style reply (result first), in either order. */
const LEGACY_TAIL = /,\s*(?:"error"\s*:\s*null\s*,\s*"id"\s*:\s*"?\d+"?|"id"\s*:\s*"?\d+"?\s*,\s*"error"\s*:\s*null)\s*\}\s*$/

/**
 * The text of a reply's `result` in the node's own bytes, found without a second parse, for the
 * two layouts nodes send (JSON.parse keeps the members' order, which tells the layout):
 * - `{"jsonrpc":"2.0","id":N,"result":…}` (geth, Erigon, Nethermind, Besu, Reth, anvil, Core 28+):
 *   only primitive members before `result`, so its key's first occurrence is the top-level one,
 *   and the value runs to the closing brace;
 * - `{"result":…,"error":null,"id":N}` (bitcoind before 28, bcoin): `result` first, and the
 *   reply ends with the null error and our numeric id.
 * Any other layout: undefined (the result is serialised again).
 */
function rawResultText(text: string, reply: Record<string, unknown>): string | undefined {
  const keys = Object.keys(reply)
  if (keys[keys.length - 1] === 'result') {
    for (const key of keys) if (key !== 'result' && key !== 'jsonrpc' && key !== 'id') return undefined
    if (typeof reply.jsonrpc === 'object' || typeof reply.id === 'object') return undefined
    const start = valueStart(text, text.indexOf('"result"'))
    const end = text.lastIndexOf('}')
    return start === undefined || end <= start ? undefined : text.slice(start, end).trimEnd()
  }
  if (keys[0] === 'result' && keys.length === 3 && reply.error === null) {
    const open = text.indexOf('{')
    const key = text.indexOf('"result"')
    if (open < 0 || key < 0 || text.slice(open + 1, key).trim() !== '') return undefined
    const start = valueStart(text, key)
    const tail = LEGACY_TAIL.exec(text)
    return start === undefined || tail === null || tail.index <= start ? undefined : text.slice(start, tail.index).trimEnd()
  }
  return undefined
}

/** Where the value after the key at `keyAt` (`"result"`) starts: past the colon and whitespace. */
function valueStart(text: string, keyAt: number): number | undefined {
  if (keyAt < 0) return undefined
  let at = keyAt + '"result"'.length
  while (at < text.length && text.charCodeAt(at) <= 32) at++
  if (text[at] !== ':') return undefined
  at++
  while (at < text.length && text.charCodeAt(at) <= 32) at++
  return at < text.length ? at : undefined
}

function isErrorObject(value: unknown): value is JsonRpcErrorObject {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return typeof candidate.code === 'number' && typeof candidate.message === 'string'
}
