/**
 * Everything that serves one chain (adapter, pool, prober, router, broadcaster, rebroadcaster,
 * answer cache, read coalescer, the nodes' HTTP clients), built by `createChainRuntime` from that
 * chain's config. The proxy holds one per chain and replaces it whole on a config reload: the old
 * one stops its background work at once, finishes the calls and broadcasts already inside it, then
 * closes the connections the new one did not take over (a same-chain successor may keep its cache).
 */
import type { Broadcaster } from '../broadcast/broadcaster.js'
import type { Rebroadcaster } from '../broadcast/rebroadcaster.js'
import type { ChainAdapter } from '../chain-adapter.js'
import type { ChainConfig } from '../config/schema.js'
import type { Prober } from '../health/prober.js'
import type { NodePool } from '../pool/node-pool.js'
import type { AnswerCache } from '../routing/answer-cache.js'
import type { ReadCoalescer } from '../routing/read-coalescer.js'
import type { ReadContext } from '../routing/read-path.js'
import type { RouteResult, Router } from '../routing/router.js'
import type { NodeTransport } from '../upstream/node-transport.js'

export interface ChainRuntimeParts {
  chain: ChainConfig
  adapter: ChainAdapter
  pool: NodePool
  prober: Prober
  router: Router
  broadcaster: Broadcaster | undefined
  rebroadcaster: Rebroadcaster | undefined
  /** The chain's immutable answers (`cache.enabled`); a reload may hand it to the next runtime. */
  cache: AnswerCache | undefined
  /** Identical reads in flight share one routed call (`routing.coalesce`). */
  coalescer: ReadCoalescer<RouteResult> | undefined
  /** Each node's read client (the pool's) and broadcast-lane client, by node id. */
  readTransports: ReadonlyMap<string, NodeTransport>
  broadcastTransports: ReadonlyMap<string, NodeTransport>
}

export class ChainRuntime {
  readonly chain: ChainConfig
  readonly adapter: ChainAdapter
  readonly pool: NodePool
  readonly prober: Prober
  readonly router: Router
  readonly broadcaster: Broadcaster | undefined
  readonly rebroadcaster: Rebroadcaster | undefined
  readonly cache: AnswerCache | undefined
  readonly coalescer: ReadCoalescer<RouteResult> | undefined
  readonly readTransports: ReadonlyMap<string, NodeTransport>
  readonly broadcastTransports: ReadonlyMap<string, NodeTransport>
  /** What the read path needs, built once. */
  readonly readContext: ReadContext
  #inFlight = 0
  #idle: (() => void) | undefined
  #background = false

  constructor(parts: ChainRuntimeParts, events: ReadContext['events']) {
    this.chain = parts.chain
    this.adapter = parts.adapter
    this.pool = parts.pool
    this.prober = parts.prober
    this.router = parts.router
    this.broadcaster = parts.broadcaster
    this.rebroadcaster = parts.rebroadcaster
    this.cache = parts.cache
    this.coalescer = parts.coalescer
    this.readTransports = parts.readTransports
    this.broadcastTransports = parts.broadcastTransports
    this.readContext = { pool: parts.pool, router: parts.router, adapter: parts.adapter, events }
  }

  /** Every HTTP client of the runtime (both lanes). */
  transports(): NodeTransport[] {
    return [...this.readTransports.values(), ...this.broadcastTransports.values()]
  }

  /** Calls and broadcasts running inside this runtime now. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** A call starts inside this runtime: `retire()` waits for it. Pair with `leave()` in a finally. */
  enter(): void {
    this.#inFlight += 1
  }

  leave(): void {
    this.#inFlight -= 1
    if (this.#inFlight === 0) this.#idle?.()
  }

  /** Runs `work` counted as in flight (stream reads, off the client path). */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.enter()
    try {
      return await work()
    } finally {
      this.leave()
    }
  }

  /** Starts periodic probing and rebroadcasting; the first probe round after `firstProbeDelayMs`. */
  startBackground(firstProbeDelayMs = 0): void {
    this.#background = true
    this.prober.start(firstProbeDelayMs)
    this.rebroadcaster?.start()
  }

  /** Stops probing (and push-height watchers) and rebroadcast rounds; calls still in flight go on. */
  async stopBackground(): Promise<void> {
    if (!this.#background) return
    this.#background = false
    await Promise.all([this.prober.stop(), this.rebroadcaster?.stop()])
  }

  /**
   * Waits until no call runs inside the runtime, lets background broadcast sends finish and be
   * journaled, then closes the HTTP clients not in `keep` (those a successor took over).
   */
  async retire(keep: ReadonlySet<NodeTransport> = new Set()): Promise<void> {
    await this.stopBackground()
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve))
    await this.broadcaster?.drain()
    await Promise.all(this.transports().filter((transport) => !keep.has(transport)).map((transport) => transport.close()))
  }
}
