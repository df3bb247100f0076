/**
 * Broadcasts against real anvil nodes with automine off. The anvils are independent chains with
 * the same genesis (no P2P), so only switchyard's fan-out can put a transaction in every pool.
 */
import { Wallet } from 'ethers'
import { afterEach, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import type { BroadcastProgressEvent } from '../../src/proxy-events.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
const recipient = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
let anvils: AnvilNode[] = []
const proxies: TestProxy[] = []

async function pool(count = 3): Promise<TestProxy> {
  anvils = await Promise.all(Array.from({ length: count }, (_, index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  return await proxyFor(anvils)
}

async function proxyFor(nodes: AnvilNode[], extra: Record<string, unknown> = {}): Promise<TestProxy> {
  const proxy = await startTestProxy(
    {
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          health: { intervalMs: 60_000 },
          broadcast: { fanout: 3, rebroadcastIntervalMs: 60_000 },
          nodes: nodes.map((node, index) => ({ id: node.id, url: node.url, provider: `p${index}` })),
          ...extra,
        },
      },
    },
    { autoProbe: true },
  )
  proxies.push(proxy)
  return proxy
}

const sign = (nonce: number, overrides: Record<string, unknown> = {}) =>
  wallet.signTransaction({ to: recipient, value: 1n, gasLimit: 21_000n, nonce, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2, ...overrides })
const send = (proxy: TestProxy, raw: string, id: number | string = 1) => proxy.rpc('eth', { jsonrpc: '2.0', id, method: 'eth_sendRawTransaction', params: [raw] })
const pooled = async (node: AnvilNode, hash: string) => (await node.rpc('eth_getTransactionByHash', [hash])) !== null

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()))
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  anvils = []
})

describe('eth_sendRawTransaction through switchyard', () => {
  test('fans out to every healthy node, answers the local hash, journals it; repeats are idempotent', async () => {
    const proxy = await pool()
    const raw = await sign(0)
    const accepted: unknown[] = []
    proxy.proxy.events.on('broadcast:accepted', (event) => accepted.push(event))
    const started = performance.now()
    const response = await send(proxy, raw)
    recordFigure('evm.broadcastThroughSwitchyardMs', Math.round((performance.now() - started) * 10) / 10)
    const hash = response.json.result as string
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
    await proxy.proxy.drainBroadcasts('eth')
    // Every anvil has it: each is its own chain, only the fan-out could have put it there.
    expect(await Promise.all(anvils.map((anvil) => pooled(anvil, hash)))).toEqual([true, true, true])
    const status = await proxy.proxy.broadcastStatus('eth', hash)
    expect(status).toMatchObject({ chain: 'eth', txid: hash, status: 'pending', sender: wallet.address.toLowerCase(), nonce: 0 })
    expect(status!.outcomes.map((outcome) => [outcome.nodeId, outcome.outcome]).sort()).toEqual([['eth-0', 'accepted'], ['eth-1', 'accepted'], ['eth-2', 'accepted']])
    expect(accepted).toHaveLength(1)
    const admin = await (await fetch(`${proxy.baseUrl}/admin/api/broadcasts/eth/${hash}`)).json()
    expect(admin).toMatchObject({ txid: hash, status: 'pending', confirmations: 0 })
    expect(admin).not.toHaveProperty('raw')

    // The same kind of send straight to one node, same run, for the latency ratio.
    const directStarted = performance.now()
    await anvils[0]!.rpc('eth_sendRawTransaction', [await sign(1)])
    recordFigure('evm.broadcastDirectMs', Math.round((performance.now() - directStarted) * 10) / 10)

    // Same bytes again: same answer, no new fan-out.
    const again = await send(proxy, raw, 2)
    expect(again.json).toEqual({ jsonrpc: '2.0', id: 2, result: hash })
    expect(again.attempts).toBe(0)
    expect(accepted).toHaveLength(1)
  })

  test('a pending transaction dropped by every node and sent again is back on the nodes before the answer', async () => {
    const proxy = await pool()
    const raw = await sign(0)
    const hash = (await send(proxy, raw)).json.result as string
    await proxy.proxy.drainBroadcasts('eth')
    for (const anvil of anvils) await anvil.rpc('anvil_dropTransaction', [hash])
    expect(await Promise.all(anvils.map((anvil) => pooled(anvil, hash)))).toEqual([false, false, false])

    const started = performance.now()
    const again = await send(proxy, raw, 'repeat')
    recordFigure('evm.repeatToHolderMs', Math.round((performance.now() - started) * 10) / 10)
    expect(again.json).toEqual({ jsonrpc: '2.0', id: 'repeat', result: hash })
    expect(again.attempts).toBeGreaterThanOrEqual(1)
    // Right after the answer: the node it names holds the transaction (a lookup there said so before answering).
    const answering = anvils.find((anvil) => anvil.id === again.node)
    expect(answering).toBeDefined()
    expect(await pooled(answering!, hash)).toBe(true)
    // The other re-sends finish in the background: every node holds it again.
    await proxy.proxy.drainBroadcasts('eth')
    recordFigure('evm.repeatToAllNodesMs', Math.round((performance.now() - started) * 10) / 10)
    expect(await Promise.all(anvils.map((anvil) => pooled(anvil, hash)))).toEqual([true, true, true])
    const record = await proxy.proxy.broadcastStatus('eth', hash)
    expect(record?.status).toBe('pending')
    expect(record!.outcomes.filter((outcome) => outcome.outcome === 'repeat: accepted').map((outcome) => [outcome.nodeId, outcome.lookup]).sort()).toEqual([
      ['eth-0', 'mempool'],
      ['eth-1', 'mempool'],
      ['eth-2', 'mempool'],
    ])
  })

  test('a repeat of a confirmed transaction is answered from the journal alone', async () => {
    const proxy = await pool(2)
    const raw = await sign(0)
    const hash = (await send(proxy, raw)).json.result as string
    await proxy.proxy.drainBroadcasts('eth')
    await Promise.all(anvils.map((anvil) => anvil.mine(12)))
    await proxy.probe()
    await proxy.proxy.rebroadcast('eth')
    expect(await proxy.proxy.broadcastStatus('eth', hash)).toMatchObject({ status: 'confirmed' })
    // A send now would meet "nonce too low" and count an attempt: none is made.
    const again = await send(proxy, raw, 'confirmed-repeat')
    expect(again.json.result).toBe(hash)
    expect(again.attempts).toBe(0)
    expect(again.node).toBeUndefined()
  })

  test('nodes that already have it ("transaction already imported") and mined ones ("nonce too low") both end as success', async () => {
    const first = await pool()
    const raw = await sign(0)
    const hash = (await send(first, raw)).json.result as string
    await first.proxy.drainBroadcasts('eth')
    // A second proxy with an empty journal: every node already has it pending.
    const second = await proxyFor(anvils)
    const known = await second.proxy.broadcast('eth', raw)
    expect(known).toMatchObject({ txid: hash, accepted: [] })
    expect([...known.alreadyKnown, ...known.pending].sort()).toEqual(['eth-0', 'eth-1', 'eth-2'])
    await second.proxy.drainBroadcasts('eth')
    // Mined everywhere: anvil now answers "nonce too low"; lookups find it in a block → success.
    await Promise.all(anvils.map((anvil) => anvil.mine(1)))
    const third = await proxyFor(anvils)
    const mined = await send(third, raw)
    expect(mined.json.result).toBe(hash)
    const status = await third.proxy.broadcastStatus('eth', hash)
    expect(status?.outcomes.some((outcome) => outcome.outcome === 'ambiguous' && /nonce too low/i.test(outcome.message ?? ''))).toBe(true)
  })

  test('a transaction for another chain id is rejected locally; no node sees it', async () => {
    const proxy = await pool()
    const raw = await sign(0, { chainId: 1n })
    const response = await send(proxy, raw)
    expect(response.json.error).toMatchObject({ code: -32602, data: { code: 'SY_TX_WRONG_CHAIN' } })
    expect(response.json.error.message).toMatch(/signed for chain id 1, not 31337/)
    expect(response.attempts).toBe(0)
    expect(await Promise.all(anvils.map(async (anvil) => (await anvil.rpc('txpool_status')) as { pending: string }))).toEqual(
      anvils.map(() => expect.objectContaining({ pending: '0x0' })),
    )
  })

  test('undecodable input → -32602 without any node call', async () => {
    const proxy = await pool()
    for (const params of [['0xdeadbeef'], ['hello'], []]) {
      const response = await proxy.rpc('eth', { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params })
      expect(response.json.error).toMatchObject({ code: -32602, data: { code: 'SY_INVALID_PARAMS' } })
    }
  })

  test('a conflicting transaction with the same nonce → SY_TX_CONFLICT and a broadcast:conflict event', async () => {
    const proxy = await pool()
    await send(proxy, await sign(0))
    await proxy.proxy.drainBroadcasts('eth')
    const conflicts: BroadcastProgressEvent[] = []
    proxy.proxy.events.on('broadcast:conflict', (event) => conflicts.push(event))
    const rival = await sign(0, { to: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' })
    const response = await send(proxy, rival)
    expect(response.json.error).toMatchObject({ code: -32060, data: { code: 'SY_TX_CONFLICT' } })
    expect(conflicts).toHaveLength(1)
    expect(conflicts[0]!.detail).toMatch(/replacement transaction underpriced/)
  })

  test('a node that loses the transaction gets it back from the rebroadcaster; confirmations end it', async () => {
    const proxy = await pool()
    const hash = (await send(proxy, await sign(0))).json.result as string
    await proxy.proxy.drainBroadcasts('eth')
    await anvils[1]!.rpc('anvil_dropTransaction', [hash])
    expect(await pooled(anvils[1]!, hash)).toBe(false)
    await proxy.proxy.rebroadcast('eth')
    expect(await pooled(anvils[1]!, hash)).toBe(true)
    const record = await proxy.proxy.broadcastStatus('eth', hash)
    expect(record).toMatchObject({ status: 'seen', rebroadcasts: 1 })
    expect(record!.outcomes).toContainEqual(expect.objectContaining({ nodeId: 'eth-1', outcome: 'rebroadcast: accepted' }))

    const confirmed: BroadcastProgressEvent[] = []
    proxy.proxy.events.on('broadcast:confirmed', (event) => confirmed.push(event))
    await Promise.all(anvils.map((anvil) => anvil.mine(12)))
    await proxy.probe()
    await proxy.proxy.rebroadcast('eth')
    expect(await proxy.proxy.broadcastStatus('eth', hash)).toMatchObject({ status: 'confirmed', confirmations: 12, blockHeight: 1 })
    expect(confirmed).toEqual([expect.objectContaining({ txid: hash, confirmations: 12, height: 1 })])
  })

  test('a reorg that removes the confirming block puts the transaction back to pending, and it is re-sent', async () => {
    const proxy = await pool(2)
    const snapshots = await Promise.all(anvils.map((anvil) => anvil.rpc('evm_snapshot')))
    const hash = (await send(proxy, await sign(0))).json.result as string
    await proxy.proxy.drainBroadcasts('eth')
    await Promise.all(anvils.map((anvil) => anvil.mine(3)))
    await proxy.probe()
    await proxy.proxy.rebroadcast('eth')
    const before = await proxy.proxy.broadcastStatus('eth', hash)
    expect(before).toMatchObject({ status: 'seen', confirmations: 3, blockHeight: 1 })

    // Every node goes back before the transaction and builds a longer chain without it.
    const reorged: BroadcastProgressEvent[] = []
    proxy.proxy.events.on('broadcast:reorged', (event) => reorged.push(event))
    await Promise.all(anvils.map((anvil, index) => anvil.rpc('evm_revert', [snapshots[index]])))
    for (const anvil of anvils) {
      const pending = (await anvil.rpc('eth_getTransactionByHash', [hash])) as { blockNumber: string | null } | null
      if (pending !== null) await anvil.rpc('anvil_dropTransaction', [hash])
    }
    await Promise.all(anvils.map((anvil) => anvil.mine(4)))
    await proxy.probe()
    await proxy.proxy.rebroadcast('eth')
    expect(reorged).toEqual([expect.objectContaining({ txid: hash, height: 1 })])
    // Back from confirmed-in-a-block to the mempools: the round that noticed the reorg re-sent it.
    const after = await proxy.proxy.broadcastStatus('eth', hash)
    expect(after).toMatchObject({ status: 'seen', confirmations: 0, blockHeight: undefined, blockHash: undefined })
    expect(await Promise.all(anvils.map((anvil) => pooled(anvil, hash)))).toEqual([true, true])
  })
})
