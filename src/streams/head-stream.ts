/**
 * The pool's quorum head as a gap-free stream of blocks, for one chain. It follows the pool's read
 * head (the height a quorum of nodes reached, never a height only one node has), fetches every
 * height up to it through the chain's read path (failover and blame apply, so a node dying
 * mid-stream only means the next node is asked), checks that each block's parent is the block
 * delivered before it, and on a mismatch (or a `chain:reorg` event) walks back to the fork point
 * and reports a `reorg` before delivering the new branch. It runs only while someone listens.
 */
import type { RpcCall } from '../jsonrpc/types.js'
import type { ProxyEvents } from '../proxy-events.js'
import { routeRead } from '../routing/read-path.js'
import type { ChainRuntime } from '../runtime/chain-runtime.js'
import type { HeadStreamEvent, StreamHead } from './chain-streams.js'

/** Heights fetched per pass before other events get a turn (a long outage is backfilled in passes of this size). */
export const MAX_BACKFILL = 128
/** Heights fetched at once within a pass (delivered oldest first all the same). */
const FETCH_PARALLEL = 8
/** Delivered blocks remembered to find a fork point; a reorg deeper than this re-bases the stream. */
export const REORG_DEPTH = 128
/** After a failed pass (no node could answer), the next try, ms; probe rounds also retry. */
const RETRY_MS = 1_000
/** Reorgs handled in one pass: nodes in the middle of switching branches settle by the next. */
const REORGS_PER_PASS = 3

export interface HeadStreamSource {
  readonly chain: string
  readonly events: ProxyEvents
  /** The chain's runtime now (a config reload swaps it); undefined once the chain is gone. */
  runtime(): ChainRuntime | undefined
}

type Listener = (event: HeadStreamEvent) => void

export class HeadStream {
  readonly #source: HeadStreamSource
  readonly #listeners = new Set<Listener>()
  /** Delivered canonical blocks, oldest first (at most REORG_DEPTH). */
  #recent: StreamHead[] = []
  #stopEvents: (() => void) | undefined
  #running = false
  #again = false
  /** A chain:reorg event asked for the delivered tip to be checked again. */
  #checkTip = false
  /** Bumped at each start and stop: work of an earlier generation delivers nothing. */
  #generation = 0
  #retry: NodeJS.Timeout | undefined
  /** Failures of the last passes, for `stats()` and tests. */
  failures = 0

  constructor(source: HeadStreamSource) {
    this.#source = source
  }

  get subscribers(): number {
    return this.#listeners.size
  }

  /** The last delivered block; undefined before the first (or while stopped). */
  get tip(): StreamHead | undefined {
    return this.#recent.at(-1)
  }

  subscribe(listener: Listener): () => void {
    // The same function twice is two subscriptions: wrap it so each has its own identity.
    const entry: Listener = (event) => listener(event)
    this.#listeners.add(entry)
    if (this.#listeners.size === 1) this.#start()
    let done = false
    return () => {
      if (done) return
      done = true
      this.#listeners.delete(entry)
      if (this.#listeners.size === 0) this.#stop()
    }
  }

  /** Stops for good (the chain is gone or the proxy closes). */
  close(): void {
    this.#listeners.clear()
    this.#stop()
  }

  #start(): void {
    this.#generation += 1
    const chain = this.#source.chain
    this.#stopEvents = this.#source.events.subscribe({
      'chain:head': (event) => {
        if (event.chain === chain) this.#kick()
      },
      // Each probe round is a retry after a failed pass, and catches a head the read head reached late.
      'probe:complete': (event) => {
        if (event.chain === chain) this.#kick()
      },
      'chain:reorg': (event) => {
        if (event.chain !== chain) return
        this.#checkTip = true
        this.#kick()
      },
    })
    this.#kick()
  }

  #stop(): void {
    this.#generation += 1
    this.#stopEvents?.()
    this.#stopEvents = undefined
    this.#recent = []
    this.#checkTip = false
    clearTimeout(this.#retry)
    this.#retry = undefined
  }

  #kick(): void {
    if (this.#running) {
      this.#again = true
      return
    }
    this.#running = true
    void this.#run(this.#generation)
  }

  async #run(generation: number): Promise<void> {
    try {
      do {
        this.#again = false
        try {
          await this.#pass(generation)
        } catch {
          this.failures += 1
          this.#scheduleRetry(generation)
        }
      } while (this.#again && generation === this.#generation)
    } finally {
      this.#running = false
      // A start after a stop during this pass: the new generation needs its own run.
      if (generation !== this.#generation && this.#listeners.size > 0) this.#kick()
    }
  }

  #scheduleRetry(generation: number): void {
    if (generation !== this.#generation || this.#retry !== undefined) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      if (generation === this.#generation) this.#kick()
    }, RETRY_MS)
    this.#retry.unref()
  }

  /** Brings the stream up to the pool's read head, at most MAX_BACKFILL heights; throws when a read fails. */
  async #pass(generation: number): Promise<void> {
    const runtime = this.#source.runtime()
    if (runtime?.adapter.headerAt === undefined) return
    const target = runtime.pool.readHead
    if (target === undefined) return
    const live = (): boolean => generation === this.#generation
    let tip = this.tip
    if (tip === undefined) {
      // The stream starts at the head as it is now: subscribers get the blocks after it.
      const base = await this.#fetch(target)
      if (!live() || base === undefined) return
      this.#recent = [base]
      return
    }
    let reorgs = 0
    if (this.#checkTip) {
      this.#checkTip = false
      const now = await this.#fetch(tip.height)
      if (!live()) return
      if (now?.hash !== tip.hash) {
        await this.#reorg(generation)
        reorgs += 1
      }
    }
    let budget = MAX_BACKFILL
    while (live() && budget > 0) {
      tip = this.tip
      if (tip === undefined || tip.height >= target) return
      const from = tip.height + 1
      const to = Math.min(target, from + Math.min(FETCH_PARALLEL, budget) - 1)
      const heights = Array.from({ length: to - from + 1 }, (_, index) => from + index)
      budget -= heights.length
      const heads = await Promise.all(heights.map((height) => this.#fetch(height)))
      for (const head of heads) {
        if (!live()) return
        // A height the quorum reached but no node asked has yet: the next round brings it.
        if (head === undefined) throw new Error(`no block at ${heights[heads.indexOf(head)]} yet`)
        if (head.parentHash !== this.tip?.hash) {
          if (reorgs >= REORGS_PER_PASS) throw new Error('the chain keeps reorganizing; retrying')
          await this.#reorg(generation)
          reorgs += 1
          break
        }
        this.#deliver(head)
      }
    }
    if (live() && budget === 0 && (this.tip?.height ?? target) < target) this.#again = true
  }

  /**
   * Walks back from the delivered tip to the highest block still canonical, reports the blocks
   * above it as removed, and leaves the stream there: the next steps deliver the new branch.
   */
  async #reorg(generation: number): Promise<void> {
    let keep = this.#recent.length - 1
    while (keep >= 0) {
      const delivered = this.#recent[keep]!
      const now = await this.#fetch(delivered.height)
      if (generation !== this.#generation) return
      if (now !== undefined && now.hash === delivered.hash) break
      keep -= 1
    }
    const removed = this.#recent.slice(keep + 1)
    if (removed.length === 0) return
    const first = removed[0]!
    if (keep >= 0) this.#recent = this.#recent.slice(0, keep + 1)
    else {
      // Deeper than remembered: the new branch starts below the first removed block, unchecked.
      const base = await this.#fetch(first.height - 1)
      if (generation !== this.#generation) return
      if (base === undefined) throw new Error(`no block at ${first.height - 1}`)
      this.#recent = [base]
    }
    this.#emit({ kind: 'reorg', fromHeight: first.height, removed })
  }

  #deliver(head: StreamHead): void {
    this.#recent.push(head)
    if (this.#recent.length > REORG_DEPTH) this.#recent.splice(0, this.#recent.length - REORG_DEPTH)
    this.#emit({ kind: 'head', head })
  }

  #emit(event: HeadStreamEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event)
      } catch {
        // One subscriber's failure is its own; the stream and the others go on.
      }
    }
  }

  /** The block at `height` through the current runtime's read path (failover, blame). */
  async #fetch(height: number): Promise<StreamHead | undefined> {
    const runtime = this.#source.runtime()
    const headerAt = runtime?.adapter.headerAt
    if (runtime === undefined || headerAt === undefined) throw new Error('the chain is gone')
    return headerAt((call) => streamRead(runtime, call), height)
  }
}

/** A read for streams on one runtime: counted in flight (a reload waits for it), routed like a client's read. */
export async function streamRead(runtime: ChainRuntime, call: RpcCall) {
  const routed = await runtime.run(() => routeRead(runtime.readContext, call))
  if (!routed.ok) throw routed.error
  return routed.answer
}
