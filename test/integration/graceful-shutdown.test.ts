/**
 * SIGTERM of the real CLI process under a steady load (4 concurrent readers on keep-alive
 * connections, broadcasts one after another, an open event stream) against real anvil nodes:
 * /readyz turns 503 at once while new connections are still served during the grace period;
 * every response from then on says `Connection: close`; a read and a broadcast held at the nodes
 * across the listener's close are still answered; the event stream ends; the process exits 0;
 * the journal on disk has every broadcast a client was answered for.
 *
 * The nodes sit behind a scripted front only to hold two answers until the test releases them
 * (no real node answers late on demand); everything else is the anvils' own answers.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from 'undici'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { SqliteJournal } from '../../src/broadcast/sqlite-journal.js'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { recordFigure } from '../support/figures.js'
import { type NodeFront, gate, startNodeFront } from '../support/node-front.js'
import { type Load, sendRpc, signTransfer, startBroadcasts, startReaders } from '../support/rpc-load.js'
import { type SwitchyardProcess, startSwitchyard } from '../support/switchyard-process.js'

/** Anvil's funded account 1: the held broadcast's sender (account 0 is the steady sender's). */
const HELD_SENDER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
/** An address only the held read asks about. */
const HELD_ADDRESS = '0x00000000000000000000000000000000000b0b01'
const ADMIN_TOKEN = 'graceful-shutdown-admin-token'
const GRACE_MS = 3_000

let anvils: AnvilNode[] = []
let fronts: NodeFront[] = []
let proxy: SwitchyardProcess
const processes: SwitchyardProcess[] = []
const loads: Load[] = []
const clients: Client[] = []

beforeAll(async () => {
  anvils = await Promise.all([0, 1].map((index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  fronts = await Promise.all(anvils.map((anvil) => startNodeFront(anvil.url)))
})

afterAll(async () => {
  await Promise.all(loads.map((load) => load.stop()))
  await Promise.all(clients.map((client) => client.destroy()))
  await Promise.all(processes.map((instance) => instance.kill()))
  await Promise.all(fronts.map((front) => front.close()))
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

test('SIGTERM under load: /readyz 503 during the grace, every accepted request and broadcast answered, Connection: close, exit 0, journal complete', async () => {
  const heldRead = gate()
  const heldBroadcast = gate()
  const heldRaw = await signTransfer(HELD_SENDER_KEY, 0)
  for (const front of fronts) {
    front.on('eth_getBalance', async (params, forward) => {
      if (!(Array.isArray(params) && String(params[0]).toLowerCase() === HELD_ADDRESS)) return undefined
      heldRead.arrive()
      await heldRead.wait
      return await forward()
    })
    front.on('eth_sendRawTransaction', async (params, forward) => {
      if (!(Array.isArray(params) && params[0] === heldRaw)) return undefined
      heldBroadcast.arrive()
      await heldBroadcast.wait
      return await forward()
    })
  }

  const { base, journalPath, configFile } = await writeConfig({ graceMs: GRACE_MS, drainMs: 30_000 })
  proxy = start(configFile)
  await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 20_000, what: 'switchyard ready' })

  // Steady load, an open event stream, and one read and one broadcast held at the nodes.
  const readers = startReaders(base, { readers: 4, chain: 'eth' })
  const broadcasts = startBroadcasts(base, { chain: 'eth' })
  loads.push(readers, broadcasts)
  const events = await fetch(`${base}/admin/api/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  expect(events.status).toBe(200)
  const eventStreamEnded = events.text().then(
    () => 'ended',
    () => 'ended',
  )
  const heldClient = new Client(base)
  clients.push(heldClient)
  const heldReadAnswer = sendRpc(heldClient, '/rpc/eth', { method: 'eth_getBalance', params: [HELD_ADDRESS, 'latest'] })
  const heldBroadcastClient = new Client(base)
  clients.push(heldBroadcastClient)
  const heldBroadcastAnswer = sendRpc(heldBroadcastClient, '/rpc/eth', { method: 'eth_sendRawTransaction', params: [heldRaw] })
  await Promise.all([heldRead.reached, heldBroadcast.reached])
  await waitFor(() => readers.outcomes.length >= 100 && broadcasts.outcomes.length >= 5, { timeoutMs: 20_000, what: 'steady load' })

  const signalledAt = performance.now()
  proxy.child.kill('SIGTERM')
  await proxy.waitForLog(/^shutdown: draining/)
  // At once: readiness is off, on a new connection (new connections are still accepted).
  const readyz = await fetch(`${base}/readyz`, { headers: { connection: 'close' } })
  const drainingSeenAt = performance.now()
  expect(readyz.status).toBe(503)
  expect(await readyz.json()).toMatchObject({ ready: false, draining: true })
  const fresh = new Client(base)
  clients.push(fresh)
  const freshAnswer = await sendRpc(fresh, '/rpc/eth', { method: 'eth_getBalance', params: [HELD_ADDRESS.replace('b01', 'b02'), 'latest'] })
  expect(freshAnswer).toMatchObject({ ok: true, status: 200, connection: 'close' })

  // Clients keep going during the grace (reconnecting after each Connection: close), then stop as
  // a balancer's clients would once it took the instance out.
  await waitFor(() => readers.since(drainingSeenAt).length >= 8 && broadcasts.since(drainingSeenAt).length >= 1, {
    timeoutMs: 20_000,
    what: 'reads and a broadcast during the grace period',
  })
  await readers.stop()
  await broadcasts.stop()
  expect(proxy.logs.some((line) => /^shutdown: listener closed/.test(line.msg))).toBe(false)

  // The listener closes after the grace; the held calls keep the process draining.
  await proxy.waitForLog(/^shutdown: listener closed/)
  await waitFor(async () => (await fetch(`${base}/readyz`).then(() => 'served', (error: Error & { cause?: { code?: string } }) => error.cause?.code)) === 'ECONNREFUSED', {
    what: 'the listener to refuse connections',
  })
  expect(proxy.child.exitCode).toBeNull()
  expect(await eventStreamEnded).toBe('ended')

  heldRead.release()
  heldBroadcast.release()
  const [readAnswer, broadcastAnswer] = await Promise.all([heldReadAnswer, heldBroadcastAnswer])
  expect(readAnswer).toMatchObject({ ok: true, status: 200, result: '0x0', connection: 'close' })
  expect(broadcastAnswer).toMatchObject({ ok: true, status: 200, connection: 'close' })
  expect(broadcastAnswer.result).toMatch(/^0x[0-9a-f]{64}$/)

  expect(await proxy.exit).toBe(0)
  const exitedAfterMs = performance.now() - signalledAt
  const done = await proxy.waitForLog(/^shutdown: done/)
  expect(done).toMatchObject({ outcome: 'drained', exitCode: 0, signal: 'SIGTERM' })

  // No request the proxy accepted failed: not one socket error, reset or 503.
  const all = [...readers.outcomes, ...broadcasts.outcomes]
  expect(all.filter((outcome) => !outcome.ok)).toEqual([])
  // Every response to a request sent after the drain began told its keep-alive client to close.
  expect(all.filter((outcome) => outcome.startedAt >= drainingSeenAt && outcome.connection !== 'close')).toEqual([])

  // Every broadcast a client was answered for is in the journal on disk, which was closed cleanly
  // (no write-ahead log left behind), and reached both nodes.
  const txids = [...broadcasts.outcomes.map((outcome) => outcome.result as string), broadcastAnswer.result as string]
  expect(existsSync(`${journalPath}-wal`)).toBe(false)
  const journal = new SqliteJournal(journalPath)
  try {
    const missing: string[] = []
    for (const txid of txids) if ((await journal.get('eth', txid)) === undefined) missing.push(txid)
    expect(missing).toEqual([])
  } finally {
    await journal.close()
  }
  for (const anvil of anvils) {
    for (const txid of txids) expect(await anvil.rpc('eth_getTransactionByHash', [txid]), `${txid} on ${anvil.id}`).not.toBeNull()
  }

  recordFigure('shutdown.requestsSent', all.length + 3)
  recordFigure('shutdown.requestsFailed', all.filter((outcome) => !outcome.ok).length)
  recordFigure('shutdown.broadcastsAccepted', txids.length)
  recordFigure('shutdown.graceMs', Number(done.graceMs))
  recordFigure('shutdown.drainMs', Number(done.drainMs))
  recordFigure('shutdown.signalToExitMs', Math.round(exitedAfterMs))
}, 120_000)

test('a second signal during the drain exits at once with 128 + its number (SIGINT: 130)', async () => {
  const { base, configFile } = await writeConfig({ graceMs: 600_000, drainMs: 600_000 })
  proxy = start(configFile)
  await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 20_000, what: 'switchyard ready' })
  proxy.child.kill('SIGTERM')
  await proxy.waitForLog(/^shutdown: draining/)
  proxy.child.kill('SIGINT')
  expect(await proxy.exit).toBe(130)
  expect(await proxy.waitForLog(/^shutdown: SIGINT during grace/)).toMatchObject({ outcome: 'forced', exitCode: 130 })
}, 60_000)

test('a request still open drainMs after the listener closed is cut: exit 1, and the log says so', async () => {
  const held = gate()
  for (const front of fronts) {
    front.on('eth_getBalance', async (params, forward) => {
      if (!(Array.isArray(params) && String(params[0]).toLowerCase() === HELD_ADDRESS)) return undefined
      held.arrive()
      await held.wait
      return await forward()
    })
  }
  try {
    const { base, configFile } = await writeConfig({ graceMs: 0, drainMs: 300 })
    proxy = start(configFile)
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 20_000, what: 'switchyard ready' })
    const client = new Client(base)
    clients.push(client)
    const answer = sendRpc(client, '/rpc/eth', { method: 'eth_getBalance', params: [HELD_ADDRESS, 'latest'] })
    await held.reached
    proxy.child.kill('SIGTERM')
    expect(await proxy.exit).toBe(1)
    expect(await answer).toMatchObject({ ok: false, error: expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET/) })
    const line = await proxy.waitForLog(/^shutdown: work was still in flight 300 ms after the listener closed/)
    expect(line).toMatchObject({ outcome: 'deadline', exitCode: 1 })
    recordFigure('shutdown.deadlineCutDrainMs', Number(line.drainMs))
  } finally {
    held.release()
  }
}, 60_000)

/** A config over the two fronted anvils, its own journal file and port, and the given shutdown timings. */
async function writeConfig(shutdown: { graceMs: number; drainMs: number }): Promise<{ base: string; journalPath: string; configFile: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-shutdown-'))
  const journalPath = join(dir, 'journal.sqlite')
  const port = await freePort()
  const configFile = join(dir, 'switchyard.yaml')
  await writeFile(
    configFile,
    `server: { port: ${port} }
log: { level: info }
journal: { path: "${journalPath}" }
admin: { token: "${ADMIN_TOKEN}" }
shutdown: { graceMs: ${shutdown.graceMs}, drainMs: ${shutdown.drainMs} }
chains:
  eth:
    family: evm
    chainId: 31337
    # The held calls stay at the nodes across the grace period: no timeout may end them first.
    requestTimeoutMs: 60000
    routing: { deadlineMs: 60000 }
    broadcast: { timeoutMs: 60000 }
    nodes:
${fronts.map((front, index) => `      - { id: eth-${index}, url: "${front.url}" }`).join('\n')}
`,
  )
  return { base: `http://127.0.0.1:${port}`, journalPath, configFile }
}

function start(configFile: string): SwitchyardProcess {
  const instance = startSwitchyard(configFile)
  processes.push(instance)
  return instance
}
