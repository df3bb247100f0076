/**
 * JSON-RPC over HTTP for one chain, as every listener serves it (the main app's `/rpc/:chain`,
 * `server.defaultChain` at `/`, and each `chains.<name>.listen` port): the client gate, aborting
 * calls when the client goes away, holding node reply bytes until the reply is written,
 * `handleRpcBody`, and the routing headers. One implementation, registered by every app.
 *
 * Paths, as bitcoind clients use them:
 * - `POST <base>` and `POST <base>/` are the chain (the `bitcoin-core` npm client always appends `/`);
 * - `POST <base>/wallet/<name>` (bitcoin-cli `-rpcwallet`, the `wallet` option of client
 *   libraries) is answered, after the client gate, with SY_WALLET_NOT_SERVED for every call;
 * - any other method on these paths is 405 with `Allow: POST` (Core: "JSON-RPC server handles
 *   only POST requests"), a WebSocket upgrade on them says where WebSocket is served; never
 *   "unknown chain" for a chain that exists.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify'
import { ProxyError } from '../errors/proxy-error.js'
import { shapeReply } from '../jsonrpc/reply.js'
import type { Proxy } from '../proxy.js'
import { ReplyHold } from '../upstream/reply-budget.js'
import { CancelSignal } from '../util/call-signal.js'
import { ClientGate } from './client-gate.js'
import { type ConnectionGuard, connectionServerOptions } from './connection-limits.js'
import { nextRequestId } from './request-id.js'
import { type HandledRequest, handleRpcBody, refuseRpcBody } from './rpc-route.js'

/** A client's x-request-id is kept when it is tame; otherwise a fresh one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/** Bitcoin Core's answer to a request that is not a POST (src/httprpc.cpp). */
const ONLY_POST = 'JSON-RPC server handles only POST requests'

/** Core's challenge (src/httprpc.cpp `WWW_AUTH_HEADER_DATA`). */
const CORE_CHALLENGE = 'Basic realm="jsonrpc"'

/** The gate every listener of a proxy shares, so a client's rate limits hold across ports. */
const gates = new WeakMap<Proxy, ClientGate>()

/** The proxy's client gate: the one `buildApp` made (with its metrics), else a new one shared from now on. */
export function clientGateOf(proxy: Proxy, make: () => ClientGate = () => new ClientGate(proxy)): ClientGate {
  let gate = gates.get(proxy)
  if (gate === undefined) {
    gate = make()
    gates.set(proxy, gate)
  }
  return gate
}

/**
 * Fastify options of an app serving JSON-RPC (the main app's and each chain listener's): the
 * body limit, the connection timeouts (`connectionServerOptions`), forwarding headers, request ids.
 */
export function rpcServerOptions(proxy: Proxy, logger: FastifyServerOptions['logger']): FastifyServerOptions & ReturnType<typeof connectionServerOptions> {
  const { server } = proxy.config
  return {
    logger,
    bodyLimit: server.bodyLimitBytes,
    trustProxy: server.trustProxy.length > 0 ? [...server.trustProxy] : false,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (nothing logs per request; the request id is in every reply's x-request-id).
    childLoggerFactory: (logger) => logger,
    // Graceful shutdown closes apps after the grace period: a late request is served (with Connection: close).
    return503OnClosing: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId()
    },
    ...connectionServerOptions(server),
  }
}

/**
 * The HTTP basics of an app serving JSON-RPC besides the routes: bodies taken as raw text (a parse
 * error is a JSON-RPC -32700, not an HTML 400), HTTP-level errors as JSON-RPC errors, request ids,
 * and `Connection: close` on every response while the proxy drains.
 */
export function registerRpcBasics(app: FastifyInstance, proxy: Proxy, connections: ConnectionGuard): void {
  const { server } = proxy.config
  app.addHook('onRequest', connections.onRequest)
  // A callback hook, not an async one: every reply passes here, and a promise per reply is measurable.
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id)
    if (proxy.draining) void reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('preClose', async () => {
    connections.closeSilent()
  })
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  app.setErrorHandler((error: { code?: string; statusCode?: number }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && connections.refuseBody(request, reply)) return
    const proxyError =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new ProxyError('SY_BODY_TOO_LARGE', `request body exceeds ${server.bodyLimitBytes} bytes`, { limit: server.bodyLimitBytes })
        : error.statusCode !== undefined && error.statusCode < 500
          ? new ProxyError('SY_INVALID_REQUEST', 'Invalid Request')
          : new ProxyError('SY_INTERNAL', 'internal error')
    if (proxyError.code === 'SY_INTERNAL') app.log.error({ err: error }, 'unhandled error')
    void sendError(reply, proxyError.httpStatus, proxyError)
  })
}

/** Which chain a request is for: a fixed one (a chain listener, `server.defaultChain`) or the `:chain` route parameter. */
export type ChainOf = (request: FastifyRequest) => string | undefined

export interface RpcRoutes {
  /** Path of the chain, e.g. `/rpc/:chain` or `/` (the wallet paths hang below it). */
  base: string
  chainOf: ChainOf
  /** What `POST <base>` answers when `chainOf` gives nothing (no `server.defaultChain`). */
  noChain?: string
}

/** Registers `POST <base>`, `<base>/` and `<base>/wallet/*` (see the header). */
export function registerRpcRoutes(app: FastifyInstance, proxy: Proxy, gate: ClientGate, routes: RpcRoutes): void {
  const base = routes.base === '/' ? '' : routes.base
  const target = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
    const chain = routes.chainOf(request)
    if (chain === undefined) void sendError(reply, 404, new ProxyError('SY_UNKNOWN_CHAIN', routes.noChain ?? 'no chain at this path'))
    return chain
  }
  const serve = async (request: FastifyRequest<{ Body: string }>, reply: FastifyReply): Promise<FastifyReply> => {
    const chain = target(request, reply)
    return chain === undefined ? reply : await serveRpc(proxy, gate, chain, request, reply)
  }
  const wallet = async (request: FastifyRequest<{ Body: string }>, reply: FastifyReply): Promise<FastifyReply> => {
    const chain = target(request, reply)
    return chain === undefined ? reply : serveWallet(proxy, gate, chain, request, reply)
  }
  app.post(base === '' ? '/' : base, serve)
  if (base !== '') app.post(`${base}/`, serve)
  app.post(`${base}/wallet`, wallet)
  app.post(`${base}/wallet/*`, wallet)
}

/** `POST` of a chain's JSON-RPC body: the gate, then `handleRpcBody`, then the reply with its headers. */
export async function serveRpc(proxy: Proxy, gate: ClientGate, chain: string, request: FastifyRequest<{ Body: string }>, reply: FastifyReply): Promise<FastifyReply> {
  const admitted = gate.admit(request.headers, chain, typeof request.body === 'string' ? request.body : '')
  if (!admitted.pass) return refuse(proxy, chain, request.headers, admitted, reply)
  // Node reply bytes stay counted against server.maxReplyBytesInFlight until this reply is written.
  const hold = new ReplyHold()
  const signal = new CancelSignal(hold)
  reply.raw.once('close', () => {
    // Closed before the reply was written: the client went away, its calls are cancelled.
    if (!reply.raw.writableEnded) signal.abort()
    hold.release()
  })
  const handled = await handleRpcBody(proxy, chain, admitted.body, { signal, client: admitted.client })
  return send(reply, handled)
}

/** `POST <base>/wallet/<name>`: after the gate (as Core checks auth first), every call is refused. */
function serveWallet(proxy: Proxy, gate: ClientGate, chain: string, request: FastifyRequest<{ Body: string }>, reply: FastifyReply): FastifyReply {
  const admitted = gate.admit(request.headers, chain, typeof request.body === 'string' ? request.body : '')
  if (!admitted.pass) return refuse(proxy, chain, request.headers, admitted, reply)
  if (!proxy.hasChain(chain)) return send(reply, refuseRpcBody(proxy, chain, admitted.body, unknownChain(chain)))
  const error = new ProxyError('SY_WALLET_NOT_SERVED', `wallet RPC is not served by switchyard: send calls for chain ${chain} to the chain's own path, without /wallet/<name>`)
  return send(reply, refuseRpcBody(proxy, chain, admitted.body, error))
}

function send(reply: FastifyReply, handled: HandledRequest): FastifyReply {
  if (handled.nodeIds.length > 0) void reply.header('x-switchyard-node', handled.nodeIds.join(','))
  void reply.header('x-switchyard-attempts', String(handled.attempts))
  if (handled.body === undefined) return reply.code(handled.status).send()
  return sendJson(reply, handled.status, handled.body)
}

/**
 * A JSON reply with `Content-Type: application/json` exactly, as Bitcoin Core sends it:
 * python-bitcoinrpc (and Core's own test authproxy) refuse any other value, `; charset=utf-8`
 * included (JSON is UTF-8 by definition, RFC 8259). A Buffer keeps Fastify from appending it.
 */
export function sendJson(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(body, 'utf8'))
}

/**
 * A refusal of the gate. A bitcoind client (basic auth, on a chain whose family speaks bitcoind's
 * HTTP) gets Core's exact 401: an empty body and `WWW-Authenticate: Basic realm="jsonrpc"`,
 * which bitcoin-cli and client libraries turn into their "incorrect rpcuser or rpcpassword"
 * message. Others get the JSON-RPC error shaped like their request.
 */
function refuse(proxy: Proxy, chain: string, headers: IncomingHttpHeaders, refusal: { status: number; body: string; headers: Readonly<Record<string, string | string[]>> }, reply: FastifyReply): FastifyReply {
  if (refusal.status === 401 && speaksBitcoindHttp(proxy, chain) && /^basic\s/i.test(headers.authorization ?? '')) {
    return reply.code(401).header('www-authenticate', CORE_CHALLENGE).send()
  }
  return sendJson(reply.headers(refusal.headers), refusal.status, refusal.body)
}

/** Whether the chain's family gives bitcoind's legacy HTTP statuses (the bitcoin family does). */
function speaksBitcoindHttp(proxy: Proxy, chain: string): boolean {
  return proxy.legacyHttpStatus(chain, { code: -32600, message: '' }, '1.0') !== undefined
}

function unknownChain(chain: string): ProxyError {
  return new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${chain.slice(0, 64)}"`)
}

function sendError(reply: FastifyReply, status: number, error: ProxyError): FastifyReply {
  return sendJson(reply, status, JSON.stringify(shapeReply(null, '2.0', { error: error.toJsonRpcError() })))
}

/**
 * What a request no route took gets, on a path of a chain (`chain` set: `/rpc/<chain>/…`, or any
 * path of a chain listener): another method than POST → 405 with `Allow: POST` (a WebSocket
 * upgrade: where WebSocket is served instead); a POST to a path below the chain that is not
 * served → 404 naming the paths that are. undefined: not a path of an existing chain (the
 * caller answers).
 */
export function answerUnrouted(proxy: Proxy, request: FastifyRequest, reply: FastifyReply, chain: string | undefined, paths: { rpc: string; websocket?: string | undefined }): FastifyReply | undefined {
  if (chain === undefined || !proxy.hasChain(chain)) return undefined
  if (request.method !== 'POST') {
    const upgrade = typeof request.headers.upgrade === 'string' && request.headers.upgrade.toLowerCase() === 'websocket'
    const here = request.url.split('?')[0]
    const elsewhere = paths.websocket !== undefined && paths.websocket !== here ? `: connect to ${paths.websocket}` : ''
    const message = upgrade
      ? `WebSocket is not served at ${here}${elsewhere}; JSON-RPC over HTTP is POST ${paths.rpc}`
      : `${ONLY_POST}: POST ${paths.rpc}`
    return sendError(reply.header('allow', 'POST'), 405, new ProxyError('SY_METHOD_NOT_POST', message))
  }
  return sendError(reply, 404, new ProxyError('SY_INVALID_REQUEST', `no route POST ${request.url.split('?')[0]}: chain ${chain} is served at POST ${paths.rpc}`))
}
