/**
 * The proxy facade: one object per process (or per embedding application) that owns the chains'
 * pools, probers and routers. The HTTP server, the CLI and library users all go through it.
 */
import type { BroadcastJournal, BroadcastQuery, BroadcastRecord, JournalHealth } from './broadcast/broadcast-journal.js'
import { type BroadcastAnswer, type BroadcastOptions, type BroadcastResult, Broadcaster } from './broadcast/broadcaster.js'
import { MonitoredJournal } from './broadcast/monitored-journal.js'
import { Rebroadcaster } from './broadcast/rebroadcaster.js'
import { SqliteJournal } from './broadcast/sqlite-journal.js'
import type { ChainAdapter, ChainAdapterFactory, MethodClass } from './chain-adapter.js'
import type { ProxyConfig } from './config/schema.js'
import { NodeRpcError, ProxyError } from './errors/proxy-error.js'
import { Prober } from './health/prober.js'
import { type ParsedBody, type ParsedCall, parseBody } from './jsonrpc/parse.js'
import { type JsonRpcReply, shapeReply } from './jsonrpc/reply.js'
import type { RpcAnswer, RpcCall } from './jsonrpc/types.js'
import { type ChainSnapshot, NodePool } from './pool/node-pool.js'
import { ProxyEvents } from './proxy-events.js'
import { type ReadContext, routeRead } from './routing/read-path.js'
import { type RouteResult, Router } from './routing/router.js'
import { NodeClient } from './upstream/node-client.js'
import { ReplyBudget } from './upstream/reply-budget.js'
import type { NodeTransport } from './upstream/node-transport.js'
import { type Clock, systemClock } from './util/clock.js'

export interface ProxyOptions {
  /** One adapter factory per chain family used in the config. */
  adapters: Readonly<Record<string, ChainAdapterFactory>>
  /** Time source for health policy (tests inject a manual clock). Default: the system clock. */
  clock?: Clock
  /** Builds the transport of a node; default: HTTP JSON-RPC via undici. */
  createTransport?: (node: ProxyConfig['chains'][string]['nodes'][number], adapter: ChainAdapter) => NodeTransport
  /** Random source for node choice, [0, 1). */
  random?: () => number
  /** Broadcast journal; default: SQLite at `journal.path` of the config. */
  journal?: BroadcastJournal
}

/** What the HTTP layer sends back for one request body. */
export interface HandledRequest {
  status: number
  /** Serialized JSON, or undefined for "no content" (notifications). */
  body: string | undefined
  /** Node ids that answered, in call order (deduplicated). */
  nodeIds: string[]
  attempts: number
}

/** Outcome of one call, for library users who want the node id too. */
export type CallResult = { answer: RpcAnswer; nodeId: string | undefined; attempts: number }

/** Options of one call or one HTTP body. */
export interface CallOptions {
  /** Aborts the call when the client goes away (a broadcast, once sent, still completes). */
  signal?: AbortSignal | undefined
  /**
   * Name of the client that sent it (`clients[].name`, set by the HTTP gate once its key is
   * checked; never the key): on `request:complete` events (per-client metrics) and broadcasts.
   */
  client?: string | undefined
}

interface ChainRuntime {
  adapter: ChainAdapter
  pool: NodePool
  prober: Prober
  router: Router
  broadcaster?: Broadcaster
  rebroadcaster?: Rebroadcaster
  /** The broadcast lane's own connections to each node. */
  broadcastTransports: NodeTransport[]
  /** What the read path needs, built once. */
  readContext?: ReadContext
}

export interface ProxySnapshot {
  chains: ChainSnapshot[]
}

export class Proxy {
  readonly config: ProxyConfig
  readonly events = new ProxyEvents()
  readonly journal: BroadcastJournal
  /** The same journal, watched: write failures and periodic checks drive `isReady()` and `journal:health`. */
  readonly #journal: MonitoredJournal
  readonly #chains = new Map<string, ChainRuntime>()
  #started = false
  #closing = false
  #draining = false
  #inFlight = 0
  #drained: (() => void) | undefined
  #stopReorgWatch: (() => void) | undefined

  constructor(config: ProxyConfig, options: ProxyOptions) {
    this.config = config
    // Node status changes are operationally important; an unhandled 'error' would crash, so none are emitted.
    this.events.setMaxListeners(100)
    const clock = options.clock ?? systemClock
    const { path, checkIntervalMs, retentionDays, pruneIntervalMs, outcomeHistory } = config.journal
    this.#journal = new MonitoredJournal(options.journal ?? new SqliteJournal(path, { outcomeHistory }), { events: this.events, clock, checkIntervalMs, retentionDays, pruneIntervalMs })
    this.journal = this.#journal
    // One bound on node reply bytes in memory, shared by every node client of this proxy.
    const replyBudget = new ReplyBudget(config.server.maxReplyBytesInFlight)
    for (const chain of Object.values(config.chains)) {
      const factory = options.adapters[chain.family]
      if (factory === undefined) throw new Error(`chains.${chain.name}.family: no adapter for family "${chain.family}"`)
      let adapter: ChainAdapter
      try {
        adapter = factory(chain)
      } catch (error) {
        throw new Error(`chains.${chain.name}: ${error instanceof Error ? error.message : String(error)}`)
      }
      // Only reads can be verified: a broadcast or a forbidden method listed here is a config mistake.
      chain.verify.methods.forEach((method, index) => {
        if (adapter.classifyMethod(method) !== 'read') {
          throw new Error(`chains.${chain.name}.verify.methods[${index}]: "${method}" is not a read method of the ${chain.family} allowlist`)
        }
      })
      const transports = new Map<string, NodeTransport>()
      for (const node of chain.nodes) {
        const transport =
          options.createTransport?.(node, adapter) ??
          new NodeClient({ ...clientOptions(node, adapter), connections: chain.routing.maxInFlightPerNode, maxReplyBytes: chain.routing.maxReplyBytes, replyBudget })
        transports.set(node.id, transport)
      }
      const pool = new NodePool(chain, transports, this.events, clock)
      const runtime: ChainRuntime = { adapter, pool, prober: new Prober(pool, adapter), router: new Router(pool, adapter, options.random), broadcastTransports: [] }
      const support = adapter.broadcast
      if (support !== undefined) {
        // A lane of its own per node, so a flood of reads never queues a withdrawal behind it.
        const lane = new Map<string, NodeTransport>()
        for (const node of chain.nodes) {
          lane.set(
            node.id,
            options.createTransport?.(node, adapter) ??
              new NodeClient({ ...clientOptions(node, adapter), connections: 8, maxReplyBytes: chain.routing.maxReplyBytes, replyBudget }),
          )
        }
        runtime.broadcastTransports = [...lane.values()]
        const shared = { chain, support, pool, transports: lane, journal: this.journal, events: this.events, clock, maxOpenPerClient: config.journal.maxOpenPerClient || undefined }
        runtime.broadcaster = new Broadcaster(shared)
        runtime.rebroadcaster = new Rebroadcaster({ ...shared, broadcaster: runtime.broadcaster })
      }
      this.#chains.set(chain.name, runtime)
    }
  }

  /** Probes every node once (so the first requests find routable nodes), then keeps probing. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    // Both lanes (reads and broadcasts) have their own clients: each needs a cookie read before its first call.
    const clients = [...this.#chains.values()].flatMap(({ pool, broadcastTransports }) => [...pool.nodes.map((node) => node.transport), ...broadcastTransports])
    await Promise.all(clients.map((client) => (client instanceof NodeClient ? client.loadCredentials().catch(() => undefined) : undefined)))
    await Promise.all([...this.#chains.values()].map(({ prober }) => prober.tick()))
    for (const { prober, pool, rebroadcaster } of this.#chains.values()) {
      prober.start(pool.chain.health.intervalMs)
      rebroadcaster?.start()
    }
    // A reorg may have taken a confirmed broadcast's block away: check open broadcasts now, not at the next interval.
    this.#stopReorgWatch = this.events.subscribe({
      'chain:reorg': (event) => {
        if (!this.#closing) void this.#chains.get(event.chain)?.rebroadcaster?.tick().catch(() => undefined)
      },
    })
    this.#journal.start()
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
    this.#stopReorgWatch?.()
    const runtimes = [...this.#chains.values()]
    await Promise.all(runtimes.map(({ prober, rebroadcaster }) => Promise.all([prober.stop(), rebroadcaster?.stop()])))
    // Background sends of accepted broadcasts finish and are recorded before the journal closes.
    await Promise.all(runtimes.map(({ broadcaster }) => broadcaster?.drain()))
    await Promise.all(runtimes.flatMap(({ pool, broadcastTransports }) => [...pool.nodes.map((node) => node.transport), ...broadcastTransports].map((transport) => transport.close())))
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
    try {
      return await runtime.broadcaster.broadcast(params, options)
    } finally {
      this.#inFlight -= 1
      if (this.#inFlight === 0) this.#drained?.()
    }
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
    return { chains: [...this.#chains.values()].map(({ pool }) => pool.snapshot()) }
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
    try {
      return await this.#dispatch(chain, runtime, call, callOptions(options))
    } finally {
      this.#inFlight -= 1
      if (this.#inFlight === 0) this.#drained?.()
    }
  }

  /**
   * HTTP entry: a request body for one chain (raw text, or already parsed by the HTTP gate) →
   * status, serialized reply and routing headers.
   */
  async handle(chain: string, body: string | ParsedBody, options: CallOptions | AbortSignal = {}): Promise<HandledRequest> {
    const runtime = this.#chains.get(chain)
    if (runtime === undefined) return errorResponse(unknownChain(chain))
    const parsed = typeof body === 'string' ? parseBody(body, this.config.server) : body
    const perCall = callOptions(options)
    if (parsed.kind === 'invalid') return errorResponse(parsed.error)
    const legacyStatuses = runtime.adapter.family === 'bitcoin'
    if (parsed.kind === 'single') {
      const { reply, result } = await this.#handleEntry(chain, parsed.entry, perCall)
      const nodeIds = result?.nodeId === undefined ? [] : [result.nodeId]
      const attempts = result?.attempts ?? 0
      if (reply === undefined) return { status: 204, body: undefined, nodeIds, attempts }
      return { status: statusFor(reply, result, legacyStatuses && parsed.entry.version === '1.0'), body: JSON.stringify(reply), nodeIds, attempts }
    }
    const handled = await Promise.all(parsed.entries.map((entry) => this.#handleEntry(chain, entry, perCall)))
    const replies: JsonRpcReply[] = []
    const nodeIds = new Set<string>()
    let attempts = 0
    for (const { reply, result } of handled) {
      if (reply !== undefined) replies.push(reply)
      if (result?.nodeId !== undefined) nodeIds.add(result.nodeId)
      attempts += result?.attempts ?? 0
    }
    if (replies.length === 0) return { status: 204, body: undefined, nodeIds: [...nodeIds], attempts }
    return { status: 200, body: JSON.stringify(replies), nodeIds: [...nodeIds], attempts }
  }

  async #handleEntry(chain: string, entry: ParsedCall, options: CallOptions): Promise<{ reply: JsonRpcReply | undefined; result: CallResult | undefined }> {
    if (entry.call === undefined) {
      const error = entry.error ?? new ProxyError('SY_INVALID_REQUEST', 'Invalid Request')
      return { reply: entry.notification ? undefined : shapeReply(entry.id, entry.version, { error: error.toJsonRpcError() }), result: undefined }
    }
    if (entry.notification) {
      // Reads have no effect, so skipping them is indistinguishable; broadcasts must still go out.
      const runtime = this.#chains.get(chain)
      if (runtime?.adapter.classifyMethod(entry.call.method) === 'broadcast') await this.call(chain, entry.call, options)
      return { reply: undefined, result: undefined }
    }
    const result = await this.call(chain, entry.call, options)
    return { reply: shapeReply(entry.id, entry.version, result.answer), result }
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
        result = { answer: { error: answered.error.toJsonRpcError() }, nodeId: undefined, attempts: answered.attempts }
        outcome = 'proxy-error'
        code = answered.error.code
      } else {
        result = { answer: { error: answered.error }, nodeId: answered.nodeId, attempts: answered.attempts }
        outcome = 'node-error'
      }
    } else {
      const routed =
        kind === 'read'
          ? await routeRead(this.#readContext(runtime), call, { signal })
          : // Broadcasts go only to at-head nodes: a stale node gives false "missing inputs" / "nonce too low".
            await runtime.router.route(call, { signal, atHeadOnly: kind === 'broadcast' })
      result = toCallResult(routed)
      outcome = routed.ok ? (routed.answer.error === undefined ? 'answer' : 'node-error') : 'proxy-error'
      code = routed.ok ? undefined : routed.error.code
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

  /** Monotonic, verified, capability-routed and empty-confirmed reads run over the chain's router (`src/routing/read-path.ts`). */
  #readContext(runtime: ChainRuntime): ReadContext {
    runtime.readContext ??= { pool: runtime.pool, router: runtime.router, adapter: runtime.adapter, events: this.events }
    return runtime.readContext
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

/** Identity and credentials of a node's HTTP client (both lanes). */
function clientOptions(node: ProxyConfig['chains'][string]['nodes'][number], adapter: ChainAdapter) {
  return { nodeId: node.id, url: node.url, username: node.username, password: node.password, cookieFile: node.cookieFile, version: adapter.upstreamVersion }
}

/** A bare AbortSignal (the older form) or call options. */
function callOptions(options: CallOptions | AbortSignal): CallOptions {
  return options instanceof AbortSignal ? { signal: options } : options
}

function unknownChain(chain: string): ProxyError {
  return new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${chain.slice(0, 64)}"`)
}

function proxyAnswer(error: ProxyError): CallResult {
  return { answer: { error: error.toJsonRpcError() }, nodeId: undefined, attempts: 0 }
}

function toCallResult(routed: RouteResult): CallResult {
  if (routed.ok) return { answer: routed.answer, nodeId: routed.nodeId, attempts: routed.attempts }
  return { answer: { error: routed.error.toJsonRpcError() }, nodeId: undefined, attempts: routed.attempts }
}

function errorResponse(error: ProxyError): HandledRequest {
  return { status: error.httpStatus, body: JSON.stringify(shapeReply(null, '2.0', { error: error.toJsonRpcError() })), nodeIds: [], attempts: 0 }
}

/**
 * HTTP status of a single call: a proxy outcome uses its catalog status (503 no node, 502, 504);
 * a bitcoind-style (1.0) client on a bitcoin chain gets Core's legacy statuses for errors
 * (404 method not found, 400 invalid request, 500 otherwise), which its clients expect.
 */
function statusFor(reply: JsonRpcReply, result: CallResult | undefined, legacy: boolean): number {
  const error = 'error' in reply ? reply.error : null
  if (error === null || error === undefined) return 200
  const proxyCode = proxyErrorCode(error.data)
  if (proxyCode !== undefined) {
    const status = ProxyError.statusOf(proxyCode)
    if (status !== 200) return status
  }
  if (!legacy || result === undefined) return 200
  if (error.code === -32601) return 404
  if (error.code === -32600) return 400
  return 500
}

function proxyErrorCode(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  const code = (data as { code?: unknown }).code
  return typeof code === 'string' && code.startsWith('SY_') ? code : undefined
}
