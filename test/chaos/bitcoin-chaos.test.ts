/**
 * Chaos on a bitcoin chain: three real bcoin regtest nodes peered over P2P (on disk, so a killed
 * node restarts with its chain), each behind a fault proxy, switchyard in process, 4 readers
 * (getblockcount, getbestblockhash, getblockhash, getrawtransaction of recent spends) and a stream
 * of signed spends throughout. One node at a time is killed, frozen, blackholed, forked
 * (partitioned and mined on separately) or left behind; each scenario holds the fault for a few
 * probe rounds, ends it and checks: no read failed (or was answered wrong) while a node was
 * healthy, no accepted spend is missing on a healthy node, the node was ejected within its bound in
 * probe rounds and is healthy and serving again after the fault. Figures: test-output/chaos.json.
 * The last test widens the one moment the forked scenario can only hit by chance: the probe round
 * that finds the fork.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type CallResult, createProxy } from '../../src/index.js'
import { faults } from '../support/fault-proxy.js'
import { recordFigure } from '../support/figures.js'
import { BitcoinCluster } from './bitcoin-cluster.js'
import { ChaosHarness, EJECTION_ROUNDS, runAndCheck } from './chaos-harness.js'

const { failing: FAILING_NODE_ROUNDS, hanging: HANGING_NODE_ROUNDS, height: HEIGHT_ROUNDS } = EJECTION_ROUNDS

let cluster: BitcoinCluster
let harness: ChaosHarness | undefined

beforeAll(async () => {
  cluster = await BitcoinCluster.start(['btc-a', 'btc-b', 'btc-c'])
  harness = await ChaosHarness.start(cluster)
}, 90_000)

afterAll(async () => {
  await harness?.close()
  await cluster?.close()
})

/** The reference node (btc-a, the P2P hub) is never faulted. */
const victim = () => cluster.node('btc-c')

test('kill -9 of a node, restarted with its chain from disk', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'bitcoin.kill-9',
    victim: node.id,
    ejectWithinRounds: FAILING_NODE_ROUNDS,
    fault: async () => node.bcoin.signal('SIGKILL'),
    restore: async () => await cluster.restart(node),
  })
}, 60_000)

test('SIGSTOP of a node (it hangs), then SIGCONT', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'bitcoin.sigstop',
    victim: node.id,
    ejectWithinRounds: HANGING_NODE_ROUNDS,
    fault: async () => node.bcoin.signal('SIGSTOP'),
    restore: async () => node.bcoin.signal('SIGCONT'),
  })
}, 60_000)

test('a blackholed node (connections accepted, never answered)', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'bitcoin.blackhole',
    victim: node.id,
    ejectWithinRounds: HANGING_NODE_ROUNDS,
    fault: async () => node.faults.setFault(faults.blackhole),
    restore: async () => node.faults.setFault(faults.none),
  })
  expect(node.faults.stats.swallowed).toBeGreaterThan(0)
}, 60_000)

test('a forked node: partitioned, 2 blocks of its own at the heights the majority mined; quarantined, then it rejoins and reorgs back', async () => {
  const node = victim()
  const result = await runAndCheck(harness!, {
    name: 'bitcoin.forked',
    victim: node.id,
    ejectedAs: ['forked'],
    ejectWithinRounds: HEIGHT_ROUNDS,
    fault: async () => await cluster.fork(node, 2),
    restore: async () => await cluster.rejoin(node),
  })
  expect(result.ejection?.reason).toMatch(/^block \d+ is .* here, .* on the majority/)
}, 60_000)

test('a lagging node: partitioned while the majority mines 2 blocks, then it catches up by P2P', async () => {
  const node = victim()
  await runAndCheck(harness!, {
    name: 'bitcoin.lagging',
    victim: node.id,
    ejectedAs: ['lagging'],
    ejectWithinRounds: HEIGHT_ROUNDS,
    fault: async () => {
      await node.bcoin.isolate()
      await cluster.mineMajority(2, cluster.nodes.filter((other) => other !== node))
    },
    restore: async () => {
      await node.bcoin.reconnect()
      await cluster.waitSame([node])
    },
  })
}, 60_000)

/**
 * The forked scenario above under the magnifying glass: probing by hand, so the probe round that
 * finds the fork is the first to see the new heights. A round applies the heights (the read head
 * moves to the new block) and only then asks every node for its hash there; one node of the
 * majority answers that question 150 ms late (a fault-proxy latency), and the tip reads a wallet
 * makes meanwhile are routed while the forked node is still healthy at the new head.
 */
test('reads made while the probe round that finds a fork is comparing hashes never get the forked node\'s blocks', async () => {
  const node = victim()
  const proxy = createProxy(ChaosHarness.config(cluster))
  const answers: Array<Promise<CallResult>> = []
  try {
    await proxy.probe(cluster.chain)
    expect(proxy.snapshot().chains[0]!.nodes.map((each) => each.status)).toEqual(['healthy', 'healthy', 'healthy'])
    const height = await cluster.reference.bcoin.height()
    await cluster.fork(node, 2)
    const forkHashes = new Set([(await node.rpc('getblockhash', [height + 1])) as string, (await node.rpc('getblockhash', [height + 2])) as string])
    const slow = cluster.reference
    slow.faults.setFault(faults.latency(150))
    proxy.events.subscribe({
      'chain:head': (event) => {
        // A wallet's tip reads just after switchyard's head moved (never inside its own event).
        if (event.head === height + 2) setImmediate(() => answers.push(...Array.from({ length: 30 }, () => proxy.call(cluster.chain, { method: 'getbestblockhash', params: [] }))))
      },
    })
    await proxy.probe(cluster.chain)
    expect(proxy.snapshot().chains[0]!.nodes.find((each) => each.id === node.id)!.status).toBe('forked')
    await waitFor(() => answers.length === 30, { what: 'the tip reads' })
    const results = await Promise.all(answers)
    const fromFork = results.filter((result) => forkHashes.has(String(result.answer.result))).map((result) => `${result.nodeId}: ${String(result.answer.result)}`)
    recordFigure('chaos.bitcoin.fork-round.forkedAnswersOf30', fromFork.length)
    expect(fromFork).toEqual([])
  } finally {
    await Promise.all(answers)
    await proxy.close()
    cluster.reference.faults.setFault(faults.none)
    await cluster.rejoin(node)
    await harness!.waitHealthy(cluster.nodes.map((each) => each.id))
  }
}, 60_000)
