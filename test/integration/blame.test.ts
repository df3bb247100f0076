/**
 * Blame the right party, with scripted nodes for what real nodes cannot do on demand: a provider
 * that rate-limits every call at HTTP 200, eth_getLogs that never finish while probes answer,
 * nodes that take 250 ms for every call, a 40 MB reply. Real-node versions (anvil): test/real-nodes/blame.test.ts.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterEach, describe, expect, test } from 'vitest'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

let fakes: FakeNode[] = []
let servers: Server[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(fakes.map((node) => node.close()))
  fakes = []
  for (const server of servers) server.closeAllConnections()
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  servers = []
})

const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const call = (method: string, params: unknown[] = [], id: number | string = 1) => ({ jsonrpc: '2.0', id, method, params })
/** What the prober sends (identity, height, sync state, and the fork check's block hash). */
const PROBE_METHODS = new Set(['eth_chainId', 'eth_blockNumber', 'eth_syncing', 'eth_getBlockByNumber'])

async function proxyFor(urls: string[], chain: Record<string, unknown> = {}, server: Record<string, number> = {}): Promise<TestProxy> {
  harness = await startTestProxy({
    server,
    chains: {
      eth: {
        family: 'evm',
        chainId: 1,
        requestTimeoutMs: 300,
        health: { intervalMs: 60_000 },
        ...chain,
        nodes: urls.map((url, index) => ({ id: `n${index}`, url })),
      },
    },
  })
  await harness.probe()
  return harness
}

function statuses(proxy: TestProxy): string[] {
  return proxy.proxy.snapshot().chains[0]!.nodes.map((node) => node.status)
}

describe('a provider refusing at HTTP 200', () => {
  test('a node answering every call with -32005 "request rate limited" gets no answer through, and its error rate rises', async () => {
    fakes = await Promise.all([0, 1, 2].map(() => startFakeNode({ chainId: 1, height: 100 })))
    // n1 passes probes (eth_chainId / eth_blockNumber / eth_syncing answer) but refuses everything else.
    for (const method of ['eth_getBalance', 'eth_gasPrice', 'eth_getTransactionCount']) {
      fakes[1]!.on(method, { error: { code: -32005, message: 'daily request count exceeded, request rate limited' } })
      for (const index of [0, 2]) fakes[index]!.on(method, { result: '0x10' })
    }
    const proxy = await proxyFor(fakes.map((node) => node.url))
    const methods = ['eth_getBalance', 'eth_gasPrice', 'eth_getTransactionCount']
    const answers: unknown[] = []
    for (let i = 0; i < 60; i++) {
      const method = methods[i % 3]!
      const params = method === 'eth_gasPrice' ? [] : [ADDRESS, 'latest']
      answers.push((await proxy.rpc('eth', call(method, params, i))).json)
    }
    const rateLimited = answers.filter((answer) => JSON.stringify(answer).includes('rate limited'))
    expect(rateLimited).toHaveLength(0)
    expect(answers.every((answer) => (answer as { result?: unknown }).result === '0x10')).toBe(true)
    const refusing = proxy.proxy.snapshot().chains[0]!.nodes[1]!
    const asked = fakes[1]!.calls.filter((method) => !PROBE_METHODS.has(method)).length
    expect(asked).toBeGreaterThan(0)
    expect(refusing.failures).toBe(asked)
    expect(refusing.errorRate).toBeGreaterThan(0)
    expect(refusing.lastError).toBe('node n1 refused the call: -32005 daily request count exceeded, request rate limited')
    recordFigure('blame.rateLimited.clientCalls', answers.length)
    recordFigure('blame.rateLimited.rateLimitAnswersToClients', rateLimited.length)
    recordFigure('blame.rateLimited.callsTheRefusingNodeGot', asked)
    recordFigure('blame.rateLimited.refusingNodeErrorRate', refusing.errorRate)
    recordFigure('blame.rateLimited.refusingNodeStatus', refusing.status)
  })
})

describe('a bitcoin node warming up', () => {
  test('-28 "Loading block index…" to a read is the node\'s failure: the client gets another node\'s answer', async () => {
    const GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'
    fakes = await Promise.all([0, 1].map(() => startFakeNode({ version: '1.0', genesisHash: GENESIS, height: 200 })))
    // bitcoind answers legacy errors with HTTP 500 and a JSON-RPC body.
    fakes[0]!.on('getrawtransaction', { error: { code: -28, message: 'Loading block index…' } })
    fakes[1]!.on('getrawtransaction', { result: '0200abcd' })
    harness = await startTestProxy({
      chains: { btc: { family: 'bitcoin', network: 'regtest', requestTimeoutMs: 300, health: { intervalMs: 60_000 }, nodes: fakes.map((node, index) => ({ id: `b${index}`, url: node.url })) } },
    })
    await harness.probe()
    for (let i = 0; i < 20; i++) {
      const response = await harness.rpc('btc', { jsonrpc: '1.0', id: i, method: 'getrawtransaction', params: ['ab'.repeat(32)] })
      expect(response.json).toEqual({ result: '0200abcd', error: null, id: i })
    }
    const warming = harness.proxy.snapshot().chains[0]!.nodes[0]!
    expect(warming.failures).toBeGreaterThan(0)
    expect(warming.lastError).toBe('node b0 refused the call: -28 Loading block index…')
  })
})

describe('heavy calls that time out on every node', () => {
  test('eth_getLogs hanging on all nodes → SY_CALL_TOO_HEAVY; every node stays healthy; a separate wallet\'s cheap calls all succeed', async () => {
    fakes = await Promise.all([0, 1, 2].map(() => startFakeNode({ chainId: 1, height: 100 })))
    for (const node of fakes) {
      node.on('eth_getLogs', { hang: true })
      node.on('eth_getBalance', { result: '0x10' })
    }
    const proxy = await proxyFor(fakes.map((node) => node.url))
    const before = statuses(proxy)
    let heavyDone = false
    const wallet = { calls: 0, failures: 0 }
    const walletLoop = (async () => {
      while (!heavyDone) {
        const method = wallet.calls % 2 === 0 ? 'eth_blockNumber' : 'eth_getBalance'
        const response = await proxy.rpc('eth', call(method, method === 'eth_getBalance' ? [ADDRESS, 'latest'] : []))
        wallet.calls += 1
        if (response.status !== 200 || response.json.error !== undefined) wallet.failures += 1
      }
    })()
    const heavyCodes: string[] = []
    // Three waves of 12 concurrent wide eth_getLogs, with a probe round during each.
    for (let wave = 0; wave < 3; wave++) {
      const logs = Array.from({ length: 12 }, (_, index) =>
        proxy.rpc('eth', call('eth_getLogs', [{ fromBlock: '0x0', toBlock: '0x64', address: ADDRESS }], `${wave}-${index}`)),
      )
      await proxy.probe()
      for (const response of await Promise.all(logs)) {
        expect(response.status).toBe(504)
        heavyCodes.push(response.json.error.data.code)
      }
    }
    heavyDone = true
    await walletLoop
    expect(new Set(heavyCodes)).toEqual(new Set(['SY_CALL_TOO_HEAVY']))
    expect(heavyCodes).toHaveLength(36)
    expect(wallet.calls).toBeGreaterThan(0)
    expect(wallet.failures).toBe(0)
    const after = proxy.proxy.snapshot().chains[0]!.nodes
    expect(after.map((node) => node.status)).toEqual(before)
    expect(after.map((node) => node.status)).toEqual(['healthy', 'healthy', 'healthy'])
    expect(after.map((node) => node.failures)).toEqual([0, 0, 0])
    recordFigure('blame.heavyLogs.heavyCallsSent', heavyCodes.length)
    recordFigure('blame.heavyLogs.walletCalls', wallet.calls)
    recordFigure('blame.heavyLogs.walletFailures', wallet.failures)
    recordFigure('blame.heavyLogs.statusesAfter', after.map((node) => `${node.id}:${node.status}`).join(' '))
  })
})

/**
 * A node in this process for timing and size scripts fake-node.ts lacks: probes answer at once,
 * other calls (counted by `requests`) after `delayMs`; `big` sends one shared pre-built result body (no copy per request).
 */
async function startSlowNode(options: { delayMs?: number; bigResult?: Buffer }): Promise<{ url: string; requests: () => number }> {
  let requests = 0
  const server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.on('end', () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string } | Array<{ id: number; method: string }>
      if (Array.isArray(parsed)) {
        // The prober's batch (eth_chainId, eth_blockNumber, eth_syncing) is answered at once and not
        // counted; reads batched by switchyard (routing.batch) are counted one by one and answered
        // after the delay, as when sent alone.
        const results: Record<string, unknown> = { eth_chainId: '0x1', eth_blockNumber: '0x64', eth_syncing: false, eth_getBalance: '0x10' }
        const reads = parsed.filter((entry) => entry.method === 'eth_getBalance').length
        requests += reads
        const answer = (): void => void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(parsed.map((entry) => ({ jsonrpc: '2.0', id: entry.id, result: results[entry.method] ?? null }))))
        if (reads === 0) answer()
        else setTimeout(answer, options.delayMs ?? 0)
        return
      }
      const body = parsed
      const reply = (result: unknown): void => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id, result }))
      }
      if (body.method === 'eth_chainId') return reply('0x1')
      if (body.method === 'eth_blockNumber') return reply('0x64')
      if (body.method === 'eth_syncing') return reply(false)
      // The prober's fork check: every node has the same block.
      if (body.method === 'eth_getBlockByNumber') return reply({ number: '0x64', hash: `0x${'11'.repeat(32)}`, parentHash: `0x${'22'.repeat(32)}` })
      requests += 1
      if (options.bigResult !== undefined) {
        const head = Buffer.from(`{"jsonrpc":"2.0","id":${body.id},"result":"`)
        const tail = Buffer.from('"}')
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': head.length + options.bigResult.length + tail.length })
        response.write(head)
        response.write(options.bigResult)
        response.end(tail)
        return
      }
      setTimeout(() => reply('0x10'), options.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests: () => requests }
}

describe('bounds on what switchyard holds', () => {
  test('40 concurrent batches of 100 calls on nodes answering in 250 ms: over-the-bound entries get SY_OVERLOADED, no node changes status', async () => {
    const nodes = await Promise.all([0, 1, 2].map(() => startSlowNode({ delayMs: 250 })))
    const proxy = await proxyFor(
      nodes.map((node) => node.url),
      { requestTimeoutMs: 5_000 },
    )
    const before = statuses(proxy)
    const transitions: string[] = []
    proxy.proxy.events.on('node:state', (event) => transitions.push(`${event.nodeId}:${event.from}->${event.to}`))
    const batches = Array.from({ length: 40 }, (_, batch) =>
      proxy.rpc(
        'eth',
        // 4,000 different calls: identical ones in flight would share node calls (routing.coalesce).
        Array.from({ length: 100 }, (_, index) => call('eth_getBalance', [`0x${(batch * 100 + index + 1).toString(16).padStart(40, '0')}`, 'latest'], batch * 100 + index)),
      ),
    )
    // A probe round while every node is at its bound: probes still answer, nothing is marked down.
    await proxy.probe()
    const responses = await Promise.all(batches)
    const entries = responses.flatMap((response) => response.json as Array<{ result?: string; error?: { data?: { code?: string } } }>)
    const answered = entries.filter((entry) => entry.result === '0x10').length
    const overloaded = entries.filter((entry) => entry.error?.data?.code === 'SY_OVERLOADED').length
    expect(entries).toHaveLength(4_000)
    expect(answered + overloaded).toBe(4_000)
    expect(answered).toBeGreaterThan(0)
    expect(overloaded).toBeGreaterThan(0)
    // No node ever holds more than maxInFlightPerNode (64) of them at once, so none queue.
    expect(nodes.reduce((sum, node) => sum + node.requests(), 0)).toBe(answered)
    await proxy.probe()
    expect(statuses(proxy)).toEqual(before)
    expect(transitions).toEqual([])
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => node.failures)).toEqual([0, 0, 0])
    recordFigure('blame.saturation.callsSent', entries.length)
    recordFigure('blame.saturation.answered', answered)
    recordFigure('blame.saturation.overloaded', overloaded)
    recordFigure('blame.saturation.statusChanges', transitions.length)
  })

  test('a 40 MB eth_getLogs reply fetched by 40 clients: bounded memory, SY_OVERLOADED over the budget, no node blamed', async () => {
    const megabytes = 40
    const bigResult = Buffer.alloc(megabytes * 1024 * 1024, 'a')
    const nodes = await Promise.all([0, 1, 2].map(() => startSlowNode({ bigResult })))
    const proxy = await proxyFor(
      nodes.map((node) => node.url),
      { requestTimeoutMs: 30_000, routing: { maxReplyBytes: 64 * 1024 * 1024, deadlineMs: 60_000 } },
      { maxReplyBytesInFlight: 100 * 1024 * 1024 },
    )
    const before = statuses(proxy)
    const rssBefore = process.memoryUsage.rss()
    let rssPeak = rssBefore
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss())
    }, 20)
    // Clients stream the reply and keep only its size and first bytes (this process is also the client).
    const fetchOne = async (id: number): Promise<{ status: number; bytes: number; head: string }> => {
      const response = await request(`${proxy.baseUrl}/rpc/eth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // A different range per client: identical calls in flight would share one node call (routing.coalesce).
        body: JSON.stringify(call('eth_getLogs', [{ fromBlock: '0x0', toBlock: `0x${(100 + id).toString(16)}` }], id)),
      })
      let bytes = 0
      let head = ''
      for await (const chunk of response.body) {
        if (head.length < 300) head += chunk.toString('utf8', 0, Math.min(chunk.length, 300))
        bytes += chunk.length
      }
      return { status: response.statusCode, bytes, head }
    }
    const results = await Promise.all(Array.from({ length: 40 }, (_, id) => fetchOne(id)))
    clearInterval(sampler)
    const rssAfter = process.memoryUsage.rss()
    const full = results.filter((result) => result.status === 200 && result.bytes > megabytes * 1024 * 1024)
    const overloaded = results.filter((result) => result.status === 503 && result.head.includes('SY_OVERLOADED'))
    const growthMiB = Math.round((rssPeak - rssBefore) / (1024 * 1024))
    recordFigure('blame.bigReply.clients', results.length)
    recordFigure('blame.bigReply.fullAnswers', full.length)
    recordFigure('blame.bigReply.overloaded', overloaded.length)
    recordFigure('blame.bigReply.rssBeforeMiB', Math.round(rssBefore / (1024 * 1024)))
    recordFigure('blame.bigReply.rssPeakMiB', Math.round(rssPeak / (1024 * 1024)))
    recordFigure('blame.bigReply.rssAfterMiB', Math.round(rssAfter / (1024 * 1024)))
    expect(full.length + overloaded.length).toBe(40)
    expect(full.length).toBeGreaterThan(0)
    expect(overloaded.length).toBeGreaterThan(0)
    // Unbounded (maxReplyBytesInFlight 4 GB) the same run grew RSS by about 2.7 GB here (the issue saw
    // 2.25 GB and a stalled proxy); bounded it stays under 1 GB. The margin absorbs GC timing.
    expect(growthMiB).toBeLessThan(1_536)
    expect(statuses(proxy)).toEqual(before)
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => node.failures)).toEqual([0, 0, 0])
  })

  test('a reply over routing.maxReplyBytes → SY_REPLY_TOO_LARGE at once, no failover, no node blamed', async () => {
    const bigResult = Buffer.alloc(2 * 1024 * 1024, 'b')
    const nodes = await Promise.all([0, 1].map(() => startSlowNode({ bigResult })))
    const proxy = await proxyFor(
      nodes.map((node) => node.url),
      { routing: { maxReplyBytes: 1024 * 1024 } },
    )
    const response = await proxy.rpc('eth', call('eth_getLogs', [{ fromBlock: '0x0', toBlock: '0x64' }]))
    expect(response.status).toBe(502)
    expect(response.json.error).toMatchObject({ code: -32058, data: { code: 'SY_REPLY_TOO_LARGE', limit: 1024 * 1024 } })
    expect(nodes[0]!.requests() + nodes[1]!.requests()).toBe(1)
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => [node.status, node.failures])).toEqual([
      ['healthy', 0],
      ['healthy', 0],
    ])
  })
})

describe('requests the proxy can judge itself', () => {
  test('a call over server.maxCallBytes or nesting too deep never reaches a node; the rest of the batch does', async () => {
    fakes = await Promise.all([0, 1].map(() => startFakeNode({ chainId: 1, height: 100 })))
    for (const node of fakes) node.on('eth_call', { result: '0x' })
    const proxy = await proxyFor(fakes.map((node) => node.url), {}, { maxCallBytes: 64 * 1024, maxParamsDepth: 8 })
    let deep: unknown = 'x'
    for (let i = 0; i < 10; i++) deep = [deep]
    const batch = [
      call('eth_call', [{ to: ADDRESS, data: `0x${'ab'.repeat(64 * 1024)}` }, 'latest'], 'big'),
      call('eth_call', [{ to: ADDRESS, data: '0x' }, 'latest'], 'small'),
      call('eth_call', [deep, 'latest'], 'deep'),
    ]
    const response = await proxy.rpc('eth', batch)
    expect(response.status).toBe(200)
    expect(response.json).toEqual([
      { jsonrpc: '2.0', id: 'big', error: expect.objectContaining({ code: -32600, data: expect.objectContaining({ code: 'SY_REQUEST_TOO_LARGE', limit: 64 * 1024 }) }) },
      { jsonrpc: '2.0', id: 'small', result: '0x' },
      { jsonrpc: '2.0', id: 'deep', error: expect.objectContaining({ code: -32600, data: expect.objectContaining({ code: 'SY_REQUEST_TOO_LARGE', limit: 8 }) }) },
    ])
    expect(fakes.flatMap((node) => node.calls).filter((method) => method === 'eth_call')).toHaveLength(1)
    // A single oversized call: 413, shaped for the client's version (1.0 here), id kept.
    const single = await proxy.rpc('eth', JSON.stringify({ id: 7, method: 'eth_call', params: [{ data: `0x${'cd'.repeat(64 * 1024)}` }, 'latest'] }))
    expect(single.status).toBe(413)
    expect(single.json).toMatchObject({ result: null, id: 7, error: { code: -32600, data: { code: 'SY_REQUEST_TOO_LARGE' } } })
  })

  test('two nodes rejecting the same call (id:null error, HTTP 413) → SY_REQUEST_REJECTED; nobody blamed; other calls fine', async () => {
    fakes = await Promise.all([0, 1, 2].map(() => startFakeNode({ chainId: 1, height: 100 })))
    fakes[0]!.on('eth_call', { raw: '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}' })
    fakes[1]!.on('eth_call', { status: 413, body: 'request entity too large' })
    fakes[2]!.on('eth_call', { status: 413, body: 'request entity too large' })
    const proxy = await proxyFor(fakes.map((node) => node.url))
    const before = statuses(proxy)
    for (let i = 0; i < 10; i++) {
      const response = await proxy.rpc('eth', call('eth_call', [{ to: ADDRESS, data: '0x' }, 'latest'], i))
      expect(response.status).toBe(400)
      expect(response.json.error).toMatchObject({ code: -32055, data: { code: 'SY_REQUEST_REJECTED', method: 'eth_call' } })
      expect(response.json.error.data.causes).toHaveLength(2)
      expect(response.text).not.toMatch(/127\.0\.0\.1/)
    }
    expect(statuses(proxy)).toEqual(before)
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => node.failures)).toEqual([0, 0, 0])
    expect((await proxy.rpc('eth', call('eth_blockNumber'))).json.result).toBe('0x64')
  })
})
