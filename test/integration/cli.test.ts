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
import { freePort, refusedPort } from '../../src/devnet/free-port.js'
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
  test('prints a table of every node and exits 0 when every node answers; never prints URLs or secrets', async () => {
    const btcUrl = new URL(bcoin.url)
    const file = await configFile(
      'ok.yaml',
      `chains:
  eth:
    family: evm
    chainId: 31337
    nodes:
      - { id: eth-a, url: "${anvil.url}" }
  btc:
    family: bitcoin
    network: regtest
    nodes:
      - { id: btc-a, url: "http://${btcUrl.host}/", username: x, password: "\${BTC_PASS}" }
`,
    )
    const run = runCli(['check', '--config', file], { BTC_PASS: decodeURIComponent(btcUrl.password) })
    expect(await run.exit).toBe(0)
    const { stdout, stderr } = run.output()
    expect(stdout).toMatch(/^chain\s+node\s+status\s+height\s+lag\s+latency\s+reason$/m)
    expect(stdout).toMatch(/^eth\s+eth-a\s+healthy\s+0\s+0\s+[\d.]+ ms\s+in sync since height 0$/m)
    expect(stdout).toMatch(/^btc\s+btc-a\s+healthy\s+0\s+0\s+[\d.]+ ms\s+in sync since height 0$/m)
    expect(stdout).toMatch(/^eth: head 0, 1\/1 routable$/m)
    expect(stdout).toMatch(/^btc: head 0, 1\/1 routable$/m)
    expect(stdout + stderr).not.toContain(String(anvil.port))
    expect(stdout + stderr).not.toContain(decodeURIComponent(btcUrl.password))
    expect(stderr).toBe('')
  })

  test('a typo\'d port or path: the node is unreachable (with the probe\'s error) and check exits 1; --allow-degraded exits 0 while every chain has a routable node', async () => {
    const deadPort = await refusedPort()
    const file = await configFile(
      'degraded.yaml',
      `chains:
  eth:
    family: evm
    chainId: 31337
    nodes:
      - { id: eth-a, url: "${anvil.url}" }
      - { id: eth-typo-port, url: "http://127.0.0.1:${deadPort}" }
      - { id: eth-typo-path, url: "${anvil.url}/x" }
`,
    )
    const strict = runCli(['check', '--config', file])
    expect(await strict.exit).toBe(1)
    const { stdout, stderr } = strict.output()
    expect(stdout).toMatch(/^eth\s+eth-a\s+healthy\s/m)
    expect(stdout).toMatch(/^eth\s+eth-typo-port\s+unreachable\s+-\s+-\s+-\s+node eth-typo-port connection failed: ECONNREFUSED$/m)
    expect(stdout).toMatch(/^eth\s+eth-typo-path\s+unreachable\s+-\s+-\s+-\s+node eth-typo-path answered HTTP 404$/m)
    expect(stdout).not.toMatch(/starting/)
    expect(stdout).toMatch(/^eth: head 0, 1\/3 routable$/m)
    expect(stderr).toBe('unreachable: eth/eth-typo-port, eth/eth-typo-path (--allow-degraded accepts this while every chain has a routable node)\n')
    expect(stdout + stderr).not.toContain(String(deadPort))
    expect(stdout + stderr).not.toContain(String(anvil.port))

    const degraded = runCli(['check', '--config', file, '--allow-degraded', '--json'])
    expect(await degraded.exit).toBe(0)
    const snapshot = JSON.parse(degraded.output().stdout)
    expect(snapshot.chains[0].nodes.map((node: { id: string; status: string; reason: string }) => [node.id, node.status, node.reason])).toEqual([
      ['eth-a', 'healthy', 'in sync since height 0'],
      ['eth-typo-port', 'unreachable', 'node eth-typo-port connection failed: ECONNREFUSED'],
      ['eth-typo-path', 'unreachable', 'node eth-typo-path answered HTTP 404'],
    ])
    expect(degraded.output().stderr).toBe('')
  })

  test('exits 1 when a chain has no routable node, --allow-degraded or not, and says why per node', async () => {
    const port = await refusedPort()
    const file = await configFile('down.yaml', `chains: { eth: { family: evm, chainId: 31337, nodes: [ { id: dead, url: "http://127.0.0.1:${port}" } ] } }`)
    const run = runCli(['check', '--config', file, '--allow-degraded'])
    expect(await run.exit).toBe(1)
    expect(run.output().stdout).toMatch(/^eth\s+dead\s+unreachable\s+-\s+-\s+-\s+node dead connection failed: ECONNREFUSED$/m)
    expect(run.output().stdout).toMatch(/^eth: head -, 0\/1 routable$/m)
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
