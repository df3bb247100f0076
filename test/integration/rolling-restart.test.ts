/**
 * A rolling restart under load: two switchyard CLI processes behind a TCP balancer (round-robin
 * over backends whose /readyz is 200), 4 concurrent readers and a steady stream of broadcasts
 * through the balancer, against two real anvil nodes (one chain). One instance gets SIGTERM,
 * drains, exits 0 and is started again on the same port; then the other. Not one request fails.
 *
 * The SQLite journal has one owner (an exclusive lock), so each instance has its own file: a
 * broadcast is followed (rebroadcast, confirmations, the admin API) by the instance that accepted
 * it, and by that instance again after its restart, since it reopens the same file.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { SqliteJournal } from '../../src/broadcast/sqlite-journal.js'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { recordFigure } from '../support/figures.js'
import { type Load, startBroadcasts, startReaders } from '../support/rpc-load.js'
import { type SwitchyardProcess, startSwitchyard } from '../support/switchyard-process.js'
import { type TcpBalancer, startTcpBalancer } from '../support/tcp-balancer.js'

/** Far above the balancer's 50 ms health check, so it always takes the instance out first. */
const GRACE_MS = 2_000

let anvils: AnvilNode[] = []
let balancer: TcpBalancer | undefined
const processes: SwitchyardProcess[] = []
const loads: Load[] = []

afterAll(async () => {
  await Promise.all(loads.map((load) => load.stop()))
  await balancer?.close()
  await Promise.all(processes.map((instance) => instance.kill()))
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

interface Instance {
  name: string
  port: number
  configFile: string
  journalPath: string
  process: SwitchyardProcess
}

test('restart one instance, then the other, under load behind a balancer: zero failed requests, zero lost broadcasts', async () => {
  anvils = await Promise.all([0, 1].map((index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-rolling-'))
  const instances: Instance[] = []
  for (const name of ['a', 'b']) {
    const port = await freePort()
    const journalPath = join(dir, `journal-${name}.sqlite`)
    const configFile = join(dir, `switchyard-${name}.yaml`)
    await writeFile(
      configFile,
      `server: { port: ${port} }
log: { level: info }
journal: { path: "${journalPath}" }
shutdown: { graceMs: ${GRACE_MS}, drainMs: 30000 }
chains:
  eth:
    family: evm
    chainId: 31337
    nodes:
${anvils.map((anvil) => `      - { id: ${anvil.id}, url: "${anvil.url}" }`).join('\n')}
`,
    )
    instances.push({ name, port, configFile, journalPath, process: start(configFile) })
  }
  balancer = await startTcpBalancer(instances.map((instance) => instance.port))
  const lb = balancer
  const backend = (instance: Instance) => lb.backends.find((candidate) => candidate.port === instance.port)!
  await waitFor(() => lb.backends.every((candidate) => candidate.healthy), { timeoutMs: 30_000, what: 'both instances ready behind the balancer' })

  const readers = startReaders(lb.url, { readers: 4, chain: 'eth' })
  const broadcasts = startBroadcasts(lb.url, { chain: 'eth' })
  loads.push(readers, broadcasts)
  await waitFor(() => backend(instances[0]!).connections > 0 && backend(instances[1]!).connections > 0 && readers.outcomes.length >= 50, {
    timeoutMs: 20_000,
    what: 'load on both instances',
  })

  let connectionsAfterFirstRestart = Number.POSITIVE_INFINITY
  for (const instance of instances) {
    if (instance === instances[1]) connectionsAfterFirstRestart = backend(instances[0]!).connections
    const signalledAt = performance.now()
    const servedBefore = readers.outcomes.length
    instance.process.child.kill('SIGTERM')
    await waitFor(() => !backend(instance).healthy, { what: `the balancer to take ${instance.name} out` })
    recordFigure(`rolling.${instance.name}.outOfBalancerAfterMs`, Math.round(performance.now() - signalledAt))
    expect(await instance.process.exit, `${instance.name} exit code; stderr: ${instance.process.stderr()}`).toBe(0)
    const exitedAt = performance.now()
    expect([...readers.outcomes, ...broadcasts.outcomes].filter((outcome) => !outcome.ok), `failed requests while ${instance.name} shut down`).toEqual([])
    const done = await instance.process.waitForLog(/^shutdown: done/)
    expect(done).toMatchObject({ outcome: 'drained', exitCode: 0 })
    recordFigure(`rolling.${instance.name}.drainMs`, Number(done.drainMs))
    recordFigure(`rolling.${instance.name}.signalToExitMs`, Math.round(exitedAt - signalledAt))
    // The other instance carried the load meanwhile.
    expect(readers.outcomes.length).toBeGreaterThan(servedBefore)

    // Kept-alive client connections stay where they are (an L4 balancer does not move them): the
    // restarted instance gets new connections, e.g. every client of the next one to restart.
    instance.process = start(instance.configFile)
    await waitFor(() => backend(instance).healthy, { timeoutMs: 30_000, what: `restarted ${instance.name} back in the balancer` })
    recordFigure(`rolling.${instance.name}.exitToBackInBalancerMs`, Math.round(performance.now() - exitedAt))
  }
  // The clients of the instance restarted last moved to the one restarted first.
  expect(backend(instances[0]!).connections).toBeGreaterThan(connectionsAfterFirstRestart)
  const finishedAt = performance.now()
  await waitFor(() => readers.since(finishedAt).length >= 20 && broadcasts.since(finishedAt).length >= 2, { timeoutMs: 20_000, what: 'load after the rolling restart' })
  await readers.stop()
  await broadcasts.stop()

  const failedReads = readers.outcomes.filter((outcome) => !outcome.ok)
  const failedBroadcasts = broadcasts.outcomes.filter((outcome) => !outcome.ok)
  recordFigure('rolling.requestsSent', readers.outcomes.length)
  recordFigure('rolling.requestsFailed', failedReads.length)
  recordFigure('rolling.broadcastsSent', broadcasts.outcomes.length)
  recordFigure('rolling.broadcastsFailed', failedBroadcasts.length)
  recordFigure('rolling.connectsMovedOnRefusal', lb.movedOnRefusal)
  expect(failedReads).toEqual([])
  expect(failedBroadcasts).toEqual([])
  expect(lb.unplaced).toBe(0)

  // Zero lost broadcasts: every answered txid is on both nodes and in the journal of the instance that took it.
  const txids = broadcasts.outcomes.map((outcome) => outcome.result as string)
  for (const anvil of anvils) {
    for (const txid of txids) expect(await anvil.rpc('eth_getTransactionByHash', [txid]), `${txid} on ${anvil.id}`).not.toBeNull()
  }
  await Promise.all(instances.map(async (instance) => {
    instance.process.child.kill('SIGTERM')
    expect(await instance.process.exit).toBe(0)
  }))
  const journaled = new Set<string>()
  for (const instance of instances) {
    const journal = new SqliteJournal(instance.journalPath)
    try {
      for (const txid of txids) if ((await journal.get('eth', txid)) !== undefined) journaled.add(txid)
    } finally {
      await journal.close()
    }
  }
  expect(txids.filter((txid) => !journaled.has(txid))).toEqual([])
}, 180_000)

function start(configFile: string): SwitchyardProcess {
  const instance = startSwitchyard(configFile)
  processes.push(instance)
  return instance
}
