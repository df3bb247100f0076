/**
 * Verified reads against real anvil nodes of one chain and a tampering node (a proxy in front of a
 * real anvil of the same chain that alters receipts): the tampered answer never reaches a client.
 */
import { Wallet } from 'ethers'
import { afterEach, describe, expect, test } from 'vitest'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import { createProxy } from '../../src/index.js'
import type { DisagreeEvent } from '../../src/proxy-events.js'
import { type ChainAnvil, mineAll, sendToAll, startChainAnvil } from '../support/chain-anvils.js'
import { recordFigure } from '../support/figures.js'
import { type Tamper, type TamperingNode, startTamperingNode } from '../support/tampering-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const READS = 30

let anvils: ChainAnvil[] = []
let bcoins: BcoinNode[] = []
let tamperer: TamperingNode | undefined
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await tamperer?.close()
  tamperer = undefined
  await Promise.all([...anvils, ...bcoins].map((node) => node.stop()))
  anvils = []
  bcoins = []
})

/** Flips a receipt's status: a failed transfer reported as a success, the deposit-crediting lie. */
const flipReceipt: Tamper = (method, _params, real) => {
  if (method !== 'eth_getTransactionReceipt' || !('result' in real) || real.result === null) return undefined
  const receipt = real.result as Record<string, unknown>
  return { result: { ...receipt, status: receipt.status === '0x1' ? '0x0' : '0x1' } }
}

/** `count` anvils of one chain holding one mined transfer; the last one behind a tampering node. */
async function chainWithTransfer(count: number): Promise<{ txHash: string; honest: unknown; urls: Array<{ id: string; url: string }> }> {
  anvils = await Promise.all(Array.from({ length: count }, (_, index) => startChainAnvil(`eth-${index}`)))
  const wallet = new Wallet(DEV_KEY)
  const raw = await wallet.signTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
  const txHash = await sendToAll(anvils, raw)
  await mineAll(anvils, 2)
  const honest = await anvils[0]!.rpc('eth_getTransactionReceipt', [txHash])
  tamperer = await startTamperingNode(anvils.at(-1)!.url, flipReceipt)
  const urls = anvils.map((anvil, index) => ({ id: index === count - 1 ? 'tampered' : anvil.id, url: index === count - 1 ? tamperer!.url : anvil.url }))
  return { txHash, honest, urls }
}

async function verifiedProxy(nodes: Array<{ id: string; url: string }>): Promise<TestProxy> {
  harness = await startTestProxy({
    chains: { eth: { family: 'evm', chainId: 31337, verify: { methods: ['eth_getTransactionReceipt', 'eth_getBlockByNumber'] }, nodes } },
  })
  await harness.probe()
  return harness
}

const receiptCall = (txHash: string, id: number) => ({ jsonrpc: '2.0', id, method: 'eth_getTransactionReceipt', params: [txHash] })

describe('verified reads', () => {
  test('one honest node and one tampered: SY_NODES_DISAGREE every time, never the tampered receipt', async () => {
    const { txHash, urls } = await chainWithTransfer(2)
    const proxy = await verifiedProxy(urls)
    const events: DisagreeEvent[] = []
    proxy.proxy.events.on('read:disagree', (event) => events.push(event))
    let wrong = 0
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('eth', receiptCall(txHash, i))
      if (response.json.result !== undefined) wrong += 1
      expect(response.status).toBe(502)
      expect(response.json.error.data).toMatchObject({ code: 'SY_NODES_DISAGREE', method: 'eth_getTransactionReceipt', agree: 2 })
      const answers = response.json.error.data.answers as Array<{ nodeId: string; hash: string }>
      expect(answers.map((answer) => answer.nodeId).sort()).toEqual(['eth-0', 'tampered'])
      expect(new Set(answers.map((answer) => answer.hash)).size).toBe(2)
      // The error names nodes by id only.
      expect(response.text).not.toContain('127.0.0.1')
    }
    expect(wrong).toBe(0)
    expect(events).toHaveLength(READS)
    expect(events[0]).toMatchObject({ chain: 'eth', method: 'eth_getTransactionReceipt', minority: [] })
    recordFigure('verifiedReads.twoNodes.reads', READS)
    recordFigure('verifiedReads.twoNodes.wrongAnswers', wrong)
  })

  test('two honest nodes and one tampered: always the honest receipt; the tampered node’s disputes eject it', async () => {
    const { txHash, honest, urls } = await chainWithTransfer(3)
    const proxy = await verifiedProxy(urls)
    const minorities: string[][] = []
    proxy.proxy.events.on('read:disagree', (event) => minorities.push(event.minority))
    const ejected: string[] = []
    proxy.proxy.events.on('node:state', (event) => {
      if (event.nodeId === 'tampered' && event.to === 'unreliable') ejected.push(event.reason)
    })
    let wrong = 0
    let attempts = 0
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('eth', receiptCall(txHash, i))
      expect(response.status).toBe(200)
      if (JSON.stringify(response.json.result) !== JSON.stringify(honest)) wrong += 1
      expect(response.node).not.toBe('tampered')
      attempts += response.attempts
    }
    expect(wrong).toBe(0)
    expect(tamperer!.tampered).toBeGreaterThanOrEqual(3)
    expect(minorities.slice(0, 3)).toEqual([['tampered'], ['tampered'], ['tampered']])
    expect(ejected).toEqual([expect.stringMatching(/^lost 3 verified-read disputes; last: eth_getTransactionReceipt answer [0-9a-f]{16} lost to [0-9a-f]{16}/)])
    // Once the tamperer is out, every read costs exactly the two agreeing nodes.
    const last = await proxy.rpc('eth', receiptCall(txHash, 999))
    expect(last.attempts).toBe(2)
    recordFigure('verifiedReads.threeNodes.reads', READS)
    recordFigure('verifiedReads.threeNodes.wrongAnswers', wrong)
    recordFigure('verifiedReads.threeNodes.nodeCallsPerRead', Math.round((attempts / READS) * 100) / 100)
    recordFigure('verifiedReads.threeNodes.tamperedAnswersSent', tamperer!.tampered)
  })

  test('latest is pinned before comparing, so honest nodes agree on eth_getBlockByNumber(latest); an unlisted method is one call', async () => {
    const { urls } = await chainWithTransfer(3)
    const proxy = await verifiedProxy(urls.slice(0, 2))
    const verified = await proxy.rpc('eth', { jsonrpc: '2.0', id: 1, method: 'eth_getBlockByNumber', params: ['latest', false] })
    expect(verified.json.result.number).toBe('0x2')
    expect(verified.attempts).toBe(2)
    const plain = await proxy.rpc('eth', { jsonrpc: '2.0', id: 2, method: 'eth_getBalance', params: ['0x000000000000000000000000000000000000dEaD', 'latest'] })
    expect(plain.json.result).toBe('0x1')
    expect(plain.attempts).toBe(1)
  })

  test('cost of a verified read: one extra node call (figures: latency of verified vs plain reads)', async () => {
    const { txHash, honest, urls } = await chainWithTransfer(3)
    const proxy = await verifiedProxy(urls.slice(0, 2))
    const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!
    const plain: number[] = []
    const verified: number[] = []
    for (let i = 0; i < 100; i++) {
      let started = performance.now()
      const byHash = await proxy.rpc('eth', { jsonrpc: '2.0', id: i, method: 'eth_getTransactionByHash', params: [txHash] })
      plain.push(performance.now() - started)
      expect(byHash).toMatchObject({ attempts: 1, json: { result: { hash: txHash } } })
      started = performance.now()
      const receipt = await proxy.rpc('eth', receiptCall(txHash, i))
      verified.push(performance.now() - started)
      expect(receipt.attempts).toBe(2)
      expect(receipt.json.result).toEqual(honest)
    }
    recordFigure('verifiedReads.extraNodeCallsPerRead', 1)
    recordFigure('verifiedReads.plainReadP50Ms', Math.round(median(plain) * 100) / 100)
    recordFigure('verifiedReads.verifiedReadP50Ms', Math.round(median(verified) * 100) / 100)
  })

  test('fewer routable nodes than agree → SY_NO_ROUTABLE_NODE, and no node is asked', async () => {
    const { txHash, urls } = await chainWithTransfer(2)
    const proxy = await verifiedProxy(urls)
    proxy.proxy.cordon('eth', 'eth-0', 'maintenance')
    const before = tamperer!.calls.get('eth_getTransactionReceipt') ?? 0
    const response = await proxy.rpc('eth', receiptCall(txHash, 1))
    expect(response.status).toBe(503)
    expect(response.json.error.data).toMatchObject({ code: 'SY_NO_ROUTABLE_NODE', needed: 2, routable: 1 })
    expect(tamperer!.calls.get('eth_getTransactionReceipt') ?? 0).toBe(before)
  })

  test('a forked pool without a majority: reads at the disputed height need two agreeing nodes', async () => {
    // Two chains under one chain id (another genesis time): neither is the majority.
    anvils = await Promise.all([startChainAnvil('eth-x'), startChainAnvil('eth-y', [], 1_700_000_001)])
    await mineAll(anvils, 4)
    harness = await startTestProxy({ chains: { eth: { family: 'evm', chainId: 31337, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) } } })
    await harness.probe()
    await harness.probe()
    const fork = harness.proxy.snapshot().chains[0]!.fork
    expect(fork).toMatchObject({ resolved: false })
    const latest = await harness.rpc('eth', { jsonrpc: '2.0', id: 1, method: 'eth_getBlockByNumber', params: ['latest', false] })
    expect(latest.json.error?.data?.code).toBe('SY_NODES_DISAGREE')
    // eth_blockNumber is the pool's own read head: no node's block is in it.
    expect((await harness.rpc('eth', { jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] })).json.result).toBe('0x4')
  })
})

describe('verified reads on bitcoin', () => {
  test('a node answering another block hash never gets it through; headers compare without the nodes’ own confirmations', async () => {
    bcoins = await Promise.all(['btc-a', 'btc-b', 'btc-c'].map((id) => startBcoin({ id })))
    const [a, b, c] = bcoins as [BcoinNode, BcoinNode, BcoinNode]
    const hashes = await a.generate(6)
    await copyBlocks(a, [b, c], 1, 6)
    tamperer = await startTamperingNode(c.url, (method, params) =>
      // Probes ask getblockhash 0 and the fork check a recent height; the lie is about block 3 only.
      method === 'getblockhash' && Array.isArray(params) && params[0] === 3 ? { result: 'ee'.repeat(32) } : undefined,
    )
    harness = await startTestProxy({
      chains: {
        btc: {
          family: 'bitcoin',
          network: 'regtest',
          verify: { methods: ['getblockhash', 'getblockheader'] },
          nodes: [
            { id: 'btc-a', url: a.url },
            { id: 'btc-b', url: b.url },
            { id: 'tampered', url: tamperer.url },
          ],
        },
      },
    })
    const proxy = harness
    await proxy.probe()
    let wrong = 0
    for (let i = 0; i < READS; i++) {
      const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: i, method: 'getblockhash', params: [3] })
      if (response.json.result !== hashes[2]) wrong += 1
      expect(response.node).not.toBe('tampered')
    }
    expect(wrong).toBe(0)
    expect(tamperer.tampered).toBeGreaterThanOrEqual(3)
    expect(proxy.proxy.snapshot().chains[0]!.nodes.find((node) => node.id === 'tampered')).toMatchObject({ status: 'unreliable', reason: expect.stringMatching(/^lost 3 verified-read disputes/) })
    const header = await proxy.rpc('btc', { jsonrpc: '1.0', id: 'h', method: 'getblockheader', params: [hashes[2], true] })
    expect(header.json.result).toMatchObject({ hash: hashes[2], height: 3 })
    expect(header.attempts).toBe(2)
    recordFigure('verifiedReads.bitcoin.reads', READS)
    recordFigure('verifiedReads.bitcoin.wrongAnswers', wrong)
  })
})

describe('verify config', () => {
  test.each(['eth_sendRawTransaction', 'eth_sign', 'anvil_mine', 'no_such_method'])('verify.methods with %s is refused at config load', (method) => {
    expect(() =>
      createProxy({ journal: { path: ':memory:' }, chains: { eth: { family: 'evm', chainId: 1, verify: { methods: ['eth_getLogs', method] }, nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] } } }),
    ).toThrow(`chains.eth.verify.methods[1]: "${method}" is not a read method of the evm allowlist`)
  })

  test('verify.agree below 2 is refused', () => {
    expect(() => createProxy({ journal: { path: ':memory:' }, chains: { eth: { family: 'evm', chainId: 1, verify: { methods: ['eth_getLogs'], agree: 1 }, nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] } } })).toThrow(
      /chains\.eth\.verify\.agree/,
    )
  })
})
