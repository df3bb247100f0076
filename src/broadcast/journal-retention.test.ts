import { describe, expect, test } from 'vitest'
import { ManualClock } from '../util/clock.js'
import { type BroadcastRecord, type BroadcastStatus, MemoryJournal } from './broadcast-journal.js'
import { DAY_MS, JournalRetention, pruneCutoff } from './journal-retention.js'

const record = (txid: string, status: BroadcastStatus, updatedAt: number, settled?: boolean): BroadcastRecord => ({
  chain: 'eth',
  txid,
  raw: '0x00',
  status,
  firstSeenAt: updatedAt,
  updatedAt,
  confirmations: 0,
  rebroadcasts: 0,
  outcomes: [],
  ...(settled === undefined ? {} : { settled }),
})

/** A memory journal that reports each prune call (batch limit and how many it deleted). */
class WatchedJournal extends MemoryJournal {
  readonly calls: Array<{ limit: number; deleted: number }> = []
  #waiters: Array<{ calls: number; resolve: () => void }> = []
  failNext: string | undefined

  override async prune(updatedBefore: number, limit: number): Promise<number> {
    if (this.failNext !== undefined) {
      const failure = this.failNext
      this.failNext = undefined
      this.calls.push({ limit, deleted: -1 })
      this.#wake()
      throw new Error(failure)
    }
    const deleted = await super.prune(updatedBefore, limit)
    this.calls.push({ limit, deleted })
    this.#wake()
    return deleted
  }

  /** Resolves once `count` prune calls were made in all. */
  callsReached(count: number): Promise<void> {
    if (this.calls.length >= count) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ calls: count, resolve }))
  }

  #wake(): void {
    for (const waiter of this.#waiters.filter((entry) => this.calls.length >= entry.calls)) waiter.resolve()
    this.#waiters = this.#waiters.filter((entry) => this.calls.length < entry.calls)
  }
}

describe('pruneCutoff', () => {
  test.each([
    [30, 100 * DAY_MS, 70 * DAY_MS],
    [0.5, DAY_MS, DAY_MS / 2],
    [1, 0, -DAY_MS],
  ])('retention %s days at %s → records updated before %s', (days, now, cutoff) => {
    expect(pruneCutoff(now, days)).toBe(cutoff)
  })
})

describe('JournalRetention', () => {
  test('a pass deletes every expired closed record in batches, and nothing open or younger than the retention', async () => {
    const clock = new ManualClock(100 * DAY_MS)
    const journal = new WatchedJournal()
    const old = 60 * DAY_MS
    for (const [index, status] of (['rejected', 'dropped', 'conflicted', 'rejected', 'dropped'] as const).entries()) await journal.insert(record(`old-${index}`, status, old + index))
    await journal.insert(record('old-settled', 'confirmed', old, true))
    await journal.insert(record('old-pending', 'pending', old))
    await journal.insert(record('old-seen', 'seen', old))
    await journal.insert(record('old-confirming', 'confirmed', old))
    await journal.insert(record('young-rejected', 'rejected', 71 * DAY_MS))
    const retention = new JournalRetention(journal, { clock, retentionDays: 30, pruneIntervalMs: 60_000, batchSize: 2 })
    expect(await retention.prune()).toBe(6)
    expect(journal.calls).toEqual([
      { limit: 2, deleted: 2 },
      { limit: 2, deleted: 2 },
      { limit: 2, deleted: 2 },
      { limit: 2, deleted: 0 },
    ])
    expect((await journal.list({})).map((entry) => entry.txid).sort()).toEqual(['old-confirming', 'old-pending', 'old-seen', 'young-rejected'])
    // Time passes: the young one expires too.
    clock.advance(2 * DAY_MS)
    expect(await retention.prune()).toBe(1)
  })

  test('started: a first pass at once, then one every pruneIntervalMs; a failed pass does not stop the next', async () => {
    const clock = new ManualClock(100 * DAY_MS)
    const journal = new WatchedJournal()
    await journal.insert(record('expired', 'rejected', 10 * DAY_MS))
    await journal.insert(record('later', 'dropped', 90 * DAY_MS))
    const retention = new JournalRetention(journal, { clock, retentionDays: 30, pruneIntervalMs: 5 })
    retention.start()
    await journal.callsReached(1)
    expect(journal.calls[0]).toEqual({ limit: 200, deleted: 1 })
    journal.failNext = 'SQLITE_IOERR'
    await journal.callsReached(2)
    expect(journal.calls[1]!.deleted).toBe(-1)
    clock.advance(30 * DAY_MS)
    await journal.callsReached(3)
    await retention.stop()
    expect(journal.calls[2]).toEqual({ limit: 200, deleted: 1 })
    expect(await journal.list({})).toEqual([])
  })
})
