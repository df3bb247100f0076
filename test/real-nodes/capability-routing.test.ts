/**
 * Capability routing: reads that need more than the tip go to nodes that keep it.
 * - EVM: a real anvil with `--prune-history` (keeps a few recent states) next to full-history
 *   anvils of the same chain: old-state reads always get the answer, and the pruned node is asked
 *   no more for old heights once it said it lacks them, while it keeps serving recent state.
 * - Bitcoin: scripted nodes give Core's exact pruned / -txindex replies (bcoin cannot be made to
 *   prune a short regtest chain, and has no getindexinfo).
 */
import { afterEach, describe, expect, test } from 'vitest'
import { type ChainAnvil, mineAll, startChainAnvil } from '../support/chain-anvils.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { recordFigure } from '../support/figures.js'
import { type TamperingNode, startTamperingNode } from '../support/tampering-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const DEV_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const GENESIS_BALANCE = '0x21e19e0c9bab2400000'
const REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'
const READS = 40

let anvils: ChainAnvil[] = []
let counter: TamperingNode | undefined
let fakes: FakeNode[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await counter?.close()
  counter = undefined
  await Promise.all([...anvils, ...fakes].map((node) => (('stop' in node ? node.stop() : node.close()) as Promise<void>)))
  anvils = []
  fakes = []
})

const nodeOf = (proxy: TestProxy, chain: string, id: string) => proxy.proxy.snapshot().chains.find((entry) => entry.name === chain)!.nodes.find((node) => node.id === id)!

describe('evm state history', () => {
  test('old-state reads skip a --prune-history anvil once it said it lacks that state; recent state still goes to it', async () => {
    anvils = await Promise.all([startChainAnvil('eth-full-a'), startChainAnvil('eth-full-b'), startChainAnvil('eth-pruned', ['--prune-history', '5'])])
    const [fullA, fullB, pruned] = anvils as [ChainAnvil, ChainAnvil, ChainAnvil]
    await mineAll(anvils, 30)
    // Counts what reaches the pruned anvil; passes everything through unchanged.
    counter = await startTamperingNode(pruned.url)
    harness = await startTestProxy({
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          nodes: [
            { id: 'eth-full-a', url: fullA.url },
            { id: 'eth-full-b', url: fullB.url },
            { id: 'eth-pruned', url: counter.url },
          ],
        },
      },
    })
    const proxy = harness
    await proxy.probe()
    expect(await pruned.rpc('eth_getBalance', [DEV_ADDRESS, '0x2']).catch((error: Error) => error.message)).toMatch(/BlockOutOfRangeError/)

    const wrong: string[] = []
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('eth', { jsonrpc: '2.0', id: i, method: 'eth_getBalance', params: [DEV_ADDRESS, '0x2'] })
      if (response.json.result !== GENESIS_BALANCE) wrong.push(response.text.slice(0, 200))
    }
    expect(wrong).toEqual([])
    const oldStateAsks = counter.calls.get('eth_getBalance') ?? 0
    // At most the one ask that taught the pool; none after.
    expect(oldStateAsks).toBeLessThanOrEqual(1)
    if (oldStateAsks === 1) expect(nodeOf(proxy, 'eth', 'eth-pruned').capabilities).toMatchObject({ stateMissingBelow: 3, archive: false })
    // Still in the pool, and still serving state it has.
    expect(nodeOf(proxy, 'eth', 'eth-pruned').status).toBe('healthy')
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('eth', { jsonrpc: '2.0', id: i, method: 'eth_getBalance', params: [DEV_ADDRESS, 'latest'] })
      expect(response.json.result).toBe(GENESIS_BALANCE)
    }
    expect(counter.calls.get('eth_getBalance') ?? 0).toBeGreaterThan(oldStateAsks)
    recordFigure('capabilities.evm.oldStateReads', READS)
    recordFigure('capabilities.evm.oldStateAsksOfPrunedNode', oldStateAsks)
    recordFigure('capabilities.evm.wrongAnswers', wrong.length)
  })
})

describe('bitcoin pruning and -txindex (Core replies, scripted)', () => {
  const PRUNED = { code: -1, message: 'Block not available (pruned data)' }
  const NO_INDEX = { code: -5, message: 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.' }
  const TXID = 'cd'.repeat(32)
  const BLOCK = 'ef'.repeat(32)

  async function bitcoinPool(): Promise<{ proxy: TestProxy; pruned: FakeNode; plain: FakeNode; indexed: FakeNode }> {
    const start = () => startFakeNode({ version: '1.0', genesisHash: REGTEST_GENESIS, height: 300 })
    const [pruned, plain, indexed] = await Promise.all([start(), start(), start()])
    fakes = [pruned, plain, indexed]
    pruned.on('getblockchaininfo', { result: { chain: 'regtest', blocks: 300, headers: 300, initialblockdownload: false, pruned: true, pruneheight: 100 } })
    for (const node of [pruned, plain]) node.on('getindexinfo', { result: {} })
    indexed.on('getindexinfo', { result: { txindex: { synced: true, best_block_height: 300 } } })
    pruned.on('getblock', { error: PRUNED })
    pruned.on('getblockstats', { error: PRUNED })
    for (const node of [plain, indexed]) {
      node.on('getblock', { result: { hash: BLOCK, height: 50 } })
      node.on('getblockstats', { result: { height: 50, txs: 1 } })
    }
    for (const node of [pruned, plain]) node.on('getrawtransaction', { error: NO_INDEX })
    indexed.on('getrawtransaction', { result: '0200000001' })
    harness = await startTestProxy({
      chains: {
        btc: {
          family: 'bitcoin',
          network: 'regtest',
          nodes: [
            { id: 'pruned', url: pruned.url },
            { id: 'plain', url: plain.url },
            { id: 'indexed', url: indexed.url },
          ],
        },
      },
    })
    await harness.probe()
    return { proxy: harness, pruned, plain, indexed }
  }

  const count = (node: FakeNode, method: string) => node.calls.filter((entry) => entry === method).length

  test('capabilities are probed and shown per node', async () => {
    const { proxy } = await bitcoinPool()
    expect(nodeOf(proxy, 'btc', 'pruned').capabilities).toMatchObject({ pruned: true, pruneHeight: 100, txindex: false })
    expect(nodeOf(proxy, 'btc', 'indexed').capabilities).toMatchObject({ txindex: true })
  })

  test('getblockstats below the prune height never goes to the pruned node; above it, it may', async () => {
    const { proxy, pruned } = await bitcoinPool()
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: i, method: 'getblockstats', params: [50] })
      expect(response.json).toMatchObject({ result: { height: 50 }, error: null })
    }
    expect(count(pruned, 'getblockstats')).toBe(0)
  })

  test('getblock answered "pruned data" by one node is answered by another', async () => {
    const { proxy, pruned } = await bitcoinPool()
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: i, method: 'getblock', params: [BLOCK] })
      expect(response.json).toMatchObject({ result: { hash: BLOCK }, error: null })
      expect(response.node).not.toBe('pruned')
    }
    recordFigure('capabilities.bitcoin.getblockAsksOfPrunedNode', count(pruned, 'getblock'))
  })

  test('getrawtransaction goes to the -txindex node; without it, a "Use -txindex" reply is the truth', async () => {
    const { proxy, plain, pruned } = await bitcoinPool()
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: i, method: 'getrawtransaction', params: [TXID] })
      expect(response).toMatchObject({ node: 'indexed', attempts: 1, json: { result: '0200000001' } })
    }
    expect(count(plain, 'getrawtransaction') + count(pruned, 'getrawtransaction')).toBe(0)
    proxy.proxy.cordon('btc', 'indexed', 'reindexing')
    const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: 'x', method: 'getrawtransaction', params: [TXID] })
    expect(response.json.error).toMatchObject(NO_INDEX)
    expect(response.attempts).toBe(2)
  })
})
