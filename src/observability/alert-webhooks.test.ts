/**
 * Alert webhooks against local HTTP receivers: payload shapes (json, slack), event filtering,
 * chain-unavailable on transitions only, retries with growing backoff, giving up without leaking
 * the webhook URL, the bounded queue and a bounded close. Node events come from a real proxy with
 * fake nodes driven by probe rounds, or are emitted on `proxy.events` where that is simpler.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'
import { MemoryJournal } from '../broadcast/broadcast-journal.js'
import type { AlertsConfig, ProxyConfigInput } from '../config/schema.js'
import { createProxy } from '../index.js'
import type { NodeStateEvent } from '../proxy-events.js'
import type { Proxy } from '../proxy.js'
import { type AlertDeliveryOutcome, type AlertWebhookOptions, type AlertWebhooks, retryDelayMs, startAlertWebhooks } from './alert-webhooks.js'

// ---- a local receiver ----

interface Received {
  body: any
  contentType: string | undefined
  path: string
  /** performance.now() when the request arrived */
  at: number
}

interface Receiver {
  url: string
  port: number
  received: Received[]
  /** Requests seen, including those answered with an error. */
  attempts: number
  close(): Promise<void>
}

/**
 * `statuses` answers the requests in order (the last one repeats); 'hang' never answers; a function
 * decides per request. Only 2xx answers count as received.
 */
async function startReceiver(statuses: Array<number | 'hang'> | ((attempt: number) => Promise<number> | number) = [200], path = '/hook'): Promise<Receiver> {
  const received: Received[] = []
  const hanging = new Set<ServerResponse>()
  let attempts = 0
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', async () => {
      const at = performance.now()
      attempts += 1
      const status = typeof statuses === 'function' ? await statuses(attempts) : (statuses[Math.min(attempts, statuses.length) - 1] ?? 200)
      if (status === 'hang') {
        hanging.add(response)
        response.on('close', () => hanging.delete(response))
        return
      }
      if (status >= 200 && status < 300) {
        received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), contentType: request.headers['content-type'], path: request.url ?? '', at })
      }
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    get attempts() {
      return attempts
    },
    close: async () => {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  receivers.push(receiver)
  return receiver
}

// ---- harness ----

let receivers: Receiver[] = []
let nodes: Array<FakeNode & { setHeight(height: number): void }> = []
let proxies: Proxy[] = []
let alerts: AlertWebhooks[] = []

afterEach(async () => {
  await Promise.all(alerts.map((running) => running.close()))
  await Promise.all(proxies.map((proxy) => proxy.close()))
  await Promise.all(nodes.map((node) => node.close()))
  await Promise.all(receivers.map((receiver) => receiver.close()))
  alerts = []
  proxies = []
  nodes = []
  receivers = []
})

function alertsConfig(webhooks: AlertsConfig['webhooks'], overrides: Partial<AlertsConfig> = {}): AlertsConfig {
  return { webhooks, maxAttempts: 3, retryBaseDelayMs: 20, retryMaxDelayMs: 1_000, timeoutMs: 2_000, ...overrides }
}

/** A proxy that is never started: its events are emitted by the test. */
function idleProxy(): Proxy {
  const proxy = createProxy(
    { log: { level: 'silent' }, chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'eth-a', url: 'http://127.0.0.1:9/' }, { id: 'eth-b', url: 'http://127.0.0.1:9/' }] } } },
    { journal: new MemoryJournal() },
  )
  proxies.push(proxy)
  return proxy
}

/** A proxy over two fake EVM nodes at height 100, one probe round done. */
async function fakeNodeProxy(): Promise<Proxy> {
  nodes = await Promise.all([startFakeNode({ chainId: 1, height: 100 }), startFakeNode({ chainId: 1, height: 100 })])
  const config: ProxyConfigInput = {
    log: { level: 'silent' },
    chains: {
      eth: {
        family: 'evm',
        chainId: 1,
        requestTimeoutMs: 500,
        health: { intervalMs: 60_000, timeoutMs: 500 },
        nodes: nodes.map((node, index) => ({ id: `n${index}`, url: node.url })),
      },
    },
  }
  const proxy = createProxy(config, { journal: new MemoryJournal() })
  proxies.push(proxy)
  await proxy.probe('eth')
  return proxy
}

interface Captured {
  logs: Array<{ level: 'warn' | 'error'; obj: object; msg: string }>
  outcomes: Array<{ webhook: string; outcome: AlertDeliveryOutcome }>
  delays: number[]
}

function start(proxy: Proxy, config: AlertsConfig, options: AlertWebhookOptions = {}): { running: AlertWebhooks; captured: Captured } {
  const captured: Captured = { logs: [], outcomes: [], delays: [] }
  const running = startAlertWebhooks(proxy, config, {
    log: {
      warn: (obj, msg) => captured.logs.push({ level: 'warn', obj, msg }),
      error: (obj, msg) => captured.logs.push({ level: 'error', obj, msg }),
    },
    metrics: { alertDelivery: (webhook, outcome) => captured.outcomes.push({ webhook, outcome }) },
    // Real waits (small delays in these tests), recorded so the backoff can be asserted exactly.
    sleep: (ms) => {
      captured.delays.push(ms)
      return new Promise((resolve) => setTimeout(resolve, ms))
    },
    ...options,
  })
  alerts.push(running)
  return { running, captured }
}

function nodeState(from: NodeStateEvent['from'], to: NodeStateEvent['to'], reason: string, nodeId = 'eth-b'): NodeStateEvent {
  return { chain: 'eth', nodeId, from, to, reason, at: Date.parse('2025-01-02T03:04:05.000Z') }
}

const probeRound = (routable: number, head = 120) => ({ chain: 'eth', head, routable, at: Date.now() })

describe('alert payloads', () => {
  test('json: a node ejected and re-admitted through real probe rounds', async () => {
    const receiver = await startReceiver()
    const proxy = await fakeNodeProxy()
    const { running, captured } = start(proxy, alertsConfig([{ url: receiver.url, format: 'json' }]))

    nodes[1]!.setHeight(105)
    await proxy.probe('eth') // n0: 5 blocks behind head 105
    await running.idle()
    expect(receiver.received.length).toBe(1)
    const [ejected] = receiver.received
    expect(ejected!.contentType).toBe('application/json')
    expect(ejected!.path).toBe('/hook')
    expect(ejected!.body).toEqual({
      event: 'node-ejected',
      chain: 'eth',
      nodeId: 'n0',
      from: 'healthy',
      to: 'lagging',
      reason: expect.stringContaining('5 blocks behind head 105'),
      summary: expect.stringMatching(/^switchyard: eth\/n0 ejected \(lagging\): 5 blocks behind head 105/),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })

    nodes[0]!.setHeight(105)
    await proxy.probe('eth')
    await proxy.probe('eth') // successesToRecover (2) good probes
    await running.idle()
    expect(receiver.received.map((entry) => entry.body.event)).toEqual(['node-ejected', 'node-readmitted'])
    expect(receiver.received[1]!.body).toMatchObject({ event: 'node-readmitted', chain: 'eth', nodeId: 'n0', from: 'lagging', to: 'healthy' })
    expect(captured.outcomes).toEqual([
      { webhook: 'webhook[0]', outcome: 'delivered' },
      { webhook: 'webhook[0]', outcome: 'delivered' },
    ])
    expect(captured.logs).toEqual([])
  })

  test('slack: { text } only, one line for people', async () => {
    const receiver = await startReceiver()
    const proxy = idleProxy()
    const { running } = start(proxy, alertsConfig([{ url: receiver.url, format: 'slack' }]))
    proxy.events.emit('node:state', nodeState('healthy', 'lagging', '5 blocks behind head 120'))
    proxy.events.emit('node:state', nodeState('starting', 'wrong-chain', 'eth_chainId 0x5 <> expected 0x1', 'eth-a'))
    proxy.events.emit('broadcast:dropped', { chain: 'eth', txid: '0xabc', detail: 'gone from every mempool for 600 s' })
    await running.idle()
    expect(receiver.received.map((entry) => entry.body)).toEqual([
      { text: 'switchyard: eth/eth-b ejected (lagging): 5 blocks behind head 120' },
      { text: 'switchyard: eth/eth-a serves the wrong chain: eth_chainId 0x5 &lt;&gt; expected 0x1' },
      { text: 'switchyard: eth tx 0xabc dropped: gone from every mempool for 600 s' },
    ])
    expect(receiver.received.every((entry) => entry.contentType === 'application/json')).toBe(true)
  })

  test('which node transitions alert: ejection, re-admission, wrong chain; not start-up, cordons or down after lagging', async () => {
    const receiver = await startReceiver()
    const proxy = idleProxy()
    const { running } = start(proxy, alertsConfig([{ url: receiver.url, format: 'json' }]))
    const transitions: Array<[NodeStateEvent['from'], NodeStateEvent['to']]> = [
      ['starting', 'healthy'], // start-up: nothing
      ['healthy', 'cordoned'], // operator: nothing
      ['cordoned', 'healthy'], // operator: nothing
      ['healthy', 'down'], // node-ejected
      ['down', 'healthy'], // node-readmitted
      ['healthy', 'syncing'], // node-ejected
      ['syncing', 'lagging'], // still out: nothing
      ['lagging', 'down'], // still out: nothing
      ['down', 'wrong-chain'], // wrong-chain
    ]
    for (const [from, to] of transitions) proxy.events.emit('node:state', nodeState(from, to, `${from} → ${to}`))
    await running.idle()
    expect(receiver.received.map((entry) => [entry.body.event, entry.body.from, entry.body.to])).toEqual([
      ['node-ejected', 'healthy', 'down'],
      ['node-readmitted', 'down', 'healthy'],
      ['node-ejected', 'healthy', 'syncing'],
      ['wrong-chain', 'down', 'wrong-chain'],
    ])
  })

  test('each webhook gets only the events it lists (default: all)', async () => {
    const conflictsOnly = await startReceiver()
    const everything = await startReceiver()
    const proxy = idleProxy()
    const { running } = start(
      proxy,
      alertsConfig([
        { url: conflictsOnly.url, format: 'json', events: ['broadcast-conflict'] },
        { url: everything.url, format: 'json' },
      ]),
    )
    proxy.events.emit('node:state', nodeState('healthy', 'lagging', '5 blocks behind head 120'))
    proxy.events.emit('broadcast:conflict', { chain: 'eth', txid: '0xdead', detail: 'nonce 7 used by 0xbeef' })
    proxy.events.emit('broadcast:dropped', { chain: 'eth', txid: '0xfeed', detail: 'gone' })
    proxy.events.emit('probe:complete', probeRound(0))
    // Events that are never alerts.
    proxy.events.emit('broadcast:accepted', { chain: 'eth', txid: '0x1', accepted: ['eth-a'], alreadyKnown: [] })
    proxy.events.emit('chain:head', { chain: 'eth', head: 121, previous: 120, at: Date.now() })
    await running.idle()
    expect(conflictsOnly.received.map((entry) => entry.body)).toEqual([
      {
        event: 'broadcast-conflict',
        chain: 'eth',
        txid: '0xdead',
        detail: 'nonce 7 used by 0xbeef',
        summary: 'switchyard: eth tx 0xdead conflicts with another transaction (possible double-spend): nonce 7 used by 0xbeef',
        at: expect.any(String),
      },
    ])
    expect(everything.received.map((entry) => entry.body.event)).toEqual(['node-ejected', 'broadcast-conflict', 'broadcast-dropped', 'chain-unavailable'])
  })
})

describe('trust alerts', () => {
  test('reorgs, unresolved forks and journal failures alert; resolved forks and journal recoveries do not', async () => {
    const receiver = await startReceiver()
    const proxy = idleProxy()
    const { running } = start(proxy, alertsConfig([{ url: receiver.url, format: 'json' }]))
    const at = Date.parse('2025-01-02T03:04:05.000Z')
    proxy.events.emit('chain:reorg', { chain: 'eth', height: 118, depth: 3, oldHash: '0xaaaa…1111', newHash: '0xbbbb…2222', at })
    proxy.events.emit('chain:fork', { chain: 'eth', height: 119, groups: [{ hash: '0xaaaa…1111', nodes: ['eth-a'] }, { hash: '0xbbbb…2222', nodes: ['eth-b'] }], resolved: true, at })
    proxy.events.emit('chain:fork', { chain: 'eth', height: 119, groups: [{ hash: '0xaaaa…1111', nodes: ['eth-a'] }, { hash: '0xbbbb…2222', nodes: ['eth-b'] }], resolved: false, at })
    proxy.events.emit('journal:health', { state: 'failed', detail: 'SQLITE_READONLY', txid: '0xfeed', chain: 'eth', at })
    proxy.events.emit('journal:health', { state: 'recovered', detail: 'writes work again', at })
    proxy.events.emit('node:state', nodeState('healthy', 'forked', 'block 119 is 0xbbbb…2222, the majority has 0xaaaa…1111'))
    await running.idle()
    expect(receiver.received.map((entry) => entry.body)).toEqual([
      {
        event: 'chain-reorg',
        chain: 'eth',
        height: 118,
        depth: 3,
        detail: 'block 118 changed from 0xaaaa…1111 to 0xbbbb…2222',
        summary: 'switchyard: eth reorg of depth 3 at height 118: block 118 changed from 0xaaaa…1111 to 0xbbbb…2222',
        at: '2025-01-02T03:04:05.000Z',
      },
      {
        event: 'chain-fork',
        chain: 'eth',
        height: 119,
        detail: '0xaaaa…1111: eth-a; 0xbbbb…2222: eth-b',
        summary: 'switchyard: eth nodes disagree about block 119 with no majority (0xaaaa…1111: eth-a; 0xbbbb…2222: eth-b); reads there need two agreeing nodes',
        at: '2025-01-02T03:04:05.000Z',
      },
      {
        event: 'journal-failed',
        chain: 'eth',
        txid: '0xfeed',
        detail: 'SQLITE_READONLY',
        summary: 'switchyard: the broadcast journal failed (SQLITE_READONLY); /readyz is 503 until it works; tx 0xfeed was sent but not journaled',
        at: '2025-01-02T03:04:05.000Z',
      },
      expect.objectContaining({ event: 'node-ejected', to: 'forked' }),
    ])
  })
})

describe('chain-unavailable', () => {
  test('alerts on the transition to no routable node only, and again after a recovery (real probe rounds)', async () => {
    const receiver = await startReceiver()
    const proxy = await fakeNodeProxy()
    const { running } = start(proxy, alertsConfig([{ url: receiver.url, format: 'json', events: ['chain-unavailable'] }]))
    const fail = (): void => {
      for (const node of nodes) for (const method of ['eth_chainId', 'eth_blockNumber', 'eth_syncing']) node.on(method, { status: 503 })
    }
    const heal = (): void => {
      for (const node of nodes) {
        node.on('eth_chainId', { result: '0x1' })
        node.on('eth_blockNumber', { result: '0x64' })
        node.on('eth_syncing', { result: false })
      }
    }
    const routable = (): number => proxy.snapshot().chains[0]!.routable

    await proxy.probe('eth')
    expect(routable()).toBe(2)
    fail()
    for (let round = 0; round < 3; round++) await proxy.probe('eth') // failuresToDown (3)
    expect(routable()).toBe(0)
    await proxy.probe('eth')
    await proxy.probe('eth') // still down: no new alert
    await running.idle()
    expect(receiver.received.length).toBe(1)
    expect(receiver.received[0]!.body).toEqual({
      event: 'chain-unavailable',
      chain: 'eth',
      reason: 'no routable node (head 100): n0 down, n1 down',
      summary: 'switchyard: eth has no routable node, requests fail closed (head 100): n0 down, n1 down',
      at: expect.any(String),
    })

    heal()
    await proxy.probe('eth')
    await proxy.probe('eth') // successesToRecover (2)
    expect(routable()).toBe(2)
    fail()
    for (let round = 0; round < 3; round++) await proxy.probe('eth')
    expect(routable()).toBe(0)
    await running.idle()
    expect(receiver.received.map((entry) => entry.body.event)).toEqual(['chain-unavailable', 'chain-unavailable'])
  })

  test('per chain, from emitted probe rounds', async () => {
    const receiver = await startReceiver()
    const proxy = idleProxy()
    const { running } = start(proxy, alertsConfig([{ url: receiver.url, format: 'slack', events: ['chain-unavailable'] }]))
    for (const routable of [2, 1, 0, 0, 0, 1, 0, 2]) proxy.events.emit('probe:complete', probeRound(routable))
    proxy.events.emit('probe:complete', { chain: 'btc', head: undefined, routable: 0, at: Date.now() })
    proxy.events.emit('probe:complete', { chain: 'btc', head: undefined, routable: 0, at: Date.now() })
    await running.idle()
    expect(receiver.received.map((entry) => entry.body.text)).toEqual([
      expect.stringMatching(/^switchyard: eth has no routable node, requests fail closed \(head 120\)/),
      expect.stringMatching(/^switchyard: eth has no routable node/),
      'switchyard: btc has no routable node, requests fail closed (head unknown): no nodes',
    ])
  })
})

describe('delivery', () => {
  test('500, 500, then 200: delivered once after 3 attempts, with growing backoff and jitter', async () => {
    const receiver = await startReceiver([500, 500, 200])
    const proxy = idleProxy()
    const times: number[] = []
    const { running, captured } = start(proxy, alertsConfig([{ url: receiver.url, format: 'json' }], { maxAttempts: 5, retryBaseDelayMs: 20 }), {
      random: () => 0.4,
      fetch: async (input, init) => {
        times.push(performance.now())
        return fetch(input, init)
      },
    })
    proxy.events.emit('node:state', nodeState('healthy', 'lagging', '5 blocks behind head 120'))
    await running.idle()

    expect(receiver.attempts).toBe(3)
    expect(receiver.received.length).toBe(1)
    expect(receiver.received[0]!.body.event).toBe('node-ejected')
    // base × 2^(attempt−1) plus 25 % × random of it: 20 + 2, 40 + 4.
    expect(captured.delays).toEqual([22, 44])
    expect(times.length).toBe(3)
    const gaps = [times[1]! - times[0]!, times[2]! - times[1]!]
    expect(gaps[0]).toBeGreaterThanOrEqual(22 - 2)
    expect(gaps[1]).toBeGreaterThanOrEqual(44 - 2)
    expect(captured.outcomes).toEqual([{ webhook: 'webhook[0]', outcome: 'delivered' }])
    expect(captured.logs.map(({ level, msg, obj }) => ({ level, msg, obj }))).toEqual([
      { level: 'warn', msg: 'alert delivery failed: will retry', obj: expect.objectContaining({ webhook: 'webhook[0]', attempt: 1, error: 'HTTP 500', retryInMs: 22 }) },
      { level: 'warn', msg: 'alert delivery failed: will retry', obj: expect.objectContaining({ webhook: 'webhook[0]', attempt: 2, error: 'HTTP 500', retryInMs: 44 }) },
    ])
  })

  test('backoff doubles up to retryMaxDelayMs, jitter on top', () => {
    const config = { retryBaseDelayMs: 500, retryMaxDelayMs: 30_000 }
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => retryDelayMs(attempt, config, () => 0))).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
    expect(retryDelayMs(8, config, () => 0.999)).toBeLessThanOrEqual(30_000 * 1.25)
    expect(retryDelayMs(1, config, () => 0.5)).toBe(563)
  })

  test('a receiver that never succeeds: gives up after maxAttempts, logs and counts it, never names the URL', async () => {
    const receiver = await startReceiver([503], '/services/T000/B000/SECRET-TOKEN-123')
    const proxy = idleProxy()
    const { running, captured } = start(proxy, alertsConfig([{ url: receiver.url, format: 'slack' }], { maxAttempts: 3, retryBaseDelayMs: 5 }), { random: () => 0 })
    proxy.events.emit('node:state', nodeState('healthy', 'down', '3 consecutive failures'))
    await running.idle()
    expect(receiver.attempts).toBe(3)
    expect(receiver.received).toEqual([])
    expect(captured.delays).toEqual([5, 10])
    expect(captured.outcomes).toEqual([{ webhook: 'webhook[0]', outcome: 'failed' }])
    const last = captured.logs.at(-1)!
    expect(last).toEqual({ level: 'error', msg: 'alert delivery failed: giving up', obj: expect.objectContaining({ webhook: 'webhook[0]', event: 'node-ejected', attempts: 3, error: 'HTTP 503' }) })
    const logged = JSON.stringify(captured.logs)
    for (const secret of ['SECRET-TOKEN-123', 'services', '127.0.0.1', String(receiver.port), 'http://']) expect(logged).not.toContain(secret)
  })

  test('network errors and timeouts are retried and described without the URL', async () => {
    const gone = await startReceiver()
    const goneUrl = `${gone.url}?token=SECRET-TOKEN-456`
    await gone.close()
    receivers = receivers.filter((receiver) => receiver !== gone)
    const hanging = await startReceiver(['hang'], '/hook/SECRET-TOKEN-789')
    const proxy = idleProxy()
    const { running, captured } = start(
      proxy,
      alertsConfig(
        [
          { url: goneUrl, format: 'json' },
          { url: hanging.url, format: 'json' },
        ],
        { maxAttempts: 2, retryBaseDelayMs: 5, timeoutMs: 100 },
      ),
      { random: () => 0 },
    )
    proxy.events.emit('broadcast:dropped', { chain: 'eth', txid: '0xabc', detail: 'gone' })
    await running.idle()
    expect(hanging.attempts).toBe(2)
    const gaveUp = captured.logs.filter((entry) => entry.level === 'error').map((entry) => entry.obj as { webhook: string; error: string })
    expect(gaveUp.map(({ webhook, error }) => ({ webhook, error })).sort((a, b) => a.webhook.localeCompare(b.webhook))).toEqual([
      { webhook: 'webhook[0]', error: 'network error (ECONNREFUSED)' },
      { webhook: 'webhook[1]', error: 'timeout after 100 ms' },
    ])
    const logged = JSON.stringify(captured.logs)
    for (const secret of ['SECRET-TOKEN', '127.0.0.1', String(gone.port), String(hanging.port)]) expect(logged).not.toContain(secret)
  })

  test('the queue is bounded: the oldest waiting alert is dropped, with a log line and a count', async () => {
    let release: (() => void) | undefined
    const released = new Promise<void>((resolve) => (release = resolve))
    let firstArrived: (() => void) | undefined
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve))
    const receiver = await startReceiver(async (attempt) => {
      if (attempt === 1) {
        firstArrived?.()
        await released
      }
      return 200
    })
    const proxy = idleProxy()
    const { running, captured } = start(proxy, alertsConfig([{ url: receiver.url, format: 'json' }]), { queueLimit: 2 })
    const emitDrop = (n: number): void => {
      proxy.events.emit('broadcast:dropped', { chain: 'eth', txid: `0x${n}`, detail: `alert ${n}` })
    }
    emitDrop(1)
    await arrived // alert 1 is in flight; the next ones wait in the queue
    const started = performance.now()
    for (let n = 2; n <= 5; n++) emitDrop(n)
    // Emitting never waits for delivery.
    expect(performance.now() - started).toBeLessThan(1_000)
    release?.()
    await running.idle()
    expect(receiver.received.map((entry) => entry.body.txid)).toEqual(['0x1', '0x4', '0x5'])
    expect(captured.outcomes.filter((entry) => entry.outcome === 'dropped').length).toBe(2)
    expect(captured.outcomes.filter((entry) => entry.outcome === 'delivered').length).toBe(3)
    expect(captured.logs.filter((entry) => entry.msg === 'alert queue full: dropped the oldest alert').map((entry) => entry.obj)).toEqual([
      { webhook: 'webhook[0]', event: 'broadcast-dropped', chain: 'eth', queueLimit: 2 },
      { webhook: 'webhook[0]', event: 'broadcast-dropped', chain: 'eth', queueLimit: 2 },
    ])
  })

  test('close() stops listening and returns within its bound even when a receiver hangs', async () => {
    const receiver = await startReceiver(['hang'])
    const proxy = idleProxy()
    const listenersBefore = proxy.events.listenerCount('node:state')
    const { running, captured } = start(proxy, alertsConfig([{ url: receiver.url, format: 'json' }], { timeoutMs: 10_000 }), { closeTimeoutMs: 50 })
    expect(proxy.events.listenerCount('node:state')).toBe(listenersBefore + 1)
    proxy.events.emit('node:state', nodeState('healthy', 'lagging', 'a'))
    proxy.events.emit('node:state', nodeState('healthy', 'down', 'b', 'eth-a'))
    const started = performance.now()
    await running.close()
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(proxy.events.listenerCount('node:state')).toBe(listenersBefore)
    expect(proxy.events.listenerCount('probe:complete')).toBe(0)
    // After close, events are ignored.
    proxy.events.emit('node:state', nodeState('healthy', 'lagging', 'c'))
    await running.idle()
    expect(receiver.received).toEqual([])
    expect(captured.outcomes.map((entry) => entry.outcome).sort()).toEqual(['dropped', 'failed'])
    expect(captured.logs.at(-1)).toEqual({ level: 'warn', msg: 'alert webhooks closed with deliveries pending: abandoned them', obj: { queued: 1, closeTimeoutMs: 50 } })
  })
})
