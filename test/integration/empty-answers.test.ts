/**
 * Empty answers are confirmed: a node that answers "not found" for data the other nodes hold
 * (a tampering proxy in front of a real node of the same chain) never gives a wallet that answer,
 * and is ejected as `unreliable` once its empty answers pass `health.emptyAnswersToEject`.
 */
import { Wallet } from 'ethers'
import { afterEach, describe, expect, test } from 'vitest'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import { type ChainAnvil, mineAll, sendToAll, startChainAnvil } from '../support/chain-anvils.js'
import { recordFigure } from '../support/figures.js'
import { type TamperingNode, startTamperingNode } from '../support/tampering-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const POLLS = 60

let anvils: ChainAnvil[] = []
let bcoins: BcoinNode[] = []
let liar: TamperingNode | undefined
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await liar?.close()
  liar = undefined
  await Promise.all([...anvils, ...bcoins].map((node) => node.stop()))
  anvils = []
  bcoins = []
})

function statusOf(proxy: TestProxy, chain: string, nodeId: string) {
  return proxy.proxy.snapshot().chains.find((entry) => entry.name === chain)!.nodes.find((node) => node.id === nodeId)!
}

describe('evm: a node answering null for mined transactions', () => {
  test('a wallet polling eth_getTransactionReceipt never gets null; the liar is ejected as unreliable', async () => {
    anvils = await Promise.all(['eth-a', 'eth-b', 'eth-c'].map((id) => startChainAnvil(id)))
    const [a, b, c] = anvils as [ChainAnvil, ChainAnvil, ChainAnvil]
    const wallet = new Wallet(DEV_KEY)
    const raw = await wallet.signTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
    const txHash = await sendToAll(anvils, raw)
    await mineAll(anvils, 3)
    liar = await startTamperingNode(c.url, (method, params) =>
      // Block 1 only (what the wallet reads): the fork check's look-ups at the head get true hashes.
      method === 'eth_getTransactionReceipt' || method === 'eth_getTransactionByHash' || (method === 'eth_getBlockByNumber' && (params as unknown[])[0] === '0x1') ? { result: null } : undefined,
    )
    harness = await startTestProxy({
      chains: { eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'eth-a', url: a.url }, { id: 'eth-b', url: b.url }, { id: 'liar', url: liar.url }] } },
    })
    const proxy = harness
    await proxy.probe()
    expect(statusOf(proxy, 'eth', 'liar').status).toBe('healthy')
    const honest = await a.rpc('eth_getTransactionReceipt', [txHash])
    expect(honest).not.toBeNull()

    let nulls = 0
    let calls = 0
    const ejections: string[] = []
    proxy.proxy.events.on('node:state', (event) => {
      if (event.nodeId === 'liar' && event.to === 'unreliable') ejections.push(event.reason)
    })
    // Node choice is weighted by latency: the liar (behind its tampering front) is slower, so on a
    // busy machine it may be picked rarely. Poll as a wallet would until it has been caught, with a cap.
    for (let i = 0; i < POLLS || (ejections.length === 0 && i < POLLS * 10); i++) {
      const method = i % 3 === 0 ? 'eth_getTransactionByHash' : i % 3 === 1 ? 'eth_getTransactionReceipt' : 'eth_getBlockByNumber'
      const params = method === 'eth_getBlockByNumber' ? ['0x1', false] : [txHash]
      const response = await proxy.rpc('eth', { jsonrpc: '2.0', id: i, method, params })
      calls += 1
      expect(response.status).toBe(200)
      if (response.json.result === null) nulls += 1
      if (method === 'eth_getTransactionReceipt') expect(response.json.result).toEqual(honest)
      expect(response.node).not.toBe('liar')
    }
    expect(nulls).toBe(0)
    expect(liar.tampered).toBeGreaterThan(0)
    expect(ejections).toHaveLength(1)
    expect(ejections[0]).toMatch(/^answered empty 3 times where other nodes had the data; last: /)
    expect(statusOf(proxy, 'eth', 'liar').status).toBe('unreliable')
    recordFigure('emptyAnswers.evm.walletCalls', calls)
    recordFigure('emptyAnswers.evm.liesTold', liar.tampered)
    recordFigure('emptyAnswers.evm.nullsSeenByWallet', nulls)
  })
})

describe('bitcoin: a node answering "Block not found" and null unspent outputs', () => {
  test('a wallet never gets the empty answer; the liar is ejected as unreliable', async () => {
    bcoins = await Promise.all(['btc-a', 'btc-b', 'btc-c'].map((id) => startBcoin({ id })))
    const [a, b, c] = bcoins as [BcoinNode, BcoinNode, BcoinNode]
    const hashes = await a.generate(5)
    await copyBlocks(a, [b, c], 1, 5)
    liar = await startTamperingNode(c.url, (method) => {
      if (method === 'getblockheader' || method === 'getblock') return { error: { code: -5, message: 'Block not found' } }
      if (method === 'gettxout') return { result: null }
      return undefined
    })
    harness = await startTestProxy({
      chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'btc-a', url: a.url }, { id: 'btc-b', url: b.url }, { id: 'liar', url: liar.url }] } },
    })
    const proxy = harness
    await proxy.probe()
    const blockHash = hashes[1]!
    const block = (await a.rpc('getblock', [blockHash, true, false])) as { tx: string[] }
    const coinbase = block.tx[0]!

    let empty = 0
    let calls = 0
    for (let i = 0; i < POLLS; i++) {
      const call =
        i % 3 === 0
          ? { method: 'getblockheader', params: [blockHash, true] }
          : i % 3 === 1
            ? { method: 'gettxout', params: [coinbase, 0, false] }
            : { method: 'getblock', params: [blockHash, true, false] }
      const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: i, ...call })
      calls += 1
      if (response.json.result === null || response.json.error !== null) empty += 1
      expect(response.node).not.toBe('liar')
    }
    expect(empty).toBe(0)
    expect(liar.tampered).toBeGreaterThan(0)
    expect(statusOf(proxy, 'btc', 'liar')).toMatchObject({ status: 'unreliable', reason: expect.stringMatching(/^answered empty 3 times/) })
    recordFigure('emptyAnswers.bitcoin.walletCalls', calls)
    recordFigure('emptyAnswers.bitcoin.liesTold', liar.tampered)
    recordFigure('emptyAnswers.bitcoin.emptySeenByWallet', empty)
  })

  test('gettxout including the mempool is not second-guessed: null there is also "spent in my mempool"', async () => {
    bcoins = await Promise.all(['btc-a', 'btc-b'].map((id) => startBcoin({ id })))
    const [a, b] = bcoins as [BcoinNode, BcoinNode]
    const hashes = await a.generate(2)
    await copyBlocks(a, [b], 1, 2)
    liar = await startTamperingNode(b.url, (method) => (method === 'gettxout' ? { result: null } : undefined))
    harness = await startTestProxy({
      chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'liar', url: liar.url }, { id: 'btc-a', url: a.url }] } },
    })
    await harness.probe()
    const coinbase = ((await a.rpc('getblock', [hashes[0], true, false])) as { tx: string[] }).tx[0]!
    const answers = new Map<string, unknown>()
    for (let i = 0; i < 30 && answers.size < 2; i++) {
      const response = await harness.rpc('btc', { jsonrpc: '1.0', id: i, method: 'gettxout', params: [coinbase, 0] })
      answers.set(response.node!, response.json.result)
      expect(response.attempts).toBe(1)
    }
    // The liar's null reached the client as it was: one node asked, nothing confirmed.
    expect(answers.get('liar')).toBeNull()
  })
})
