/**
 * SIGHUP to the `switchyard` process re-reads its config file: applied live when valid (the log
 * says what changed, by name), refused with every problem when not, the process serving on.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type SwitchyardProcess, startSwitchyard } from '../support/switchyard-process.js'

const TOKEN = 'sighup-test-admin-token-0123456789'
let anvils: AnvilNode[] = []
let instance: SwitchyardProcess | undefined

afterAll(async () => {
  await instance?.kill()
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

test('SIGHUP applies a valid config live and refuses an invalid one, serving throughout', async () => {
  anvils = await Promise.all([0, 1].map((index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-sighup-'))
  const port = await freePort()
  const file = join(dir, 'switchyard.yaml')
  const write = (nodes: string, extra = '') =>
    writeFile(
      file,
      `server: { port: ${port} }
admin: { token: "${TOKEN}" }
journal: { path: "${join(dir, 'journal.sqlite')}" }
${extra}
chains:
  eth:
    family: evm
    chainId: 31337
    health: { intervalMs: 200 }
    nodes:
${nodes}
`,
    )
  const node = (anvil: AnvilNode) => `      - { id: ${anvil.id}, url: "${anvil.url}" }`
  await write(node(anvils[0]!))
  instance = startSwitchyard(file)
  const base = `http://127.0.0.1:${port}`
  await waitFor(async () => (await request(`${base}/readyz`).then((response) => response.statusCode, () => 0)) === 200, { timeoutMs: 30_000, what: 'switchyard ready' })
  const nodeIds = async () => {
    const response = await request(`${base}/admin/api/chains`, { headers: { authorization: `Bearer ${TOKEN}` } })
    const body = (await response.body.json()) as { chains: Array<{ nodes: Array<{ id: string; status: string }> }> }
    return body.chains[0]!.nodes.map((entry) => `${entry.id}:${entry.status}`)
  }

  await write([node(anvils[0]!), node(anvils[1]!)].join('\n'))
  instance.child.kill('SIGHUP')
  const applied = await instance.waitForLog(/^config reloaded/)
  expect(applied).toMatchObject({ event: 'config:reload', changes: [`node eth/${anvils[1]!.id} added`], restartRequired: [] })
  expect(JSON.stringify(applied)).not.toContain('127.0.0.1')
  expect(await nodeIds()).toEqual([`${anvils[0]!.id}:healthy`, `${anvils[1]!.id}:healthy`])

  // Invalid: refused with every problem, the two nodes still serve.
  await write(`      - { id: bad, url: "not a url" }`, 'log: { level: loud }')
  instance.child.kill('SIGHUP')
  const refused = await instance.waitForLog(/^config reload refused/)
  expect(refused.problems).toEqual([expect.stringMatching(/^log\.level/), expect.stringMatching(/^chains\.eth\.nodes\[0\]\.url/)])
  expect(await nodeIds()).toEqual([`${anvils[0]!.id}:healthy`, `${anvils[1]!.id}:healthy`])
  const call = await request(`${base}/rpc/eth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) })
  expect(((await call.body.json()) as { result: string }).result).toBe('0x7a69')

  instance.child.kill('SIGTERM')
  expect(await instance.exit).toBe(0)
}, 90_000)
