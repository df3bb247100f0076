/**
 * Prometheus metrics against a real proxy with two fake EVM nodes: traffic, a failover, a forbidden
 * method and a lagging node, then a scrape of GET /metrics parsed from the text format and checked
 * against what the test did. Node behaviour is driven by probe rounds, never by waiting.
 */
import type { FastifyInstance } from 'fastify'
import { register as globalRegistry } from 'prom-client'
import { afterEach, describe, expect, test } from 'vitest'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'
import { MemoryJournal, type BroadcastRecord } from '../broadcast/broadcast-journal.js'
import { createProxy } from '../index.js'
import type { Proxy } from '../proxy.js'
import { buildApp } from '../server/build-app.js'
import { type Metrics, EJECTION_REASONS, NODE_STATUSES, createMetrics } from './metrics.js'

// ---- a small parser of the Prometheus text exposition format ----

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex
    const match = LABEL.exec(text)
    if (match === null) throw new Error(`bad labels at ${start}: ${text}`)
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_all, char: string) => (char === 'n' ? '\n' : char))
    if (match[3] === '') break
  }
  return labels
}

/** Values as Prometheus reads them (Go's ParseFloat: Inf and NaN in any case; prom-client writes "Nan"). */
function parseValue(text: string): number {
  const lower = text.toLowerCase()
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY
  if (lower === '-inf') return Number.NEGATIVE_INFINITY
  if (lower === 'nan') return Number.NaN
  const value = Number(text)
  if (Number.isNaN(value)) throw new Error(`bad sample value ${text}`)
  return value
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line)
    if (match === null) throw new Error(`unparseable line: ${line}`)
    samples.push({ name: match[1]!, labels: match[2] === undefined ? {} : parseLabels(match[2]), value: parseValue(match[3]!) })
  }
  return samples
}

/** Samples of `name` whose labels include `labels`. */
function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
}

/** The one sample of `name` with exactly these labels (plus none other than those given). */
function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const matches = find(samples, name, labels).filter((sample) => Object.keys(sample.labels).length === Object.keys(labels).length)
  if (matches.length > 1) throw new Error(`several ${name} samples match ${JSON.stringify(labels)}`)
  return matches[0]?.value
}

// ---- harness ----

let nodes: Array<FakeNode & { setHeight(height: number): void }> = []
let app: FastifyInstance | undefined
let proxy: Proxy | undefined
let metrics: Metrics | undefined

afterEach(async () => {
  metrics?.close()
  await app?.close()
  await proxy?.close()
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
  app = undefined
  proxy = undefined
  metrics = undefined
})

async function start(journal = new MemoryJournal()): Promise<{ proxy: Proxy; app: FastifyInstance; metrics: Metrics }> {
  nodes = await Promise.all([startFakeNode({ chainId: 1, height: 100 }), startFakeNode({ chainId: 1, height: 100 })])
  proxy = createProxy(
    {
      log: { level: 'silent' },
      chains: {
        eth: {
          family: 'evm',
          chainId: 1,
          requestTimeoutMs: 1_000,
          routing: { maxAttempts: 3 },
          health: { intervalMs: 60_000 },
          nodes: nodes.map((node, index) => ({ id: `n${index}`, url: `http://user:hunter2@127.0.0.1:${node.port}/key/SECRETKEY` })),
        },
      },
    },
    { journal },
  )
  metrics = createMetrics(proxy)
  app = buildApp(proxy, { logger: false, metrics })
  await app.ready()
  await proxy.probe('eth')
  return { proxy, app, metrics }
}

async function rpc(target: FastifyInstance, method: string, params: unknown[] = []): Promise<{ status: number; json: any; attempts: number }> {
  const response = await target.inject({ method: 'POST', url: '/rpc/eth', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  return { status: response.statusCode, json: response.json(), attempts: Number(response.headers['x-switchyard-attempts'] ?? 0) }
}

async function scrape(target: FastifyInstance): Promise<{ text: string; samples: Sample[]; contentType: string }> {
  const response = await target.inject({ method: 'GET', url: '/metrics' })
  expect(response.statusCode).toBe(200)
  return { text: response.body, samples: parseExposition(response.body), contentType: String(response.headers['content-type']) }
}

function record(txid: string, status: BroadcastRecord['status']): BroadcastRecord {
  return { chain: 'eth', txid, raw: '0x00', status, firstSeenAt: Date.now(), updatedAt: Date.now(), confirmations: 0, rebroadcasts: 0, outcomes: [] }
}

const FORBIDDEN = 'zz_client_invented_method'

describe('metrics', () => {
  test('a scrape reflects the traffic, the failover, the forbidden method and the lagging node', async () => {
    const journal = new MemoryJournal()
    await journal.save(record('0x01', 'pending'))
    await journal.save(record('0x02', 'pending'))
    await journal.save(record('0x03', 'seen'))
    await journal.save(record('0x04', 'confirmed'))
    const { proxy, app } = await start(journal)

    for (let i = 0; i < 3; i++) expect((await rpc(app, 'eth_blockNumber')).json.result).toBe('0x64')
    expect((await rpc(app, 'eth_chainId')).json.result).toBe('0x1')
    const forbidden = await rpc(app, FORBIDDEN)
    expect(forbidden.json.error.data.code).toBe('SY_METHOD_NOT_ALLOWED')
    const personal = await rpc(app, 'personal_unlockAccount', ['0x00', 'pw'])
    expect(personal.json.error.data.code).toBe('SY_METHOD_NOT_ALLOWED')

    // Whichever node is asked first answers 503 once; the other answers: one failover.
    let faulted = false
    for (const node of nodes) {
      node.on('eth_getBalance', () => {
        if (faulted) return { result: '0x10' }
        faulted = true
        return { status: 503, body: 'Work queue depth exceeded' }
      })
    }
    const balance = await rpc(app, 'eth_getBalance', ['0x0000000000000000000000000000000000000000', 'latest'])
    expect(balance.json.result).toBe('0x10')
    expect(balance.attempts).toBe(2)

    // n1 moves 10 blocks ahead: n0 is more than maxLagBlocks (3) behind → lagging.
    nodes[1]!.setHeight(110)
    await proxy.probe('eth')
    expect(proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['lagging', 'healthy'])

    proxy.events.emit('broadcast:conflict', { chain: 'eth', txid: '0x05', detail: 'nonce used by another transaction' })

    const { text, samples, contentType } = await scrape(app)
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/)

    // Node and chain figures.
    expect(value(samples, 'switchyard_node_height', { chain: 'eth', node: 'n0' })).toBe(100)
    expect(value(samples, 'switchyard_node_height', { chain: 'eth', node: 'n1' })).toBe(110)
    expect(value(samples, 'switchyard_node_lag_blocks', { chain: 'eth', node: 'n0' })).toBe(10)
    expect(value(samples, 'switchyard_node_lag_blocks', { chain: 'eth', node: 'n1' })).toBe(0)
    expect(value(samples, 'switchyard_chain_head', { chain: 'eth' })).toBe(110)
    // n0 lags out of the fork check: n1 is the one routable node, so its height is served.
    expect(value(samples, 'switchyard_chain_read_head', { chain: 'eth' })).toBe(110)
    expect(value(samples, 'switchyard_chain_routable_nodes', { chain: 'eth' })).toBe(1)
    for (const node of ['n0', 'n1']) {
      const latency = value(samples, 'switchyard_node_latency_ms', { chain: 'eth', node })
      expect(latency).toBeGreaterThan(0)
      expect(latency).toBe(proxy.snapshot().chains[0]!.nodes.find((candidate) => candidate.id === node)!.latencyMs)
    }

    // Status: one series per status, exactly one of them 1.
    const expectedStatus = { n0: 'lagging', n1: 'healthy' }
    for (const [node, current] of Object.entries(expectedStatus)) {
      const series = find(samples, 'switchyard_node_status', { chain: 'eth', node })
      expect(series.map((sample) => sample.labels.status).sort()).toEqual([...NODE_STATUSES].sort())
      expect(series.filter((sample) => sample.value === 1).map((sample) => sample.labels.status)).toEqual([current])
      expect(series.filter((sample) => sample.value !== 1).every((sample) => sample.value === 0)).toBe(true)
    }

    // Ejections: n0 once for lagging, nothing else.
    expect(value(samples, 'switchyard_node_ejections_total', { chain: 'eth', node: 'n0', reason: 'lagging' })).toBe(1)
    const otherEjections = find(samples, 'switchyard_node_ejections_total').filter((sample) => !(sample.labels.node === 'n0' && sample.labels.reason === 'lagging'))
    // 2 nodes × every ejection reason, less n0/lagging.
    expect(otherEjections.length).toBe(2 * EJECTION_REASONS.length - 1)
    expect(otherEjections.every((sample) => sample.value === 0)).toBe(true)

    // Requests.
    expect(value(samples, 'switchyard_request_failovers_total', { chain: 'eth' })).toBeGreaterThanOrEqual(1)
    const count = (method: string, outcome: string) => value(samples, 'switchyard_request_duration_seconds_count', { chain: 'eth', method, outcome })
    expect(count('eth_blockNumber', 'answer')).toBe(3)
    expect(count('eth_getBalance', 'answer')).toBe(1)
    expect(count('eth_chainId', 'local')).toBe(1)
    expect(count('other', 'proxy-error')).toBe(2)
    expect(value(samples, 'switchyard_request_duration_seconds_bucket', { chain: 'eth', method: 'eth_blockNumber', outcome: 'answer', le: '+Inf' })).toBe(3)
    expect(value(samples, 'switchyard_request_duration_seconds_sum', { chain: 'eth', method: 'eth_blockNumber', outcome: 'answer' })).toBeGreaterThan(0)
    const methods = new Set(find(samples, 'switchyard_request_duration_seconds_count').map((sample) => sample.labels.method))
    expect([...methods].sort()).toEqual(['eth_blockNumber', 'eth_chainId', 'eth_getBalance', 'other'])
    expect(text).not.toContain(FORBIDDEN)
    expect(text).not.toContain('personal_unlockAccount')
    expect(value(samples, 'switchyard_requests_total', { chain: 'eth', outcome: 'answer', code: 'none' })).toBe(4)
    expect(value(samples, 'switchyard_requests_total', { chain: 'eth', outcome: 'local', code: 'none' })).toBe(1)
    expect(value(samples, 'switchyard_requests_total', { chain: 'eth', outcome: 'proxy-error', code: 'SY_METHOD_NOT_ALLOWED' })).toBe(2)

    // Broadcasts and the journal backlog (pending + seen; confirmed is done).
    expect(value(samples, 'switchyard_broadcasts_total', { chain: 'eth', outcome: 'conflict' })).toBe(1)
    expect(value(samples, 'switchyard_broadcasts_total', { chain: 'eth', outcome: 'accepted' })).toBe(0)
    expect(value(samples, 'switchyard_journal_pending', { chain: 'eth' })).toBe(3)

    // Default process metrics are there too.
    expect(find(samples, 'process_resident_memory_bytes').length).toBe(1)
    expect(find(samples, 'process_cpu_seconds_total').length).toBe(1)

    // No label value carries a node URL, host, port or credential.
    const secrets = ['127.0.0.1', 'http', 'hunter2', 'SECRETKEY', ...nodes.map((node) => String(node.port))]
    for (const sample of samples) {
      for (const labelValue of Object.values(sample.labels)) {
        for (const secret of secrets) expect(labelValue, `${sample.name} ${JSON.stringify(sample.labels)}`).not.toContain(secret)
      }
    }
    expect(text).not.toMatch(/hunter2|SECRETKEY|127\.0\.0\.1/)
  })

  test('label sets stay bounded: many distinct invented methods all land on method="other"', async () => {
    const { app } = await start()
    for (let i = 0; i < 25; i++) await rpc(app, `invented_${i}_${'x'.repeat(i)}`)
    const { samples } = await scrape(app)
    const series = find(samples, 'switchyard_request_duration_seconds_count', { chain: 'eth' })
    expect(series.map((sample) => sample.labels.method)).toEqual(['other'])
    expect(series[0]!.value).toBe(25)
  })

  test('its own registry, re-admission is not an ejection, cordon is not an ejection, close() stops listening', async () => {
    const { proxy, app, metrics } = await start()
    expect(await globalRegistry.metrics()).not.toContain('switchyard_')
    // A second set of metrics on the same proxy does not collide with the first.
    const second = createMetrics(proxy)
    proxy.cordon('eth', 'n1', 'maintenance')
    nodes[1]!.setHeight(110)
    await proxy.probe('eth') // n0 lagging
    nodes[0]!.setHeight(110)
    await proxy.probe('eth')
    await proxy.probe('eth') // n0 re-admitted after 2 good probes
    expect(proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'cordoned'])
    const { samples } = await scrape(app)
    expect(find(samples, 'switchyard_node_ejections_total').filter((sample) => sample.value > 0)).toEqual([
      { name: 'switchyard_node_ejections_total', labels: { chain: 'eth', node: 'n0', reason: 'lagging' }, value: 1 },
    ])
    expect(parseExposition(await second.render()).filter((sample) => sample.name === 'switchyard_node_ejections_total' && sample.value > 0).length).toBe(1)
    second.close()

    // Other subscribers (the app's timeline) keep theirs; the metrics' own are gone.
    const names = ['request:complete', 'node:state', 'broadcast:accepted', 'broadcast:confirmed', 'broadcast:conflict', 'broadcast:dropped', 'broadcast:reorged'] as const
    const before = names.map((name) => proxy.events.listenerCount(name))
    metrics.close()
    expect(names.map((name) => proxy.events.listenerCount(name))).toEqual(before.map((count) => count - 1))
    expect(proxy.events.listenerCount('request:complete')).toBe(0)
    await rpc(app, 'eth_blockNumber')
    const after = parseExposition(await metrics.render())
    expect(find(after, 'switchyard_request_duration_seconds_count').length).toBe(0)
  })

  test("per-node series (written by SeriesMetric) print exactly as prom-client prints the same values", async () => {
    const { proxy, metrics } = await start()
    await rpc(app!, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest'])
    nodes[1]!.setHeight(90)
    nodes[0]!.setHeight(110)
    await proxy.probe('eth')
    proxy.events.emit('read:disagree', { chain: 'eth', method: 'eth_getTransactionReceipt', answers: [], minority: ['n0'], at: Date.now() })
    const rendered = await metrics.render()
    const names = ['switchyard_node_height', 'switchyard_node_lag_blocks', 'switchyard_node_status', 'switchyard_node_latency_ms', 'switchyard_node_error_rate', 'switchyard_node_in_flight', 'switchyard_node_ejections_total', 'switchyard_node_disputes_total']
    for (const name of names) {
      // prom-client's own formatting of the metric's get() values, between the same scrape's neighbours.
      const byPromClient = await metrics.registry.getSingleMetricAsString(name)
      expect(rendered).toContain(`\n\n${byPromClient}\n\n`)
    }
    expect(value(parseExposition(rendered), 'switchyard_node_ejections_total', { chain: 'eth', node: 'n1', reason: 'lagging' })).toBe(1)
    expect(value(parseExposition(rendered), 'switchyard_node_status', { chain: 'eth', node: 'n1', status: 'lagging' })).toBe(1)
    expect(value(parseExposition(rendered), 'switchyard_node_disputes_total', { chain: 'eth', node: 'n0' })).toBe(1)
    // The JSON form the cluster primary aggregates holds the same series.
    const json = await metrics.registry.getMetricsAsJSON()
    const status = json.find((metric) => metric.name === 'switchyard_node_status')!
    expect(status).toMatchObject({ type: 'gauge', aggregator: 'max' })
    expect(status.values).toHaveLength(2 * NODE_STATUSES.length)
    expect(status.values).toContainEqual({ labels: { chain: 'eth', node: 'n1', status: 'lagging' }, value: 1 })
  })

  test('reorgs, disagreements, disputes lost and contained subscriber errors are counted', async () => {
    const { proxy, app } = await start()
    const before = (await scrape(app)).samples
    expect(value(before, 'switchyard_chain_reorgs_total', { chain: 'eth' })).toBe(0)
    expect(value(before, 'switchyard_read_disagreements_total', { chain: 'eth' })).toBe(0)
    expect(value(before, 'switchyard_node_disputes_total', { chain: 'eth', node: 'n1' })).toBe(0)
    const at = Date.now()
    proxy.events.emit('chain:reorg', { chain: 'eth', height: 98, depth: 3, oldHash: '0xaa', newHash: '0xbb', at })
    proxy.events.emit('read:disagree', { chain: 'eth', method: 'eth_getTransactionReceipt', answers: [{ nodeId: 'n0', hash: 'aa' }, { nodeId: 'n1', hash: 'bb' }], minority: ['n1', 'not-a-node'], at })
    proxy.events.emit('read:disagree', { chain: 'other-chain', method: 'x', answers: [], minority: [], at })
    proxy.events.on('chain:head', () => {
      throw new Error('a broken subscriber')
    })
    proxy.events.emit('chain:head', { chain: 'eth', head: 101, previous: 100, at })
    const { samples } = await scrape(app)
    expect(value(samples, 'switchyard_chain_reorgs_total', { chain: 'eth' })).toBe(1)
    expect(value(samples, 'switchyard_chain_last_reorg_depth', { chain: 'eth' })).toBe(3)
    expect(value(samples, 'switchyard_read_disagreements_total', { chain: 'eth' })).toBe(1)
    expect(find(samples, 'switchyard_node_disputes_total').map(({ labels, value: count }) => ({ ...labels, count }))).toEqual([
      { chain: 'eth', node: 'n0', count: 0 },
      { chain: 'eth', node: 'n1', count: 1 },
    ])
    expect(find(samples, 'switchyard_read_disagreements_total').map((sample) => sample.labels.chain)).toEqual(['eth'])
    expect(value(samples, 'switchyard_event_listener_errors', {})).toBe(1)
  })

  test('hedged reads and hedge wins per chain, as the router counts them', async () => {
    nodes = await Promise.all([startFakeNode({ chainId: 1, height: 100 }), startFakeNode({ chainId: 1, height: 100 })])
    const hedge = { enabled: true, afterMs: 1 }
    const chainNodes = [
      { id: 'slow', url: `http://127.0.0.1:${nodes[0]!.port}/`, weight: 100 },
      { id: 'fast', url: `http://127.0.0.1:${nodes[1]!.port}/` },
    ]
    proxy = createProxy({ log: { level: 'silent' }, chains: { eth: { family: 'evm', chainId: 1, routing: { hedge }, health: { intervalMs: 60_000 }, nodes: chainNodes } } }, { journal: new MemoryJournal() })
    metrics = createMetrics(proxy)
    app = buildApp(proxy, { logger: false, metrics })
    await app.ready()
    await proxy.probe('eth')
    nodes[0]!.on('eth_gasPrice', { hang: true })
    nodes[1]!.on('eth_gasPrice', { result: '0x7' })
    // Weighted toward the hanging node, a call almost always asks it first; until one has, call again.
    while (proxy.snapshot().chains[0]!.hedges.won === 0) expect((await rpc(app, 'eth_gasPrice')).json.result).toBe('0x7')
    const { sent, won } = proxy.snapshot().chains[0]!.hedges
    const { samples } = await scrape(app)
    expect(value(samples, 'switchyard_hedged_reads_total', { chain: 'eth' })).toBe(sent)
    expect(value(samples, 'switchyard_hedge_wins_total', { chain: 'eth' })).toBe(won)
    expect(won).toBeGreaterThanOrEqual(1)
  })

  test('answer cache hits, misses, evictions, bytes, entries and coalesced reads per chain, as the chain counts them', async () => {
    nodes = await Promise.all([startFakeNode({ chainId: 1, height: 100 }), startFakeNode({ chainId: 1, height: 100 })])
    // Room for two of the fake nodes' blocks (about 140 bytes each with their keys), so a third evicts one.
    const cache = { maxBytes: 300, maxEntryBytes: 300 }
    const chainNodes = nodes.map((node, index) => ({ id: `n${index}`, url: `http://127.0.0.1:${node.port}/` }))
    proxy = createProxy({ log: { level: 'silent' }, chains: { eth: { family: 'evm', chainId: 1, cache, health: { intervalMs: 60_000 }, nodes: chainNodes } } }, { journal: new MemoryJournal() })
    metrics = createMetrics(proxy)
    app = buildApp(proxy, { logger: false, metrics })
    await app.ready()
    await proxy.probe('eth')
    // Blocks 1-3 are deeper than finalityDepth (64) below head 100: cacheable.
    for (const block of ['0x1', '0x1', '0x2', '0x3']) expect((await rpc(app, 'eth_getBlockByNumber', [block, false])).json.result.number).toBe(block)
    for (const node of nodes) node.on('eth_gasPrice', { result: '0x7' })
    // Started together, the second joins the first before any node answers.
    const [first, second] = await Promise.all([0, 1].map(() => proxy!.call('eth', { method: 'eth_gasPrice', params: [] })))
    expect([first!.coalesced, second!.coalesced]).toEqual([undefined, true])
    const { cache: stats, coalesced } = proxy.snapshot().chains[0]!
    expect(stats).toMatchObject({ hits: 1, misses: 3, stores: 3, evictions: 1, entries: 2 })
    expect(coalesced).toBe(1)
    const { samples } = await scrape(app)
    const chain = { chain: 'eth' }
    expect(value(samples, 'switchyard_cache_hits_total', chain)).toBe(1)
    expect(value(samples, 'switchyard_cache_misses_total', chain)).toBe(3)
    expect(value(samples, 'switchyard_cache_evictions_total', chain)).toBe(1)
    expect(value(samples, 'switchyard_cache_entries', chain)).toBe(2)
    expect(value(samples, 'switchyard_cache_bytes', chain)).toBe(stats.bytes)
    expect(stats.bytes).toBeGreaterThan(0)
    expect(value(samples, 'switchyard_coalesced_calls_total', chain)).toBe(1)
  })

  test('one proxy snapshot per scrape, shared by every gauge; the next scrape takes a fresh one', async () => {
    proxy = createProxy({ log: { level: 'silent' }, chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:9/' }] } } }, { journal: new MemoryJournal() })
    metrics = createMetrics(proxy)
    const real = proxy.snapshot.bind(proxy)
    let taken = 0
    proxy.snapshot = () => {
      taken += 1
      return real()
    }
    await metrics.render()
    expect(taken).toBe(1)
    await metrics.render()
    expect(taken).toBe(2)
  })

  test('alert delivery outcomes are counted per configured webhook only', async () => {
    const journal = new MemoryJournal()
    proxy = createProxy(
      {
        log: { level: 'silent' },
        alerts: { webhooks: [{ url: 'https://hooks.example.com/T000/SECRET' }] },
        chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:9/' }] } },
      },
      { journal },
    )
    metrics = createMetrics(proxy)
    metrics.alertDelivery('webhook[0]', 'delivered')
    metrics.alertDelivery('webhook[0]', 'failed')
    metrics.alertDelivery('webhook[0]', 'failed')
    metrics.alertDelivery('webhook[7]', 'delivered') // not configured: ignored
    metrics.alertDelivery('https://hooks.example.com/T000/SECRET', 'delivered') // never a label
    const samples = parseExposition(await metrics.render())
    expect(find(samples, 'switchyard_alert_deliveries_total').map(({ labels, value }) => ({ ...labels, value }))).toEqual([
      { webhook: 'webhook[0]', outcome: 'delivered', value: 1 },
      { webhook: 'webhook[0]', outcome: 'failed', value: 2 },
      { webhook: 'webhook[0]', outcome: 'dropped', value: 0 },
    ])
    // Before any probe: no heights, no head, every node "starting".
    expect(find(samples, 'switchyard_node_height').length).toBe(0)
    expect(find(samples, 'switchyard_chain_head').length).toBe(0)
    expect(value(samples, 'switchyard_node_status', { chain: 'eth', node: 'a', status: 'starting' })).toBe(1)
    expect(value(samples, 'switchyard_chain_routable_nodes', { chain: 'eth' })).toBe(0)
  })
})
