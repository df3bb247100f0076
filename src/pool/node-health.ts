/**
 * The node health policy: one pure function from (previous health, one input, the pool's view)
 * to the next health. No I/O, no timers: the prober, the router and the admin API feed it inputs
 * and the pool emits an event when `status` changes.
 *
 * Rules:
 * | input                          | result                                                                  |
 * |--------------------------------|-------------------------------------------------------------------------|
 * | cordon                         | `cordoned` (operator), overrides everything until uncordon               |
 * | uncordon                       | `starting`: the next good probe admits it                               |
 * | probe: wrong chain             | `wrong-chain`; sticky: never routed again until the config changes      |
 * | probe/traffic failure          | failures+1; `down` once failures reach `failuresToDown`                 |
 * | probe ok, node syncing         | `syncing`                                                               |
 * | probe ok, lag > maxLagBlocks   | `lagging` (lag = pool head − node height)                               |
 * | probe ok, height stale         | `lagging`: below head, unchanged for `staleAfterMs` while the head moved |
 * | probe ok, in sync              | `starting` → `healthy` at once; `down`/`lagging`/`syncing` → `healthy`  |
 * |                                | after `successesToRecover` good probes in a row and the flap hold-off   |
 * | pushed height (WebSocket head) | can eject (`lagging`) but never re-admits: only probes do               |
 * | traffic success                | clears the failure count of a routed node                               |
 *
 * A node ejected within `flapWindowMs` of its last re-admission is flapping: it must also wait
 * `readmitBackoffBaseMs × 2^(flaps−1)` (capped at `readmitBackoffMaxMs`) before re-admission.
 */
import type { ProbeObservation } from '../chain-adapter.js'
import type { HealthConfig } from '../config/schema.js'
import type { NodeFailure } from '../upstream/node-failure.js'

/**
 * - `ahead`: more than maxLagBlocks above the quorum head (a bogus or minority-fork height);
 * - `forked`: its block hash at a common height differs from the majority's;
 * - `unreliable`: kept answering empty where other nodes had the data, or lost verified-read disputes.
 */
export type NodeStatus = 'starting' | 'healthy' | 'lagging' | 'ahead' | 'syncing' | 'forked' | 'unreliable' | 'down' | 'wrong-chain' | 'cordoned'

export interface NodeHealth {
  readonly status: NodeStatus
  /** Why the node is in this status, for people: "5 blocks behind head 120 (max 3)". */
  readonly reason: string
  /** The status's own cause: `reason` without recovery progress ("recovering: 1/2 good probes"). */
  readonly cause: string
  /** When the node entered `status`, ms since epoch. */
  readonly since: number
  readonly height: number | undefined
  /** When `height` last changed, ms since epoch. */
  readonly heightChangedAt: number | undefined
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  /** Ejections so far (routable → not routable, operator cordons excluded). */
  readonly ejections: number
  /** Ejections that came within `flapWindowMs` of a re-admission, in a row. */
  readonly flaps: number
  /** Last re-admission (not first admission), ms since epoch. */
  readonly readmittedAt: number | undefined
  /** Not re-admitted before this time (flap hold-off), ms since epoch. */
  readonly holdUntil: number
  /** Set while an operator has cordoned the node. */
  readonly cordonReason: string | undefined
  /** The last failure or wrong-chain finding, kept while the status says something else. */
  readonly lastError: string | undefined
}

export type HealthInput =
  | { kind: 'probe'; observation: ProbeObservation }
  | { kind: 'height'; height: number }
  | { kind: 'traffic-failure'; failure: NodeFailure }
  | { kind: 'traffic-success' }
  | { kind: 'cordon'; reason: string }
  | { kind: 'uncordon' }

/** What the pool knows when the input is judged. */
export interface PoolView {
  /** Pool head (quorum height), undefined before any node reported. */
  head: number | undefined
  /** When the head last increased, ms since epoch. */
  headChangedAt: number | undefined
  now: number
}

export type HealthPolicy = Pick<
  HealthConfig,
  'maxLagBlocks' | 'staleAfterMs' | 'failuresToDown' | 'successesToRecover' | 'flapWindowMs' | 'readmitBackoffBaseMs' | 'readmitBackoffMaxMs'
>

export function initialHealth(now: number): NodeHealth {
  return {
    status: 'starting',
    reason: 'waiting for the first probe',
    cause: 'waiting for the first probe',
    since: now,
    height: undefined,
    heightChangedAt: undefined,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    ejections: 0,
    flaps: 0,
    readmittedAt: undefined,
    holdUntil: 0,
    cordonReason: undefined,
    lastError: undefined,
  }
}

export function isRoutable(health: NodeHealth): boolean {
  return health.status === 'healthy'
}

export function nextNodeHealth(prev: NodeHealth, input: HealthInput, view: PoolView, policy: HealthPolicy): NodeHealth {
  switch (input.kind) {
    case 'cordon':
      return withStatus(prev, 'cordoned', `cordoned by operator: ${input.reason}`, view.now, { cordonReason: input.reason })
    case 'uncordon':
      if (prev.status !== 'cordoned') return prev
      return withStatus(prev, 'starting', 'uncordoned; waiting for a good probe', view.now, { cordonReason: undefined, consecutiveSuccesses: 0 })
    case 'traffic-success':
      return prev.consecutiveFailures === 0 ? prev : { ...prev, consecutiveFailures: 0 }
    case 'traffic-failure':
      return onFailure(prev, input.failure.message, view.now, policy)
    case 'height':
      return onPushedHeight(prev, input.height, view, policy)
    case 'probe':
      return onProbe(prev, input.observation, view, policy)
  }
}

function onFailure(prev: NodeHealth, message: string, now: number, policy: HealthPolicy): NodeHealth {
  const failures = prev.consecutiveFailures + 1
  const next: NodeHealth = { ...prev, consecutiveFailures: failures, consecutiveSuccesses: 0, lastError: message }
  // A node never seen working says why, instead of "waiting for the first probe".
  if (failures < policy.failuresToDown && prev.status === 'starting') {
    const reason = `${failures}/${policy.failuresToDown} failures; last: ${message}`
    return { ...next, reason, cause: reason }
  }
  if (failures < policy.failuresToDown || prev.status === 'down' || isSticky(prev)) return next
  return eject(next, 'down', `${failures} consecutive failures; last: ${message}`, now, policy)
}

function onPushedHeight(prev: NodeHealth, height: number, view: PoolView, policy: HealthPolicy): NodeHealth {
  const next = withHeight(prev, height, view.now)
  if (next.status !== 'healthy') return next
  const verdict = judgeHeight(next, false, undefined, view, policy)
  return verdict.inSync ? next : eject(next, verdict.status, verdict.reason, view.now, policy)
}

function onProbe(prev: NodeHealth, observation: ProbeObservation, view: PoolView, policy: HealthPolicy): NodeHealth {
  if (observation.kind === 'failed') return onFailure(prev, observation.failure.message, view.now, policy)
  if (observation.kind === 'wrong-chain') {
    if (prev.status === 'wrong-chain' || prev.status === 'cordoned') return { ...prev, lastError: observation.reason }
    return eject({ ...prev, lastError: observation.reason }, 'wrong-chain', observation.reason, view.now, policy)
  }
  const measured = withHeight({ ...prev, consecutiveFailures: 0 }, observation.height, view.now)
  if (isSticky(measured)) return measured
  const verdict = judgeHeight(measured, observation.syncing, observation.syncingReason, view, policy)
  if (!verdict.inSync) {
    const notGood = { ...measured, consecutiveSuccesses: 0 }
    if (measured.status === verdict.status) return measured.reason === verdict.reason ? notGood : { ...notGood, reason: verdict.reason, cause: verdict.reason }
    return eject(notGood, verdict.status, verdict.reason, view.now, policy)
  }
  const successes = measured.consecutiveSuccesses + 1
  const good = { ...measured, consecutiveSuccesses: successes }
  if (good.status === 'healthy') return good
  if (good.status === 'starting') return withStatus(good, 'healthy', `in sync since height ${observation.height}`, view.now)
  if (successes < policy.successesToRecover) {
    return { ...good, reason: `${good.cause} (recovering: ${successes}/${policy.successesToRecover} good probes)` }
  }
  if (view.now < good.holdUntil) {
    return { ...good, reason: `${good.cause} (flapping: held until ${new Date(good.holdUntil).toISOString()})` }
  }
  return withStatus(good, 'healthy', `re-admitted at height ${observation.height} after ${successes} good probes`, view.now, { readmittedAt: view.now })
}

type HeightVerdict = { inSync: true } | { inSync: false; status: 'lagging' | 'syncing'; reason: string }

/** Whether a node's height keeps it in sync with the pool. */
export function judgeHeight(
  health: NodeHealth,
  syncing: boolean,
  syncingReason: string | undefined,
  view: PoolView,
  policy: HealthPolicy,
): HeightVerdict {
  if (syncing) return { inSync: false, status: 'syncing', reason: `node is syncing: ${syncingReason ?? 'reported by the node'}` }
  const height = health.height
  if (height === undefined || view.head === undefined) return { inSync: true }
  const lag = view.head - height
  if (lag > policy.maxLagBlocks) {
    return { inSync: false, status: 'lagging', reason: `${lag} blocks behind head ${view.head} (max ${policy.maxLagBlocks})` }
  }
  const changedAt = health.heightChangedAt
  if (lag > 0 && changedAt !== undefined && view.headChangedAt !== undefined && view.headChangedAt > changedAt && view.now - changedAt >= policy.staleAfterMs) {
    const seconds = Math.round((view.now - changedAt) / 1000)
    return { inSync: false, status: 'lagging', reason: `height ${height} unchanged for ${seconds} s while the head moved to ${view.head}` }
  }
  return { inSync: true }
}

function eject(prev: NodeHealth, status: NodeStatus, reason: string, now: number, policy: HealthPolicy): NodeHealth {
  if (prev.status !== 'healthy') return withStatus(prev, status, reason, now)
  const flapping = prev.readmittedAt !== undefined && now - prev.readmittedAt < policy.flapWindowMs
  const flaps = flapping ? prev.flaps + 1 : 0
  const holdMs = flaps === 0 ? 0 : Math.min(policy.readmitBackoffBaseMs * 2 ** (flaps - 1), policy.readmitBackoffMaxMs)
  return withStatus(prev, status, reason, now, { ejections: prev.ejections + 1, flaps, holdUntil: now + holdMs, consecutiveSuccesses: 0 })
}

function withStatus(prev: NodeHealth, status: NodeStatus, reason: string, now: number, extra: Partial<NodeHealth> = {}): NodeHealth {
  return { ...prev, ...extra, status, reason, cause: reason, since: prev.status === status ? prev.since : now }
}

function withHeight(prev: NodeHealth, height: number, now: number): NodeHealth {
  return prev.height === height ? prev : { ...prev, height, heightChangedAt: now }
}

/** Statuses a probe cannot leave: only the operator (uncordon) or a config change can. */
function isSticky(health: NodeHealth): boolean {
  return health.status === 'wrong-chain' || health.status === 'cordoned'
}
