/**
 * A scriptable JSON-RPC node: a real HTTP server on 127.0.0.1:0, for what real nodes cannot be
 * made to do on demand (hang, 5xx, 429, garbage, exact error strings). Real-node behaviour is
 * tested against anvil and bcoin instead.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeReply =
  | { result: unknown }
  | { error: { code: number; message: string; data?: unknown } }
  | { status: number; body?: string; contentType?: string }
  | { hang: true }
  | { raw: string }

type Handler = (method: string, params: unknown) => FakeReply | undefined

export interface FakeNode {
  url: string
  port: number
  /** Methods received, in order. */
  calls: string[]
  /** Authorization header of each request, in order. */
  authorizations: Array<string | undefined>
  /** Reply for a method (all calls) until changed. */
  on(method: string, reply: FakeReply | Handler): void
  /** Replies for the next calls of any method, before per-method replies. */
  queue(...replies: FakeReply[]): void
  close(): Promise<void>
}

export interface FakeNodeOptions {
  /** EVM-style probes (eth_chainId/eth_blockNumber/eth_syncing) at this chain id. */
  chainId?: number
  height?: number
  /**
   * Answer eth_getBlockByNumber from a chain every fake node shares (the hash is the height), so
   * pools of fake nodes pass the fork check; false: not answered (a fake among real nodes). Default true.
   */
  sharedBlocks?: boolean
  /** Bitcoin-style probes (getblockchaininfo/getblockhash 0). */
  genesisHash?: string
  /** Reply envelope: '2.0' (EVM) or '1.0' (bitcoind legacy). Default '2.0'. */
  version?: '1.0' | '2.0'
  /**
   * JSON-RPC batches (an array body) are answered call by call, as real nodes do; a reply that is
   * HTTP-level (status, raw, hang) for any call of a batch is the whole request's. false: a batch
   * gets the single null-id error of a provider that does not take batches. Default true.
   */
  batches?: boolean
}

export async function startFakeNode(options: FakeNodeOptions = {}): Promise<FakeNode & { setHeight(height: number): void }> {
  let height = options.height ?? 100
  const handlers = new Map<string, Handler>()
  const queued: FakeReply[] = []
  const calls: string[] = []
  const authorizations: Array<string | undefined> = []
  const hanging = new Set<ServerResponse>()

  const defaults: Record<string, Handler> = {
    eth_chainId: () => ({ result: `0x${(options.chainId ?? 1).toString(16)}` }),
    eth_blockNumber: () => ({ result: `0x${height.toString(16)}` }),
    eth_syncing: () => ({ result: false }),
    // One chain shared by every fake node (the hash is the height), so the fork check sees them agree.
    eth_getBlockByNumber: (_method, params) => {
      if (options.sharedBlocks === false) return { error: { code: -32601, message: 'the method eth_getBlockByNumber does not exist/is not available' } }
      const tag = Array.isArray(params) ? params[0] : undefined
      const number = tag === 'latest' ? height : typeof tag === 'string' && tag.startsWith('0x') ? Number.parseInt(tag, 16) : Number.NaN
      if (!Number.isSafeInteger(number) || number > height) return { result: null }
      return { result: { number: `0x${number.toString(16)}`, hash: `0x${number.toString(16).padStart(64, '0')}` } }
    },
    getblockchaininfo: () => ({ result: { chain: 'regtest', blocks: height, headers: height, initialblockdownload: false } }),
    getblockhash: (_method, params) =>
      Array.isArray(params) && params[0] === 0 ? { result: options.genesisHash ?? '00'.repeat(32) } : { result: 'ab'.repeat(32) },
  }

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      let parsed: Entry | Entry[]
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        response.writeHead(400).end()
        return
      }
      authorizations.push(request.headers.authorization)
      if (Array.isArray(parsed)) {
        if (options.batches === false) {
          calls.push('(batch)')
          response.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch requests are not supported"}}')
          return
        }
        const replies = parsed.map((entry) => ({ entry, reply: replyTo(entry) }))
        const whole = replies.find(({ reply }) => 'hang' in reply || 'raw' in reply || 'status' in reply)
        if (whole !== undefined) return send(response, whole.entry, whole.reply)
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(replies.map(({ entry, reply }) => envelopeOf(entry, reply as RpcReply))))
        return
      }
      send(response, parsed, replyTo(parsed))
    })
  })

  type Entry = { id?: unknown; method?: string; params?: unknown }
  type RpcReply = Extract<FakeReply, { result: unknown } | { error: unknown }>
  function replyTo(entry: Entry): FakeReply {
    const method = entry.method ?? ''
    calls.push(method)
    return (
      queued.shift() ??
      handlers.get(method)?.(method, entry.params) ??
      defaults[method]?.(method, entry.params) ?? {
        error: { code: -32601, message: `the method ${method} does not exist/is not available` },
      }
    )
  }
  function envelopeOf(entry: Entry, reply: RpcReply): object {
    return options.version === '1.0'
      ? { result: 'result' in reply ? reply.result : null, error: 'error' in reply ? reply.error : null, id: entry.id }
      : { jsonrpc: '2.0', id: entry.id, ...reply }
  }
  function send(response: ServerResponse, body: Entry, reply: FakeReply): void {
    if ('hang' in reply) {
      hanging.add(response)
      response.on('close', () => hanging.delete(response))
      return
    }
    if ('raw' in reply) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(reply.raw)
      return
    }
    if ('status' in reply) {
      response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain' }).end(reply.body ?? '')
      return
    }
    const envelope = envelopeOf(body, reply)
    const status = options.version === '1.0' && 'error' in reply ? (reply.error.code === -32601 ? 404 : 500) : 200
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(envelope))
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    calls,
    authorizations,
    setHeight: (next) => {
      height = next
    },
    on: (method, reply) => handlers.set(method, typeof reply === 'function' ? reply : () => reply),
    queue: (...replies) => queued.push(...replies),
    close: async () => {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
