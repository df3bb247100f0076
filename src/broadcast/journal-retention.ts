/**
 * How long the journal keeps a broadcast once nothing more will happen to it. Open records (pending,
 * seen, confirmed but still inside its reorg window) are never deleted: the rebroadcaster needs them.
 * Every closed status shares one rule — deleted `journal.retentionDays` after the record's last
 * update — because each is equally final for switchyard and equally useful to an operator looking
 * back at it:
 *
 * | status | when deleted |
 * |---|---|
 * | pending, seen, confirmed inside 2 × confirmations | never (watched) |
 * | confirmed and settled | `retentionDays` after it settled (its last update) |
 * | rejected, dropped, conflicted | `retentionDays` after its last update (a client's repeat updates it) |
 *
 * Counting from the last update, not from the first send, means a record a client broadcast again
 * yesterday is kept as long as a new one. Deletion runs on a timer, off the request path, in
 * batches with a turn of the event loop between them, so a large backlog never stalls requests.
 */
import type { Clock } from '../util/clock.js'
import type { BroadcastJournal } from './broadcast-journal.js'

export const DAY_MS = 86_400_000
/** Records deleted per batch: one short SQLite transaction, then requests get the event loop back. */
export const PRUNE_BATCH = 200

/** Records last updated before this instant (ms since epoch) are expired. Pure. */
export function pruneCutoff(nowMs: number, retentionDays: number): number {
  return nowMs - retentionDays * DAY_MS
}

export interface JournalRetentionOptions {
  clock: Clock
  /** Days a closed record is kept after its last update. */
  retentionDays: number
  /** Time between two prune passes, ms (the first pass runs right after start). */
  pruneIntervalMs: number
  /** Records per batch; default PRUNE_BATCH. */
  batchSize?: number | undefined
}

export class JournalRetention {
  readonly #journal: Pick<BroadcastJournal, 'prune'>
  readonly #options: JournalRetentionOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<number> | undefined
  #stopped = true
  #closed = false

  constructor(journal: Pick<BroadcastJournal, 'prune'>, options: JournalRetentionOptions) {
    this.#journal = journal
    this.#options = options
  }

  /**
   * Deletes every record expired now, a batch at a time; resolves with how many. A call while a pass
   * runs joins it. Throws what the journal threw (the pass stops there; the next one resumes).
   */
  prune(): Promise<number> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  /** First pass at once (a restarted process must not wait a whole interval), then every `pruneIntervalMs`. */
  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#closed = false
    this.#schedule(0)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running?.catch(() => undefined)
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.prune()
        .catch(() => undefined)
        .finally(() => this.#schedule(this.#options.pruneIntervalMs))
    }, delayMs)
    this.#timer.unref()
  }

  async #pass(): Promise<number> {
    const cutoff = pruneCutoff(this.#options.clock.now(), this.#options.retentionDays)
    const batch = this.#options.batchSize ?? PRUNE_BATCH
    let total = 0
    for (;;) {
      const deleted = await this.#journal.prune(cutoff, batch)
      total += deleted
      // Stopped (the journal is closing): the rest waits for the next process's first pass.
      if (deleted < batch || this.#closed) return total
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}
