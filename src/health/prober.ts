/**
 * Probes every node of one chain every `health.intervalMs`, never overlapping itself. `tick()` runs
 * one round and can be called directly (tests, the admin "probe now" action); `start()`/`stop()`
 * own the timer, which is unref'd so it never keeps a process alive.
 */
import type { ChainAdapter, HeadWatcher, ProbeObservation } from '../chain-adapter.js'
import type { NodePool } from '../pool/node-pool.js'

export class Prober {
  readonly #pool: NodePool
  readonly #adapter: ChainAdapter
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #queued: Promise<void> | undefined
  #stopped = true
  #watchers: HeadWatcher[] = []

  constructor(pool: NodePool, adapter: ChainAdapter) {
    this.#pool = pool
    this.#adapter = adapter
  }

  /**
   * One probe round that starts after this call, so its results reflect the nodes as they are now.
   * Rounds never overlap: during a running round, callers share one round queued behind it.
   */
  tick(): Promise<void> {
    if (this.#running === undefined) {
      this.#running = this.#round().finally(() => {
        this.#running = undefined
      })
      return this.#running
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined
      return this.tick()
    })
    return this.#queued
  }

  /** Starts the periodic rounds (the first after `initialDelayMs`) and any push-height watchers. */
  start(initialDelayMs = 0): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#startWatchers()
    this.#schedule(initialDelayMs)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    for (const watcher of this.#watchers) watcher.close()
    this.#watchers = []
    await this.#running
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      const started = performance.now()
      void this.tick().finally(() => {
        const elapsedMs = performance.now() - started
        this.#schedule(Math.max(0, this.#pool.chain.health.intervalMs - elapsedMs))
      })
    }, delayMs)
    this.#timer.unref()
  }

  async #round(): Promise<void> {
    const { timeoutMs, maxLagBlocks } = this.#pool.chain.health
    const results = await Promise.all(
      this.#pool.nodes.map(async (node) => {
        let observation: ProbeObservation
        try {
          observation = await this.#adapter.probe(node.transport, { timeoutMs, maxLagBlocks })
        } catch (error) {
          // Adapters should not throw; if one does, it is a bad reply from this node's point of view.
          const message = error instanceof Error ? error.message : String(error)
          observation = { kind: 'failed', failure: { kind: 'bad-response', message: `probe of ${node.config.id} failed: ${message}` }, latencyMs: 0 }
        }
        return { node, observation }
      }),
    )
    this.#pool.applyProbeRound(results)
  }

  #startWatchers(): void {
    const watch = this.#adapter.watchHeads
    if (watch === undefined) return
    for (const node of this.#pool.nodes) {
      const watcher = watch.call(this.#adapter, node.config, {
        onHeight: (height) => this.#pool.applyPushedHeight(node, height),
        onStatus: (status) => {
          node.headsSubscription = status
        },
      })
      if (watcher === undefined) continue
      node.headsSubscription = 'disconnected'
      this.#watchers.push(watcher)
    }
  }
}
