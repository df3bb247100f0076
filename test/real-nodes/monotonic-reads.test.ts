/**
 * Monotonic reads against three real anvils of one chain while blocks keep coming and one node
 * stays a block or two behind (within maxLagBlocks): eth_blockNumber and the number of
 * eth_getBlockByNumber(latest) never go backwards for clients and never exceed the quorum head.
 */
import { afterEach, expect, test } from 'vitest'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type ChainAnvil, mineAll, startChainAnvil } from '../support/chain-anvils.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const STEPS = 25
const WORKERS = 4

let anvils: ChainAnvil[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  anvils = []
})

/** The highest height at least two of the three nodes have (the pool's quorum head, from the nodes themselves). */
async function quorumHeight(nodes: readonly ChainAnvil[]): Promise<number> {
  const heights = (await Promise.all(nodes.map((node) => node.height()))).sort((x, y) => y - x)
  return heights[1]!
}

test('eth_blockNumber and latest blocks never go backwards and never exceed the quorum head while one node lags within the limit', async () => {
  anvils = await Promise.all(['eth-a', 'eth-b', 'eth-lag'].map((id) => startChainAnvil(id)))
  const [a, b, lag] = anvils as [ChainAnvil, ChainAnvil, ChainAnvil]
  await mineAll(anvils, 5)
  harness = await startTestProxy(
    {
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          health: { intervalMs: 50, timeoutMs: 500, maxLagBlocks: 3 },
          nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })),
        },
      },
    },
    { autoProbe: true },
  )
  const proxy = harness
  let mining = true
  // Highest answer a client has already received: a call that starts later must not see less.
  let seen = 0
  let calls = 0
  let backwards = 0
  let aboveQuorum = 0
  const failures: string[] = []

  const worker = async (index: number): Promise<void> => {
    while (mining) {
      const floor = seen
      const latestBlock = (calls + index) % 2 === 0
      const response = latestBlock
        ? await proxy.rpc('eth', { jsonrpc: '2.0', id: calls, method: 'eth_getBlockByNumber', params: ['latest', false] })
        : await proxy.rpc('eth', { jsonrpc: '2.0', id: calls, method: 'eth_blockNumber', params: [] })
      calls += 1
      const hex = latestBlock ? response.json?.result?.number : response.json?.result
      if (typeof hex !== 'string') {
        failures.push(response.text.slice(0, 200))
        continue
      }
      const value = Number.parseInt(hex, 16)
      if (value < floor) backwards += 1
      // Heights only grow in this test: the quorum's height now bounds what it had when answering.
      if (value > (await quorumHeight(anvils))) aboveQuorum += 1
      if (value > seen) seen = value
    }
  }

  const miner = async (): Promise<void> => {
    for (let step = 0; step < STEPS; step++) {
      // a and b mine the same block one after the other, so for a moment only one node has it.
      await a.mine(1)
      await b.mine(1)
      const top = await a.height()
      const lagHeight = await lag.height()
      // The lagging node follows 1–2 blocks behind (within maxLagBlocks = 3), identical blocks.
      if (lagHeight < top - 2) await lag.mine(top - 1 - lagHeight)
      const target = top
      await waitFor(() => (proxy.proxy.snapshot().chains[0]!.head ?? 0) >= target, { what: `pool head ${target}` })
    }
    mining = false
  }

  await Promise.all([miner(), ...Array.from({ length: WORKERS }, (_, index) => worker(index))])
  expect(failures).toEqual([])
  expect(backwards).toBe(0)
  expect(aboveQuorum).toBe(0)
  expect(calls).toBeGreaterThanOrEqual(200)
  // Workers may stop just before the last block reaches them; a call now must see it, and never less than seen.
  const last = Number.parseInt((await proxy.rpc('eth', { jsonrpc: '2.0', id: 'last', method: 'eth_blockNumber', params: [] })).json.result, 16)
  expect(last).toBe(5 + STEPS)
  expect(seen).toBeLessThanOrEqual(last)
  // The lagging node stayed in the pool the whole time (its lag never passed the limit).
  expect(proxy.proxy.snapshot().chains[0]!.nodes.find((node) => node.id === 'eth-lag')!.status).toBe('healthy')
  recordFigure('monotonicReads.calls', calls)
  recordFigure('monotonicReads.backwards', backwards)
  recordFigure('monotonicReads.aboveQuorumHead', aboveQuorum)
  recordFigure('monotonicReads.blocksMined', STEPS)
})
