/**
 * Fork quarantine against real nodes: a partitioned bcoin node that mined its own blocks (a real
 * fork), a reorg of the majority onto a longer branch, and on EVM a scripted node whose block
 * hashes differ from two real anvils' (anvil cannot be made to serve another branch on demand
 * while answering as part of one chain).
 *
 * Probing is driven by hand: every `proxy.probe()` is one probe round, so "within 2 rounds" is
 * counted, not timed.
 */
import { payments } from 'bitcoinjs-lib'
import { afterEach, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, bcoinRegtestNetwork, copyBlocks, copyChain, startBcoin } from '../../src/devnet/bcoin.js'
import type { ProxyEventMap } from '../../src/proxy-events.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

/** Another payout address than the default, so blocks mined apart differ even in the same second. */
const OTHER_ADDRESS = payments.p2pkh({ hash: new Uint8Array(20).fill(7), network: bcoinRegtestNetwork }).address!

let bcoins: BcoinNode[] = []
let anvils: AnvilNode[] = []
let fakes: FakeNode[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all([...bcoins.map((node) => node.stop()), ...anvils.map((node) => node.stop()), ...fakes.map((node) => node.close())])
  bcoins = []
  anvils = []
  fakes = []
})

function listen<K extends keyof ProxyEventMap>(proxy: TestProxy, name: K): Array<ProxyEventMap[K][0]> {
  const seen: Array<ProxyEventMap[K][0]> = []
  proxy.proxy.events.on(name, ((event: ProxyEventMap[K][0]) => seen.push(event)) as never)
  return seen
}

const status = (proxy: TestProxy, nodeId: string) => proxy.proxy.snapshot().chains[0]!.nodes.find((node) => node.id === nodeId)!

/** Probe rounds until `done()` (at most `max`); returns the rounds it took, or max + 1. */
async function roundsUntil(proxy: TestProxy, done: () => boolean, max: number): Promise<number> {
  for (let round = 1; round <= max; round++) {
    await proxy.probe()
    if (done()) return round
  }
  return max + 1
}

async function bitcoinPool(): Promise<[TestProxy, BcoinNode, BcoinNode, BcoinNode]> {
  bcoins = await Promise.all(['btc-a', 'btc-b', 'btc-c'].map((id) => startBcoin({ id })))
  harness = await startTestProxy({
    chains: {
      btc: {
        family: 'bitcoin',
        network: 'regtest',
        requestTimeoutMs: 2_000,
        health: { intervalMs: 60_000, timeoutMs: 2_000, maxLagBlocks: 1 },
        nodes: bcoins.map((node) => ({ id: node.id, url: node.url })),
      },
    },
  })
  const [a, b, c] = bcoins as [BcoinNode, BcoinNode, BcoinNode]
  // One chain of 5 blocks on all three, shared by submitblock (no P2P: each test decides who has what).
  await a.generate(5)
  await copyBlocks(a, [b, c], 1, 5)
  await harness.probe()
  expect(harness.proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'healthy', 'healthy'])
  return [harness, a, b, c]
}

describe('bitcoin fork quarantine (real bcoin)', () => {
  test('a partitioned node that mined its own 5 blocks is forked within 2 probe rounds, never answers, and is re-admitted after it rejoins', async () => {
    const [proxy, a, b, c] = await bitcoinPool()
    const forks = listen(proxy, 'chain:fork')
    const reorgs = listen(proxy, 'chain:reorg')
    // a+b on one side, c alone: each side mines 5 blocks.
    await a.generate(5)
    await copyBlocks(a, [b], 6, 10)
    await c.generate(5, OTHER_ADDRESS)
    const majorityHash = (await a.rpc('getblockhash', [10])) as string
    const forkHash = (await c.rpc('getblockhash', [10])) as string
    expect(forkHash).not.toBe(majorityHash)

    const quarantineStarted = performance.now()
    const rounds = await roundsUntil(proxy, () => status(proxy, c.id).status === 'forked', 2)
    expect(rounds).toBeLessThanOrEqual(2)
    recordFigure('bitcoin.forkQuarantineRounds', rounds)
    recordFigure('bitcoin.forkQuarantineMs', Math.round(performance.now() - quarantineStarted))
    expect(status(proxy, c.id).reason).toBe(`block 10 is ${forkHash.slice(0, 8)}…${forkHash.slice(-8)} here, ${majorityHash.slice(0, 8)}…${majorityHash.slice(-8)} on the majority (2 of 3 nodes)`)
    expect(forks).toEqual([expect.objectContaining({ chain: 'btc', height: 10, resolved: true, groups: [expect.objectContaining({ nodes: ['btc-a', 'btc-b'] }), expect.objectContaining({ nodes: ['btc-c'] })] })])
    expect(proxy.proxy.snapshot().chains[0]!.fork).toMatchObject({ height: 10, resolved: true, decidedBy: 'majority', groups: [{ hash: majorityHash, nodes: ['btc-a', 'btc-b'] }, { hash: forkHash, nodes: ['btc-c'] }] })

    // 60 getblockhash 10: never c's block, never answered by c.
    const servedBy = new Map<string, number>()
    for (let i = 0; i < 60; i++) {
      const response = await proxy.rpc('btc', { method: 'getblockhash', params: [10], id: i })
      expect(response.json).toEqual({ result: majorityHash, error: null, id: i })
      servedBy.set(response.node!, (servedBy.get(response.node!) ?? 0) + 1)
    }
    expect(servedBy.has(c.id)).toBe(false)
    recordFigure('bitcoin.forkedNodeAnswersOf60', servedBy.get(c.id) ?? 0)

    // c rejoins: the majority's branch (now longer) reaches it by submitblock and c reorgs onto it.
    await a.generate(1)
    await copyBlocks(a, [b], 11, 11)
    await copyChain(a, [c])
    expect(await c.rpc('getbestblockhash')).toBe(await a.rpc('getbestblockhash'))
    const rejoinStarted = performance.now()
    const readmitRounds = await roundsUntil(proxy, () => status(proxy, c.id).status === 'healthy', 4)
    // One round finds it agreeing, then successesToRecover (2) good probes.
    expect(readmitRounds).toBe(3)
    recordFigure('bitcoin.forkReadmissionRounds', readmitRounds)
    recordFigure('bitcoin.forkReadmissionMs', Math.round(performance.now() - rejoinStarted))
    expect(status(proxy, c.id).reason).toMatch(/^re-admitted at height 11 after 2 good probes/)
    expect(forks.at(-1)).toMatchObject({ resolved: true, groups: [{ nodes: ['btc-a', 'btc-b', 'btc-c'] }] })
    expect(proxy.proxy.snapshot().chains[0]!.fork).toBeNull()
    // c's own reorg is not the pool's: the majority's hashes never changed.
    expect(reorgs).toEqual([])
  }, 60_000)

  test('the majority reorged onto a longer branch mined on the partitioned node: chain:reorg from the fork point, with its depth', async () => {
    const [proxy, a, b, c] = await bitcoinPool()
    const reorgs = listen(proxy, 'chain:reorg')
    await a.generate(2)
    await copyBlocks(a, [b], 6, 7)
    await c.generate(4, OTHER_ADDRESS)
    const oldHash = (await a.rpc('getblockhash', [6])) as string
    await proxy.probe()
    // c is 2 above the quorum head 7 and on another branch: forked wins over ahead.
    expect(status(proxy, c.id).status).toBe('forked')
    expect(reorgs).toEqual([])

    // c's longer branch reaches a and b: the majority reorgs onto it.
    await copyChain(c, [a, b])
    const newHash = (await a.rpc('getblockhash', [6])) as string
    expect(newHash).not.toBe(oldHash)
    const rounds = await roundsUntil(proxy, () => reorgs.length > 0, 2)
    expect(rounds).toBe(1)
    expect(reorgs).toEqual([{ chain: 'btc', height: 6, depth: 4, oldHash, newHash, at: expect.any(Number) }])
    recordFigure('bitcoin.reorgDetectionRounds', rounds)
    // c is now on the majority's chain and comes back through normal re-admission.
    await roundsUntil(proxy, () => status(proxy, c.id).status === 'healthy', 3)
    expect(status(proxy, c.id).status).toBe('healthy')
    expect(reorgs).toHaveLength(1)
  }, 60_000)
})

describe('EVM fork quarantine (2 real anvils + a scripted node)', () => {
  test('a node with other block hashes at the common height is forked, never answers, and is re-admitted when its hashes agree', async () => {
    anvils = await Promise.all(['eth-a', 'eth-b'].map((id) => startAnvil({ id })))
    const [a, b] = anvils as [AnvilNode, AnvilNode]
    await Promise.all([a.mine(5), b.mine(5)])
    const blocks = await Promise.all([0, 1, 2, 3, 4, 5].map((height) => a.rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false]) as Promise<{ hash: string }>))
    expect(await b.rpc('eth_getBlockByNumber', ['0x5', false])).toMatchObject({ hash: blocks[5]!.hash })
    const fake = await startFakeNode({ chainId: 31337, height: 5 })
    fakes.push(fake)
    let honest = false
    const rogueHash = `0x${'e'.repeat(64)}`
    fake.on('eth_getBlockByNumber', (_method, params) => {
      const tag = String((params as unknown[])[0])
      const height = tag === 'latest' ? 5 : Number.parseInt(tag, 16)
      return { result: { number: `0x${height.toString(16)}`, hash: honest ? blocks[height]!.hash : rogueHash } }
    })
    harness = await startTestProxy({
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          requestTimeoutMs: 1_000,
          health: { intervalMs: 60_000, timeoutMs: 1_000, maxLagBlocks: 3 },
          nodes: [...anvils.map((node) => ({ id: node.id, url: node.url })), { id: 'eth-rogue', url: fake.url }],
        },
      },
    })
    const proxy = harness
    const rounds = await roundsUntil(proxy, () => status(proxy, 'eth-rogue').status === 'forked', 2)
    expect(rounds).toBeLessThanOrEqual(2)
    recordFigure('evm.forkQuarantineRounds', rounds)
    expect(status(proxy, 'eth-rogue').reason).toMatch(/^block 5 is 0xeeeeeeee…eeeeeeee here, 0x[0-9a-f]{8}…[0-9a-f]{8} on the majority \(2 of 3 nodes\)$/)

    let rogueAnswers = 0
    for (let i = 0; i < 60; i++) {
      const response = await proxy.rpc('eth', { jsonrpc: '2.0', id: i, method: 'eth_getBlockByNumber', params: ['0x5', false] })
      expect(response.json.result.hash).toBe(blocks[5]!.hash)
      if (response.node === 'eth-rogue') rogueAnswers += 1
    }
    expect(rogueAnswers).toBe(0)
    recordFigure('evm.forkedNodeAnswersOf60', rogueAnswers)

    honest = true
    const readmitRounds = await roundsUntil(proxy, () => status(proxy, 'eth-rogue').status === 'healthy', 4)
    expect(readmitRounds).toBe(3)
    recordFigure('evm.forkReadmissionRounds', readmitRounds)
  }, 60_000)
})
