/**
 * The platform's floor for `npm run bench`: the least a Node.js JSON-RPC proxy can do. node:http
 * server, one undici pool to one upstream, the request's envelope parsed (as any JSON-RPC proxy
 * must, to route and to answer errors; a batch's entries too), the body forwarded and the
 * upstream's bytes returned untouched. No health, routing, limits, metrics or logs. What
 * switchyard costs on top of Node itself is switchyard over this; what Node costs against nginx
 * is this over nginx.
 *
 * `node --import tsx test/bench/passthrough.ts <upstream url> [--workers N]` prints `ready <port>`.
 * With --workers N, node:cluster workers share the port, as `server.workers` does.
 */
import cluster from 'node:cluster'
import { createServer } from 'node:http'
import { Pool } from 'undici'

const upstream = process.argv[2]
const workersAt = process.argv.indexOf('--workers')
const workers = workersAt === -1 ? 1 : Number(process.argv[workersAt + 1])
if (upstream === undefined) throw new Error('usage: passthrough.ts <upstream url> [--workers N]')

if (cluster.isPrimary && workers > 1) {
  let listening = 0
  let port = 0
  for (let index = 0; index < workers; index++) {
    cluster.fork().on('message', (message: { port: number }) => {
      port = message.port
      if (++listening === workers) process.stdout.write(`ready ${port}\n`)
    })
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM')
    process.exit(0)
  })
} else {
  const pool = new Pool(upstream, { connections: 64, pipelining: 1 })
  const path = new URL(upstream).pathname
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks)
      let envelope: unknown
      try {
        envelope = JSON.parse(body.toString('utf8'))
      } catch {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}')
        return
      }
      // A batch is forwarded whole when every entry names a method, as the upstream takes batches.
      const entries = Array.isArray(envelope) ? envelope : [envelope]
      if (entries.length === 0 || !entries.every((entry) => typeof (entry as { method?: unknown } | null)?.method === 'string')) {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request"}}')
        return
      }
      pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
        async (upstreamResponse) => {
          const reply = Buffer.from(await upstreamResponse.body.arrayBuffer())
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length }).end(reply)
        },
        () => response.writeHead(502).end(),
      )
    })
  })
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as { port: number }).port
    if (cluster.isWorker) process.send?.({ port })
    else process.stdout.write(`ready ${port}\n`)
  })
  process.on('SIGTERM', () => process.exit(0))
}
