import { describe, expect, test } from 'vitest'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { ChainRuntime } from '../runtime/chain-runtime.js'
import type { CallOutcome, NodeTransport } from '../upstream/node-transport.js'
import { ManualClock } from '../util/clock.js'
import { PendingFeed, UNSUPPORTED_RETRY_MS } from './pending-feed.js'

const tx = (n: number): string => `0x${n.toString(16).padStart(64, '0')}`

/** A node's mempool filter as geth keeps it: hashes since the last poll; the test adds hashes and faults. */
class ScriptedNode implements NodeTransport {
  readonly calls: string[] = []
  readonly filters = new Map<string, string[]>()
  supported = true
  #next = 0
  constructor(readonly nodeId: string) {}
  see(...hashes: string[]): void {
    for (const queue of this.filters.values()) queue.push(...hashes)
  }
  async call(call: RpcCall): Promise<CallOutcome> {
    this.calls.push(call.method)
    const params = (call.params ?? []) as unknown[]
    let answer: RpcAnswer
    if (!this.supported) answer = { error: { code: -32601, message: 'the method eth_newPendingTransactionFilter does not exist/is not available' } }
    else if (call.method === 'eth_newPendingTransactionFilter') {
      const id = `0x${(++this.#next).toString(16)}`
      this.filters.set(id, [])
      answer = { result: id }
    } else if (call.method === 'eth_getFilterChanges') {
      const queue = this.filters.get(String(params[0]))
      if (queue === undefined) answer = { error: { code: -32000, message: 'filter not found' } }
      else answer = { result: queue.splice(0) }
    } else if (call.method === 'eth_uninstallFilter') answer = { result: this.filters.delete(String(params[0])) }
    else answer = { error: { code: -32601, message: 'not scripted' } }
    return { ok: true, answer, latencyMs: 1 }
  }
  async close(): Promise<void> {}
}

function feedOver(nodes: ScriptedNode[]) {
  const routable = new Set(nodes)
  const runtime = {
    chain: { requestTimeoutMs: 1_000 },
    pool: { routable: () => nodes.filter((node) => routable.has(node)).map((node) => ({ config: { id: node.nodeId }, transport: node })) },
  } as unknown as ChainRuntime
  const clock = new ManualClock()
  const feed = new PendingFeed({ chain: 'eth', clock, runtime: () => runtime, pollIntervalMs: () => 60_000 })
  return { feed, clock, routable }
}

describe('PendingFeed', () => {
  test('merges the nodes\' pending hashes, each once, whichever node saw it first', async () => {
    const a = new ScriptedNode('a')
    const b = new ScriptedNode('b')
    const { feed } = feedOver([a, b])
    const got: string[] = []
    const stop = await feed.subscribe((hash) => got.push(hash))
    expect(feed.offeringNodes).toEqual(['a', 'b'])
    a.see(tx(1), tx(2))
    b.see(tx(2).toUpperCase().replace('0X', '0x'), tx(3))
    await feed.tick()
    expect(got).toEqual([tx(1), tx(2), tx(3)])
    a.see(tx(3), tx(4))
    await feed.tick()
    expect(got).toEqual([tx(1), tx(2), tx(3), tx(4)])
    stop()
    // The last listener gone: the node filters are uninstalled.
    await new Promise((resolve) => setImmediate(resolve))
    expect([a.filters.size, b.filters.size]).toEqual([0, 0])
  })

  test('a node whose filter is gone (restarted) gets a new one; one that does not offer the method is skipped, then asked again later', async () => {
    const a = new ScriptedNode('a')
    const b = new ScriptedNode('b')
    b.supported = false
    const { feed, clock } = feedOver([a, b])
    const got: string[] = []
    await feed.subscribe((hash) => got.push(hash))
    expect(feed.offeringNodes).toEqual(['a'])
    const asked = b.calls.length
    await feed.tick()
    expect(b.calls.length).toBe(asked)
    a.filters.clear() // a restarted: its filters are gone
    await feed.tick() // "filter not found"
    await feed.tick() // reinstalled
    a.see(tx(9))
    await feed.tick()
    expect(got).toEqual([tx(9)])
    b.supported = true
    clock.advance(UNSUPPORTED_RETRY_MS)
    await feed.tick()
    expect(feed.offeringNodes).toEqual(['a', 'b'])
  })

  test('no routable node offers pending transactions: the subscription is refused and nothing stays installed', async () => {
    const a = new ScriptedNode('a')
    a.supported = false
    const { feed } = feedOver([a])
    await expect(feed.subscribe(() => undefined)).rejects.toMatchObject({ code: 'SY_PENDING_NOT_OFFERED' })
    expect(feed.listeners).toBe(0)
  })

  test('a node that leaves routing is no longer polled', async () => {
    const a = new ScriptedNode('a')
    const b = new ScriptedNode('b')
    const { feed, routable } = feedOver([a, b])
    await feed.subscribe(() => undefined)
    routable.delete(b)
    const before = b.calls.length
    await feed.tick()
    expect(b.calls.length).toBe(before)
    expect(feed.offeringNodes).toEqual(['a'])
  })
})
