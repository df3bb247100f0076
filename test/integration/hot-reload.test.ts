/**
 * Hot reload against real anvil nodes (one chain): the config file is rewritten and re-read
 * (`POST /admin/api/reload`, as SIGHUP does), while wallets read and broadcast through switchyard.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { createProxy, loadConfigFile } from '../../src/index.js'
import type { ConfigReloadEvent } from '../../src/proxy-events.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'
import { ConfigReloader } from '../../src/server/config-reloader.js'
import { recordFigure } from '../support/figures.js'
import { type NodeFront, gate, startNodeFront } from '../support/node-front.js'
import { type Load, startBroadcasts, startReaders } from '../support/rpc-load.js'

const TOKEN = 'reload-test-admin-token-0123456789'
const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

let anvils: AnvilNode[] = []
let front: NodeFront | undefined
let dir = ''
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  anvils = await Promise.all([0, 1, 2].map((index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  front = await startNodeFront(anvils[0]!.url)
  dir = await mkdtemp(join(tmpdir(), 'switchyard-reload-'))
}, 60_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  await front?.close()
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

interface NodeSpec {
  id: string
  url: string
  weight?: number
}

interface Options {
  nodes: NodeSpec[]
  extraChains?: string
  extra?: string
  port?: number
  logLevel?: string
}

/** The YAML an operator would write; `name` picks the file. */
function yaml(journal: string, options: Options): string {
  const nodes = options.nodes.map((node) => `      - { id: ${node.id}, url: "${node.url}"${node.weight === undefined ? '' : `, weight: ${node.weight}`} }`).join('\n')
  return `server: { port: ${options.port ?? 8545} }
log: { level: ${options.logLevel ?? 'info'} }
admin: { token: "${TOKEN}" }
journal: { path: "${journal}" }
${options.extra ?? ''}
chains:
  eth:
    family: evm
    chainId: 31337
    health: { intervalMs: 200, timeoutMs: 1000 }
    nodes:
${nodes}
${options.extraChains ?? ''}`
}

interface Harness {
  proxy: Proxy
  app: FastifyInstance
  baseUrl: string
  file: string
  reloads: ConfigReloadEvent[]
  write(options: Options): Promise<void>
  reload(): Promise<{ status: number; body: any }>
  rpc(method: string, params: unknown[], headers?: Record<string, string>, chain?: string): Promise<{ status: number; node: string | undefined; body: any }>
}

async function startHarness(name: string, options: Options): Promise<Harness> {
  const file = join(dir, `${name}.yaml`)
  const journal = join(dir, `${name}.sqlite`)
  const write = (next: Options) => writeFile(file, yaml(journal, next))
  await write(options)
  const proxy = createProxy(await loadConfigFile(file))
  const reloads: ConfigReloadEvent[] = []
  proxy.events.on('config:reload', (event) => reloads.push(event))
  const app = buildApp(proxy, { reloader: new ConfigReloader(proxy, () => loadConfigFile(file)), logger: false })
  await proxy.start()
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(async () => {
    await app.close()
    await proxy.close()
  })
  return {
    proxy,
    app,
    baseUrl,
    file,
    reloads,
    write,
    reload: async () => {
      const response = await request(`${baseUrl}/admin/api/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' })
      return { status: response.statusCode, body: await response.body.json() }
    },
    rpc: async (method, params, headers = {}, chain = 'eth') => {
      const response = await request(`${baseUrl}/rpc/${chain}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
      const node = response.headers['x-switchyard-node']
      return { status: response.statusCode, node: typeof node === 'string' ? node : undefined, body: await response.body.json() }
    },
  }
}

const nodeOf = (proxy: Proxy, id: string) => proxy.snapshot().chains.find((chain) => chain.name === 'eth')!.nodes.find((node) => node.id === id)

describe('hot reload', () => {
  test('add a node, re-weight one, remove one under steady reads and broadcasts: no failed call, no lost broadcast, health carried over', async () => {
    const [a, b, c] = anvils.map((anvil) => ({ id: anvil.id, url: anvil.url }))
    const h = await startHarness('steady', { nodes: [a!, b!] })
    const loads: Load[] = [startReaders(h.baseUrl, { readers: 4, chain: 'eth' }), startBroadcasts(h.baseUrl, { chain: 'eth', pauseMs: 50 })]
    const [readers, broadcasts] = loads as [Load, Load]
    cleanups.push(async () => void (await Promise.all(loads.map((load) => load.stop()))))
    await waitFor(() => readers.outcomes.length >= 40 && broadcasts.outcomes.length >= 3, { timeoutMs: 20_000, what: 'load before the first reload' })
    const before = nodeOf(h.proxy, a!.id)!

    // 1. A third node: probed before it takes traffic, so it is healthy when the reload answers.
    await h.write({ nodes: [a!, b!, c!] })
    const added = await h.reload()
    expect(added.status).toBe(200)
    // Three nodes: the default head quorum becomes 2.
    expect(added.body.changes).toEqual([
      { kind: 'chain-changed', chain: 'eth', fields: ['health.headQuorum'] },
      { kind: 'node-added', chain: 'eth', nodeId: c!.id },
    ])
    expect(nodeOf(h.proxy, c!.id)?.status).toBe('healthy')
    // The unchanged node kept its history: same status since, request count not reset.
    const carried = nodeOf(h.proxy, a!.id)!
    expect(carried.since).toBe(before.since)
    expect(carried.requests).toBeGreaterThanOrEqual(before.requests)

    // 2. Weight 0: the node takes traffic only when no other is left.
    await h.write({ nodes: [{ ...a!, weight: 0 }, b!, c!] })
    const weighted = await h.reload()
    expect(weighted.body.changes).toEqual([{ kind: 'node-changed', chain: 'eth', nodeId: a!.id, fields: ['weight'], reconnected: false }])
    const startedAt = performance.now()
    await waitFor(() => readers.since(startedAt).length >= 40, { timeoutMs: 20_000, what: 'reads after the re-weight' })
    const served = new Set<string>()
    for (let index = 0; index < 20; index += 1) served.add((await h.rpc('eth_getBalance', [ADDRESS, 'latest'])).node ?? '')
    expect(served.has(a!.id)).toBe(false)
    expect(nodeOf(h.proxy, a!.id)?.weight).toBe(0)

    // 3. Remove a node.
    await h.write({ nodes: [{ ...a!, weight: 0 }, c!] })
    const removed = await h.reload()
    expect(removed.body.changes).toEqual([
      { kind: 'chain-changed', chain: 'eth', fields: ['health.headQuorum'] },
      { kind: 'node-removed', chain: 'eth', nodeId: b!.id },
    ])
    expect(h.proxy.snapshot().chains[0]!.nodes.map((node) => node.id)).toEqual([a!.id, c!.id])

    // 4. Reloads back to back under load (a config pushed every few ms).
    for (let round = 0; round < 10; round += 1) {
      await h.write({ nodes: [{ ...a!, weight: 0 }, { ...c!, weight: 1 + (round % 2) }] })
      expect((await h.reload()).status).toBe(200)
      const at = performance.now()
      await waitFor(() => readers.since(at).length >= 8, { timeoutMs: 20_000, what: `reads after reload ${round}` })
    }

    const afterReloads = performance.now()
    await waitFor(() => readers.since(afterReloads).length >= 100 && broadcasts.since(afterReloads).length >= 3, { timeoutMs: 20_000, what: 'load after the reloads' })
    await Promise.all(loads.map((load) => load.stop()))
    const failed = [...readers.outcomes, ...broadcasts.outcomes].filter((outcome) => !outcome.ok)
    recordFigure('reload.readsSent', readers.outcomes.length)
    recordFigure('reload.broadcastsSent', broadcasts.outcomes.length)
    recordFigure('reload.callsFailed', failed.length)
    const durations = h.reloads.map((event) => event.durationMs).sort((x, y) => x - y)
    recordFigure('reload.reloadsUnderLoad', durations.length)
    recordFigure('reload.medianDurationMs', Math.round(durations[Math.floor(durations.length / 2)]!))
    recordFigure('reload.maxDurationMs', Math.round(durations.at(-1)!))
    expect(failed).toEqual([])

    // Zero lost broadcasts: a rebroadcast round sends open ones to nodes that lack them (c joined late).
    await h.proxy.rebroadcast('eth')
    const txids = broadcasts.outcomes.map((outcome) => String(outcome.result))
    for (const anvil of [anvils[0]!, anvils[2]!]) {
      const missing: string[] = []
      for (const txid of txids) if ((await anvil.rpc('eth_getTransactionByHash', [txid])) === null) missing.push(txid)
      expect(missing, `broadcasts missing on ${anvil.id}`).toEqual([])
    }
  }, 120_000)

  test('a call in flight on a node being removed is answered by that node after the reload', async () => {
    const b = anvils[1]!
    const h = await startHarness('inflight', { nodes: [{ id: 'fronted', url: front!.url }, { id: b.id, url: b.url }] })
    // Only the fronted node takes reads, and it holds eth_getBalance until released.
    h.proxy.cordon('eth', b.id, 'test: force reads to the fronted node')
    const held = gate()
    front!.on('eth_getBalance', async (_params, forward) => {
      held.arrive()
      await held.wait
      return await forward()
    })
    const pending = h.rpc('eth_getBalance', [ADDRESS, 'latest'])
    await held.reached

    await h.write({ nodes: [{ id: b.id, url: b.url }] })
    const reloaded = await h.reload()
    expect(reloaded.body.changes).toEqual([{ kind: 'node-removed', chain: 'eth', nodeId: 'fronted' }])
    // The remaining node kept its state, cordon included: an operator's decision survives a reload.
    expect(nodeOf(h.proxy, b.id)?.status).toBe('cordoned')
    h.proxy.uncordon('eth', b.id)

    held.release()
    const answered = await pending
    expect(answered.status).toBe(200)
    expect(answered.node).toBe('fronted')
    expect(answered.body.result).toMatch(/^0x[0-9a-f]+$/)
    // Uncordoned, the node is admitted again by the next probe rounds, as usual.
    await waitFor(() => nodeOf(h.proxy, b.id)?.status === 'healthy', { timeoutMs: 20_000, what: `${b.id} admitted after uncordon` })
    expect((await h.rpc('eth_getBalance', [ADDRESS, 'latest'])).node).toBe(b.id)
  }, 60_000)

  test('an ejected node stays ejected through a reload, and is re-admitted once it catches up', async () => {
    const [a, b, c] = anvils
    const h = await startHarness('ejected', { nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) })
    await Promise.all([a!.mine(5), b!.mine(5)])
    await waitFor(() => nodeOf(h.proxy, c!.id)?.status === 'lagging', { timeoutMs: 20_000, what: `${c!.id} lagging` })
    const ejected = nodeOf(h.proxy, c!.id)!

    await h.write({ nodes: [{ id: a!.id, url: a!.url, weight: 3 }, { id: b!.id, url: b!.url }, { id: c!.id, url: c!.url }] })
    expect((await h.reload()).status).toBe(200)
    const after = nodeOf(h.proxy, c!.id)!
    expect(after.status).toBe('lagging')
    expect(after.since).toBe(ejected.since)
    expect(after.ejections).toBe(ejected.ejections)

    await c!.mine(5)
    await waitFor(() => nodeOf(h.proxy, c!.id)?.status === 'healthy', { timeoutMs: 20_000, what: `${c!.id} re-admitted` })
  }, 60_000)

  test('an invalid config is refused with all its problems, and the running one stays', async () => {
    const [a, b] = anvils
    const h = await startHarness('invalid', { nodes: [{ id: a!.id, url: a!.url }] })
    const running = h.proxy.config
    // Two schema problems in one file: both are listed.
    await writeFile(h.file, yaml(join(dir, 'invalid.sqlite'), { nodes: [{ id: a!.id, url: 'ftp://nowhere' }, { id: b!.id, url: b!.url, weight: -1 }] }))
    const refused = await h.reload()
    expect(refused.status).toBe(400)
    expect(refused.body.ok).toBe(false)
    expect(refused.body.problems).toHaveLength(2)
    expect(refused.body.problems.join('\n')).toMatch(/chains\.eth\.nodes\[0\]\.url/)
    expect(refused.body.problems.join('\n')).toMatch(/chains\.eth\.nodes\[1\]\.weight/)
    expect(h.proxy.config).toBe(running)

    // Valid by the schema, but the chain cannot be built: refused too, with the path.
    await writeFile(h.file, yaml(join(dir, 'invalid.sqlite'), { nodes: [{ id: a!.id, url: a!.url }] }).replace('    health:', '    verify: { methods: [eth_sendRawTransaction] }\n    health:'))
    const unbuildable = await h.reload()
    expect(unbuildable.status).toBe(400)
    expect(unbuildable.body.problems).toEqual([expect.stringMatching(/^chains\.eth\.verify\.methods\[0\]: "eth_sendRawTransaction" is not a read method/)])
    expect(h.proxy.config).toBe(running)
    expect(h.reloads).toEqual([])
    expect((await h.rpc('eth_getBalance', [ADDRESS, 'latest'])).status).toBe(200)
  }, 60_000)

  test('client keys and the log level apply at once; a new listen port waits for a restart; chains come and go', async () => {
    const [a, b] = anvils
    const h = await startHarness('settings', { nodes: [{ id: a!.id, url: a!.url }] })
    expect((await h.rpc('eth_getBalance', [ADDRESS, 'latest'])).status).toBe(200)
    const key = 'hot-wallet-key-0123456789abcdef0123'
    // An alert receiver that the new config adds.
    const alerts: string[] = []
    const receiver = createServer((incoming, response) => {
      let body = ''
      incoming.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      incoming.on('end', () => {
        alerts.push(body)
        response.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())))
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
    await h.write({
      nodes: [{ id: a!.id, url: a!.url }],
      port: 18545,
      logLevel: 'debug',
      extra: `clients:\n  - { name: hot-wallet, key: "${key}" }\nmetrics: { token: "m-token-0123456789abcdef" }\nalerts: { webhooks: [{ url: "${receiverUrl}" }] }`,
      extraChains: `  eth2:\n    family: evm\n    chainId: 31337\n    nodes:\n      - { id: solo, url: "${b!.url}" }`,
    })
    const reloaded = await h.reload()
    expect(reloaded.status).toBe(200)
    expect(reloaded.body.restartRequired).toEqual(['server.port'])
    expect(reloaded.body.changes).toEqual([
      { kind: 'chain-added', chain: 'eth2' },
      { kind: 'client-added', client: 'hot-wallet' },
      { kind: 'settings-changed', fields: ['log.level', 'metrics.token', 'alerts.webhooks'] },
    ])
    expect(h.proxy.config.server.port).toBe(8545)
    expect(h.app.log.level).toBe('debug')
    // The new receiver gets alerts from now on.
    h.proxy.events.emit('journal:health', { state: 'failed', detail: 'test: disk full', at: Date.now() })
    await waitFor(() => alerts.length === 1, { timeoutMs: 20_000, what: 'the alert at the new receiver' })
    expect(JSON.parse(alerts[0]!)).toMatchObject({ event: 'journal-failed' })
    // Keys are required from now on, on the running listener.
    expect((await h.rpc('eth_getBalance', [ADDRESS, 'latest'])).status).toBe(401)
    const withKey = await h.rpc('eth_getBalance', [ADDRESS, 'latest'], { authorization: `Bearer ${key}` }, 'eth2')
    expect(withKey).toMatchObject({ status: 200, node: 'solo' })
    expect((await request(`${h.baseUrl}/metrics`)).statusCode).toBe(401)
    // The added chain has its series from the start, like chains configured at start.
    const scrape = await (await request(`${h.baseUrl}/metrics`, { headers: { authorization: 'Bearer m-token-0123456789abcdef' } })).body.text()
    expect(scrape).toContain('switchyard_request_failovers_total{chain="eth2"} 0')
    expect(scrape).toMatch(/switchyard_node_height\{chain="eth2",node="solo"\} \d+/)

    // The timeline shows what changed, by name, without any URL.
    const timeline = (await (await request(`${h.baseUrl}/admin/api/timeline`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.json()) as { entries: Array<{ kind: string; text: string }> }
    const texts = timeline.entries.filter((entry) => entry.kind === 'config').map((entry) => entry.text)
    expect(texts).toEqual([
      'config reloaded: chain eth2 added',
      'config reloaded: client hot-wallet added',
      'config reloaded: log.level, metrics.token, alerts.webhooks changed',
      'config reloaded: server.port apply at the next restart',
    ])
    expect(JSON.stringify(timeline)).not.toContain('127.0.0.1')

    // The chain goes away again: its calls are refused as unknown.
    await h.write({ nodes: [{ id: a!.id, url: a!.url }], extra: `clients:\n  - { name: hot-wallet, key: "${key}" }`, extraChains: '' })
    const dropped = await h.reload()
    expect(dropped.body.changes).toContainEqual({ kind: 'chain-removed', chain: 'eth2' })
    const gone = await h.rpc('eth_getBalance', [ADDRESS, 'latest'], { authorization: `Bearer ${key}` }, 'eth2')
    expect(gone.body.error.data.code).toMatch(/^SY_(UNKNOWN_CHAIN|FORBIDDEN)/)
  }, 60_000)
})
