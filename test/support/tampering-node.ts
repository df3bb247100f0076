/**
 * A node that lies on purpose: an HTTP JSON-RPC server on 127.0.0.1:0 that forwards every call to
 * a real node (anvil, bcoin) and lets a test rewrite chosen answers (null receipts, tampered
 * fields, "Block not found"). Everything it does not rewrite is the real node's answer, so it
 * passes probes and fork checks as the node behind it would. No real node can be made to lie.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Answer = { result: unknown } | { error: { code: number; message: string; data?: unknown } }

/** Return a replacement answer, or undefined to pass the real one through. */
export type Tamper = (method: string, params: unknown, real: Answer) => Answer | undefined

export interface TamperingNode {
  url: string
  /** Calls received per method. */
  readonly calls: Map<string, number>
  /** Answers rewritten so far. */
  readonly tampered: number
  setTamper(tamper: Tamper | undefined): void
  close(): Promise<void>
}

/** `upstream` may carry credentials in its URL (bcoin); they are sent as basic auth, never echoed. */
export async function startTamperingNode(upstream: string, tamper?: Tamper): Promise<TamperingNode> {
  const target = new URL(upstream)
  const authorization = target.username !== '' || target.password !== '' ? `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}` : undefined
  target.username = ''
  target.password = ''
  const calls = new Map<string, number>()
  let current = tamper
  let tampered = 0

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8')
        let parsed: { id?: unknown; method?: string; params?: unknown; jsonrpc?: string }
        try {
          parsed = JSON.parse(body)
        } catch {
          response.writeHead(400).end()
          return
        }
        const method = parsed.method ?? ''
        calls.set(method, (calls.get(method) ?? 0) + 1)
        const upstreamResponse = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
          body,
        })
        const text = await upstreamResponse.text()
        let reply: { result?: unknown; error?: { code: number; message: string; data?: unknown } | null }
        try {
          reply = JSON.parse(text)
        } catch {
          response.writeHead(upstreamResponse.status, { 'content-type': 'application/json' }).end(text)
          return
        }
        const real: Answer = reply.error !== undefined && reply.error !== null ? { error: reply.error } : { result: reply.result ?? null }
        const replacement = current?.(method, parsed.params, real)
        if (replacement === undefined) {
          response.writeHead(upstreamResponse.status, { 'content-type': 'application/json' }).end(text)
          return
        }
        tampered += 1
        const legacy = parsed.jsonrpc !== '2.0'
        const envelope = legacy
          ? { result: 'result' in replacement ? replacement.result : null, error: 'error' in replacement ? replacement.error : null, id: parsed.id }
          : { jsonrpc: '2.0', id: parsed.id, ...replacement }
        // bitcoind sends errors of 1.0 calls with HTTP 500.
        const status = legacy && 'error' in replacement ? 500 : 200
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(envelope))
      })().catch(() => {
        if (!response.headersSent) response.writeHead(502).end()
        else response.destroy()
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/`,
    calls,
    get tampered() {
      return tampered
    },
    setTamper: (next) => {
      current = next
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
