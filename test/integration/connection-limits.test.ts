/**
 * Client connections over real sockets (issue 8): partial headers, a body dripped a byte at a
 * time, idle keep-alive, a 50 MB Content-Length, and the connection cap while sockets hang. The
 * nodes are fake: what is tested is the server's side of client sockets, and the fake node shows
 * whether a call got through. The cap is lowered in the config rather than exhausting the
 * machine's file limit, except in the last test, a real process under `ulimit -n 1024`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from 'undici'
import { afterEach, describe, expect, test } from 'vitest'
import type { ProxyConfigInput } from '../../src/config/schema.js'
import { stopProcess } from '../../src/devnet/child-process.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { ConnectionGuard } from '../../src/server/connection-limits.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

let harness: TestProxy | undefined
let node: FakeNode | undefined
const sockets: net.Socket[] = []
const clients: Client[] = []

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await Promise.all(clients.splice(0).map((client) => client.destroy()))
  await harness?.close()
  harness = undefined
  await node?.close()
  node = undefined
})

async function start(server: NonNullable<ProxyConfigInput['server']>, routing: Record<string, number> = {}): Promise<TestProxy> {
  node = await startFakeNode({ chainId: 1, height: 100 })
  node.on('eth_getBalance', { result: '0x10' })
  harness = await startTestProxy({
    server,
    chains: {
      eth: { family: 'evm', chainId: 1, requestTimeoutMs: 5_000, routing: { maxAttempts: 1, ...routing }, health: { intervalMs: 60_000 }, nodes: [{ id: 'n0', url: node.url }] },
    },
  })
  await harness.probe()
  return harness
}

function guard(): ConnectionGuard {
  return ConnectionGuard.of(harness!.app.server)!
}

/** A raw client socket that records what it received and how it ended. */
interface RawSocket {
  socket: net.Socket
  received(): string
  /** When the last bytes arrived (performance.now()). */
  lastDataAt(): number
  /** Resolves when the socket is closed: its error code (if any) and the time since it connected. */
  closed: Promise<{ error: string | undefined; afterMs: number }>
}

/** `halfOpen`: the server's FIN does not end our sending side (as with most TCP stacks' clients; Node's default ends it). */
async function connect(baseUrl: string, options: { halfOpen?: boolean } = {}): Promise<RawSocket> {
  const { port } = new URL(baseUrl)
  const socket = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: options.halfOpen === true })
  sockets.push(socket)
  let received = ''
  let lastDataAt = 0
  let error: string | undefined
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1')
    lastDataAt = performance.now()
  })
  socket.on('error', (cause: NodeJS.ErrnoException) => (error = cause.code))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const connectedAt = performance.now()
  const closed = new Promise<{ error: string | undefined; afterMs: number }>((resolve) => socket.once('close', () => resolve({ error, afterMs: performance.now() - connectedAt })))
  return { socket, received: () => received, lastDataAt: () => lastDataAt, closed }
}

/** Status and JSON body of the first HTTP response in `text`. */
function parseResponse(text: string): { status: number; headers: string; body: any } {
  const [head = '', ...rest] = text.split('\r\n\r\n')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
  const bodyText = rest.join('\r\n\r\n')
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? bodyText.length)
  return { status, headers: head, body: JSON.parse(bodyText.slice(0, length)) }
}

const BALANCE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', '0x64'] })
const requestHead = (path: string, contentLength: number, extra = ''): string =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extra}\r\n`

describe('timeouts', () => {
  test('partial headers: 408 SY_REQUEST_TIMEOUT after server.headersTimeoutMs, socket closed', async () => {
    const proxy = await start({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 })
    const client = await connect(proxy.baseUrl)
    client.socket.write('POST /rpc/eth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty')
    const { afterMs } = await client.closed
    const response = parseResponse(client.received())
    expect(response.status).toBe(408)
    expect(response.body).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32600, data: { code: 'SY_REQUEST_TIMEOUT' } }) })
    recordFigure('connections.partialHeadersClosedAfterMs (headersTimeoutMs 300)', Math.round(afterMs))
  })

  test('a connection that never sends a byte is closed after server.headersTimeoutMs too', async () => {
    const proxy = await start({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 })
    const client = await connect(proxy.baseUrl)
    const { afterMs } = await client.closed
    expect(guard().stats().open).toBe(0)
    recordFigure('connections.silentClosedAfterMs (headersTimeoutMs 300)', Math.round(afterMs))
  })

  test('closing the server does not wait for sockets that never sent a byte (preconnects)', async () => {
    // Timeouts far beyond the test's: only closing silent sockets at close ends this one in time.
    const proxy = await start({ headersTimeoutMs: 120_000, requestTimeoutMs: 300_000, keepAliveTimeoutMs: 120_000 })
    const silent = await connect(proxy.baseUrl)
    const kept = await connect(proxy.baseUrl)
    kept.socket.write(requestHead('/rpc/eth', Buffer.byteLength(BALANCE)) + BALANCE)
    await waitFor(() => kept.received().includes('"result"'), { what: 'the answer on the kept-alive socket' })
    expect(parseResponse(kept.received()).body).toMatchObject({ result: '0x10' })
    const closing = proxy.app.close()
    await silent.closed
    await kept.closed
    await closing
  })

  test('a body dripped a byte at a time: 408 after server.requestTimeoutMs; the call never reaches a node', async () => {
    const proxy = await start({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 })
    const client = await connect(proxy.baseUrl)
    // 1 KB at a byte per 50 ms would take 50 s: far past the 1 s request timeout, however busy the machine.
    const body = BALANCE.padEnd(1_024, ' ')
    client.socket.write(requestHead('/rpc/eth', body.length))
    let sent = 0
    const drip = setInterval(() => {
      if (!client.socket.destroyed && sent < body.length - 1) client.socket.write(body[sent++]!)
    }, 50)
    const { afterMs } = await client.closed
    clearInterval(drip)
    expect(parseResponse(client.received()).body.error.data.code).toBe('SY_REQUEST_TIMEOUT')
    expect(sent).toBeLessThan(body.length - 1)
    expect(node!.calls).not.toContain('eth_getBalance')
    recordFigure('connections.slowBodyClosedAfterMs (requestTimeoutMs 1000)', Math.round(afterMs))
  })

  test('a request whose body arrived is not cut by requestTimeoutMs while its answer is pending', async () => {
    // The node hangs; the call's own deadline (1500 ms) ends it after the request timeout (1000 ms) would have.
    const proxy = await start({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 }, { deadlineMs: 1_500 })
    node!.on('eth_getBalance', { hang: true })
    const client = await connect(proxy.baseUrl)
    client.socket.write(requestHead('/rpc/eth', BALANCE.length, 'Connection: close\r\n') + BALANCE)
    await client.closed
    const response = parseResponse(client.received())
    expect(response.status).toBe(504)
    expect(response.body).toMatchObject({ jsonrpc: '2.0', id: 1, error: { data: { code: 'SY_DEADLINE_EXCEEDED' } } })
  })

  test('an idle keep-alive connection is closed after server.keepAliveTimeoutMs', async () => {
    const proxy = await start({ keepAliveTimeoutMs: 300 })
    const client = await connect(proxy.baseUrl)
    client.socket.write(requestHead('/rpc/eth', BALANCE.length) + BALANCE)
    const { error } = await client.closed
    expect(error).toBeUndefined()
    expect(parseResponse(client.received()).body).toEqual({ jsonrpc: '2.0', id: 1, result: '0x10' })
    // Node keeps the socket 1 s longer than it advertises (Keep-Alive: timeout=N), so clients close first.
    recordFigure('connections.idleKeepAliveClosedAfterMs (keepAliveTimeoutMs 300; Node adds 1000)', Math.round(performance.now() - client.lastDataAt()))
  })
})

describe('a body over server.bodyLimitBytes', () => {
  const FIFTY_MB = 50 * 1024 * 1024

  test('Content-Length 50 MB → 413 before a byte of the body is sent; the client can then send it all and close cleanly', async () => {
    const proxy = await start({})
    const client = await connect(proxy.baseUrl, { halfOpen: true })
    client.socket.write(requestHead('/rpc/eth', FIFTY_MB))
    // The answer comes with only the headers sent: nothing of the body was waited for.
    await waitFor(() => client.received().includes('"SY_BODY_TOO_LARGE"'), { timeoutMs: 10_000, what: 'the 413' })
    const response = parseResponse(client.received())
    expect(response.status).toBe(413)
    expect(response.headers).toMatch(/connection: close/i)
    expect(response.body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String), data: { code: 'SY_BODY_TOO_LARGE', limit: 5 * 1024 * 1024 } } })
    // A client that writes its whole body before reading (most do) gets no EPIPE / ECONNRESET:
    // the server half-closed and keeps discarding until the client is done.
    const written = await new Promise<Error | null | undefined>((resolve) => client.socket.write(Buffer.alloc(FIFTY_MB, 0x20), resolve))
    expect(written ?? undefined).toBeUndefined()
    client.socket.end()
    expect((await client.closed).error).toBeUndefined()
    expect(guard().stats().earlyRejected).toBe(1)
    expect(node!.calls).toEqual(['eth_chainId', 'eth_blockNumber', 'eth_syncing', 'eth_getBlockByNumber'])
  })

  test.each([false, true])('node:http client (Expect: 100-continue %s) gets the 413 and no EPIPE', async (expectContinue) => {
    const proxy = await start({})
    const outcome = await new Promise<{ status?: number; body: string; error?: string; continued: boolean; bodyBytesSent: number }>((resolve) => {
      let status: number | undefined
      let body = ''
      let error: string | undefined
      let continued = false
      const request = http.request(`${proxy.baseUrl}/rpc/eth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': FIFTY_MB, ...(expectContinue ? { expect: '100-continue' } : {}) },
      })
      request.on('response', (response) => {
        status = response.statusCode
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      })
      request.on('error', (cause: NodeJS.ErrnoException) => (error = cause.code))
      request.on('close', () => resolve({ status, body, error, continued, bodyBytesSent: (request.socket?.bytesWritten ?? 0) - 200 }))
      if (expectContinue) {
        request.on('continue', () => {
          continued = true
          request.end(Buffer.alloc(FIFTY_MB, 0x20))
        })
        // The client gives up waiting for 100 Continue only once it has its answer.
        request.on('response', () => request.end())
      } else {
        request.end(Buffer.alloc(FIFTY_MB, 0x20))
      }
    })
    expect(outcome.error).toBeUndefined()
    expect(outcome.status).toBe(413)
    expect(JSON.parse(outcome.body).error.data.code).toBe('SY_BODY_TOO_LARGE')
    // With Expect, the body is never invited, so never sent.
    if (expectContinue) expect(outcome.continued).toBe(false)
  })

  test('a chunked body growing past the limit → 413 the client can read', async () => {
    const proxy = await start({ bodyLimitBytes: 64 * 1024 })
    const client = await connect(proxy.baseUrl)
    client.socket.write('POST /rpc/eth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')
    const chunk = Buffer.alloc(16 * 1024, 0x20)
    for (let i = 0; i < 16; i++) client.socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`)
    client.socket.end('0\r\n\r\n')
    const { error } = await client.closed
    expect(error).toBeUndefined()
    const response = parseResponse(client.received())
    expect(response.status).toBe(413)
    expect(response.body.error.data).toEqual({ code: 'SY_BODY_TOO_LARGE', limit: 64 * 1024 })
  })

  test('a request sent behind the refused body on the same connection is never handled', async () => {
    const proxy = await start({ bodyLimitBytes: 1024 })
    const client = await connect(proxy.baseUrl)
    const body = ' '.repeat(2048)
    client.socket.end(requestHead('/rpc/eth', body.length) + body + requestHead('/rpc/eth', BALANCE.length) + BALANCE)
    await client.closed
    expect(client.received().match(/HTTP\/1\.1/g)).toHaveLength(1)
    expect(parseResponse(client.received()).status).toBe(413)
    expect(node!.calls).not.toContain('eth_getBalance')
  })
})

describe('request limits through HTTP, with no node call and no node blamed', () => {
  test('batch length, params depth and a reply over routing.maxReplyBytes, each as its own clear error', async () => {
    const proxy = await start({ maxBatchSize: 3, maxParamsDepth: 4 }, { maxReplyBytes: 64 * 1024 })
    node!.on('eth_getLogs', { result: [{ data: `0x${'ab'.repeat(64 * 1024)}` }] })
    const call = (id: number, method: string, params: unknown[]) => ({ jsonrpc: '2.0', id, method, params })

    const tooMany = await proxy.rpc('eth', [1, 2, 3, 4].map((id) => call(id, 'eth_gasPrice', [])))
    expect(tooMany.status).toBe(413)
    expect(tooMany.json).toMatchObject({ id: null, error: { code: -32600, data: { code: 'SY_BATCH_TOO_LARGE', limit: 3 } } })

    const batch = await proxy.rpc('eth', [call(1, 'eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x2' }]), call(2, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', '0x64']), call(3, 'eth_call', [[[[[1]]]]])])
    expect(batch.status).toBe(200)
    expect(batch.json).toEqual([
      { jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: -32058, data: expect.objectContaining({ code: 'SY_REPLY_TOO_LARGE', limit: 64 * 1024 }) }) },
      { jsonrpc: '2.0', id: 2, result: '0x10' },
      { jsonrpc: '2.0', id: 3, error: expect.objectContaining({ code: -32600, data: expect.objectContaining({ code: 'SY_REQUEST_TOO_LARGE', limit: 4 }) }) },
    ])
    expect(node!.calls).not.toContain('eth_call')
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((each) => [each.status, each.failures])).toEqual([['healthy', 0]])
  })
})

describe('server.maxConnections', () => {
  /** Opens `count` sockets one after another, each stuck in its request headers. */
  async function hangOnHeaders(baseUrl: string, count: number): Promise<RawSocket[]> {
    const hanging: RawSocket[] = []
    for (let i = 0; i < count; i++) {
      const client = await connect(baseUrl)
      client.socket.write('POST /rpc/eth HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      hanging.push(client)
    }
    return hanging
  }

  async function freshClientCall(baseUrl: string, block?: number): Promise<{ status: number; body: any }> {
    const client = new Client(baseUrl)
    clients.push(client)
    const body = block === undefined ? BALANCE : JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', `0x${block.toString(16)}`] })
    const response = await client.request({ path: '/rpc/eth', method: 'POST', headers: { 'content-type': 'application/json' }, body })
    return { status: response.statusCode, body: await response.body.json() }
  }

  test('new clients are served while more sockets than the cap hang on partial headers; the oldest give way', async () => {
    const proxy = await start({ maxConnections: 20, headersTimeoutMs: 60_000, requestTimeoutMs: 120_000 })
    const hanging = await hangOnHeaders(proxy.baseUrl, 50)
    await waitFor(() => guard().stats().evicted === 30, { timeoutMs: 10_000, what: '30 evictions' })
    const answers = []
    for (let i = 0; i < 10; i++) answers.push(await freshClientCall(proxy.baseUrl))
    expect(answers.every((answer) => answer.status === 200 && answer.body.result !== undefined)).toBe(true)
    // Oldest first: the 40 first hanging sockets were closed, the 10 newest are still open.
    await Promise.all(hanging.slice(0, 40).map((client) => client.closed))
    expect(hanging.slice(40).every((client) => !client.socket.destroyed)).toBe(true)
    expect(guard().stats()).toMatchObject({ evicted: 40, refused: 0 })
    recordFigure('connections.capNewClientsServed (cap 20, 50 hanging)', `${answers.length}/10`)
  })

  test('eviction order: partial headers, then idle keep-alive (least recent first), then a slow upload; a request in progress never', async () => {
    const proxy = await start({ maxConnections: 3, headersTimeoutMs: 60_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 60_000 })
    const idle = await connect(proxy.baseUrl)
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    await waitFor(() => idle.received().includes('"ok"'), { timeoutMs: 10_000, what: 'the idle socket served' })
    const [partial] = await hangOnHeaders(proxy.baseUrl, 1)
    const upload = await connect(proxy.baseUrl)
    upload.socket.write(requestHead('/rpc/eth', BALANCE.length) + BALANCE.slice(0, 10))
    await waitFor(() => guard().stats().open === 3, { timeoutMs: 10_000, what: 'three open sockets' })

    // Each fresh client keeps its connection (idle keep-alive afterwards), so each one takes a slot.
    expect((await freshClientCall(proxy.baseUrl)).status).toBe(200)
    await partial!.closed
    expect([idle.socket.destroyed, upload.socket.destroyed]).toEqual([false, false])
    expect((await freshClientCall(proxy.baseUrl)).status).toBe(200)
    await idle.closed
    expect(upload.socket.destroyed).toBe(false)
    // Now the idle ones are the previous fresh clients: the older of them goes, not the upload.
    expect((await freshClientCall(proxy.baseUrl)).status).toBe(200)
    expect(upload.socket.destroyed).toBe(false)
    expect(guard().stats()).toMatchObject({ open: 3, evicted: 3, refused: 0 })
  })

  test('a slow upload gives way when nothing idler is left', async () => {
    const proxy = await start({ maxConnections: 2, headersTimeoutMs: 60_000, requestTimeoutMs: 120_000 })
    const uploads = [await connect(proxy.baseUrl), await connect(proxy.baseUrl)]
    for (const upload of uploads) upload.socket.write(requestHead('/rpc/eth', BALANCE.length) + BALANCE.slice(0, 10))
    await waitFor(() => guard().stats().open === 2, { timeoutMs: 10_000, what: 'two uploads open' })
    const answer = await freshClientCall(proxy.baseUrl)
    expect(answer.status).toBe(200)
    await uploads[0]!.closed
    expect(uploads[1]!.socket.destroyed).toBe(false)
    expect(node!.calls).toContain('eth_getBalance')
  })

  test('with a request in progress on every socket, a new connection is closed at once and the others finish', async () => {
    const proxy = await start({ maxConnections: 3 }, { deadlineMs: 3_000 })
    node!.on('eth_getBalance', { hang: true })
    // Three different calls: identical ones in flight would share one node call (routing.coalesce).
    const busy = [1, 2, 3].map((block) => freshClientCall(proxy.baseUrl, block))
    await waitFor(() => node!.calls.filter((method) => method === 'eth_getBalance').length === 3, { timeoutMs: 10_000, what: 'three calls at the node' })
    const refused = await connect(proxy.baseUrl)
    const { error } = await refused.closed
    expect(refused.received()).toBe('')
    expect(error === undefined || error === 'ECONNRESET').toBe(true)
    expect(guard().stats()).toMatchObject({ refused: 1, evicted: 0 })
    // The requests being handled were not touched: each gets its own answer (the node never replies).
    for (const answer of await Promise.all(busy)) expect(answer.body.error.data.code).toBe('SY_DEADLINE_EXCEEDED')
  })
})

describe('a real switchyard process with a 1024 open-file limit', () => {
  let child: ChildProcess | undefined
  let dir: string | undefined
  afterEach(async () => {
    if (child !== undefined) await stopProcess(child, 0)
    child = undefined
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  test('1,100 sockets on partial headers: 40 of 40 new clients are still served, and the startup log warns about the limit', async () => {
    node = await startFakeNode({ chainId: 1, height: 100 })
    node.on('eth_getBalance', { result: '0x10' })
    dir = mkdtempSync(join(tmpdir(), 'switchyard-conn-'))
    const configFile = join(dir, 'config.json')
    // maxInFlightPerNode 200 makes the worst case (900 clients + 209 node sockets + others) exceed 1024: the warning.
    const config = {
      server: { port: 0, maxConnections: 900 },
      journal: { path: ':memory:' },
      chains: { eth: { family: 'evm', chainId: 1, health: { intervalMs: 60_000 }, routing: { maxInFlightPerNode: 200 }, nodes: [{ id: 'n0', url: node.url }] } },
    }
    writeFileSync(configFile, JSON.stringify(config))
    child = spawn('sh', ['-c', 'ulimit -n 1024 && exec "$0" --import tsx src/cli.ts --config "$1"', process.execPath, configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
    const messages: string[] = []
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    let partial = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        try {
          messages.push(String((JSON.parse(line) as { msg: unknown }).msg))
        } catch {
          // not a log line
        }
      }
    })
    const listening = await waitFor(() => messages.find((message) => message.startsWith('switchyard listening on ')), { timeoutMs: 30_000, what: `the listen line; stderr: ${stderr}` })
    const baseUrl = /on (http:\/\/[^:]+:\d+)/.exec(listening)![1]!
    expect(messages.some((message) => message.includes('exceed the open-file limit (1024)'))).toBe(true)

    const hanging = []
    for (let i = 0; i < 1_100; i++) {
      const client = await connect(baseUrl)
      client.socket.write('POST /rpc/eth HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      hanging.push(client)
    }
    // 200 of them were evicted for the newer ones: the cap held, so the file limit was never reached.
    await Promise.all(hanging.slice(0, 200).map((client) => client.closed))
    let served = 0
    for (let i = 0; i < 40; i++) {
      const client = new Client(baseUrl)
      clients.push(client)
      const response = await client.request({ path: '/rpc/eth', method: 'POST', headers: { 'content-type': 'application/json' }, body: BALANCE })
      const body = (await response.body.json()) as { result?: unknown }
      if (response.statusCode === 200 && body.result !== undefined) served += 1
      await client.close()
    }
    expect(served).toBe(40)
    expect(child.exitCode).toBeNull()
    recordFigure('connections.processUlimit1024NewClientsServed (1100 hanging, cap 900)', `${served}/40`)
  }, 120_000)
})
