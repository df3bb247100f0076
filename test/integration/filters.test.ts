/**
 * EVM filters served by switchyard itself, against real anvils that are one chain: block and log
 * filters over HTTP, logs read with eth_getFilterLogs (maxLogsRange honoured), per-client
 * visibility and bounds, a filter that outlives the node it was made through and a config reload,
 * reorged logs re-sent with `removed: true`, and ethers v6 `contract.on(...)` with default settings.
 */
import { Contract, JsonRpcProvider, Transaction, Wallet, id as eventTopic } from 'ethers'
import { afterEach, expect, test } from 'vitest'
import { type AnvilNode, BLOCK_INTERVAL_SEC, mineBlocksAt, startAnvil } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import type { ProxyConfigInput } from '../../src/config/schema.js'
import { parseConfig } from '../../src/index.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const PING_TOPIC = eventTopic('Ping(uint256)')
/**
 * A contract that, on any call, emits `Ping(uint256 value)` with the call's first argument:
 * runtime `PUSH1 4 CALLDATALOAD PUSH1 0 MSTORE PUSH32 <topic> PUSH1 32 PUSH1 0 LOG1 STOP`
 * (45 bytes), behind an init code that returns it.
 */
const RUNTIME = `600435600052 7f${PING_TOPIC.slice(2)} 60206000a100`.replaceAll(' ', '')
const BYTECODE = `0x602d600c600039602d6000f3${RUNTIME}`
const PING_ABI = ['function ping(uint256 value)', 'event Ping(uint256 value)']

let anvils: AnvilNode[] = []
let harness: TestProxy | undefined
const wallet = new Wallet(DEV_KEY)
let nonce = 0

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  anvils = []
  nonce = 0
})

function config(weights: number[] = [], extra: Partial<ProxyConfigInput> = {}): ProxyConfigInput {
  return {
    ...extra,
    chains: {
      eth: {
        family: 'evm',
        chainId: 31337,
        maxLogsRange: 100,
        requestTimeoutMs: 2_000,
        health: { intervalMs: 600_000, timeoutMs: 2_000 },
        nodes: anvils.map((anvil, index) => ({ id: anvil.id, url: anvil.url, weight: weights[index] ?? 1 })),
      },
    },
  }
}

async function start(count: number, extra: Partial<ProxyConfigInput> = {}, options: { autoProbe?: boolean } = {}): Promise<TestProxy> {
  anvils = await Promise.all(Array.from({ length: count }, (_, index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  harness = await startTestProxy(config([], extra), options)
  await harness.probe()
  return harness
}

/** Signs a transaction and sends it to every live anvil (each keeps it pending until mined). */
async function sendToAll(nodes: readonly AnvilNode[], tx: { to?: string; data: string }): Promise<string> {
  const raw = await wallet.signTransaction({ ...tx, nonce: nonce++, gasLimit: 200_000n, gasPrice: 2_000_000_000n, chainId: 31337n, type: 0 })
  await Promise.all(nodes.map((anvil) => anvil.rpc('eth_sendRawTransaction', [raw])))
  return Transaction.from(raw).hash!
}

async function mineAll(nodes: readonly AnvilNode[], blocks: number): Promise<void> {
  await Promise.all(nodes.map((anvil) => anvil.mine(blocks)))
}

/** Deploys the Ping contract on every node; its address. */
async function deploy(nodes: readonly AnvilNode[]): Promise<string> {
  const hash = await sendToAll(nodes, { data: BYTECODE })
  await mineAll(nodes, 1)
  const receipt = (await nodes[0]!.rpc('eth_getTransactionReceipt', [hash])) as { contractAddress: string; status: string }
  expect(receipt.status).toBe('0x1')
  return receipt.contractAddress
}

const pingData = (value: number): string => `${eventTopic('ping(uint256)').slice(0, 10)}${value.toString(16).padStart(64, '0')}`

const call = (method: string, params: unknown[] = [], id = 1) => ({ jsonrpc: '2.0', id, method, params })

interface Log {
  address: string
  data: string
  blockNumber: string
  blockHash: string
  transactionHash: string
  removed: boolean
}

/** Polls a filter through switchyard until `done` holds for what it collected. */
async function collect<T>(proxy: TestProxy, filterId: string, done: (changes: T[]) => boolean, headers: Record<string, string> = {}): Promise<T[]> {
  const changes: T[] = []
  await waitFor(
    async () => {
      const response = await proxy.rpc('eth', call('eth_getFilterChanges', [filterId]), headers)
      if (response.json.error !== undefined) throw new Error(response.json.error.message)
      changes.push(...(response.json.result as T[]))
      return done(changes)
    },
    { timeoutMs: 20_000, what: 'filter changes' },
  )
  return changes
}

test('block and log filters over HTTP: every new block hash and matching log once, eth_getFilterLogs within maxLogsRange', async () => {
  const proxy = await start(3)
  const contract = await deploy(anvils)
  await proxy.probe()
  const blocks = await proxy.rpc('eth', call('eth_newBlockFilter'))
  expect(blocks.json.result).toMatch(/^0x[0-9a-f]{32}$/)
  expect(blocks.node).toBeUndefined() // no node holds it
  const logs = await proxy.rpc('eth', call('eth_newFilter', [{ address: contract, topics: [PING_TOPIC] }]))
  const other = await proxy.rpc('eth', call('eth_newFilter', [{ address: `0x${'12'.repeat(20)}` }]))
  const from = await anvils[0]!.blockNumber()

  const pings = [await sendToAll(anvils, { to: contract, data: pingData(1) }), await sendToAll(anvils, { to: contract, data: pingData(2) })]
  await mineAll(anvils, 1)
  await mineAll(anvils, 2)
  await proxy.probe()
  const hashes = await collect<string>(proxy, blocks.json.result, (changes) => changes.length >= 3)
  const expected = await Promise.all([1, 2, 3].map(async (offset) => ((await anvils[1]!.rpc('eth_getBlockByNumber', [`0x${(from + offset).toString(16)}`, false])) as { hash: string }).hash))
  expect(hashes).toEqual(expected)
  const found = await collect<Log>(proxy, logs.json.result, (changes) => changes.length >= 2)
  expect(found.map((log) => [log.transactionHash, BigInt(log.data), log.removed])).toEqual([
    [pings[0], 1n, false],
    [pings[1], 2n, false],
  ])
  expect((await proxy.rpc('eth', call('eth_getFilterChanges', [other.json.result]))).json.result).toEqual([])

  // eth_getFilterLogs: the filter's criteria through eth_getLogs (here fromBlock 0 … latest).
  const ranged = await proxy.rpc('eth', call('eth_newFilter', [{ fromBlock: '0x0', address: contract }]))
  const all = await proxy.rpc('eth', call('eth_getFilterLogs', [ranged.json.result]))
  expect((all.json.result as Log[]).map((log) => log.transactionHash)).toEqual(pings)
  // A range wider than maxLogsRange (100) is refused before any node is asked.
  const wide = await proxy.rpc('eth', call('eth_newFilter', [{ fromBlock: '0x0', toBlock: '0x3e8' }]))
  const refused = await proxy.rpc('eth', call('eth_getFilterLogs', [wide.json.result]))
  expect(refused.json.error).toMatchObject({ code: -32602, data: { code: 'SY_RANGE_TOO_LARGE', limit: 100 } })

  expect(proxy.proxy.streams('eth')?.stats?.()).toEqual({ headSubscribers: 0, logSubscribers: 0, filters: 5, pendingListeners: 0 })
  const metrics = createMetrics(proxy.proxy)
  const scrape = await metrics.render()
  metrics.close()
  expect(scrape).toContain('switchyard_stream_filters{chain="eth"} 5')
  expect(scrape).toContain('switchyard_stream_subscribers{chain="eth",kind="heads"} 0')
  for (const filter of [blocks, logs, other, ranged, wide]) expect((await proxy.rpc('eth', call('eth_uninstallFilter', [filter.json.result]))).json.result).toBe(true)
  expect((await proxy.rpc('eth', call('eth_getFilterChanges', [logs.json.result]))).json.error).toMatchObject({ code: -32000, message: 'filter not found' })
  expect(proxy.proxy.streams('eth')?.stats?.().filters).toBe(0)
})

test('filters belong to their client and are bounded per client; subscriptions over HTTP point to the WebSocket endpoint', async () => {
  const keys = { alice: 'alice-key-0123456789abcdef', bob: 'bob-key-0123456789abcdef00' }
  const proxy = await start(2, {
    clients: Object.entries(keys).map(([name, key]) => ({ name, key })),
    filters: { maxPerClient: 2 },
  })
  const as = (name: keyof typeof keys) => ({ authorization: `Bearer ${keys[name]}` })
  const first = await proxy.rpc('eth', call('eth_newBlockFilter'), as('alice'))
  await proxy.rpc('eth', call('eth_newBlockFilter'), as('alice'))
  const third = await proxy.rpc('eth', call('eth_newBlockFilter'), as('alice'))
  expect(third.status).toBe(429)
  expect(third.json.error).toMatchObject({ code: -32059, data: { code: 'SY_TOO_MANY_FILTERS', limit: 2, scope: 'client' } })
  expect((await proxy.rpc('eth', call('eth_newBlockFilter'), as('bob'))).json.result).toMatch(/^0x[0-9a-f]{32}$/)

  const stolen = await proxy.rpc('eth', call('eth_getFilterChanges', [first.json.result]), as('bob'))
  expect(stolen.json.error).toMatchObject({ code: -32000, message: 'filter not found', data: { code: 'SY_FILTER_NOT_FOUND' } })
  expect((await proxy.rpc('eth', call('eth_uninstallFilter', [first.json.result]), as('bob'))).json.result).toBe(false)
  expect((await proxy.rpc('eth', call('eth_getFilterChanges', [first.json.result]), as('alice'))).json.result).toEqual([])

  const subscribe = await proxy.rpc('eth', call('eth_subscribe', ['newHeads']), as('alice'))
  expect(subscribe.json.error).toMatchObject({ code: -32601, data: { code: 'SY_SUBSCRIPTION_NEEDS_WS' } })
  expect(subscribe.json.error.message).toContain('WebSocket endpoint ws://<this host>/rpc/eth')
  // Served from the nodes' pending filters (test/integration/pending-transactions.test.ts), bounded like the others.
  const pending = await proxy.rpc('eth', call('eth_newPendingTransactionFilter'), as('alice'))
  expect(pending.json.error).toMatchObject({ code: -32059, data: { code: 'SY_TOO_MANY_FILTERS', scope: 'client' } })
})

test('a filter outlives the node it was made through and a config reload that rebuilds the chain', async () => {
  const proxy = await start(3)
  const contract = await deploy(anvils)
  await proxy.probe()
  const filter = (await proxy.rpc('eth', call('eth_newFilter', [{ address: contract }]))).json.result as string
  const blocks = (await proxy.rpc('eth', call('eth_newBlockFilter'))).json.result as string

  // One of the three nodes dies; the filter keeps collecting through the others.
  await anvils[0]!.stop()
  const survivors = anvils.slice(1)
  const first = await sendToAll(survivors, { to: contract, data: pingData(7) })
  await mineAll(survivors, 1)
  await proxy.probe()
  expect((await collect<Log>(proxy, filter, (changes) => changes.length >= 1)).map((log) => log.transactionHash)).toEqual([first])

  // A reload re-weights a node: a new runtime serves the chain; the same filter goes on.
  const reloaded = await proxy.proxy.reload(parseConfig({ journal: { path: ':memory:' }, log: { level: 'silent' }, ...config([1, 5, 1]) }))
  expect(reloaded.changes.some((change) => change.kind === 'node-changed')).toBe(true)
  const second = await sendToAll(survivors, { to: contract, data: pingData(8) })
  await mineAll(survivors, 1)
  await proxy.probe()
  expect((await collect<Log>(proxy, filter, (changes) => changes.length >= 1)).map((log) => log.transactionHash)).toEqual([second])
  // Every block since the filter was made, once: none lost to the kill or the reload.
  const hashes = await collect<string>(proxy, blocks, (changes) => changes.length >= 2)
  expect(hashes).toHaveLength(2)
  expect(new Set(hashes).size).toBe(2)
})

test('a reorg re-sends the logs of removed blocks with removed: true', async () => {
  const proxy = await start(3)
  const contract = await deploy(anvils)
  await proxy.probe()
  const filter = (await proxy.rpc('eth', call('eth_newFilter', [{ address: contract }]))).json.result as string
  const snapshots = await Promise.all(anvils.map((anvil) => anvil.rpc('evm_snapshot')))
  const height = await anvils[0]!.blockNumber()
  const ping = await sendToAll(anvils, { to: contract, data: pingData(9) })
  await mineAll(anvils, 1)
  await proxy.probe()
  const [mined] = await collect<Log>(proxy, filter, (changes) => changes.length >= 1)
  expect(mined).toMatchObject({ transactionHash: ping, removed: false })

  // Every node goes back before the ping's block and grows a longer branch without it.
  await Promise.all(anvils.map((anvil, index) => anvil.rpc('evm_revert', [snapshots[index]])))
  await Promise.all(anvils.map((anvil) => anvil.rpc('anvil_dropAllTransactions')))
  const genesis = anvils[0]!.genesisTimestamp
  await Promise.all(
    anvils.map(async (anvil) => {
      await mineBlocksAt(anvil.rpc, genesis + BLOCK_INTERVAL_SEC * (height + 1) + 7, 3)
    }),
  )
  await proxy.probe()
  const [removed, ...rest] = await collect<Log>(proxy, filter, (changes) => changes.length >= 1)
  expect(removed).toEqual({ ...mined, removed: true })
  expect(rest).toEqual([])
})

test('ethers v6 contract.on(...) and provider.on({ address }) with default settings fire through switchyard', async () => {
  const proxy = await start(3, {}, { autoProbe: false })
  const address = await deploy(anvils)
  await proxy.probe()
  const provider = new JsonRpcProvider(`${proxy.baseUrl}/rpc/eth`)
  try {
    const contract = new Contract(address, PING_ABI, provider)
    const values: bigint[] = []
    const raw: string[] = []
    await contract.on('Ping', (value: bigint) => void values.push(value))
    await provider.on({ address }, (log: { transactionHash: string }) => void raw.push(log.transactionHash))
    // ethers installs its filters (eth_newFilter) in the background: wait until switchyard holds both.
    await waitFor(() => proxy.proxy.streams('eth')?.stats?.().filters === 2, { timeoutMs: 20_000, what: 'ethers filters installed' })
    const started = performance.now()
    const ping = await sendToAll(anvils, { to: address, data: pingData(42) })
    await mineAll(anvils, 1)
    await proxy.probe()
    // ethers polls its filters on each new block it sees (eth_blockNumber every 4 s by default).
    await waitFor(
      async () => {
        if (values.length > 0 && raw.length > 0) return true
        await mineAll(anvils, 1)
        await proxy.probe()
        return false
      },
      { timeoutMs: 60_000, everyMs: 1_000, what: 'the Ping event in ethers' },
    )
    recordFigure('filters.ethersEventDelayMs', Math.round(performance.now() - started))
    expect(values).toEqual([42n])
    expect(raw).toEqual([ping])
  } finally {
    provider.destroy()
  }
})
