/**
 * Chaos on an EVM chain: three real anvils of one chain, each behind a fault proxy, switchyard in
 * process, 4 readers and a stream of signed transfers throughout. One node at a time is killed,
 * frozen, blackholed, made to answer garbage or drip its replies, or left behind; each scenario
 * holds the fault for a few probe rounds, ends it, and checks: no read failed (or was answered
 * wrong) while a node was healthy, no accepted transfer is missing on a healthy node, the node
 * was ejected within its bound in probe rounds and is healthy and serving again after the fault.
 * Last, the config is reloaded under the same load: a node added, one removed, a weight changed.
 * Figures: test-output/chaos.json.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { faults } from '../support/fault-proxy.js'
import type { ProxyConfigInput } from '../../src/config/schema.js'
import { parseConfig } from '../../src/index.js'
import { ChaosHarness, EJECTION_ROUNDS, expectCleanScenario, runAndCheck } from './chaos-harness.js'
import { EvmCluster, type EvmChaosNode } from './evm-cluster.js'

const { failing: FAILING_NODE_ROUNDS, hanging: HANGING_NODE_ROUNDS, height: HEIGHT_ROUNDS } = EJECTION_ROUNDS

let cluster: EvmCluster
let harness: ChaosHarness | undefined

beforeAll(async () => {
  cluster = await EvmCluster.start(['eth-a', 'eth-b', 'eth-c'])
  harness = await ChaosHarness.start(cluster)
}, 60_000)

afterAll(async () => {
  await harness?.close()
  await cluster?.close()
})

/** The reference node (eth-a) is never faulted: blocks are copied from it. */
const victim = () => cluster.node('eth-c')

test('kill -9 of a node, restarted on the same port with the chain\'s blocks', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'evm.kill-9',
    victim: node.id,
    ejectWithinRounds: FAILING_NODE_ROUNDS,
    fault: async () => node.anvil.signal('SIGKILL'),
    restore: async () => await cluster.restart(node),
  })
}, 60_000)

test('SIGSTOP of a node (it hangs), then SIGCONT', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'evm.sigstop',
    victim: node.id,
    ejectWithinRounds: HANGING_NODE_ROUNDS,
    fault: async () => node.anvil.signal('SIGSTOP'),
    restore: async () => node.anvil.signal('SIGCONT'),
  })
}, 60_000)

test('a blackholed node (connections accepted, never answered)', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'evm.blackhole',
    victim: node.id,
    ejectWithinRounds: HANGING_NODE_ROUNDS,
    fault: async () => node.faults.setFault(faults.blackhole),
    restore: async () => node.faults.setFault(faults.none),
  })
  expect(node.faults.stats.swallowed).toBeGreaterThan(0)
}, 60_000)

test('a node answering garbage (non-HTTP bytes, cut replies, HTML, wrong ids)', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'evm.garbage',
    victim: node.id,
    ejectWithinRounds: FAILING_NODE_ROUNDS,
    fault: async () => node.faults.setFault(faults.garbage),
    restore: async () => node.faults.setFault(faults.none),
  })
  expect(node.faults.stats.garbageReplies).toBeGreaterThan(0)
}, 60_000)

test('a node dripping its replies a few bytes at a time', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'evm.slow-drip',
    victim: node.id,
    ejectWithinRounds: HANGING_NODE_ROUNDS,
    fault: async () => node.faults.setFault(faults.slowDrip({ bytes: 4, pauseMs: 50 })),
    restore: async () => node.faults.setFault(faults.none),
  })
  expect(node.faults.stats.dripWrites).toBeGreaterThan(0)
}, 60_000)

test('a lagging node: the others mine 5 blocks without it, then it catches up', async () => {
  const node = victim()
  const [a, b] = cluster.nodes
  await runAndCheck(harness!, {
    name: 'evm.lagging',
    victim: node.id,
    ejectedAs: ['lagging'],
    ejectWithinRounds: HEIGHT_ROUNDS,
    fault: async ({ load }) => {
      // Identical blocks need identical pools on the miners: no broadcast lands meanwhile.
      await load.pauseBroadcasts()
      try {
        await cluster.mine(harness!.proxy, 5, [a!, b!])
      } finally {
        load.resumeBroadcasts()
      }
    },
    restore: async () => await cluster.catchUp(node),
  })
}, 60_000)

test('hot reload under load: a node added, a node removed, a weight changed', async () => {
  const h = harness!
  await h.waitHealthy(cluster.nodes.map((node) => node.id))
  const window = h.window('evm.hot-reload')
  const load = h.startLoad()
  await load.warm(window.startedAt)
  const reload = async (nodes: readonly EvmChaosNode[], edit: (config: ProxyConfigInput) => void = () => undefined) => {
    const config = ChaosHarness.config(cluster, {}, nodes)
    edit(config)
    const result = await h.proxy.reload(parseConfig(config))
    cluster.setNodes(nodes)
    return result
  }
  const added = await cluster.addNode('eth-d')
  const grown = await reload([...cluster.nodes, added])
  expect(grown.changes).toContainEqual({ kind: 'node-added', chain: 'eth', nodeId: 'eth-d' })
  // Probed before it took traffic: healthy as soon as the reload is done.
  const snapshotStatus = (id: string) => h.proxy.snapshot().chains[0]!.nodes.find((node) => node.id === id)?.status
  expect(snapshotStatus('eth-d')).toBe('healthy')
  await h.waitRounds(3)
  const shrunk = await reload(cluster.nodes.filter((node) => node.id !== 'eth-b'))
  expect(shrunk.changes).toContainEqual({ kind: 'node-removed', chain: 'eth', nodeId: 'eth-b' })
  await h.waitRounds(3)
  const weighted = await reload(cluster.nodes, (config) => {
    ;(config.chains.eth!.nodes[0] as { weight?: number }).weight = 5
  })
  expect(weighted.changes).toEqual([{ kind: 'node-changed', chain: 'eth', nodeId: 'eth-a', fields: ['weight'], reconnected: false }])
  await h.waitRounds(3)
  const durations = [grown, shrunk, weighted].map((result) => Math.round(result.durationMs))
  expectCleanScenario(await h.finish(window, load, { extra: { reloads: 3, reloadMs: durations.join(' / ') } }))
}, 90_000)
