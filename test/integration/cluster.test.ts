/**
 * `server.workers: 2`: the CLI as a cluster primary with two worker processes on one port, in
 * front of two real anvils that are one chain. Each new connection goes to the next worker, so a
 * request sent on a fresh connection (`reset: true`) reaches either; the `x-switchyard-worker`
 * header says which answered.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type SwitchyardProcess, startSwitchyard } from '../support/switchyard-process.js'

const TOKEN = 'cluster-test-admin-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
const WALLET = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')

let anvils: AnvilNode[] = []
let dir = ''
let instance: SwitchyardProcess | undefined
let base = ''
let configFile = ''

const config = (nodes: AnvilNode[], extra = '') => `server: { port: PORT, workers: 2 }
admin: { token: "${TOKEN}" }
journal: { path: "${join(dir, 'journal.sqlite')}" }
shutdown: { graceMs: 0 }
log: { level: info }
${extra}
chains:
  eth:
    family: evm
    chainId: 31337
    health: { intervalMs: 200 }
    nodes:
${nodes.map((anvil) => `      - { id: ${anvil.id}, url: "${anvil.url}" }`).join('\n')}
`

/** A response from a fresh connection, with the worker that answered it. */
async function fresh(path: string, options: { method?: 'GET' | 'POST'; body?: string } = {}): Promise<{ status: number; worker: number; body: string }> {
  const response = await request(`${base}${path}`, { method: options.method ?? 'GET', headers: auth, body: options.body, reset: true })
  return { status: response.statusCode, worker: Number(response.headers['x-switchyard-worker']), body: await response.body.text() }
}

/** `path` as answered by each worker in turn (fresh connections until both have answered). */
async function fromEachWorker(path: string): Promise<Map<number, string>> {
  const answers = new Map<number, string>()
  await waitFor(
    async () => {
      const answer = await fresh(path)
      expect(answer.status).toBe(200)
      answers.set(answer.worker, answer.body)
      return answers.size === 2
    },
    { timeoutMs: 20_000, what: `${path} from both workers` },
  )
  return answers
}

const rpc = (method: string, params: unknown[] = []) => JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })

/** Pids of the workers from the primary's "listening" line (the latest one after a restart). */
function workerPids(instance: SwitchyardProcess): Map<number, number> {
  const pids = new Map<number, number>()
  for (const line of instance.logs) {
    const match = /\(worker (\d+) of 2\)$/.exec(line.msg)
    if (match !== null) pids.set(Number(match[1]), line.pid as number)
  }
  return pids
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  anvils = await Promise.all([0, 1, 2].map((index) => startAnvil({ id: `eth-${index}` })))
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cluster-'))
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  configFile = join(dir, 'switchyard.yaml')
  await writeFile(configFile, config(anvils.slice(0, 2)).replace('PORT', String(port)))
  instance = startSwitchyard(configFile)
  await instance.waitForLog(/^switchyard cluster: 2 workers listening/)
  await waitFor(async () => (await fresh('/readyz')).status === 200 && (await fresh('/readyz')).status === 200, { timeoutMs: 30_000, what: 'both workers ready' })
}, 60_000)

afterAll(async () => {
  const pids = instance === undefined ? [] : [...workerPids(instance).values()]
  await instance?.kill()
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
  await stopAll(anvils)
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

describe('server.workers: 2', () => {
  test('both workers serve the port, and /metrics on either counts every worker’s requests', async () => {
    const healthz = await fromEachWorker('/healthz')
    expect(JSON.parse(healthz.get(0)!)).toEqual({ status: 'ok', worker: 0, workers: 2 })
    expect(JSON.parse(healthz.get(1)!)).toEqual({ status: 'ok', worker: 1, workers: 2 })

    const servedBy = new Set<number>()
    for (let index = 0; index < 20; index += 1) {
      const answer = await fresh('/rpc/eth', { method: 'POST', body: rpc('eth_getBalance', [WALLET.address, 'latest']) })
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body)).toHaveProperty('result')
      servedBy.add(answer.worker)
    }
    expect(servedBy).toEqual(new Set([0, 1]))

    const height = await anvils[0]!.blockNumber()
    for (const metrics of (await fromEachWorker('/metrics')).values()) {
      const answered = [...metrics.matchAll(/^switchyard_requests_total\{chain="eth",outcome="answer"[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0)
      // Both workers' counts, summed: every request of this test, whichever worker served it.
      expect(answered).toBe(20)
      // A gauge is not summed: each node's height is the node's, not twice it.
      expect(metrics).toMatch(new RegExp(`^switchyard_node_height\\{chain="eth",node="eth-0"\\} ${height}$`, 'm'))
      expect(metrics).toMatch(/^switchyard_chain_routable_nodes\{chain="eth"\} 2$/m)
    }
  })

  test('a broadcast accepted by one worker is in the journal both workers read', async () => {
    const raw = await WALLET.signTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, nonce: 0, gasLimit: 21_000, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, chainId: 31337, type: 2 })
    const sent = await fresh('/rpc/eth', { method: 'POST', body: rpc('eth_sendRawTransaction', [raw]) })
    const txid = (JSON.parse(sent.body) as { result: string }).result
    expect(txid).toMatch(/^0x[0-9a-f]{64}$/)
    for (const [worker, body] of await fromEachWorker(`/admin/api/broadcasts/eth/${txid}`)) {
      expect(JSON.parse(body), `worker ${worker}`).toMatchObject({ chain: 'eth', txid })
    }
  })

  test('a cordon taken through one worker holds in both, and in a worker forked after a crash', async () => {
    const cordoned = await fresh('/admin/api/nodes/eth/eth-1/cordon', { method: 'POST', body: '{"reason":"maintenance"}' })
    expect(cordoned.status).toBe(200)
    const statusOf = (body: string) => (JSON.parse(body) as { chains: Array<{ nodes: Array<{ id: string; status: string }> }> }).chains[0]!.nodes.find((node) => node.id === 'eth-1')!.status
    await waitFor(async () => [...(await fromEachWorker('/admin/api/chains')).values()].every((body) => statusOf(body) === 'cordoned'), { timeoutMs: 20_000, what: 'eth-1 cordoned in both workers' })

    const victim = workerPids(instance!).get(0)!
    process.kill(victim, 'SIGKILL')
    await instance!.waitForLog(/^switchyard cluster: worker 0 died/)
    await waitFor(() => workerPids(instance!).get(0) !== victim, { timeoutMs: 30_000, what: 'worker 0 forked again and listening' })
    const replacement = workerPids(instance!).get(0)!
    expect(alive(replacement)).toBe(true)
    // The replacement probes its nodes afresh; once ready, it knows the cordon it never received from the API.
    await waitFor(async () => {
      const answers = await fromEachWorker('/readyz')
      return [...answers.values()].every((body) => (JSON.parse(body) as { ready: boolean }).ready)
    }, { timeoutMs: 30_000, what: 'both workers ready after the restart' })
    for (const [worker, body] of await fromEachWorker('/admin/api/chains')) expect(statusOf(body), `worker ${worker}`).toBe('cordoned')

    // Requests on fresh connections are all served again.
    for (let index = 0; index < 10; index += 1) expect((await fresh('/rpc/eth', { method: 'POST', body: rpc('eth_chainId') })).status).toBe(200)
  })

  test('SIGHUP to the primary reloads every worker', async () => {
    const port = new URL(base).port
    await writeFile(configFile, config(anvils).replace('PORT', port))
    const before = instance!.logs.length
    instance!.child.kill('SIGHUP')
    await waitFor(() => new Set(instance!.logs.slice(before).filter((line) => /^config reloaded/.test(line.msg)).map((line) => line.pid)).size === 2, { timeoutMs: 20_000, what: 'both workers reloaded' })
    for (const [worker, body] of await fromEachWorker('/admin/api/chains')) {
      const ids = (JSON.parse(body) as { chains: Array<{ nodes: Array<{ id: string }> }> }).chains[0]!.nodes.map((node) => node.id)
      expect(ids, `worker ${worker}`).toEqual(['eth-0', 'eth-1', 'eth-2'])
    }
  })

  test('SIGTERM to the primary drains every worker; the primary exits 0 once both have', async () => {
    const pids = [...workerPids(instance!).values()]
    instance!.child.kill('SIGTERM')
    expect(await instance!.exit).toBe(0)
    const drained = instance!.logs.filter((line) => /^shutdown: done/.test(line.msg))
    expect(new Set(drained.map((line) => line.pid))).toEqual(new Set(pids))
    for (const pid of pids) expect(alive(pid), `worker pid ${pid}`).toBe(false)
    expect(instance!.logs.at(-1)).toMatchObject({ role: 'primary', exitCode: 0 })
  })
})

describe('server.workers: 2, failures of the processes themselves', () => {
  test.each([1, 2])('server.workers %i: a start that fails (a taken chain port) exits 1, not a fork loop or a process left serving', async (workers) => {
    // A chain port that is taken: each worker's listen fails before it serves.
    const blocker = createServer()
    const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)))
    const file = join(dir, 'taken.yaml')
    await writeFile(
      file,
      config(anvils.slice(0, 1))
        .replace('PORT', String(await freePort()))
        .replace('workers: 2', `workers: ${workers}`)
        .replace('    chainId: 31337\n', `    chainId: 31337\n    listen: { port: ${taken} }\n`)
        .replace(join(dir, 'journal.sqlite'), join(dir, `taken-${workers}.sqlite`)),
    )
    const failing = startSwitchyard(file)
    try {
      expect(await failing.exit).toBe(1)
      expect(failing.stderr()).toMatch(/EADDRINUSE/)
      if (workers > 1) expect(failing.logs.some((line) => line.role === 'primary' && /exited before it listened/.test(line.msg))).toBe(true)
      expect(failing.logs.filter((line) => /forking it again/.test(line.msg))).toEqual([])
    } finally {
      await failing.kill()
      blocker.close()
    }
  })

  test('workers drain and exit when their primary is killed (SIGKILL)', async () => {
    const file = join(dir, 'orphan.yaml')
    await writeFile(file, config(anvils.slice(0, 1)).replace('PORT', String(await freePort())).replace(join(dir, 'journal.sqlite'), join(dir, 'orphan.sqlite')))
    const orphaned = startSwitchyard(file)
    try {
      // The primary's line names both (a worker's own line may come later through the shared pipe).
      const pids = (await orphaned.waitForLog(/^switchyard cluster: 2 workers listening/)).pids as number[]
      expect(pids).toHaveLength(2)
      orphaned.child.kill('SIGKILL')
      await orphaned.exit
      await waitFor(() => pids.every((pid) => !alive(pid)), { timeoutMs: 20_000, what: 'workers gone after their primary' })
      // Each drained (requests in flight answered, journal closed) rather than being cut off.
      expect(new Set(orphaned.logs.filter((line) => /^shutdown: done/.test(line.msg)).map((line) => line.pid))).toEqual(new Set(pids))
    } finally {
      await orphaned.kill()
      for (const pid of (orphaned.logs.find((line) => line.role === 'primary')?.pids as number[] | undefined) ?? []) if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  })
})
