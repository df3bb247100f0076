/**
 * The answer cache against real nodes: three anvils that are one chain, and two bcoin regtest
 * nodes, each behind a front that counts the calls it passes on. A final (deep) answer is served
 * again with no node call; answers that may still change (shallow blocks, `latest`, `null`) always
 * reach a node; a real reorg deeper than the finality depth drops what it replaced; a reload keeps
 * the cache only while the chain and its cache options stay the same.
 */
import { Wallet } from 'ethers'
import { afterEach, describe, expect, test } from 'vitest'
import { BLOCK_INTERVAL_SEC, GENESIS_TIMESTAMP, mineBlocksAt } from '../../src/devnet/anvil.js'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import { type ChainAnvil, mineAll, sendToAll, startChainAnvil } from '../support/chain-anvils.js'
import { type NodeFront, startNodeFront } from '../support/node-front.js'
import { parseConfig } from '../support/parse-test-config.js'
import { type TamperingNode, startTamperingNode } from '../support/tampering-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const SENDER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
/** Blocks this far below the read head are final (small, so a short chain has final blocks). */
const FINALITY = 5

let anvils: ChainAnvil[] = []
let fronts: NodeFront[] = []
let bcoins: BcoinNode[] = []
let counters: TamperingNode[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all([...fronts, ...counters].map((front) => front.close()))
  await Promise.all([...anvils, ...bcoins].map((node) => node.stop()))
  anvils = []
  fronts = []
  bcoins = []
  counters = []
})

function evmConfig(cache: Record<string, unknown> = {}, routing: Record<string, unknown> = {}) {
  return {
    chains: {
      eth: { family: 'evm', chainId: 31337, cache: { finalityDepth: FINALITY, ...cache }, routing, nodes: fronts.map((front, index) => ({ id: anvils[index]!.id, url: front.url })) },
    },
  }
}

/** Three anvils of one chain behind counting fronts, `blocks` mined, the first holding a transfer. */
async function evmChain(blocks: number): Promise<{ proxy: TestProxy; txHash: string }> {
  anvils = await Promise.all(['eth-a', 'eth-b', 'eth-c'].map((id) => startChainAnvil(id)))
  fronts = await Promise.all(anvils.map((anvil) => startNodeFront(anvil.url)))
  const raw = await new Wallet(DEV_KEY).signTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
  const txHash = await sendToAll(anvils, raw)
  await mineAll(anvils, 1)
  await mineAll(anvils, blocks - 1)
  harness = await startTestProxy(evmConfig())
  await harness.probe()
  return { proxy: harness, txHash }
}

function evmNodeCalls(method: string): number {
  return fronts.reduce((sum, front) => sum + front.calls.filter((called) => called === method).length, 0)
}

/** One client read, and how many node calls of that method it took. */
async function read(proxy: TestProxy, chain: string, method: string, params: unknown[], nodeCalls: (method: string) => number) {
  const before = nodeCalls(method)
  const response = await proxy.rpc(chain, { jsonrpc: chain === 'btc' ? '1.0' : '2.0', id: 1, method, params })
  expect(response.status).toBe(200)
  return { result: response.json.result, node: response.node, attempts: response.attempts, asked: nodeCalls(method) - before }
}

const readEth = (proxy: TestProxy, method: string, params: unknown[]) => read(proxy, 'eth', method, params, evmNodeCalls)

describe('evm', () => {
  test('final blocks, receipts, state and net_version are served again with no node call; shallow, latest and null answers always ask a node', async () => {
    const { proxy, txHash } = await evmChain(15)
    expect(proxy.proxy.snapshot().chains[0]!.readHead).toBe(15)

    // Block 2 is final at read head 15 (finality 5): asked once, then from the cache.
    const first = await readEth(proxy, 'eth_getBlockByNumber', ['0x2', false])
    expect(first).toMatchObject({ asked: 1, attempts: 1 })
    expect(first.node).toMatch(/^eth-/)
    const again = await readEth(proxy, 'eth_getBlockByNumber', ['0x2', false])
    expect(again).toEqual({ result: first.result, node: undefined, attempts: 0, asked: 0 })

    const byHash = (first.result as { hash: string }).hash
    for (const [method, params] of [
      ['eth_getTransactionReceipt', [txHash]],
      ['eth_getTransactionByHash', [txHash]],
      ['eth_getBlockByHash', [byHash, true]],
      ['eth_getBalance', [SENDER, '0x1']],
      ['net_version', []],
    ] as Array<[string, unknown[]]>) {
      const asked = await readEth(proxy, method, params)
      expect(asked.asked, method).toBe(1)
      const cached = await readEth(proxy, method, params)
      expect(cached, method).toEqual({ result: asked.result, node: undefined, attempts: 0, asked: 0 })
    }
    expect((await readEth(proxy, 'eth_getTransactionReceipt', [txHash])).result).toMatchObject({ transactionHash: txHash, blockNumber: '0x1' })

    // Not final yet (13 > 15 − 5), a tag, and "not found": a node every time.
    for (const [method, params] of [
      ['eth_getBlockByNumber', ['0xd', false]],
      ['eth_getBlockByNumber', ['latest', false]],
      ['eth_getBalance', [SENDER, 'latest']],
      ['eth_getTransactionReceipt', [`0x${'ab'.repeat(32)}`]],
    ] as Array<[string, unknown[]]>) {
      for (let round = 0; round < 2; round++) expect((await readEth(proxy, method, params)).asked, `${method} ${String(params[0])}`).toBeGreaterThanOrEqual(1)
    }
    expect((await readEth(proxy, 'eth_getTransactionReceipt', [`0x${'ab'.repeat(32)}`])).result).toBeNull()
    // eth_chainId is answered from the config, never by a node.
    expect(await readEth(proxy, 'eth_chainId', [])).toMatchObject({ result: '0x7a69', asked: 0 })

    expect(proxy.proxy.snapshot().chains[0]!.cache).toMatchObject({ hits: 7, stores: 6, entries: 6, evictions: 0 })
  })

  test('a real reorg deeper than the finality depth drops the blocks it replaced; the new branch is served', async () => {
    const { proxy } = await evmChain(5)
    // Remembered by the fork check from here on, so the reorg below is seen where it starts.
    const snapshots = await Promise.all(anvils.map((anvil) => anvil.rpc('evm_snapshot')))
    await mineAll(anvils, 15)
    await proxy.probe()
    const before = await readEth(proxy, 'eth_getBlockByNumber', ['0x8', false])
    expect((await readEth(proxy, 'eth_getBlockByNumber', ['0x8', false])).asked).toBe(0)
    const keptBelow = await readEth(proxy, 'eth_getBlockByNumber', ['0x4', false])

    // Every node back to block 5 and onto a longer branch with other timestamps (other hashes).
    await Promise.all(anvils.map((anvil, index) => anvil.rpc('evm_revert', [snapshots[index]])))
    await Promise.all(
      anvils.map(async (anvil) => {
        await mineBlocksAt(anvil.rpc, GENESIS_TIMESTAMP + BLOCK_INTERVAL_SEC * 6 + 5, 16)
      }),
    )
    const reorgs: number[] = []
    proxy.proxy.events.on('chain:reorg', (event) => reorgs.push(event.height))
    await proxy.probe()
    expect(reorgs).toEqual([6])

    const after = await readEth(proxy, 'eth_getBlockByNumber', ['0x8', false])
    expect(after.asked).toBe(1)
    expect((after.result as { hash: string }).hash).toBe(((await anvils[0]!.rpc('eth_getBlockByNumber', ['0x8', false])) as { hash: string }).hash)
    expect((after.result as { hash: string }).hash).not.toBe((before.result as { hash: string }).hash)
    // Below the fork point (and the block under it, whose successor changed) entries stay.
    expect(await readEth(proxy, 'eth_getBlockByNumber', ['0x4', false])).toMatchObject({ result: keptBelow.result, asked: 0 })
  })

  test('a reload keeps the cache while the chain and its cache options stay; other cache options drop it; disabled, it is never asked', async () => {
    const { proxy } = await evmChain(15)
    const config = (cache: Record<string, unknown> = {}, routing: Record<string, unknown> = {}) => parseConfig({ journal: { path: ':memory:' }, log: { level: 'silent' }, ...evmConfig(cache, routing) })
    const deep = () => readEth(proxy, 'eth_getBlockByNumber', ['0x2', false])
    // The proxy is not started (no background probes): a probe round makes the new runtime's nodes routable.
    const reload = async (next: ReturnType<typeof config>) => {
      await proxy.proxy.reload(next)
      await proxy.probe()
    }
    expect((await deep()).asked).toBe(1)
    expect((await deep()).asked).toBe(0)

    await reload(config({}, { maxAttempts: 2 }))
    expect((await deep()).asked).toBe(0)

    await reload(config({ finalityDepth: FINALITY + 1 }, { maxAttempts: 2 }))
    expect((await deep()).asked).toBe(1)
    expect((await deep()).asked).toBe(0)

    await reload(config({ enabled: false }, { maxAttempts: 2 }))
    expect((await deep()).asked).toBe(1)
    expect((await deep()).asked).toBe(1)
    expect(proxy.proxy.snapshot().chains[0]!.cache).toEqual({ hits: 0, misses: 0, stores: 0, evictions: 0, bytes: 0, entries: 0 })
  })
})

describe('bitcoin (bcoin regtest)', () => {
  test('getblock by hash of a final block comes from the cache with confirmations counted from the read head; a shallow one asks a node', async () => {
    bcoins = await Promise.all(['btc-a', 'btc-b'].map((id) => startBcoin({ id })))
    const [a, b] = bcoins as [BcoinNode, BcoinNode]
    const hashes = await a.generate(12)
    await copyBlocks(a, [b], 1, 12)
    counters = await Promise.all(bcoins.map((node) => startTamperingNode(node.url)))
    const nodeCalls = (method: string): number => counters.reduce((sum, counter) => sum + (counter.calls.get(method) ?? 0), 0)
    harness = await startTestProxy({ chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: counters.map((counter, index) => ({ id: bcoins[index]!.id, url: counter.url })) } } })
    const proxy = harness
    await proxy.probe()
    expect(proxy.proxy.snapshot().chains[0]!.readHead).toBe(12)
    const readBtc = (method: string, params: unknown[]) => read(proxy, 'btc', method, params, nodeCalls)

    // Block 2 is final at read head 12 (bitcoin's finality depth, 6).
    const deep = hashes[1]!
    const first = await readBtc('getblock', [deep, 1])
    expect(first.asked).toBe(1)
    expect(first.result).toMatchObject({ hash: deep, height: 2, confirmations: 11 })
    expect(await readBtc('getblock', [deep, 1])).toEqual({ result: first.result, node: undefined, attempts: 0, asked: 0 })
    const header = await readBtc('getblockheader', [deep, true])
    expect(header.asked).toBe(1)
    expect((await readBtc('getblockheader', [deep, true])).asked).toBe(0)
    const hashAt2 = await readBtc('getblockhash', [2])
    expect(hashAt2).toMatchObject({ result: deep, asked: 1 })
    expect((await readBtc('getblockhash', [2])).asked).toBe(0)

    // Three blocks later the cached block says 14 confirmations, as a node would, still with no node call.
    const more = await a.generate(3)
    await copyBlocks(a, [b], 13, 15)
    await proxy.probe()
    expect(more).toHaveLength(3)
    expect(await readBtc('getblock', [deep, 1])).toMatchObject({ result: { ...(first.result as object), confirmations: 14 }, asked: 0 })
    expect((await a.rpc('getblock', [deep, 1])) as object).toMatchObject({ confirmations: 14 })

    // Block 12 is not final at read head 15: a node every time.
    for (let round = 0; round < 2; round++) expect((await readBtc('getblock', [hashes[11]!, 1])).asked).toBe(1)
    // Tip reads: never cached.
    for (let round = 0; round < 2; round++) expect((await readBtc('getblockcount', [])).asked).toBe(1)
  })
})
