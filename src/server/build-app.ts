/**
 * The HTTP face of a proxy: `POST /rpc/:chain` (JSON-RPC 1.0/2.0, single and batch), the admin
 * snapshot, and health/readiness probes. A thin layer: all decisions live in the Proxy.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { ProxyError, isProxyError } from '../errors/proxy-error.js'
import { shapeReply } from '../jsonrpc/reply.js'
import { startAlertWebhooks } from '../observability/alert-webhooks.js'
import { logProxyEvents } from '../observability/event-log.js'
import { History } from '../observability/history.js'
import { type Metrics, createMetrics, registerMetricsRoute } from '../observability/metrics.js'
import { Timeline } from '../observability/timeline.js'
import type { Proxy } from '../proxy.js'
import { registerDashboard } from '../dashboard/register-dashboard.js'
import { type Clock, systemClock } from '../util/clock.js'
import { adminGuard, metricsGuard } from './admin-guard.js'
import { answerUnrouted, clientGateOf, registerRpcBasics, registerRpcRoutes, rpcServerOptions } from './rpc-http.js'
import type { ConfigReloader } from './config-reloader.js'
import type { ReplicatedAction } from './cluster-policy.js'
import { describeChange, isDeepEqual } from '../runtime/reload-plan.js'
import { EventStreams } from './event-streams.js'
import { LoginThrottle } from './login-throttle.js'
import { ClientGate, listensBeyondLoopback } from './client-gate.js'
import { registerWebSocket } from './ws-endpoint.js'
import { ConnectionGuard, connectionServerOptions, fileLimitWarning, openFileLimit, upstreamSockets } from './connection-limits.js'

export interface AppOptions {
  /** Fastify logger option; default: pino at the config's log level. */
  logger?: FastifyServerOptions['logger']
  /** Dashboard history sampling period, ms. Default 5000. */
  historyIntervalMs?: number
  /** Metrics to serve on /metrics; default: created here over `proxy`. */
  metrics?: Metrics
  /** Admin event stream (SSE) snapshot period, ms. Default 1000. */
  streamIntervalMs?: number
  /** Time source of the failed-login throttle. Default: the system clock. */
  clock?: Clock
  /**
   * Where `POST /admin/api/reload` (and the CLI's SIGHUP) re-reads the config from; the CLI
   * passes its `--config` file. Without one, the route answers 501.
   */
  reloader?: ConfigReloader
  /**
   * Set in a cluster worker (`server.workers` > 1, cluster-worker.ts): /metrics answers every
   * worker's figures, and operator actions taken here are replicated to the other workers.
   */
  cluster?: AppCluster
}

/** What a cluster worker's app needs from its link to the primary (cluster-worker.ts). */
export interface AppCluster {
  /** This worker's slot (0-based) and the number of workers, shown by /healthz. */
  readonly index: number
  readonly count: number
  metricsOf(metrics: Metrics): Pick<Metrics, 'render' | 'contentType'>
  replicate(what: ReplicatedAction): void
}

export function buildApp(proxy: Proxy, options: AppOptions = {}): FastifyInstance {
  const { server, log } = proxy.config
  // The body limit, connection timeouts, forwarding headers and request ids of every JSON-RPC app (rpc-http.ts).
  const app = Fastify(rpcServerOptions(proxy, options.logger ?? { level: log.level, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] }))
  // The connection cap, and bodies declared over the limit refused before they are read: the first onRequest hook.
  const connections = new ConnectionGuard(app.server, server)
  // Raw-text bodies, HTTP errors as JSON-RPC errors, x-request-id, Connection: close while draining, silent sockets closed at close.
  registerRpcBasics(app, proxy, connections)
  if (options.cluster !== undefined) {
    // Which worker answered each response (each keeps its own health view and admin state).
    const worker = String(options.cluster.index)
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('x-switchyard-worker', worker)
      done()
    })
  }
  app.addHook('onListen', async () => {
    const warning = fileLimitWarning(server.maxConnections, upstreamSockets(proxy.config), openFileLimit())
    if (warning !== undefined) app.log.warn(warning)
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!
    // GET (or an upgrade) on a chain's path, or a POST below it that is not served: say what is wrong, not "unknown chain".
    const rpcChain = /^\/rpc\/([^/]+)/.exec(path)?.[1]
    if (answerUnrouted(proxy, request, reply, rpcChain, { rpc: `/rpc/${rpcChain}`, websocket: `/rpc/${rpcChain}` }) !== undefined) return
    if ((path === '/' || path === '/wallet' || path.startsWith('/wallet/')) && answerUnrouted(proxy, request, reply, proxy.config.server.defaultChain, { rpc: '/' }) !== undefined) return
    const error = path.startsWith('/rpc')
      ? new ProxyError('SY_UNKNOWN_CHAIN', `no chain "${(rpcChain ?? '').slice(0, 64)}": use POST /rpc/<chain> with a configured chain name`)
      : new ProxyError('SY_INVALID_REQUEST', `no route ${request.method} ${path}`)
    void reply.code(404).type('application/json').send(JSON.stringify(shapeReply(null, '2.0', { error: error.toJsonRpcError() })))
  })

  // Client keys, grants and rate limits (client-gate.ts); with no `clients` configured /rpc stays open.
  // Shared with the chain listeners (chain-listeners.ts): one client's rate limits hold across ports.
  const gate = clientGateOf(proxy, () => new ClientGate(proxy, { onRefusal: (client, reason, calls) => metrics.clientRefusal(client, reason, calls) }))
  app.addHook('onListen', async () => {
    if (!gate.enabled && listensBeyondLoopback(app.server.address())) app.log.warn('no clients are configured: /rpc answers anyone who can connect (set clients: in the config to require keys)')
  })
  // ws://…/rpc/:chain: the same calls, keys and rate-limit buckets as POST, plus subscriptions (ws-endpoint.ts).
  registerWebSocket(app, proxy, (request) => (request.params as { chain: string }).chain, { gate })

  // POST /rpc/:chain (and /rpc/:chain/, /rpc/:chain/wallet/*), and POST / for server.defaultChain: rpc-http.ts.
  registerRpcRoutes(app, proxy, gate, { base: '/rpc/:chain', chainOf: (request) => (request.params as { chain: string }).chain })
  registerRpcRoutes(app, proxy, gate, { base: '/', chainOf: () => proxy.config.server.defaultChain, noChain: 'no server.defaultChain is set: use POST /rpc/<chain>' })

  const history = new History(proxy, { intervalMs: options.historyIntervalMs })
  const timeline = new Timeline(proxy)
  const metrics = options.metrics ?? createMetrics(proxy)
  // Config is read per request from here on, so a reloaded token or limit applies at once.
  const streams = new EventStreams(proxy, timeline, { intervalMs: options.streamIntervalMs, limits: () => proxy.config.admin })
  const loginThrottle = new LoginThrottle(() => proxy.config.admin.loginAttempts, { clock: options.clock ?? systemClock })
  const refused = (reason: Parameters<Metrics['adminRefusal']>[0]): void => metrics.adminRefusal(reason)
  registerMetricsRoute(app, options.cluster?.metricsOf(metrics) ?? metrics, { onRequest: metricsGuard({ token: () => proxy.config.metrics.token, throttle: loginThrottle, refused }) })
  // Alerts go out from here, off the request path; delivery failures are logged and counted.
  let alerts = startAlertWebhooks(proxy, proxy.config.alerts, { log: app.log, metrics })
  let alertsConfig = proxy.config.alerts
  let logLevel = proxy.config.log.level
  const stopEventLog = logProxyEvents(proxy, app.log)
  // A reload applies the log level and the alert receivers here; the rest reads proxy.config per use.
  const stopReloadWatch = proxy.events.subscribe({
    'config:reload': () => {
      const { log: logConfig, alerts: nextAlerts } = proxy.config
      if (logConfig.level !== logLevel) {
        app.log.level = logConfig.level
        logLevel = logConfig.level
      }
      if (!isDeepEqual(alertsConfig, nextAlerts)) {
        // Alerts already queued for the old receivers are still delivered (or time out) in the background.
        void alerts.close()
        alerts = startAlertWebhooks(proxy, nextAlerts, { log: app.log, metrics })
        alertsConfig = nextAlerts
      }
    },
  })
  app.addHook('onReady', async () => {
    if (proxy.config.admin.token === undefined) app.log.warn('admin.token is not set: admin actions are disabled and the admin API answers loopback clients only, read-only')
  })
  app.addHook('preClose', async () => {
    streams.close()
    history.close()
    timeline.close()
  })
  app.addHook('onClose', async () => {
    stopReloadWatch()
    stopEventLog()
    await alerts.close()
    if (options.metrics === undefined) metrics.close()
  })

  void app.register(async (admin) => {
    admin.addHook('onRequest', adminGuard({ config: () => proxy.config, throttle: loginThrottle, refused }))
    registerAdminRoutes(admin, proxy, { history, timeline, streams, refused, reloader: options.reloader, replicate: (what) => options.cluster?.replicate(what) })
  })
  // The page itself holds no data: it asks for the token and calls the admin API with it.
  registerDashboard(app)

  // Which worker answered, under server.workers > 1 (each keeps its own health view).
  const healthz = options.cluster === undefined ? { status: 'ok' } : { status: 'ok', worker: options.cluster.index, workers: options.cluster.count }
  app.get('/healthz', async () => healthz)

  app.get('/readyz', async (_request, reply) => {
    const ready = proxy.isReady()
    const chains = proxy.snapshot().chains.map((chain) => ({ name: chain.name, head: chain.head, routable: chain.routable }))
    // `draining` only while shutting down, so a balancer (or an operator) can tell why it is 503.
    return reply.code(ready ? 200 : 503).send({ ready, ...(proxy.draining ? { draining: true } : {}), chains, journal: proxy.journalHealth() })
  })

  return app
}

interface AdminState {
  history: History
  timeline: Timeline
  streams: EventStreams
  refused: (reason: 'stream-limit') => void
  reloader: ConfigReloader | undefined
  /** An action applied here that the other cluster workers must apply too (a no-op in one process). */
  replicate: (what: ReplicatedAction) => void
}

/** Operator routes; the caller has put them behind admin auth. */
function registerAdminRoutes(admin: FastifyInstance, proxy: Proxy, state: AdminState): void {
  admin.get('/admin/api/chains', async () => proxy.snapshot())

  admin.get('/admin/api/history', async () => ({ intervalMs: state.history.intervalMs, samples: state.history.samples() }))

  admin.get<{ Querystring: { limit?: string } }>('/admin/api/timeline', async (request) => ({
    entries: state.timeline.recent(Math.max(1, Math.min(500, Number(request.query.limit) || 200))),
  }))

  // Server-Sent Events: a snapshot now and every second, timeline entries as they happen; one
  // serialisation per tick shared by every stream, streams capped in total and per client.
  admin.get('/admin/api/events', async (request, reply) => {
    const refusal = state.streams.refusal(request.ip)
    if (refusal !== undefined) {
      state.refused('stream-limit')
      return reply.code(refusal.status).header('retry-after', String(refusal.retryAfterS)).send({ error: refusal.error })
    }
    void reply.hijack()
    state.streams.open(reply.raw, request.ip, { 'x-request-id': request.id })
    return reply
  })

  admin.get<{ Params: { chain: string; txid: string } }>('/admin/api/broadcasts/:chain/:txid', async (request, reply) => {
    const record = await proxy.broadcastStatus(request.params.chain, request.params.txid)
    if (record === undefined) return reply.code(404).send({ error: 'no such broadcast' })
    return record
  })

  admin.get<{ Querystring: { chain?: string; status?: string; limit?: string } }>('/admin/api/broadcasts', async (request) => {
    const { chain, status, limit } = request.query
    const statuses = ['pending', 'seen', 'confirmed', 'dropped', 'conflicted', 'rejected'] as const
    const parsedStatus = statuses.find((candidate) => candidate === status)
    return {
      broadcasts: await proxy.listBroadcasts({ chain, status: parsedStatus, limit: limit === undefined ? undefined : Math.max(1, Math.min(1000, Number(limit) || 50)) }),
    }
  })

  /** Runs an operator action; an unknown chain or node is a 404. */
  const act = async (run: () => void | Promise<void>): Promise<{ status: number; body: object }> => {
    try {
      await run()
      return { status: 200, body: { ok: true } }
    } catch (error) {
      if (isProxyError(error)) return { status: 404, body: { error: error.message } }
      throw error
    }
  }

  admin.post<{ Params: { chain: string; id: string }; Body: string }>('/admin/api/nodes/:chain/:id/cordon', async (request, reply) => {
    let reason = 'cordoned from the admin API'
    try {
      const body = JSON.parse(typeof request.body === 'string' && request.body !== '' ? request.body : '{}') as { reason?: unknown }
      if (typeof body.reason === 'string' && body.reason.trim() !== '') reason = body.reason.trim().slice(0, 200)
    } catch {
      return reply.code(400).send({ error: 'body must be JSON: { "reason": "…" }' })
    }
    const result = await act(() => proxy.cordon(request.params.chain, request.params.id, reason))
    if (result.status === 200) state.replicate({ action: 'cordon', chain: request.params.chain, node: request.params.id, reason })
    return reply.code(result.status).send(result.body)
  })

  admin.post<{ Params: { chain: string; id: string } }>('/admin/api/nodes/:chain/:id/uncordon', async (request, reply) => {
    const result = await act(() => proxy.uncordon(request.params.chain, request.params.id))
    if (result.status === 200) state.replicate({ action: 'uncordon', chain: request.params.chain, node: request.params.id })
    return reply.code(result.status).send(result.body)
  })

  // Re-reads the config file and applies it (as SIGHUP does); refused with every problem listed.
  admin.post('/admin/api/reload', async (_request, reply) => {
    if (state.reloader === undefined) return reply.code(501).send({ error: 'this server was not started from a config file: nothing to reload' })
    const outcome = await state.reloader.reload()
    if (!outcome.ok) return reply.code(400).send(outcome)
    // The other workers re-read the same file (one that this worker refused, they would refuse too).
    state.replicate({ action: 'reload' })
    return { ...outcome, summary: outcome.changes.map(describeChange) }
  })

  admin.post<{ Params: { chain: string } }>('/admin/api/chains/:chain/probe', async (request, reply) => {
    const result = await act(() => proxy.probe(request.params.chain))
    if (result.status === 200) state.replicate({ action: 'probe', chain: request.params.chain })
    return reply.code(result.status).send(result.body)
  })
}

// `switchyard/server` is this module: the pieces an embedding application may use on their own.
export { handleRpcBody, refuseRpcBody, type HandledRequest } from './rpc-route.js'
export { ChainListeners, buildChainListenerApp, startChainListeners, type ChainListener, type ChainListenerOptions } from './chain-listeners.js'
export { appShutdownSteps } from './graceful-shutdown.js'
export { ConfigReloader, type ConfigSource, type ReloadOutcome } from './config-reloader.js'
