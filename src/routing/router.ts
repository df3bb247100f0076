/**
 * Routes one read call of one chain: picks the best routable node for the call's height needs,
 * fails over within one overall deadline, and is the one place that applies the blame table
 * (`decideAttempt`): whether to try another node, and whether a failure counts against the node
 * now, only once the same call works on another node, or never. It never queues: a node with
 * routing.maxInFlightPerNode calls in flight is skipped, and when every candidate is at that bound
 * the call gets SY_OVERLOADED at once. Likewise a node over its provider quota (`nodes[].quota`,
 * `node-quota.ts`) is skipped, never blamed; all candidates over it → SY_NODE_QUOTA.
 * With `routing.hedge.enabled` a slow read also goes to a second node (`hedge.ts`): its attempts
 * then race (`AttemptRace`); with it off, attempts run one at a time as they always did.
 */
import type { CallCost, ChainAdapter } from '../chain-adapter.js'
import { ProxyError } from '../errors/proxy-error.js'
import type { JsonRpcErrorObject, RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import { type NodeFailure, shortNodeMessage } from '../upstream/node-failure.js'
import { replyHoldOf } from '../upstream/reply-budget.js'
import type { CallOutcome } from '../upstream/node-transport.js'
import { type AttemptDecision, type FailureSign, decideAttempt } from './attempt-decision.js'
import { type HedgeStats, type HedgeTimer, hedgeDelayMs, hedgeVerdict, isHedgeable, realHedgeTimer } from './hedge.js'
import { NodeQuota } from './node-quota.js'
import { type CandidateRules, type ChoiceLimits, NodeChooser, reportedHeight } from './node-choice.js'
import { type CallSignal, CancelSignal } from '../util/call-signal.js'

export interface RouteOptions {
  signal?: CallSignal | undefined
  /** Only nodes at the pool head may serve (broadcast-grade freshness). */
  atHeadOnly?: boolean
  /**
   * Nodes not to ask. The router adds every node it tries to this very set (hedges included), so
   * concurrent `route()` calls sharing one set never ask the same node. Passed together with
   * `unverifiedOk`, it marks one route of a verified read: never hedged (see `hedge.ts`).
   */
  exclude?: Set<PoolNode> | undefined
  /** Only nodes passing this are candidates (capability routing); none passing → no candidates. */
  filter?: ((node: PoolNode) => boolean) | undefined
  /** Overrides `adapter.requiredHeight(call)` when given. */
  minHeight?: number | undefined
  /**
   * Nodes may be asked at heights the fork check has not verified on them yet: the answer is
   * compared with other nodes' (a verified read), or only shows the node is alive there (a tip
   * height answered from the read head). Otherwise a node serves only up to `pool.servableHeight`.
   */
  unverifiedOk?: boolean | undefined
}

export type RouteResult =
  | { ok: true; answer: RpcAnswer; nodeId: string; attempts: number }
  | { ok: false; error: ProxyError; attempts: number; nodeId?: undefined }

/** One call's candidate rules; `tried` is the call's own set (or the verified read's shared one). */
type CallRules = CandidateRules & { tried: Set<PoolNode> }

export class Router {
  readonly #pool: NodePool
  readonly #adapter: ChainAdapter
  readonly #random: () => number
  readonly #quota: NodeQuota
  readonly #hedgeTimer: HedgeTimer
  readonly #hedges: HedgeStats = { sent: 0, won: 0, inFlight: 0 }
  readonly #chooser = new NodeChooser()
  /** Bound once: the hot path asks them of every candidate of every attempt. */
  readonly #limits: ChoiceLimits

  constructor(pool: NodePool, adapter: ChainAdapter, random: () => number = Math.random, hedgeTimer: HedgeTimer = realHedgeTimer) {
    this.#pool = pool
    this.#adapter = adapter
    this.#random = random
    this.#hedgeTimer = hedgeTimer
    this.#quota = new NodeQuota(pool.chain.nodes, () => pool.now())
    const quota = this.#quota
    this.#limits = {
      maxInFlight: pool.chain.routing.maxInFlightPerNode,
      allows: quota.active ? (node) => quota.allows(node.config.id) : undefined,
      score: (node) => pool.score(node),
    }
  }

  /** Hedged reads of this chain since the router was built. */
  get hedgeStats(): HedgeStats {
    return { ...this.#hedges }
  }

  /** Which nodes may serve this call's attempts (the head is read again at each attempt). */
  #rules(options: RouteOptions, minHeight: number | undefined, tried: Set<PoolNode>): CallRules {
    const unverifiedOk = options.unverifiedOk === true
    return {
      head: undefined,
      minHeight,
      tried,
      atHeadOnly: options.atHeadOnly === true,
      filter: options.filter,
      heightOf: unverifiedOk ? reportedHeight : this.#servableHeight,
    }
  }

  #routingHead(options: RouteOptions): number | undefined {
    return options.unverifiedOk === true ? this.#pool.head : this.#pool.routingHead
  }

  /** Bound once: the hot path asks it for every candidate of every attempt. */
  readonly #servableHeight = (node: PoolNode): number => this.#pool.servableHeight(node)

  route(call: RpcCall, options: RouteOptions = {}): Promise<RouteResult> {
    const hedge = this.#pool.chain.routing.hedge
    // Hedging off (the default) costs this one check: no race, timer or controller per call.
    if (!hedge.enabled) return this.#route(call, options, undefined)
    const verifiedRead = options.unverifiedOk === true && options.exclude !== undefined
    if (!isHedgeable(hedge, { methodClass: this.#adapter.classifyMethod(call.method), atHeadOnly: options.atHeadOnly === true, verifiedRead })) return this.#route(call, options, undefined)
    return this.#routeHedged(call, options)
  }

  async #routeHedged(call: RpcCall, options: RouteOptions): Promise<RouteResult> {
    const race = new AttemptRace(call, options.signal, this.#hedges, this.#hedgeTimer)
    try {
      return await this.#route(call, options, race)
    } finally {
      // The call is decided: the attempt still running lost (or no longer matters).
      await race.cancel()
    }
  }

  /** The attempts of one call; `race` when it may be hedged, else one attempt at a time. */
  async #route(call: RpcCall, options: RouteOptions, race: AttemptRace | undefined): Promise<RouteResult> {
    const chain = this.#pool.chain
    const deadline = performance.now() + chain.routing.deadlineMs
    const minHeight = options.minHeight ?? this.#adapter.requiredHeight(call)
    const cost = this.#adapter.callCost(call)
    const batchUpTo = this.#batchUpTo(call, cost)
    const tried = options.exclude ?? new Set<PoolNode>()
    const rules = this.#rules(options, minHeight, tried)
    const chooser = this.#chooser
    const earlier = new Set<FailureSign>()
    /** Failures counted only if a later node answers this same call. */
    const suspects: Array<{ node: PoolNode; failure: NodeFailure }> = []
    const causes: string[] = []
    let fallback: { answer: RpcAnswer; nodeId: string } | undefined
    let attempts = 0
    // A hedged pair's second attempt may still run when attempts are spent: its outcome counts.
    while (attempts < chain.routing.maxAttempts || (race !== undefined && race.inFlight > 0)) {
      let node: PoolNode | undefined
      let timeoutMs: number
      let outcome: CallOutcome
      /** The attempt judged below is a hedge. */
      let hedged = false
      if (race !== undefined && race.inFlight > 0) {
        // One attempt of a hedged pair failed (try-next): the other one goes on before a third starts.
        const settled = await race.next()
        ;({ node, timeoutMs, hedge: hedged } = settled.flight)
        outcome = settled.outcome
      } else {
        rules.head = this.#routingHead(options)
        chooser.survey(this.#pool.nodes, rules, this.#limits)
        if (chooser.candidates === 0) break
        if (chooser.free === 0) return { ok: false, error: this.#inFlightError(chooser.candidates), attempts }
        // A node over its provider quota is skipped, never blamed; all of them over it → SY_NODE_QUOTA.
        if (chooser.allowed === 0) {
          const free = chooser.freeNodes()
          if (attempts === 0) return { ok: false, error: this.#quota.exhausted(chain.name, free.map((candidate) => candidate.config.id)), attempts }
          for (const skipped of free) causes.push(`${skipped.config.id}: over quota`)
          break
        }
        const others = chooser.allowed - 1
        node = chooser.pick(this.#random)
        if (node === undefined) break
        const remainingMs = deadline - performance.now()
        if (remainingMs <= 0) return { ok: false, error: this.#deadlineError(causes), attempts }
        tried.add(node)
        this.#quota.spend(node.config.id)
        attempts += 1
        timeoutMs = Math.min(chain.requestTimeoutMs, remainingMs)
        if (race === undefined) {
          node.inFlight += 1
          try {
            outcome = await node.transport.call(call, { timeoutMs, signal: options.signal, batchUpTo: node.config.batch ? batchUpTo : undefined })
          } finally {
            node.inFlight -= 1
          }
        } else {
          race.start(node, timeoutMs, false)
          let first = await race.nextOrDue(this.#hedgeWaitMs(node, others, attempts, remainingMs))
          if (first === HEDGE_DUE) {
            if (this.#startHedge(race, options, rules, attempts, deadline)) attempts += 1
            first = await race.next()
          }
          ;({ node, timeoutMs, hedge: hedged } = first.flight)
          outcome = first.outcome
        }
      }
      const nodeError = outcome.ok ? outcome.answer.error : undefined
      const errorClass = nodeError === undefined ? undefined : this.#adapter.classifyError(call, nodeError)
      const nodeHasHeight = minHeight !== undefined && (node.health.height ?? -1) >= minHeight
      const timeoutCut = timeoutMs < chain.requestTimeoutMs
      const decision = decideAttempt(outcome, { errorClass, cost, nodeHasHeight, timeoutCut, earlier })
      const failure = outcome.ok ? refusal(node.config.id, nodeError, errorClass === 'behind' && nodeHasHeight) : outcome.failure
      this.#applyBlame(node, outcome, decision, failure, suspects)
      if (decision.missingState === true && minHeight !== undefined) this.#pool.noteMissingState(node, minHeight)
      switch (decision.action) {
        case 'answer':
          // The call worked here, so the suspects' failures were theirs; unless this answer is the
          // same verdict on the request (errorClass request-invalid): then nobody failed.
          if (errorClass !== 'request-invalid') for (const suspect of suspects) this.#pool.recordFailure(suspect.node, suspect.failure)
          if (!outcome.ok) break
          if (hedged) this.#hedges.won += 1
          return { ok: true, answer: outcome.answer, nodeId: node.config.id, attempts }
          break
        case 'stop':
          return { ok: false, error: new ProxyError('SY_DEADLINE_EXCEEDED', `call to ${chain.name} was cancelled`, { chain: chain.name }), attempts }
        case 'overloaded':
          return { ok: false, error: this.#replyBudgetError(failure), attempts }
        case 'reply-too-large':
          return {
            ok: false,
            error: new ProxyError('SY_REPLY_TOO_LARGE', `the ${call.method} reply is larger than ${chain.routing.maxReplyBytes} bytes (routing.maxReplyBytes): narrow the request`, {
              chain: chain.name,
              limit: chain.routing.maxReplyBytes,
            }),
            attempts,
          }
        case 'request-fault':
          causes.push(causeOf(node.config.id, outcome, errorClass))
          return { ok: false, error: this.#requestFaultError(call, decision.fault ?? 'SY_REQUEST_REJECTED', causes), attempts }
        case 'try-next':
          if (decision.sign !== undefined) earlier.add(decision.sign)
          if (decision.fallback === true && outcome.ok) fallback = { answer: outcome.answer, nodeId: node.config.id }
          causes.push(causeOf(node.config.id, outcome, decision.blame === 'now' && errorClass === 'behind' ? 'refusal' : errorClass))
          // The deadline, not the node, ended this attempt: no time is left for another.
          if (timeoutCut && !outcome.ok && outcome.failure.kind === 'timeout') return { ok: false, error: this.#deadlineError(causes), attempts }
          break
      }
    }
    // Every node that could be asked said "not yet" / "not available here": that is the answer.
    if (fallback !== undefined) return { ok: true, ...fallback, attempts }
    if (attempts === 0) return { ok: false, error: this.#noRoutableError(), attempts }
    if (performance.now() >= deadline) return { ok: false, error: this.#deadlineError(causes), attempts }
    return {
      ok: false,
      error: new ProxyError('SY_ALL_NODES_FAILED', `all ${attempts} attempted ${chain.name} nodes failed (${causes.join(', ')})`, {
        chain: chain.name,
        attempts,
        causes,
      }),
      attempts,
    }
  }

  /**
   * Calls per batch this call may share with others to its node (routing.batch), or undefined:
   * only reads whose cost is known to be small, so no call waits behind a scan the client chose.
   */
  #batchUpTo(call: RpcCall, cost: CallCost): number | undefined {
    const batch = this.#pool.chain.routing.batch
    if (!batch.enabled || cost !== 'cheap' || this.#adapter.classifyMethod(call.method) !== 'read') return undefined
    return batch.maxCalls
  }

  /** How long `node`'s fresh attempt may run before a hedge is due; undefined when none may follow. */
  #hedgeWaitMs(node: PoolNode, others: number, attempts: number, remainingMs: number): number | undefined {
    const routing = this.#pool.chain.routing
    const waitMs = hedgeDelayMs(routing.hedge.afterMs, node.tracker.percentile(0.95))
    const verdict = hedgeVerdict({ hedgesInFlight: this.#hedges.inFlight, maxInFlight: routing.hedge.maxInFlight, attempts, maxAttempts: routing.maxAttempts, others, remainingMs, waitMs })
    return verdict === 'hedge' ? waitMs : undefined
  }

  /**
   * The hedge is due: sends it if the verdict, on the figures of now, still says so. A hedge is an
   * attempt like any (tried, quota, in flight); true when sent.
   */
  #startHedge(race: AttemptRace, options: RouteOptions, rules: CallRules, attempts: number, deadline: number): boolean {
    const routing = this.#pool.chain.routing
    const chooser = this.#chooser
    rules.head = this.#routingHead(options)
    chooser.survey(this.#pool.nodes, rules, this.#limits)
    const remainingMs = deadline - performance.now()
    const verdict = hedgeVerdict({ hedgesInFlight: this.#hedges.inFlight, maxInFlight: routing.hedge.maxInFlight, attempts, maxAttempts: routing.maxAttempts, others: chooser.allowed, remainingMs, waitMs: 0 })
    const node = verdict === 'hedge' ? chooser.pick(this.#random) : undefined
    if (node === undefined) return false
    rules.tried.add(node)
    this.#quota.spend(node.config.id)
    race.start(node, Math.min(this.#pool.chain.requestTimeoutMs, remainingMs), true)
    return true
  }

  #applyBlame(node: PoolNode, outcome: CallOutcome, decision: AttemptDecision, failure: NodeFailure, suspects: Array<{ node: PoolNode; failure: NodeFailure }>): void {
    if (decision.blame === 'now') this.#pool.recordFailure(node, failure)
    else if (decision.blame === 'if-it-works-elsewhere') suspects.push({ node, failure })
    // A node that answered (even "not yet") is responsive; a failure that is not its fault says nothing.
    else if (outcome.ok) this.#pool.recordSuccess(node, outcome.latencyMs)
  }

  #noRoutableError(): ProxyError {
    const chain = this.#pool.chain.name
    const statuses: Record<string, string> = {}
    for (const node of this.#pool.nodes) statuses[node.config.id] = node.health.status
    return new ProxyError('SY_NO_ROUTABLE_NODE', `no healthy, in-sync ${chain} node is available`, { chain, nodes: statuses })
  }

  #deadlineError(causes: string[]): ProxyError {
    const chain = this.#pool.chain
    return new ProxyError('SY_DEADLINE_EXCEEDED', `call to ${chain.name} did not complete within ${chain.routing.deadlineMs} ms`, {
      chain: chain.name,
      causes,
    })
  }

  #inFlightError(candidates: number): ProxyError {
    const chain = this.#pool.chain
    const limit = chain.routing.maxInFlightPerNode
    return new ProxyError('SY_OVERLOADED', `all ${candidates} ${chain.name} nodes that could serve this call have ${limit} calls in flight (routing.maxInFlightPerNode); retry shortly`, {
      chain: chain.name,
      bound: 'routing.maxInFlightPerNode',
      limit,
    })
  }

  #replyBudgetError(failure: NodeFailure): ProxyError {
    const chain = this.#pool.chain.name
    return new ProxyError('SY_OVERLOADED', `switchyard holds too many reply bytes in memory (server.maxReplyBytesInFlight); retry shortly`, {
      chain,
      bound: 'server.maxReplyBytesInFlight',
      detail: failure.message,
    })
  }

  #requestFaultError(call: RpcCall, fault: 'SY_REQUEST_REJECTED' | 'SY_CALL_TOO_HEAVY', causes: string[]): ProxyError {
    const chain = this.#pool.chain
    if (fault === 'SY_CALL_TOO_HEAVY') {
      return new ProxyError(
        'SY_CALL_TOO_HEAVY',
        `${call.method} did not complete within ${chain.requestTimeoutMs} ms on two ${chain.name} nodes: the call is too heavy (narrow the block range or the work); no node's health changed`,
        { chain: chain.name, method: call.method, timeoutMs: chain.requestTimeoutMs, causes },
      )
    }
    return new ProxyError(
      'SY_REQUEST_REJECTED',
      `two ${chain.name} nodes rejected this ${call.method} call the same way: the request itself is at fault (too large or malformed for them); no node's health changed`,
      { chain: chain.name, method: call.method, causes },
    )
  }
}

const HEDGE_DUE = 'hedge-due'

/** One attempt of a hedged call: cancelled alone, through its own signal, when it loses. */
interface Flight {
  readonly node: PoolNode
  readonly timeoutMs: number
  /** Started as the hedge of a slow first attempt. */
  readonly hedge: boolean
  readonly signal: CancelSignal
  readonly settled: Promise<Settled>
}

interface Settled {
  readonly flight: Flight
  readonly outcome: CallOutcome
}

/**
 * The attempts of one hedged call in flight, at most two. Each counts in its node's `inFlight` (a
 * hedge also in the chain's hedges in flight) until its transport call returns, cancelled or not.
 */
class AttemptRace {
  readonly #flights: Flight[] = []
  readonly #call: RpcCall
  readonly #signal: CallSignal | undefined
  readonly #hedges: HedgeStats
  readonly #timer: HedgeTimer

  constructor(call: RpcCall, signal: CallSignal | undefined, hedges: HedgeStats, timer: HedgeTimer) {
    this.#call = call
    this.#signal = signal
    this.#hedges = hedges
    this.#timer = timer
  }

  get inFlight(): number {
    return this.#flights.length
  }

  start(node: PoolNode, timeoutMs: number, hedge: boolean): void {
    // The client going away still cancels every attempt, as without hedging; the node's reply
    // bytes stay held with the client's request, as for an attempt made with its signal.
    const signal = new CancelSignal(replyHoldOf(this.#signal))
    const unfollow = signal.follow(this.#signal)
    node.inFlight += 1
    if (hedge) {
      this.#hedges.sent += 1
      this.#hedges.inFlight += 1
    }
    const flight: Flight = {
      node,
      timeoutMs,
      hedge,
      signal,
      settled: node.transport
        .call(this.#call, { timeoutMs, signal })
        .then((outcome) => ({ flight, outcome }))
        .finally(() => {
          unfollow()
          node.inFlight -= 1
          if (hedge) this.#hedges.inFlight -= 1
        }),
    }
    this.#flights.push(flight)
  }

  /** The first attempt to return; it leaves the race. */
  async next(): Promise<Settled> {
    return this.#leave(await Promise.race(this.#flights.map((flight) => flight.settled)))
  }

  /** As `next()`, or HEDGE_DUE once `waitMs` passed first (undefined: no hedge will follow). */
  async nextOrDue(waitMs: number | undefined): Promise<Settled | typeof HEDGE_DUE> {
    if (waitMs === undefined) return this.next()
    let cancelTimer: (() => void) | undefined
    const due = new Promise<typeof HEDGE_DUE>((resolve) => (cancelTimer = this.#timer(() => resolve(HEDGE_DUE), waitMs)))
    try {
      const first = await Promise.race([...this.#flights.map((flight) => flight.settled), due])
      return first === HEDGE_DUE ? first : this.#leave(first)
    } finally {
      cancelTimer?.()
    }
  }

  /** Cancels the attempts still running (the call is decided) and waits until they return; their outcomes are dropped. */
  async cancel(): Promise<void> {
    if (this.#flights.length === 0) return
    for (const flight of this.#flights) flight.signal.abort()
    await Promise.allSettled(this.#flights.map((flight) => flight.settled))
    this.#flights.length = 0
  }

  #leave(settled: Settled): Settled {
    this.#flights.splice(this.#flights.indexOf(settled.flight), 1)
    return settled
  }
}

/** The NodeFailure recorded for a JSON-RPC error the table counts against the node. */
function refusal(nodeId: string, error: JsonRpcErrorObject | undefined, claimedHeight: boolean): NodeFailure {
  if (error === undefined) return { kind: 'refused', message: `node ${nodeId} refused the call` }
  const said = `${error.code} ${shortNodeMessage(error.message)}`
  return claimedHeight
    ? { kind: 'refused', message: `node ${nodeId} answered ${said} for a block at or below its reported height` }
    : { kind: 'refused', message: `node ${nodeId} refused the call: ${said}` }
}

/** One attempt's cause for the client's error data: node id and what happened, never a URL. */
function causeOf(nodeId: string, outcome: CallOutcome, errorClass: string | undefined): string {
  if (outcome.ok) {
    const error = outcome.answer.error
    if (errorClass === 'behind') return `${nodeId}: behind`
    return error === undefined ? `${nodeId}: answered` : `${nodeId}: ${errorClass ?? 'answer'} ${error.code} ${shortNodeMessage(error.message)}`
  }
  const failure = outcome.failure
  if (failure.kind === 'request-rejected') return `${nodeId}: request-rejected (${failure.message})`
  if (failure.kind === 'timeout' && failure.stalled === true) return `${nodeId}: timeout (switchyard stalled)`
  return `${nodeId}: ${failure.kind}`
}
