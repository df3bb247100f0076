/**
 * A real node behind a scripted front (127.0.0.1:0): every call goes to the node unless a handler
 * answers it instead, and a handler may hold an answer until the test releases it. For what a real
 * node cannot be made to do on demand (lie about a transaction, answer a send late) while probes,
 * blocks and lookups stay the real node's.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'

export type FrontReply = { result: unknown } | { error: { code: number; message: string } }

/** Answers a call instead of the node (or `forward()`s it, possibly later); undefined: forwarded at once. */
export type FrontHandler = (params: unknown, forward: () => Promise<FrontReply>) => FrontReply | undefined | Promise<FrontReply | undefined>

export interface NodeFront {
  url: string
  /** Methods received, in order. */
  calls: string[]
  on(method: string, handler: FrontHandler): void
  close(): Promise<void>
}

export async function startNodeFront(target: string): Promise<NodeFront> {
  const handlers = new Map<string, FrontHandler>()
  const calls: string[] = []
  const open = new Set<ServerResponse>()
  const forwardBody = async (body: string): Promise<FrontReply> => {
    const response = await request(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const json = (await response.body.json()) as { result?: unknown; error?: { code: number; message: string } }
    return json.error !== undefined && json.error !== null ? { error: json.error } : { result: json.result ?? null }
  }
  const server: Server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      let body: { id?: unknown; method?: string; params?: unknown }
      try {
        body = JSON.parse(text)
      } catch {
        response.writeHead(400).end()
        return
      }
      const method = body.method ?? ''
      calls.push(method)
      open.add(response)
      response.on('close', () => open.delete(response))
      const forward = () => forwardBody(text)
      void (async () => {
        let reply: FrontReply
        try {
          reply = (await handlers.get(method)?.(body.params, forward)) ?? (await forward())
        } catch (error) {
          response.destroy(error instanceof Error ? error : undefined)
          return
        }
        if (response.destroyed) return
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id, ...reply }))
      })()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/`,
    calls,
    on: (method, handler) => handlers.set(method, handler),
    close: async () => {
      for (const response of open) response.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A promise the test resolves by hand: holds a front's answer until `release()`. */
export function gate(): { wait: Promise<void>; release: () => void; reached: Promise<void>; arrive: () => void } {
  let release!: () => void
  let arrive!: () => void
  const wait = new Promise<void>((resolve) => (release = resolve))
  const reached = new Promise<void>((resolve) => (arrive = resolve))
  return { wait, release, reached, arrive }
}
