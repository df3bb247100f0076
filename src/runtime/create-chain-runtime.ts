/**
 * The composition root of one chain: its family's adapter, the nodes' HTTP clients (a read lane
 * and a broadcast lane per node), pool, prober, router, broadcaster and rebroadcaster, from the
 * chain's config plus the services every chain shares. On a reload, `carried` hands over the
 * runtime being replaced: nodes it names keep their health history, and their clients when the
 * plan says the connection options did not change; its answer cache goes on when the plan says it
 * is the same chain (see `carriedCache`).
 */
import { Broadcaster } from '../broadcast/broadcaster.js'
import type { BroadcastJournal } from '../broadcast/broadcast-journal.js'
import { Rebroadcaster } from '../broadcast/rebroadcaster.js'
import type { ChainAdapter, ChainFamily } from '../chain-adapter.js'
import type { ChainConfig, NodeConfig } from '../config/schema.js'
import { Prober } from '../health/prober.js'
import { NodePool } from '../pool/node-pool.js'
import type { ProxyEvents } from '../proxy-events.js'
import { AnswerCache } from '../routing/answer-cache.js'
import { ReadCoalescer } from '../routing/read-coalescer.js'
import { type RouteResult, Router } from '../routing/router.js'
import { NodeClient } from '../upstream/node-client.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import type { ReplyBudget } from '../upstream/reply-budget.js'
import type { Clock } from '../util/clock.js'
import { deepFreeze } from '../util/deep-freeze.js'
import { ChainRuntime } from './chain-runtime.js'

/** Connections of a node's broadcast lane: few sends at a time, never queued behind reads. */
const BROADCAST_LANE_CONNECTIONS = 8

/** What every chain runtime of a proxy shares. */
export interface SharedServices {
  families: Readonly<Record<string, ChainFamily>>
  events: ProxyEvents
  journal: BroadcastJournal
  clock: Clock
  /** One bound on node reply bytes in memory, shared by every node client of the proxy. */
  replyBudget: ReplyBudget
  /** `journal.maxOpenPerClient`; undefined: no bound. */
  maxOpenPerClient: number | undefined
  random?: (() => number) | undefined
  /** Builds a node's transport instead of the HTTP client (tests, embedding applications). */
  createTransport?: ((node: NodeConfig, adapter: ChainAdapter) => NodeTransport) | undefined
}

export interface CarriedRuntime {
  runtime: ChainRuntime
  /** Nodes whose health history carries over. */
  carry: ReadonlySet<string>
  /** Of those, nodes whose HTTP clients are taken over as they are. */
  reuseConnections: ReadonlySet<string>
}

/** Throws an Error whose message starts with the config path of the problem (`chains.eth…`). */
export function createChainRuntime(chain: ChainConfig, shared: SharedServices, carried?: CarriedRuntime): ChainRuntime {
  const adapter = createAdapter(chain, shared.families)
  const reused = (lane: 'read' | 'broadcast', node: NodeConfig): NodeTransport | undefined => {
    if (carried?.reuseConnections.has(node.id) !== true) return undefined
    return (lane === 'read' ? carried.runtime.readTransports : carried.runtime.broadcastTransports).get(node.id)
  }
  const build = (node: NodeConfig, connections: number): NodeTransport =>
    shared.createTransport?.(node, adapter) ??
    new NodeClient({
      nodeId: node.id,
      url: node.url,
      username: node.username,
      password: node.password,
      credentials: adapter.credentials?.(node),
      version: adapter.upstreamVersion,
      connections,
      maxReplyBytes: chain.routing.maxReplyBytes,
      replyBudget: shared.replyBudget,
    })
  const readTransports = new Map<string, NodeTransport>()
  const broadcastTransports = new Map<string, NodeTransport>()
  for (const node of chain.nodes) {
    readTransports.set(node.id, reused('read', node) ?? build(node, chain.routing.maxInFlightPerNode))
    // A lane of its own per node, so a flood of reads never queues a withdrawal behind it.
    if (adapter.broadcast !== undefined) broadcastTransports.set(node.id, reused('broadcast', node) ?? build(node, BROADCAST_LANE_CONNECTIONS))
  }
  const { events, clock, journal } = shared
  const pool = new NodePool(chain, readTransports, events, clock, {
    carried: carried === undefined ? undefined : { pool: carried.runtime.pool, nodeIds: carried.carry },
    verifiesForks: chain.health.forkCheck && adapter.blockHashAt !== undefined,
  })
  const router = new Router(pool, adapter, shared.random)
  let broadcaster: Broadcaster | undefined
  let rebroadcaster: Rebroadcaster | undefined
  const support = adapter.broadcast
  if (support !== undefined) {
    const parts = { chain, support, pool, transports: broadcastTransports, journal, events, clock, maxOpenPerClient: shared.maxOpenPerClient }
    broadcaster = new Broadcaster(parts)
    rebroadcaster = new Rebroadcaster({ ...parts, broadcaster })
  }
  const cache = chain.cache.enabled ? (carriedCache(chain, carried) ?? new AnswerCache(chain.cache)) : undefined
  // Callers of one coalesced read get one answer object: frozen, so none can change another's.
  const coalescer = chain.routing.coalesce ? new ReadCoalescer<RouteResult>((routed) => (routed.ok ? void deepFreeze(routed.answer) : undefined)) : undefined
  return new ChainRuntime({ chain, adapter, pool, prober: new Prober(pool, adapter), router, broadcaster, rebroadcaster, cache, coalescer, readTransports, broadcastTransports }, events)
}

/**
 * The replaced runtime's cache, when the reload plan carries any node's health over (it does only
 * while the chain's identity, family, chain id, network, genesis, and its cache options stay the
 * same) and the cache options match: cached answers are facts of the chain, not of its nodes.
 */
function carriedCache(chain: ChainConfig, carried: CarriedRuntime | undefined): AnswerCache | undefined {
  const cache = carried?.runtime.cache
  return cache !== undefined && carried !== undefined && carried.carry.size > 0 && cache.fits(chain.cache) ? cache : undefined
}

function createAdapter(chain: ChainConfig, families: Readonly<Record<string, ChainFamily>>): ChainAdapter {
  const family = families[chain.family]
  if (family === undefined) throw new Error(`chains.${chain.name}.family: no adapter for family "${chain.family}"`)
  let adapter: ChainAdapter
  try {
    adapter = family.createAdapter(chain)
  } catch (error) {
    throw new Error(`chains.${chain.name}: ${error instanceof Error ? error.message : String(error)}`)
  }
  // Only reads can be verified: a broadcast or a forbidden method listed here is a config mistake.
  chain.verify.methods.forEach((method, index) => {
    if (adapter.classifyMethod(method) !== 'read') {
      throw new Error(`chains.${chain.name}.verify.methods[${index}]: "${method}" is not a read method of the ${chain.family} allowlist`)
    }
  })
  return adapter
}

/** Loads family credentials (bitcoind cookie files) of clients that have not made a call yet. */
export async function loadCredentials(transports: readonly NodeTransport[]): Promise<void> {
  await Promise.all(transports.map((transport) => (transport instanceof NodeClient ? transport.loadCredentials().catch(() => undefined) : undefined)))
}
