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
  unreliableHoldMs: 60_000,
}
const T0 = 1_000_000

const ok = (height: number, syncing = false): HealthInput => ({ kind: 'probe', observation: { kind: 'ok', height, syncing, latencyMs: 1, ...(syncing ? { syncingReason: 'initial block download' } : {}) } })
const failed: HealthInput = { kind: 'probe', observation: { kind: 'failed', failure: { kind: 'timeout', message: 'node a did not answer within 1000 ms' }, latencyMs: 1000 } }
const stalled: HealthInput = {
  kind: 'probe',
  observation: { kind: 'failed', failure: { kind: 'timeout', stalled: true, message: 'node a did not answer within 1000 ms (switchyard stalled)' }, latencyMs: 1400 },
}
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
    { name: 'probe timeouts while switchyard itself stalled are no verdict', steps: [[ok(1), view(1)], [stalled, view(1)], [stalled, view(1)], [stalled, view(1)], [stalled, view(1)]], status: 'healthy' },
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

  test('a height below the head for staleAfterMs (since the head passed it) ejects even within maxLagBlocks', () => {
    const start = healthyAt(100)
    // The head reached 101 at T0+1000; the node stays at 100.
    const reached = (height: number): number | undefined => (height === 101 ? T0 + 1_000 : undefined)
    const at = (now: number): PoolView => ({ head: 101, headChangedAt: T0 + 1_000, now, headReachedAt: reached })
    let health = run([[ok(100), at(T0 + 1_000 + policy.staleAfterMs - 1)]], start)
    expect(health.status).toBe('healthy')
    expect(health.behindSince).toBe(T0 + 1_000)
    health = nextNodeHealth(health, ok(100), at(T0 + 1_000 + policy.staleAfterMs), policy)
    expect(health.status).toBe('lagging')
    expect(health.reason).toBe('height 100 below the head for 15 s (head 101; limit 15 s)')
  })

  test('without the pool remembering when the head passed it, behind counts from the first probe that saw it behind', () => {
    let health = run([[ok(100), view(101, T0 + 5_000, T0)]], healthyAt(100))
    expect(health.behindSince).toBe(T0 + 5_000)
    health = nextNodeHealth(health, ok(100), view(101, T0 + 5_000 + policy.staleAfterMs - 1, T0), policy)
    expect(health.status).toBe('healthy')
    health = nextNodeHealth(health, ok(100), view(101, T0 + 5_000 + policy.staleAfterMs, T0), policy)
    expect(health.status).toBe('lagging')
    // Back at the head: no longer behind.
    health = nextNodeHealth(health, ok(101), view(101, T0 + 30_000, T0), policy)
    expect(health.behindSince).toBeUndefined()
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

/**
 * The stale rule over a timeline: block k reaches the pool head at k × blockMs; the node gets each
 * block `delayMs` late, or stops at `stuckAt`; it is probed every `probeMs`. Returns the first
 * ejection (time and reason) and the status at the end.
 */
function simulateStale(options: {
  blockMs: number
  probeMs: number
  staleAfterMs: number
  maxLagBlocks: number
  delayMs?: number
  stuckAt?: number
  durationMs: number
}): { ejectedAtMs: number | undefined; reason: string | undefined; final: string; ejections: number } {
  const rules: HealthPolicy = { ...policy, staleAfterMs: options.staleAfterMs, maxLagBlocks: options.maxLagBlocks }
  const start = T0
  let health = nextNodeHealth(initialHealth(start), ok(0), { head: 0, headChangedAt: start, now: start }, rules)
  let ejectedAtMs: number | undefined
  let reason: string | undefined
  for (let t = options.probeMs; t <= options.durationMs; t += options.probeMs) {
    const head = Math.floor(t / options.blockMs)
    const received = Math.max(0, Math.floor((t - (options.delayMs ?? 0)) / options.blockMs))
    const height = options.stuckAt === undefined ? received : Math.min(received, options.stuckAt)
    const at: PoolView = {
      head,
      headChangedAt: start + head * options.blockMs,
      now: start + t,
      headReachedAt: (h) => (h <= head ? start + h * options.blockMs : undefined),
    }
    health = nextNodeHealth(health, ok(height), at, rules)
    if (health.status !== 'healthy' && ejectedAtMs === undefined) {
      ejectedAtMs = t
      reason = health.reason
    }
  }
  return { ejectedAtMs, reason, final: health.status, ejections: health.ejections }
}

describe('stale rule: behind for too long, counted from when the head passed the node', () => {
  // EVM defaults: 2 s blocks, staleAfterMs 15 s, maxLagBlocks 3, probes every 1 s.
  // Bitcoin defaults: ~600 s blocks, staleAfterMs 120 s, maxLagBlocks 1, probes every 2 s.
  test.each<{
    name: string
    blockMs: number
    probeMs: number
    staleAfterMs: number
    maxLagBlocks: number
    delayMs?: number
    stuckAt?: number
    ejectedAtMs: number | undefined
    reason?: RegExp
  }>([
    { name: '2 s blocks, node gets every block 1.5 s late', blockMs: 2_000, probeMs: 1_000, staleAfterMs: 15_000, maxLagBlocks: 3, delayMs: 1_500, ejectedAtMs: undefined },
    { name: '2 s blocks, node always one block behind (2.5 s late)', blockMs: 2_000, probeMs: 1_000, staleAfterMs: 15_000, maxLagBlocks: 3, delayMs: 2_500, ejectedAtMs: undefined },
    { name: '2 s blocks, node 5 s late (up to 3 behind, within the limit)', blockMs: 2_000, probeMs: 1_000, staleAfterMs: 15_000, maxLagBlocks: 3, delayMs: 5_000, ejectedAtMs: undefined },
    {
      name: '2 s blocks, node stuck at 10: lag passes maxLagBlocks before staleAfterMs',
      blockMs: 2_000,
      probeMs: 1_000,
      staleAfterMs: 15_000,
      maxLagBlocks: 3,
      stuckAt: 10,
      ejectedAtMs: 28_000,
      reason: /^4 blocks behind head 14 \(max 3\)$/,
    },
    {
      name: '2 s blocks, max lag 10, node stuck at 10: stale 15 s after block 11',
      blockMs: 2_000,
      probeMs: 1_000,
      staleAfterMs: 15_000,
      maxLagBlocks: 10,
      stuckAt: 10,
      ejectedAtMs: 37_000,
      reason: /^height 10 below the head for 15 s \(head 18; limit 15 s\)$/,
    },
    { name: '600 s blocks, node one probe (2 s) late on every block', blockMs: 600_000, probeMs: 2_000, staleAfterMs: 120_000, maxLagBlocks: 1, delayMs: 2_000, ejectedAtMs: undefined },
    { name: '600 s blocks, node 119 s late on every block', blockMs: 600_000, probeMs: 2_000, staleAfterMs: 120_000, maxLagBlocks: 1, delayMs: 119_000, ejectedAtMs: undefined },
    {
      name: '600 s blocks, node 200 s late: out 120 s after each block',
      blockMs: 600_000,
      probeMs: 2_000,
      staleAfterMs: 120_000,
      maxLagBlocks: 1,
      delayMs: 200_000,
      ejectedAtMs: 720_000,
      reason: /^height 0 below the head for 120 s \(head 1; limit 120 s\)$/,
    },
    {
      name: '600 s blocks, node stuck one block behind',
      blockMs: 600_000,
      probeMs: 2_000,
      staleAfterMs: 120_000,
      maxLagBlocks: 1,
      stuckAt: 2,
      ejectedAtMs: 1_920_000,
      reason: /^height 2 below the head for 120 s \(head 3; limit 120 s\)$/,
    },
  ])('$name', ({ blockMs, probeMs, staleAfterMs, maxLagBlocks, delayMs, stuckAt, ejectedAtMs, reason }) => {
    const outcome = simulateStale({ blockMs, probeMs, staleAfterMs, maxLagBlocks, delayMs, stuckAt, durationMs: Math.max(blockMs * 6, 60_000) + 1_000 })
    expect(outcome.ejectedAtMs).toBe(ejectedAtMs)
    if (reason !== undefined) expect(outcome.reason).toMatch(reason)
    if (ejectedAtMs === undefined) expect(outcome).toMatchObject({ final: 'healthy', ejections: 0 })
  })

  test('600 s blocks, node 200 s late: re-admitted after it gets the block, ejected again after the next one', () => {
    const outcome = simulateStale({ blockMs: 600_000, probeMs: 2_000, staleAfterMs: 120_000, maxLagBlocks: 1, delayMs: 200_000, durationMs: 600_000 * 3 + 300_000 })
    // Blocks 1, 2 and 3: ejected 120 s after each, back once it has it (200 s after each).
    expect(outcome.ejections).toBe(3)
    expect(outcome.final).toBe('healthy')
  })
})

describe('ahead of the quorum head', () => {
  test.each<{ name: string; height: number; head: number; status: string; reason?: RegExp }>([
    { name: 'one block ahead (heard it first) stays routable', height: 101, head: 100, status: 'healthy' },
    { name: 'maxLagBlocks ahead stays routable', height: 103, head: 100, status: 'healthy' },
    { name: 'more than maxLagBlocks ahead is ahead', height: 104, head: 100, status: 'ahead', reason: /^4 blocks above the quorum head 100 \(max 3\); not routed until the other nodes reach it$/ },
    { name: 'a bogus height is ahead', height: 10_000_000, head: 3, status: 'ahead', reason: /^9999997 blocks above the quorum head 3/ },
  ])('$name', ({ height, head, status, reason }) => {
    const health = nextNodeHealth(healthyAt(100), ok(height), view(head), policy)
    expect(health.status).toBe(status)
    if (reason !== undefined) expect(health.reason).toMatch(reason)
  })

  test('a starting node far ahead is never admitted', () => {
    expect(nextNodeHealth(initialHealth(T0), ok(10_000_000), view(3), policy).status).toBe('ahead')
  })

  test('a pushed height far ahead does not eject (the others\' pushes may be on their way); the next probe does', () => {
    const pushed = nextNodeHealth(healthyAt(100), { kind: 'height', height: 200 }, view(100), policy)
    expect(pushed.status).toBe('healthy')
    expect(nextNodeHealth(pushed, ok(200), view(100), policy).status).toBe('ahead')
  })

  test('re-admitted through successesToRecover once the quorum caught up', () => {
    let health = nextNodeHealth(healthyAt(100), ok(110), view(100), policy)
    expect(health.status).toBe('ahead')
    health = nextNodeHealth(health, ok(110), view(101), policy)
    expect(health.status).toBe('ahead')
    health = nextNodeHealth(health, ok(110), view(110), policy)
    expect(health.reason).toMatch(/recovering: 1\/2/)
    health = nextNodeHealth(health, ok(111), view(110), policy)
    expect(health.status).toBe('healthy')
    expect(health.reason).toMatch(/^re-admitted at height 111 after 2 good probes/)
  })
})

describe('forked', () => {
  const disagrees: HealthInput = { kind: 'fork', reason: 'block 10 is 0xaaaa…aaaa here, 0xbbbb…bbbb on the majority (2 of 3 nodes)' }
  const agrees: HealthInput = { kind: 'fork', reason: undefined }

  test('a disagreeing node is forked and stays forked while its probes look perfect', () => {
    let health = nextNodeHealth(healthyAt(10), disagrees, view(10), policy)
    expect(health).toMatchObject({ status: 'forked', reason: disagrees.reason, ejections: 1 })
    for (let i = 0; i < 5; i++) health = nextNodeHealth(health, ok(10), view(10), policy)
    expect(health.status).toBe('forked')
  })

  test('forked wins over ahead', () => {
    let health = nextNodeHealth(healthyAt(10), ok(20), view(10), policy)
    expect(health.status).toBe('ahead')
    health = nextNodeHealth(health, disagrees, view(10), policy)
    expect(health.status).toBe('forked')
    health = nextNodeHealth(health, ok(20), view(10), policy)
    expect(health.status).toBe('forked')
  })

  test('once it agrees again, successesToRecover good probes re-admit it', () => {
    let health = nextNodeHealth(healthyAt(10), disagrees, view(10), policy)
    health = nextNodeHealth(health, agrees, view(11), policy)
    expect(health.status).toBe('forked')
    health = nextNodeHealth(health, ok(11), view(11), policy)
    expect(health.reason).toMatch(/recovering: 1\/2/)
    health = nextNodeHealth(health, ok(11), view(11), policy)
    expect(health.status).toBe('healthy')
    expect(health.forkReason).toBeUndefined()
  })

  test('a starting node found forked is never admitted', () => {
    let health = nextNodeHealth(initialHealth(T0), disagrees, view(10), policy)
    health = nextNodeHealth(health, ok(10), view(10), policy)
    expect(health.status).toBe('forked')
  })

  test('a cordoned node keeps its cordon; after uncordon the fork still keeps it out', () => {
    let health = nextNodeHealth(healthyAt(10), { kind: 'cordon', reason: 'x' }, view(10), policy)
    health = nextNodeHealth(health, disagrees, view(10), policy)
    expect(health.status).toBe('cordoned')
    health = nextNodeHealth(health, { kind: 'uncordon' }, view(10), policy)
    health = nextNodeHealth(health, ok(10), view(10), policy)
    expect(health.status).toBe('forked')
  })
})

describe('unreliable', () => {
  const evidence: HealthInput = { kind: 'evidence', reason: 'answered empty 3 times where other nodes had the data; last: eth_getTransactionReceipt 0xab…' }

  test('ejects, holds out unreliableHoldMs, then re-admits after successesToRecover good probes', () => {
    let health = nextNodeHealth(healthyAt(10), evidence, view(10, T0 + 1_000), policy)
    expect(health).toMatchObject({ status: 'unreliable', reason: evidence.reason, ejections: 1, holdUntil: T0 + 1_000 + policy.unreliableHoldMs })
    health = nextNodeHealth(health, ok(10), view(10, T0 + 2_000), policy)
    health = nextNodeHealth(health, ok(10), view(10, T0 + 3_000), policy)
    expect(health.status).toBe('unreliable')
    expect(health.reason).toMatch(/held out until/)
    health = nextNodeHealth(health, ok(10), view(10, T0 + 1_000 + policy.unreliableHoldMs), policy)
    expect(health.status).toBe('healthy')
    expect(health.reason).toMatch(/^re-admitted at height 10/)
  })

  test('a failing node stays unreliable-then-down, never routed before the hold ends', () => {
    let health = nextNodeHealth(healthyAt(10), evidence, view(10, T0), policy)
    for (let i = 0; i < 3; i++) health = nextNodeHealth(health, failed, view(10, T0 + 1_000), policy)
    expect(health.status).toBe('down')
    health = nextNodeHealth(health, ok(10), view(10, T0 + 2_000), policy)
    health = nextNodeHealth(health, ok(10), view(10, T0 + 3_000), policy)
    expect(health.status).toBe('down')
    health = nextNodeHealth(health, ok(10), view(10, T0 + policy.unreliableHoldMs), policy)
    expect(health.status).toBe('healthy')
  })

  test('evidence does not touch a wrong-chain or cordoned node', () => {
    const cordoned = nextNodeHealth(healthyAt(10), { kind: 'cordon', reason: 'x' }, view(10), policy)
    expect(nextNodeHealth(cordoned, evidence, view(10), policy)).toBe(cordoned)
  })
})
