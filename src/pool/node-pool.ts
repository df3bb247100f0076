/**
 * The nodes of one chain and their live figures. Applies health inputs through the pure policy
 * (`nextNodeHealth`), keeps the pool head (and when it reached each recent height, for the stale
 * rule), applies fork-check rounds, and emits `node:state` / `chain:head` / `chain:fork` /
 * `chain:reorg` on change.
 */
import type { ProbeObservation, RpcReplyStyle } from '../chain-adapter.js'
import type { ChainConfig, NodeConfig } from '../config/schema.js'
import type { ProxyEvents } from '../proxy-events.js'
import { scoreOf } from '../routing/scoring.js'
import { type NodeFailure, countsAgainstNode } from '../upstream/node-failure.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import type { Clock } from '../util/clock.js'
import { type ForkRound, shortHash } from './fork-watch.js'
import { LatencyTracker } from './latency-tracker.js'
import { type HealthInput, type NodeHealth, type NodeStatus, initialHealth, isRoutable, nextNodeHealth } from './node-health.js'
import { computeHead } from './pool-head.js'

/** What a node can serve beyond the head: probed (bitcoin) or learned from its answers (EVM state). */
export interface NodeCapabilities {
  /** Bitcoin: block files are pruned (getblockchaininfo.pruned); undefined until probed. */
  pruned: boolean | undefined
  /** Bitcoin: lowest height whose block the node still has (pruneheight). */
  pruneHeight: number | undefined
  /** Bitcoin: -txindex is on (getindexinfo); undefined when the node cannot tell. */
  txindex: boolean | undefined
  /** EVM: keeps all historical state (config `archive`, or false once it answered "missing trie node"). */
  archive: boolean | undefined
  /** EVM: the node lacks state below this height (learned from its errors); undefined: none seen. */
  stateMissingBelow: number | undefined
  /** Bitcoin: how the node shapes 2.0 replies (probed from its version); undefined until known. */
  rpcReplyStyle?: RpcReplyStyle | undefined
}

export interface PoolNode {
  readonly config: NodeConfig
  readonly transport: NodeTransport
  health: NodeHealth
  readonly tracker: LatencyTracker
  inFlight: number
  requests: number
  failures: number
  lastProbeAt: number | undefined
  /** Push-height subscription state (EVM newHeads); undefined when the node has none. */
  headsSubscription: 'connected' | 'disconnected' | undefined
  capabilities: NodeCapabilities
  /** Times (ms) the node answered empty where another node had the data, within the evidence window. */
  emptyAnswers: number[]
  /** Times (ms) the node's verified-read answer lost to an agreed one, within the evidence window. */
  disputes: number[]
  /** When getindexinfo was last read (ms); undefined: read it at the next good probe (admission). */
  capabilitiesCheckedAt: number | undefined
  /**
   * The highest height where the fork check saw this node's block hash equal the canonical one
   * (pools that verify forks only). Above it the node's blocks are its word alone, so reads there
   * are not sent to it; undefined: never verified.
   */
  verifiedHeight: number | undefined
}

export interface NodePoolOptions {
  /** The pool this one replaces on a config reload (same chain), and the nodes that carry over. */
  carried?: { pool: NodePool; nodeIds: ReadonlySet<string> } | undefined
  /**
   * The prober compares block hashes across nodes (`health.forkCheck` and an adapter that can read
   * hashes): reads are then limited to heights a comparison verified (`readHead`, `servableHeight`).
   */
  verifiesForks?: boolean | undefined
}

/** A fork seen by the last compared round, while any node is forked or the dispute is unresolved. */
export interface ChainFork {
  /** The height whose block hashes were compared. */
  height: number
  /** Nodes by the hash they gave there (full hashes). */
  groups: Array<{ hash: string; nodes: string[] }>
  /** Whether a canonical chain was decided (majority, or bitcoin's most work). */
  resolved: boolean
  decidedBy: 'majority' | 'chainwork' | null
  /** Reads at or above this height need agreeing nodes (unresolved disputes only). */
  agreementRequiredFrom: number | null
  /** When this fork state began, ISO 8601. */
  since: string
}

export interface NodeSnapshot {
  id: string
  status: NodeStatus
  reason: string
  height: number | null
  lag: number | null
  latencyMs: number | null
  /** Median and 95th percentile of the last 256 latency samples (probes and traffic), ms. */
  latencyP50Ms: number | null
  latencyP95Ms: number | null
  errorRate: number
  score: number
  weight: number
  provider: string | null
  region: string | null
  /** When the node entered its status, ISO 8601. */
  since: string
  ejections: number
  inFlight: number
  requests: number
  failures: number
  lastProbeAt: string | null
  lastError: string | null
  /** newHeads subscription: connected / disconnected; null when the node has no wsUrl. */
  headsSubscription: 'connected' | 'disconnected' | null
  /** What the node can serve beyond the tip; null: not known (yet). */
  capabilities: {
    pruned: boolean | null
    pruneHeight: number | null
    txindex: boolean | null
    archive: boolean | null
    stateMissingBelow: number | null
  }
}

export interface ChainSnapshot {
  name: string
  family: string
  head: number | null
  /**
   * The height reads are served at (`readHead`): below the head while the newest heights' block
   * hashes are not compared yet, or nodes dispute one.
   */
  readHead: number | null
  routable: number
  /** Set while block hashes differ across nodes at a compared height; null otherwise. */
  fork: ChainFork | null
  nodes: NodeSnapshot[]
}

/** Heights of the head's recent past remembered for the stale rule. */
const HEAD_HISTORY = 512

export class NodePool {
  readonly chain: ChainConfig
  readonly nodes: readonly PoolNode[]
  head: number | undefined
  headChangedAt: number | undefined
  /** Completed probe rounds (readiness needs at least one). */
  probeRounds = 0
  readonly #byId: Map<string, PoolNode>
  readonly #events: ProxyEvents
  readonly #clock: Clock
  #readHead: number | undefined
  /** When the head first reached each recent height, ms. */
  readonly #headReachedAt = new Map<number, number>()
  #fork: ChainFork | undefined
  /** During an unresolved dispute: the height where every node last agreed, when known. */
  #agreedBeforeDispute: number | undefined
  /** Forked node ids and the dispute flag as last published with chain:fork (none at start). */
  #forkState = forkState([], false)
  readonly #verifiesForks: boolean
  /** The highest height whose block hash the fork check compared and decided (verifying pools). */
  #verifiedHead: number | undefined
  /** Unresolved disputes: reads at or above this height need agreeing nodes. */
  #disputedFrom: number | undefined

  /**
   * `carried`: the pool this one replaces on a config reload (same chain). Nodes it names in
   * `nodeIds` (same connection, same transport) keep their health, latency, evidence and
   * capabilities, and the pool keeps its head, read head and fork state, so a reload neither
   * re-admits an ejected node nor sends clients a lower block height.
   */
  constructor(chain: ChainConfig, transports: ReadonlyMap<string, NodeTransport>, events: ProxyEvents, clock: Clock, options: NodePoolOptions = {}) {
    const { carried } = options
    this.chain = chain
    this.#verifiesForks = options.verifiesForks === true
    this.#events = events
    this.#clock = clock
    const now = clock.now()
    this.nodes = chain.nodes.map((config) => {
      const transport = transports.get(config.id)
      if (transport === undefined) throw new Error(`no transport for node ${config.id}`)
      const before = carried?.nodeIds.has(config.id) === true ? carried.pool.get(config.id) : undefined
      if (before !== undefined) {
        return {
          ...before,
          config,
          transport,
          inFlight: 0,
          capabilities: { ...before.capabilities, archive: config.archive ?? before.capabilities.archive },
          emptyAnswers: [...before.emptyAnswers],
          disputes: [...before.disputes],
        }
      }
      return {
        config,
        transport,
        health: initialHealth(now),
        tracker: new LatencyTracker(),
        inFlight: 0,
        requests: 0,
        failures: 0,
        lastProbeAt: undefined,
        headsSubscription: undefined,
        capabilities: { pruned: undefined, pruneHeight: undefined, txindex: undefined, archive: config.archive, stateMissingBelow: undefined },
        emptyAnswers: [],
        disputes: [],
        capabilitiesCheckedAt: undefined,
        verifiedHeight: undefined,
      }
    })
    this.#byId = new Map(this.nodes.map((node) => [node.config.id, node]))
    if (carried !== undefined) {
      const from = carried.pool
      this.head = from.head
      this.headChangedAt = from.headChangedAt
      this.probeRounds = from.probeRounds
      this.#readHead = from.#readHead
      for (const [height, at] of from.#headReachedAt) this.#headReachedAt.set(height, at)
      this.#fork = from.#fork
      this.#forkState = from.#forkState
      this.#disputedFrom = from.#disputedFrom
      this.#agreedBeforeDispute = from.#agreedBeforeDispute
      this.#verifiedHead = from.#verifiedHead
    }
  }

  /**
   * The height reads are served at: the quorum head, never going backwards for clients
   * (`eth_blockNumber` / `getblockcount` are answered from it, `latest` is pinned to it). While
   * nodes dispute a block with no majority and the height where they last agreed is known, it does
   * not move past that height: tip reads are answered from the last block every node has (the tip
   * is not known yet) instead of failing for want of two agreeing nodes at a height only the
   * disputing ones have. In a pool that verifies forks it never passes the highest height whose
   * block hash the fork check compared and decided: a height the nodes merely claim (a round whose
   * hash look-ups timed out, a pushed head) is not served until a comparison backs it.
   */
  get readHead(): number | undefined {
    let target = this.head
    // Nothing verified yet (startup, or nodes that never agreed): the head, where reads need agreeing nodes.
    if (this.#verifiesForks && target !== undefined && this.#verifiedHead !== undefined) target = Math.min(target, this.#verifiedHead)
    const agreed = this.#agreedBeforeDispute
    if (target !== undefined && agreed !== undefined && target > agreed) target = agreed
    if (target !== undefined && (this.#readHead === undefined || target > this.#readHead)) this.#readHead = target
    return this.#readHead
  }

  /**
   * Set while probed nodes disagree about a block with no majority: reads at or above this
   * height are answered only by nodes that agree with each other. undefined: no dispute.
   */
  get agreementRequiredFrom(): number | undefined {
    return this.#disputedFrom
  }

  /**
   * Whether a read at `height` needs agreeing nodes: the height is disputed, or (verifying pools)
   * no fork check verified it yet while at least 2 routable nodes have it, so their answers can
   * vouch for each other. With one node holding it, the height is not served yet: the router sends
   * the read to nodes below it, whose "not yet" matches the read head.
   */
  needsAgreementAt(height: number | undefined): boolean {
    if (height === undefined) return false
    if (this.#disputedFrom !== undefined && height >= this.#disputedFrom) return true
    if (!this.#verifiesForks || (this.#verifiedHead !== undefined && height <= this.#verifiedHead)) return false
    let holders = 0
    for (const node of this.nodes) if (isRoutable(node.health) && (node.health.height ?? -1) >= height && ++holders >= 2) return true
    return false
  }

  /**
   * The height up to which reads may be sent to this node: its height, and in a verifying pool no
   * higher than where its own block hash was last verified.
   */
  servableHeight(node: PoolNode): number {
    const height = node.health.height ?? -1
    if (!this.#verifiesForks) return height
    return Math.min(height, node.verifiedHeight ?? -1)
  }

  /** The head that routing treats as "in sync": the pool head, no higher than the verified head. */
  get routingHead(): number | undefined {
    if (!this.#verifiesForks || this.head === undefined || this.#verifiedHead === undefined) return this.head
    return Math.min(this.head, this.#verifiedHead)
  }

  /** The node answered empty for data another node had (see routing). Past the threshold: `unreliable`. */
  recordEmptyAnswer(node: PoolNode, detail: string): void {
    this.#recordEvidence(node, node.emptyAnswers, this.chain.health.emptyAnswersToEject, (count) => `answered empty ${count} times where other nodes had the data; last: ${detail}`)
  }

  /** The node's verified-read answer lost to an agreed one. Past the threshold: `unreliable`. */
  recordDispute(node: PoolNode, detail: string): void {
    this.#recordEvidence(node, node.disputes, this.chain.health.disputesToEject, (count) => `lost ${count} verified-read disputes; last: ${detail}`)
  }

  /** The node lacks state (or blocks) at `height`: reads below `height + 1` avoid it. */
  noteMissingState(node: PoolNode, height: number): void {
    const floor = height + 1
    const caps = node.capabilities
    if (caps.stateMissingBelow === undefined || floor > caps.stateMissingBelow) caps.stateMissingBelow = floor
    if (caps.archive === undefined) caps.archive = false
  }

  /**
   * Evidence counts within `evidenceWindowMs`; reaching `threshold` ejects the node as `unreliable`.
   * Each piece also counts as an error for scoring, so the node gets less traffic before that.
   */
  #recordEvidence(node: PoolNode, log: number[], threshold: number, reason: (count: number) => string): void {
    const now = this.#clock.now()
    log.push(now)
    while (log.length > 0 && now - log[0]! > this.chain.health.evidenceWindowMs) log.shift()
    node.tracker.observeOutcome(true)
    if (log.length < threshold || !isRoutable(node.health)) return
    const windowS = Math.round(this.chain.health.evidenceWindowMs / 1000)
    this.#apply(node, { kind: 'evidence', reason: `${reason(log.length)} (limit ${threshold} in ${windowS} s)` }, now)
  }

  /** Now on the pool's clock, ms (routing uses it to time evidence and disputes alike). */
  now(): number {
    return this.#clock.now()
  }

  /** getindexinfo is due: never read since admission, or older than `capabilitiesIntervalMs`. */
  capabilitiesDue(node: PoolNode): boolean {
    const checkedAt = node.capabilitiesCheckedAt
    return checkedAt === undefined || this.#clock.now() - checkedAt >= this.chain.health.capabilitiesIntervalMs
  }

  /** Records what getindexinfo said (undefined: the node cannot tell, e.g. bcoin). */
  applyTxIndex(node: PoolNode, txindex: boolean | undefined): void {
    node.capabilities.txindex = txindex
    node.capabilitiesCheckedAt = this.#clock.now()
  }

  /** The fork state shown in the admin view; undefined while every compared node agrees. */
  get fork(): ChainFork | undefined {
    return this.#fork
  }

  get(nodeId: string): PoolNode | undefined {
    return this.#byId.get(nodeId)
  }

  routable(): PoolNode[] {
    return this.nodes.filter((node) => isRoutable(node.health))
  }

  /** Applies one probe round and completes it (`applyProbeResults` + `completeProbeRound`). */
  applyProbeRound(results: ReadonlyArray<{ node: PoolNode; observation: ProbeObservation }>): void {
    this.applyProbeResults(results)
    this.completeProbeRound()
  }

  /** A round's probe results: heights first, then the head, then each node's verdict. */
  /**
   * The pool head these probe results will make once applied: the prober checks for forks at it
   * before applying them, so a node on another branch is never routable at a head it just reached.
   */
  headWith(results: ReadonlyArray<{ node: PoolNode; observation: ProbeObservation }>): number | undefined {
    const observed = new Map(results.map(({ node, observation }) => [node, observation]))
    const heights: number[] = []
    for (const node of this.nodes) {
      const observation = observed.get(node)
      if (node.health.status === 'wrong-chain' || observation?.kind === 'wrong-chain') continue
      const height = observation?.kind === 'ok' ? observation.height : node.health.height
      if (height !== undefined) heights.push(height)
    }
    return computeHead(heights, this.chain.health.headQuorum)
  }

  applyProbeResults(results: ReadonlyArray<{ node: PoolNode; observation: ProbeObservation }>): void {
    const now = this.#clock.now()
    for (const { node, observation } of results) {
      node.lastProbeAt = now
      if (observation.kind !== 'failed' || countsAgainstNode(observation.failure)) node.tracker.observeOutcome(observation.kind === 'failed')
      if (observation.kind !== 'ok') continue
      node.tracker.observeLatency(observation.latencyMs, now)
      if (observation.pruned !== undefined) node.capabilities.pruned = observation.pruned
      if (observation.rpcReplyStyle !== undefined) node.capabilities.rpcReplyStyle = observation.rpcReplyStyle
      if (observation.pruned === false) node.capabilities.pruneHeight = undefined
      else if (observation.pruneHeight !== undefined) node.capabilities.pruneHeight = observation.pruneHeight
      if (node.health.height !== observation.height) {
        // behindSince belongs to the old height; the verdict below works it out for the new one.
        node.health = { ...node.health, height: observation.height, heightChangedAt: now, behindSince: undefined }
      }
    }
    this.#recomputeHead(now)
    for (const { node, observation } of results) this.#apply(node, { kind: 'probe', observation }, now)
  }

  /** Ends a probe round (after the fork check): counts it and emits `probe:complete`. */
  completeProbeRound(): void {
    this.probeRounds += 1
    this.#events.emit('probe:complete', { chain: this.chain.name, head: this.head, routable: this.routable().length, at: this.#clock.now() })
  }

  /**
   * Applies a fork-check round: minority nodes become `forked`, canonical ones agree again; an
   * unresolved dispute sets `agreementRequiredFrom`. Emits `chain:fork` when the set of forked
   * nodes or the dispute changes, and `chain:reorg` when the canonical hash at a remembered height
   * changed.
   */
  applyForkRound(round: ForkRound): void {
    const now = this.#clock.now()
    const { verdict, reorg } = round
    if (reorg !== undefined) {
      // Blocks verified above the fork point were the old branch's.
      const below = reorg.height - 1
      for (const node of this.nodes) if (node.verifiedHeight !== undefined && node.verifiedHeight > below) node.verifiedHeight = below
      if (this.#verifiedHead !== undefined && this.#verifiedHead > below) this.#verifiedHead = below
    }
    for (const [nodeId, height] of round.verified ?? []) {
      const node = this.#byId.get(nodeId)
      if (node === undefined) continue
      if (node.verifiedHeight === undefined || height > node.verifiedHeight) node.verifiedHeight = height
      if (this.#verifiedHead === undefined || height > this.#verifiedHead) this.#verifiedHead = height
    }
    for (const [nodeId, reason] of verdict.forked) {
      const node = this.#byId.get(nodeId)
      if (node !== undefined) this.#apply(node, { kind: 'fork', reason }, now)
    }
    for (const nodeId of verdict.agreeing) {
      const node = this.#byId.get(nodeId)
      if (node !== undefined) this.#apply(node, { kind: 'fork', reason: undefined }, now)
    }
    const resolved = verdict.canonical !== undefined
    // Reads need agreeing nodes from just above the last height every node was seen to agree on
    // (the branches split there), or from the compared height when that is not known.
    this.#agreedBeforeDispute = resolved ? undefined : round.agreedAt
    this.#disputedFrom = resolved ? undefined : (round.agreedAt ?? verdict.height - 1) + 1
    const forkedIds = this.nodes.filter((node) => node.health.forkReason !== undefined).map((node) => node.config.id)
    const state = forkState(forkedIds, !resolved)
    const changed = state !== this.#forkState
    this.#forkState = state
    const quiet = forkedIds.length === 0 && resolved
    if (quiet) this.#fork = undefined
    else {
      this.#fork = {
        height: verdict.height,
        groups: verdict.groups.map((group) => ({ hash: group.hash, nodes: [...group.nodes] })),
        resolved,
        decidedBy: verdict.decidedBy === 'majority' || verdict.decidedBy === 'chainwork' ? verdict.decidedBy : null,
        agreementRequiredFrom: this.agreementRequiredFrom ?? null,
        since: changed || this.#fork === undefined ? new Date(now).toISOString() : this.#fork.since,
      }
    }
    if (changed) {
      this.#events.emit('chain:fork', {
        chain: this.chain.name,
        height: verdict.height,
        groups: verdict.groups.map((group) => ({ hash: shortHash(group.hash), nodes: [...group.nodes] })),
        resolved,
        at: now,
      })
    }
    if (reorg !== undefined) {
      const depth = Math.max(1, (this.head ?? reorg.height) - reorg.height + 1)
      this.#events.emit('chain:reorg', { chain: this.chain.name, height: reorg.height, depth, oldHash: reorg.oldHash, newHash: reorg.newHash, at: now })
    }
  }

  /**
   * A round with nothing to compare: these nodes (at most one) are all that answered and no other
   * node is routable. Their word is all there is, so it is taken, up to the pool head, rather than
   * freezing the chain; the dashboard shows one routable node.
   */
  applyUncomparedRound(nodeIds: readonly string[]): void {
    if (!this.#verifiesForks || this.head === undefined) return
    for (const nodeId of nodeIds) {
      const node = this.#byId.get(nodeId)
      if (node?.health.height === undefined) continue
      const height = Math.min(node.health.height, this.head)
      if (node.verifiedHeight === undefined || height > node.verifiedHeight) node.verifiedHeight = height
      if (this.#verifiedHead === undefined || height > this.#verifiedHead) this.#verifiedHead = height
    }
  }

  /** A height pushed by the node (WebSocket head): may eject nodes at once, never re-admits. */
  applyPushedHeight(node: PoolNode, height: number): void {
    const now = this.#clock.now()
    this.#apply(node, { kind: 'height', height }, now)
    const before = this.head
    this.#recomputeHead(now)
    if (this.head !== before) {
      for (const other of this.nodes) {
        if (other !== node && other.health.height !== undefined) this.#apply(other, { kind: 'height', height: other.health.height }, now)
      }
    }
  }

  recordSuccess(node: PoolNode, latencyMs: number): void {
    node.requests += 1
    node.tracker.observeLatency(latencyMs, this.#clock.now())
    node.tracker.observeOutcome(false)
    if (node.health.consecutiveFailures !== 0) this.#apply(node, { kind: 'traffic-success' }, this.#clock.now())
  }

  recordFailure(node: PoolNode, failure: NodeFailure): void {
    node.requests += 1
    node.failures += 1
    node.tracker.observeOutcome(true)
    this.#apply(node, { kind: 'traffic-failure', failure }, this.#clock.now())
  }

  cordon(node: PoolNode, reason: string): void {
    this.#apply(node, { kind: 'cordon', reason }, this.#clock.now())
  }

  uncordon(node: PoolNode): void {
    this.#apply(node, { kind: 'uncordon' }, this.#clock.now())
  }

  score(node: PoolNode): number {
    return scoreOf(node.config.weight, node.tracker.latencyMs ?? 1, node.inFlight, node.tracker.errorRate)
  }

  snapshot(): ChainSnapshot {
    return {
      name: this.chain.name,
      family: this.chain.family,
      head: this.head ?? null,
      readHead: this.readHead ?? null,
      routable: this.routable().length,
      fork: this.#fork === undefined ? null : { ...this.#fork, groups: this.#fork.groups.map((group) => ({ ...group, nodes: [...group.nodes] })) },
      nodes: this.nodes.map((node) => this.#nodeSnapshot(node)),
    }
  }

  #nodeSnapshot(node: PoolNode): NodeSnapshot {
    const { health, tracker, config } = node
    const height = health.height ?? null
    return {
      id: config.id,
      status: health.status,
      reason: health.reason,
      height,
      lag: height !== null && this.head !== undefined ? Math.max(0, this.head - height) : null,
      latencyMs: tracker.latencyMs === undefined ? null : round(tracker.latencyMs, 2),
      latencyP50Ms: nullableRound(tracker.percentile(0.5)),
      latencyP95Ms: nullableRound(tracker.percentile(0.95)),
      errorRate: round(tracker.errorRate, 4),
      score: round(this.score(node), 6),
      weight: config.weight,
      provider: config.provider ?? null,
      region: config.region ?? null,
      since: new Date(health.since).toISOString(),
      ejections: health.ejections,
      inFlight: node.inFlight,
      requests: node.requests,
      failures: node.failures,
      lastProbeAt: node.lastProbeAt === undefined ? null : new Date(node.lastProbeAt).toISOString(),
      lastError: health.lastError ?? null,
      headsSubscription: node.headsSubscription ?? null,
      capabilities: {
        pruned: node.capabilities.pruned ?? null,
        pruneHeight: node.capabilities.pruneHeight ?? null,
        txindex: node.capabilities.txindex ?? null,
        archive: node.capabilities.archive ?? null,
        stateMissingBelow: node.capabilities.stateMissingBelow ?? null,
      },
    }
  }

  #apply(node: PoolNode, input: HealthInput, now: number): void {
    const prev = node.health
    const view = { head: this.head, headChangedAt: this.headChangedAt, now, headReachedAt: (height: number) => this.#headReachedAt.get(height) }
    const next = nextNodeHealth(prev, input, view, this.chain.health)
    node.health = next
    if (next.status !== prev.status) {
      if (isRoutable(prev)) node.capabilitiesCheckedAt = undefined // re-read at re-admission
      if (prev.status === 'unreliable' && isRoutable(next)) {
        // Re-admitted: the evidence was paid for by the hold-off.
        node.emptyAnswers.length = 0
        node.disputes.length = 0
      }
      this.#events.emit('node:state', { chain: this.chain.name, nodeId: node.config.id, from: prev.status, to: next.status, reason: next.reason, at: now })
    }
  }

  /**
   * Heights of down nodes still count (their last known height): the chain does not go back
   * because the nodes at the tip died, so a lagging survivor must not become "in sync" and answer.
   * Only wrong-chain heights are ignored.
   */
  #recomputeHead(now: number): void {
    const heights: number[] = []
    for (const node of this.nodes) {
      if (node.health.status !== 'wrong-chain' && node.health.height !== undefined) heights.push(node.health.height)
    }
    const head = computeHead(heights, this.chain.health.headQuorum)
    if (head === undefined || head === this.head) return
    const previous = this.head
    this.head = head
    if (previous === undefined || head > previous) this.headChangedAt = now
    this.#rememberHead(previous, head, now)
    this.#events.emit('chain:head', { chain: this.chain.name, head, previous, at: now })
  }

  /** Records when the head first reached each height (bounded); heights it fell back from are forgotten. */
  #rememberHead(previous: number | undefined, head: number, now: number): void {
    if (previous !== undefined && head < previous) {
      for (const height of this.#headReachedAt.keys()) if (height > head) this.#headReachedAt.delete(height)
      return
    }
    const from = previous === undefined ? head : Math.max(previous + 1, head - HEAD_HISTORY + 1)
    for (let height = from; height <= head; height++) if (!this.#headReachedAt.has(height)) this.#headReachedAt.set(height, now)
    for (const height of this.#headReachedAt.keys()) if (height <= head - HEAD_HISTORY) this.#headReachedAt.delete(height)
  }
}

function forkState(forkedIds: readonly string[], disputed: boolean): string {
  return JSON.stringify({ forkedIds, disputed })
}

function nullableRound(value: number | undefined): number | null {
  return value === undefined ? null : round(value, 2)
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
