/**
 * switchyard as a library (no HTTP server), against real anvil nodes.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { NodeRpcError, ProxyError, createProxy, isProxyError } from '../../src/index.js'
import type { NodeStateEvent } from '../../src/proxy-events.js'

let anvils: AnvilNode[] = []
beforeAll(async () => {
  anvils = await Promise.all([startAnvil({ id: 'lib-a' }), startAnvil({ id: 'lib-b' })])
})
afterAll(async () => {
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

test('createProxy → start → request / snapshot / events / cordon → close', async () => {
  const proxy = createProxy({
    journal: { path: ':memory:' },
    chains: {
      eth: { family: 'evm', chainId: 31337, health: { intervalMs: 100_000 }, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) },
    },
  })
  const events: NodeStateEvent[] = []
  proxy.events.on('node:state', (event) => events.push(event))
  await proxy.start()
  expect(events.map((event) => [event.nodeId, event.from, event.to])).toEqual([
    ['lib-a', 'starting', 'healthy'],
    ['lib-b', 'starting', 'healthy'],
  ])
  expect(await proxy.request('eth', { method: 'eth_blockNumber', params: [] })).toBe('0x0')
  expect(await proxy.request('eth', { method: 'eth_chainId' })).toBe('0x7a69')

  // A node's own error is thrown as NodeRpcError with the answering node's id.
  const nodeError = await proxy.request('eth', { method: 'eth_getBalance', params: ['not-an-address', 'latest'] }).catch((error: unknown) => error)
  expect(nodeError).toBeInstanceOf(NodeRpcError)
  expect((nodeError as NodeRpcError).nodeId).toMatch(/^lib-[ab]$/)

  // A policy error is thrown as ProxyError with its catalog code.
  const denied = await proxy.request('eth', { method: 'eth_sendTransaction', params: [{}] }).catch((error: unknown) => error)
  expect(isProxyError(denied)).toBe(true)
  expect((denied as ProxyError).code).toBe('SY_METHOD_NOT_ALLOWED')
  expect((denied as ProxyError).rpcCode).toBe(-32601)
  const unknown = await proxy.request('nope', { method: 'eth_blockNumber' }).catch((error: unknown) => error)
  expect((unknown as ProxyError).code).toBe('SY_UNKNOWN_CHAIN')

  // call() returns routing facts and never throws for node problems.
  const result = await proxy.call('eth', { method: 'eth_blockNumber', params: [] })
  expect(result).toMatchObject({ answer: { result: '0x0' }, attempts: 1, nodeId: expect.stringMatching(/^lib-/) })

  proxy.cordon('eth', 'lib-a', 'maintenance window')
  expect(events.at(-1)).toMatchObject({ nodeId: 'lib-a', to: 'cordoned', reason: 'cordoned by operator: maintenance window' })
  for (let i = 0; i < 10; i++) expect((await proxy.call('eth', { method: 'eth_blockNumber', params: [] })).nodeId).toBe('lib-b')
  proxy.uncordon('eth', 'lib-a')
  await proxy.probe('eth')
  expect(proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'healthy'])

  // close() lets in-flight calls finish and then refuses new ones.
  const inFlight = proxy.request('eth', { method: 'eth_blockNumber', params: [] })
  const closed = proxy.close()
  expect(await inFlight).toBe('0x0')
  await closed
  const late = await proxy.request('eth', { method: 'eth_blockNumber' }).catch((error: unknown) => error)
  expect((late as ProxyError).code).toBe('SY_SHUTTING_DOWN')
})

test('a verify method that is not a read of the family is refused when the proxy is built, with its path', () => {
  const build = (methods: string[]) => () =>
    createProxy({
      journal: { path: ':memory:' },
      chains: { eth: { family: 'evm', chainId: 31337, verify: { methods }, nodes: [{ id: 'a', url: 'http://127.0.0.1:9/' }] } },
    })
  expect(build(['eth_sendRawTransaction'])).toThrow('chains.eth.verify.methods[0]: "eth_sendRawTransaction" is not a read method of the evm allowlist')
  expect(build(['eth_getTransactionReceipt', 'debug_traceTransaction'])).toThrow('chains.eth.verify.methods[1]: "debug_traceTransaction" is not a read method of the evm allowlist')
  expect(build(['eth_getTransactionReceipt', 'eth_getLogs'])).not.toThrow()
})

test('subscribers that throw never fail a client call or a probe round', async () => {
  const proxy = createProxy({
    journal: { path: ':memory:' },
    chains: { eth: { family: 'evm', chainId: 31337, health: { intervalMs: 100_000 }, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) } },
  })
  const boom = (): never => {
    throw new Error('subscriber bug')
  }
  proxy.events.subscribe({ 'request:complete': boom, 'probe:complete': boom, 'node:state': boom, 'chain:head': boom })
  try {
    await proxy.start()
    expect(proxy.snapshot().chains[0]!.routable).toBe(2)
    expect(await proxy.request('eth', { method: 'eth_getBalance', params: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] })).toMatch(/^0x/)
    await proxy.probe('eth')
    expect(proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'healthy'])
    // Each of the four kinds fired at least once and was contained.
    expect(proxy.events.listenerErrors).toBeGreaterThanOrEqual(4)
  } finally {
    await proxy.close()
  }
})
