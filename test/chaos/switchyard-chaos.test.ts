/**
 * Chaos on switchyard itself: a rolling restart under load. Two switchyard CLI processes (each
 * with its own journal) behind a TCP balancer that follows /readyz, in front of three real anvils
 * of one chain (through fault proxies, no fault); the chaos harness's 4 readers and stream of
 * transfers go through the balancer. One instance gets SIGTERM, drains, exits 0 and is started
 * again on the same port; then the other. Judged by the harness's accounting: no read failed
 * while a node was healthy (the nodes stay healthy: no read may fail at all), no accepted
 * transfer is missing on a node. Node health comes from an in-process switchyard watching the
 * same nodes. Figures: test-output/chaos.json (`evm.rolling-restart`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type SwitchyardProcess, startSwitchyard } from '../support/switchyard-process.js'
import { type TcpBalancer, startTcpBalancer } from '../support/tcp-balancer.js'
import { ChaosHarness, expectCleanScenario } from './chaos-harness.js'
import { EvmCluster } from './evm-cluster.js'

/** Far above the balancer's 50 ms health check, so it always takes the instance out first. */
const GRACE_MS = 2_000

let cluster: EvmCluster
let harness: ChaosHarness | undefined
let balancer: TcpBalancer | undefined
let dir: string | undefined
const processes: SwitchyardProcess[] = []

beforeAll(async () => {
  cluster = await EvmCluster.start(['eth-a', 'eth-b', 'eth-c'])
  harness = await ChaosHarness.start(cluster)
  dir = await mkdtemp(join(tmpdir(), 'switchyard-chaos-rolling-'))
}, 60_000)

afterAll(async () => {
  await balancer?.close()
  await Promise.all(processes.map((instance) => instance.kill()))
  await harness?.close()
  await cluster?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

interface Instance {
  name: string
  port: number
  configFile: string
  process: SwitchyardProcess
}

function start(configFile: string): SwitchyardProcess {
  const instance = startSwitchyard(configFile)
  processes.push(instance)
  return instance
}

test('rolling restart of two switchyard processes behind a balancer under load: no failed read, no lost broadcast', async () => {
  const instances: Instance[] = []
  for (const name of ['a', 'b']) {
    const port = await freePort()
    const configFile = join(dir!, `switchyard-${name}.yaml`)
    // JSON is YAML: the chain's config exactly as the in-process harness has it.
    const config = {
      server: { port },
      log: { level: 'info' },
      journal: { path: join(dir!, `journal-${name}.sqlite`) },
      shutdown: { graceMs: GRACE_MS, drainMs: 30_000 },
      chains: { [cluster.chain]: cluster.chainConfig() },
    }
    await writeFile(configFile, JSON.stringify(config, null, 2))
    instances.push({ name, port, configFile, process: start(configFile) })
  }
  balancer = await startTcpBalancer(instances.map((instance) => instance.port))
  const lb = balancer
  const backend = (instance: Instance) => lb.backends.find((candidate) => candidate.port === instance.port)!
  await waitFor(() => lb.backends.every((candidate) => candidate.healthy), { timeoutMs: 30_000, what: 'both instances ready behind the balancer' })

  const window = harness!.window('evm.rolling-restart')
  const load = harness!.startLoad({ baseUrl: lb.url })
  await load.warm(window.startedAt)
  await waitFor(() => backend(instances[0]!).connections > 0 && backend(instances[1]!).connections > 0, { timeoutMs: 20_000, what: 'load on both instances' })

  const extra: Record<string, number> = {}
  for (const instance of instances) {
    const signalledAt = performance.now()
    const servedBefore = load.reads.length
    instance.process.child.kill('SIGTERM')
    await waitFor(() => !backend(instance).healthy, { what: `the balancer to take ${instance.name} out` })
    extra[`${instance.name}.outOfBalancerMs`] = Math.round(performance.now() - signalledAt)
    expect(await instance.process.exit, `${instance.name} exit code; stderr: ${instance.process.stderr()}`).toBe(0)
    const exitedAt = performance.now()
    extra[`${instance.name}.signalToExitMs`] = Math.round(exitedAt - signalledAt)
    const done = await instance.process.waitForLog(/^shutdown: done/)
    expect(done).toMatchObject({ outcome: 'drained', exitCode: 0 })
    extra[`${instance.name}.drainMs`] = Number(done.drainMs)
    // The other instance carried the load meanwhile.
    expect(load.reads.length).toBeGreaterThan(servedBefore)

    instance.process = start(instance.configFile)
    await waitFor(() => backend(instance).healthy, { timeoutMs: 30_000, what: `restarted ${instance.name} back in the balancer` })
    extra[`${instance.name}.exitToBackInBalancerMs`] = Math.round(performance.now() - exitedAt)
  }
  const restartedAt = performance.now()
  await waitFor(() => load.reads.filter((read) => read.startedAt >= restartedAt).length >= 20 && load.broadcasts.some((sent) => sent.ok && sent.startedAt >= restartedAt), {
    timeoutMs: 20_000,
    what: 'load after the rolling restart',
  })

  const result = await harness!.finish(window, load, { extra: { ...extra, connectsMovedOnRefusal: lb.movedOnRefusal } })
  expectCleanScenario(result)
  // Not one failure: the nodes were healthy throughout.
  expect(result.noHealthyNodeMs).toBe(0)
  expect(result.reads.failed).toBe(0)
  expect(result.broadcasts.failed).toBe(0)
  expect(lb.unplaced).toBe(0)

  await Promise.all(
    instances.map(async (instance) => {
      instance.process.child.kill('SIGTERM')
      expect(await instance.process.exit).toBe(0)
    }),
  )
}, 120_000)
