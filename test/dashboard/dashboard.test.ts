/**
 * The dashboard end to end, in real headless Chromium, against real nodes: 3 anvils and 2 bcoin
 * regtest nodes behind a proxy with an admin token. Everything is read from the page's DOM, which
 * updates from the live event stream (no reloads).
 */
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Wallet } from 'ethers'
import type { FastifyInstance } from 'fastify'
import { type Browser, type BrowserContext, type Dialog, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { registerDashboard } from '../../src/dashboard/register-dashboard.js'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import { createProxy } from '../../src/index.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'

const TOKEN = 'test-token-0123456789'
const CHROMIUM = '/usr/bin/chromium'
const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url))
const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')

let anvils: AnvilNode[] = []
let bcoins: BcoinNode[] = []
let proxy: Proxy | undefined
const apps: FastifyInstance[] = []
let baseUrl = ''
let browser: Browser | undefined
let context: BrowserContext | undefined
let page: Page | undefined
const pageErrors: string[] = []

/** buildApp with the dashboard routes: registered here unless build-app already does it. */
function appFor(target: Proxy): FastifyInstance {
  const app = buildApp(target, { logger: false, historyIntervalMs: 1_000 })
  if (!app.hasRoute({ method: 'GET', url: '/dashboard' })) registerDashboard(app)
  apps.push(app)
  return app
}

async function started<T>(starts: Array<Promise<T>>, into: T[]): Promise<void> {
  const results = await Promise.allSettled(starts)
  for (const result of results) if (result.status === 'fulfilled') into.push(result.value)
  const failed = results.find((result) => result.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}

beforeAll(async () => {
  await Promise.all([
    started([0, 1, 2].map((index) => startAnvil({ id: `eth-${index}`, noMining: true })), anvils),
    started([0, 1].map((index) => startBcoin({ id: `btc-${index}` })), bcoins),
  ])
  const [btc0, btc1] = bcoins as [BcoinNode, BcoinNode]
  await btc0.generate(3)
  await copyBlocks(btc0, [btc1], 1, 3)

  proxy = createProxy({
    journal: { path: ':memory:' },
    log: { level: 'silent' },
    admin: { token: TOKEN },
    chains: {
      eth: {
        family: 'evm',
        chainId: 31337,
        requestTimeoutMs: 1_000,
        health: { intervalMs: 200, timeoutMs: 300, maxLagBlocks: 3 },
        nodes: anvils.map((anvil, index) => ({
          id: anvil.id,
          url: anvil.url,
          wsUrl: anvil.wsUrl,
          provider: `provider-${'abc'[index]}`,
          region: index === 2 ? 'us-east' : 'eu-west',
          ...(index === 2 ? { archive: true } : {}),
        })),
      },
      btc: {
        family: 'bitcoin',
        network: 'regtest',
        requestTimeoutMs: 1_000,
        health: { intervalMs: 200, timeoutMs: 500 },
        nodes: bcoins.map((node) => ({ id: node.id, url: node.url, provider: 'self-hosted' })),
      },
    },
  })
  await proxy.start()
  baseUrl = await appFor(proxy).listen({ host: '127.0.0.1', port: 0 })

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  })
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  page = await context.newPage()
  page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.message}`))
  page.on('console', (message) => {
    // 401s are expected (the token probe); anything else logged as an error is a defect (CSP, exceptions).
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text())
  })
})

afterAll(async () => {
  await browser?.close()
  for (const app of apps.splice(0)) await app.close()
  await proxy?.close()
  await Promise.all([...anvils.map((anvil) => anvil.stop()), ...bcoins.map((node) => node.stop())])
})

const open = (): Page => {
  if (page === undefined) throw new Error('no page')
  return page
}

async function signIn(target: Page, url: string, token: string): Promise<void> {
  await target.goto(`${url}/dashboard`)
  await target.getByTestId('token-input').fill(token)
  await target.getByTestId('token-submit').click()
}

async function waitForStatus(target: Page, chain: string, nodeId: string, status: string, timeout = 20_000): Promise<void> {
  await target.waitForSelector(`[data-testid="status-${chain}-${nodeId}"][data-status="${status}"]`, { timeout })
}

async function rpc(method: string, params: unknown[] = []): Promise<{ node: string | null; result: unknown }> {
  const response = await fetch(`${baseUrl}/rpc/eth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await response.json()) as { result?: unknown }
  return { node: response.headers.get('x-switchyard-node'), result: body.result }
}

describe('dashboard in Chromium', () => {
  test('GET /dashboard needs no token; assets come from an allowlist with their content types', async () => {
    const pageResponse = await fetch(`${baseUrl}/dashboard`)
    expect(pageResponse.status).toBe(200)
    expect(pageResponse.headers.get('content-type')).toMatch(/^text\/html/)
    expect(pageResponse.headers.get('content-security-policy')).toContain("script-src 'self'")
    for (const [file, type] of [
      ['dashboard.js', /^text\/javascript/],
      ['dashboard.css', /^text\/css/],
      ['uPlot.iife.min.js', /^text\/javascript/],
      ['uPlot.min.css', /^text\/css/],
    ] as const) {
      const response = await fetch(`${baseUrl}/dashboard/assets/${file}`)
      expect(response.status, file).toBe(200)
      expect(response.headers.get('content-type'), file).toMatch(type)
    }
    for (const file of ['index.html', 'register-dashboard.ts', '..%2F..%2Fpackage.json', '%2Fetc%2Fpasswd']) {
      expect((await fetch(`${baseUrl}/dashboard/assets/${file}`)).status, file).toBe(404)
    }
    expect((await fetch(`${baseUrl}/admin/api/chains`)).status).toBe(401)
  })

  test('(a) after the token, every node has a row; the token is asked once per tab', async () => {
    const target = open()
    await signIn(target, baseUrl, TOKEN)
    for (const id of ['eth-0', 'eth-1', 'eth-2']) await waitForStatus(target, 'eth', id, 'healthy')
    for (const id of ['btc-0', 'btc-1']) await waitForStatus(target, 'btc', id, 'healthy')
    expect(await target.getByTestId('head-btc').textContent()).toBe('head 3')
    expect(await target.getByTestId('routable-eth').textContent()).toBe('3 / 3 routable')
    expect(await target.getByTestId('provider-eth-eth-2').textContent()).toBe('provider-c · us-east')
    // Capabilities: the archive node says so; nodes with nothing known show nothing; no fork banner.
    expect(await target.getByTestId('caps-eth-eth-2').textContent()).toBe('archive')
    expect(await target.getByTestId('caps-eth-eth-0').isHidden()).toBe(true)
    expect(await target.getByTestId('fork-eth').isHidden()).toBe(true)
    await target.waitForSelector('[data-testid="connection-state"][data-state="live"]')
    await target.waitForSelector('[data-testid="chart-lag-eth"] canvas')
    await target.waitForSelector('[data-testid="chart-latency-btc"] canvas')
    expect(await target.getByTestId('auth').isHidden()).toBe(true)
    expect(await target.getByTestId('connection-banner').isHidden()).toBe(true)

    await target.reload()
    await target.getByTestId('node-row-eth-eth-0').waitFor()
    expect(await target.getByTestId('auth').isHidden()).toBe(true)
  })

  test('(b) a node that falls behind turns lagging without a reload, and back', async () => {
    const target = open()
    await target.evaluate(() => {
      ;(window as unknown as { sameDocument: boolean }).sameDocument = true
    })
    const [eth0, eth1, eth2] = anvils as [AnvilNode, AnvilNode, AnvilNode]
    await Promise.all([eth0.mine(10), eth1.mine(10)])
    await waitForStatus(target, 'eth', 'eth-2', 'lagging')
    expect(await target.getByTestId('reason-eth-eth-2').textContent()).toContain('blocks behind head 10')
    expect(await target.getByTestId('lag-eth-eth-2').textContent()).toBe('10')
    expect(await target.getByTestId('routable-eth').textContent()).toBe('2 / 3 routable')
    await target.waitForSelector('[data-testid="timeline-entry"][data-node="eth-2"][data-kind="node:state"]')
    expect(await target.locator('[data-testid="timeline-entry"][data-node="eth-2"]').first().textContent()).toContain('eth-2: healthy → lagging')

    await eth2.mine(10)
    await waitForStatus(target, 'eth', 'eth-2', 'healthy')
    expect(await target.getByTestId('ejections-eth-eth-2').textContent()).toBe('1')
    expect(await target.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true)
  })

  test('a block only one node has: the chain header says the height reads are served at until it is compared', async () => {
    const target = open()
    const [btc0, btc1] = bcoins as [BcoinNode, BcoinNode]
    await btc0.generate(1)
    await target.waitForFunction(() => document.querySelector('[data-testid="head-btc"]')?.textContent === 'head 4 · served 3', undefined, { timeout: 20_000 })
    expect(await target.getByTestId('head-btc').getAttribute('title')).toContain('hashes are compared across nodes')
    await copyBlocks(btc0, [btc1], 4, 4)
    await target.waitForFunction(() => document.querySelector('[data-testid="head-btc"]')?.textContent === 'head 4', undefined, { timeout: 20_000 })
  })

  test('(c) cordon from the page: prompt and confirm, badge cordoned, no traffic to that node', async () => {
    const target = open()
    const dialogs: string[] = []
    const onDialog = (dialog: Dialog): void => {
      dialogs.push(dialog.type())
      void (dialog.type() === 'prompt' ? dialog.accept('disk replacement') : dialog.accept())
    }
    target.on('dialog', onDialog)
    try {
      await target.getByTestId('cordon-eth-eth-0').click()
      await waitForStatus(target, 'eth', 'eth-0', 'cordoned', 5_000)
    } finally {
      target.off('dialog', onDialog)
    }
    expect(dialogs).toEqual(['prompt', 'confirm'])
    expect(await target.getByTestId('reason-eth-eth-0').textContent()).toBe('cordoned by operator: disk replacement')
    expect(await target.getByTestId('uncordon-eth-eth-0').isVisible()).toBe(true)
    expect(await target.getByTestId('cordon-eth-eth-0').isHidden()).toBe(true)

    const served = new Set<string>()
    for (let i = 0; i < 40; i++) {
      const { node, result } = await rpc('eth_blockNumber')
      expect(result).toBe('0xa')
      served.add(node ?? '(none)')
    }
    expect(served.has('eth-0')).toBe(false)
    expect([...served].every((node) => node === 'eth-1' || node === 'eth-2')).toBe(true)
  })

  test('a broadcast shows up in the recent-broadcasts table and is found by txid', async () => {
    const target = open()
    const raw = await wallet.signTransaction({
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      value: 1n,
      gasLimit: 21_000n,
      nonce: 0,
      chainId: 31337n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      type: 2,
    })
    const { result: hash } = await rpc('eth_sendRawTransaction', [raw])
    expect(typeof hash).toBe('string')
    const txid = String(hash)
    await target.waitForSelector(`[data-testid="broadcasts-table"] [data-testid="broadcast-row-eth-${txid}"]`, { timeout: 10_000 })
    await target.waitForSelector(`[data-testid="timeline-entry"][data-kind="broadcast:accepted"]`)

    await target.getByTestId('broadcast-search').fill(txid)
    await target.getByTestId('broadcast-search-submit').click()
    const found = target.locator(`[data-testid="broadcast-search-result"] [data-testid="broadcast-row-eth-${txid}"]`)
    await found.waitFor({ timeout: 5_000 })
    expect(await found.textContent()).toMatch(/eth-[12] (accepted|seen)/)

    await target.getByTestId('broadcast-search').fill('0xfeed')
    await target.getByTestId('broadcast-search-submit').click()
    await target.waitForFunction(() => document.querySelector('[data-testid="broadcast-search-result"]')?.textContent?.includes('No broadcast 0xfeed'))
  })

  test('a config reload shows on the page without a reload: a removed node leaves, the timeline says what changed, no URL', async () => {
    const target = open()
    const running = proxy!
    const original = running.config
    const next = structuredClone(original) as { chains: Record<string, { nodes: Array<{ id: string; weight: number }> }> }
    next.chains.eth!.nodes[1]!.weight = 2
    next.chains.btc!.nodes = next.chains.btc!.nodes.filter((node) => node.id !== 'btc-1')
    await running.reload(next as unknown as typeof original)
    await target.waitForSelector('[data-testid="node-row-btc-btc-1"]', { state: 'detached' })
    await target.waitForSelector('[data-testid="timeline-entry"][data-kind="config"]')
    const entries = await target.locator('[data-testid="timeline-entry"][data-kind="config"]').allTextContents()
    expect(entries.some((text) => text.includes('node btc/btc-1 removed'))).toBe(true)
    expect(entries.some((text) => text.includes('node eth/eth-1: weight changed'))).toBe(true)
    expect(entries.join('\n')).not.toMatch(/127\.0\.0\.1|http:\/\//)
    // The eth rows stayed (same nodes): eth-2's ejection count from (b) carried over.
    expect(await target.getByTestId('ejections-eth-eth-2').textContent()).toBe('1')

    // Back to the original config: btc-1 returns as a new node and is admitted by its probes.
    await running.reload(original)
    await waitForStatus(target, 'btc', 'btc-1', 'healthy')
  })

  test('(e) screenshot into test-output/dashboard.png', async () => {
    const target = open()
    await target.waitForSelector('[data-testid="connection-state"][data-state="live"]')
    // Let the charts gather a few live points past the history samples.
    await target.waitForTimeout(2_000)
    // Honest nodes of one chain (deterministic mining) never look forked, cordon and broadcast included.
    expect(await target.getByTestId('fork-eth').isHidden()).toBe(true)
    expect(await target.getByTestId('status-eth-eth-1').textContent()).toBe('healthy')
    await mkdir(OUTPUT_DIR, { recursive: true })
    await target.screenshot({ path: `${OUTPUT_DIR}dashboard.png`, fullPage: true })
    expect(pageErrors).toEqual([])
  })

  test('(d) a wrong token: the page says so and asks again', async () => {
    const fresh = await browser!.newContext()
    try {
      const target = await fresh.newPage()
      await signIn(target, baseUrl, 'wrong-token-0123456789')
      const error = target.getByTestId('auth-error')
      await error.waitFor({ state: 'visible', timeout: 5_000 })
      expect(await error.textContent()).toContain('Wrong token')
      await mkdir(OUTPUT_DIR, { recursive: true })
      await target.screenshot({ path: `${OUTPUT_DIR}dashboard-auth-error.png` })
      expect(await target.getByTestId('dashboard').isHidden()).toBe(true)
      expect(await target.getByTestId('token-input').isVisible()).toBe(true)

      // A token kept from earlier that the server no longer accepts: same message, asked again.
      await target.evaluate(() => sessionStorage.setItem('switchyard.adminToken', 'stale-token-0123456789'))
      await target.reload()
      await error.waitFor({ state: 'visible', timeout: 5_000 })
      expect(await error.textContent()).toContain('401')
      expect(await target.evaluate(() => sessionStorage.getItem('switchyard.adminToken'))).toBeNull()

      // And the right one then works.
      await target.getByTestId('token-input').fill(TOKEN)
      await target.getByTestId('token-submit').click()
      await target.getByTestId('node-row-btc-btc-1').waitFor()
      expect(await error.isHidden()).toBe(true)
    } finally {
      await fresh.close()
    }
  })

  test('the stream ending shows the connection-lost banner; the page reconnects by itself', async () => {
    const second = appFor(proxy!)
    const url = await second.listen({ host: '127.0.0.1', port: 0 })
    const port = Number(new URL(url).port)
    const fresh = await browser!.newContext()
    try {
      const target = await fresh.newPage()
      await signIn(target, url, TOKEN)
      await target.waitForSelector('[data-testid="connection-state"][data-state="live"]')
      await second.close()
      apps.splice(apps.indexOf(second), 1)
      const banner = target.getByTestId('connection-banner')
      await banner.waitFor({ state: 'visible', timeout: 5_000 })
      expect(await banner.textContent()).toContain('Connection lost — reconnecting…')
      await mkdir(OUTPUT_DIR, { recursive: true })
      await target.screenshot({ path: `${OUTPUT_DIR}dashboard-disconnected.png` })

      const third = appFor(proxy!)
      await third.listen({ host: '127.0.0.1', port })
      await banner.waitFor({ state: 'hidden', timeout: 20_000 })
      await target.waitForSelector('[data-testid="connection-state"][data-state="live"]')
      await waitForStatus(target, 'eth', 'eth-0', 'cordoned')
      expect(await target.getByTestId('auth').isHidden()).toBe(true)
    } finally {
      await fresh.close()
    }
  })
})
