import { describe, expect, test } from 'vitest'
import type { ChainAdapter, ProbeObservation } from '../chain-adapter.js'
import { parseConfig } from '../config/load-config.js'
import { NodePool } from '../pool/node-pool.js'
import { ProxyEvents } from '../proxy-events.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import { ManualClock } from '../util/clock.js'
import { Prober } from './prober.js'

function setup(probe: () => Promise<ProbeObservation>) {
  const config = parseConfig({ chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] } } }, {})
  const chain = config.chains.eth!
  const transport: NodeTransport = { nodeId: 'a', call: async () => ({ ok: true, answer: { result: null }, latencyMs: 0 }), close: async () => undefined }
  const pool = new NodePool(chain, new Map([['a', transport]]), new ProxyEvents(), new ManualClock())
  const adapter = { probe } as unknown as ChainAdapter
  return { pool, prober: new Prober(pool, adapter) }
}

describe('Prober', () => {
  test('tick() during a running round queues exactly one fresh round; rounds never overlap', async () => {
    let active = 0
    let maxActive = 0
    let started = 0
    const releases: Array<() => void> = []
    const { pool, prober } = setup(async () => {
      started += 1
      active += 1
      maxActive = Math.max(maxActive, active)
      await new Promise<void>((resolve) => releases.push(resolve))
      active -= 1
      return { kind: 'ok', height: started, syncing: false, latencyMs: 1 }
    })
    const first = prober.tick()
    const second = prober.tick()
    const third = prober.tick()
    expect(second).toBe(third)
    expect(started).toBe(1)
    releases.shift()!()
    await first
    // The queued round starts only after the first finished, and sees the node as it is now.
    await Promise.resolve()
    await new Promise((resolve) => setImmediate(resolve))
    expect(started).toBe(2)
    releases.shift()!()
    await second
    expect(maxActive).toBe(1)
    expect(pool.probeRounds).toBe(2)
    expect(pool.nodes[0]!.health.height).toBe(2)
  })

  test('an adapter that throws is recorded as a failed probe, not a crash', async () => {
    const { pool, prober } = setup(async () => {
      throw new Error('boom')
    })
    await prober.tick()
    expect(pool.nodes[0]!.health.consecutiveFailures).toBe(1)
    expect(pool.nodes[0]!.health.lastError).toBe('probe of a failed: boom')
  })

  test('stop() leaves no timer behind and waits for a running round', async () => {
    let release: () => void = () => undefined
    const { prober } = setup(async () => {
      await new Promise<void>((resolve) => (release = resolve))
      return { kind: 'ok', height: 1, syncing: false, latencyMs: 1 }
    })
    prober.start()
    await new Promise((resolve) => setTimeout(resolve, 0)) // the first scheduled round begins
    const stopped = prober.stop()
    let done = false
    void stopped.then(() => (done = true))
    await Promise.resolve()
    expect(done).toBe(false)
    release()
    await stopped
    expect(done).toBe(true)
  })
})
