/**
 * Per-chain listeners (`chains.<name>.listen: { host, port }`): a port that serves one chain's
 * JSON-RPC at `/`, so clients configured with host:port only (bitcoin-cli, LND, BTCPay, electrs,
 * btcd's rpcclient, the `bitcoin-core` npm client) need nothing but the port. Each is a small
 * Fastify app with the same RPC handling as `/rpc/:chain` (rpc-http.ts: client gate — shared, so
 * one client's rate limits hold across ports —, abort on close, reply hold, statuses, headers),
 * the same connection limits and timeouts (`server.*`, per listener), `Connection: close` while
 * the proxy drains, and closes with the main app (`appShutdownSteps(app, proxy, listeners)`).
 * Listeners are read at start: a reload that changes them reports `chains.<name>.listen` in
 * `restartRequired`; a chain removed by a reload answers SY_UNKNOWN_CHAIN on its old port.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { ProxyError } from '../errors/proxy-error.js'
import { shapeReply } from '../jsonrpc/reply.js'
import type { Proxy } from '../proxy.js'
import { listensBeyondLoopback } from './client-gate.js'
import { ConnectionGuard } from './connection-limits.js'
import { answerUnrouted, clientGateOf, registerRpcBasics, registerRpcRoutes, rpcServerOptions } from './rpc-http.js'
import { registerWebSocket } from './ws-endpoint.js'

export interface ChainListenerOptions {
  /** Logger of the apps (e.g. the main app's `app.log`); default: pino at the config's log level. */
  logger?: FastifyBaseLogger
}

/** One running listener. */
export interface ChainListener {
  readonly chain: string
  readonly app: FastifyInstance
  /** `http://host:port` it listens on (the actual port when the config says 0). */
  readonly url: string
}

/** A chain's own app: its JSON-RPC at `/` (see rpc-http.ts for the paths), nothing else. */
export function buildChainListenerApp(proxy: Proxy, chain: string, options: ChainListenerOptions = {}): FastifyInstance {
  const { server, log } = proxy.config
  const base = rpcServerOptions(proxy, options.logger === undefined ? { level: log.level, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] } : undefined)
  const app = options.logger === undefined ? Fastify(base) : Fastify({ ...base, logger: undefined, loggerInstance: options.logger.child({ listener: chain }) })
  registerRpcBasics(app, proxy, new ConnectionGuard(app.server, server))
  const gate = clientGateOf(proxy)
  registerRpcRoutes(app, proxy, gate, { base: '/', chainOf: () => chain })
  // The same WebSocket endpoint as ws://…/rpc/<chain> on the main port, at ws://host:port/.
  registerWebSocket(app, proxy, () => chain, { path: '/', gate })
  app.setNotFoundHandler((request, reply) => {
    if (answerUnrouted(proxy, request, reply, chain, { rpc: '/' }) !== undefined) return
    const error = proxy.hasChain(chain)
      ? new ProxyError('SY_INVALID_REQUEST', `no route ${request.method} ${request.url.split('?')[0]}`)
      : new ProxyError('SY_UNKNOWN_CHAIN', `chain "${chain}" is no longer configured (its listener closes at the next restart)`)
    void reply.code(404).type('application/json').send(JSON.stringify(shapeReply(null, '2.0', { error: error.toJsonRpcError() })))
  })
  app.addHook('onListen', async () => {
    if (!gate.enabled && listensBeyondLoopback(app.server.address())) app.log.warn(`no clients are configured: the ${chain} listener answers anyone who can connect (set clients: in the config to require keys)`)
  })
  return app
}

/** The running listeners of a proxy; closing them is part of the shutdown steps. */
export class ChainListeners {
  readonly listeners: readonly ChainListener[]

  constructor(listeners: readonly ChainListener[]) {
    this.listeners = listeners
  }

  /** The URL a chain's listener serves, if it has one. */
  urlOf(chain: string): string | undefined {
    return this.listeners.find((listener) => listener.chain === chain)?.url
  }

  /** Stops accepting; resolves once every accepted request is answered (as Fastify's `close`). */
  async close(): Promise<void> {
    await Promise.all(this.listeners.map(async (listener) => await listener.app.close()))
  }

  /** The drain deadline passed: cuts connections still open. */
  closeAllConnections(): void {
    for (const listener of this.listeners) listener.app.server.closeAllConnections()
  }
}

/**
 * Starts a listener for every chain with `listen` in the proxy's running config. If one cannot
 * listen (port taken), those already started are closed and the error is thrown.
 */
export async function startChainListeners(proxy: Proxy, options: ChainListenerOptions = {}): Promise<ChainListeners> {
  const started: ChainListener[] = []
  try {
    for (const [chain, config] of Object.entries(proxy.config.chains)) {
      if (config.listen === undefined) continue
      const app = buildChainListenerApp(proxy, chain, options)
      started.push({ chain, app, url: '' })
      const url = await app.listen({ host: config.listen.host, port: config.listen.port })
      started[started.length - 1] = { chain, app, url }
    }
  } catch (error) {
    await Promise.allSettled(started.map(async (listener) => await listener.app.close()))
    throw error
  }
  return new ChainListeners(started)
}
