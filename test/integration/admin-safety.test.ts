/**
 * The admin API behind a reverse proxy and against browsers: the access decision (table), Host
 * names (DNS rebinding), forwarding headers and trustProxy, cross-origin and non-JSON actions,
 * the failed-login throttle, metrics.token (scraped by a real Prometheus), event-stream caps and
 * one snapshot serialisation per tick for all streams, and the config that refuses to start.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { type Server, type ServerResponse, createServer } from 'node:http'
import { type AddressInfo, type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, test } from 'vitest'
import { ConfigError, createProxy } from '../../src/index.js'
import { parseConfig } from '../support/parse-test-config.js'
import type { ProxyConfigInput } from '../../src/config/schema.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type Metrics, createMetrics } from '../../src/observability/metrics.js'
import type { Proxy } from '../../src/proxy.js'
import { type AdminRequestFacts, decideAdminRequest } from '../../src/server/admin-guard.js'
import { buildApp } from '../../src/server/build-app.js'
import { clientKey, isLocalClient } from '../../src/server/client-address.js'
import { EventStreams } from '../../src/server/event-streams.js'
import { type ThrottlePolicy, afterFailure, refilled, waitMs } from '../../src/server/login-throttle.js'
import { crossOrigin, hostAllowed, isJsonContentType } from '../../src/server/request-origin.js'
import { ManualClock } from '../../src/util/clock.js'
import { recordFigure } from '../support/figures.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'

const TOKEN = 'admin-safety-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }
const json = { 'content-type': 'application/json' }

interface Harness {
  proxy: Proxy
  app: FastifyInstance
  metrics: Metrics
  clock: ManualClock
  baseUrl: string
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function fakeNodes(count: number): Promise<FakeNode[]> {
  const nodes = await Promise.all(Array.from({ length: count }, () => startFakeNode({ chainId: 1, height: 100 })))
  cleanups.push(async () => {
    await Promise.all(nodes.map((node) => node.close()))
  })
  return nodes
}

async function harness(config: Omit<ProxyConfigInput, 'chains'> & { chains?: ProxyConfigInput['chains'] }, options: { listen?: boolean; streamIntervalMs?: number } = {}): Promise<Harness> {
  const chains = config.chains ?? {
    eth: { family: 'evm', chainId: 1, health: { intervalMs: 60_000 }, nodes: (await fakeNodes(2)).map((node, index) => ({ id: `n${index}`, url: node.url })) },
  }
  const proxy = createProxy({ journal: { path: ':memory:' }, log: { level: 'silent' }, ...config, chains })
  if (config.chains === undefined) await proxy.start()
  const metrics = createMetrics(proxy)
  const clock = new ManualClock()
  const app = buildApp(proxy, { logger: false, metrics, clock, historyIntervalMs: 3_600_000, streamIntervalMs: options.streamIntervalMs })
  cleanups.push(async () => {
    await app.close()
    metrics.close()
    await proxy.close()
  })
  const baseUrl = options.listen === true ? await app.listen({ host: '127.0.0.1', port: 0 }) : ''
  return { proxy, app, metrics, clock, baseUrl }
}

/** The value of `switchyard_admin_refusals_total{reason}` now. */
async function refusals(metrics: Metrics, reason: string): Promise<number> {
  const line = (await metrics.render()).split('\n').find((text) => text.startsWith(`switchyard_admin_refusals_total{reason="${reason}"}`))
  return Number(line?.split(' ').at(-1))
}

const statusOf = (proxy: Proxy, id: string): string => proxy.snapshot().chains[0]!.nodes.find((node) => node.id === id)!.status

describe('the access decision', () => {
  const base: AdminRequestFacts = { action: false, hostAllowed: true, crossOrigin: false, json: false, tokenConfigured: true, token: 'right', retryAfterMs: 0, localClient: false }
  test.each<[string, Partial<AdminRequestFacts>, number | 'allow', string?]>([
    ['read with the right token', {}, 'allow'],
    ['foreign Host, even with the right token', { hostAllowed: false }, 403, 'host'],
    ['foreign Host, no token configured, loopback', { hostAllowed: false, tokenConfigured: false, token: 'missing', localClient: true }, 403, 'host'],
    ['action from another origin, right token, JSON', { action: true, crossOrigin: true, json: true }, 403, 'cross-origin'],
    ['action from another origin with a wrong token: refused as cross-origin, not a failed login', { action: true, crossOrigin: true, token: 'wrong' }, 403, 'cross-origin'],
    ['read from another origin (refused though the page could not read it)', { crossOrigin: true }, 403, 'cross-origin'],
    ['address out of budget: 429 whatever the token', { retryAfterMs: 5_001 }, 429, 'throttled'],
    ['no token', { token: 'missing' }, 401, 'token-missing'],
    ['wrong token', { token: 'wrong' }, 401, 'token-wrong'],
    ['action, JSON, right token', { action: true, json: true }, 'allow'],
    ['action, not JSON, right token', { action: true }, 415, 'content-type'],
    ['no token configured: loopback read', { tokenConfigured: false, token: 'missing', localClient: true }, 'allow'],
    ['no token configured: remote read', { tokenConfigured: false, token: 'missing' }, 403, 'remote-address'],
    ['no token configured: loopback action', { tokenConfigured: false, token: 'missing', localClient: true, action: true, json: true }, 403, 'actions-disabled'],
    ['no token configured: nothing to throttle', { tokenConfigured: false, token: 'missing', localClient: true, retryAfterMs: 5_000 }, 'allow'],
  ])('%s', (_name, facts, status, reason) => {
    const decision = decideAdminRequest({ ...base, ...facts })
    if (status === 'allow') return expect(decision).toEqual({ allow: true })
    expect(decision).toMatchObject({ allow: false, status, reason, failedLogin: reason === 'token-wrong' })
    if (status === 429) expect(decision).toMatchObject({ retryAfterS: 6 })
    return undefined
  })
})

describe('request facts', () => {
  test.each<[string | undefined, string[], string, boolean]>([
    ['127.0.0.1:8545', [], '127.0.0.1', true],
    ['localhost:8545', [], '127.0.0.1', true],
    ['LOCALHOST.', [], '127.0.0.1', true],
    ['[::1]:8545', [], '127.0.0.1', true],
    ['10.1.2.3:8545', [], '127.0.0.1', true],
    ['attacker.example:8545', [], '127.0.0.1', false],
    ['127.0.0.1.attacker.example', [], '127.0.0.1', false],
    ['Ops.Example:8545', ['ops.example'], '127.0.0.1', true],
    ['switchyard.internal', [], 'switchyard.internal', true],
    ['[not-an-address]', [], '127.0.0.1', false],
    ['', [], '127.0.0.1', false],
    [undefined, [], '127.0.0.1', false],
  ])('hostAllowed(%s, names %j, listen %s) → %s', (host, names, listen, expected) => expect(hostAllowed(host, names, listen)).toBe(expected))

  test.each<[{ secFetchSite?: string; origin?: string; host?: string }, boolean]>([
    [{ host: '127.0.0.1:8545' }, false],
    [{ secFetchSite: 'same-origin', host: '127.0.0.1:8545' }, false],
    [{ secFetchSite: 'none', host: '127.0.0.1:8545' }, false],
    [{ secFetchSite: 'same-site', host: '127.0.0.1:8545' }, true],
    [{ secFetchSite: 'cross-site', host: '127.0.0.1:8545' }, true],
    [{ origin: 'http://127.0.0.1:9999', host: '127.0.0.1:8545' }, true],
    [{ origin: 'http://127.0.0.1:8545', host: '127.0.0.1:8545' }, false],
    [{ origin: 'https://ops.example', host: 'ops.example' }, false],
    [{ origin: 'https://ops.example', host: 'ops.example:443' }, false],
    [{ origin: 'http://ops.example:8080', host: 'ops.example' }, true],
    [{ origin: 'null', host: '127.0.0.1:8545' }, true],
    // The browser's own verdict wins: behind a proxy that rewrites Host, Origin cannot match it.
    [{ secFetchSite: 'same-origin', origin: 'https://ops.example', host: '127.0.0.1:8545' }, false],
    [{ secFetchSite: 'cross-site', origin: 'http://127.0.0.1:8545', host: '127.0.0.1:8545' }, true],
  ])('crossOrigin(%j) → %s', (headers, expected) => expect(crossOrigin(headers)).toBe(expected))

  test.each<[string | undefined, boolean]>([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON', true],
    ['text/plain', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
    [undefined, false],
  ])('isJsonContentType(%s) → %s', (type, expected) => expect(isJsonContentType(type)).toBe(expected))

  test.each<[string, Record<string, string>, boolean]>([
    ['127.0.0.1', {}, true],
    ['::ffff:127.0.0.1', {}, true],
    ['127.0.0.1', { 'x-forwarded-for': '203.0.113.5' }, false],
    ['127.0.0.1', { forwarded: 'for=203.0.113.5' }, false],
    ['127.0.0.1', { 'x-real-ip': '203.0.113.5' }, false],
    ['203.0.113.5', {}, false],
  ])('isLocalClient(%s, %j) → %s', (address, headers, expected) => expect(isLocalClient(address, headers)).toBe(expected))

  test.each<[string, string]>([
    ['203.0.113.5', '203.0.113.5'],
    ['::ffff:203.0.113.5', '203.0.113.5'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('clientKey(%s) → %s', (address, key) => expect(clientKey(address)).toBe(key))

  test('the failed-login bucket: burst, refill, cap', () => {
    const policy: ThrottlePolicy = { burst: 3, refillIntervalMs: 1_000 }
    let bucket = refilled(undefined, 0, policy)
    expect(bucket).toEqual({ tokens: 3, atMs: 0 })
    for (let i = 0; i < 3; i++) bucket = afterFailure(refilled(bucket, 0, policy))
    expect(waitMs(bucket, policy)).toBe(1_000)
    expect(waitMs(refilled(bucket, 400, policy), policy)).toBe(600)
    expect(waitMs(refilled(bucket, 1_000, policy), policy)).toBe(0)
    expect(refilled(bucket, 60_000, policy).tokens).toBe(3)
    expect(afterFailure({ tokens: 0, atMs: 5 })).toEqual({ tokens: 0, atMs: 5 })
  })
})

describe('config', () => {
  const chains = { eth: { family: 'evm' as const, chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:9/' }] } }
  const problems = (input: unknown): string[] => {
    try {
      parseConfig(input)
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems]
      throw error
    }
    return []
  }

  test('a token is required beyond loopback or behind a trusted proxy, listed with every other problem', () => {
    expect(problems({ chains })).toEqual([])
    expect(problems({ server: { host: '::1' }, chains })).toEqual([])
    expect(problems({ server: { host: '0.0.0.0' }, chains })).toEqual(['admin.token: required when server.host is not loopback (0.0.0.0): set it, e.g. "${SWITCHYARD_ADMIN_TOKEN}"'])
    expect(problems({ server: { trustProxy: ['loopback'] }, chains })).toEqual(['admin.token: required when server.trustProxy is set: set it, e.g. "${SWITCHYARD_ADMIN_TOKEN}"'])
    expect(problems({ server: { host: '0.0.0.0', trustProxy: ['10.0.0.0/8'] }, admin: { token: TOKEN }, chains })).toEqual([])
    // Other problems in the same file come with it.
    expect(problems({ server: { host: '0.0.0.0', port: -1 }, chains })).toEqual([expect.stringMatching(/^server\.port: /), expect.stringMatching(/^admin\.token: required/)])
  })

  test.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['10.0.0.0/8', true],
    ['fd00::/8', true],
    ['::1', true],
    ['loopback', true],
    ['uniquelocal', true],
    ['10.0.0.0/33', false],
    ['10.0.0/8', false],
    ['proxy.example', false],
  ])('server.trustProxy entry %s valid: %s', (entry, valid) => {
    const found = problems({ server: { trustProxy: [entry] }, admin: { token: TOKEN }, chains })
    expect(found.length === 0).toBe(valid)
  })

  test('server.names must be host names without port; lowercased', () => {
    expect(problems({ server: { names: ['ops.example:8545'] }, chains })).toEqual([expect.stringMatching(/^server\.names\[0\]: must be a host name/)])
    expect(parseConfig({ server: { names: ['Ops.Example'] }, chains }).server.names).toEqual(['ops.example'])
  })

  test('the CLI refuses to start on 0.0.0.0 without admin.token, with a clear config error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-admin-'))
    const file = join(dir, 'config.yaml')
    await writeFile(file, 'server: { host: 0.0.0.0, port: 0 }\nlog: { level: silent }\njournal: { path: ":memory:" }\nchains:\n  eth: { family: evm, chainId: 1, nodes: [ { id: a, url: "http://127.0.0.1:9/" } ] }\n')
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(2)
    expect(stderr).toContain(`invalid config ${file}`)
    expect(stderr).toContain('admin.token: required when server.host is not loopback (0.0.0.0)')
  }, 60_000)
})

describe('behind a same-host reverse proxy', () => {
  test('without trustProxy and token, a forwarded request is never a loopback client', async () => {
    const { app, metrics } = await harness({})
    expect((await app.inject({ method: 'GET', url: '/admin/api/chains', remoteAddress: '127.0.0.1' })).statusCode).toBe(200)
    for (const headers of [{ 'x-forwarded-for': '203.0.113.5' }, { forwarded: 'for=203.0.113.5' }, { 'x-real-ip': '203.0.113.5' }]) {
      const response = await app.inject({ method: 'GET', url: '/admin/api/chains', remoteAddress: '127.0.0.1', headers })
      expect(response.statusCode, JSON.stringify(headers)).toBe(403)
      expect(response.body).not.toContain('"nodes"')
    }
    expect(await refusals(metrics, 'remote-address')).toBe(3)
  })

  test('with trustProxy, the client is the forwarded address through trusted proxies only', async () => {
    const { app, clock } = await harness({ server: { trustProxy: ['127.0.0.1'] }, admin: { token: TOKEN, loginAttempts: { burst: 3, refillIntervalMs: 10_000 } } })
    const get = (remoteAddress: string, forwardedFor: string | undefined, token: string) =>
      app.inject({ method: 'GET', url: '/admin/api/chains', remoteAddress, headers: { authorization: `Bearer ${token}`, ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) } })
    // Three wrong tokens from 203.0.113.5 (through the proxy) spend its budget, not the proxy's.
    for (let i = 0; i < 3; i++) expect((await get('127.0.0.1', '203.0.113.5', 'wrong-token-xxxxxxxxxxxx')).statusCode).toBe(401)
    const throttled = await get('127.0.0.1', '203.0.113.5', TOKEN)
    expect(throttled.statusCode).toBe(429)
    expect(throttled.headers['retry-after']).toBe('10')
    expect((await get('127.0.0.1', '203.0.113.6', TOKEN)).statusCode).toBe(200)
    // A client that is not a trusted proxy cannot pick its address with X-Forwarded-For: its
    // wrong tokens count against its own socket address.
    for (let i = 0; i < 3; i++) expect((await get('198.51.100.7', '203.0.113.6', 'wrong-token-xxxxxxxxxxxx')).statusCode).toBe(401)
    expect((await get('198.51.100.7', '203.0.113.9', TOKEN)).statusCode).toBe(429)
    expect((await get('127.0.0.1', '203.0.113.6', TOKEN)).statusCode).toBe(200)
    // A spoofed first hop before the proxy's own entry: the proxy appended the real client last.
    expect((await get('127.0.0.1', '203.0.113.6, 203.0.113.5', TOKEN)).statusCode).toBe(429)
    clock.advance(10_000)
    expect((await get('127.0.0.1', '203.0.113.5', TOKEN)).statusCode).toBe(200)
  })
})

describe('DNS rebinding: the Host header', () => {
  test('a foreign Host is refused, reads included, token or not; configured names and IP literals pass', async () => {
    const open = await harness({ server: { names: ['ops.example'] } })
    const read = (target: Harness, host: string, headers: Record<string, string> = {}) =>
      target.app.inject({ method: 'GET', url: '/admin/api/chains', remoteAddress: '127.0.0.1', headers: { host, ...headers } })
    const refused = await read(open, 'attacker.example:8545')
    expect(refused.statusCode).toBe(403)
    expect(refused.body).not.toContain('"nodes"')
    for (const host of ['ops.example:8545', '127.0.0.1:8545', 'localhost:8545', '[::1]:8545']) expect((await read(open, host)).statusCode, host).toBe(200)
    expect(await refusals(open.metrics, 'host')).toBe(1)

    const locked = await harness({ admin: { token: TOKEN } })
    expect((await read(locked, 'attacker.example:8545', auth)).statusCode).toBe(403)
    expect((await read(locked, '127.0.0.1:8545', auth)).statusCode).toBe(200)
  })
})

describe('actions need JSON from the same origin', () => {
  test('text/plain, form and no-content-type posts, other origins and same-site pages are refused; nothing changes', async () => {
    const { app, proxy, metrics } = await harness({ admin: { token: TOKEN } })
    const cordon = (headers: Record<string, string>, payload = '{"reason":"x"}') =>
      app.inject({ method: 'POST', url: '/admin/api/nodes/eth/n0/cordon', remoteAddress: '127.0.0.1', headers: { host: '127.0.0.1:8545', ...auth, ...headers }, payload })
    expect((await cordon({ 'content-type': 'text/plain' })).statusCode).toBe(415)
    expect((await cordon({ 'content-type': 'application/x-www-form-urlencoded' }, 'reason=x')).statusCode).toBe(415)
    expect((await cordon({})).statusCode).toBe(415)
    expect((await app.inject({ method: 'POST', url: '/admin/api/chains/eth/probe', headers: auth })).statusCode).toBe(415)
    for (const headers of [
      { ...json, 'sec-fetch-site': 'cross-site' },
      { ...json, 'sec-fetch-site': 'same-site' },
      { ...json, origin: 'http://127.0.0.1:9999' },
      { ...json, origin: 'null' },
    ]) {
      const response = await cordon(headers)
      expect(response.statusCode, JSON.stringify(headers)).toBe(403)
    }
    expect(statusOf(proxy, 'n0')).toBe('healthy')
    expect(await refusals(metrics, 'content-type')).toBe(4)
    expect(await refusals(metrics, 'cross-origin')).toBe(4)
    // No CORS preflight is ever granted.
    const preflight = await app.inject({ method: 'OPTIONS', url: '/admin/api/nodes/eth/n0/cordon', headers: { origin: 'http://127.0.0.1:9999', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
    // The dashboard's own request: same origin, JSON, token.
    expect((await cordon({ ...json, 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:8545' })).json()).toEqual({ ok: true })
    expect(statusOf(proxy, 'n0')).toBe('cordoned')
  })
})

describe('failed logins', () => {
  test('4,000 wrong tokens from one address: the first `burst` get 401, the rest 429 with Retry-After; other addresses unaffected', async () => {
    const { app, clock, metrics } = await harness({ admin: { token: TOKEN } })
    const attempt = (remoteAddress: string, token: string) => app.inject({ method: 'GET', url: '/admin/api/chains', remoteAddress, headers: { authorization: `Bearer ${token}` } })
    const statuses = new Map<number, number>()
    const started = performance.now()
    for (let batch = 0; batch < 40; batch++) {
      const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt('203.0.113.5', `wrong-token-${batch}-${i}-xxxxxxxx`)))
      for (const response of responses) statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
    }
    const elapsedMs = performance.now() - started
    expect(Object.fromEntries(statuses)).toEqual({ 401: 10, 429: 3_990 })
    const blocked = await attempt('203.0.113.5', TOKEN)
    expect(blocked.statusCode).toBe(429)
    expect(blocked.headers['retry-after']).toBe('6')
    expect(blocked.json()).toEqual({ error: 'too many wrong tokens from this address; retry later' })
    expect((await attempt('203.0.113.6', TOKEN)).statusCode).toBe(200)
    expect(await refusals(metrics, 'token-wrong')).toBe(10)
    expect(await refusals(metrics, 'throttled')).toBe(3_991)
    // One more attempt per refill interval.
    clock.advance(6_000)
    expect((await attempt('203.0.113.5', 'wrong-again-xxxxxxxxxxxx')).statusCode).toBe(401)
    expect((await attempt('203.0.113.5', TOKEN)).statusCode).toBe(429)
    clock.advance(6_000)
    expect((await attempt('203.0.113.5', TOKEN)).statusCode).toBe(200)
    recordFigure('admin.wrongTokens.sent', 4_000)
    recordFigure('admin.wrongTokens.answered401', statuses.get(401) ?? 0)
    recordFigure('admin.wrongTokens.answered429', statuses.get(429) ?? 0)
    recordFigure('admin.wrongTokens.elapsedMs', Math.round(elapsedMs))
  })
})

describe('metrics.token', () => {
  test('/metrics needs its own token; wrong ones are throttled; a real Prometheus scrapes with it', async () => {
    const METRICS_TOKEN = 'metrics-token-0123456789abc'
    const { baseUrl, metrics } = await harness({ metrics: { token: METRICS_TOKEN }, admin: { token: TOKEN, loginAttempts: { burst: 2, refillIntervalMs: 60_000 } } }, { listen: true })
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(401)
    // The admin token is not the metrics token.
    expect((await fetch(`${baseUrl}/metrics`, { headers: auth })).status).toBe(401)
    const ok = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('switchyard_admin_refusals_total{reason="metrics-token"} 2')
    expect((await fetch(`${baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong-metrics-token-xxxxx' } })).status).toBe(401)
    // Two wrong tokens (the admin one and this one): the budget of 2 is spent.
    const throttled = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(throttled.status).toBe(429)
    expect(throttled.headers.get('retry-after')).toBe('60')
    expect(await refusals(metrics, 'throttled')).toBe(1)
  })

  test('Prometheus scrapes /metrics with `authorization: { credentials }`', async () => {
    const METRICS_TOKEN = 'metrics-token-0123456789abc'
    const { baseUrl } = await harness({ metrics: { token: METRICS_TOKEN } }, { listen: true })
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-prometheus-'))
    const port = await freePort()
    await writeFile(join(dir, 'token'), METRICS_TOKEN)
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: switchyard\n    authorization: { credentials_file: ${join(dir, 'token')} }\n    static_configs: [ { targets: ["${new URL(baseUrl).host}"] } ]\n`,
    )
    const prometheus = spawn('/usr/bin/prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' })
    const exited = new Promise((resolve) => prometheus.once('exit', resolve))
    try {
      const targets = await waitFor(
        async () => {
          const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string }> } }
          const target = body.data.activeTargets[0]
          return target !== undefined && target.health !== 'unknown' ? body.data.activeTargets : undefined
        },
        { timeoutMs: 30_000, everyMs: 250, what: 'a scrape' },
      )
      expect(targets).toEqual([expect.objectContaining({ health: 'up', lastError: '' })])
    } finally {
      prometheus.kill('SIGTERM')
      await exited
    }
  }, 60_000)
})

/** Opens `GET /admin/api/events` on a raw socket that reads and discards; resolves with the status line. */
async function openStream(baseUrl: string, headers: Record<string, string>): Promise<{ status: number; socket: Socket; received: () => number }> {
  const { hostname, port } = new URL(baseUrl)
  const socket = connect(Number(port), hostname)
  let received = 0
  let head = ''
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (!head.includes('\r\n')) {
        head += chunk.toString('latin1')
        const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]
        if (status !== undefined) resolve({ status: Number(status), socket, received: () => received })
      }
    })
    const lines = Object.entries({ host: `${hostname}:${port}`, ...headers }).map(([name, value]) => `${name}: ${value}`)
    socket.write(`GET /admin/api/events HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`)
  })
}

describe('event streams', () => {
  test('capped per client (429) and in total (503), counted; a closed stream frees its slot', async () => {
    const { baseUrl, metrics } = await harness({ server: { trustProxy: ['loopback'] }, admin: { token: TOKEN, maxStreams: 3, maxStreamsPerClient: 2 } }, { listen: true })
    const sockets: Socket[] = []
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy()
    })
    const open = async (client: string) => {
      const stream = await openStream(baseUrl, { ...auth, 'x-forwarded-for': client })
      sockets.push(stream.socket)
      return stream
    }
    const [a1, a2] = [await open('203.0.113.1'), await open('203.0.113.1')]
    expect([a1.status, a2.status]).toEqual([200, 200])
    expect((await open('203.0.113.1')).status).toBe(429)
    expect((await open('203.0.113.2')).status).toBe(200)
    expect((await open('203.0.113.3')).status).toBe(503)
    expect(await refusals(metrics, 'stream-limit')).toBe(2)
    a1.socket.destroy()
    await waitFor(async () => (await open('203.0.113.3')).status === 200, { what: 'a freed stream slot' })
  })

  test('one snapshot serialisation per tick for all streams, each stream gets the same bytes', async () => {
    let snapshots = 0
    const proxy = {
      snapshot: () => {
        snapshots += 1
        return { chains: [], tick: snapshots }
      },
    }
    const listeners = new Set<(entry: unknown) => void>()
    const timeline = {
      subscribe: (listener: (entry: unknown) => void) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    }
    const hub = new EventStreams(proxy as never, timeline as never, { intervalMs: 3_600_000, limits: () => ({ maxStreams: 100, maxStreamsPerClient: 100 }) })
    const server: Server = createServer((_request, response: ServerResponse) => hub.open(response, '127.0.0.1', {}))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      hub.close()
      await new Promise((resolve) => server.close(resolve))
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const STREAMS = 20
    const TICKS = 5
    const bodies: string[] = Array.from({ length: STREAMS }, () => '')
    const controllers = Array.from({ length: STREAMS }, () => new AbortController())
    const readers = await Promise.all(
      controllers.map(async (controller, index) => {
        const response = await fetch(url, { signal: controller.signal })
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        // The first frame (written at open) has arrived.
        while (!bodies[index]!.includes('\n\n')) bodies[index] += decoder.decode((await reader.read()).value, { stream: true })
        return { reader, decoder }
      }),
    )
    expect(snapshots).toBe(STREAMS)
    for (let i = 0; i < TICKS; i++) hub.tick()
    for (const entry of [{ kind: 'test', n: 1 }]) for (const listener of listeners) listener(entry)
    expect(snapshots).toBe(STREAMS + TICKS)
    await Promise.all(
      readers.map(async ({ reader, decoder }, index) => {
        while ((bodies[index]!.match(/^event: /gm) ?? []).length < 1 + TICKS + 1) bodies[index] += decoder.decode((await reader.read()).value, { stream: true })
      }),
    )
    const tickFrames = bodies.map((body) => body.split('\n\n').slice(1, 1 + TICKS).join('\n\n'))
    expect(new Set(tickFrames).size).toBe(1)
    expect(tickFrames[0]).toContain('"tick":21')
    expect(tickFrames[0]).toContain(`"tick":${STREAMS + TICKS}`)
    expect(bodies.every((body) => body.includes('event: timeline\ndata: {"kind":"test","n":1}'))).toBe(true)
    for (const controller of controllers) controller.abort()
    await waitFor(() => hub.size === 0, { what: 'streams closed' })
    // No stream, no work: a tick serialises nothing.
    hub.tick()
    expect(snapshots).toBe(STREAMS + TICKS)
    recordFigure('admin.sse.serialisationsPerTick.20streams', 1)
  })

  test('a stream whose reader never reads is closed once it holds more than maxBufferedBytes', async () => {
    const big = { chains: [], blob: 'x'.repeat(32 * 1024 * 1024) }
    const hub = new EventStreams({ snapshot: () => big } as never, { subscribe: () => () => undefined } as never, {
      intervalMs: 3_600_000,
      maxBufferedBytes: 1024 * 1024,
      limits: () => ({ maxStreams: 10, maxStreamsPerClient: 10 }),
    })
    let opened: ServerResponse | undefined
    const server: Server = createServer((_request, response: ServerResponse) => {
      hub.open(response, '127.0.0.1', {})
      opened = response
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
    socket.pause()
    cleanups.push(async () => {
      socket.destroy()
      hub.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })
    socket.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n')
    const response = await waitFor(() => opened, { what: 'the stream opened' })
    // The first snapshot could not be handed to the socket: the stream is gone, its buffer freed.
    expect(response.destroyed).toBe(true)
    await waitFor(() => hub.size === 0, { what: 'the stream removed' })
  })

  test('figure: 100 streams on a 1,000-node config, eth_chainId latency meanwhile', async () => {
    const nodes = Array.from({ length: 1_000 }, (_, index) => ({ id: `n${index}`, url: `http://127.0.0.1:9/${index}` }))
    const { baseUrl, proxy } = await harness(
      { admin: { token: TOKEN, maxStreams: 100, maxStreamsPerClient: 100 }, chains: { eth: { family: 'evm', chainId: 1, health: { intervalMs: 3_600_000 }, nodes } } },
      { listen: true },
    )
    let snapshots = 0
    const original = proxy.snapshot.bind(proxy)
    proxy.snapshot = () => {
      snapshots += 1
      return original()
    }
    const chainId = async (): Promise<number> => {
      const started = performance.now()
      const response = await fetch(`${baseUrl}/rpc/eth`, { method: 'POST', headers: json, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' })
      expect(((await response.json()) as { result: string }).result).toBe('0x1')
      return performance.now() - started
    }
    const p50 = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
    const quiet: number[] = []
    for (let i = 0; i < 100; i++) quiet.push(await chainId())

    const streams = await Promise.all(Array.from({ length: 100 }, () => openStream(baseUrl, auth)))
    cleanups.push(async () => {
      for (const stream of streams) stream.socket.destroy()
    })
    expect(streams.every((stream) => stream.status === 200)).toBe(true)
    expect((await openStream(baseUrl, auth).then((stream) => (stream.socket.destroy(), stream.status)))).toBe(503)
    const opened = snapshots
    const busy: number[] = []
    const cpuBefore = process.cpuUsage()
    const wallBefore = performance.now()
    // Requests across three ticks, so the figure includes serialising and writing snapshots.
    while (snapshots < opened + 3 && busy.length < 20_000) busy.push(await chainId())
    const cpu = process.cpuUsage(cpuBefore)
    const wallMs = performance.now() - wallBefore
    const ticks = snapshots - opened
    const frameBytes = JSON.stringify(original()).length
    expect(streams.every((stream) => stream.received() > frameBytes)).toBe(true)
    recordFigure('admin.sse.1000nodes.snapshotBytes', frameBytes)
    recordFigure('admin.sse.1000nodes.100streams.serialisationsPerTick', 1)
    recordFigure('admin.sse.1000nodes.100streams.ticksMeasured', ticks)
    recordFigure('admin.sse.1000nodes.eth_chainId.p50Ms.noStreams', Number(p50(quiet).toFixed(2)))
    recordFigure('admin.sse.1000nodes.eth_chainId.p50Ms.100streams', Number(p50(busy).toFixed(2)))
    recordFigure('admin.sse.1000nodes.eth_chainId.p99Ms.100streams', Number(busy[Math.floor(busy.length * 0.99)]!.toFixed(2)))
    recordFigure('admin.sse.1000nodes.100streams.requestsMeasured', busy.length)
    // The whole test process: server and the 100 reading sockets alike.
    recordFigure('admin.sse.1000nodes.100streams.processCpuPercent', Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100))
  }, 60_000)
})
