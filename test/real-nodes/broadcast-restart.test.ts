/**
 * kill -9 of the proxy after it accepted a withdrawal: the journal on disk still has it, and the
 * restarted proxy (same config) rebroadcasts it to nodes that lost it and follows it to
 * confirmation. The proxy runs as a real process (the CLI).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { afterAll, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { recordFigure } from '../support/figures.js'

const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
let anvils: AnvilNode[] = []
const children: ChildProcess[] = []

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

function startSwitchyard(configFile: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', configFile], { stdio: 'ignore' })
  children.push(child)
  return child
}

test('a broadcast accepted before kill -9 is rebroadcast and confirmed by the restarted proxy', async () => {
  anvils = await Promise.all([0, 1].map((index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-restart-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const configFile = join(dir, 'switchyard.yaml')
  await writeFile(
    configFile,
    `server: { port: ${port} }
log: { level: silent }
journal: { path: "${join(dir, 'journal.sqlite')}" }
shutdown: { graceMs: 0 }
chains:
  eth:
    family: evm
    chainId: 31337
    confirmations: 3
    health: { intervalMs: 200 }
    broadcast: { rebroadcastIntervalMs: 200 }
    nodes:
${anvils.map((anvil) => `      - { id: ${anvil.id}, url: "${anvil.url}" }`).join('\n')}
`,
  )
  const ready = async () => waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 20_000, what: 'switchyard ready' })

  let proxy = startSwitchyard(configFile)
  await ready()
  const raw = await wallet.signTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 31337n, gasPrice: 2_000_000_000n, type: 0 })
  const response = await fetch(`${base}/rpc/eth`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }) })
  const hash = ((await response.json()) as { result: string }).result
  expect(hash).toMatch(/^0x[0-9a-f]{64}$/)

  // kill -9 right after the answer, then every node loses the transaction: only the journal has it now.
  const killed = new Promise((resolve) => proxy.once('exit', resolve))
  proxy.kill('SIGKILL')
  await killed
  for (const anvil of anvils) {
    await waitFor(async () => (await anvil.rpc('eth_getTransactionByHash', [hash])) !== null, { what: `${anvil.id} to have received it before the kill` }).catch(() => undefined)
    await anvil.rpc('anvil_dropTransaction', [hash])
    expect(await anvil.rpc('eth_getTransactionByHash', [hash])).toBeNull()
  }

  const restartedAt = performance.now()
  proxy = startSwitchyard(configFile)
  await ready()
  const status = async () => (await (await fetch(`${base}/admin/api/broadcasts/eth/${hash}`)).json()) as { status: string; rebroadcasts: number; confirmations: number }
  expect((await status()).status).toMatch(/pending|seen/)
  await Promise.all(anvils.map((anvil) => waitFor(async () => (await anvil.rpc('eth_getTransactionByHash', [hash])) !== null, { timeoutMs: 10_000, what: `${anvil.id} to get it back` })))
  recordFigure('broadcast.restartRebroadcastMs', Math.round(performance.now() - restartedAt))
  // The round records its sends after the nodes answered them: the count may trail the nodes by a moment.
  await waitFor(async () => (await status()).rebroadcasts >= 1, { what: 'the rebroadcast recorded in the journal' })

  await Promise.all(anvils.map((anvil) => anvil.mine(3)))
  await waitFor(async () => (await status()).status === 'confirmed', { timeoutMs: 10_000, what: 'confirmed in the journal' })
  expect(await status()).toMatchObject({ status: 'confirmed', confirmations: 3 })
  const stopped = new Promise((resolve) => proxy.once('exit', resolve))
  proxy.kill('SIGTERM')
  await stopped
})
