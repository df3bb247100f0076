/**
 * The WebSocket face of a chain: `ws://host:port/rpc/<chain>` (and `/` on a chain's own listener).
 *
 * - Every frame is a JSON-RPC body (single call or batch) answered like `POST /rpc/<chain>`: the
 *   same parser and bounds, the same routing (`proxy.call`: failover, verified reads, broadcasts
 *   through the broadcast path), the same client keys, grants and rate limits (the app's
 *   `ClientGate`, fed the upgrade request's headers for every frame).
 * - The upgrade itself is refused with an HTTP answer before any WebSocket exists: 401/403 for
 *   keys and grants, 404 for an unknown chain, 503 while draining or at `server.ws.maxConnections`.
 * - Subscriptions come from the chain's `ChainStreams` (the pool's quorum head, gap-free):
 *   `eth_subscribe` `newHeads` / `logs` on families that serve them, and `switchyard_subscribe`
 *   `blocks` on every chain with a head stream (bitcoin included), documented in the README.
 * - Bounds: subscriptions per connection; unread bytes per connection (a client that stops
 *   reading is closed with 1008 "slow consumer" instead of growing memory); a ping every
 *   `pingIntervalMs` (no pong by the next one: closed); at listener close every socket is closed
 *   with 1001 "server shutting down" once its calls in flight are answered.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import fastifyWebsocket from '@fastify/websocket'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import type { ClientConfig } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import { type ParsedBody, type ParsedCall, parseBody } from '../jsonrpc/parse.js'
import { type JsonRpcReply, shapeReply } from '../jsonrpc/reply.js'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { Proxy } from '../proxy.js'
import type { ChainStreams, LogsQuery } from '../streams/chain-streams.js'
import { ReplyHold } from '../upstream/reply-budget.js'
import { type CallSignal, CancelSignal } from '../util/call-signal.js'
import { ClientGate } from './client-gate.js'
import { ClientRegistry, decideAccess, decideMethod, presentedKeys } from './client-auth.js'
import { ConnectionGuard } from './connection-limits.js'

/** Close codes (RFC 6455 §7.4.1) this endpoint uses, with the reason text sent along. */
export const WS_CLOSE = {
  /** Listener closing (shutdown, or the app closed). */
  goingAway: { code: 1001, reason: 'server shutting down' },
  /** Unread bytes over `server.ws.maxBufferedBytes`. */
  slowConsumer: { code: 1008, reason: 'slow consumer: unread data over server.ws.maxBufferedBytes' },
  /** The previous ping was not answered by the next one. */
  noPong: { code: 1008, reason: 'no pong: the previous ping was not answered within server.ws.pingIntervalMs' },
  /** The connection's client key was removed or its chain grant revoked by a config reload. */
  revoked: { code: 1008, reason: 'client key or grant revoked' },
  /** The chain was removed by a config reload. */
  chainRemoved: { code: 1001, reason: 'chain removed from the config' },
} as const

/** Subscription methods this endpoint serves itself (never forwarded: node-local state a failover would lose). */
const SUBSCRIBE = new Set(['eth_subscribe', 'switchyard_subscribe'])
const UNSUBSCRIBE = new Set(['eth_unsubscribe', 'switchyard_unsubscribe'])

export interface WebSocketOptions {
  /** Route path. Default `/rpc/:chain`; a chain's own listener uses `/`. */
  path?: string
  /** The app's client gate, so HTTP and WebSocket share rate-limit buckets. Default: a gate of its own. */
  gate?: ClientGate
  /** Where a chain's streams come from. Default `proxy.streams(chain)`; tests and embedders may supply their own. */
  streams?: (chain: string) => ChainStreams | undefined
  /** Answer of a plain GET (no `Upgrade`) on the path. Default: the app's not-found handler, as if there were no GET route. */
  httpHandler?: (request: FastifyRequest, reply: FastifyReply) => unknown
}

export interface WebSocketStats {
  /** Connections open now. */
  open: number
  /** Subscriptions open now, all connections. */
  subscriptions: number
  /** Frames being answered now, all connections. */
  inFlight: number
  /** Upgrades refused (keys, grants, unknown chain, draining, connection cap). */
  refusedUpgrades: number
  slowConsumersClosed: number
  pingTimeoutsClosed: number
  /** Notifications sent. */
  notifications: number
}

export interface WebSocketEndpoint {
  stats(): WebSocketStats
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's WebSocket endpoint (its stats), once `registerWebSocket` ran. */
    switchyardWebSocket?: WebSocketEndpoint
  }
}

/**
 * Why an upgrade is refused, if it is: in this order, so a draining server says so before it
 * checks keys, and a client learns about its key before it learns the server is full.
 */
export function decideUpgrade(input: { draining: boolean; chainKnown: boolean; chain: string; access: ProxyError | undefined; open: number; maxConnections: number }): ProxyError | undefined {
  if (input.draining) return new ProxyError('SY_SHUTTING_DOWN', 'the server is shutting down: reconnect (to another instance)')
  if (!input.chainKnown) return new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${input.chain.slice(0, 64)}"`)
  if (input.access !== undefined) return input.access
  if (input.open >= input.maxConnections) {
    return new ProxyError('SY_OVERLOADED', `too many WebSocket connections (server.ws.maxConnections ${input.maxConnections}): retry shortly`, { limit: input.maxConnections })
  }
  return undefined
}

/** RFC 9110: a 401 names the schemes it takes (as the HTTP gate does). */
const CHALLENGES = ['Bearer realm="switchyard"', 'Basic realm="switchyard", charset="UTF-8"']

export function registerWebSocket(app: FastifyInstance, proxy: Proxy, chainOf: (request: FastifyRequest) => string, options: WebSocketOptions = {}): WebSocketEndpoint {
  const endpoint = new WsEndpoint(proxy, options.gate ?? new ClientGate(proxy), app.log, options.streams ?? ((chain) => proxy.streams(chain)))
  app.decorate('switchyardWebSocket', endpoint)
  // The plugin inside a scope of its own: its per-request hooks (onRequest, onResponse) run for the
  // WebSocket route only, not for every JSON-RPC POST.
  let server: FastifyInstance['websocketServer'] | undefined
  // Still the app's `websocketServer`, as with the plugin at the root: the plugin's decoration of
  // its scope lands here.
  app.decorate('websocketServer', {
    getter: () => server,
    setter: (value: FastifyInstance['websocketServer']) => {
      server = value
    },
  } as unknown as FastifyInstance['websocketServer'])
  void app.register(async (scope) => {
    // Frames are bounded like HTTP bodies; ws's own default (100 MiB) would be far above them.
    await scope.register(fastifyWebsocket, { options: { maxPayload: proxy.config.server.bodyLimitBytes }, preClose: async () => await endpoint.close() })
    scope.route({
      method: 'GET',
      url: options.path ?? '/rpc/:chain',
      preHandler: async (request, reply) => {
        if (!request.ws) return
        const refusal = endpoint.refusal(request, chainOf(request))
        if (refusal === undefined) return
        const headers = refusal.code === 'SY_UNAUTHORIZED' ? { 'www-authenticate': CHALLENGES } : {}
        await reply.code(refusal.httpStatus).headers(headers).type('application/json').send(JSON.stringify(shapeReply(null, '2.0', { error: refusal.toJsonRpcError() })))
      },
      // A plain GET is answered as if this route did not exist: the app's not-found handler says what is wrong (405 "use POST").
      handler: options.httpHandler ?? ((_request, reply) => reply.callNotFound()),
      wsHandler: (socket, request) => {
        ConnectionGuard.of(app.server)?.upgraded(request.raw)
        endpoint.open(socket, request.headers, chainOf(request))
      },
    })
  })
  return endpoint
}

interface Subscription {
  readonly id: string
  readonly method: 'eth_subscription' | 'switchyard_subscription'
  readonly stop: () => void
  /** Notifications that arrived before the subscribe reply went out; undefined once it has. */
  held: unknown[] | undefined
}

interface Connection {
  readonly socket: WebSocket
  readonly headers: IncomingHttpHeaders
  readonly chain: string
  /** Aborted when the socket closes: the frames' calls in flight are cancelled. */
  readonly closed: CancelSignal
  readonly subscriptions: Map<string, Subscription>
  /** Frames being answered. */
  inFlight: number
  /** Resolved when inFlight drops to 0 (shutdown waits for it). */
  onIdle: (() => void) | undefined
  /** Answered the last ping. */
  alive: boolean
  /** Closing by our decision: nothing more is sent. */
  closing: boolean
  /** A ping round has seen it closing (the next one cuts it). */
  closeSeenByPing: boolean
}

class WsEndpoint implements WebSocketEndpoint {
  readonly #proxy: Proxy
  readonly #gate: ClientGate
  readonly #connections = new Set<Connection>()
  #clients: readonly ClientConfig[] | undefined
  #registry: ClientRegistry | undefined
  #pingTimer: NodeJS.Timeout | undefined
  #closed = false
  readonly #stats = { refusedUpgrades: 0, slowConsumersClosed: 0, pingTimeoutsClosed: 0, notifications: 0 }

  readonly #log: FastifyBaseLogger

  readonly #streamsOf: (chain: string) => ChainStreams | undefined

  constructor(proxy: Proxy, gate: ClientGate, log: FastifyBaseLogger, streamsOf: (chain: string) => ChainStreams | undefined) {
    this.#streamsOf = streamsOf
    this.#proxy = proxy
    this.#gate = gate
    this.#log = log
  }

  stats(): WebSocketStats {
    let subscriptions = 0
    let inFlight = 0
    for (const connection of this.#connections) {
      subscriptions += connection.subscriptions.size
      inFlight += connection.inFlight
    }
    return { open: this.#connections.size, subscriptions, inFlight, ...this.#stats }
  }

  /** The configured clients, rebuilt when a reload brings a new list. */
  #registryNow(): ClientRegistry {
    const clients = this.#proxy.config.clients
    if (this.#registry === undefined || clients !== this.#clients) {
      this.#registry = new ClientRegistry(clients)
      this.#clients = clients
    }
    return this.#registry
  }

  /** Keys and chain grant of a connection (at the upgrade, and again after a reload). */
  #access(headers: IncomingHttpHeaders, chain: string): ProxyError | undefined {
    const registry = this.#registryNow()
    if (!registry.enabled) return undefined
    return decideAccess(registry.identify(presentedKeys(headers)), chain)
  }

  refusal(request: FastifyRequest, chain: string): ProxyError | undefined {
    const refusal = decideUpgrade({
      draining: this.#proxy.draining || this.#closed,
      chainKnown: this.#proxy.hasChain(chain),
      chain,
      access: this.#access(request.headers, chain),
      open: this.#connections.size,
      maxConnections: this.#proxy.config.server.ws.maxConnections,
    })
    if (refusal !== undefined) this.#stats.refusedUpgrades += 1
    return refusal
  }

  open(socket: WebSocket, headers: IncomingHttpHeaders, chain: string): void {
    const closed = new CancelSignal()
    const connection: Connection = { socket, headers, chain, closed, subscriptions: new Map(), inFlight: 0, onIdle: undefined, alive: true, closing: false, closeSeenByPing: false }
    this.#connections.add(connection)
    this.#schedulePing()
    socket.on('pong', () => (connection.alive = true))
    // Binary frames are read as UTF-8 text too: some clients send JSON that way.
    socket.on('message', (data) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
      void this.#onFrame(connection, bytes.toString('utf8'))
    })
    socket.once('close', () => {
      this.#connections.delete(connection)
      for (const subscription of connection.subscriptions.values()) subscription.stop()
      connection.subscriptions.clear()
      closed.abort()
      if (this.#connections.size === 0) this.#stopPing()
    })
  }

  /** One frame: a JSON-RPC body, answered with one frame (none for notifications only). */
  async #onFrame(connection: Connection, text: string): Promise<void> {
    if (connection.closing) return
    connection.inFlight += 1
    // Node reply bytes stay counted against server.maxReplyBytesInFlight until this frame's answer is handed to the socket.
    const hold = new ReplyHold()
    const frame = new CancelSignal(hold)
    const unfollow = frame.follow(connection.closed)
    try {
      const answered = await this.#answer(connection, text, frame)
      if (answered?.text !== undefined) this.#send(connection, answered.text)
      // A new subscription's first notification goes out after the reply that names its id.
      for (const after of answered?.after ?? []) after()
    } catch (error) {
      this.#log.error({ err: error, chain: connection.chain }, 'unhandled error in a WebSocket frame')
      // A bug, never a client's fault: answered like HTTP's 500, the connection stays.
      this.#send(connection, JSON.stringify(shapeReply(null, '2.0', { error: new ProxyError('SY_INTERNAL', 'internal error').toJsonRpcError() })))
    } finally {
      hold.release()
      unfollow()
      connection.inFlight -= 1
      if (connection.inFlight === 0) connection.onIdle?.()
    }
  }

  async #answer(connection: Connection, text: string, signal: CallSignal): Promise<{ text: string | undefined; after?: Array<() => void> } | undefined> {
    const { chain } = connection
    if (!this.#proxy.hasChain(chain)) {
      this.#close(connection, WS_CLOSE.chainRemoved)
      return undefined
    }
    const admitted = this.#gate.admit(connection.headers, chain, text)
    if (!admitted.pass) {
      // 401/403 for a whole frame: the key or the chain grant went away in a reload (the upgrade checked both).
      if (admitted.status === 401 || admitted.status === 403) {
        this.#send(connection, admitted.body)
        this.#close(connection, WS_CLOSE.revoked)
        return undefined
      }
      return { text: admitted.body }
    }
    const parsed: ParsedBody = typeof admitted.body === 'string' ? parseBody(admitted.body, this.#proxy.config.server) : admitted.body
    if (parsed.kind === 'invalid') return { text: JSON.stringify(shapeReply(null, '2.0', { error: parsed.error.toJsonRpcError() })) }
    const client = admitted.client
    const entries = parsed.kind === 'single' ? [parsed.entry] : parsed.entries
    const answered = await Promise.all(entries.map((entry) => this.#entry(connection, entry, signal, client)))
    const after = answered.flatMap((one) => (one.after === undefined ? [] : [one.after]))
    const replies = answered.flatMap((one) => (one.reply === undefined ? [] : [one.reply]))
    if (replies.length === 0) return { text: undefined, after }
    return { text: JSON.stringify(parsed.kind === 'single' ? replies[0] : replies), after }
  }

  /** One call of a frame; `after` runs once the reply is sent (releases a new subscription's held notifications). */
  async #entry(connection: Connection, entry: ParsedCall, signal: CallSignal, client: string | undefined): Promise<{ reply?: JsonRpcReply; after?: () => void }> {
    if (entry.call === undefined) {
      const error = entry.error ?? new ProxyError('SY_INVALID_REQUEST', 'Invalid Request')
      return entry.notification ? {} : { reply: shapeReply(entry.id, entry.version, { error: error.toJsonRpcError() }) }
    }
    const call = entry.call
    const kind = this.#proxy.methodClass(connection.chain, call.method)
    // eth_subscribe where the family serves it ('stream'); switchyard_subscribe on every chain.
    const ours = call.method.startsWith('switchyard_') || kind === 'stream'
    if (ours && (SUBSCRIBE.has(call.method) || UNSUBSCRIBE.has(call.method))) {
      const outcome = await this.#subscription(connection, call)
      return { reply: entry.notification ? undefined : shapeReply(entry.id, entry.version, outcome.answer), after: outcome.after }
    }
    if (entry.notification) {
      // Reads have no effect, so skipping them is indistinguishable; broadcasts must still go out.
      if (kind === 'broadcast') await this.#proxy.call(connection.chain, call, { signal, client })
      return {}
    }
    const result = await this.#proxy.call(connection.chain, call, { signal, client })
    return { reply: shapeReply(entry.id, entry.version, result.answer) }
  }

  /** eth_subscribe / eth_unsubscribe / switchyard_subscribe / switchyard_unsubscribe. */
  async #subscription(connection: Connection, call: RpcCall): Promise<{ answer: RpcAnswer; after?: () => void }> {
    const params = Array.isArray(call.params) ? call.params : []
    if (UNSUBSCRIBE.has(call.method)) {
      const id = params[0]
      const subscription = typeof id === 'string' ? connection.subscriptions.get(id) : undefined
      if (subscription === undefined) return { answer: { result: false } }
      subscription.stop()
      connection.subscriptions.delete(subscription.id)
      return { answer: { result: true } }
    }
    const refusal = this.#subscribeRefusal(connection, call.method)
    if (refusal !== undefined) return { answer: { error: refusal.toJsonRpcError() } }
    const streams = this.#streamsOf(connection.chain)
    if (streams === undefined) {
      return { answer: { error: new ProxyError('SY_METHOD_NOT_ALLOWED', `subscriptions are not served on chain ${connection.chain}`, { method: call.method }).toJsonRpcError() } }
    }
    const topic = params[0]
    const id = `0x${randomBytes(16).toString('hex')}`
    const method = call.method === 'eth_subscribe' ? 'eth_subscription' : 'switchyard_subscription'
    const subscription: Subscription = { id, method, stop: () => {}, held: [] }
    const notify = (result: unknown): void => this.#notify(connection, subscription, result)
    // The slot is taken before the (possibly slow) start, so concurrent frames cannot pass the bound.
    connection.subscriptions.set(id, subscription)
    let stop: () => void
    try {
      stop = call.method === 'eth_subscribe' ? await this.#ethSubscribe(streams, topic, params[1], notify) : this.#blocksSubscribe(streams, topic, notify)
    } catch (error) {
      connection.subscriptions.delete(id)
      if (error instanceof ProxyError) return { answer: { error: error.toJsonRpcError() } }
      throw error
    }
    if (connection.closing || connection.subscriptions.get(id) !== subscription) {
      // The connection closed while the subscription started: nobody will ever stop it otherwise.
      stop()
      return { answer: { error: new ProxyError('SY_INVALID_REQUEST', 'the connection closed').toJsonRpcError() } }
    }
    Object.assign(subscription, { stop })
    return {
      answer: { result: id },
      after: () => {
        const held = subscription.held ?? []
        subscription.held = undefined
        for (const result of held) this.#notify(connection, subscription, result)
      },
    }
  }

  #subscribeRefusal(connection: Connection, method: string): ProxyError | undefined {
    // The gate checks the `subscriptions` grant of methods the family classifies; switchyard_* are checked here.
    const registry = this.#registryNow()
    if (registry.enabled) {
      const client = registry.identify(presentedKeys(connection.headers))
      if (client !== undefined) {
        const denied = decideMethod(client, method, 'subscriptions')
        if (denied !== undefined) return denied
      }
    }
    const limit = this.#proxy.config.server.ws.maxSubscriptionsPerConnection
    if (connection.subscriptions.size >= limit) {
      return new ProxyError('SY_TOO_MANY_SUBSCRIPTIONS', `this connection already holds ${limit} subscriptions (server.ws.maxSubscriptionsPerConnection)`, { limit })
    }
    return undefined
  }

  /** geth's eth_subscribe: `newHeads` (headers; a reorg's new branch follows as headers), `logs` (with `removed: true` on reorg). */
  async #ethSubscribe(streams: ChainStreams, topic: unknown, filter: unknown, notify: (result: unknown) => void): Promise<() => void> {
    if (topic === 'newHeads') {
      return streams.subscribeHeads((event) => {
        if (event.kind === 'head') notify(event.head.header)
      })
    }
    if (topic === 'logs') {
      if (streams.subscribeLogs === undefined) throw new ProxyError('SY_INVALID_PARAMS', 'logs subscriptions are not served on this chain')
      const query = logsQuery(filter)
      return streams.subscribeLogs(query, (event) => notify({ ...event.log, removed: event.removed }))
    }
    if (topic === 'newPendingTransactions') {
      if (streams.subscribePending === undefined) throw new ProxyError('SY_INVALID_PARAMS', 'newPendingTransactions is not served on this chain')
      // geth's `true` (full transactions) is not offered: the hashes are what every node's filter gives.
      if (filter !== undefined && filter !== false) throw new ProxyError('SY_INVALID_PARAMS', 'newPendingTransactions: only transaction hashes are served (no second parameter, or false)', { subscription: topic })
      return await streams.subscribePending(notify)
    }
    throw new ProxyError('SY_INVALID_PARAMS', `unknown subscription ${JSON.stringify(topic)?.slice(0, 64)}: newHeads, logs or newPendingTransactions`, {})
  }

  /** switchyard_subscribe('blocks'): { type: 'block', height, hash, parentHash, header } and { type: 'reorg', fromHeight, removed: [{ height, hash }] }. */
  #blocksSubscribe(streams: ChainStreams, topic: unknown, notify: (result: unknown) => void): () => void {
    if (topic !== 'blocks') throw new ProxyError('SY_INVALID_PARAMS', `unknown subscription ${JSON.stringify(topic)?.slice(0, 64)}: blocks`, {})
    return streams.subscribeHeads((event) => {
      if (event.kind === 'head') notify({ type: 'block', height: event.head.height, hash: event.head.hash, parentHash: event.head.parentHash, header: event.head.header })
      else notify({ type: 'reorg', fromHeight: event.fromHeight, removed: event.removed.map((head) => ({ height: head.height, hash: head.hash })) })
    })
  }

  #notify(connection: Connection, subscription: Subscription, result: unknown): void {
    if (!connection.subscriptions.has(subscription.id) && subscription.held === undefined) return
    if (subscription.held !== undefined) {
      subscription.held.push(result)
      return
    }
    this.#stats.notifications += 1
    this.#send(connection, JSON.stringify({ jsonrpc: '2.0', method: subscription.method, params: { subscription: subscription.id, result } }))
  }

  /** Hands a frame to the socket, unless its client has left more than maxBufferedBytes unread: then the connection is closed instead. */
  #send(connection: Connection, text: string): void {
    const { socket } = connection
    if (connection.closing || socket.readyState !== socket.OPEN) return
    if (socket.bufferedAmount > this.#proxy.config.server.ws.maxBufferedBytes) {
      this.#stats.slowConsumersClosed += 1
      this.#close(connection, WS_CLOSE.slowConsumer)
      return
    }
    socket.send(text)
  }

  /**
   * Closes with a code and reason. The close frame queues behind data still unsent; a peer that
   * has not completed the close by the ping round after next is cut (ws itself would wait 30 s),
   * so a peer that never reads again holds its unread bytes at most two ping intervals.
   */
  #close(connection: Connection, why: { code: number; reason: string }): void {
    if (connection.closing) return
    connection.closing = true
    for (const subscription of connection.subscriptions.values()) subscription.stop()
    connection.subscriptions.clear()
    connection.socket.close(why.code, why.reason)
  }

  /** One timer for all connections, re-armed with the current `pingIntervalMs` (a reload applies at the next ping). */
  #schedulePing(): void {
    if (this.#pingTimer !== undefined || this.#closed) return
    this.#pingTimer = setTimeout(() => {
      // After this loop turn's I/O: a pong that arrived while the event loop was stalled counts.
      setImmediate(() => this.#pingRound())
    }, this.#proxy.config.server.ws.pingIntervalMs)
    this.#pingTimer.unref()
  }

  /** A ping to every connection; one that did not answer the previous ping is closed (and cut if it ignored the close as well). */
  #pingRound(): void {
    this.#pingTimer = undefined
    if (this.#closed) return
    for (const connection of this.#connections) {
      if (connection.closing) {
        // Asked to close at least a whole ping interval ago and still open: the peer does not answer (or read).
        if (connection.closeSeenByPing) connection.socket.terminate()
        connection.closeSeenByPing = true
        continue
      }
      if (!connection.alive) {
        this.#stats.pingTimeoutsClosed += 1
        this.#close(connection, WS_CLOSE.noPong)
        continue
      }
      connection.alive = false
      connection.socket.ping()
    }
    if (this.#connections.size > 0) this.#schedulePing()
  }

  #stopPing(): void {
    clearTimeout(this.#pingTimer)
    this.#pingTimer = undefined
  }

  /**
   * Listener closing: no new upgrades; each connection is closed with 1001 once its frames in
   * flight are answered, and resolves when every socket has closed (a peer that does not answer
   * the close frame is cut after one ping interval, at most 5 s).
   */
  async close(): Promise<void> {
    this.#closed = true
    this.#stopPing()
    const graceMs = Math.min(this.#proxy.config.server.ws.pingIntervalMs, 5_000)
    await Promise.all(
      [...this.#connections].map(async (connection) => {
        if (connection.inFlight > 0) await new Promise<void>((resolve) => (connection.onIdle = resolve))
        if (connection.socket.readyState === connection.socket.CLOSED) return
        const closed = new Promise<void>((resolve) => connection.socket.once('close', () => resolve()))
        this.#close(connection, WS_CLOSE.goingAway)
        const cut = setTimeout(() => connection.socket.terminate(), graceMs)
        await closed
        clearTimeout(cut)
      }),
    )
  }
}

/** The criteria of a logs subscription (eth_newFilter's, without a block range). */
function logsQuery(filter: unknown): LogsQuery {
  if (filter === undefined || filter === null) return {}
  if (typeof filter !== 'object' || Array.isArray(filter)) throw new ProxyError('SY_INVALID_PARAMS', 'logs filter must be an object { address?, topics? }')
  const { address, topics } = filter as { address?: unknown; topics?: unknown }
  const isHex = (value: unknown): value is string => typeof value === 'string' && /^0x[0-9a-fA-F]*$/.test(value)
  if (address !== undefined && address !== null && !isHex(address) && !(Array.isArray(address) && address.every(isHex))) {
    throw new ProxyError('SY_INVALID_PARAMS', 'logs filter address must be an address or a list of addresses')
  }
  if (topics !== undefined && topics !== null) {
    const topicOk = (topic: unknown): boolean => topic === null || isHex(topic) || (Array.isArray(topic) && topic.every((item) => item === null || isHex(item)))
    if (!Array.isArray(topics) || !topics.every(topicOk)) throw new ProxyError('SY_INVALID_PARAMS', 'logs filter topics must be a list of topics, lists of topics or null')
  }
  return {
    address: address === null ? undefined : (address as string | string[] | undefined),
    topics: topics === null ? undefined : (topics as Array<string | string[] | null> | undefined),
  }
}
