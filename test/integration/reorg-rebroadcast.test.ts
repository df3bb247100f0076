/**
 * A pool reorg (`chain:reorg`) makes the rebroadcaster check open broadcasts at once instead of at
 * its next interval: the block that held a confirmed withdrawal may have left the chain.
 */
import { Wallet } from 'ethers'
import { afterEach, expect, test } from 'vitest'
import { MemoryJournal } from '../../src/broadcast/broadcast-journal.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { createProxy } from '../../src/index.js'
import type { Proxy } from '../../src/proxy.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'

let nodes: FakeNode[] = []
let proxy: Proxy | undefined
afterEach(async () => {
  await proxy?.close()
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
  proxy = undefined
})

test('chain:reorg runs a rebroadcast round at once; other chains and a closed proxy are left alone', async () => {
  nodes = await Promise.all([startFakeNode({ chainId: 1, height: 100 }), startFakeNode({ chainId: 1, height: 100 })])
  const journal = new MemoryJournal()
  const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
  const raw = await wallet.signTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 1n, gasPrice: 1_000_000_000n, type: 0 })
  const { Transaction } = await import('ethers')
  const txid = Transaction.from(raw).hash!.toLowerCase()
  const now = Date.now()
  await journal.insert({ chain: 'eth', txid, raw, status: 'seen', firstSeenAt: now, updatedAt: now, confirmations: 0, rebroadcasts: 0, outcomes: [] })
  proxy = createProxy(
    {
      log: { level: 'silent' },
      chains: {
        eth: {
          family: 'evm',
          chainId: 1,
          // Neither probes nor rebroadcasts come round by themselves during the test.
          health: { intervalMs: 600_000 },
          broadcast: { rebroadcastIntervalMs: 600_000 },
          nodes: nodes.map((node, index) => ({ id: `n${index}`, url: node.url })),
        },
      },
    },
    { journal },
  )
  await proxy.start()
  const lookups = (): number => nodes.reduce((sum, node) => sum + node.calls.filter((method) => method === 'eth_getTransactionByHash').length, 0)
  expect(lookups()).toBe(0)

  proxy.events.emit('chain:reorg', { chain: 'other', height: 98, depth: 3, oldHash: '0xaa', newHash: '0xbb', at: now })
  proxy.events.emit('chain:reorg', { chain: 'eth', height: 98, depth: 3, oldHash: '0xaa', newHash: '0xbb', at: now })
  // The open record was looked up on the at-head nodes without waiting for the 10-minute interval.
  await waitFor(async () => lookups() >= 2, { timeoutMs: 10_000, what: 'lookups after the reorg event' })

  await proxy.close()
  const after = lookups()
  proxy.events.emit('chain:reorg', { chain: 'eth', height: 99, depth: 2, oldHash: '0xcc', newHash: '0xdd', at: now })
  expect(lookups()).toBe(after)
  expect(proxy.events.listenerCount('chain:reorg')).toBe(0)
})
