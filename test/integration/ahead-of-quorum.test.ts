/**
 * A node ahead of the quorum head never answers: three real anvils at block 3 and a scripted node
 * claiming a height they do not have (a real node cannot be made to report a bogus height).
 * Probing is driven by hand, one `probe()` per round.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

let anvils: AnvilNode[] = []
let fake: (FakeNode & { setHeight(height: number): void }) | undefined
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(anvils.map((node) => node.stop()))
  anvils = []
  await fake?.close()
  fake = undefined
})

async function pool(fakeHeight: number): Promise<TestProxy> {
  anvils = await Promise.all(['eth-a', 'eth-b', 'eth-c'].map((id) => startAnvil({ id })))
  await Promise.all(anvils.map((node) => node.mine(3)))
  fake = await startFakeNode({ chainId: 31337, height: fakeHeight, sharedBlocks: false })
  harness = await startTestProxy({
    chains: {
      eth: {
        family: 'evm',
        chainId: 31337,
        requestTimeoutMs: 1_000,
        health: { intervalMs: 60_000, timeoutMs: 1_000, maxLagBlocks: 3 },
        nodes: [...anvils.map((node) => ({ id: node.id, url: node.url })), { id: 'eth-ahead', url: fake.url }],
      },
    },
  })
  await harness.probe()
  return harness
}

const node = (proxy: TestProxy, id: string) => proxy.proxy.snapshot().chains[0]!.nodes.find((entry) => entry.id === id)!
const call = (method: string, params: unknown[], id: number) => ({ jsonrpc: '2.0', id, method, params })

describe('a node ahead of the quorum head', () => {
  test('a scripted node claiming block 10,000,000 among three anvils at 3 is `ahead` and never answers a client', async () => {
    const proxy = await pool(10_000_000)
    expect(node(proxy, 'eth-ahead')).toMatchObject({ status: 'ahead', reason: '9999997 blocks above the quorum head 3 (max 3); not routed until the other nodes reach it' })
    expect(proxy.proxy.snapshot().chains[0]!.head).toBe(3)
    let fromAhead = 0
    let bogusHeights = 0
    const calls = [
      (i: number) => call('eth_blockNumber', [], i),
      (i: number) => call('eth_getBalance', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'], i),
      (i: number) => call('eth_getBlockByNumber', ['latest', false], i),
    ]
    for (let i = 0; i < 300; i++) {
      const response = await proxy.rpc('eth', calls[i % calls.length]!(i))
      expect(response.status).toBe(200)
      if (response.node === 'eth-ahead') fromAhead += 1
      if (response.json.result === '0x989680') bogusHeights += 1
      if (i % 50 === 49) await proxy.probe()
    }
    expect(fromAhead).toBe(0)
    expect(bogusHeights).toBe(0)
    expect(node(proxy, 'eth-ahead').status).toBe('ahead')
    recordFigure('evm.aheadNodeAnswersOf300', fromAhead)
    // The fake node was never asked a client call: only probes and fork-check look-ups reached it.
    expect(fake!.calls.filter((method) => !['eth_chainId', 'eth_blockNumber', 'eth_syncing', 'eth_getBlockByNumber'].includes(method))).toEqual([])
  })

  test('a node 6 blocks ahead stays out until the quorum catches up, then is re-admitted through successesToRecover', async () => {
    const proxy = await pool(9)
    expect(node(proxy, 'eth-ahead').status).toBe('ahead')
    await proxy.probe()
    expect(node(proxy, 'eth-ahead').status).toBe('ahead')
    await Promise.all(anvils.map((anvil) => anvil.mine(6)))
    await proxy.probe()
    expect(node(proxy, 'eth-ahead')).toMatchObject({ status: 'ahead', reason: expect.stringMatching(/recovering: 1\/2 good probes/) })
    await proxy.probe()
    expect(node(proxy, 'eth-ahead')).toMatchObject({ status: 'healthy', reason: expect.stringMatching(/^re-admitted at height 9 after 2 good probes/) })
    // Healthy again, yet it cannot show its block hashes (this fake has no eth_getBlockByNumber), so
    // no fork check ever verified its blocks: it is asked nothing above where it was verified (never).
    expect(proxy.proxy.snapshot().chains[0]!.readHead).toBe(9)
    const served = new Set<string>()
    for (let i = 0; i < 30; i++) served.add((await proxy.rpc('eth', call('eth_getBlockByNumber', ['latest', false], i))).node!)
    expect(served.has('eth-ahead')).toBe(false)
    expect(served.size).toBeGreaterThan(0)
  })

  test('1–2 blocks ahead (heard the block first) stays routable', async () => {
    const proxy = await pool(5)
    expect(node(proxy, 'eth-ahead').status).toBe('healthy')
  })
})
