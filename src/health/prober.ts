/**
 * Probes every node of one chain every `health.intervalMs`, never overlapping itself. `tick()` runs
 * one round and can be called directly (tests, the admin "probe now" action); `start()`/`stop()`
 * own the timer, which is unref'd so it never keeps a process alive.
 *
 * A round: probe every node → fork check (block hashes at a common height of the head the new
 * heights make, and at that head, `health.forkCheck`) and due capability reads (getindexinfo), side
 * by side → apply heights, verdicts and the fork round together → the round is complete
 * (`probe:complete`). Fork and capability look-ups never count against a node. What the fork check
 * verified bounds what reads are served (`NodePool.readHead`, `servableHeight`), so a pushed head
 * is served from the next round on.
 */
import type { ChainAdapter, HeadWatcher, ProbeObservation } from '../chain-adapter.js'
import { type ForkCandidate, type ForkRound, ForkWatch, forkCheckHeight } from '../pool/fork-watch.js'
import type { NodePool, PoolNode } from '../pool/node-pool.js'
import { type ProbePacer, processProbePacer } from './probe-pacer.js'

type RoundResult = { node: PoolNode; observation: ProbeObservation }

/**
 * What the round's fork check found: a comparison; nothing to compare (fewer than 2 nodes at a
 * common height answered); or a comparison tried whose look-ups gave fewer than 2 hashes.
 */
type ForkCheckOutcome = { kind: 'compared'; round: ForkRound } | { kind: 'nothing-to-compare'; nodeIds: string[] } | { kind: 'unverified' } | { kind: 'off' }

export class Prober {
  readonly #pool: NodePool
  readonly #adapter: ChainAdapter
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #queued: Promise<void> | undefined
  #stopped = true
  #watchers: HeadWatcher[] = []
  readonly #forkWatch = new ForkWatch()
  readonly #pacer: ProbePacer

  constructor(pool: NodePool, adapter: ChainAdapter, pacer: ProbePacer = processProbePacer) {
    this.#pool = pool
    this.#adapter = adapter
    this.#pacer = pacer
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
        const slot = this.#pacer.take()
        if (slot !== undefined) await slot
        try {
          observation = await this.#adapter.probe(node.transport, { timeoutMs, maxLagBlocks, batches: node.config.batch })
        } catch (error) {
          // Adapters should not throw; if one does, it is a bad reply from this node's point of view.
          const message = error instanceof Error ? error.message : String(error)
          observation = { kind: 'failed', failure: { kind: 'bad-response', message: `probe of ${node.config.id} failed: ${message}` }, latencyMs: 0 }
        }
        return { node, observation }
      }),
    )
    const [forks] = await Promise.all([this.#checkForks(results), this.#readCapabilities(results)])
    // The new heights and the fork verdict on them are applied together, with no await between:
    // applied first, a node on another branch would be routable at the new head while its block
    // hash is still being compared, and would answer tip reads with its own blocks. Heights whose
    // hashes could not be compared (look-ups timed out) move the pool head but not the read head.
    this.#pool.applyProbeResults(results)
    if (forks.kind === 'compared') this.#pool.applyForkRound(forks.round)
    else if (forks.kind === 'nothing-to-compare') {
      const others = this.#pool.routable().filter((node) => !forks.nodeIds.includes(node.config.id))
      if (others.length === 0) this.#pool.applyUncomparedRound(forks.nodeIds)
    }
    this.#pool.completeProbeRound()
  }

  async #checkForks(results: readonly RoundResult[]): Promise<ForkCheckOutcome> {
    const { forkCheck, timeoutMs, maxLagBlocks } = this.#pool.chain.health
    const blockHashAt = this.#adapter.blockHashAt
    if (!forkCheck || blockHashAt === undefined) return { kind: 'off' }
    const byId = new Map<string, PoolNode>()
    const candidates: ForkCandidate[] = []
    for (const { node, observation } of results) {
      // Wrong-chain nodes are another chain altogether; cordoned ones are the operator's.
      if (observation.kind !== 'ok' || node.health.status === 'wrong-chain' || node.health.status === 'cordoned') continue
      byId.set(node.config.id, node)
      candidates.push({ nodeId: node.config.id, height: observation.height, chainwork: observation.chainwork, headHash: observation.headHash })
    }
    const head = this.#pool.headWith(results)
    if (forkCheckHeight(candidates, head, maxLagBlocks) === undefined) {
      const inRange = candidates.filter((candidate) => head !== undefined && Math.abs(candidate.height - head) <= maxLagBlocks)
      return { kind: 'nothing-to-compare', nodeIds: inRange.map((candidate) => candidate.nodeId) }
    }
    const round = await this.#forkWatch.check({
      head,
      maxLagBlocks,
      candidates,
      hashAt: async (nodeId, height) => {
        const node = byId.get(nodeId)
        if (node === undefined) return undefined
        const slot = this.#pacer.take()
        if (slot !== undefined) await slot
        try {
          return await blockHashAt.call(this.#adapter, node.transport, height, { timeoutMs, maxLagBlocks })
        } catch {
          return undefined
        }
      },
    })
    return round === undefined ? { kind: 'unverified' } : { kind: 'compared', round }
  }

  async #readCapabilities(results: readonly RoundResult[]): Promise<void> {
    const probeTxIndex = this.#adapter.probeTxIndex
    if (probeTxIndex === undefined) return
    const { timeoutMs, maxLagBlocks } = this.#pool.chain.health
    await Promise.all(
      results.map(async ({ node, observation }) => {
        if (observation.kind !== 'ok' || !this.#pool.capabilitiesDue(node)) return
        let txindex: boolean | undefined
        const slot = this.#pacer.take()
        if (slot !== undefined) await slot
        try {
          txindex = await probeTxIndex.call(this.#adapter, node.transport, { timeoutMs, maxLagBlocks })
        } catch {
          txindex = undefined
        }
        this.#pool.applyTxIndex(node, txindex)
      }),
    )
  }

  #startWatchers(): void {
    const watch = this.#adapter.watchHeads
    if (watch === undefined) return
    for (const node of this.#pool.nodes) {
      const watcher = watch.call(this.#adapter, node.config, {
        // A pushed head moves the pool head (and can eject a lagging node at once); reads reach it
        // when the next round compares its hash. A round per push would multiply probe load by the
        // nodes' block rate for at most one interval of freshness.
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
