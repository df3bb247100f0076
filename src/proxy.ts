/**
 * The proxy facade: one object per process (or per embedding application) that holds one chain
 * runtime per chain (`src/runtime/`) and the services they share (events, journal, reply budget).
 * The HTTP server (`src/server/`), the CLI and library users all go through it. `reload()` swaps
 * chain runtimes live; the config is read from here, so every reader sees the running one.
 */
import type { BroadcastJournal, BroadcastQuery, BroadcastRecord, JournalHealth } from './broadcast/broadcast-journal.js'
import type { BroadcastAnswer, BroadcastOptions, BroadcastResult } from './broadcast/broadcaster.js'
import { createJournal } from './broadcast/create-journal.js'
import { MonitoredJournal } from './broadcast/monitored-journal.js'
import type { ChainAdapter, ChainFamily, MethodClass, RpcReplyStyle } from './chain-adapter.js'
import type { NodeConfig, ProxyConfig } from './config/schema.js'
import { NodeRpcError, ProxyError } from './errors/proxy-error.js'
import type { JsonRpcErrorObject, JsonRpcVersion, RpcAnswer, RpcCall } from './jsonrpc/types.js'
import type { ChainSnapshot, NodePool } from './pool/node-pool.js'
import { ProxyEvents } from './proxy-events.js'
import type { ChainStreams } from './streams/chain-streams.js'
import { createChainStreams } from './streams/create-chain-streams.js'
import { type CacheStats, callKey } from './routing/answer-cache.js'
import { firstRoundDelaysMs } from './health/probe-schedule.js'
import { routeRead } from './routing/read-path.js'
import type { RouteResult } from './routing/router.js'
import type { ChainRuntime } from './runtime/chain-runtime.js'
import { type SharedServices, createChainRuntime, loadCredentials } from './runtime/create-chain-runtime.js'
import { type ConfigChange, planReload } from './runtime/reload-plan.js'
import type { NodeTransport } from './upstream/node-transport.js'
import { ReplyBudget } from './upstream/reply-budget.js'
import { type Clock, systemClock } from './util/clock.js'
import { deepFreeze } from './util/deep-freeze.js'
import type { CallSignal } from './util/call-signal.js'

export interface ProxyOptions {
  /** One family (adapter factory and config slice) per chain family used in the config. */
  adapters: Readonly<Record<string, ChainFamily>>
  /** Time source for health policy (tests inject a manual clock). Default: the system clock. */
  clock?: Clock
  /** Builds the transport of a node; default: HTTP JSON-RPC via undici. */
  createTransport?: (node: NodeConfig, adapter: ChainAdapter) => NodeTransport
  /** Random source for node choice, [0, 1). */
  random?: () => number
  /** Broadcast journal; default: SQLite at `journal.path` of the config. */
  journal?: BroadcastJournal
}

/**
 * Outcome of one call, for library users who want the node id too. `proxyError`: set when
 * switchyard itself answered with an error (no node, not allowed, overloaded…), with its type.
 * `cached`: answered from the chain's answer cache (no node asked: `nodeId` undefined, 0 attempts).
 * `coalesced`: answered by an identical read already in flight (`nodeId` the node that answered
 * it, 0 attempts of its own). Cached and coalesced answers are frozen (shared with other callers).
 */
export type CallResult = {
  answer: RpcAnswer
  nodeId: string | undefined
  attempts: number
  proxyError?: ProxyError | undefined
  cached?: boolean | undefined
  coalesced?: boolean | undefined
}

/** Options of one call or one HTTP body. */
export interface CallOptions {
  /** Aborts the call when the client goes away (a broadcast, once sent, still completes). */
  signal?: CallSignal | undefined
  /**
   * Name of the client that sent it (`clients[].name`, set by the HTTP gate once its key is
   * checked; never the key): on `request:complete` events (per-client metrics) and broadcasts.
   */
  client?: string | undefined
}

export interface ProxySnapshot {
  /**
   * Each chain's pool figures, with its hedged reads (`routing.hedge`) and coalesced reads (calls
   * answered by an identical read in flight, `routing.coalesce`), counted since the chain's runtime
   * was built, and its answer cache (zeros when `cache.enabled` is false; counted since the cache
   * was built, which a reload that keeps the chain's identity carries over). `batched`: reads sent
   * to nodes in JSON-RPC batches of their own (`routing.batch`), counted since each node's client
   * was built, and the nodes that refused batches (sent single calls since).
   */
  chains: Array<ChainSnapshot & { hedges: ChainRuntime['router']['hedgeStats']; cache: CacheStats; coalesced: number; batched: UpstreamBatches }>
}

export interface UpstreamBatches {
  /** HTTP exchanges that carried two reads or more. */
  batches: number
  /** Reads that went in them. */
  calls: number
  /** Nodes that refused a batch (a single error, an HTTP 4xx, an entry error naming the batch). */
  refusedBy: string[]
}

function upstreamBatches(transports: ReadonlyMap<string, NodeTransport>): UpstreamBatches {
  const figures: UpstreamBatches = { batches: 0, calls: 0, refusedBy: [] }
  for (const [nodeId, transport] of transports) {
    const stats = transport.batchStats
    if (stats === undefined) continue
    figures.batches += stats.batches
    figures.calls += stats.calls
    if (stats.refused) figures.refusedBy.push(nodeId)
  }
  return figures
}

const NO_CACHE: CacheStats = Object.freeze({ hits: 0, misses: 0, stores: 0, evictions: 0, bytes: 0, entries: 0 })

/** What a reload changed; see `src/runtime/reload-plan.ts`. */
export interface ReloadResult {
  changes: ConfigChange[]
  restartRequired: string[]
  durationMs: number
}

export class Proxy {
  readonly events = new ProxyEvents()
  readonly journal: BroadcastJournal
  /** The same journal, watched: write failures and periodic checks drive `isReady()` and `journal:health`. */
  readonly #journal: MonitoredJournal
  readonly #chains = new Map<string, ChainRuntime>()
  /** Per chain, across reloads: heads, logs and filters served by switchyard (`src/streams/`). */
  readonly #streams = new Map<string, ChainStreams>()
  readonly #shared: SharedServices
  #config: ProxyConfig
  /** Runtimes replaced by a reload, finishing their calls; `close()` waits for them. */
  readonly #retiring = new Set<Promise<void>>()
  /** Reloads run one at a time, in the order asked. */
  #reloading: Promise<unknown> = Promise.resolve()
  #started = false
  #closing = false
  #draining = false
  #inFlight = 0
  #drained: (() => void) | undefined
  #stopReorgWatch: (() => void) | undefined
  readonly #stopCacheDrops: () => void

  constructor(config: ProxyConfig, options: ProxyOptions) {
    this.#config = deepFreeze(config)
    // Node status changes are operationally important; an unhandled 'error' would crash, so none are emitted.
    this.events.setMaxListeners(100)
    const clock = options.clock ?? systemClock
    const { checkIntervalMs, retentionDays, pruneIntervalMs, claimLeaseMs } = config.journal
    // server.workers ≠ 1: several worker processes open the same journal.
    const store = options.journal ?? createJournal(config.journal, { shared: (config.server.workers ?? 1) !== 1 })
    this.#journal = new MonitoredJournal(store, { events: this.events, clock, checkIntervalMs, retentionDays, pruneIntervalMs, claimLeaseMs })
    this.journal = this.#journal
    this.#shared = {
      families: options.adapters,
      events: this.events,
      journal: this.journal,
      clock,
      replyBudget: new ReplyBudget(config.server.maxReplyBytesInFlight),
      maxOpenPerClient: config.journal.maxOpenPerClient || undefined,
      random: options.random,
      createTransport: options.createTransport,
    }
    for (const chain of Object.values(config.chains)) this.#chains.set(chain.name, createChainRuntime(chain, this.#shared))
    for (const name of this.#chains.keys()) this.#addStreams(name)
    // A block's answer may name its successor (bitcoin `nextblockhash`): the block below the fork goes too.
    this.#stopCacheDrops = this.events.subscribe({ 'chain:reorg': (event) => void this.#chains.get(event.chain)?.cache?.dropAbove(event.height - 1) })
  }

  /** The chain's streams read through whichever runtime is current, so a reload swaps their source under them. */
  #addStreams(chain: string): void {
    const streams = createChainStreams({
      chain,
      events: this.events,
      clock: this.#shared.clock,
      runtime: () => this.#chains.get(chain),
      filters: () => this.#config.filters,
    })
    if (streams !== undefined) this.#streams.set(chain, streams)
  }

  /** The running config (frozen). A reload replaces it as a whole. */
  get config(): ProxyConfig {
    return this.#config
  }

  /** Probes every node once (so the first requests find routable nodes), then keeps probing. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const runtimes = [...this.#chains.values()]
    // Both lanes (reads and broadcasts) have their own clients: each needs a cookie read before its first call.
    await loadCredentials(runtimes.flatMap((runtime) => runtime.transports()))
    await Promise.all(runtimes.map(({ prober }) => prober.tick()))
    // Chains' periodic rounds spread over their interval, not all in the same instant.
    const delays = firstRoundDelaysMs(runtimes.map((runtime) => runtime.chain.health.intervalMs))
    runtimes.forEach((runtime, index) => runtime.startBackground(delays[index]))
    // A reorg may have taken a confirmed broadcast's block away: check open broadcasts now, not at the next interval.
    this.#stopReorgWatch = this.events.subscribe({
      'chain:reorg': (event) => {
        if (!this.#closing) void this.#chains.get(event.chain)?.rebroadcaster?.tick().catch(() => undefined)
      },
    })
    this.#journal.start()
  }

  /**
   * Applies a new config (validated: `loadConfigFile` / `parseConfig`) while serving. Chains whose
   * config did not change keep running untouched; a changed chain gets a new runtime, probed once
   * before it takes traffic, with the health history of nodes whose address and credentials did
   * not change; calls already running finish on the runtime they started on. Client keys, limits,
   * alert webhooks and the log level apply at once; options read only at start (listening
   * socket, journal file) keep their running values and are listed in `restartRequired`.
   * Throws an Error listing every problem when a chain cannot be built; the running config stays.
   */
  reload(next: ProxyConfig): Promise<ReloadResult> {
    const run = this.#reloading.then(() => this.#reload(next))
    this.#reloading = run.catch(() => undefined)
    return run
  }

  async #reload(next: ProxyConfig): Promise<ReloadResult> {
    if (this.#closing) throw new ProxyError('SY_SHUTTING_DOWN', 'the proxy is shutting down')
    const started = performance.now()
    const plan = planReload(this.#config, next)
    const effective = deepFreeze(plan.effective)
    const built = new Map<string, ChainRuntime>()
    const problems: string[] = []
    for (const chainPlan of plan.chains) {
      if (chainPlan.action !== 'add' && chainPlan.action !== 'rebuild') continue
      const running = this.#chains.get(chainPlan.chain)
      const carried = chainPlan.action === 'rebuild' && running !== undefined ? { runtime: running, carry: chainPlan.carry, reuseConnections: chainPlan.reuseConnections } : undefined
      try {
        built.set(chainPlan.chain, createChainRuntime(effective.chains[chainPlan.chain]!, { ...this.#shared, maxOpenPerClient: effective.journal.maxOpenPerClient || undefined }, carried))
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error))
      }
    }
    if (problems.length > 0) {
      await Promise.all([...built.entries()].map(([name, runtime]) => runtime.retire(new Set(this.#chains.get(name)?.transports()))))
      throw new Error(`the new config was not applied:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
    }
    const retired: Array<{ runtime: ChainRuntime; keep: Set<NodeTransport> }> = []
    await Promise.all(
      [...built.entries()].map(async ([name, runtime]) => {
        const running = this.#chains.get(name)
        const reusedTransports = new Set(runtime.transports())
        await loadCredentials(runtime.transports().filter((transport) => !running?.transports().includes(transport)))
        if (this.#started) {
          // One probe round on the new runtime before it takes traffic: added nodes become
          // routable, and carried ones are re-checked under the new settings. The old prober stops
          // first so both never probe at once; the old runtime keeps serving meanwhile.
          await running?.stopBackground()
          await runtime.prober.tick()
        }
        this.#chains.set(name, runtime)
        if (running === undefined) this.#addStreams(name)
        if (this.#started) runtime.startBackground(runtime.chain.health.intervalMs)
        if (running !== undefined) retired.push({ runtime: running, keep: reusedTransports })
      }),
    )
    for (const chainPlan of plan.chains) {
      if (chainPlan.action !== 'remove') continue
      const running = this.#chains.get(chainPlan.chain)
      this.#chains.delete(chainPlan.chain)
      this.#streams.get(chainPlan.chain)?.close()
      this.#streams.delete(chainPlan.chain)
      if (running !== undefined) retired.push({ runtime: running, keep: new Set() })
    }
    this.#config = effective
    this.#shared.maxOpenPerClient = effective.journal.maxOpenPerClient || undefined
    for (const { runtime, keep } of retired) {
      const retiring = runtime.retire(keep).catch(() => undefined)
      this.#retiring.add(retiring)
      void retiring.finally(() => this.#retiring.delete(retiring))
    }
    const durationMs = performance.now() - started
    this.events.emit('config:reload', { changes: plan.changes, restartRequired: plan.restartRequired, durationMs, at: Date.now() })
    return { changes: plan.changes, restartRequired: plan.restartRequired, durationMs }
  }

  /**
   * The first step of a graceful shutdown: `isReady()` turns false so load balancers move traffic
   * away, while calls and broadcasts are still served until `close()`.
   */
  beginDrain(): void {
    this.#draining = true
  }

  /** True from `beginDrain()` (or `close()`) on: the HTTP layer answers with `Connection: close`. */
  get draining(): boolean {
    return this.#draining || this.#closing
  }

  /** Stops taking calls, lets in-flight calls finish, stops probing and closes node connections. */
  async close(): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve))
    await this.#reloading
    this.#stopReorgWatch?.()
    this.#stopCacheDrops()
    for (const streams of this.#streams.values()) streams.close()
    this.#streams.clear()
    // Background sends of accepted broadcasts finish and are recorded before the journal closes.
    await Promise.all([...this.#chains.values()].map((runtime) => runtime.retire()))
    await Promise.all(this.#retiring)
    await this.journal.close()
  }

  /**
   * Library entry for a signed transaction (hex): resolves with the per-node outcome once it is
   * accepted and journaled; throws the node's verdict (`NodeRpcError`) or a `ProxyError`
   * (SY_TX_CONFLICT, SY_TX_WRONG_CHAIN, SY_INVALID_PARAMS, SY_NO_ROUTABLE_NODE, SY_TOO_MANY_OPEN, …).
   * `options.client`: the broadcasting client's name (stored on the record, bounds its open ones).
   */
  async broadcast(chain: string, rawTx: string, options: BroadcastOptions = {}): Promise<BroadcastResult> {
    const answer = await this.#broadcastAnswer(chain, [rawTx], options)
    if (answer.ok) return answer.result
    if (answer.error instanceof ProxyError) throw answer.error
    throw new NodeRpcError(answer.error, answer.nodeId ?? 'unknown')
  }

  /** The journal record of a broadcast (without the raw bytes), or undefined. */
  async broadcastStatus(chain: string, txid: string): Promise<Omit<BroadcastRecord, 'raw'> | undefined> {
    const record = await this.journal.get(chain, txid.toLowerCase())
    if (record === undefined) return undefined
    const { raw: _raw, ...rest } = record
    return rest
  }

  /** Recent broadcasts, newest first (without raw bytes). */
  async listBroadcasts(query: BroadcastQuery = {}): Promise<Array<Omit<BroadcastRecord, 'raw'>>> {
    return (await this.journal.list(query)).map(({ raw: _raw, ...rest }) => rest)
  }

  /** Waits until a chain's background broadcast sends have settled and been journaled. */
  async drainBroadcasts(chain: string): Promise<void> {
    await this.#runtime(chain).broadcaster?.drain()
  }

  /** Runs one rebroadcast round of a chain now (admin, tests). */
  async rebroadcast(chain: string): Promise<void> {
    await this.#runtime(chain).rebroadcaster?.tick()
  }

  /** A broadcast is never cancelled half-way: once sent, its outcome must be recorded. */
  async #broadcastAnswer(chain: string, params: RpcCall['params'], options: BroadcastOptions): Promise<BroadcastAnswer> {
    const runtime = this.#chains.get(chain)
    if (runtime === undefined) return { ok: false, error: unknownChain(chain), nodeId: undefined, attempts: 0 }
    if (this.#closing) return { ok: false, error: new ProxyError('SY_SHUTTING_DOWN', 'the proxy is shutting down'), nodeId: undefined, attempts: 0 }
    if (runtime.broadcaster === undefined) return { ok: false, error: new ProxyError('SY_METHOD_NOT_ALLOWED', `chain ${chain} has no broadcast path`), nodeId: undefined, attempts: 0 }
    this.#inFlight += 1
    runtime.enter()
    try {
      return await runtime.broadcaster.broadcast(params, options)
    } finally {
      runtime.leave()
      this.#inFlight -= 1
      if (this.#inFlight === 0) this.#drained?.()
    }
  }

  /** The chain's streams (heads, logs, filters), the same object across reloads; undefined for an unknown chain or a family without them. */
  streams(chain: string): ChainStreams | undefined {
    return this.#streams.get(chain)
  }

  chainNames(): string[] {
    return [...this.#chains.keys()]
  }

  hasChain(chain: string): boolean {
    return this.#chains.has(chain)
  }

  /**
   * A metric/log label for a client-supplied method: the method itself when it is on the chain's
   * allowlist (a bounded set), else 'other', so no client string can grow label cardinality.
   */
  methodLabel(chain: string, method: string): string {
    const runtime = this.#chains.get(chain)
    if (runtime === undefined) return 'other'
    return runtime.adapter.classifyMethod(method) === 'forbidden' ? 'other' : method
  }

  /** How the chain's adapter treats a method (the HTTP gate's method groups); undefined for an unknown chain. */
  methodClass(chain: string, method: string): MethodClass | undefined {
    return this.#chains.get(chain)?.adapter.classifyMethod(method)
  }

  /** Every chain finished a probe round and has a routable node, the broadcast journal works, and no shutdown began. */
  isReady(): boolean {
    for (const { pool } of this.#chains.values()) {
      if (pool.probeRounds === 0 || pool.routable().length === 0) return false
    }
    return this.#chains.size > 0 && !this.draining && this.#journal.healthy
  }

  /** The broadcast journal's last known health (write failures and periodic checks), without I/O. */
  journalHealth(): JournalHealth {
    return this.#journal.state
  }

  snapshot(): ProxySnapshot {
    return {
      chains: [...this.#chains.values()].map(({ pool, router, cache, coalescer, readTransports }) => ({
        ...pool.snapshot(),
        hedges: router.hedgeStats,
        cache: cache?.stats ?? NO_CACHE,
        coalesced: coalescer?.joined ?? 0,
        batched: upstreamBatches(readTransports),
      })),
    }
  }

  /** Runs one probe round of a chain now (admin "probe now", tests). */
  async probe(chain: string): Promise<void> {
    await this.#runtime(chain).prober.tick()
  }

  cordon(chain: string, nodeId: string, reason: string): void {
    const { pool } = this.#runtime(chain)
    pool.cordon(this.#node(pool, chain, nodeId), reason)
  }

  uncordon(chain: string, nodeId: string): void {
    const { pool } = this.#runtime(chain)
    pool.uncordon(this.#node(pool, chain, nodeId))
  }

  /**
   * Library entry: the result of one call, or a thrown `NodeRpcError` (the node's own error) or
   * `ProxyError` (no routable node, all failed, not allowed, ...).
   */
  async request(chain: string, call: { method: string; params?: RpcCall['params'] }): Promise<unknown> {
    const { answer, nodeId } = await this.call(chain, { method: call.method, params: call.params })
    if (answer.error !== undefined) {
      if (nodeId === undefined) throw ProxyError.fromAnswer(answer.error)
      throw new NodeRpcError(answer.error, nodeId)
    }
    return answer.result
  }

  /** One call with its routing facts; never throws for node or policy problems. */
  async call(chain: string, call: RpcCall, options: CallOptions | AbortSignal = {}): Promise<CallResult> {
    const runtime = this.#chains.get(chain)
    if (runtime === undefined) return proxyAnswer(unknownChain(chain))
    if (this.#closing) return proxyAnswer(new ProxyError('SY_SHUTTING_DOWN', 'the proxy is shutting down'))
    this.#inFlight += 1
    // Counted on the runtime too (no closure per call): a reload's old runtime waits for it.
    runtime.enter()
    try {
      return await this.#dispatch(chain, runtime, call, callOptions(options))
    } finally {
      runtime.leave()
      this.#inFlight -= 1
      if (this.#inFlight === 0) this.#drained?.()
    }
  }

  /**
   * The HTTP status the chain's clients expect for an error reply to a `version` request (bitcoind
   * answers JSON-RPC 1.0 errors with 404 / 400 / 500); undefined: 200.
   */
  legacyHttpStatus(chain: string, error: JsonRpcErrorObject, version: JsonRpcVersion): number | undefined {
    return this.#chains.get(chain)?.adapter.legacyHttpStatus?.(error, version)
  }

  /**
   * How the chain shapes replies to JSON-RPC 2.0 requests (`legacy`: `result` and `error` both
   * present, as pre-28 bitcoind and bcoin do), from its routable nodes (all of them while none is);
   * undefined for an unknown chain or a family without reply styles (strict 2.0).
   */
  replyStyle(chain: string): RpcReplyStyle | undefined {
    const runtime = this.#chains.get(chain)
    const decide = runtime?.adapter.replyStyle
    if (runtime === undefined || decide === undefined) return undefined
    const routable = runtime.pool.routable()
    return decide.call(runtime.adapter, (routable.length > 0 ? routable : runtime.pool.nodes).map((node) => node.capabilities.rpcReplyStyle))
  }

  async #dispatch(chain: string, runtime: ChainRuntime, call: RpcCall, { signal, client }: CallOptions): Promise<CallResult> {
    const started = performance.now()
    const kind = runtime.adapter.classifyMethod(call.method)
    let result: CallResult
    let outcome: 'answer' | 'node-error' | 'proxy-error' | 'local'
    let code: string | undefined
    if (kind === 'forbidden') {
      const error = new ProxyError('SY_METHOD_NOT_ALLOWED', `method ${call.method} is not allowed through switchyard`, { method: call.method })
      result = proxyAnswer(error)
      outcome = 'proxy-error'
      code = error.code
    } else if (kind === 'stream') {
      // Filters and subscriptions: switchyard's own state, never a node's (see src/streams/).
      const streams = this.#streams.get(chain)
      if (streams === undefined) {
        const error = new ProxyError('SY_METHOD_NOT_ALLOWED', `method ${call.method} is not served on chain ${chain}`, { method: call.method })
        result = proxyAnswer(error)
        outcome = 'proxy-error'
        code = error.code
      } else {
        const answer = await streams.handleFilterCall(call, client)
        // switchyard's own refusals (filter not found, too many filters) are proxy errors, with their HTTP status.
        const refusal = answer.error !== undefined && /^SY_/.test(String((answer.error.data as { code?: unknown } | undefined)?.code)) ? ProxyError.fromAnswer(answer.error) : undefined
        result = { answer, nodeId: undefined, attempts: 0, proxyError: refusal }
        outcome = refusal === undefined ? 'local' : 'proxy-error'
        code = refusal?.code
      }
    } else if (kind === 'local') {
      const answer = runtime.adapter.answerLocally(call)
      result = answer === undefined ? toCallResult(await runtime.router.route(call, { signal })) : { answer, nodeId: undefined, attempts: 0 }
      outcome = 'local'
    } else if (kind === 'broadcast' && runtime.broadcaster !== undefined) {
      const answered = await runtime.broadcaster.broadcast(call.params, { client })
      if (answered.ok) {
        result = { answer: { result: answered.result.txid }, nodeId: answered.nodeId, attempts: answered.attempts }
        outcome = 'answer'
      } else if (answered.error instanceof ProxyError) {
        result = { answer: { error: answered.error.toJsonRpcError() }, nodeId: undefined, attempts: answered.attempts, proxyError: answered.error }
        outcome = 'proxy-error'
        code = answered.error.code
      } else {
        result = { answer: { error: answered.error }, nodeId: answered.nodeId, attempts: answered.attempts }
        outcome = 'node-error'
      }
    } else {
      result =
        kind === 'read'
          ? await this.#read(chain, runtime, call, signal)
          : // Broadcasts go only to at-head nodes: a stale node gives false "missing inputs" / "nonce too low".
            toCallResult(await runtime.router.route(call, { signal, atHeadOnly: kind === 'broadcast' }))
      outcome = result.proxyError !== undefined ? 'proxy-error' : result.answer.error === undefined ? 'answer' : 'node-error'
      code = result.proxyError?.code
    }
    if (this.events.listenerCount('request:complete') > 0) {
      this.events.emit('request:complete', {
        chain,
        method: call.method,
        nodeId: result.nodeId,
        attempts: result.attempts,
        outcome,
        code,
        durationMs: performance.now() - started,
        client,
      })
    }
    return result
  }

  /**
   * A read: from the chain's answer cache when it holds the call, else routed (`routeRead`), shared
   * with identical reads already in flight when `routing.coalesce`; a routed answer the cache takes
   * is stored once, by the shared call.
   */
  async #read(chain: string, runtime: ChainRuntime, call: RpcCall, signal: CallSignal | undefined): Promise<CallResult> {
    const { cache, coalescer, adapter, pool, readContext } = runtime
    const policy = cache === undefined ? 'never' : (adapter.cachePolicy?.(call) ?? 'never')
    if (policy === 'never' && coalescer === undefined) return toCallResult(await routeRead(readContext, call, { signal }))
    const key = callKey(call)
    if (cache !== undefined && policy !== 'never') {
      const answer = cache.lookup(key, call, adapter, pool.readHead)
      if (answer !== undefined) return { answer, nodeId: undefined, attempts: 0, cached: true }
    }
    const read = async (readSignal: CallSignal | undefined): Promise<RouteResult> => {
      const routed = await routeRead(readContext, call, { signal: readSignal })
      if (routed.ok && cache !== undefined && policy !== 'never') cache.offer(key, call, policy, routed.answer, adapter, pool.readHead)
      return routed
    }
    if (coalescer === undefined) return toCallResult(await read(signal))
    // Only calls that would be pinned to the same read head may share an answer: a later caller
    // must never get a tip older than one it may have seen already.
    const shared = await coalescer.run(`${pool.readHead ?? ''}|${key}`, signal, read, () => cancelled(chain))
    if (!shared.joined) return toCallResult(shared.value)
    return { ...toCallResult(shared.value), attempts: 0, coalesced: true }
  }

  #runtime(chain: string): ChainRuntime {
    const runtime = this.#chains.get(chain)
    if (runtime === undefined) throw unknownChain(chain)
    return runtime
  }

  #node(pool: NodePool, chain: string, nodeId: string) {
    const node = pool.get(nodeId)
    if (node === undefined) throw new ProxyError('SY_INVALID_PARAMS', `chain ${chain} has no node ${nodeId}`, { chain, nodeId })
    return node
  }
}

/** A bare AbortSignal (the older form) or call options. */
function callOptions(options: CallOptions | AbortSignal): CallOptions {
  return options instanceof AbortSignal ? { signal: options } : options
}

function unknownChain(chain: string): ProxyError {
  return new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${chain.slice(0, 64)}"`)
}

function proxyAnswer(error: ProxyError): CallResult {
  return { answer: { error: error.toJsonRpcError() }, nodeId: undefined, attempts: 0, proxyError: error }
}

/** What a caller that went away gets (the router's own answer to a cancelled call). */
function cancelled(chain: string): RouteResult {
  return { ok: false, error: new ProxyError('SY_DEADLINE_EXCEEDED', `call to ${chain} was cancelled`, { chain }), attempts: 0 }
}

function toCallResult(routed: RouteResult): CallResult {
  if (routed.ok) return { answer: routed.answer, nodeId: routed.nodeId, attempts: routed.attempts }
  return { answer: { error: routed.error.toJsonRpcError() }, nodeId: undefined, attempts: routed.attempts, proxyError: routed.error }
}
