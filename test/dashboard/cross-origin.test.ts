/**
 * Browsers against the admin API, in real headless Chromium, with two real anvils behind the
 * proxy: a page of another origin on 127.0.0.1 (another port) tries the `no-cors` text/plain
 * POSTs, a bodyless POST, a CORS JSON POST and a text/plain form that once cordoned both nodes;
 * a DNS-rebinding page (an attacker's name resolving to 127.0.0.1) tries to read and act. Nothing
 * changes, wallets keep their answers, and the server counted every refusal. The dashboard's own
 * actions (JSON, same origin, token) still work, and without admin.token it is read-only.
 */
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { type Browser, type Dialog, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { createProxy } from '../../src/index.js'
import { type Metrics, createMetrics } from '../../src/observability/metrics.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'

const TOKEN = 'cross-origin-token-0123456789'
const CHROMIUM = '/usr/bin/chromium'
const ATTACKER_NAME = 'attacker.example'

interface Target {
  proxy: Proxy
  app: FastifyInstance
  metrics: Metrics
  url: string
}

let anvils: AnvilNode[] = []
const targets: Target[] = []
let open: Target
let locked: Target
let attacker: Server | undefined
let attackerUrl = ''
let browser: Browser | undefined

async function target(token: string | undefined): Promise<Target> {
  const proxy = createProxy({
    journal: { path: ':memory:' },
    log: { level: 'silent' },
    ...(token === undefined ? {} : { admin: { token } }),
    chains: {
      eth: {
        family: 'evm',
        chainId: 31337,
        health: { intervalMs: 200, timeoutMs: 500 },
        nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })),
      },
    },
  })
  await proxy.start()
  const metrics = createMetrics(proxy)
  const app = buildApp(proxy, { logger: false, metrics })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const made = { proxy, app, metrics, url }
  targets.push(made)
  return made
}

/**
 * The attacker's page: every write a page of another origin can make without the victim's
 * token, each to every node of the chain; then `window.done` holds what each request saw.
 */
function attackPage(server: string): string {
  return `<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink" action="${server}/admin/api/nodes/eth/eth-0/cordon">
  <input name='{"reason":"form","x":"' value='"}'>
</form>
<script>
const server = ${JSON.stringify(server)}
const nodes = ['eth-0', 'eth-1']
async function attempt(name, url, init) {
  try {
    const response = await fetch(url, init)
    return name + ': ' + response.type + ' ' + response.status
  } catch (error) {
    return name + ': ' + error.name
  }
}
async function run() {
  const results = []
  for (const node of nodes) {
    results.push(await attempt('no-cors text/plain cordon ' + node, server + '/admin/api/nodes/eth/' + node + '/cordon', {
      method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"reason":"pwned"}',
    }))
  }
  results.push(await attempt('no-cors bodyless probe', server + '/admin/api/chains/eth/probe', { method: 'POST', mode: 'no-cors' }))
  results.push(await attempt('no-cors form-urlencoded uncordon', server + '/admin/api/nodes/eth/eth-1/uncordon', {
    method: 'POST', mode: 'no-cors', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b',
  }))
  results.push(await attempt('cors json cordon', server + '/admin/api/nodes/eth/eth-1/cordon', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"pwned"}',
  }))
  results.push(await attempt('cors read', server + '/admin/api/chains', {}))
  const sink = document.getElementById('sink')
  await new Promise((resolve) => { sink.onload = resolve; document.getElementById('form').submit() })
  results.push('form submitted')
  window.done = results
}
run()
</script></body></html>`
}

/** `switchyard_admin_refusals_total{reason}` now. */
async function refusals(metrics: Metrics, reason: string): Promise<number> {
  const line = (await metrics.render()).split('\n').find((text) => text.startsWith(`switchyard_admin_refusals_total{reason="${reason}"}`))
  return Number(line?.split(' ').at(-1))
}

async function blockNumber(url: string): Promise<{ status: number; result: unknown }> {
  const response = await fetch(`${url}/rpc/eth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' })
  return { status: response.status, result: ((await response.json()) as { result?: unknown }).result }
}

const statuses = (proxy: Proxy): string[] => proxy.snapshot().chains[0]!.nodes.map((node) => `${node.id}:${node.status}`)

beforeAll(async () => {
  const started = await Promise.allSettled(['eth-0', 'eth-1'].map((id) => startAnvil({ id, noMining: true })))
  anvils = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  if (anvils.length < 2) throw new Error('anvil did not start')
  open = await target(undefined)
  locked = await target(TOKEN)
  attacker = createServer((request, response) => {
    const server = request.url === '/locked' ? locked.url : open.url
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(attackPage(server))
  })
  await new Promise<void>((resolve) => attacker!.listen(0, '127.0.0.1', resolve))
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The rebinding: the attacker's name resolves to this machine.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', `--host-resolver-rules=MAP ${ATTACKER_NAME} 127.0.0.1`],
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (attacker !== undefined) await new Promise((resolve) => attacker!.close(resolve))
  for (const { app, metrics, proxy } of targets.splice(0)) {
    await app.close()
    metrics.close()
    await proxy.close()
  }
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

describe('a page of another origin', () => {
  test.each<['open' | 'locked', string]>([
    ['open', 'without admin.token (the default)'],
    ['locked', 'with admin.token'],
  ])('cannot cordon, uncordon or probe: %s', async (which) => {
    const server = which === 'open' ? open : locked
    expect(statuses(server.proxy)).toEqual(['eth-0:healthy', 'eth-1:healthy'])
    const before = await refusals(server.metrics, 'cross-origin')
    const context = await browser!.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${attackerUrl}/${which}`)
      const results = (await page.waitForFunction(() => (window as unknown as { done?: string[] }).done, undefined, { timeout: 20_000 })).jsonValue()
      // no-cors answers are opaque (status 0) whatever happened; the CORS ones fail in the browser.
      expect(await results).toEqual([
        'no-cors text/plain cordon eth-0: opaque 0',
        'no-cors text/plain cordon eth-1: opaque 0',
        'no-cors bodyless probe: opaque 0',
        'no-cors form-urlencoded uncordon: opaque 0',
        'cors json cordon: TypeError',
        'cors read: TypeError',
        'form submitted',
      ])
    } finally {
      await context.close()
    }
    expect(statuses(server.proxy)).toEqual(['eth-0:healthy', 'eth-1:healthy'])
    // Every request reached the server and was refused there as cross-origin (the CORS JSON POST
    // never left the browser: its preflight got no CORS grant).
    expect((await refusals(server.metrics, 'cross-origin')) - before).toBe(6)
    expect(await blockNumber(server.url)).toEqual({ status: 200, result: '0x0' })
  })
})

describe('DNS rebinding', () => {
  test(`a page under ${ATTACKER_NAME} resolving to 127.0.0.1 reads nothing and changes nothing`, async () => {
    const context = await browser!.newContext()
    try {
      const page = await context.newPage()
      const port = new URL(open.url).port
      // The dashboard page itself holds no data; served under the attacker's name, its API calls are refused.
      await page.goto(`http://${ATTACKER_NAME}:${port}/dashboard`)
      const fatal = page.getByTestId('fatal-error')
      await fatal.waitFor({ state: 'visible', timeout: 10_000 })
      expect(await fatal.textContent()).toContain("this host name is not one of the server's (server.names)")
      const seen = await page.evaluate(async () => {
        const read = await fetch('/admin/api/chains')
        const cordon = await fetch('/admin/api/nodes/eth/eth-0/cordon', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"rebound"}' })
        return { read: read.status, readBody: await read.text(), cordon: cordon.status }
      })
      expect(seen.read).toBe(403)
      expect(seen.readBody).not.toContain('eth-0')
      expect(seen.cordon).toBe(403)
    } finally {
      await context.close()
    }
    expect(statuses(open.proxy)).toEqual(['eth-0:healthy', 'eth-1:healthy'])
    expect(await refusals(open.metrics, 'host')).toBeGreaterThanOrEqual(3)
  })
})

describe('the dashboard itself', () => {
  test('without admin.token: read-only on loopback, no action offered', async () => {
    const context = await browser!.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${open.url}/dashboard`)
      await page.getByTestId('node-row-eth-eth-0').waitFor()
      expect(await page.getByTestId('read-only').isVisible()).toBe(true)
      expect(await page.getByTestId('cordon-eth-eth-0').isVisible()).toBe(false)
      expect(await page.getByTestId('probe-eth').isVisible()).toBe(false)
    } finally {
      await context.close()
    }
  })

  test('with admin.token: its JSON actions from its own origin work (uncordon, probe now)', async () => {
    locked.proxy.cordon('eth', 'eth-1', 'maintenance')
    const context = await browser!.newContext()
    try {
      const page = await context.newPage()
      page.on('dialog', (dialog: Dialog) => void dialog.accept())
      await page.goto(`${locked.url}/dashboard`)
      await page.getByTestId('token-input').fill(TOKEN)
      await page.getByTestId('token-submit').click()
      await page.waitForSelector('[data-testid="status-eth-eth-1"][data-status="cordoned"]')
      expect(await page.getByTestId('read-only').isHidden()).toBe(true)
      await page.getByTestId('uncordon-eth-eth-1').click()
      await page.waitForSelector('[data-testid="status-eth-eth-1"]:not([data-status="cordoned"])', { timeout: 10_000 })
      await page.getByTestId('probe-eth').click()
      await page.waitForFunction(() => document.querySelector('[data-testid="toast"]')?.textContent?.includes('eth: probe round done'))
    } finally {
      await context.close()
    }
    expect(await refusals(locked.metrics, 'content-type')).toBe(0)
  })
})
