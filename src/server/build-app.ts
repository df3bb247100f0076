/**
 * The HTTP face of a proxy: `POST /rpc/:chain` (JSON-RPC 1.0/2.0, single and batch), the admin
 * snapshot, and health/readiness probes. A thin layer: all decisions live in the Proxy.
 */
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import { ProxyError, isProxyError } from '../errors/proxy-error.js'
import { shapeReply } from '../jsonrpc/reply.js'
import { startAlertWebhooks } from '../observability/alert-webhooks.js'
import { logProxyEvents } from '../observability/event-log.js'
import { History } from '../observability/history.js'
import { type Metrics, createMetrics, registerMetricsRoute } from '../observability/metrics.js'
import { Timeline } from '../observability/timeline.js'
import type { Proxy } from '../proxy.js'
import { registerDashboard } from '../dashboard/register-dashboard.js'
import { ReplyHold, holdRepliesOf } from '../upstream/reply-budget.js'
import { adminAuthHook } from './admin-auth.js'

export interface AppOptions {
  /** Fastify logger option; default: pino at the config's log level. */
  logger?: FastifyServerOptions['logger']
  /** Dashboard history sampling period, ms. Default 5000. */
  historyIntervalMs?: number
  /** Metrics to serve on /metrics; default: created here over `proxy`. */
  metrics?: Metrics
}

/** A client's x-request-id is kept when it is tame; otherwise a fresh one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

export function buildApp(proxy: Proxy, options: AppOptions = {}): FastifyInstance {
  const { server, log } = proxy.config
  const app = Fastify({
    logger: options.logger ?? { level: log.level, redact: ['req.headers.authorization'] },
    bodyLimit: server.bodyLimitBytes,
    // One log line per request costs more than the proxying itself at high rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
  })
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id)
  })

  // JSON-RPC clients send application/json, text/plain (bitcoin-cli) or nothing: take the raw
  // text and parse it ourselves so a parse error becomes a JSON-RPC -32700, not an HTML 400.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))

  app.setErrorHandler((error: { code?: string; statusCode?: number }, _request, reply) => {
    const proxyError =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new ProxyError('SY_BODY_TOO_LARGE', `request body exceeds ${server.bodyLimitBytes} bytes`, { limit: server.bodyLimitBytes })
        : error.statusCode !== undefined && error.statusCode < 500
          ? new ProxyError('SY_INVALID_REQUEST', 'Invalid Request')
          : new ProxyError('SY_INTERNAL', 'internal error')
    if (proxyError.code === 'SY_INTERNAL') app.log.error({ err: error }, 'unhandled error')
    void reply.code(proxyError.httpStatus).type('application/json').send(JSON.stringify(shapeReply(null, '2.0', { error: proxyError.toJsonRpcError() })))
  })

  app.setNotFoundHandler((request, reply) => {
    const error = request.url.startsWith('/rpc')
      ? new ProxyError('SY_UNKNOWN_CHAIN', 'use POST /rpc/<chain> with a configured chain name')
      : new ProxyError('SY_INVALID_REQUEST', `no route ${request.method} ${request.url.split('?')[0]}`)
    void reply.code(404).type('application/json').send(JSON.stringify(shapeReply(null, '2.0', { error: error.toJsonRpcError() })))
  })

  app.post<{ Params: { chain: string }; Body: string }>('/rpc/:chain', async (request, reply) => {
    const controller = new AbortController()
    const onClose = (): void => {
      if (!reply.raw.writableEnded) controller.abort()
    }
    reply.raw.once('close', onClose)
    const body = typeof request.body === 'string' ? request.body : ''
    // Node reply bytes stay counted against server.maxReplyBytesInFlight until this reply is written.
    const hold = new ReplyHold()
    holdRepliesOf(controller.signal, hold)
    reply.raw.once('close', () => hold.release())
    const handled = await proxy.handle(request.params.chain, body, controller.signal)
    reply.raw.off('close', onClose)
    if (handled.nodeIds.length > 0) void reply.header('x-switchyard-node', handled.nodeIds.join(','))
    void reply.header('x-switchyard-attempts', String(handled.attempts))
    void reply.code(handled.status)
    if (handled.body === undefined) return reply.send()
    return reply.type('application/json').send(handled.body)
  })

  const history = new History(proxy, { intervalMs: options.historyIntervalMs })
  const timeline = new Timeline(proxy)
  const streams = new Set<ServerResponse>()
  const metrics = options.metrics ?? createMetrics(proxy)
  registerMetricsRoute(app, metrics)
  // Alerts go out from here, off the request path; delivery failures are logged and counted.
  const alerts = startAlertWebhooks(proxy, proxy.config.alerts, { log: app.log, metrics })
  const stopEventLog = logProxyEvents(proxy, app.log)
  app.addHook('onReady', async () => {
    if (proxy.config.admin.token === undefined) app.log.warn('admin.token is not set: /admin routes and dashboard actions answer loopback clients only')
  })
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end()
    history.close()
    timeline.close()
  })
  app.addHook('onClose', async () => {
    stopEventLog()
    await alerts.close()
    if (options.metrics === undefined) metrics.close()
  })

  void app.register(async (admin) => {
    admin.addHook('onRequest', adminAuthHook(proxy.config.admin.token))
    registerAdminRoutes(admin, proxy, { history, timeline, streams })
  })
  // The page itself holds no data: it asks for the token and calls the admin API with it.
  registerDashboard(app)

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const ready = proxy.isReady()
    const chains = proxy.snapshot().chains.map((chain) => ({ name: chain.name, head: chain.head, routable: chain.routable }))
    return reply.code(ready ? 200 : 503).send({ ready, chains, journal: proxy.journalHealth() })
  })

  return app
}

interface AdminState {
  history: History
  timeline: Timeline
  streams: Set<ServerResponse>
}

/** Operator routes; the caller has put them behind admin auth. */
function registerAdminRoutes(admin: FastifyInstance, proxy: Proxy, state: AdminState): void {
  admin.get('/admin/api/chains', async () => proxy.snapshot())

  admin.get('/admin/api/history', async () => ({ intervalMs: state.history.intervalMs, samples: state.history.samples() }))

  admin.get<{ Querystring: { limit?: string } }>('/admin/api/timeline', async (request) => ({
    entries: state.timeline.recent(Math.max(1, Math.min(500, Number(request.query.limit) || 200))),
  }))

  // Server-Sent Events: a snapshot now and every second, timeline entries as they happen.
  admin.get('/admin/api/events', (request, reply) => {
    void reply.hijack()
    const raw = reply.raw
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': request.id })
    const send = (event: string, data: unknown): void => {
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    send('snapshot', proxy.snapshot())
    const snapshots = setInterval(() => send('snapshot', proxy.snapshot()), 1_000)
    const pings = setInterval(() => raw.write(': ping\n\n'), 15_000)
    const unsubscribe = state.timeline.subscribe((entry) => send('timeline', entry))
    state.streams.add(raw)
    raw.on('close', () => {
      clearInterval(snapshots)
      clearInterval(pings)
      unsubscribe()
      state.streams.delete(raw)
    })
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
    return reply.code(result.status).send(result.body)
  })

  admin.post<{ Params: { chain: string; id: string } }>('/admin/api/nodes/:chain/:id/uncordon', async (request, reply) => {
    const result = await act(() => proxy.uncordon(request.params.chain, request.params.id))
    return reply.code(result.status).send(result.body)
  })

  admin.post<{ Params: { chain: string } }>('/admin/api/chains/:chain/probe', async (request, reply) => {
    const result = await act(() => proxy.probe(request.params.chain))
    return reply.code(result.status).send(result.body)
  })
}
