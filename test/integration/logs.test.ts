/**
 * Structured logs: JSON lines from pino through Fastify, request ids, node state changes by node
 * id, and never a node URL or credential.
 */
import { Writable } from 'node:stream'
import { afterEach, expect, test } from 'vitest'
import { createProxy } from '../../src/index.js'
import { buildApp } from '../../src/server/build-app.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'

let nodes: Array<FakeNode & { setHeight(h: number): void }> = []
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
})

test('logs are JSON lines with request ids and node ids, never URLs or secrets', async () => {
  nodes = await Promise.all([0, 1, 2].map(() => startFakeNode({ chainId: 1, height: 100 })))
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  const proxy = createProxy({
    journal: { path: ':memory:' },
    log: { level: 'info' },
    chains: { eth: { family: 'evm', chainId: 1, health: { intervalMs: 60_000 }, nodes: nodes.map((node, index) => ({ id: `n${index}`, url: `http://user:hunter2@127.0.0.1:${node.port}/SECRETKEY` })) } },
  })
  const app = buildApp(proxy, { logger: { level: 'info', stream } })
  await app.ready()
  await proxy.start()
  nodes[0]!.setHeight(110)
  nodes[1]!.setHeight(110)
  await proxy.probe('eth')
  // Per-request lines are off (they would cost more than the proxying); a request's id comes back
  // in x-request-id and tags any line the request causes.
  const response = await app.inject({ method: 'POST', url: '/rpc/eth', headers: { 'x-request-id': 'req-77' }, payload: { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' } })
  expect(response.headers['x-request-id']).toBe('req-77')
  await app.close()
  await proxy.close()

  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  expect(records.length).toBeGreaterThan(0)
  expect(records).toContainEqual(expect.objectContaining({ level: 40, event: 'node:state', chain: 'eth', node: 'n2', from: 'healthy', to: 'lagging', reason: '10 blocks behind head 110 (max 3)' }))
  expect(records).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/admin\.token is not set/) }))
  const text = lines.join('\n')
  for (const node of nodes) expect(text).not.toContain(String(node.port))
  expect(text).not.toMatch(/hunter2|SECRETKEY/)
})
