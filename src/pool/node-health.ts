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
 * | fork check: disagrees          | `forked` (before any height rule: never routed, even if ahead) until a  |
 * |                                | fork check finds it agreeing again, then normal re-admission            |
 * | evidence past a threshold      | `unreliable` (empty answers, lost disputes), held out `unreliableHoldMs` |
 * | probe ok, node syncing         | `syncing`                                                               |
 * | probe ok, lag > maxLagBlocks   | `lagging` (lag = pool head − node height)                               |
 * | probe ok, above by > maxLag    | `ahead`: its height is not the quorum's; not routed until they catch up |
 * | probe ok, behind too long      | `lagging`: below the head for `staleAfterMs`, counted from when the head |
 * |                                | first passed the node's height (`behindSince`), not from its last block |
 * | probe ok, in sync              | `starting` → `healthy` at once; any ejected status → `healthy` after    |
 * |                                | `successesToRecover` good probes in a row and any hold-off              |
 * | pushed height (WebSocket head) | can eject (`lagging`) but never re-admits: only probes do; `ahead` is    |
 * |                                | left to probe rounds (pushes from different nodes arrive one by one)    |
 * | traffic success                | clears the failure count of a routed node                               |
 *
 * A node ejected within `flapWindowMs` of its last re-admission is flapping: it must also wait
 * `readmitBackoffBaseMs × 2^(flaps−1)` (capped at `readmitBackoffMaxMs`) before re-admission.
 */
import type { ProbeObservation } from '../chain-adapter.js'
import type { HealthConfig } from '../config/schema.js'
import { type NodeFailure, countsAgainstNode } from '../upstream/node-failure.js'

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
  /**
   * While the node is below the pool head: when the head first passed its height, ms since epoch
   * (the stale rule counts from here). undefined at or above the head.
   */
  readonly behindSince: number | undefined
  /** Set while a fork check finds the node's block hash off the canonical chain: why. */
  readonly forkReason: string | undefined
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
  /** A fork check's verdict: `reason` when its block hash is off the canonical chain, undefined when it agrees. */
  | { kind: 'fork'; reason: string | undefined }
  /** Evidence (empty answers, lost disputes) crossed its threshold within the window. */
  | { kind: 'evidence'; reason: string }

/** What the pool knows when the input is judged. */
export interface PoolView {
  /** Pool head (quorum height), undefined before any node reported. */
  head: number | undefined
  /** When the head last increased, ms since epoch. */
  headChangedAt: number | undefined
  now: number
  /**
   * When the pool head first reached `height`, ms since epoch, if the pool still remembers.
   * Lets the stale rule count from the moment the head passed a node, however late it is probed.
   */
  headReachedAt?: ((height: number) => number | undefined) | undefined
}

export type HealthPolicy = Pick<
  HealthConfig,
  | 'maxLagBlocks'
  | 'staleAfterMs'
  | 'failuresToDown'
  | 'successesToRecover'
  | 'flapWindowMs'
  | 'readmitBackoffBaseMs'
  | 'readmitBackoffMaxMs'
  | 'unreliableHoldMs'
>

export function initialHealth(now: number): NodeHealth {
  return {
    status: 'starting',
    reason: 'waiting for the first probe',
    cause: 'waiting for the first probe',
    since: now,
    height: undefined,
    heightChangedAt: undefined,
    behindSince: undefined,
    forkReason: undefined,
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
    case 'fork':
      return onForkVerdict(prev, input.reason, view.now, policy)
    case 'evidence':
      return onEvidence(prev, input.reason, view.now, policy)
  }
}

function onForkVerdict(prev: NodeHealth, reason: string | undefined, now: number, policy: HealthPolicy): NodeHealth {
  // Agreeing again does not re-admit by itself: the next good probes do, as for any ejection.
  if (reason === undefined) return prev.forkReason === undefined ? prev : { ...prev, forkReason: undefined }
  const next: NodeHealth = { ...prev, forkReason: reason }
  if (isSticky(prev)) return next
  if (prev.status === 'forked') return { ...next, consecutiveSuccesses: 0, reason, cause: reason }
  return eject({ ...next, consecutiveSuccesses: 0 }, 'forked', reason, now, policy)
}

function onEvidence(prev: NodeHealth, reason: string, now: number, policy: HealthPolicy): NodeHealth {
  if (isSticky(prev)) return prev
  const ejected = prev.status === 'unreliable' ? { ...prev, reason, cause: reason } : eject({ ...prev, consecutiveSuccesses: 0 }, 'unreliable', reason, now, policy)
  return { ...ejected, holdUntil: Math.max(ejected.holdUntil, now + policy.unreliableHoldMs) }
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
  const next = withHeight(prev, height, view)
  if (next.status !== 'healthy') return next
  const verdict = judgeHeight(next, false, undefined, view, policy)
  // Pushes from different nodes arrive one by one: the first to hear a burst of blocks is ahead of
  // a head the others have not pushed yet. `ahead` is judged by probe rounds, which see every node.
  if (verdict.inSync || verdict.status === 'ahead') return next
  return eject(next, verdict.status, verdict.reason, view.now, policy)
}

function onProbe(prev: NodeHealth, observation: ProbeObservation, view: PoolView, policy: HealthPolicy): NodeHealth {
  if (observation.kind === 'failed') {
    // A probe timed out while switchyard's own event loop was stalled (or was cut by our bounds):
    // no verdict about the node either way.
    if (!countsAgainstNode(observation.failure)) return prev
    return onFailure(prev, observation.failure.message, view.now, policy)
  }
  if (observation.kind === 'wrong-chain') {
    if (prev.status === 'wrong-chain' || prev.status === 'cordoned') return { ...prev, lastError: observation.reason }
    return eject({ ...prev, lastError: observation.reason }, 'wrong-chain', observation.reason, view.now, policy)
  }
  const measured = withHeight({ ...prev, consecutiveFailures: 0 }, observation.height, view)
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
    const hold = good.status === 'unreliable' ? 'held out until' : 'flapping: held until'
    return { ...good, reason: `${good.cause} (${hold} ${new Date(good.holdUntil).toISOString()})` }
  }
  return withStatus(good, 'healthy', `re-admitted at height ${observation.height} after ${successes} good probes`, view.now, { readmittedAt: view.now })
}

type HeightVerdict = { inSync: true } | { inSync: false; status: 'lagging' | 'ahead' | 'syncing' | 'forked'; reason: string }

/** Whether a node's height (and chain) keeps it in sync with the pool. */
export function judgeHeight(
  health: NodeHealth,
  syncing: boolean,
  syncingReason: string | undefined,
  view: PoolView,
  policy: HealthPolicy,
): HeightVerdict {
  // First: a node on another branch must not answer even when its height looks perfect.
  if (health.forkReason !== undefined) return { inSync: false, status: 'forked', reason: health.forkReason }
  if (syncing) return { inSync: false, status: 'syncing', reason: `node is syncing: ${syncingReason ?? 'reported by the node'}` }
  const height = health.height
  if (height === undefined || view.head === undefined) return { inSync: true }
  const lag = view.head - height
  if (lag > policy.maxLagBlocks) {
    return { inSync: false, status: 'lagging', reason: `${lag} blocks behind head ${view.head} (max ${policy.maxLagBlocks})` }
  }
  if (-lag > policy.maxLagBlocks) {
    return { inSync: false, status: 'ahead', reason: `${-lag} blocks above the quorum head ${view.head} (max ${policy.maxLagBlocks}); not routed until the other nodes reach it` }
  }
  const behindSince = health.behindSince
  if (lag > 0 && behindSince !== undefined && view.now - behindSince >= policy.staleAfterMs) {
    const seconds = Math.round((view.now - behindSince) / 1000)
    return { inSync: false, status: 'lagging', reason: `height ${height} below the head for ${seconds} s (head ${view.head}; limit ${Math.round(policy.staleAfterMs / 1000)} s)` }
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

function withHeight(prev: NodeHealth, height: number, view: PoolView): NodeHealth {
  const moved = prev.height !== height
  const behindSince = behindSinceOf(prev, height, moved, view)
  if (!moved && behindSince === prev.behindSince) return prev
  return { ...prev, height, heightChangedAt: moved ? view.now : prev.heightChangedAt, behindSince }
}

/**
 * When the head first passed `height`: from the pool's memory of when it reached `height + 1`;
 * failing that, the first time this node was seen below the head at this height.
 */
function behindSinceOf(prev: NodeHealth, height: number, moved: boolean, view: PoolView): number | undefined {
  if (view.head === undefined || height >= view.head) return undefined
  const passedAt = view.headReachedAt?.(height + 1)
  if (passedAt !== undefined) return passedAt
  return !moved && prev.behindSince !== undefined ? prev.behindSince : view.now
}

/** Statuses a probe cannot leave: only the operator (uncordon) or a config change can. */
function isSticky(health: NodeHealth): boolean {
  return health.status === 'wrong-chain' || health.status === 'cordoned'
}
