/**
 * Limits against real nodes: per-client token buckets (429 + Retry-After, all or nothing, per
 * method group), per-node outbound quotas (skipped, never ejected; all over quota → SY_NODE_QUOTA)
 * and the eth_getLogs block range (refused with no node call).
 */
import { afterEach, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

let anvils: AnvilNode[] = []
let bcoins: BcoinNode[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all([...anvils.map((anvil) => anvil.stop()), ...bcoins.map((node) => node.stop())])
  anvils = []
  bcoins = []
})

const call2 = (method: string, id: number | string = 1, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params })
const call1 = (method: string, id: number | string = 1, params: unknown[] = []) => ({ method, params, id })
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const hex = (n: number): string => `0x${n.toString(16)}`

const SCANNER_KEY = 'scanner-key-aaaaaaaaaaaa'
const WALLET_KEY = 'wallet-key-bbbbbbbbbbbbb'
const BATCHER_KEY = 'batcher-key-cccccccccccc'

describe('per-client rate limits', () => {
  async function setup(): Promise<{ proxy: TestProxy; completed: () => number }> {
    ;[anvils, bcoins] = await Promise.all([Promise.all([startAnvil({ id: 'eth-a' })]), Promise.all([startBcoin({ id: 'btc-a' })])])
    harness = await startTestProxy(
      {
        chains: {
          eth: { family: 'evm', chainId: 31337, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) },
          btc: { family: 'bitcoin', network: 'regtest', nodes: bcoins.map((node) => ({ id: node.id, url: node.url })) },
        },
        clients: [
          // One call per 1000 s after a burst of 3: no token comes back while the test runs.
          { name: 'scanner', key: SCANNER_KEY, rateLimit: { perSecond: 0.001, burst: 3 } },
          { name: 'wallet', key: WALLET_KEY, rateLimit: { perSecond: 1000, burst: 1000, perGroup: { broadcast: { perSecond: 0.001, burst: 1 } } } },
          { name: 'batcher', key: BATCHER_KEY, rateLimit: { perSecond: 1000, burst: 2 } },
        ],
      },
      { autoProbe: true },
    )
    let count = 0
    harness.proxy.events.on('request:complete', () => (count += 1))
    return { proxy: harness, completed: () => count }
  }

  test('the burst passes; then 429 with Retry-After and a JSON-RPC error for 2.0, 1.0 and batch clients, and nothing runs', async () => {
    const { proxy, completed } = await setup()
    const height = hex(await anvils[0]!.blockNumber())
    let admitted = 0
    for (let i = 0; i < 3; i++) {
      const reply = await proxy.rpc('eth', call2('eth_blockNumber', i), bearer(SCANNER_KEY))
      expect(reply.status).toBe(200)
      expect(reply.json.result).toBe(height)
      admitted += 1
    }
    const ran = completed()

    const single = await proxy.rpc('eth', call2('eth_blockNumber', 'over'), bearer(SCANNER_KEY))
    expect(single.status).toBe(429)
    const retryAfter = Number(single.headers['retry-after'])
    expect(Number.isInteger(retryAfter)).toBe(true)
    // One token per 1000 s: the wait is at most that, in whole seconds.
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(1000)
    expect(single.json).toEqual({
      jsonrpc: '2.0',
      id: 'over',
      error: {
        code: -32067,
        message: `Too many requests: client "scanner" is over its limit of 0.001/s (burst 3, clients[].rateLimit); retry in ${retryAfter} s`,
        data: { code: 'SY_RATE_LIMITED', client: 'scanner', bound: 'clients[].rateLimit', perSecond: 0.001, burst: 3, retryAfterMs: expect.any(Number) },
      },
    })
    expect(Math.ceil(single.json.error.data.retryAfterMs / 1000)).toBe(retryAfter)

    const legacy = await proxy.rpc('btc', call1('getblockcount', 'cli'), { authorization: `Basic ${Buffer.from(`rpc:${SCANNER_KEY}`).toString('base64')}` })
    expect(legacy.status).toBe(429)
    expect(legacy.headers['retry-after']).toBeDefined()
    expect(legacy.json).toEqual({ result: null, error: expect.objectContaining({ code: -32067, data: expect.objectContaining({ code: 'SY_RATE_LIMITED' }) }), id: 'cli' })

    const batch = await proxy.rpc('eth', [call2('eth_blockNumber', 1), call2('eth_gasPrice', 2)], bearer(SCANNER_KEY))
    expect(batch.status).toBe(429)
    expect(batch.json.map((reply: { id: number; error: { code: number } }) => [reply.id, reply.error.code])).toEqual([
      [1, -32067],
      [2, -32067],
    ])
    // Nothing of a refused request reached dispatch, let alone a node.
    expect(completed()).toBe(ran)
    // Other clients have buckets of their own.
    expect((await proxy.rpc('eth', call2('eth_blockNumber'), bearer(WALLET_KEY))).status).toBe(200)

    const metrics = await (await fetch(`${proxy.baseUrl}/metrics`)).text()
    expect(metrics).toContain('switchyard_client_refusals_total{client="scanner",reason="rate-limited"} 4')
    recordFigure('clients.rateLimit.admittedBeforeLimit', admitted)
    recordFigure('clients.rateLimit.retryAfterSeconds', retryAfter)
  })

  test('a per-group limit: broadcasts run out while reads go on', async () => {
    const { proxy } = await setup()
    // The first broadcast is let through (and judged: not a transaction → -32602); the second is over the broadcast bucket.
    const first = await proxy.rpc('eth', call2('eth_sendRawTransaction', 1, ['0x02']), bearer(WALLET_KEY))
    expect(first.status).toBe(200)
    expect(first.json.error.data.code).toBe('SY_INVALID_PARAMS')
    const second = await proxy.rpc('eth', call2('eth_sendRawTransaction', 2, ['0x02']), bearer(WALLET_KEY))
    expect(second.status).toBe(429)
    expect(second.json.error.data).toMatchObject({ code: 'SY_RATE_LIMITED', bound: 'clients[].rateLimit.perGroup.broadcast', client: 'wallet' })
    for (let i = 0; i < 20; i++) expect((await proxy.rpc('eth', call2('eth_gasPrice', i), bearer(WALLET_KEY))).status).toBe(200)
    // A batch with a read and a broadcast: the broadcast does not fit, so neither runs.
    const mixed = await proxy.rpc('eth', [call2('eth_gasPrice', 1), call2('eth_sendRawTransaction', 2, ['0x02'])], bearer(WALLET_KEY))
    expect(mixed.status).toBe(429)
  })

  test('a batch larger than the burst can never pass: 429 telling to split it, without Retry-After', async () => {
    const { proxy } = await setup()
    const reply = await proxy.rpc('eth', [call2('eth_gasPrice', 1), call2('eth_gasPrice', 2), call2('eth_gasPrice', 3)], bearer(BATCHER_KEY))
    expect(reply.status).toBe(429)
    expect(reply.headers['retry-after']).toBeUndefined()
    expect(reply.json[0].error.message).toMatch(/a request of 3 calls exceeds the burst of 2 .*split it/)
    const split = await proxy.rpc('eth', [call2('eth_gasPrice', 1), call2('eth_gasPrice', 2)], bearer(BATCHER_KEY))
    expect(split.status).toBe(200)
  })
})

describe('per-node outbound quotas (nodes[].quota)', () => {
  test('a node over its quota is skipped for the other one: every call answered, no node ejected', async () => {
    anvils = await Promise.all([startAnvil({ id: 'metered' }), startAnvil({ id: 'own' })])
    harness = await startTestProxy(
      {
        chains: {
          eth: {
            family: 'evm',
            chainId: 31337,
            // The metered node would be preferred (weight), and its quota is 2 calls for the whole test.
            nodes: [
              { id: 'metered', url: anvils[0]!.url, weight: 100, quota: { perSecond: 0.001, burst: 2 } },
              { id: 'own', url: anvils[1]!.url },
            ],
          },
        },
      },
      { autoProbe: true },
    )
    const transitions: string[] = []
    harness.proxy.events.on('node:state', (event) => transitions.push(`${event.nodeId}: ${event.from} → ${event.to}`))
    const served: Record<string, number> = {}
    for (let i = 0; i < 20; i++) {
      const reply = await harness.rpc('eth', call2('eth_gasPrice', i))
      expect(reply.status).toBe(200)
      expect(reply.json.result).toMatch(/^0x[0-9a-f]+$/)
      served[reply.node!] = (served[reply.node!] ?? 0) + 1
    }
    expect(served.metered ?? 0).toBeLessThanOrEqual(2)
    expect(served.own).toBeGreaterThanOrEqual(18)
    await harness.probe()
    expect(harness.proxy.snapshot().chains[0]!.nodes.map((node) => [node.id, node.status])).toEqual([
      ['metered', 'healthy'],
      ['own', 'healthy'],
    ])
    expect(transitions).toEqual([])
    recordFigure('nodeQuota.meteredServedOf20', served.metered ?? 0)
  })

  test('every candidate over its quota → 503 SY_NODE_QUOTA with no node call; nodes stay healthy', async () => {
    anvils = await Promise.all([startAnvil({ id: 'q-a' }), startAnvil({ id: 'q-b' })])
    harness = await startTestProxy(
      {
        chains: {
          eth: { family: 'evm', chainId: 31337, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url, quota: { perSecond: 0.001, burst: 1 } })) },
        },
      },
      { autoProbe: true },
    )
    const answeredBy = new Set<string>()
    for (let i = 0; i < 2; i++) {
      const reply = await harness.rpc('eth', call2('eth_gasPrice', i))
      expect(reply.status).toBe(200)
      answeredBy.add(reply.node!)
    }
    expect([...answeredBy].sort()).toEqual(['q-a', 'q-b'])
    const refused = await harness.rpc('eth', call2('eth_gasPrice', 'x'))
    expect(refused.status).toBe(503)
    expect(refused.attempts).toBe(0)
    expect(refused.node).toBeUndefined()
    expect(refused.json.error).toMatchObject({
      code: -32068,
      message: expect.stringMatching(/^all 2 eth nodes that could serve this call are at their request quota \(nodes\[\]\.quota\); retry in \d+ s$/),
      data: { code: 'SY_NODE_QUOTA', chain: 'eth', bound: 'nodes[].quota', nodes: expect.arrayContaining(['q-a', 'q-b']) },
    })
    // In a batch, each call gets the same error in its own entry (HTTP 200).
    const batch = await harness.rpc('eth', [call2('eth_gasPrice', 1), call2('eth_chainId', 2)])
    expect(batch.status).toBe(200)
    expect(batch.json[0].error.data.code).toBe('SY_NODE_QUOTA')
    expect(batch.json[1].result).toBe('0x7a69')
    await harness.probe()
    expect(harness.proxy.snapshot().chains[0]!.nodes.every((node) => node.status === 'healthy' && node.errorRate === 0)).toBe(true)
  })
})

describe('eth_getLogs block range (chains.<name>.maxLogsRange)', () => {
  test('a range wider than the limit is refused with no node call, `latest` read as the read head; narrower ones reach anvil', async () => {
    anvils = await Promise.all([startAnvil({ id: 'logs-a', noMining: true }), startAnvil({ id: 'logs-b', noMining: true })])
    await Promise.all(anvils.map((anvil) => anvil.mine(30)))
    harness = await startTestProxy(
      { chains: { eth: { family: 'evm', chainId: 31337, maxLogsRange: 10, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) } } },
      { autoProbe: true },
    )
    const tooWide = await harness.rpc('eth', call2('eth_getLogs', 1, [{ fromBlock: '0x0', toBlock: 'latest' }]))
    expect(tooWide.status).toBe(200)
    expect(tooWide.attempts).toBe(0)
    expect(tooWide.node).toBeUndefined()
    expect(tooWide.json).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32602,
        message: 'eth_getLogs spans 31 blocks (0 to 30), more than the limit of 10 (chains.eth.maxLogsRange): query at most 10 blocks at a time',
        data: { code: 'SY_RANGE_TOO_LARGE', limit: 10, blocks: 31, fromBlock: 0, toBlock: 30, bound: 'chains.eth.maxLogsRange' },
      },
    })
    const earliest = await harness.rpc('eth', call2('eth_getLogs', 2, [{ fromBlock: 'earliest' }]))
    expect(earliest.json.error.data).toMatchObject({ code: 'SY_RANGE_TOO_LARGE', blocks: 31 })

    const narrow = await harness.rpc('eth', call2('eth_getLogs', 3, [{ fromBlock: hex(21), toBlock: 'latest' }]))
    expect(narrow.json).toEqual({ jsonrpc: '2.0', id: 3, result: [] })
    expect(anvils.map((anvil) => anvil.id)).toContain(narrow.node)

    const block = (await anvils[0]!.rpc('eth_getBlockByNumber', ['0x1', false])) as { hash: string }
    const byHash = await harness.rpc('eth', call2('eth_getLogs', 4, [{ blockHash: block.hash }]))
    expect(byHash.json.result).toEqual([])

    const batch = await harness.rpc('eth', [call2('eth_getLogs', 'wide', [{ fromBlock: '0x1', toBlock: hex(30) }]), call2('eth_getLogs', 'ok', [{ fromBlock: hex(1), toBlock: hex(10) }])])
    expect(batch.status).toBe(200)
    expect(batch.json[0]).toMatchObject({ id: 'wide', error: { code: -32602, data: { code: 'SY_RANGE_TOO_LARGE', blocks: 30 } } })
    expect(batch.json[1]).toEqual({ jsonrpc: '2.0', id: 'ok', result: [] })
    recordFigure('logsRange.refusedBlocksWithLimit10', tooWide.json.error.data.blocks)
  })
})
