/**
 * The `switchyard` CLI as a real process, against real nodes.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'

function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exit, output: () => ({ stdout, stderr }) }
}

let dir: string
let anvil: AnvilNode
let bcoin: BcoinNode
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'))
  ;[anvil, bcoin] = await Promise.all([startAnvil({ id: 'eth-a' }), startBcoin({ id: 'btc-a' })])
})
afterAll(async () => {
  await Promise.all([anvil?.stop(), bcoin?.stop()])
})

async function configFile(name: string, text: string): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, text)
  return file
}

describe('switchyard check', () => {
  test('prints a table of every node and exits 0 when every chain has a routable node; never prints URLs or secrets', async () => {
    const btcUrl = new URL(bcoin.url)
    const file = await configFile(
      'ok.yaml',
      `chains:
  eth:
    family: evm
    chainId: 31337
    nodes:
      - { id: eth-a, url: "${anvil.url}" }
      - { id: eth-wrong, url: "${anvil.url}/x" }
  btc:
    family: bitcoin
    network: regtest
    nodes:
      - { id: btc-a, url: "http://${btcUrl.host}/", username: x, password: "\${BTC_PASS}" }
`,
    )
    const run = runCli(['check', '--config', file], { BTC_PASS: decodeURIComponent(btcUrl.password) })
    expect(await run.exit).toBe(0)
    const { stdout } = run.output()
    expect(stdout).toMatch(/^chain\s+node\s+status\s+height\s+lag\s+latency\s+reason$/m)
    expect(stdout).toMatch(/^eth\s+eth-a\s+healthy\s+0\s+0\s+[\d.]+ ms\s+in sync since height 0$/m)
    expect(stdout).toMatch(/^btc\s+btc-a\s+healthy\s+0\s+0\s+[\d.]+ ms\s+in sync since height 0$/m)
    expect(stdout).toMatch(/^eth\s+eth-wrong\s+starting\s+-\s+-\s+-\s+1\/3 failures; last: node eth-wrong answered HTTP 404$/m)
    expect(stdout).toMatch(/^eth: head 0, 1\/2 routable$/m)
    expect(stdout).toMatch(/^btc: head 0, 1\/1 routable$/m)
    expect(stdout).not.toContain(String(anvil.port))
    expect(stdout).not.toContain(decodeURIComponent(btcUrl.password))
  })

  test('exits 1 when a chain has no routable node, and says why per node', async () => {
    const port = await freePort()
    const file = await configFile('down.yaml', `chains: { eth: { family: evm, chainId: 31337, nodes: [ { id: dead, url: "http://127.0.0.1:${port}" } ] } }`)
    const run = runCli(['check', '--config', file])
    expect(await run.exit).toBe(1)
    expect(run.output().stdout).toMatch(/^eth\s+dead\s+starting\s+-\s+-\s+-\s+1\/3 failures; last: node dead connection failed: ECONNREFUSED$/m)
  })

  test('exits 1 for a wrong-chain node, with the reason', async () => {
    const file = await configFile('wrong.yaml', `chains: { eth: { family: evm, chainId: 1, nodes: [ { id: eth-a, url: "${anvil.url}" } ] } }`)
    const run = runCli(['check', '--config', file, '--json'])
    expect(await run.exit).toBe(1)
    const snapshot = JSON.parse(run.output().stdout)
    expect(snapshot.chains[0].nodes[0]).toMatchObject({ id: 'eth-a', status: 'wrong-chain', reason: 'reports chain id 31337, expected 1' })
  })

  test('exits 2 with every config problem and its path', async () => {
    const file = await configFile('bad.yaml', `chains: { eth: { family: evm, nodes: [ { id: a, url: "ftp://x" } ] } }`)
    const run = runCli(['check', '--config', file])
    expect(await run.exit).toBe(2)
    expect(run.output().stderr).toContain('chains.eth.nodes[0].url: must be an http(s) URL')
  })
})

describe('switchyard (serve)', () => {
  test('serves /rpc/:chain and /readyz, and exits 0 on SIGTERM', async () => {
    const port = await freePort()
    const file = await configFile('serve.yaml', `server: { port: ${port} }\nshutdown: { graceMs: 0 }\nlog: { level: warn }\nchains: { eth: { family: evm, chainId: 31337, nodes: [ { id: eth-a, url: "${anvil.url}" } ] } }`)
    const run = runCli(['--config', file])
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, { timeoutMs: 20_000, what: 'readyz' })
      const response = await fetch(`http://127.0.0.1:${port}/rpc/eth`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) })
      expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: '0x7a69' })
    } finally {
      run.child.kill('SIGTERM')
    }
    expect(await run.exit).toBe(0)
  })
})
