/**
 * Prometheus metrics of a proxy, on a registry of their own (never prom-client's global one, so
 * several proxies in one process, and tests, never collide).
 *
 * Node and chain figures (height, lag, status, latency, head, routable nodes, hedged reads, answer
 * cache, coalesced and batched reads, journal backlog) are read from `proxy.snapshot()` / the journal at scrape time; request, failover, ejection and
 * broadcast counters come from the proxy's events. Every label value is bounded: chain and node
 * names come from the config, methods go through `proxy.methodLabel` (client strings outside the
 * allowlist become "other"), outcomes, statuses and error codes are fixed sets.
 */
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { NodeStatus } from '../pool/node-health.js'
import { type AlertDeliveryOutcome, type AlertDeliveryRecorder, webhookName } from './alert-webhooks.js'
import type { ProxyEventMap } from '../proxy-events.js'
import { type PutSeries, SeriesMetric, renderRegistry } from './series-metric.js'
import type { Proxy } from '../proxy.js'

/** Every node status, in the order shown on dashboards; `node_status` has one series per entry. */
export const NODE_STATUSES = ['starting', 'healthy', 'lagging', 'ahead', 'syncing', 'forked', 'unreliable', 'down', 'wrong-chain', 'cordoned'] as const satisfies readonly NodeStatus[]
// Compile-time check that the list above names every NodeStatus.
type MissingStatus = Exclude<NodeStatus, (typeof NODE_STATUSES)[number]>
const allStatusesListed: [MissingStatus] extends [never] ? true : never = true
void allStatusesListed

/** Statuses a healthy node can be ejected to (operator cordons are not ejections). */
export const EJECTION_REASONS = ['lagging', 'ahead', 'down', 'syncing', 'forked', 'unreliable', 'wrong-chain'] as const
type EjectionReason = (typeof EJECTION_REASONS)[number]

export const BROADCAST_OUTCOMES = ['accepted', 'confirmed', 'conflict', 'dropped', 'reorged'] as const

export const ALERT_DELIVERY_OUTCOMES: readonly AlertDeliveryOutcome[] = ['delivered', 'failed', 'dropped']

/**
 * Why an admin (or metrics) request was refused: a missing or wrong token, an address over its
 * failed-login budget, a foreign Host (DNS rebinding), another origin's page, a non-JSON action,
 * an action with no admin.token configured, a non-loopback reader without one, a full event-stream
 * cap, a wrong /metrics token.
 */
export const ADMIN_REFUSAL_REASONS = [
  'token-missing',
  'token-wrong',
  'throttled',
  'host',
  'cross-origin',
  'content-type',
  'actions-disabled',
  'remote-address',
  'stream-limit',
  'metrics-token',
] as const
export type AdminRefusalReason = (typeof ADMIN_REFUSAL_REASONS)[number]

/**
 * Why /rpc refused a client's calls (client-gate.ts): no known key (401), a chain or method group
 * outside its grant (403), over its rate limit (429).
 */
export const CLIENT_REFUSAL_REASONS = ['unauthorized', 'forbidden', 'rate-limited'] as const
export type ClientRefusalReason = (typeof CLIENT_REFUSAL_REASONS)[number]
/** The `client` label of refusals without a known key: parentheses, so no configured name can be it. */
export const UNAUTHENTICATED_CLIENT = '(unauthenticated)'

/** Request latency buckets, seconds: sub-millisecond local answers up to the default 15 s deadline. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15]

export interface Metrics extends AlertDeliveryRecorder {
  registry: Registry
  /** Content type of `render()`'s output (Prometheus text format 0.0.4). */
  contentType: string
  /** The exposition text of every metric (collects node figures and the journal backlog now). */
  render(): Promise<string>
  /**
   * Counts one alert outcome for a webhook, named by its index (`webhook[0]`), never its URL.
   * The alert webhook module calls this (pass the metrics object as its `metrics` option).
   */
  alertDelivery(webhook: string, outcome: AlertDeliveryOutcome): void
  /** Counts one refused admin or metrics request (the admin guard, event streams and /metrics call this). */
  adminRefusal(reason: AdminRefusalReason): void
  /**
   * Counts calls /rpc refused for a client before they ran (the client gate calls this): by the
   * client's configured name, or `(unauthenticated)` without a known key.
   */
  clientRefusal(client: string | undefined, reason: ClientRefusalReason, calls: number): void
  /** Stops listening to the proxy's events. */
  close(): void
}

export function createMetrics(proxy: Proxy): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  // Chains, nodes and webhooks come from the config; a reload replaces them (see onReload).
  let chains = Object.values(proxy.config.chains)
  let known = new Set(chains.map((chain) => chain.name))

  // ---- figures read from the snapshot at scrape time ----
  // One snapshot per scrape, shared by every gauge (it sorts each node's latency samples: at 1,000
  // nodes a snapshot per gauge made a scrape several times dearer).
  // Dropped at the next turn of the event loop: a scrape's collect() calls all start in one turn,
  // also when the cluster primary asks a worker for its figures (cluster-worker.ts), which
  // bypasses render().
  let snapshot: ReturnType<Proxy['snapshot']> | undefined
  const scrapeSnapshot = (): ReturnType<Proxy['snapshot']> => {
    if (snapshot === undefined) {
      snapshot = proxy.snapshot()
      setImmediate(() => {
        snapshot = undefined
      })
    }
    return snapshot
  }

  // Per-node series are written by SeriesMetric (series-metric.ts): at 1,000 nodes prom-client's
  // per-series bookkeeping and formatting made each scrape hold the event loop for 100+ ms.
  type NodeFigures = ReturnType<Proxy['snapshot']>['chains'][number]['nodes'][number]
  const nodeGauge = (name: string, help: string, aggregator: 'max' | 'average' | 'sum', figure: (node: NodeFigures) => number | null): void => {
    new SeriesMetric({
      name,
      help,
      type: 'gauge',
      labelNames: ['chain', 'node'],
      aggregator,
      registers,
      collect(put) {
        for (const chain of scrapeSnapshot().chains) {
          for (const node of chain.nodes) {
            const value = figure(node)
            if (value !== null) put([chain.name, node.id], value)
          }
        }
      },
    })
  }
  nodeGauge('switchyard_node_height', 'Last block height reported by the node', 'max', (node) => node.height)
  nodeGauge('switchyard_node_lag_blocks', 'Blocks the node is behind its chain pool head', 'max', (node) => node.lag)
  new SeriesMetric({
    name: 'switchyard_node_status',
    help: `Node status: 1 for the current status, 0 for the others (${NODE_STATUSES.join(', ')})`,
    type: 'gauge',
    labelNames: ['chain', 'node', 'status'],
    aggregator: 'max',
    registers,
    collect(put) {
      for (const chain of scrapeSnapshot().chains) {
        for (const node of chain.nodes) {
          for (const status of NODE_STATUSES) put([chain.name, node.id, status], node.status === status ? 1 : 0)
        }
      }
    },
  })
  nodeGauge('switchyard_node_latency_ms', 'Peak-EWMA latency of the node (probes and traffic), milliseconds', 'average', (node) => node.latencyMs)
  nodeGauge('switchyard_node_error_rate', 'Recent failure ratio of the node (probes and traffic), 0..1', 'average', (node) => node.errorRate)
  nodeGauge('switchyard_node_in_flight', 'Requests in flight to the node', 'sum', (node) => node.inFlight)

  new Gauge({
    name: 'switchyard_chain_head',
    help: 'Pool head of the chain: the highest height reached by a quorum of its nodes',
    labelNames: ['chain'] as const,
    registers,
    aggregator: 'max',
    collect() {
      this.reset()
      for (const chain of scrapeSnapshot().chains) if (chain.head !== null) this.set({ chain: chain.name }, chain.head)
    },
  })

  new Gauge({
    name: 'switchyard_chain_read_head',
    help: 'Height reads are served at: the pool head, no higher than the highest height whose block hashes the fork check compared and decided',
    labelNames: ['chain'] as const,
    registers,
    aggregator: 'min',
    collect() {
      this.reset()
      for (const chain of scrapeSnapshot().chains) if (chain.readHead !== null) this.set({ chain: chain.name }, chain.readHead)
    },
  })

  new Gauge({
    name: 'switchyard_chain_routable_nodes',
    help: 'Nodes of the chain that requests can be routed to (0 = the chain fails closed)',
    labelNames: ['chain'] as const,
    registers,
    aggregator: 'min',
    collect() {
      this.reset()
      for (const chain of scrapeSnapshot().chains) this.set({ chain: chain.name }, chain.routable)
    },
  })

  new Gauge({
    name: 'switchyard_stream_filters',
    help: 'EVM filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter) switchyard holds for clients, per chain',
    labelNames: ['chain'] as const,
    registers,
    aggregator: 'sum',
    collect() {
      this.reset()
      for (const chain of chains) {
        const stats = proxy.streams(chain.name)?.stats?.()
        if (stats !== undefined) this.set({ chain: chain.name }, stats.filters)
      }
    },
  })

  new Gauge({
    name: 'switchyard_stream_subscribers',
    help: 'Open stream subscriptions per chain: heads (WebSocket newHeads, block streams), logs, and listeners of the pending-transaction feed (subscriptions and pending filters); other filters not counted',
    labelNames: ['chain', 'kind'] as const,
    registers,
    aggregator: 'sum',
    collect() {
      this.reset()
      for (const chain of chains) {
        const stats = proxy.streams(chain.name)?.stats?.()
        if (stats === undefined) continue
        this.set({ chain: chain.name, kind: 'heads' }, stats.headSubscribers)
        this.set({ chain: chain.name, kind: 'logs' }, stats.logSubscribers)
        if (stats.pendingListeners !== undefined) this.set({ chain: chain.name, kind: 'pending' }, stats.pendingListeners)
      }
    },
  })

  new Gauge({
    name: 'switchyard_journal_pending',
    help: 'Broadcasts not yet confirmed (journal status pending or seen)',
    labelNames: ['chain'] as const,
    registers,
    aggregator: 'max',
    async collect() {
      const counts = await Promise.all(
        chains.map(async (chain) => {
          try {
            // A COUNT per scrape, not rows: a backlog of any size costs the same.
            return { chain: chain.name, count: await proxy.journal.count(chain.name, ['pending', 'seen']) }
          } catch {
            // A closed or failing journal must not break the whole scrape: the series goes missing instead.
            return { chain: chain.name, count: undefined }
          }
        }),
      )
      this.reset()
      for (const { chain, count } of counts) if (count !== undefined) this.set({ chain }, count)
    },
  })

  // Hedged reads: the routers count them; read at scrape time, so a reload that rebuilds a chain
  // starts its counts over (Prometheus takes that as a counter reset).
  for (const [name, help, count] of [
    ['switchyard_hedged_reads_total', 'Hedged reads (routing.hedge): second attempts sent because the first node had not answered after its p95 (at least hedge.afterMs)', 'sent'],
    ['switchyard_hedge_wins_total', 'Hedged reads whose hedge answered first (its answer returned, the first attempt cancelled)', 'won'],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['chain'] as const,
      registers,
      collect() {
        this.reset()
        for (const chain of scrapeSnapshot().chains) this.inc({ chain: chain.name }, chain.hedges[count])
      },
    })
  }

  // Answer cache, coalesced and batched reads, from the snapshot too: a chain whose cache a reload
  // drops (or whose runtime or node clients it rebuilds, for coalesced and batched calls) starts its counts over.
  type ChainFigures = ReturnType<Proxy['snapshot']>['chains'][number]
  const chainFigures: ReadonlyArray<readonly [string, string, 'counter' | 'gauge', (chain: ChainFigures) => number]> = [
    ['switchyard_cache_hits_total', 'Reads answered from the answer cache (no node asked)', 'counter', (chain) => chain.cache.hits],
    ['switchyard_cache_misses_total', 'Cacheable reads not in the answer cache (asked of a node)', 'counter', (chain) => chain.cache.misses],
    ['switchyard_cache_evictions_total', 'Answer cache entries dropped to stay within cache.maxBytes', 'counter', (chain) => chain.cache.evictions],
    ['switchyard_cache_bytes', 'Size of the answer cache, bytes (JSON text of the answers plus their keys)', 'gauge', (chain) => chain.cache.bytes],
    ['switchyard_cache_entries', 'Answers in the answer cache', 'gauge', (chain) => chain.cache.entries],
    ['switchyard_coalesced_calls_total', 'Reads answered by an identical read already in flight (routing.coalesce), no node call of their own', 'counter', (chain) => chain.coalesced],
    ['switchyard_upstream_batches_total', 'HTTP exchanges with nodes that carried two reads or more as one JSON-RPC batch (routing.batch)', 'counter', (chain) => chain.batched.batches],
    ['switchyard_upstream_batched_calls_total', 'Reads sent to nodes inside those batches', 'counter', (chain) => chain.batched.calls],
  ]
  for (const [name, help, type, figure] of chainFigures) {
    const labelNames = ['chain'] as const
    const collectInto = (metric: { reset(): void }, put: (chain: string, value: number) => void): void => {
      metric.reset()
      for (const chain of scrapeSnapshot().chains) put(chain.name, figure(chain))
    }
    if (type === 'counter') {
      new Counter({ name, help, labelNames, registers, collect() { collectInto(this, (chain, value) => this.inc({ chain }, value)) } })
    } else {
      new Gauge({ name, help, labelNames, registers, collect() { collectInto(this, (chain, value) => this.set({ chain }, value)) } })
    }
  }

  // ---- counters and histograms fed by events ----

  const requestDuration = new Histogram({
    name: 'switchyard_request_duration_seconds',
    help: 'Client call duration through the proxy (all attempts), seconds; method is "other" for methods off the allowlist',
    labelNames: ['chain', 'method', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  })

  const requests = new Counter({
    name: 'switchyard_requests_total',
    help: 'Client calls by outcome (answer, node-error, proxy-error, local) and proxy error code (none when not a proxy error)',
    labelNames: ['chain', 'outcome', 'code'] as const,
    registers,
  })

  const failovers = new Counter({
    name: 'switchyard_request_failovers_total',
    help: 'Extra attempts made on other nodes after a node failed a call (attempts - 1)',
    labelNames: ['chain'] as const,
    registers,
  })

  // Per-node counters in plain numbers, written by SeriesMetric (see the node gauges above).
  const ejections = new NodeCounts(EJECTION_REASONS)
  new SeriesMetric({
    name: 'switchyard_node_ejections_total',
    help: 'Healthy nodes taken out of routing, by the status they went to (operator cordons excluded)',
    type: 'counter',
    labelNames: ['chain', 'node', 'reason'],
    aggregator: 'sum',
    registers,
    collect: (put) => ejections.collect(put),
  })

  const broadcasts = new Counter({
    name: 'switchyard_broadcasts_total',
    help: 'Broadcast lifecycle events: accepted, confirmed, conflict, dropped, reorged',
    labelNames: ['chain', 'outcome'] as const,
    registers,
  })

  const alertDeliveries = new Counter({
    name: 'switchyard_alert_deliveries_total',
    help: 'Alert webhook deliveries by outcome: delivered, failed (gave up after all attempts), dropped (queue full)',
    labelNames: ['webhook', 'outcome'] as const,
    registers,
  })

  const reorgs = new Counter({
    name: 'switchyard_chain_reorgs_total',
    help: "Reorgs seen: the majority's block hash at a height the proxy had seen changed",
    labelNames: ['chain'] as const,
    registers,
  })

  const reorgDepth = new Gauge({
    name: 'switchyard_chain_last_reorg_depth',
    help: 'Depth (blocks replaced) of the last reorg seen on the chain',
    labelNames: ['chain'] as const,
    registers,
    aggregator: 'max',
  })

  const disagreements = new Counter({
    name: 'switchyard_read_disagreements_total',
    help: 'Verified reads (or reads at a disputed height) whose nodes gave different answers',
    labelNames: ['chain'] as const,
    registers,
  })

  const disputes = new NodeCounts(undefined)
  new SeriesMetric({
    name: 'switchyard_node_disputes_total',
    help: 'Verified-read disputes a node lost (its answer differed from the agreed one)',
    type: 'counter',
    labelNames: ['chain', 'node'],
    aggregator: 'sum',
    registers,
    collect: (put) => disputes.collect(put),
  })

  const adminRefusals = new Counter({
    name: 'switchyard_admin_refusals_total',
    help: 'Admin and /metrics requests refused, by reason (token-wrong = a failed login; throttled = answered 429 without checking)',
    labelNames: ['reason'] as const,
    registers,
  })
  for (const reason of ADMIN_REFUSAL_REASONS) adminRefusals.inc({ reason }, 0)

  new Gauge({
    name: 'switchyard_journal_healthy',
    help: 'The broadcast journal works (1) or failed (0: writes failing, file gone or not writable); /readyz is 503 while 0',
    registers,
    aggregator: 'min',
    collect() {
      this.set(proxy.journalHealth().ok ? 1 : 0)
    },
  })

  new Gauge({
    name: 'switchyard_event_listener_errors',
    help: 'Event subscribers (metrics, logs, alerts, dashboard) that threw so far; contained, never failing a call or probe round',
    registers,
    aggregator: 'sum',
    collect() {
      this.set(proxy.events.listenerErrors)
    },
  })

  // Series that exist from the start, so rate() and increase() see the first event.
  const zeroSeries = (): void => {
    for (const chain of chains) {
      failovers.inc({ chain: chain.name }, 0)
      reorgs.inc({ chain: chain.name }, 0)
      disagreements.inc({ chain: chain.name }, 0)
      for (const outcome of BROADCAST_OUTCOMES) broadcasts.inc({ chain: chain.name, outcome }, 0)
      for (const node of chain.nodes) {
        ejections.seed(chain.name, node.id)
        disputes.seed(chain.name, node.id)
      }
    }
    proxy.config.alerts.webhooks.forEach((_webhook, index) => {
      for (const outcome of ALERT_DELIVERY_OUTCOMES) alertDeliveries.inc({ webhook: webhookName(index), outcome }, 0)
    })
  }
  zeroSeries()

  // Per-client series: client names come from the config only (a reload may change the list).
  const clientRequests = new Counter({
    name: 'switchyard_client_requests_total',
    help: 'Calls of each configured client (clients[].name) by chain and outcome (answer, node-error, proxy-error, local)',
    labelNames: ['client', 'chain', 'outcome'] as const,
    registers,
  })
  const clientRefusals = new Counter({
    name: 'switchyard_client_refusals_total',
    help: 'Calls /rpc refused before they ran, by client name ((unauthenticated) without a known key) and reason: unauthorized 401, forbidden 403, rate-limited 429',
    labelNames: ['client', 'reason'] as const,
    registers,
  })
  let clientNames: { from: unknown; names: ReadonlySet<string> } = { from: undefined, names: new Set() }
  const isClient = (name: string): boolean => {
    const clients = proxy.config.clients
    if (clientNames.from !== clients) {
      clientNames = { from: clients, names: new Set(clients.map((client) => client.name)) }
      for (const client of clients) for (const reason of CLIENT_REFUSAL_REASONS) clientRefusals.inc({ client: client.name, reason }, 0)
    }
    return clientNames.names.has(name)
  }
  isClient('')
  if (proxy.config.clients.length > 0) clientRefusals.inc({ client: UNAUTHENTICATED_CLIENT, reason: 'unauthorized' }, 0)

  // Label children kept per label set: every call observes these two, and prom-client hashes a
  // label object on each use. The sets are bounded (chains × allowlisted methods × outcomes, codes).
  const durationOf = labelChildren((chain: string, method: string, outcome: string) => requestDuration.labels({ chain, method, outcome }))
  const requestsOf = labelChildren((chain: string, outcome: string, code: string) => requests.labels({ chain, outcome, code }))
  const onRequest = (event: ProxyEventMap['request:complete'][0]): void => {
    if (!known.has(event.chain)) return
    const chain = event.chain
    const method = proxy.methodLabel(chain, event.method)
    const code = event.outcome === 'proxy-error' && event.code !== undefined ? event.code : 'none'
    durationOf(chain, method, event.outcome).observe(event.durationMs / 1000)
    requestsOf(chain, event.outcome, code).inc()
    if (event.client !== undefined && isClient(event.client)) clientRequests.inc({ client: event.client, chain, outcome: event.outcome })
    if (event.attempts > 1) failovers.inc({ chain }, event.attempts - 1)
  }
  const onNodeState = (event: ProxyEventMap['node:state'][0]): void => {
    if (event.from !== 'healthy' || !known.has(event.chain) || !isEjectionReason(event.to)) return
    if (!proxy.config.chains[event.chain]?.nodes.some((node) => node.id === event.nodeId)) return
    ejections.inc(event.chain, event.nodeId, event.to)
  }
  const broadcastListener =
    (outcome: (typeof BROADCAST_OUTCOMES)[number]) =>
    (event: { chain: string }): void => {
      if (known.has(event.chain)) broadcasts.inc({ chain: event.chain, outcome })
    }
  const onAccepted = broadcastListener('accepted')
  const onConfirmed = broadcastListener('confirmed')
  const onConflict = broadcastListener('conflict')
  const onDropped = broadcastListener('dropped')
  const onReorged = broadcastListener('reorged')

  const onReorg = (event: ProxyEventMap['chain:reorg'][0]): void => {
    if (!known.has(event.chain)) return
    reorgs.inc({ chain: event.chain })
    reorgDepth.set({ chain: event.chain }, event.depth)
  }
  const onDisagree = (event: ProxyEventMap['read:disagree'][0]): void => {
    if (!known.has(event.chain)) return
    disagreements.inc({ chain: event.chain })
    const nodes = proxy.config.chains[event.chain]?.nodes
    for (const nodeId of event.minority) if (nodes?.some((node) => node.id === nodeId)) disputes.inc(event.chain, nodeId)
  }

  // A reload: new chains and nodes get their zero series; those removed stop being counted
  // (their past series stay until the process restarts, as Prometheus counters should).
  const onReload = (): void => {
    chains = Object.values(proxy.config.chains)
    known = new Set(chains.map((chain) => chain.name))
    webhookCount = proxy.config.alerts.webhooks.length
    zeroSeries()
  }

  const unsubscribe = proxy.events.subscribe({
    'config:reload': onReload,
    'chain:reorg': onReorg,
    'read:disagree': onDisagree,
    'request:complete': onRequest,
    'node:state': onNodeState,
    'broadcast:accepted': onAccepted,
    'broadcast:confirmed': onConfirmed,
    'broadcast:conflict': onConflict,
    'broadcast:dropped': onDropped,
    'broadcast:reorged': onReorged,
  })

  let webhookCount = proxy.config.alerts.webhooks.length
  let closed = false

  return {
    registry,
    contentType: registry.contentType,
    render: async () => {
      snapshot = undefined
      try {
        return await renderRegistry(registry)
      } finally {
        snapshot = undefined
      }
    },
    alertDelivery(webhook, outcome) {
      // Only names this module would make itself (`webhook[<index>]` of a configured webhook).
      const match = /^webhook\[(\d+)\]$/.exec(webhook)
      if (match === null || Number(match[1]) >= webhookCount || !ALERT_DELIVERY_OUTCOMES.includes(outcome)) return
      alertDeliveries.inc({ webhook, outcome })
    },
    clientRefusal(client, reason, calls) {
      if (!CLIENT_REFUSAL_REASONS.includes(reason) || calls <= 0) return
      if (client === undefined) clientRefusals.inc({ client: UNAUTHENTICATED_CLIENT, reason }, calls)
      else if (isClient(client)) clientRefusals.inc({ client, reason }, calls)
    },
    adminRefusal(reason) {
      if (ADMIN_REFUSAL_REASONS.includes(reason)) adminRefusals.inc({ reason })
    },
    close() {
      if (closed) return
      closed = true
      unsubscribe()
    },
  }
}

function isEjectionReason(status: NodeStatus): status is EjectionReason {
  return (EJECTION_REASONS as readonly string[]).includes(status)
}

/**
 * `GET /metrics`: the Prometheus text exposition (register before the app starts listening).
 * `onRequest` runs first and may answer instead (buildApp's metrics.token check).
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: Pick<Metrics, 'render' | 'contentType'>, options: { onRequest?: onRequestHookHandler } = {}): void {
  app.get('/metrics', { ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }) }, async (_request, reply) => {
    const body = await metrics.render()
    return reply.code(200).header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body)
  })
}

/**
 * Counts per node, by kind (`kinds`) or one count when undefined; series in the order nodes were
 * first seen. Nodes a reload removes keep their series until the process restarts, as counters should.
 */
class NodeCounts<Kind extends string> {
  readonly #kinds: readonly Kind[] | undefined
  readonly #nodes = new Map<string, { chain: string; node: string; counts: number[] }>()

  constructor(kinds: readonly Kind[] | undefined) {
    this.#kinds = kinds
  }

  /** The node's series, at 0 (so rate() and increase() see the first event). */
  seed(chain: string, node: string): { counts: number[] } {
    const key = `${chain}\u0000${node}`
    let entry = this.#nodes.get(key)
    if (entry === undefined) this.#nodes.set(key, (entry = { chain, node, counts: new Array<number>(this.#kinds?.length ?? 1).fill(0) }))
    return entry
  }

  inc(chain: string, node: string, kind?: Kind): void {
    const index = kind === undefined || this.#kinds === undefined ? 0 : this.#kinds.indexOf(kind)
    if (index >= 0) this.seed(chain, node).counts[index]! += 1
  }

  collect(put: PutSeries): void {
    const kinds = this.#kinds
    for (const { chain, node, counts } of this.#nodes.values()) {
      if (kinds === undefined) put([chain, node], counts[0]!)
      else kinds.forEach((kind, index) => put([chain, node, kind], counts[index]!))
    }
  }
}

/** `make` memoised on its three label values. */
function labelChildren<Child>(make: (a: string, b: string, c: string) => Child): (a: string, b: string, c: string) => Child {
  const children = new Map<string, Child>()
  return (a, b, c) => {
    const key = `${a}\u0000${b}\u0000${c}`
    let child = children.get(key)
    if (child === undefined) children.set(key, (child = make(a, b, c)))
    return child
  }
}
