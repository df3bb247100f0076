/**
 * Logs of each block the head stream delivers, to every log subscriber whose query matches, in
 * block order: one `eth_getLogs { blockHash }` per block (the adapter's `blockLogs`) through the
 * read path, shared by all subscribers and filters of the chain. A reorg re-sends the logs of the
 * removed blocks with `removed: true` (from the last REORG_DEPTH blocks' logs kept here), before
 * the new branch's logs. A block whose logs cannot be read yet is retried, never skipped, unless a
 * reorg took it away meanwhile.
 */
import type { ChainRuntime } from '../runtime/chain-runtime.js'
import type { HeadStreamEvent, LogEvent, LogsQuery, StreamHead } from './chain-streams.js'
import { type HeadStream, REORG_DEPTH, streamRead } from './head-stream.js'
import { matchesLogsQuery } from './log-match.js'

/** Waits between tries of a block's logs, ms: doubling from the first to the last. */
const RETRY_FIRST_MS = 250
const RETRY_MAX_MS = 5_000

interface Subscription {
  query: LogsQuery
  listener: (event: LogEvent) => void
}

export class LogFeed {
  readonly #heads: HeadStream
  readonly #runtime: () => ChainRuntime | undefined
  readonly #subscriptions = new Set<Subscription>()
  /** Head stream events not yet turned into logs, in order. */
  #queue: HeadStreamEvent[] = []
  /** Logs of the last delivered blocks, by block hash, oldest first, for `removed: true` on a reorg. */
  #delivered: Array<{ head: StreamHead; logs: Array<Record<string, unknown>> }> = []
  #stopHeads: (() => void) | undefined
  #processing = false
  #generation = 0
  #wake: (() => void) | undefined

  constructor(heads: HeadStream, runtime: () => ChainRuntime | undefined) {
    this.#heads = heads
    this.#runtime = runtime
  }

  get subscribers(): number {
    return this.#subscriptions.size
  }

  subscribe(query: LogsQuery, listener: (event: LogEvent) => void): () => void {
    const subscription: Subscription = { query, listener }
    this.#subscriptions.add(subscription)
    if (this.#subscriptions.size === 1) {
      this.#generation += 1
      this.#stopHeads = this.#heads.subscribe((event) => this.#enqueue(event))
    }
    let done = false
    return () => {
      if (done) return
      done = true
      this.#subscriptions.delete(subscription)
      if (this.#subscriptions.size === 0) this.#stop()
    }
  }

  close(): void {
    this.#subscriptions.clear()
    this.#stop()
  }

  #stop(): void {
    this.#generation += 1
    this.#stopHeads?.()
    this.#stopHeads = undefined
    this.#queue = []
    this.#delivered = []
    this.#wake?.()
  }

  #enqueue(event: HeadStreamEvent): void {
    this.#queue.push(event)
    if (!this.#processing) void this.#process(this.#generation)
  }

  async #process(generation: number): Promise<void> {
    this.#processing = true
    try {
      while (generation === this.#generation && this.#queue.length > 0) {
        const event = this.#queue[0]!
        if (event.kind === 'head') {
          const logs = await this.#logsOf(event.head, generation)
          if (generation !== this.#generation) return
          if (logs !== undefined) {
            this.#delivered.push({ head: event.head, logs })
            if (this.#delivered.length > REORG_DEPTH) this.#delivered.shift()
            for (const log of logs) this.#dispatch(log, false)
          }
        } else {
          const removed = new Set(event.removed.map((head) => head.hash))
          for (const block of this.#delivered) if (removed.has(block.head.hash)) for (const log of block.logs) this.#dispatch(log, true)
          this.#delivered = this.#delivered.filter((block) => !removed.has(block.head.hash))
        }
        this.#queue.shift()
      }
    } finally {
      this.#processing = false
      // Subscribed again while this (older) run was finishing: the new generation's events wait.
      if (generation !== this.#generation && this.#queue.length > 0) void this.#process(this.#generation)
    }
  }

  /** The block's logs, retried until read; undefined when a queued reorg removed the block (or the feed stopped). */
  async #logsOf(head: StreamHead, generation: number): Promise<Array<Record<string, unknown>> | undefined> {
    for (let waitMs = RETRY_FIRST_MS; ; waitMs = Math.min(waitMs * 2, RETRY_MAX_MS)) {
      const runtime = this.#runtime()
      const blockLogs = runtime?.adapter.blockLogs
      if (runtime === undefined || blockLogs === undefined) return undefined
      try {
        return await blockLogs((call) => streamRead(runtime, call), head.hash)
      } catch {
        // Retried below: a gap in a log stream is a missed deposit.
      }
      if (generation !== this.#generation || this.#removedLater(head)) return undefined
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        timer.unref()
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
      if (generation !== this.#generation || this.#removedLater(head)) return undefined
    }
  }

  #removedLater(head: StreamHead): boolean {
    return this.#queue.some((event) => event.kind === 'reorg' && event.removed.some((removed) => removed.hash === head.hash))
  }

  #dispatch(log: Record<string, unknown>, removed: boolean): void {
    for (const subscription of [...this.#subscriptions]) {
      if (!matchesLogsQuery(subscription.query, log)) continue
      try {
        subscription.listener({ log: { ...log, removed }, removed })
      } catch {
        // One subscriber's failure is its own.
      }
    }
  }
}
