/**
 * A minimal EVM JSON-RPC node for `npm run bench`: canned answers from memory over node:http, so
 * the bench measures the proxy's own cost rather than a node's work. Run as its own process
 * (`node --import tsx test/bench/fast-node.ts <port>`); prints `ready <port>` when listening.
 * Answers what switchyard's probes, fork check and the bench's calls ask; anything else -32601.
 */
import { createServer } from 'node:http'

const HEIGHT = 100
const hashAt = (height: number): string => `0x${height.toString(16).padStart(64, '0')}`

function answer(method: string, params: unknown[]): { result: unknown } | { error: { code: number; message: string } } {
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
    default:
      return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } }
  }
}

const port = Number(process.argv[2] ?? 0)
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
    const one = (call: { id?: unknown; method?: unknown; params?: unknown }) => ({
      jsonrpc: '2.0',
      id: call.id ?? null,
      ...answer(String(call.method), Array.isArray(call.params) ? call.params : []),
    })
    const reply = Array.isArray(body) ? body.map(one) : one(body as { id?: unknown; method?: unknown; params?: unknown })
    const text = JSON.stringify(reply)
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    response.end(text)
  })
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`ready ${typeof address === 'object' && address !== null ? address.port : port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
