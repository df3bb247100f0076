import { afterEach, expect, test } from 'vitest'
import { MemoryJournal } from '../broadcast/broadcast-journal.js'
import { createProxy } from '../index.js'
import type { Proxy } from '../proxy.js'
import { Timeline } from './timeline.js'

let proxy: Proxy | undefined
afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

test('reorgs, forks (and their end), read disagreements and journal failures reach the timeline in order', () => {
  proxy = createProxy(
    { log: { level: 'silent' }, chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:9/' }] } } },
    { journal: new MemoryJournal() },
  )
  const timeline = new Timeline(proxy, 10)
  const live: string[] = []
  timeline.subscribe((entry) => live.push(entry.kind))
  const at = 1_700_000_000_000
  proxy.events.emit('chain:reorg', { chain: 'eth', height: 98, depth: 3, oldHash: '0xaa…01', newHash: '0xbb…02', at })
  proxy.events.emit('chain:fork', { chain: 'eth', height: 99, groups: [{ hash: '0xaa…01', nodes: ['a'] }, { hash: '0xbb…02', nodes: ['b'] }], resolved: false, at })
  proxy.events.emit('chain:fork', { chain: 'eth', height: 100, groups: [{ hash: '0xcc…03', nodes: ['a', 'b'] }], resolved: true, at })
  proxy.events.emit('read:disagree', { chain: 'eth', method: 'eth_getTransactionReceipt', answers: [{ nodeId: 'a', hash: '11' }, { nodeId: 'b', hash: '22' }], minority: ['b'], at })
  proxy.events.emit('journal:health', { state: 'failed', detail: 'journal directory is gone', txid: '0xfeed', chain: 'eth', at })
  expect(timeline.recent().map(({ kind, text }) => [kind, text])).toEqual([
    ['chain:reorg', 'reorg of depth 3 at height 98 (0xaa…01 → 0xbb…02)'],
    ['chain:fork', 'nodes disagree about block 99 with no majority: 0xaa…01 a | 0xbb…02 b'],
    ['chain:fork', 'nodes agree again at height 100'],
    ['read:disagree', 'nodes disagree on eth_getTransactionReceipt: a 11, b 22; outvoted: b'],
    ['journal:health', 'broadcast journal failed: journal directory is gone'],
  ])
  expect(live).toEqual(['chain:reorg', 'chain:fork', 'chain:fork', 'read:disagree', 'journal:health'])
  timeline.close()
})
