/**
 * Bounds on client connections, which Node's HTTP server leaves nearly open-ended (Fastify's
 * defaults: no request timeout, headers checked every 30 s, 72 s keep-alive, no cap):
 *
 * - a cap on open sockets: at the cap, a new connection takes the slot of the socket that is
 *   doing the least for anyone (see `evictionTier`), so clients that send requests are still
 *   served while hundreds of sockets hang on partial headers or drip a body;
 * - header, whole-request and keep-alive timeouts, checked every second (or more often);
 * - a body declared (`Content-Length`) over `server.bodyLimitBytes` is answered 413 before a byte
 *   of it is read, and without `100 Continue` when the client asked; the connection then closes
 *   the way RFC 9112 §9.6 asks (half-close, keep reading and discarding for a while), so the
 *   client can read the 413 instead of hitting EPIPE / ECONNRESET on its next write;
 * - HTTP-level errors (timeout, oversized headers, malformed HTTP) answered as JSON-RPC errors.
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, Server, ServerResponse, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ProxyConfig, ServerConfig } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import { shapeReply } from '../jsonrpc/reply.js'

export type ConnectionLimits = Pick<ServerConfig, 'maxConnections' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'bodyLimitBytes'>

/** How often Node looks for requests past their header/request timeout: a timeout fires at most this late. */
export function checkingIntervalMs(limits: Pick<ConnectionLimits, 'headersTimeoutMs'>): number {
  return Math.max(10, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 2)))
}

/**
 * The Fastify options that carry these limits to Node's HTTP server. Fastify overwrites the
 * server's `keepAliveTimeout` and `requestTimeout` with its own options, so both places get them.
 */
export function connectionServerOptions(limits: ConnectionLimits): {
  keepAliveTimeout: number
  requestTimeout: number
  http: ServerOptions
  clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => void
} {
  return {
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(limits),
    },
    clientErrorHandler: answerClientError,
  }
}

/** What Node's HTTP parser or its timeouts refused, as a JSON-RPC error (id null: no request was read). */
export function clientErrorResponse(code: string | undefined): { status: number; error: ProxyError } | undefined {
  if (code === 'ECONNRESET' || code === 'EPIPE') return undefined
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      error: new ProxyError('SY_REQUEST_TIMEOUT', 'the request was not received in time (headers within server.headersTimeoutMs, all of it within server.requestTimeoutMs)'),
    }
  }
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, error: new ProxyError('SY_HEADERS_TOO_LARGE', 'request headers are too large') }
  return { status: 400, error: new ProxyError('SY_INVALID_REQUEST', 'malformed HTTP request') }
}

function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  const answer = clientErrorResponse(error.code)
  // A request that timed out may still be arriving: the socket is destroyed, not lingered on,
  // so nothing of it can reach a handler after its client was told it failed.
  if (answer !== undefined && socket.writable && socket.bytesWritten === 0) socket.write(rawResponse(answer.status, answer.error))
  socket.destroy()
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' }

function rawResponse(status: number, error: ProxyError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(shapeReply(null, '2.0', { error: error.toJsonRpcError() }))
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, 'content-type: application/json; charset=utf-8', `content-length: ${Buffer.byteLength(body)}`, 'connection: close']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

interface Tracked {
  /** Order of the last change of state (connect, request start, response end, linger): older first. */
  since: number
  /** Responses finished on this socket. */
  served: number
  /** Requests whose headers arrived and whose response is not finished. */
  active: Set<IncomingMessage>
  /** Answered and closing: only discarding what the client still sends. */
  lingering: boolean
}

/**
 * Which socket gives up its slot to a new connection, lowest tier first, oldest first within a
 * tier; `undefined`: never (a request being handled, or a response being written).
 *
 * | tier | socket | why |
 * |---|---|---|
 * | 0 | answered and lingering | its business is done |
 * | 1 | never completed a request: silent, or its headers still arriving | what slow-header floods look like; real clients send a request at once |
 * | 2 | served before, no request now (idle keep-alive) | the client reconnects when it needs to |
 * | 3 | a request whose body is still arriving | a slow upload loses to new clients only when nothing else can |
 */
export function evictionTier(socket: { lingering: boolean; served: number; active: number; receivingBody: boolean }): number | undefined {
  if (socket.lingering) return 0
  if (socket.active === 0) return socket.served === 0 ? 1 : 2
  return socket.receivingBody ? 3 : undefined
}

export interface ConnectionStats {
  open: number
  /** Sockets closed to make room for a new connection. */
  evicted: number
  /** New connections closed at once: every open socket was busy with a request. */
  refused: number
  /** Bodies answered 413 before being read. */
  earlyRejected: number
}

/**
 * Watches one HTTP server's sockets: the cap with eviction, `Expect: 100-continue` for bodies
 * over the limit, and the early 413 with a lingering close (`onRequest`, first of the app's hooks).
 * A socket counts as busy while a request on it is being handled (from its headers to the end of
 * its response, SSE streams included); a future WebSocket endpoint's upgraded sockets never emit
 * 'request', so it must keep them out of eviction itself.
 */
export class ConnectionGuard {
  static readonly #byServer = new WeakMap<Server, ConnectionGuard>()
  /** The guard watching `server` (an app's `app.server`), for its stats. */
  static of(server: Server): ConnectionGuard | undefined {
    return ConnectionGuard.#byServer.get(server)
  }

  readonly #limits: ConnectionLimits
  readonly #open = new Map<Socket, Tracked>()
  #order = 0
  #evicted = 0
  #refused = 0
  #earlyRejected = 0

  constructor(server: Server, limits: ConnectionLimits) {
    this.#limits = limits
    ConnectionGuard.#byServer.set(server, this)
    server.on('connection', (socket: Socket) => this.#admit(socket))
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.#track(request, response))
    // Node sends `100 Continue` by itself unless someone listens: a body over the limit must never be invited.
    server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
      if (!this.#declaresTooLarge(request)) response.writeContinue()
      server.emit('request', request, response)
    })
  }

  stats(): ConnectionStats {
    return { open: this.#open.size, evicted: this.#evicted, refused: this.#refused, earlyRejected: this.#earlyRejected }
  }

  /**
   * At close: sockets that connected but never sent a byte (a browser's preconnect, a balancer's
   * TCP check) carry no request, yet Node's `server.close()` waits for them until
   * `server.requestTimeoutMs`, past a shutdown's drain deadline. Idle keep-alive sockets are
   * Fastify's to close; sockets with a request in flight are left to finish.
   */
  closeSilent(): number {
    let closed = 0
    for (const [socket, tracked] of this.#open) {
      if (tracked.active.size > 0 || socket.bytesRead > 0) continue
      socket.destroy()
      closed += 1
    }
    return closed
  }

  /**
   * A WebSocket upgrade was accepted on this request's socket: the socket is busy from now on
   * (never evicted for a new connection, never closed as silent) until it closes.
   */
  upgraded(request: IncomingMessage): void {
    const tracked = this.#open.get(request.socket)
    if (tracked === undefined) return
    tracked.active.add(request)
    tracked.since = ++this.#order
  }

  /** Fastify `onRequest` hook: drops requests pipelined behind an answered 413, answers declared over-limit bodies. */
  readonly onRequest = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    // A callback hook (no promise per request); a refused request ends here, done() not called.
    const socket = request.raw.socket
    if (this.#open.get(socket)?.lingering === true) {
      void reply.hijack()
      socket.destroy()
      return
    }
    if (this.#declaresTooLarge(request.raw) && this.refuseBody(request, reply)) return
    // An upgrade answered with a plain HTTP response (refused, or a path without WebSocket): its
    // socket belongs to no HTTP exchange, so it is closed once the response is out, as
    // @fastify/websocket does on its own routes.
    if (request.raw.headers.upgrade !== undefined) reply.raw.once('finish', () => socket.destroy())
    done()
  }

  /**
   * Answers 413 SY_BODY_TOO_LARGE on the raw socket, then half-closes and discards the rest of
   * the body for up to `requestTimeoutMs` (or until the client closes). Returns false, leaving
   * the reply to Fastify, when the socket also carries another request's response.
   */
  refuseBody(request: FastifyRequest, reply: FastifyReply): boolean {
    const raw = request.raw
    const socket = raw.socket
    const tracked = this.#open.get(socket)
    if (tracked === undefined || tracked.active.size > 1 || !socket.writable) return false
    void reply.hijack()
    const limit = this.#limits.bodyLimitBytes
    socket.end(rawResponse(413, new ProxyError('SY_BODY_TOO_LARGE', `request body exceeds ${limit} bytes`, { limit }), { 'x-request-id': request.id }))
    this.#earlyRejected += 1
    tracked.lingering = true
    tracked.since = ++this.#order
    raw.resume()
    const linger = setTimeout(() => socket.destroy(), this.#limits.requestTimeoutMs)
    linger.unref()
    socket.once('close', () => clearTimeout(linger))
    return true
  }

  #declaresTooLarge(request: IncomingMessage): boolean {
    const declared = request.headers['content-length']
    return declared !== undefined && Number(declared) > this.#limits.bodyLimitBytes
  }

  #admit(socket: Socket): void {
    if (this.#open.size >= this.#limits.maxConnections) this.#forgetDestroyed()
    if (this.#open.size >= this.#limits.maxConnections) {
      const victim = this.#victim()
      if (victim === undefined) {
        this.#refused += 1
        socket.destroy()
        return
      }
      this.#evicted += 1
      this.#open.delete(victim)
      victim.destroy()
    }
    this.#open.set(socket, { since: ++this.#order, served: 0, active: new Set(), lingering: false })
    socket.once('close', () => this.#open.delete(socket))
  }

  #track(request: IncomingMessage, response: ServerResponse): void {
    const tracked = this.#open.get(request.socket)
    if (tracked === undefined) return
    tracked.active.add(request)
    tracked.since = ++this.#order
    response.once('close', () => {
      tracked.active.delete(request)
      tracked.served += 1
      tracked.since = ++this.#order
    })
  }

  /** Sockets already destroyed whose 'close' has not been emitted yet hold no slot. */
  #forgetDestroyed(): void {
    for (const socket of this.#open.keys()) if (socket.destroyed) this.#open.delete(socket)
  }

  /** O(open sockets), only when the cap is reached. */
  #victim(): Socket | undefined {
    let best: { socket: Socket; tier: number; since: number } | undefined
    for (const [socket, tracked] of this.#open) {
      let receivingBody = false
      for (const request of tracked.active) if (!request.complete) receivingBody = true
      const tier = evictionTier({ lingering: tracked.lingering, served: tracked.served, active: tracked.active.size, receivingBody })
      if (tier === undefined) continue
      if (best === undefined || tier < best.tier || (tier === best.tier && tracked.since < best.since)) best = { socket, tier, since: tracked.since }
    }
    return best?.socket
  }
}

/** Sockets the proxy itself holds to nodes at most: each node's read lane, broadcast lane (8) and a newHeads socket. */
export function upstreamSockets(config: Pick<ProxyConfig, 'chains'>): number {
  let sockets = 0
  for (const chain of Object.values(config.chains)) sockets += chain.nodes.length * (chain.routing.maxInFlightPerNode + 8 + 1)
  return sockets
}

/** Files besides sockets: the journal (database, WAL), stdio, the event loop's own descriptors. */
const OTHER_FILES = 32

/**
 * A warning when `server.maxConnections` plus the node connections can exceed the open-file
 * limit: past it, accepting a client or opening a node connection fails with EMFILE, and a
 * client flood would look like failing nodes. `undefined` when there is room or the limit is unknown.
 */
export function fileLimitWarning(maxConnections: number, upstream: number, openFileLimit: number | undefined): string | undefined {
  if (openFileLimit === undefined) return undefined
  const needed = maxConnections + upstream + OTHER_FILES
  if (needed <= openFileLimit) return undefined
  return `server.maxConnections (${maxConnections}) + node connections (up to ${upstream}) + ${OTHER_FILES} other files exceed the open-file limit (${openFileLimit}): raise the limit (ulimit -n, systemd LimitNOFILE) or lower server.maxConnections / routing.maxInFlightPerNode`
}

/** The soft open-file limit of this process (Linux `/proc/self/limits`); undefined elsewhere. */
export function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((row) => row.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft)
  } catch {
    return undefined
  }
}
