/**
 * Pending transactions served by switchyard from the nodes' own pending filters, merged: two real
 * anvils (no mining, so transactions stay pending) with different mempools, an HTTP
 * eth_newPendingTransactionFilter and a WebSocket newPendingTransactions subscription. Each
 * transaction hash arrives once, whichever node saw it. A chain whose nodes do not offer the
 * method (a scripted node answering "does not exist", as geth with the API off) is refused clearly.
 */
import { Wallet } from 'ethers'
import WebSocket from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

/** anvil's dev accounts 0 and 1. */
const KEYS = ['0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d']
const call = (method: string, params: unknown[] = [], id: number | string = 1) => ({ jsonrpc: '2.0', id, method, params })

let anvils: AnvilNode[] = []
let fake: FakeNode | undefined
let harness: TestProxy | undefined
let sockets: WebSocket[] = []
const nonces = [0, 0]

beforeAll(async () => {
  anvils = await Promise.all(['pend-a', 'pend-b'].map((id) => startAnvil({ id, noMining: true })))
})
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate()
  await harness?.close()
  harness = undefined
  await fake?.close()
  fake = undefined
})
afterAll(async () => {
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

async function start(): Promise<TestProxy> {
  harness = await startTestProxy({
    chains: { eth: { family: 'evm', chainId: 31337, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) } },
    filters: { pendingPollIntervalMs: 50 },
  })
  await harness.probe()
  return harness
}

/** A transfer signed by dev account `from`, sent straight to the given nodes (not through switchyard). */
async function sendDirect(from: 0 | 1, to: AnvilNode[]): Promise<string> {
  const wallet = new Wallet(KEYS[from]!)
  const raw = await wallet.signTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 1n, gasLimit: 21_000n, nonce: nonces[from]!++, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
  let hash = ''
  for (const node of to) hash = (await node.rpc('eth_sendRawTransaction', [raw])) as string
  return hash.toLowerCase()
}

describe('pending transactions, merged from the nodes that offer them', () => {
  test('eth_newPendingTransactionFilter: a transaction only one node saw arrives, and one both saw arrives once', async () => {
    const proxy = await start()
    const filter = await proxy.rpc('eth', call('eth_newPendingTransactionFilter'))
    expect(filter.json.result).toMatch(/^0x[0-9a-f]{32}$/)
    const [a, b] = anvils as [AnvilNode, AnvilNode]
    const onlyA = await sendDirect(0, [a])
    const onlyB = await sendDirect(1, [b])
    const both = await sendDirect(0, [a, b])
    const seen: string[] = []
    await waitFor(
      async () => {
        const changes = await proxy.rpc('eth', call('eth_getFilterChanges', [filter.json.result]))
        seen.push(...(changes.json.result as string[]))
        return [onlyA, onlyB, both].every((hash) => seen.includes(hash))
      },
      { timeoutMs: 20_000, everyMs: 100, what: 'the three pending transactions through the filter' },
    )
    // A few more polls: nothing arrives twice.
    for (let i = 0; i < 3; i++) seen.push(...((await proxy.rpc('eth', call('eth_getFilterChanges', [filter.json.result]))).json.result as string[]))
    expect(seen.filter((hash) => hash === both)).toHaveLength(1)
    expect(new Set(seen).size).toBe(seen.length)
    expect((await proxy.rpc('eth', call('eth_uninstallFilter', [filter.json.result]))).json.result).toBe(true)
  })

  test('eth_subscribe newPendingTransactions over WebSocket: each hash once; full transactions are refused clearly', async () => {
    const proxy = await start()
    const socket = new WebSocket(`${proxy.baseUrl.replace(/^http/, 'ws')}/rpc/eth`)
    sockets.push(socket)
    const frames: any[] = []
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())))
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    const reply = async (id: number) => {
      await waitFor(() => frames.some((frame) => frame.id === id), { timeoutMs: 10_000, what: `reply ${id}` })
      return frames.find((frame) => frame.id === id)
    }
    socket.send(JSON.stringify(call('eth_subscribe', ['newPendingTransactions', true], 1)))
    expect((await reply(1)).error).toMatchObject({ code: -32602, message: expect.stringMatching(/only transaction hashes/) })
    socket.send(JSON.stringify(call('eth_subscribe', ['newPendingTransactions'], 2)))
    const id = (await reply(2)).result as string
    expect(id).toMatch(/^0x[0-9a-f]{32}$/)
    const [a, b] = anvils as [AnvilNode, AnvilNode]
    const hash = await sendDirect(1, [b, a])
    const notified = () => frames.filter((frame) => frame.method === 'eth_subscription' && frame.params?.subscription === id).map((frame) => frame.params.result)
    await waitFor(() => notified().includes(hash), { timeoutMs: 20_000, what: 'the pending transaction notification' })
    await proxy.probe() // more feed rounds pass meanwhile
    expect(notified().filter((each) => each === hash)).toHaveLength(1)
  })

  test('nodes that do not offer pending transactions: SY_PENDING_NOT_OFFERED over HTTP and WebSocket', async () => {
    fake = await startFakeNode({ chainId: 31337, height: 5 })
    harness = await startTestProxy({ chains: { eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'plain', url: fake.url }] } } })
    await harness.probe()
    const refused = await harness.rpc('eth', call('eth_newPendingTransactionFilter'))
    expect(refused.json.error).toMatchObject({ code: -32601, data: { code: 'SY_PENDING_NOT_OFFERED' } })
    expect(refused.json.error.message).toBe('no routable node of chain eth offers pending transactions (eth_newPendingTransactionFilter)')
    const socket = new WebSocket(`${harness.baseUrl.replace(/^http/, 'ws')}/rpc/eth`)
    sockets.push(socket)
    const answer = new Promise<any>((resolve) => socket.on('message', (data) => resolve(JSON.parse(data.toString()))))
    await new Promise((resolve) => socket.once('open', resolve))
    socket.send(JSON.stringify(call('eth_subscribe', ['newPendingTransactions'], 1)))
    expect((await answer).error).toMatchObject({ code: -32601, data: { code: 'SY_PENDING_NOT_OFFERED' } })
  })
})
