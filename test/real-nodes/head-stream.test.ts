/**
 * The head stream (`proxy.streams(chain).subscribeHeads`) against real anvils that are one chain:
 * every height once and in order from the subscription on, blocks equal to the nodes' own, no gap
 * while the node serving it dies, a reorg reported with the removed blocks and followed by the new
 * branch, and nothing running while nobody listens.
 */
import { afterEach, expect, test } from 'vitest'
import { type AnvilNode, BLOCK_INTERVAL_SEC, mineBlocksAt, startAnvil } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import type { HeadStreamEvent } from '../../src/streams/chain-streams.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

let anvils: AnvilNode[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  anvils = []
})

/** Anvils that are one chain, behind a proxy probed only by hand (each `probe()` is one round). */
async function chain(count: number, weights: number[] = []): Promise<TestProxy> {
  anvils = await Promise.all(Array.from({ length: count }, (_, index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  harness = await startTestProxy({
    chains: {
      eth: {
        family: 'evm',
        chainId: 31337,
        requestTimeoutMs: 2_000,
        health: { intervalMs: 600_000, timeoutMs: 2_000 },
        nodes: anvils.map((anvil, index) => ({ id: anvil.id, url: anvil.url, weight: weights[index] ?? 1 })),
      },
    },
  })
  await harness.probe()
  return harness
}

async function hashAt(anvil: AnvilNode, height: number): Promise<string> {
  const block = (await anvil.rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { hash: string }
  return block.hash
}

function heights(events: HeadStreamEvent[]): number[] {
  return events.flatMap((event) => (event.kind === 'head' ? [event.head.height] : []))
}

test('every height once, in order, equal to the nodes own blocks, with no gap while the node serving the stream is killed', async () => {
  // eth-0 weighs 1000: it serves (nearly) every read of the stream until it is killed.
  const proxy = await chain(3, [1000, 1, 1])
  const streams = proxy.proxy.streams('eth')!
  expect(streams).toBeDefined()
  const events: HeadStreamEvent[] = []
  const unsubscribe = streams.subscribeHeads((event) => events.push(event))
  // The stream starts at the current head (0); the first block after it is 1.
  expect(streams.stats?.().headSubscribers).toBe(1)
  const served = new Set<string>()
  const completed = proxy.proxy.events.subscribe({ 'request:complete': (event) => event.nodeId !== undefined && served.add(event.nodeId) })

  let height = 0
  // Single blocks, then jumps of 5 (backfilled oldest first), on every node.
  for (const step of [1, 1, 5, 1, 5]) {
    await Promise.all(anvils.map((anvil) => anvil.mine(step)))
    height += step
    await proxy.probe()
    await waitFor(() => heights(events).at(-1) === height, { what: `head ${height} delivered` })
  }
  const killedAt = height
  await anvils[0]!.stop()
  const survivors = anvils.slice(1)
  for (const step of [1, 3, 1, 7]) {
    await Promise.all(survivors.map((anvil) => anvil.mine(step)))
    height += step
    await proxy.probe()
    await waitFor(() => heights(events).at(-1) === height, { timeoutMs: 20_000, what: `head ${height} delivered after the kill` })
  }
  unsubscribe()
  completed()

  expect(events.every((event) => event.kind === 'head')).toBe(true)
  expect(heights(events)).toEqual(Array.from({ length: height }, (_, index) => index + 1))
  // Each delivered block is the nodes' own, and links to the one before it.
  const delivered = events.flatMap((event) => (event.kind === 'head' ? [event.head] : []))
  for (const head of delivered) expect(head.hash).toBe(await hashAt(survivors[0]!, head.height))
  for (let index = 1; index < delivered.length; index++) expect(delivered[index]!.parentHash).toBe(delivered[index - 1]!.hash)
  expect((delivered[0]!.header as { number: string }).number).toBe('0x1')
  expect(served.size).toBe(0) // stream reads are switchyard's own: no client request was counted
  expect(streams.stats?.().headSubscribers).toBe(0)
  recordFigure('streams.headsDelivered', delivered.length)
  recordFigure('streams.headsDeliveredAfterKill', height - killedAt)
})

test('a reorg is reported with the removed blocks, then the new branch is delivered in order', async () => {
  const proxy = await chain(3)
  const streams = proxy.proxy.streams('eth')!
  const events: HeadStreamEvent[] = []
  const unsubscribe = streams.subscribeHeads((event) => events.push(event))
  await Promise.all(anvils.map((anvil) => anvil.mine(3)))
  await proxy.probe()
  await waitFor(() => heights(events).at(-1) === 3, { what: 'head 3' })
  const snapshots = await Promise.all(anvils.map((anvil) => anvil.rpc('evm_snapshot')))
  await Promise.all(anvils.map((anvil) => anvil.mine(2)))
  await proxy.probe()
  await waitFor(() => heights(events).at(-1) === 5, { what: 'head 5 on the first branch' })
  const oldBranch = await Promise.all([4, 5].map((height) => hashAt(anvils[0]!, height)))

  // Back to block 3 on every node, and a longer branch with other timestamps (so other hashes).
  await Promise.all(anvils.map((anvil, index) => anvil.rpc('evm_revert', [snapshots[index]])))
  const genesis = anvils[0]!.genesisTimestamp
  await Promise.all(
    anvils.map(async (anvil) => {
      await mineBlocksAt(anvil.rpc, genesis + BLOCK_INTERVAL_SEC * 4 + 5, 4)
    }),
  )
  const newBranch = await Promise.all([4, 5, 6, 7].map((height) => hashAt(anvils[0]!, height)))
  expect(newBranch[0]).not.toBe(oldBranch[0])
  await proxy.probe()
  await waitFor(() => heights(events).at(-1) === 7, { what: 'head 7 on the new branch' })
  unsubscribe()

  const reorgs = events.filter((event) => event.kind === 'reorg')
  expect(reorgs).toHaveLength(1)
  const reorg = reorgs[0]!
  if (reorg.kind !== 'reorg') throw new Error('not a reorg')
  expect(reorg.fromHeight).toBe(4)
  expect(reorg.removed.map((head) => head.hash)).toEqual(oldBranch)
  // Before the reorg 1..5, after it the new branch 4..7, each block once.
  const at = events.indexOf(reorg)
  expect(heights(events.slice(0, at))).toEqual([1, 2, 3, 4, 5])
  const after = events.slice(at + 1).flatMap((event) => (event.kind === 'head' ? [event.head] : []))
  expect(after.map((head) => head.height)).toEqual([4, 5, 6, 7])
  expect(after.map((head) => head.hash)).toEqual(newBranch)
})

test('a late subscriber starts at the head as it is; unsubscribing the last listener stops the stream', async () => {
  const proxy = await chain(2)
  const streams = proxy.proxy.streams('eth')!
  await Promise.all(anvils.map((anvil) => anvil.mine(4)))
  await proxy.probe()
  expect(streams.stats?.()).toEqual({ headSubscribers: 0, logSubscribers: 0, filters: 0, pendingListeners: 0 })
  const first: HeadStreamEvent[] = []
  const second: HeadStreamEvent[] = []
  const stopFirst = streams.subscribeHeads((event) => first.push(event))
  const stopSecond = streams.subscribeHeads((event) => second.push(event))
  // A listener that throws is its own problem: the stream and the others go on.
  const stopThrowing = streams.subscribeHeads(() => {
    throw new Error('a failing subscriber')
  })
  expect(streams.stats?.().headSubscribers).toBe(3)
  await Promise.all(anvils.map((anvil) => anvil.mine(1)))
  await proxy.probe()
  await waitFor(() => heights(first).length > 0 && heights(second).length > 0, { what: 'the first head' })
  expect(heights(first)).toEqual([5])
  expect(heights(second)).toEqual([5])
  stopFirst()
  stopFirst() // twice is once
  expect(streams.stats?.().headSubscribers).toBe(2)
  await Promise.all(anvils.map((anvil) => anvil.mine(1)))
  await proxy.probe()
  await waitFor(() => heights(second).length === 2, { what: 'head 6' })
  expect(heights(first)).toEqual([5])
  stopSecond()
  stopThrowing()
  expect(streams.stats?.().headSubscribers).toBe(0)
})
