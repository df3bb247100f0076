/**
 * Hedged reads against two real anvil nodes of one chain, one of them behind a fault proxy that
 * blackholes it at the TCP level (connections accepted, nothing answered) while the pool still
 * routes to it: reads are answered through the hedge, and the cancelled attempts on the
 * blackholed node count nothing against it (the prober judges it by its own probes, off here).
 */
import { afterEach, expect, test } from 'vitest'
import { type ChainAnvil, mineAll, startChainAnvil } from '../support/chain-anvils.js'
import { type FaultProxy, faults, startFaultProxy } from '../support/fault-proxy.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

/** Hedges the blackholed node must lose before the test is satisfied. */
const HEDGES = 5

let anvils: ChainAnvil[] = []
let faultProxies: FaultProxy[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(faultProxies.map((proxy) => proxy.close()))
  faultProxies = []
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  anvils = []
})

const call = (id: number, method: string, params: unknown[]) => ({ jsonrpc: '2.0', id, method, params })

test('a node blackholed while routable: reads are answered through the hedge, and the node is never blamed for the cancelled attempts', async () => {
  anvils = await Promise.all([startChainAnvil('eth-a'), startChainAnvil('eth-b')])
  await mineAll(anvils, 3)
  faultProxies = await Promise.all(anvils.map((anvil) => startFaultProxy({ port: Number(new URL(anvil.url).port) })))
  harness = await startTestProxy({
    chains: {
      eth: {
        family: 'evm',
        chainId: 31337,
        // Without the hedge, a read sent to the blackholed node would wait out this timeout and blame it.
        requestTimeoutMs: 10_000,
        routing: { deadlineMs: 15_000, hedge: { enabled: true, afterMs: 20 } },
        health: { intervalMs: 600_000 },
        nodes: anvils.map((anvil, index) => ({ id: anvil.id, url: faultProxies[index]!.url })),
      },
    },
  })
  await harness.probe()
  const chain = () => harness!.proxy.snapshot().chains[0]!
  expect(chain().nodes.map((node) => node.status)).toEqual(['healthy', 'healthy'])
  const before = chain().nodes[0]!
  faultProxies[0]!.setFault(faults.blackhole)

  // The router picks at random among both nodes: read until the blackholed one was asked first (and
  // lost its hedge race) HEDGES times. Every read is answered, by the working node.
  const expected = await anvils[1]!.rpc('eth_getBalance', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0x3'])
  let reads = 0
  while (chain().hedges.won < HEDGES) {
    reads += 1
    const balance = await harness.rpc('eth', call(reads, 'eth_getBalance', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0x3']))
    expect(balance.json).toEqual({ jsonrpc: '2.0', id: reads, result: expected })
    expect(balance.node).toBe('eth-b')
    const gasPrice = await harness.rpc('eth', call(reads, 'eth_gasPrice', []))
    expect(gasPrice.json.result).toMatch(/^0x[0-9a-f]+$/)
    expect(gasPrice.node).toBe('eth-b')
  }

  // eth-a was asked (the fault proxy swallowed those requests) and cancelled each time: no failure,
  // no request counted, its status and figures untouched.
  expect(faultProxies[0]!.stats.swallowed).toBeGreaterThanOrEqual(chain().hedges.won)
  const after = chain().nodes[0]!
  expect(after).toMatchObject({ status: 'healthy', failures: 0, requests: before.requests, errorRate: before.errorRate, latencyMs: before.latencyMs, lastError: before.lastError })
  // Every cancelled attempt has returned: nothing of them is left counted in flight.
  expect(chain().nodes.map((node) => node.inFlight)).toEqual([0, 0])
  expect(chain().hedges.inFlight).toBe(0)
})
