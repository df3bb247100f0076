/**
 * Outbound node quotas: the bucket arithmetic per node, and the router over a real pool with
 * in-memory transports on a manual clock: a node over its quota is skipped (never blamed), every
 * candidate over quota → SY_NODE_QUOTA, and the quota comes back as time passes.
 */
import { describe, expect, test } from 'vitest'
import { createEvmAdapter } from '../../chains/evm/evm-adapter.js'
import { parseConfig } from '../../test/support/parse-test-config.js'
import type { RpcCall } from '../jsonrpc/types.js'
import { NodePool } from '../pool/node-pool.js'
import { ProxyEvents } from '../proxy-events.js'
import type { CallOutcome, NodeTransport } from '../upstream/node-transport.js'
import { ManualClock } from '../util/clock.js'
import { NodeQuota } from './node-quota.js'
import { Router } from './router.js'

describe('NodeQuota', () => {
  test('nodes without a quota are always allowed; one with a quota spends its burst, then waits for the refill', () => {
    const clock = new ManualClock(0)
    const quota = new NodeQuota([{ id: 'free' }, { id: 'metered', quota: { perSecond: 2, burst: 2 } }], () => clock.now())
    expect(quota.active).toBe(true)
    for (let i = 0; i < 100; i++) quota.spend('free')
    expect(quota.allows('free')).toBe(true)
    quota.spend('metered')
    quota.spend('metered')
    expect(quota.allows('metered')).toBe(false)
    expect(quota.soonestMs(['metered'])).toBe(500)
    expect(quota.soonestMs(['metered', 'free'])).toBe(0)
    clock.advance(500)
    expect(quota.allows('metered')).toBe(true)
  })

  test('no quotas configured → inactive', () => {
    expect(new NodeQuota([{ id: 'a' }, { id: 'b' }], () => 0).active).toBe(false)
  })

  test('the SY_NODE_QUOTA error names the nodes and when one has room again, blames nobody', () => {
    const clock = new ManualClock(0)
    const quota = new NodeQuota([{ id: 'a', quota: { perSecond: 0.5, burst: 1 } }], () => clock.now())
    quota.spend('a')
    const error = quota.exhausted('eth', ['a'])
    expect(error.code).toBe('SY_NODE_QUOTA')
    expect(error.httpStatus).toBe(503)
    expect(error.message).toBe('all 1 eth nodes that could serve this call are at their request quota (nodes[].quota); retry in 2 s')
    expect(error.details).toEqual({ chain: 'eth', bound: 'nodes[].quota', nodes: ['a'], retryAfterMs: 2000 })
  })
})

class MemoryTransport implements NodeTransport {
  calls = 0
  constructor(
    readonly nodeId: string,
    public outcome: () => CallOutcome = () => ({ ok: true, answer: { result: '0x1' }, latencyMs: 1 }),
  ) {}
  async call(): Promise<CallOutcome> {
    this.calls += 1
    return this.outcome()
  }
  async close(): Promise<void> {}
}

const gasPrice: RpcCall = { method: 'eth_gasPrice', params: [] }

function harness(quotas: Array<{ perSecond: number; burst?: number } | undefined>) {
  const ids = quotas.map((_, index) => `n${index}`)
  const config = parseConfig({
    journal: { path: ':memory:' },
    chains: {
      eth: {
        family: 'evm',
        chainId: 1,
        requestTimeoutMs: 300,
        routing: { maxAttempts: 3 },
        nodes: ids.map((id, index) => ({ id, url: `http://127.0.0.1:1/${id}`, ...(quotas[index] === undefined ? {} : { quota: quotas[index] }) })),
      },
    },
  })
  const chain = config.chains.eth!
  const transports = new Map(ids.map((id) => [id, new MemoryTransport(id)]))
  const clock = new ManualClock(0)
  const pool = new NodePool(chain, transports, new ProxyEvents(), clock)
  pool.applyProbeRound(pool.nodes.map((node) => ({ node, observation: { kind: 'ok' as const, height: 10, syncing: false, latencyMs: 1 } })))
  // random 0 picks the first candidate in config order.
  const router = new Router(pool, createEvmAdapter(chain), () => 0)
  return { clock, pool, router, transport: (id: string) => transports.get(id)! }
}

describe('the router spends node quotas', () => {
  test('a node over its quota is skipped for the next one; none is blamed or ejected', async () => {
    const { router, pool, transport } = harness([{ perSecond: 0.001, burst: 2 }, undefined])
    const answeredBy: string[] = []
    for (let i = 0; i < 6; i++) {
      const routed = await router.route(gasPrice)
      expect(routed.ok).toBe(true)
      answeredBy.push(routed.ok ? routed.nodeId : 'none')
    }
    expect(answeredBy).toEqual(['n0', 'n0', 'n1', 'n1', 'n1', 'n1'])
    expect(transport('n0').calls).toBe(2)
    expect(pool.nodes.map((node) => [node.health.status, node.health.consecutiveFailures])).toEqual([
      ['healthy', 0],
      ['healthy', 0],
    ])
  })

  test('every candidate over its quota → SY_NODE_QUOTA with no node call; the quota comes back with time', async () => {
    const { router, pool, clock, transport } = harness([{ perSecond: 1, burst: 1 }, { perSecond: 2, burst: 1 }])
    expect((await router.route(gasPrice)).ok).toBe(true)
    expect((await router.route(gasPrice)).ok).toBe(true)
    const refused = await router.route(gasPrice)
    expect(refused.ok).toBe(false)
    if (!refused.ok) {
      expect(refused.attempts).toBe(0)
      expect(refused.error.code).toBe('SY_NODE_QUOTA')
      expect(refused.error.details).toEqual({ chain: 'eth', bound: 'nodes[].quota', nodes: ['n0', 'n1'], retryAfterMs: 500 })
    }
    expect(transport('n0').calls + transport('n1').calls).toBe(2)
    expect(pool.nodes.every((node) => node.health.status === 'healthy' && node.health.consecutiveFailures === 0)).toBe(true)
    clock.advance(500)
    const again = await router.route(gasPrice)
    expect(again.ok && again.nodeId).toBe('n1')
  })

  test('after a failed attempt, nodes over quota end the call as causes, not as node failures', async () => {
    const { router, pool, transport } = harness([undefined, { perSecond: 0.001, burst: 1 }])
    transport('n0').outcome = () => ({ ok: false, failure: { kind: 'connect', message: 'node n0 refused the connection' }, latencyMs: 1 })
    // n0 (first in order) fails, n1 answers with its one token.
    const first = await router.route(gasPrice)
    expect(first.ok && first.nodeId).toBe('n1')
    // n0 fails again; n1 is over its quota now: the call ends, n1 is named as over quota, not failed.
    const second = await router.route(gasPrice)
    expect(second.ok).toBe(false)
    if (!second.ok) {
      expect(second.error.code).toBe('SY_ALL_NODES_FAILED')
      expect(second.error.details.causes).toEqual(['n0: connect', 'n1: over quota'])
    }
    expect(transport('n1').calls).toBe(1)
    expect(pool.get('n1')!.health.consecutiveFailures).toBe(0)
  })
})
