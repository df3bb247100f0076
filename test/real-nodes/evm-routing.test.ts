/**
 * Routing, ejection and failover against real anvil processes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { nextEvent } from '../support/event-counter.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const INTERVAL_MS = 200
let anvils: AnvilNode[] = []
let harness: TestProxy | undefined

async function pool(count: number, extra: AnvilNode[] = [], options: { requestTimeoutMs?: number } = {}): Promise<TestProxy> {
  anvils = [...(await Promise.all(Array.from({ length: count }, (_, index) => startAnvil({ id: `eth-${index}` })))), ...extra]
  harness = await startTestProxy(
    {
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          requestTimeoutMs: options.requestTimeoutMs ?? 1_000,
          health: { intervalMs: INTERVAL_MS, timeoutMs: 300, maxLagBlocks: 3 },
          nodes: anvils.map((anvil, index) => ({ id: anvil.id ?? `eth-${index}`, url: anvil.url })),
        },
      },
    },
    { autoProbe: true },
  )
  return harness
}

const call = (method: string, params: unknown[] = [], id: number | string = 1) => ({ jsonrpc: '2.0', id, method, params })

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  anvils = []
})

describe('anvil pool', () => {
  test('only healthy nodes serve requests; a lagging node is ejected within 2 probe rounds and re-admitted after catching up', async () => {
    const proxy = await pool(3)
    const [a, b, c] = anvils as [AnvilNode, AnvilNode, AnvilNode]
    const ejected = nextEvent(proxy.proxy, 'node:state', (event) => event.nodeId === c.id && event.to === 'lagging', { chain: 'eth' })
    await Promise.all([a.mine(10), b.mine(10)])
    const ejection = await ejected
    expect(ejection.event.reason).toBe('10 blocks behind head 10 (max 3)')
    expect(ejection.rounds).toBeLessThanOrEqual(1) // ejected in the first or second round after crossing
    recordFigure('evm.ejectionDelayMs', Math.round(ejection.elapsedMs))
    recordFigure('evm.ejectionProbeIntervalMs', INTERVAL_MS)
    // eth_blockNumber is answered from the read head, which moves only once a probe round has
    // compared a's and b's block hashes at 10; on a busy machine that can be a round after the ejection.
    await waitFor(() => proxy.proxy.snapshot().chains[0]!.readHead === 10, { timeoutMs: 30_000, what: 'height 10 verified by the fork check' }).catch((error: Error) => {
      const chain = proxy.proxy.snapshot().chains[0]!
      throw new Error(`${error.message}; head ${chain.head}, read head ${chain.readHead}, fork ${JSON.stringify(chain.fork)}, nodes ${chain.nodes.map((node) => `${node.id} ${node.status}@${node.height} (${node.reason}; ${node.lastError})`).join(', ')}`)
    })

    // Nodes are picked at random, weighted by score (latency, in-flight, errors): a node whose
    // latency spiked on a busy machine is picked seldom, so ask until both served (or 400 calls).
    const served = new Set<string>()
    for (let i = 0; i < 400 && served.size < 2; i++) {
      const response = await proxy.rpc('eth', call('eth_blockNumber'))
      expect(response.json.result).toBe('0xa')
      expect([a.id, b.id]).toContain(response.node)
      served.add(response.node!)
    }
    expect([...served].sort()).toEqual([a.id, b.id].sort())

    const readmitted = nextEvent(proxy.proxy, 'node:state', (event) => event.nodeId === c.id && event.to === 'healthy', { chain: 'eth' })
    await c.mine(10)
    const readmission = await readmitted
    expect(readmission.event.reason).toMatch(/^re-admitted at height 10 after 2 good probes/)
    expect(readmission.rounds).toBeGreaterThanOrEqual(1) // hysteresis: never on the first good probe
    recordFigure('evm.readmissionDelayMs', Math.round(readmission.elapsedMs))
    await waitFor(async () => (await proxy.rpc('eth', call('eth_blockNumber'))).node === c.id, { what: 'traffic back on the re-admitted node' })
  })

  test('SIGKILL of one of three nodes during a steady stream of reads → zero failed client requests', async () => {
    const proxy = await pool(3)
    const victim = anvils[1]!
    let failed = 0
    let total = 0
    let afterKill = 0
    let killed = false
    const failures: string[] = []
    const worker = async (): Promise<void> => {
      while (!killed || afterKill < 600) {
        const response = await proxy.rpc('eth', call('eth_getBalance', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest']))
        total += 1
        if (killed) afterKill += 1
        if (response.status !== 200 || response.json?.result === undefined) {
          failed += 1
          failures.push(response.text.slice(0, 200))
        }
        if (!killed && total === 300) {
          victim.signal('SIGKILL')
          killed = true
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    expect(failures).toEqual([])
    expect(failed).toBe(0)
    const status = proxy.proxy.snapshot().chains[0]!.nodes.find((node) => node.id === victim.id)!.status
    expect(status).toBe('down')
    recordFigure('evm.sigkillRequests', total)
    recordFigure('evm.sigkillFailedRequests', failed)
  })

  test('a wrong-chain node (another --chain-id) is never routed', async () => {
    const wrong = await startAnvil({ id: 'eth-wrong', chainId: 31338 })
    const proxy = await pool(2, [wrong])
    const node = proxy.proxy.snapshot().chains[0]!.nodes.find((entry) => entry.id === 'eth-wrong')!
    expect(node).toMatchObject({ status: 'wrong-chain', reason: 'reports chain id 31338, expected 31337' })
    for (let i = 0; i < 40; i++) expect((await proxy.rpc('eth', call('eth_blockNumber'))).node).not.toBe('eth-wrong')
  })

  test('batches keep order; forbidden methods never reach a node', async () => {
    const proxy = await pool(2)
    await Promise.all(anvils.map((anvil) => anvil.mine(5)))
    await proxy.probe()
    const response = await proxy.rpc('eth', [
      call('eth_getBlockByNumber', ['0x5', false], 5),
      call('eth_getBlockByNumber', ['0x1', false], 1),
      call('anvil_mine', ['0x64'], 'forbidden'),
      call('eth_blockNumber', [], 'n'),
    ])
    expect(response.json.map((reply: { id: unknown }) => reply.id)).toEqual([5, 1, 'forbidden', 'n'])
    expect(response.json[0].result.number).toBe('0x5')
    expect(response.json[1].result.number).toBe('0x1')
    expect(response.json[2].error).toMatchObject({ code: -32601, data: { code: 'SY_METHOD_NOT_ALLOWED' } })
    expect(response.json[3].result).toBe('0x5')
    // anvil_mine was not forwarded: no node mined 100 blocks.
    expect(await Promise.all(anvils.map((anvil) => anvil.blockNumber()))).toEqual([5, 5])
  })

  test('height-aware reads: a block above a node\'s height only goes to nodes that have it', async () => {
    const proxy = await pool(3)
    const [a, b, c] = anvils as [AnvilNode, AnvilNode, AnvilNode]
    await Promise.all([a.mine(3), b.mine(3), c.mine(1)]) // c is 2 behind: still healthy (max lag 3)
    await proxy.probe()
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'healthy', 'healthy'])
    for (let i = 0; i < 30; i++) {
      const response = await proxy.rpc('eth', call('eth_getBlockByNumber', ['0x3', false]))
      expect(response.json.result?.number).toBe('0x3')
      expect(response.node).not.toBe(c.id)
    }
    // `latest` prefers nodes at the head too.
    for (let i = 0; i < 30; i++) expect((await proxy.rpc('eth', call('eth_getBalance', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest']))).node).not.toBe(c.id)
    // An old block may go anywhere healthy.
    const seen = new Set<string>()
    // (a latency-weighted draw: asked until c answers, at most 400 times)
    for (let i = 0; i < 400 && !seen.has(c.id!); i++) seen.add((await proxy.rpc('eth', call('eth_getBlockByNumber', ['0x1', false]))).node!)
    expect(seen.has(c.id!)).toBe(true)
  })

  test('SIGSTOP (a hanging node) → timeouts → down → traffic moves; SIGCONT → recovers', async () => {
    const proxy = await pool(3, [], { requestTimeoutMs: 300 })
    const victim = anvils[2]!
    const down = nextEvent(proxy.proxy, 'node:state', (event) => event.nodeId === victim.id && event.to === 'down', { chain: 'eth' })
    victim.signal('SIGSTOP')
    try {
      let failed = 0
      const stream = (async () => {
        for (let i = 0; i < 60; i++) {
          const response = await proxy.rpc('eth', call('eth_blockNumber'))
          if (response.status !== 200) failed += 1
        }
      })()
      const ejection = await down
      await stream
      expect(failed).toBe(0)
      expect(ejection.event.reason).toMatch(/consecutive failures; last: node .* did not answer within 300 ms/)
      recordFigure('evm.sigstopDownDelayMs', Math.round(ejection.elapsedMs))
      for (let i = 0; i < 20; i++) expect((await proxy.rpc('eth', call('eth_blockNumber'))).node).not.toBe(victim.id)
    } finally {
      victim.signal('SIGCONT')
    }
    const recovered = await nextEvent(proxy.proxy, 'node:state', (event) => event.nodeId === victim.id && event.to === 'healthy', { chain: 'eth' })
    expect(recovered.event.reason).toMatch(/re-admitted/)
    recordFigure('evm.sigcontRecoveryDelayMs', Math.round(recovered.elapsedMs))
  })
})

describe('WebSocket heads', () => {
  let nodes: AnvilNode[] = []
  let proxy: TestProxy | undefined
  beforeAll(async () => {
    nodes = await Promise.all([0, 1, 2].map((index) => startAnvil({ id: `ws-${index}` })))
    // Probing every 60 s: only newHeads can eject within this test.
    proxy = await startTestProxy(
      {
        chains: {
          eth: {
            family: 'evm',
            chainId: 31337,
            health: { intervalMs: 60_000, maxLagBlocks: 3 },
            nodes: nodes.map((node) => ({ id: node.id!, url: node.url, wsUrl: node.wsUrl })),
          },
        },
      },
      { autoProbe: true },
    )
  })
  afterAll(async () => {
    await proxy?.close()
    await Promise.all(nodes.map((node) => node.stop()))
  })

  test('newHeads pushes heights: a lagging node is ejected without waiting for a probe', async () => {
    const [a, b, c] = nodes as [AnvilNode, AnvilNode, AnvilNode]
    await waitFor(() => proxy!.proxy.snapshot().chains[0]!.nodes.every((node) => node.headsSubscription === 'connected'), { what: 'newHeads subscriptions' })
    await a.mine(1)
    await b.mine(1)
    await c.mine(1)
    await waitFor(() => proxy!.proxy.snapshot().chains[0]!.nodes.every((node) => node.height === 1), { what: 'pushed heights' })
    const ejected = nextEvent(proxy!.proxy, 'node:state', (event) => event.nodeId === c.id && event.to === 'lagging', { chain: 'eth' })
    await Promise.all([a.mine(5), b.mine(5)])
    const ejection = await ejected
    expect(ejection.rounds).toBe(0)
    recordFigure('evm.wsEjectionDelayMs', Math.round(ejection.elapsedMs))
  })
})
