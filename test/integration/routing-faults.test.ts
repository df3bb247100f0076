/**
 * Routing behaviour under faults real nodes cannot be made to produce on demand (hang a single
 * reply, 5xx, 429, garbage), with scriptable fake nodes. Real-node behaviour: test/real-nodes.
 */
import { afterEach, describe, expect, test } from 'vitest'
import type { NodeStateEvent } from '../../src/proxy-events.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

let nodes: Array<FakeNode & { setHeight(h: number): void }> = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
})

async function evmPool(count: number, routing: Record<string, number> = {}, health: Record<string, number> = {}): Promise<TestProxy> {
  nodes = await Promise.all(Array.from({ length: count }, () => startFakeNode({ chainId: 1, height: 100 })))
  harness = await startTestProxy({
    chains: {
      eth: {
        family: 'evm',
        chainId: 1,
        requestTimeoutMs: 300,
        routing: { maxAttempts: 3, deadlineMs: 5_000, ...routing },
        health: { intervalMs: 60_000, ...health },
        nodes: nodes.map((node, index) => ({ id: `n${index}`, url: `http://user:hunter2@127.0.0.1:${node.port}/key/SECRETKEY` })),
      },
    },
  })
  await harness.probe()
  return harness
}

const call = (method: string, params: unknown[] = [], id: number | string = 1) => ({ jsonrpc: '2.0', id, method, params })

describe('failover', () => {
  test.each<{ name: string; fault: Parameters<FakeNode['queue']>[0]; cause: string }>([
    { name: 'a hanging node (timeout)', fault: { hang: true }, cause: 'timeout' },
    { name: 'HTTP 503', fault: { status: 503, body: 'Work queue depth exceeded' }, cause: 'http-status' },
    { name: 'HTTP 429 with a JSON-RPC body', fault: { status: 429, body: '{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate"}}', contentType: 'application/json' }, cause: 'http-status' },
    { name: 'HTTP 500 without a JSON-RPC body', fault: { status: 500, body: 'boom' }, cause: 'http-status' },
    { name: 'garbage', fault: { raw: '<html>not json' }, cause: 'bad-response' },
  ])('$name → the client gets one answer from another node', async ({ fault }) => {
    const proxy = await evmPool(2)
    // Whichever node is asked first fails once; the other answers.
    let faulted = false
    for (const node of nodes) {
      node.on('eth_getBalance', () => {
        if (faulted) return { result: '0x10' }
        faulted = true
        return fault
      })
    }
    const response = await proxy.rpc('eth', call('eth_getBalance', ['0x0000000000000000000000000000000000000000', 'latest']))
    expect(response.status).toBe(200)
    expect(response.json).toEqual({ jsonrpc: '2.0', id: 1, result: '0x10' })
    expect(response.attempts).toBe(2)
    expect(response.node).toMatch(/^n[01]$/)
  })

  test('a node error (execution reverted) is an answer: no failover, no health penalty', async () => {
    const proxy = await evmPool(2)
    for (const node of nodes) node.on('eth_call', { error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } })
    const response = await proxy.rpc('eth', call('eth_call', [{ to: '0x0000000000000000000000000000000000000001' }, 'latest']))
    expect(response.json).toEqual({ jsonrpc: '2.0', id: 1, error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } })
    expect(response.attempts).toBe(1)
    const snapshot = proxy.proxy.snapshot().chains[0]!
    expect(snapshot.nodes.every((node) => node.failures === 0 && node.status === 'healthy')).toBe(true)
  })

  test('all nodes failing → SY_ALL_NODES_FAILED (502) naming causes by node id only', async () => {
    const proxy = await evmPool(2)
    for (const node of nodes) node.on('eth_gasPrice', { status: 502, body: 'bad gateway' })
    const response = await proxy.rpc('eth', call('eth_gasPrice'))
    expect(response.status).toBe(502)
    expect(response.json.error.code).toBe(-32051)
    expect(response.json.error.data.code).toBe('SY_ALL_NODES_FAILED')
    expect(response.json.error.data.causes.sort()).toEqual(['n0: http-status', 'n1: http-status'])
    expect(response.text).not.toMatch(/hunter2|SECRETKEY|127\.0\.0\.1/)
  })

  test('traffic failures eject a node as down after failuresToDown, and the event says why', async () => {
    const proxy = await evmPool(2)
    const events: NodeStateEvent[] = []
    proxy.proxy.events.on('node:state', (event) => events.push(event))
    nodes[0]!.on('eth_gasPrice', { status: 503 })
    nodes[1]!.on('eth_gasPrice', { result: '0x1' })
    // Scoring alone steers away from a failing node after one failure (its error rate sinks its
    // score), so with n1 cordoned every call must try n0 first.
    proxy.proxy.cordon('eth', 'n1', 'test')
    for (let i = 0; i < 3; i++) expect((await proxy.rpc('eth', call('eth_gasPrice'))).json.error.data.code).toBe('SY_ALL_NODES_FAILED')
    expect(events.at(-1)).toEqual(expect.objectContaining({ chain: 'eth', nodeId: 'n0', from: 'healthy', to: 'down', reason: '3 consecutive failures; last: node n0 answered HTTP 503' }))
    proxy.proxy.uncordon('eth', 'n1')
    await proxy.probe()
    // Once down, n0 is never asked again.
    const before = nodes[0]!.calls.length
    for (let i = 0; i < 5; i++) expect((await proxy.rpc('eth', call('eth_gasPrice'))).node).toBe('n1')
    expect(nodes[0]!.calls.length).toBe(before)
  })

  test('the overall deadline bounds the whole call', async () => {
    const proxy = await evmPool(3, { deadlineMs: 400, maxAttempts: 3 })
    for (const node of nodes) node.on('eth_gasPrice', { hang: true })
    const response = await proxy.rpc('eth', call('eth_gasPrice'))
    expect(response.status).toBe(504)
    expect(response.json.error.data.code).toBe('SY_DEADLINE_EXCEEDED')
  })
})

describe('fail closed', () => {
  test('a node failing live traffic costs clients nothing: failover each time, then down after failuresToDown', async () => {
    const proxy = await evmPool(2)
    nodes[0]!.on('eth_gasPrice', { status: 503 })
    nodes[1]!.on('eth_gasPrice', { result: '0x1' })
    for (let i = 0; i < 40; i++) expect((await proxy.rpc('eth', call('eth_gasPrice'))).json.result).toBe('0x1')
    expect(nodes[0]!.calls.filter((method) => method === 'eth_gasPrice').length).toBe(3)
    expect(proxy.proxy.snapshot().chains[0]!.nodes[0]!.status).toBe('down')
  })

  test('no routable node → 503 SY_NO_ROUTABLE_NODE, never a lagging node', async () => {
    const proxy = await evmPool(3)
    // n0 and n1 move on; n2 stays behind; then n0 and n1 die.
    nodes[0]!.setHeight(200)
    nodes[1]!.setHeight(200)
    await proxy.probe()
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'healthy', 'lagging'])
    await nodes[0]!.close()
    await nodes[1]!.close()
    nodes = [nodes[2]!]
    for (let i = 0; i < 3; i++) await proxy.probe()
    const response = await proxy.rpc('eth', call('eth_blockNumber'))
    expect(response.status).toBe(503)
    expect(response.json.error).toMatchObject({ code: -32050, data: { code: 'SY_NO_ROUTABLE_NODE', chain: 'eth', nodes: { n0: 'down', n1: 'down', n2: 'lagging' } } })
    // The head stays where the dead nodes left it: the survivor is still lagging, not re-admitted.
    expect(proxy.proxy.snapshot().chains[0]!.head).toBe(200)
    // n2 (now nodes[0]) saw only probes: 1 at start, 1 after the others moved on, 3 after they died.
    expect(nodes[0]!.calls.filter((method) => method === 'eth_blockNumber').length).toBe(1 + 1 + 3)
  })
})

describe('requests', () => {
  test('unknown chain → 404 with a JSON-RPC error', async () => {
    const proxy = await evmPool(1)
    const response = await proxy.rpc('nope', call('eth_blockNumber'))
    expect(response.status).toBe(404)
    expect(response.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32053, data: { code: 'SY_UNKNOWN_CHAIN' } } })
  })

  test.each<{ body: string; status: number; code: number; id?: number }>([
    { body: '{"jsonrpc":"2.0","id":1,', status: 400, code: -32700 },
    { body: '[]', status: 400, code: -32600 },
    { body: '{"jsonrpc":"2.0","id":1}', status: 400, code: -32600, id: 1 },
  ])('bad body $body → $status / $code', async ({ body, status, code, id }) => {
    const proxy = await evmPool(1)
    const response = await proxy.rpc('eth', body)
    expect(response.status).toBe(status)
    expect(response.json).toMatchObject({ jsonrpc: '2.0', id: id ?? null, error: { code } })
  })

  test('forbidden methods never reach a node', async () => {
    const proxy = await evmPool(1)
    const before = nodes[0]!.calls.length
    for (const method of ['eth_sendTransaction', 'personal_unlockAccount', 'admin_addPeer', 'debug_setHead', 'txpool_content', 'eth_accounts']) {
      const response = await proxy.rpc('eth', call(method))
      expect(response.json.error).toMatchObject({ code: -32601, message: `method ${method} is not allowed through switchyard`, data: { code: 'SY_METHOD_NOT_ALLOWED' } })
    }
    expect(nodes[0]!.calls.length).toBe(before)
  })

  test('batch: answers in request order, notifications get no entry, invalid elements get -32600', async () => {
    const proxy = await evmPool(2)
    for (const node of nodes) node.on('eth_getBalance', (_method, params) => ({ result: (params as string[])[0] }))
    const batch = [
      call('eth_getBalance', ['0x01', 'latest'], 'a'),
      { jsonrpc: '2.0', method: 'eth_getBalance', params: ['0x99', 'latest'] },
      42,
      call('eth_chainId', [], 'c'),
      call('eth_getBalance', ['0x02', 'latest'], 'b'),
      call('debug_traceTransaction', ['0x00'], 'd'),
    ]
    const response = await proxy.rpc('eth', batch)
    expect(response.status).toBe(200)
    expect(response.json).toEqual([
      { jsonrpc: '2.0', id: 'a', result: '0x01' },
      { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32600 }) },
      { jsonrpc: '2.0', id: 'c', result: '0x1' },
      { jsonrpc: '2.0', id: 'b', result: '0x02' },
      { jsonrpc: '2.0', id: 'd', error: expect.objectContaining({ code: -32601 }) },
    ])
    // The read notification was not executed (reads have no effect; skipping is indistinguishable).
    expect(nodes.flatMap((node) => node.calls).filter((method) => method === 'eth_getBalance').length).toBe(2)
  })

  test('a single notification or an all-notification batch → 204, no body', async () => {
    const proxy = await evmPool(1)
    expect((await proxy.rpc('eth', { jsonrpc: '2.0', method: 'eth_blockNumber' })).status).toBe(204)
    const batch = await proxy.rpc('eth', [{ jsonrpc: '2.0', method: 'eth_blockNumber' }, { jsonrpc: '2.0', method: 'eth_gasPrice' }])
    expect(batch.status).toBe(204)
    expect(batch.text).toBe('')
  })

  test('body over the limit → 413 JSON-RPC error', async () => {
    const proxy = await evmPool(1)
    const response = await proxy.rpc('eth', JSON.stringify(call('eth_call', ['x'.repeat(6 * 1024 * 1024)])))
    expect(response.status).toBe(413)
    expect(response.json.error.data.code).toBe('SY_BODY_TOO_LARGE')
  })

  test('eth_chainId is answered locally from config', async () => {
    const proxy = await evmPool(1)
    const before = nodes[0]!.calls.length
    const response = await proxy.rpc('eth', call('eth_chainId'))
    expect(response.json).toEqual({ jsonrpc: '2.0', id: 1, result: '0x1' })
    expect(nodes[0]!.calls.length).toBe(before)
  })

  test('a node "header not found" for a height above its own is retried on another node, never counted', async () => {
    // Two nodes have block 101 (compared at the head, so it is served); n0 is a block behind.
    const proxy = await evmPool(3)
    nodes[1]!.setHeight(101)
    nodes[2]!.setHeight(101)
    await proxy.probe()
    expect(proxy.proxy.snapshot().chains[0]!.readHead).toBe(101)
    nodes[0]!.on('eth_getBlockByNumber', { error: { code: -32000, message: 'header not found' } })
    nodes[1]!.on('eth_getBlockByNumber', { result: { number: '0x65' } })
    nodes[2]!.on('eth_getBlockByNumber', { result: { number: '0x65' } })
    for (let i = 0; i < 6; i++) {
      const response = await proxy.rpc('eth', call('eth_getBlockByNumber', ['0x65', false]))
      expect(response.json.result).toEqual({ number: '0x65' })
    }
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => [node.status, node.failures])).toEqual([
      ['healthy', 0],
      ['healthy', 0],
      ['healthy', 0],
    ])
  })

  test('a block only one node has is not served before a comparison backs it: the read goes to nodes below it', async () => {
    const proxy = await evmPool(2)
    nodes[1]!.setHeight(101)
    await proxy.probe()
    const chain = proxy.proxy.snapshot().chains[0]!
    expect([chain.head, chain.readHead]).toEqual([101, 100])
    const response = await proxy.rpc('eth', call('eth_getBlockByNumber', ['0x65', false]))
    expect(response.json.result).toBeNull()
    expect(response.node).toBe('n0')
    expect((await proxy.rpc('eth', call('eth_blockNumber'))).json.result).toBe('0x64')
  })

  test('"header not found" for a block the node reported having is its failure: failover, and it counts', async () => {
    const proxy = await evmPool(2)
    nodes[0]!.on('eth_getBlockByNumber', { error: { code: -32000, message: 'header not found' } })
    nodes[1]!.on('eth_getBlockByNumber', { result: { number: '0x64' } })
    // n1 cordoned, then back: every call asks n0 first while it is the only node, then fails over.
    proxy.proxy.cordon('eth', 'n1', 'test')
    const alone = await proxy.rpc('eth', call('eth_getBlockByNumber', ['0x64', false]))
    expect(alone.json.error.data.code).toBe('SY_ALL_NODES_FAILED')
    expect(proxy.proxy.snapshot().chains[0]!.nodes[0]).toMatchObject({ failures: 1, lastError: 'node n0 answered -32000 header not found for a block at or below its reported height' })
    proxy.proxy.uncordon('eth', 'n1')
    await proxy.probe()
    for (let i = 0; i < 6; i++) expect((await proxy.rpc('eth', call('eth_getBlockByNumber', ['0x64', false]))).json.result).toEqual({ number: '0x64' })
  })
})

describe('admin and readiness', () => {
  test('GET /admin/api/chains has the documented shape, without URLs', async () => {
    const proxy = await evmPool(2)
    const response = await fetch(`${proxy.baseUrl}/admin/api/chains`)
    const body = await response.json()
    expect(body).toEqual({
      chains: [
        {
          name: 'eth',
          family: 'evm',
          head: 100,
          readHead: 100,
          routable: 2,
          fork: null,
          nodes: [expect.objectContaining({ id: 'n0', status: 'healthy', height: 100, lag: 0, reason: 'in sync since height 100' }), expect.objectContaining({ id: 'n1' })],
          hedges: { sent: 0, won: 0, inFlight: 0 },
          cache: { hits: 0, misses: 0, stores: 0, evictions: 0, bytes: 0, entries: 0 },
          coalesced: 0,
          batched: { batches: 0, calls: 0, refusedBy: [] },
        },
      ],
    })
    for (const key of ['id', 'status', 'height', 'lag', 'latencyMs', 'errorRate', 'score', 'reason']) expect(body.chains[0].nodes[0]).toHaveProperty(key)
    expect(JSON.stringify(body)).not.toMatch(/hunter2|SECRETKEY|127\.0\.0\.1/)
  })

  test('/readyz is 503 before the first probe round and 200 after; /healthz always 200', async () => {
    nodes = [await startFakeNode({ chainId: 1 })]
    harness = await startTestProxy({ chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: nodes[0]!.url }] } } })
    expect((await fetch(`${harness.baseUrl}/healthz`)).status).toBe(200)
    expect((await fetch(`${harness.baseUrl}/readyz`)).status).toBe(503)
    await harness.probe()
    const ready = await fetch(`${harness.baseUrl}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ ready: true, chains: [{ name: 'eth', head: 100, routable: 1 }], journal: { ok: true, detail: '' } })
  })
})
