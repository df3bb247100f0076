/**
 * Rebroadcast rounds on claimed records: a proxy alone on its journal checks every open record each
 * round, also far more than one claim batch; two proxies on one journal (two owners) split the
 * records, each checked by exactly one of them, and one takes the other's over only once its
 * lease ran out. Fake nodes answer the lookups, so every check is counted on the proxy that made it.
 */
import { Transaction, Wallet } from 'ethers'
import { afterEach, expect, test } from 'vitest'
import { createProxy } from '../index.js'
import type { Proxy } from '../proxy.js'
import { ManualClock } from '../util/clock.js'
import { type BroadcastRecord, MemoryJournal } from './broadcast-journal.js'
import { CLAIM_BATCH } from './rebroadcaster.js'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'

const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
let nodes: FakeNode[] = []
let proxies: Proxy[] = []
afterEach(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()))
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
  proxies = []
})

/** `count` open records of signed transactions (nonces 0…), each seen by nodes already. */
async function openRecords(journal: MemoryJournal, count: number): Promise<string[]> {
  const txids: string[] = []
  for (let nonce = 0; nonce < count; nonce++) {
    const raw = await wallet.signTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, gasLimit: 21_000n, nonce, chainId: 1n, gasPrice: 1_000_000_000n, type: 0 })
    const txid = Transaction.from(raw).hash!.toLowerCase()
    const record: BroadcastRecord = { chain: 'eth', txid, raw, status: 'seen', firstSeenAt: nonce, updatedAt: nonce, confirmations: 0, rebroadcasts: 0, outcomes: [] }
    await journal.insert(record)
    txids.push(txid)
  }
  return txids
}

/** A node holding every transaction in its mempool; `looked` counts lookups per txid. */
async function holdingNode(): Promise<{ node: FakeNode; looked: Map<string, number> }> {
  const node = await startFakeNode({ chainId: 1, height: 100 })
  const looked = new Map<string, number>()
  node.on('eth_getTransactionByHash', (_method, params) => {
    const txid = String((params as unknown[])[0])
    looked.set(txid, (looked.get(txid) ?? 0) + 1)
    return { result: { hash: txid, blockNumber: null, blockHash: null } }
  })
  nodes.push(node)
  return { node, looked }
}

function proxyOn(journal: MemoryJournal, node: FakeNode, clock: ManualClock, claimLeaseMs = 30_000): Proxy {
  const proxy = createProxy(
    {
      log: { level: 'silent' },
      journal: { claimLeaseMs },
      // Rounds only when the test runs one.
      chains: { eth: { family: 'evm', chainId: 1, health: { intervalMs: 600_000 }, broadcast: { rebroadcastIntervalMs: 600_000 }, nodes: [{ id: 'n', url: node.url }] } },
    },
    { journal, clock },
  )
  proxies.push(proxy)
  return proxy
}

test('alone on the journal, one round checks every open record, also past one claim batch', async () => {
  const journal = new MemoryJournal()
  const txids = await openRecords(journal, CLAIM_BATCH + 1)
  const { node, looked } = await holdingNode()
  const proxy = proxyOn(journal, node, new ManualClock(1_000_000))
  await proxy.probe('eth')
  await proxy.rebroadcast('eth')
  expect(txids.filter((txid) => looked.get(txid) !== 1)).toEqual([])
  // The next round (same instant even) checks them all again: they are this proxy's own claims.
  await proxy.rebroadcast('eth')
  expect(txids.filter((txid) => looked.get(txid) !== 2)).toEqual([])
})

test('two proxies on one journal: every record is checked by exactly one of them; the survivor takes the other\'s over once its lease ran out', async () => {
  const journal = new MemoryJournal()
  const txids = await openRecords(journal, 30)
  const clock = new ManualClock(1_000_000)
  const [a, b] = await Promise.all([holdingNode(), holdingNode()])
  const first = proxyOn(journal, a.node, clock, 5_000)
  const second = proxyOn(journal, b.node, clock, 5_000)
  await Promise.all([first.probe('eth'), second.probe('eth')])
  // The first round of the first proxy claims them all; the second's rounds find none free.
  await first.rebroadcast('eth')
  await second.rebroadcast('eth')
  clock.advance(4_999)
  await second.rebroadcast('eth')
  expect(txids.filter((txid) => a.looked.get(txid) !== 1)).toEqual([])
  expect(b.looked.size).toBe(0)
  // The owner renews while it lives…
  await first.rebroadcast('eth')
  clock.advance(4_999)
  await second.rebroadcast('eth')
  expect(b.looked.size).toBe(0)
  // …and once it stopped (it died without releasing them), the other takes them at the lease's end.
  clock.advance(1)
  await second.rebroadcast('eth')
  expect(txids.filter((txid) => b.looked.get(txid) !== 1)).toEqual([])
  expect(txids.filter((txid) => a.looked.get(txid) !== 2)).toEqual([])
})

test('a proxy closing cleanly releases its claims: another takes its records over at once', async () => {
  const journal = new MemoryJournal()
  const txids = await openRecords(journal, 5)
  const clock = new ManualClock(1_000_000)
  const [a, b] = await Promise.all([holdingNode(), holdingNode()])
  const first = proxyOn(journal, a.node, clock)
  const second = proxyOn(journal, b.node, clock)
  await Promise.all([first.probe('eth'), second.probe('eth')])
  await first.rebroadcast('eth')
  await second.rebroadcast('eth')
  expect(b.looked.size).toBe(0)
  // close() closes the journal it was given too; the memory store's records stay for the other.
  proxies.splice(proxies.indexOf(first), 1)
  await first.close()
  await second.rebroadcast('eth')
  expect(txids.filter((txid) => b.looked.get(txid) !== 1)).toEqual([])
})
