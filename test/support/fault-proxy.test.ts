/**
 * The fault proxy against a tiny local HTTP JSON-RPC server: each fault on new connections and on
 * a connection kept alive from before the switch, and `close()`. Waits are on the proxy's own
 * counters, never on sleeps.
 */
import { type Server, createServer } from 'node:http'
import { type AddressInfo, type Socket, connect, createServer as createTcpServer } from 'node:net'
import { Client } from 'undici'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type FaultProxy, GARBAGE, faults, startFaultProxy } from './fault-proxy.js'

/** The reply's result: long enough that a drip of a few bytes takes many writes. */
const PAYLOAD = 'x'.repeat(200)

let server: Server
let serverPort: number
/** performance.now() of each request the server received. */
let received: number[]
let proxy: FaultProxy
const clients: Client[] = []
const sockets: Socket[] = []

beforeEach(async () => {
  received = []
  server = createServer((request, response) => {
    received.push(performance.now())
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      const { id } = JSON.parse(body) as { id: number }
      const reply = JSON.stringify({ jsonrpc: '2.0', id, result: PAYLOAD })
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) }).end(reply)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  serverPort = (server.address() as AddressInfo).port
  proxy = await startFaultProxy({ port: serverPort })
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()))
  for (const socket of sockets.splice(0)) socket.destroy()
  await proxy.close()
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** One kept-alive connection through the proxy (undici opens it on the first request). */
function keepAliveClient(): Client {
  const client = new Client(proxy.url, { pipelining: 1, keepAliveTimeout: 60_000 })
  clients.push(client)
  return client
}

let nextId = 1

async function call(client: Client): Promise<{ status: number; text: string; id: number }> {
  const id = nextId++
  const response = await client.request({ method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: [] }) })
  return { status: response.statusCode, text: await response.body.text(), id }
}

function isReplyTo(text: string, id: number): boolean {
  try {
    const json = JSON.parse(text) as { id?: unknown; result?: unknown }
    return json.id === id && json.result === PAYLOAD
  } catch {
    return false
  }
}

/** A promise plus whether it settled yet: "still pending" is checked, not waited out. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  return { promise, settled: () => settled }
}

/** Lets every I/O callback and promise job that is already due run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port }, () => resolve(socket))
    socket.once('error', reject)
    sockets.push(socket)
  })
}

/** Writes one HTTP request on a raw socket and resolves with the whole response (status line to last body byte). */
function rawExchange(socket: Socket, onChunk?: (chunk: Buffer) => void): Promise<string> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'ping', params: [] })
  return new Promise((resolve, reject) => {
    let text = ''
    const onData = (chunk: Buffer): void => {
      onChunk?.(chunk)
      text += chunk.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? Number.NaN)
      if (text.length - end - 4 >= length) {
        socket.off('data', onData)
        resolve(text)
      }
    }
    socket.on('data', onData)
    socket.once('error', reject)
    socket.write(`POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  })
}

function socketError(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message)))
}

describe('fault proxy', () => {
  test('none: forwards requests and replies, keeping one connection alive for several requests', async () => {
    const client = keepAliveClient()
    for (let i = 0; i < 3; i++) {
      const reply = await call(client)
      expect(reply.status).toBe(200)
      expect(isReplyTo(reply.text, reply.id)).toBe(true)
    }
    expect(proxy.stats.accepted).toBe(1)
    expect(received).toHaveLength(3)
  })

  test('latency: every chunk is delayed both ways, on a connection kept alive from before the switch too', async () => {
    const client = keepAliveClient()
    await call(client)
    proxy.setFault(faults.latency(150))
    const sentAt = performance.now()
    const reply = await call(client)
    const elapsed = performance.now() - sentAt
    expect(isReplyTo(reply.text, reply.id)).toBe(true)
    // Lower bounds only: a busy machine can make these longer, never shorter.
    expect(received.at(-1)! - sentAt).toBeGreaterThanOrEqual(150)
    expect(elapsed).toBeGreaterThanOrEqual(300)
    expect(proxy.stats.accepted).toBe(1)
  })

  test('blackhole: requests are read and never answered or forwarded, on new and kept-alive connections; back to none closes the stalled ones', async () => {
    const kept = keepAliveClient()
    await call(kept)
    proxy.setFault(faults.blackhole)
    const onKept = track(call(kept))
    const onNew = track(call(keepAliveClient()))
    await waitFor(() => proxy.stats.swallowed >= 2 && proxy.openConnections === 2, { what: 'both requests swallowed' })
    await turn()
    expect(onKept.settled()).toBe(false)
    expect(onNew.settled()).toBe(false)
    expect(received).toHaveLength(1)

    proxy.setFault(faults.none)
    await expect(onKept.promise).rejects.toThrow()
    await expect(onNew.promise).rejects.toThrow()
    const fresh = await call(keepAliveClient())
    expect(isReplyTo(fresh.text, fresh.id)).toBe(true)
    expect(received).toHaveLength(2)
  })

  test('reset: new connections and kept-alive ones get an RST', async () => {
    const kept = await rawSocket()
    expect(await rawExchange(kept)).toMatch(/^HTTP\/1\.1 200/)
    const keptError = socketError(kept)
    proxy.setFault(faults.reset)
    expect(await keptError).toBe('ECONNRESET')

    const fresh = connect({ host: '127.0.0.1', port: proxy.port })
    sockets.push(fresh)
    expect(await socketError(fresh)).toBe('ECONNRESET')
    expect(proxy.stats.resets).toBe(2)
    expect(received).toHaveLength(1)
  })

  test('garbage: every kind of broken reply in turn, never a reply to the request, the node never asked; a kept-alive connection too', async () => {
    const kept = keepAliveClient()
    await call(kept)
    proxy.setFault(faults.garbage)
    const outcomes: string[] = []
    for (let i = 0; i < GARBAGE.length; i++) {
      const client = i === 0 ? kept : keepAliveClient()
      try {
        const reply = await call(client)
        expect(isReplyTo(reply.text, reply.id)).toBe(false)
        outcomes.push(`answered ${reply.status}`)
      } catch (error) {
        outcomes.push(`failed ${(error as { code?: string }).code ?? 'error'}`)
      }
    }
    expect(proxy.stats.garbageReplies).toBe(GARBAGE.length)
    expect(received).toHaveLength(1)
    // Some kinds break the HTTP exchange, others are HTTP replies that are no JSON-RPC answer.
    expect(outcomes.some((outcome) => outcome.startsWith('failed'))).toBe(true)
    expect(outcomes.some((outcome) => outcome.startsWith('answered'))).toBe(true)
  })

  test('slow-drip: a reply arrives intact a few bytes at a time; switching back to none releases the rest at once', async () => {
    proxy.setFault(faults.slowDrip({ bytes: 16, pauseMs: 5 }))
    const socket = await rawSocket()
    let chunks = 0
    const text = await rawExchange(socket, () => (chunks += 1))
    expect(text).toMatch(/^HTTP\/1\.1 200/)
    expect(text).toContain(PAYLOAD)
    expect(proxy.stats.dripWrites).toBeGreaterThanOrEqual(Math.ceil(text.length / 16))
    expect(chunks).toBeGreaterThan(1)

    // A drip that would take minutes, on the same kept-alive socket: released by the switch.
    proxy.setFault(faults.slowDrip({ bytes: 1, pauseMs: 60_000 }))
    const writesBefore = proxy.stats.dripWrites
    const slow = track(rawExchange(socket))
    await waitFor(() => proxy.stats.dripWrites > writesBefore, { what: 'the first byte of the reply' })
    await turn()
    expect(slow.settled()).toBe(false)
    proxy.setFault(faults.none)
    expect(await slow.promise).toContain(PAYLOAD)
  })

  test('a node that cannot be reached shows as a reset', async () => {
    const closed = createTcpServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const deadPort = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const dead = await startFaultProxy({ port: deadPort })
    try {
      const socket = connect({ host: '127.0.0.1', port: dead.port })
      sockets.push(socket)
      const error = socketError(socket)
      socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}')
      expect(await error).toBe('ECONNRESET')
      expect(dead.stats.resets).toBe(1)
    } finally {
      await dead.close()
    }
  })

  test('close() destroys every connection it holds', async () => {
    const socket = await rawSocket()
    await rawExchange(socket)
    proxy.setFault(faults.blackhole)
    const hanging = await rawSocket()
    hanging.write('POST / HTTP/1.1\r\n')
    await waitFor(() => proxy.openConnections === 2 && proxy.stats.swallowed >= 1, { what: 'two open connections' })
    const closed = Promise.all([socket, hanging].map((each) => new Promise<void>((resolve) => each.once('close', () => resolve()))))
    await proxy.close()
    await closed
    expect(proxy.openConnections).toBe(0)
    // afterEach closes it again: harmless.
    proxy = await startFaultProxy({ port: serverPort })
  })
})
