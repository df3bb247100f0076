/**
 * The operators' API: auth, live event stream, history, timeline, cordon/uncordon/probe, request ids.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { tokenMatches } from '../../src/server/admin-auth.js'
import { isLoopback } from '../../src/server/client-address.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const TOKEN = 'test-admin-token-0123456789'
let nodes: Array<FakeNode & { setHeight(h: number): void }> = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
})

async function setup(token: string | null = TOKEN): Promise<TestProxy> {
  nodes = await Promise.all([0, 1, 2].map(() => startFakeNode({ chainId: 1, height: 100 })))
  harness = await startTestProxy(
    {
      ...(token === null ? {} : { admin: { token } }),
      chains: { eth: { family: 'evm', chainId: 1, health: { intervalMs: 60_000 }, nodes: nodes.map((node, index) => ({ id: `n${index}`, url: node.url })) } },
    },
    { autoProbe: true },
  )
  return harness
}

const auth = { authorization: `Bearer ${TOKEN}` }
/** Admin actions are JSON requests. */
const act = { ...auth, 'content-type': 'application/json' }

describe('admin auth', () => {
  test('missing or wrong token → 401 with nothing else; the right one works', async () => {
    const proxy = await setup()
    for (const headers of [{}, { authorization: 'Bearer wrong-token-value-xxxxxxxx' }, { authorization: TOKEN }]) {
      const response = await proxy.app.inject({ method: 'GET', url: '/admin/api/chains', headers })
      expect(response.statusCode).toBe(401)
      expect(response.json()).toEqual({ error: 'unauthorized' })
    }
    const cordon = await proxy.app.inject({ method: 'POST', url: '/admin/api/nodes/eth/n0/cordon', headers: { 'content-type': 'application/json' }, payload: '{"reason":"x"}' })
    expect(cordon.statusCode).toBe(401)
    expect(proxy.proxy.snapshot().chains[0]!.nodes[0]!.status).toBe('healthy')
    const ok = await proxy.app.inject({ method: 'GET', url: '/admin/api/chains', headers: auth })
    expect(ok.statusCode).toBe(200)
    expect(ok.json().chains[0].nodes).toHaveLength(3)
  })

  test('without a token, admin routes answer loopback clients only, read-only', async () => {
    const proxy = await setup(null)
    expect((await proxy.app.inject({ method: 'GET', url: '/admin/api/chains', remoteAddress: '127.0.0.1' })).statusCode).toBe(200)
    const remote = await proxy.app.inject({ method: 'GET', url: '/admin/api/chains', remoteAddress: '203.0.113.7' })
    expect(remote.statusCode).toBe(403)
    expect(remote.json()).toEqual({ error: 'forbidden' })
    // Actions are refused even on loopback: no token, no cordon.
    const cordon = await proxy.app.inject({ method: 'POST', url: '/admin/api/nodes/eth/n0/cordon', remoteAddress: '127.0.0.1', headers: { 'content-type': 'application/json' }, payload: '{}' })
    expect(cordon.statusCode).toBe(403)
    expect(cordon.json().error).toContain('admin.token')
    expect(proxy.proxy.snapshot().chains[0]!.nodes[0]!.status).toBe('healthy')
    // JSON-RPC itself is not an admin route.
    expect((await proxy.app.inject({ method: 'POST', url: '/rpc/eth', remoteAddress: '203.0.113.7', payload: { jsonrpc: '2.0', id: 1, method: 'eth_chainId' } })).statusCode).toBe(200)
  })

  test.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['127.8.9.10', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
  ])('isLoopback(%s) → %s', (address, expected) => expect(isLoopback(address)).toBe(expected))

  test('tokenMatches compares whole tokens of any length', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true)
    expect(tokenMatches('abc', 'abcd')).toBe(false)
    expect(tokenMatches('', 'abc')).toBe(false)
  })
})

describe('admin routes', () => {
  test('cordon (with reason) / uncordon / probe now; unknown node or chain → 404', async () => {
    const proxy = await setup()
    const cordon = await proxy.app.inject({ method: 'POST', url: '/admin/api/nodes/eth/n1/cordon', headers: act, payload: '{"reason":"disk replacement"}' })
    expect(cordon.json()).toEqual({ ok: true })
    expect(proxy.proxy.snapshot().chains[0]!.nodes[1]).toMatchObject({ status: 'cordoned', reason: 'cordoned by operator: disk replacement' })
    for (let i = 0; i < 10; i++) expect((await proxy.rpc('eth', { jsonrpc: '2.0', id: i, method: 'eth_blockNumber', params: [] })).node).not.toBe('n1')
    expect((await proxy.app.inject({ method: 'POST', url: '/admin/api/nodes/eth/n1/uncordon', headers: act, payload: '{}' })).json()).toEqual({ ok: true })
    nodes[0]!.setHeight(101)
    expect((await proxy.app.inject({ method: 'POST', url: '/admin/api/chains/eth/probe', headers: act })).json()).toEqual({ ok: true })
    expect(proxy.proxy.snapshot().chains[0]!.nodes[1]!.status).toBe('healthy')
    expect((await proxy.app.inject({ method: 'POST', url: '/admin/api/nodes/eth/nope/cordon', headers: act, payload: '{}' })).statusCode).toBe(404)
    expect((await proxy.app.inject({ method: 'POST', url: '/admin/api/chains/nope/probe', headers: act })).statusCode).toBe(404)
    expect((await proxy.app.inject({ method: 'POST', url: '/admin/api/nodes/eth/n0/cordon', headers: act, payload: 'not json' })).statusCode).toBe(400)
  })

  test('timeline and history', async () => {
    const proxy = await setup()
    proxy.proxy.cordon('eth', 'n2', 'test')
    const timeline = (await proxy.app.inject({ method: 'GET', url: '/admin/api/timeline', headers: auth })).json()
    expect(timeline.entries.at(-1)).toMatchObject({ kind: 'node:state', chain: 'eth', nodeId: 'n2', from: 'healthy', to: 'cordoned', text: 'n2: healthy → cordoned (cordoned by operator: test)' })
    const history = (await proxy.app.inject({ method: 'GET', url: '/admin/api/history', headers: auth })).json()
    expect(history.intervalMs).toBe(5_000)
    expect(Array.isArray(history.samples)).toBe(true)
  })

  test('the event stream sends a snapshot at once and timeline entries as they happen', async () => {
    const proxy = await setup()
    const controller = new AbortController()
    const response = await fetch(`${proxy.baseUrl}/admin/api/events`, { headers: auth, signal: controller.signal })
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    const nextEvent = async (name: string): Promise<unknown> => {
      for (;;) {
        const frames = buffer.split('\n\n')
        buffer = frames.pop() ?? ''
        for (const frame of frames) {
          const event = /^event: (.+)$/m.exec(frame)?.[1]
          const data = /^data: (.+)$/m.exec(frame)?.[1]
          if (event === name && data !== undefined) return JSON.parse(data)
        }
        const chunk = await reader.read()
        if (chunk.done) throw new Error('stream ended')
        buffer += decoder.decode(chunk.value, { stream: true })
      }
    }
    const snapshot = (await nextEvent('snapshot')) as { chains: Array<{ name: string }> }
    expect(snapshot.chains[0]!.name).toBe('eth')
    proxy.proxy.cordon('eth', 'n0', 'live')
    expect(await nextEvent('timeline')).toMatchObject({ kind: 'node:state', nodeId: 'n0', to: 'cordoned' })
    controller.abort()
    expect((await fetch(`${proxy.baseUrl}/admin/api/events`)).status).toBe(401)
  })

  test('every response carries x-request-id; a tame client id is kept', async () => {
    const proxy = await setup()
    const mine = await proxy.rpc('eth', { jsonrpc: '2.0', id: 1, method: 'eth_chainId' }, { 'x-request-id': 'wallet-42' })
    expect(mine.headers['x-request-id']).toBe('wallet-42')
    const generated = await proxy.rpc('eth', { jsonrpc: '2.0', id: 1, method: 'eth_chainId' }, { 'x-request-id': 'bad id with spaces and more' })
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })
})
