import { describe, expect, test } from 'vitest'
import { FailingJournal } from '../../test/support/failing-journal.js'
import { type JournalHealthEvent, ProxyEvents } from '../proxy-events.js'
import { ManualClock } from '../util/clock.js'
import { type BroadcastJournal, type BroadcastRecord, type JournalHealth, MemoryJournal } from './broadcast-journal.js'
import { DAY_MS } from './journal-retention.js'
import { MonitoredJournal } from './monitored-journal.js'

const record = (txid: string): BroadcastRecord => ({ chain: 'eth', txid, raw: '0x00', status: 'pending', firstSeenAt: 1, updatedAt: 1, confirmations: 0, rebroadcasts: 0, outcomes: [] })

function monitored(store = new FailingJournal(), checkIntervalMs = 60_000) {
  const events = new ProxyEvents()
  const seen: JournalHealthEvent[] = []
  events.on('journal:health', (event) => seen.push(event))
  const journal = new MonitoredJournal(store, { events, clock: new ManualClock(5_000), checkIntervalMs })
  return { store, events, seen, journal }
}

describe('MonitoredJournal', () => {
  test('a failed write makes it unhealthy at once with one event naming the transaction; a check that finds it working recovers it', async () => {
    const { store, seen, journal } = monitored()
    expect(journal.healthy).toBe(true)
    store.failure = 'SQLITE_FULL: database or disk is full'
    await expect(journal.insert(record('0x01'))).rejects.toThrow(/disk is full/)
    expect(journal.healthy).toBe(false)
    expect(seen).toEqual([{ state: 'failed', detail: 'write of eth 0x01 failed: SQLITE_FULL: database or disk is full', chain: 'eth', txid: '0x01', at: 5_000 }])
    // Still failing: no alert storm.
    await expect(journal.update('eth', '0x01', { at: 2 })).rejects.toThrow()
    expect(await journal.health()).toMatchObject({ ok: false })
    expect(seen).toHaveLength(1)
    store.failure = undefined
    expect(await journal.health()).toEqual({ ok: true, detail: 'the journal works again' })
    expect(journal.healthy).toBe(true)
    expect(seen.map((event) => event.state)).toEqual(['failed', 'recovered'])
    expect(await journal.insert(record('0x01'))).toBe(true)
  })

  test('broken and repaired between two checks (a deleted file restored): the pair of events still tells operators', async () => {
    const store = new FailingJournal()
    const repaired: JournalHealth = { ok: true, detail: 'journal file x is gone (ENOENT); restored from the open connection, no record lost', repaired: true }
    store.health = async () => repaired
    const { seen, journal } = monitored(store)
    await journal.health()
    expect(seen.map((event) => [event.state, event.detail])).toEqual([
      ['failed', repaired.detail],
      ['recovered', repaired.detail],
    ])
    expect(journal.healthy).toBe(true)
  })

  test('a store whose check throws is unhealthy, with the reason', async () => {
    const store = new FailingJournal()
    store.health = async () => {
      throw new Error('EIO')
    }
    const { journal } = monitored(store)
    expect(await journal.health()).toEqual({ ok: false, detail: 'health check failed: EIO' })
    expect(journal.healthy).toBe(false)
  })

  test('once started, checks run every checkIntervalMs and find a failure and its end without any write', async () => {
    const { store, events, journal } = monitored(new FailingJournal(), 20)
    const next = (state: JournalHealthEvent['state']) =>
      new Promise<JournalHealthEvent>((resolve) => {
        const listener = (event: JournalHealthEvent): void => {
          if (event.state !== state) return
          events.off('journal:health', listener)
          resolve(event)
        }
        events.on('journal:health', listener)
      })
    journal.start()
    const failed = next('failed')
    store.failure = 'journal file /x is not writable (EACCES)'
    expect(await failed).toMatchObject({ state: 'failed', detail: 'journal file /x is not writable (EACCES)' })
    const recovered = next('recovered')
    store.failure = undefined
    expect(await recovered).toMatchObject({ state: 'recovered' })
    await journal.close()
  })

  test('with a retention: pruneExpired deletes closed records older than retentionDays by the injected clock; a failing prune is a failed write', async () => {
    const store = new FailingJournal()
    const events = new ProxyEvents()
    const seen: JournalHealthEvent[] = []
    events.on('journal:health', (event) => seen.push(event))
    const clock = new ManualClock(1_000)
    const journal = new MonitoredJournal(store, { events, clock, checkIntervalMs: 60_000, retentionDays: 30 })
    await journal.insert({ ...record('0x01'), status: 'rejected', updatedAt: 1_000 })
    await journal.insert({ ...record('0x02'), updatedAt: 1_000 })
    clock.advance(30 * DAY_MS)
    expect(await journal.pruneExpired()).toBe(0)
    clock.advance(1)
    expect(await journal.pruneExpired()).toBe(1)
    expect((await journal.list({})).map((entry) => entry.txid)).toEqual(['0x02'])
    expect(await journal.count('eth', ['pending'])).toBe(1)

    store.prune = async () => {
      throw new Error('SQLITE_FULL: database or disk is full')
    }
    await expect(journal.pruneExpired()).rejects.toThrow(/disk is full/)
    expect(journal.healthy).toBe(false)
    expect(seen).toEqual([{ state: 'failed', detail: 'pruning expired records failed: SQLITE_FULL: database or disk is full', at: clock.now() }])
    expect(await journal.health()).toMatchObject({ ok: true })
    expect(seen.map((event) => event.state)).toEqual(['failed', 'recovered'])
    await journal.close()
  })

  test('without a retention nothing is pruned', async () => {
    const { journal } = monitored()
    await journal.insert({ ...record('0x01'), status: 'rejected' })
    expect(await journal.pruneExpired()).toBe(0)
    expect(await journal.count('eth', ['rejected'])).toBe(1)
  })

  test('claims: this proxy\'s owner id and lease (default 30000 ms); closing releases its claims so another process need not wait', async () => {
    const store = new MemoryJournal()
    await store.insert(record('0x01'))
    const events = new ProxyEvents()
    const journal = new MonitoredJournal(store, { events, clock: new ManualClock(1), checkIntervalMs: 60_000, claimLeaseMs: 9_000 })
    expect(journal.claims).toEqual({ owner: expect.stringMatching(/:\d+:[0-9a-f]{8}$/), leaseMs: 9_000 })
    expect(new MonitoredJournal(new MemoryJournal(), { events, clock: new ManualClock(1), checkIntervalMs: 60_000 }).claims.leaseMs).toBe(30_000)
    const { owner, leaseMs } = journal.claims
    expect((await journal.claimDue('eth', { owner, now: 10, leaseMs, limit: 10 })).map((entry) => entry.txid)).toEqual(['0x01'])
    expect(await store.claimDue('eth', { owner: 'other', now: 11, leaseMs, limit: 10 })).toEqual([])
    await journal.close()
    expect((await store.claimDue('eth', { owner: 'other', now: 12, leaseMs, limit: 10 })).map((entry) => entry.txid)).toEqual(['0x01'])
  })

  test('claims: a store without them serves one process, so every open record is handed out whatever the limit', async () => {
    const memory = new MemoryJournal()
    // A library user's store written before claims existed: the contract without claimDue/releaseClaims.
    const plain: BroadcastJournal = {
      get: (chain, txid) => memory.get(chain, txid),
      insert: (entry) => memory.insert(entry),
      update: (chain, txid, change) => memory.update(chain, txid, change),
      list: (query) => memory.list(query),
      open: (chain) => memory.open(chain),
      count: (chain, statuses, client) => memory.count(chain, statuses, client),
      prune: (before, limit) => memory.prune(before, limit),
      health: () => memory.health(),
      close: () => memory.close(),
    }
    for (const txid of ['0x01', '0x02', '0x03']) await plain.insert(record(txid))
    const journal = new MonitoredJournal(plain, { events: new ProxyEvents(), clock: new ManualClock(1), checkIntervalMs: 60_000 })
    for (const owner of ['a', 'b']) {
      expect((await journal.claimDue('eth', { owner, now: 1, leaseMs: 1, limit: 1 })).map((entry) => entry.txid)).toEqual(['0x01', '0x02', '0x03'])
    }
    expect(await journal.releaseClaims('a')).toBe(0)
    await journal.close()
  })
})
