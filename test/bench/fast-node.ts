/**
 * A minimal EVM JSON-RPC node for `npm run bench`: canned answers from memory over node:http, so
 * the bench measures the proxy's own cost rather than a node's work. Run as its own process:
 * `node --import tsx test/bench/fast-node.ts <port>` serves one port; `--count N` serves N
 * OS-picked ports from one process (the scale bench's many nodes). Prints `ready <port>,<port>…`
 * once every port listens. Answers what switchyard's probes (eth_chainId, eth_blockNumber,
 * eth_syncing), fork check (eth_getBlockByNumber) and the bench's calls ask; anything else -32601.
 * `bench_callCount` answers how many calls this process has served, over all its ports, so the
 * scale bench can show the probe rate it really drew.
 */
import { type Server, createServer } from 'node:http'

const HEIGHT = 100
const hashAt = (height: number): string => `0x${height.toString(16).padStart(64, '0')}`

type Answer = { result: unknown } | { error: { code: number; message: string } }

function answer(method: string, params: unknown[], callCount: number): Answer {
  switch (method) {
    case 'eth_chainId':
      return { result: '0x7a69' }
    case 'net_version':
      return { result: '31337' }
    case 'eth_blockNumber':
      return { result: `0x${HEIGHT.toString(16)}` }
    case 'eth_syncing':
      return { result: false }
    case 'eth_getBalance':
      return { result: '0x56bc75e2d63100000' }
    case 'eth_getBlockByNumber': {
      const tag = params[0]
      const height = tag === 'latest' ? HEIGHT : typeof tag === 'string' ? Number.parseInt(tag, 16) : Number.NaN
      if (!Number.isSafeInteger(height) || height > HEIGHT) return { result: null }
      return { result: { number: `0x${height.toString(16)}`, hash: hashAt(height), parentHash: hashAt(Math.max(0, height - 1)), timestamp: '0x0', transactions: [] } }
    }
    case 'bench_callCount':
      return { result: callCount }
    default:
      return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } }
  }
}

type Call = { id?: unknown; method?: unknown; params?: unknown }

function serve(counter: { calls: number }): Server {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      let body: unknown
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        response.writeHead(400).end()
        return
      }
      const one = (call: Call) => {
        counter.calls++
        return { jsonrpc: '2.0', id: call.id ?? null, ...answer(String(call.method), Array.isArray(call.params) ? call.params : [], counter.calls) }
      }
      const reply = Array.isArray(body) ? body.map(one) : one(body as Call)
      const text = JSON.stringify(reply)
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      response.end(text)
    })
  })
  server.keepAliveTimeout = 60_000
  return server
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      resolve(typeof address === 'object' && address !== null ? address.port : port)
    })
  })
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const ports = args[0] === '--count' ? Array.from({ length: Number(args[1]) }, () => 0) : [Number(args[0] ?? 0)]
  const counter = { calls: 0 }
  const servers = ports.map(() => serve(counter))
  const bound = await Promise.all(servers.map((server, index) => listen(server, ports[index]!)))
  process.stdout.write(`ready ${bound.join(',')}\n`)
  process.on('SIGTERM', () => {
    let open = servers.length
    for (const server of servers) server.close(() => --open === 0 && process.exit(0))
    // Kept-alive client sockets would hold close() open until they idle out.
    for (const server of servers) server.closeAllConnections()
  })
}

void main()
