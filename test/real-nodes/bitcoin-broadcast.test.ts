/**
 * Broadcasts against real bcoin regtest nodes. The nodes share identical chains (blocks copied by
 * submitblock) but have no P2P links, so only switchyard's fan-out can put a transaction in every
 * mempool. bcoin answers sendrawtransaction with the txid before validating: acceptance is checked
 * by mempool lookup.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import type { BroadcastProgressEvent } from '../../src/proxy-events.js'
import { type FundedUtxo, type TestKey, createTestKey, fundKey, p2pkhAddress, signConflictingSpend, signSpend } from '../support/bitcoin-wallet.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'
import { waitFor } from '../../src/devnet/wait-for.js'

let nodes: BcoinNode[] = []
let proxy: TestProxy
let key: TestKey
let coin: FundedUtxo

beforeAll(async () => {
  nodes = await Promise.all(['btc-a', 'btc-b', 'btc-c', 'btc-lag'].map((id) => startBcoin({ id })))
  const [a, b, c, lag] = nodes as [BcoinNode, BcoinNode, BcoinNode, BcoinNode]
  key = createTestKey(7)
  coin = await fundKey(a, key, 101)
  await copyBlocks(a, [b, c], 1, 101)
  await copyBlocks(a, [lag], 1, 99) // two blocks behind: lagging (maxLagBlocks 1)
  proxy = await startTestProxy(
    {
      chains: {
        btc: {
          family: 'bitcoin',
          network: 'regtest',
          health: { intervalMs: 60_000 },
          broadcast: { fanout: 3, rebroadcastIntervalMs: 60_000, timeoutMs: 2_000 },
          nodes: nodes.map((node, index) => ({ id: node.id, url: node.url, provider: `operator-${index}` })),
        },
      },
    },
    { autoProbe: true },
  )
  // On a busy machine a first probe can time out (one failure keeps a node `starting`): probe until
  // the statuses settle, then require exactly these.
  const statuses = () => JSON.stringify(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => [node.id, node.status]))
  const expected = JSON.stringify([['btc-a', 'healthy'], ['btc-b', 'healthy'], ['btc-c', 'healthy'], ['btc-lag', 'lagging']])
  await waitFor(async () => statuses() === expected || (await proxy.probe(), false), { timeoutMs: 30_000, what: 'first probe rounds to settle' }).catch(() => undefined)
  expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => [node.id, node.status])).toEqual([
    ['btc-a', 'healthy'],
    ['btc-b', 'healthy'],
    ['btc-c', 'healthy'],
    ['btc-lag', 'lagging'],
  ])
}, 60_000)

afterAll(async () => {
  await proxy?.close()
  await Promise.all(nodes.map((node) => node.stop()))
})

const inMempool = async (node: BcoinNode, txid: string) => ((await node.rpc('getrawmempool')) as string[]).includes(txid)
const send = (hex: string, id: number | string = 1) => proxy.rpc('btc', { jsonrpc: '1.0', id, method: 'sendrawtransaction', params: [hex] })

test('a bad signature never counts as accepted, and no node is marked unhealthy for it', async () => {
  const bad = signSpend(coin, key, [{ address: p2pkhAddress(9), valueSats: coin.valueSats - 10_000 }], { corruptSignature: true })
  const response = await send(bad.hex)
  expect(response.json.error).toMatchObject({ code: -32061, data: { code: 'SY_TX_NOT_ACCEPTED', txid: bad.txid } })
  expect(await Promise.all(nodes.map((node) => inMempool(node, bad.txid)))).toEqual([false, false, false, false])
  const snapshot = proxy.proxy.snapshot().chains[0]!.nodes
  expect(snapshot.map((node) => [node.id, node.status, node.failures])).toEqual([
    ['btc-a', 'healthy', 0],
    ['btc-b', 'healthy', 0],
    ['btc-c', 'healthy', 0],
    ['btc-lag', 'lagging', 0],
  ])
  expect(await proxy.proxy.broadcastStatus('btc', bad.txid)).toMatchObject({ status: 'rejected' })
})

test('a signed coinbase spend reaches every healthy mempool (not the lagging node); a repeat gives the same txid; mining confirms it in the journal', async () => {
  const [a, b, c, lag] = nodes as [BcoinNode, BcoinNode, BcoinNode, BcoinNode]
  const good = signSpend(coin, key, [{ address: p2pkhAddress(9), valueSats: coin.valueSats - 10_000 }])
  const started = performance.now()
  const response = await send(good.hex, 'withdrawal-1')
  recordFigure('bitcoin.broadcastThroughSwitchyardMs', Math.round(performance.now() - started))
  expect(response.json).toEqual({ result: good.txid, error: null, id: 'withdrawal-1' })
  await proxy.proxy.drainBroadcasts('btc')
  expect(await Promise.all([a, b, c].map((node) => inMempool(node, good.txid)))).toEqual([true, true, true])
  expect(await inMempool(lag, good.txid)).toBe(false)
  const record = await proxy.proxy.broadcastStatus('btc', good.txid)
  expect(record!.outcomes.map((outcome) => [outcome.nodeId, outcome.outcome]).sort()).toEqual([
    ['btc-a', 'accepted'],
    ['btc-b', 'accepted'],
    ['btc-c', 'accepted'],
  ])

  const again = await send(good.hex, 'withdrawal-1-retry')
  expect(again.json).toEqual({ result: good.txid, error: null, id: 'withdrawal-1-retry' })
  expect(again.attempts).toBe(0)

  // The lagging node catches up without the transaction: a repeat (not confirmed yet) looks it up
  // on every at-head node and re-sends the bytes to the one that lacks it.
  await copyBlocks(a, [lag], 100, 101)
  // Re-admission takes health.successesToRecover (2) good probes in a row.
  await proxy.probe()
  await proxy.probe()
  expect(proxy.proxy.snapshot().chains[0]!.nodes.find((node) => node.id === 'btc-lag')?.status).toBe('healthy')
  expect(await inMempool(lag, good.txid)).toBe(false)
  const repeatedAt = performance.now()
  const repeat = await send(good.hex, 'withdrawal-1-retry-2')
  expect(repeat.json).toEqual({ result: good.txid, error: null, id: 'withdrawal-1-retry-2' })
  await proxy.proxy.drainBroadcasts('btc')
  recordFigure('bitcoin.repeatToCaughtUpNodeMs', Math.round(performance.now() - repeatedAt))
  expect(await inMempool(lag, good.txid)).toBe(true)
  const repeated = await proxy.proxy.broadcastStatus('btc', good.txid)
  expect(repeated!.outcomes).toContainEqual(expect.objectContaining({ nodeId: 'btc-lag', outcome: 'repeat: accepted', lookup: 'mempool' }))

  // Mine two blocks on a and copy them to b and c: confirmations 2 (the bitcoin default) reached.
  const confirmed: BroadcastProgressEvent[] = []
  proxy.proxy.events.on('broadcast:confirmed', (event) => confirmed.push(event))
  await a.generate(2)
  await copyBlocks(a, [b, c], 102, 103)
  await proxy.probe()
  await proxy.proxy.rebroadcast('btc')
  expect(await proxy.proxy.broadcastStatus('btc', good.txid)).toMatchObject({ status: 'confirmed', confirmations: 2, blockHeight: 102 })
  expect(confirmed).toEqual([expect.objectContaining({ txid: good.txid, confirmations: 2 })])

  // A double-spend of the now-mined coin. (Against a mempool-only spend bcoin gives no signal at
  // all: its gettxout does not check mempool spends, unlike Core's; Core's own conflict replies are
  // covered with a fake node.)
  const conflicts: BroadcastProgressEvent[] = []
  proxy.proxy.events.on('broadcast:conflict', (event) => conflicts.push(event))
  const rival = signConflictingSpend(coin, key, { feeSats: 30_000 })
  const rivalResponse = await send(rival.hex)
  expect(rivalResponse.json.error).toMatchObject({ code: -32060, data: { code: 'SY_TX_CONFLICT', txid: rival.txid } })
  expect(conflicts).toEqual([expect.objectContaining({ txid: rival.txid, detail: expect.stringMatching(new RegExp(`input ${coin.txid}:${coin.vout} is spent`)) })])
  expect(await Promise.all([a, b, c].map((node) => inMempool(node, rival.txid)))).toEqual([false, false, false])

  // Direct sendrawtransaction on the fastest node, same run, for the latency ratio.
  const direct = signSpend({ txid: good.txid, vout: 0, valueSats: coin.valueSats - 10_000 }, createTestKey(9), [{ address: p2pkhAddress(7), valueSats: coin.valueSats - 20_000 }])
  const directStarted = performance.now()
  expect(await a.rpc('sendrawtransaction', [direct.hex])).toBe(direct.txid)
  recordFigure('bitcoin.broadcastDirectMs', Math.round(performance.now() - directStarted))
})
