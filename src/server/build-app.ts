/**
 * The HTTP face of a proxy: `POST /rpc/:chain` (JSON-RPC 1.0/2.0, single and batch), the admin
 * snapshot, and health/readiness probes. A thin layer: all decisions live in the Proxy.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import { ProxyError } from '../errors/proxy-error.js'
import { shapeReply } from '../jsonrpc/reply.js'
import type { Proxy } from '../proxy.js'

export interface AppOptions {
  /** Fastify logger option; default: pino at the config's log level. */
  logger?: FastifyServerOptions['logger']
}

export function buildApp(proxy: Proxy, options: AppOptions = {}): FastifyInstance {
  const { server, log } = proxy.config
  const app = Fastify({
    logger: options.logger ?? { level: log.level, redact: ['req.headers.authorization'] },
    bodyLimit: server.bodyLimitBytes,
    // One log line per request costs more than the proxying itself at high rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
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
    const handled = await proxy.handle(request.params.chain, body, controller.signal)
    reply.raw.off('close', onClose)
    if (handled.nodeIds.length > 0) void reply.header('x-switchyard-node', handled.nodeIds.join(','))
    void reply.header('x-switchyard-attempts', String(handled.attempts))
    void reply.code(handled.status)
    if (handled.body === undefined) return reply.send()
    return reply.type('application/json').send(handled.body)
  })

  app.get('/admin/api/chains', async () => proxy.snapshot())

  app.get<{ Params: { chain: string; txid: string } }>('/admin/api/broadcasts/:chain/:txid', async (request, reply) => {
    const record = await proxy.broadcastStatus(request.params.chain, request.params.txid)
    if (record === undefined) return reply.code(404).send({ error: 'no such broadcast' })
    return record
  })

  app.get<{ Querystring: { chain?: string; status?: string; limit?: string } }>('/admin/api/broadcasts', async (request) => {
    const { chain, status, limit } = request.query
    const statuses = ['pending', 'seen', 'confirmed', 'dropped', 'conflicted', 'rejected'] as const
    const parsedStatus = statuses.find((candidate) => candidate === status)
    return {
      broadcasts: await proxy.listBroadcasts({ chain, status: parsedStatus, limit: limit === undefined ? undefined : Math.max(1, Math.min(1000, Number(limit) || 50)) }),
    }
  })

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const ready = proxy.isReady()
    const chains = proxy.snapshot().chains.map((chain) => ({ name: chain.name, head: chain.head, routable: chain.routable }))
    return reply.code(ready ? 200 : 503).send({ ready, chains })
  })

  return app
}
