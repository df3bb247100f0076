import { describe, expect, test } from 'vitest'
import type { ProbeObservation } from '../chain-adapter.js'
import { type HealthInput, type HealthPolicy, type NodeHealth, type PoolView, initialHealth, nextNodeHealth } from './node-health.js'

const policy: HealthPolicy = {
  maxLagBlocks: 3,
  staleAfterMs: 15_000,
  failuresToDown: 3,
  successesToRecover: 2,
  flapWindowMs: 60_000,
  readmitBackoffBaseMs: 5_000,
  readmitBackoffMaxMs: 300_000,
}
const T0 = 1_000_000

const ok = (height: number, syncing = false): HealthInput => ({ kind: 'probe', observation: { kind: 'ok', height, syncing, latencyMs: 1, ...(syncing ? { syncingReason: 'initial block download' } : {}) } })
const failed: HealthInput = { kind: 'probe', observation: { kind: 'failed', failure: { kind: 'timeout', message: 'node a did not answer within 1000 ms' }, latencyMs: 1000 } }
const wrongChain: HealthInput = { kind: 'probe', observation: { kind: 'wrong-chain', reason: 'reports chain id 5, expected 1', latencyMs: 1 } }
const view = (head: number | undefined, now = T0, headChangedAt: number | undefined = now): PoolView => ({ head, headChangedAt, now })

function run(steps: Array<[HealthInput, PoolView]>, start: NodeHealth = initialHealth(T0)): NodeHealth {
  return steps.reduce((health, [input, at]) => nextNodeHealth(health, input, at, policy), start)
}

function healthyAt(height: number): NodeHealth {
  return run([[ok(height), view(height)]])
}

describe('nextNodeHealth', () => {
  test.each<{ name: string; steps: Array<[HealthInput, PoolView]>; status: string; reason?: RegExp }>([
    { name: 'first good probe admits a starting node', steps: [[ok(100), view(100)]], status: 'healthy', reason: /in sync since height 100/ },
    { name: 'lag within maxLagBlocks stays healthy', steps: [[ok(100), view(100)], [ok(100), view(103)]], status: 'healthy' },
    { name: 'lag above maxLagBlocks ejects as lagging', steps: [[ok(100), view(100)], [ok(100), view(104)]], status: 'lagging', reason: /4 blocks behind head 104 \(max 3\)/ },
    { name: 'a syncing node is syncing', steps: [[ok(100, true), view(100)]], status: 'syncing', reason: /initial block download/ },
    { name: 'two failures are not enough for down', steps: [[ok(1), view(1)], [failed, view(1)], [failed, view(1)]], status: 'healthy' },
    { name: 'three consecutive failures make it down', steps: [[ok(1), view(1)], [failed, view(1)], [failed, view(1)], [failed, view(1)]], status: 'down', reason: /3 consecutive failures; last: node a did not answer/ },
    { name: 'a success between failures resets the count', steps: [[ok(1), view(1)], [failed, view(1)], [failed, view(1)], [ok(1), view(1)], [failed, view(1)]], status: 'healthy' },
    { name: 'wrong chain is sticky', steps: [[wrongChain, view(1)], [ok(1), view(1)], [ok(1), view(1)], [ok(1), view(1)]], status: 'wrong-chain', reason: /chain id 5, expected 1/ },
    {
      name: 'traffic failures count toward down too',
      steps: [[ok(1), view(1)], ...Array.from({ length: 3 }, (): [HealthInput, PoolView] => [{ kind: 'traffic-failure', failure: { kind: 'connect', message: 'ECONNREFUSED' } }, view(1)])],
      status: 'down',
    },
    { name: 'a cordoned node stays cordoned whatever probes say', steps: [[ok(1), view(1)], [{ kind: 'cordon', reason: 'maintenance' }, view(1)], [ok(1), view(1)]], status: 'cordoned', reason: /maintenance/ },
    { name: 'a starting node whose probe fails says why', steps: [[failed, view(1)]], status: 'starting', reason: /^1\/3 failures; last: node a did not answer within 1000 ms$/ },
    { name: 'uncordon waits for a probe, then admits', steps: [[{ kind: 'cordon', reason: 'x' }, view(1)], [{ kind: 'uncordon' }, view(1)]], status: 'starting' },
    { name: 'uncordon then a good probe is healthy', steps: [[{ kind: 'cordon', reason: 'x' }, view(1)], [{ kind: 'uncordon' }, view(1)], [ok(1), view(1)]], status: 'healthy' },
  ])('$name', ({ steps, status, reason }) => {
    const health = run(steps)
    expect(health.status).toBe(status)
    if (reason !== undefined) expect(health.reason).toMatch(reason)
  })

  test('re-admission needs successesToRecover good probes in a row', () => {
    let health = run([[ok(100), view(100)], [ok(100), view(110)]])
    expect(health.status).toBe('lagging')
    health = nextNodeHealth(health, ok(110), view(110), policy)
    expect(health.status).toBe('lagging')
    expect(health.reason).toMatch(/recovering: 1\/2/)
    health = nextNodeHealth(health, ok(110), view(110), policy)
    expect(health.status).toBe('healthy')
    expect(health.reason).toMatch(/re-admitted at height 110 after 2 good probes/)
    expect(health.ejections).toBe(1)
  })

  test('a bad probe during recovery restarts the count', () => {
    let health = run([[ok(100), view(100)], [ok(100), view(110)], [ok(110), view(110)], [ok(110), view(120)]])
    expect(health.status).toBe('lagging')
    health = nextNodeHealth(health, ok(120), view(120), policy)
    expect(health.status).toBe('lagging')
  })

  test('a stale height below the head ejects even within maxLagBlocks', () => {
    const start = healthyAt(100)
    // Head moved to 101 at T0+1000; node stays at 100 for staleAfterMs.
    const staleNow = T0 + policy.staleAfterMs
    const health = run([[ok(100), view(101, T0 + 1_000, T0 + 1_000)], [ok(100), view(101, staleNow, T0 + 1_000)]], start)
    expect(health.status).toBe('lagging')
    expect(health.reason).toMatch(/height 100 unchanged for 15 s while the head moved to 101/)
  })

  test('an unchanged height at the head is not stale (chain simply idle)', () => {
    const health = run([[ok(100), view(100, T0 + 60_000, T0)]], healthyAt(100))
    expect(health.status).toBe('healthy')
  })

  test('a pushed height can eject but never re-admits', () => {
    let health = healthyAt(100)
    health = nextNodeHealth(health, { kind: 'height', height: 100 }, view(105), policy)
    expect(health.status).toBe('lagging')
    health = nextNodeHealth(health, { kind: 'height', height: 105 }, view(105), policy)
    health = nextNodeHealth(health, { kind: 'height', height: 105 }, view(105), policy)
    expect(health.status).toBe('lagging')
  })

  test('flapping: ejected again soon after re-admission waits with exponential backoff, capped', () => {
    let now = T0
    let health = healthyAt(100)
    const holds: number[] = []
    for (let round = 0; round < 8; round++) {
      now += 1_000
      health = nextNodeHealth(health, ok(100), view(110, now), policy) // eject (lagging)
      holds.push(health.holdUntil - now)
      // catch up and wait out any hold, then re-admit with 2 good probes
      now = Math.max(now + 1_000, health.holdUntil)
      health = nextNodeHealth(health, ok(110), view(110, now), policy)
      health = nextNodeHealth(health, ok(110), view(110, now), policy)
      expect(health.status).toBe('healthy')
      health = { ...health, height: 100 }
    }
    expect(holds).toEqual([0, 5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000])
  })

  test('a held node is not re-admitted before its hold-off ends', () => {
    let health = healthyAt(100)
    health = nextNodeHealth(health, ok(100), view(110, T0 + 1_000), policy)
    health = nextNodeHealth(health, ok(110), view(110, T0 + 2_000), policy)
    health = nextNodeHealth(health, ok(110), view(110, T0 + 3_000), policy)
    expect(health.status).toBe('healthy')
    health = nextNodeHealth({ ...health, height: 100 }, ok(100), view(120, T0 + 4_000), policy) // flap 1: hold 5 s
    expect(health.holdUntil).toBe(T0 + 9_000)
    health = nextNodeHealth(health, ok(120), view(120, T0 + 5_000), policy)
    health = nextNodeHealth(health, ok(120), view(120, T0 + 6_000), policy)
    expect(health.status).toBe('lagging')
    expect(health.reason).toMatch(/flapping: held until/)
    health = nextNodeHealth(health, ok(120), view(120, T0 + 9_000), policy)
    expect(health.status).toBe('healthy')
  })

  test('staying healthy past the flap window clears the flap count', () => {
    let health = healthyAt(100)
    health = nextNodeHealth(health, ok(100), view(110, T0 + 1_000), policy)
    health = nextNodeHealth(health, ok(110), view(110, T0 + 2_000), policy)
    health = nextNodeHealth(health, ok(110), view(110, T0 + 3_000), policy)
    const later = T0 + 3_000 + policy.flapWindowMs
    health = nextNodeHealth({ ...health, height: 100 }, ok(100), view(120, later), policy)
    expect(health.status).toBe('lagging')
    expect(health.flaps).toBe(0)
    expect(health.holdUntil).toBe(later)
  })

  test('since records when the status was entered', () => {
    let health = healthyAt(100)
    health = nextNodeHealth(health, ok(100), view(100, T0 + 5_000), policy)
    expect(health.since).toBe(T0)
    health = nextNodeHealth(health, ok(100), view(110, T0 + 7_000), policy)
    expect(health.since).toBe(T0 + 7_000)
  })

  test.each<[ProbeObservation['kind'], string]>([
    ['failed', 'healthy'],
    ['wrong-chain', 'wrong-chain'],
  ])('one %s probe on a healthy node → %s', (kind, status) => {
    const input = kind === 'failed' ? failed : wrongChain
    expect(nextNodeHealth(healthyAt(1), input, view(1), policy).status).toBe(status)
  })
})
