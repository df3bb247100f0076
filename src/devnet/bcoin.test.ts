import { createServer } from 'node:net'
import { payments } from 'bitcoinjs-lib'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { recordFigure } from '../../test/support/figures.js'
import { BCOIN_REGTEST_BURN_ADDRESS, type BcoinNode, bcoinRegtestNetwork, copyBlocks, copyChain, forkPoint, startBcoin, startPeeredBcoins, waitForHeight } from './bcoin.js'

const started: BcoinNode[] = []
afterAll(async () => {
  await Promise.all(started.map((node) => node.stop()))
})

async function tips(nodes: readonly BcoinNode[]): Promise<unknown[]> {
  return await Promise.all(nodes.map((node) => node.rpc('getbestblockhash')))
}

describe('three peered nodes', () => {
  let nodes: BcoinNode[] = []
  beforeAll(async () => {
    const startedAt = performance.now()
    nodes = await startPeeredBcoins(3)
    started.push(...nodes)
    recordFigure('bitcoin.peeredStartMs', Math.round(performance.now() - startedAt))
  })

  test('5 blocks mined on node 0 reach all three, and one more block propagates', async () => {
    const [hub] = nodes as [BcoinNode]
    expect(await hub.generate(5)).toHaveLength(5)
    await Promise.all(nodes.map((node) => waitForHeight(node, 5)))
    expect(new Set(await tips(nodes)).size).toBe(1)

    const minedAt = performance.now()
    await hub.generate(1)
    await Promise.all(nodes.map((node) => waitForHeight(node, 6, 5_000)))
    recordFigure('bitcoin.peeredPropagationMs', Math.round(performance.now() - minedAt))
  })

  test('an isolated node keeps answering but gets no blocks; after reconnect it catches up', async () => {
    const [hub, leaf, other] = nodes as [BcoinNode, BcoinNode, BcoinNode]
    const start = await hub.height()
    await leaf.isolate()
    await hub.generate(3)
    await waitForHeight(other, start + 3)
    // The other leaf already has the blocks through the same hub, so the isolated one would have them by now.
    expect(await leaf.height()).toBe(start)

    await leaf.reconnect()
    await waitForHeight(leaf, start + 3)
    expect(new Set(await tips(nodes)).size).toBe(1)
  })
})

describe('single nodes', () => {
  test('copyBlocks gives an isolated node the same tip', async () => {
    const startedAt = performance.now()
    const [source, target] = await Promise.all([startBcoin({ id: 'source' }), startBcoin({ id: 'target' })])
    started.push(source, target)
    recordFigure('bitcoin.bcoinStartMs', Math.round(performance.now() - startedAt))
    await source.generate(101)
    await copyBlocks(source, [target], 1, 101)
    expect(await target.height()).toBe(101)
    expect(await target.rpc('getbestblockhash')).toBe(await source.rpc('getbestblockhash'))
    // Copying blocks the node already has is harmless.
    await copyBlocks(source, [target], 100, 101)
  })

  test('a real fork: two unlinked nodes mining apart; copyChain reorgs the one with less work onto the other', async () => {
    const [a, b] = await Promise.all([startBcoin({ id: 'fork-a' }), startBcoin({ id: 'fork-b' })])
    started.push(a, b)
    await a.generate(3)
    await copyBlocks(a, [b], 1, 3)
    await a.generate(3)
    // Another payout address: blocks mined in the same second on the same parent must still differ.
    await b.generate(2, payments.p2pkh({ hash: new Uint8Array(20).fill(1), network: bcoinRegtestNetwork }).address!)
    expect(await forkPoint(a, b)).toBe(3)
    expect(await a.rpc('getblockhash', [5])).not.toBe(await b.rpc('getblockhash', [5]))
    await copyChain(a, [b])
    expect(await b.height()).toBe(6)
    expect(await b.rpc('getbestblockhash')).toBe(await a.rpc('getbestblockhash'))
    expect(await forkPoint(a, b)).toBe(6)
  })

  test('the default payout address is a valid address for bcoin regtest', async () => {
    const node = await startBcoin()
    started.push(node)
    expect(await node.rpc('validateaddress', [BCOIN_REGTEST_BURN_ADDRESS])).toMatchObject({ isvalid: true })
  })

  test('restart keeps the ports and starts a fresh in-memory chain; stop is idempotent', async () => {
    const node = await startBcoin({ id: 'restarting', apiKey: 'secret' })
    started.push(node)
    expect(node.url).toBe(`http://x:secret@127.0.0.1:${node.httpPort}/`)
    await node.generate(2)
    const pid = node.pid
    await node.restart()
    expect(node.pid).not.toBe(pid)
    expect(await node.height()).toBe(0)
    await node.stop()
    await node.stop()
    await expect(node.height()).rejects.toThrow()
  })

  test('a node whose P2P port another process holds is not ready: restart on that port fails with bcoin\'s EADDRINUSE', async () => {
    const node = await startBcoin()
    started.push(node)
    await node.stop()
    // bcoin serves RPC before it binds P2P; ready means both (else a start "succeeds" and the node dies after).
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(node.p2pPort, '127.0.0.1', resolve))
    try {
      await expect(node.restart()).rejects.toThrow(/exited during start[\s\S]*EADDRINUSE/)
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })

  test('an RPC error throws with the node message', async () => {
    const node = await startBcoin()
    started.push(node)
    await expect(node.rpc('getblockhash', [10])).rejects.toThrow(/getblockhash: Block height out of range/)
  })

  test('a peer that is not host:port is refused before anything starts', async () => {
    await expect(startBcoin({ peers: ['nowhere'] })).rejects.toThrow('peer "nowhere" is not host:port')
  })
})
