/**
 * Coalescing of identical reads in flight (`routing.coalesce`) against two real anvils of one
 * chain, each behind a front that counts calls and holds eth_getBalance answers until the test
 * releases them (no real node can be made to answer late on demand). Waits are on the proxy's own
 * counts and the fronts' call lists, never on time.
 */
import { afterEach, expect, test } from 'vitest'
import { waitFor } from '../../src/devnet/wait-for.js'
import type { CallResult } from '../../src/proxy.js'
import { type ChainAnvil, mineAll, startChainAnvil } from '../support/chain-anvils.js'
import { type NodeFront, gate, startNodeFront } from '../support/node-front.js'
import { type RpcResponse, type TestProxy, startTestProxy } from '../support/test-proxy.js'

const ADDRESSES = ['0x00000000000000000000000000000000000b0b01', '0x00000000000000000000000000000000000b0b02']

let anvils: ChainAnvil[] = []
let fronts: NodeFront[] = []
let harness: TestProxy | undefined
let release: (() => void) | undefined

afterEach(async () => {
  release?.()
  release = undefined
  await harness?.close()
  harness = undefined
  await Promise.all(fronts.map((front) => front.close()))
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  anvils = []
  fronts = []
})

/** Two anvils behind fronts that hold every eth_getBalance until `release()`. */
async function chain(coalesce: boolean): Promise<TestProxy> {
  anvils = await Promise.all(['eth-a', 'eth-b'].map((id) => startChainAnvil(id)))
  await mineAll(anvils, 3)
  fronts = await Promise.all(anvils.map((anvil) => startNodeFront(anvil.url)))
  const held = gate()
  release = held.release
  for (const front of fronts) {
    front.on('eth_getBalance', async (_params, forward) => {
      await held.wait
      return await forward()
    })
  }
  harness = await startTestProxy({ chains: { eth: { family: 'evm', chainId: 31337, routing: { coalesce }, nodes: fronts.map((front, index) => ({ id: anvils[index]!.id, url: front.url })) } } })
  await harness.probe()
  return harness
}

const balanceCalls = (): number => fronts.reduce((sum, front) => sum + front.calls.filter((method) => method === 'eth_getBalance').length, 0)
const coalesced = (proxy: TestProxy): number => proxy.proxy.snapshot().chains[0]!.coalesced
const balance = (address: string) => ({ method: 'eth_getBalance', params: [address, 'latest'] })

test('identical reads in flight at once make one node call; each client gets the answer under its own id', async () => {
  const proxy = await chain(true)
  const replies: Array<Promise<RpcResponse>> = [1, 2, 3, 4, 5].map((id) => proxy.rpc('eth', { jsonrpc: '2.0', id, ...balance(ADDRESSES[0]!) }))
  await waitFor(() => balanceCalls() === 1 && coalesced(proxy) === 4, { what: 'one node call and four joined reads' })
  release!()
  const answered = await Promise.all(replies)
  expect(answered.map((reply) => reply.json.id)).toEqual([1, 2, 3, 4, 5])
  expect(new Set(answered.map((reply) => reply.json.result))).toEqual(new Set(['0x0']))
  // One node answered all of them; only the call that asked it counts an attempt.
  expect(new Set(answered.map((reply) => reply.node)).size).toBe(1)
  expect(answered.map((reply) => reply.attempts).sort()).toEqual([0, 0, 0, 0, 1])
  expect(balanceCalls()).toBe(1)
})

test('reads with different params are separate node calls', async () => {
  const proxy = await chain(true)
  const replies = ADDRESSES.map((address, id) => proxy.rpc('eth', { jsonrpc: '2.0', id, ...balance(address) }))
  await waitFor(() => balanceCalls() === 2, { what: 'a node call per address' })
  release!()
  expect((await Promise.all(replies)).map((reply) => reply.json.result)).toEqual(['0x0', '0x0'])
  expect(coalesced(proxy)).toBe(0)
})

test('a caller that goes away gets its own cancelled answer at once; the others still get the node answer', async () => {
  const proxy = await chain(true)
  const leaving = new AbortController()
  const results: Array<Promise<CallResult>> = [undefined, leaving.signal, undefined].map((signal) => proxy.proxy.call('eth', balance(ADDRESSES[0]!), { signal }))
  await waitFor(() => balanceCalls() === 1, { what: 'the shared node call' })
  expect(coalesced(proxy)).toBe(2)
  leaving.abort()
  // Settles while the node call is still held.
  expect((await results[1]!).proxyError?.code).toBe('SY_DEADLINE_EXCEEDED')
  release!()
  const [first, third] = await Promise.all([results[0]!, results[2]!])
  expect([first!.answer, third!.answer]).toEqual([{ result: '0x0' }, { result: '0x0' }])
  expect(third!.coalesced).toBe(true)
  expect(balanceCalls()).toBe(1)
})

test('with routing.coalesce off, each identical read is its own node call', async () => {
  const proxy = await chain(false)
  const replies = [1, 2, 3].map((id) => proxy.rpc('eth', { jsonrpc: '2.0', id, ...balance(ADDRESSES[0]!) }))
  await waitFor(() => balanceCalls() === 3, { what: 'three node calls' })
  release!()
  expect((await Promise.all(replies)).map((reply) => reply.json.result)).toEqual(['0x0', '0x0', '0x0'])
  expect(coalesced(proxy)).toBe(0)
})
