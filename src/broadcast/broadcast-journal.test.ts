/**
 * The journal contract, run against every store (memory, SQLite alone and shared, PostgreSQL on a
 * real server started for this file): what the broadcaster and the rebroadcaster rely on (create
 * once, appended outcomes, compare-and-set status, claims that two owners never share until a
 * lease ran out) holds for each, and so do the bounds (raw bytes only while open, bounded
 * outcomes, COUNT, pruning of expired closed records). A second handle on the same store stands
 * for another process where the store allows one (shared SQLite, PostgreSQL); the others are used
 * by two owners through one handle.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import {
  type BroadcastJournal,
  type BroadcastRecord,
  type BroadcastStatus,
  type ClaimRequest,
  type NodeOutcome,
  MAX_OUTCOME_MESSAGE_CHARS,
  MemoryJournal,
  applyChange,
  boundOutcomes,
  boundRecord,
} from './broadcast-journal.js'
import { PostgresJournal } from './postgres-journal.js'
import { SqliteJournal } from './sqlite-journal.js'
import { journalRecord } from '../../test/support/journal-record.js'
import { type PostgresServer, startPostgres } from '../../test/support/postgres.js'

const record = journalRecord

const outcome = (nodeId: string, kind: string, at: number): NodeOutcome => ({ nodeId, outcome: kind, at })

type Limits = { outcomeHistory: number }

interface Store {
  /** A journal on a new, empty store. */
  create(limits?: Limits): Promise<BroadcastJournal>
  /** Another process's handle on the same store as `journal`; the same object where the store has no second handle. */
  second(journal: BroadcastJournal): Promise<BroadcastJournal>
}

const opened: BroadcastJournal[] = []
const track = <T extends BroadcastJournal>(journal: T): T => {
  opened.push(journal)
  return journal
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((journal) => journal.close()))
})

/** Started by the first PostgreSQL test; one server for the file, a new database per journal. */
let server: Promise<PostgresServer> | undefined
afterAll(async () => {
  await (await server)?.stop()
})

const sqliteFile = async (): Promise<string> => join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'nested', 'journal.sqlite')
const locations = new WeakMap<BroadcastJournal, string>()
const located = <T extends BroadcastJournal>(journal: T, where: string): T => {
  locations.set(journal, where)
  return track(journal)
}

const stores: Array<[string, Store]> = [
  ['MemoryJournal', { create: async (limits) => track(new MemoryJournal(limits)), second: async (journal) => journal }],
  ['SqliteJournal', { create: async (limits) => track(new SqliteJournal(await sqliteFile(), limits)), second: async (journal) => journal }],
  [
    'SqliteJournal (shared)',
    {
      create: async (limits) => {
        const path = await sqliteFile()
        return located(new SqliteJournal(path, { ...limits, shared: true }), path)
      },
      second: async (journal) => located(new SqliteJournal(locations.get(journal)!, { shared: true }), locations.get(journal)!),
    },
  ],
  [
    'PostgresJournal',
    {
      create: async (limits) => {
        const url = await (await (server ??= startPostgres())).createDatabase()
        return located(new PostgresJournal({ url, ...limits }), url)
      },
      second: async (journal) => located(new PostgresJournal({ url: locations.get(journal)! }), locations.get(journal)!),
    },
  ],
]

describe.each(stores)('%s', (_name, store) => {
  const create = store.create

  test('insert, get, list by chain/status, open records', async () => {
    const journal = await create()
    expect(await journal.insert(record('t1', { firstSeenAt: 1 }))).toBe(true)
    await journal.insert(record('t2', { firstSeenAt: 2, status: 'confirmed', blockHash: 'h', blockHeight: 5, confirmations: 2 }))
    await journal.insert(record('t5', { firstSeenAt: 0, status: 'confirmed', blockHash: 'h', blockHeight: 1, confirmations: 9, settled: true }))
    await journal.insert(record('t3', { firstSeenAt: 3, status: 'rejected' }))
    await journal.insert(record('t4', { firstSeenAt: 4, chain: 'eth', sender: '0xabc', nonce: 7 }))
    expect(await journal.get('btc', 't1')).toEqual(record('t1', { firstSeenAt: 1 }))
    expect(await journal.get('eth', 't1')).toBeUndefined()
    expect((await journal.get('eth', 't4'))?.nonce).toBe(7)
    expect((await journal.list({})).map((entry) => entry.txid)).toEqual(['t4', 't3', 't2', 't1', 't5'])
    expect((await journal.get('btc', 't5'))?.settled).toBe(true)
    expect((await journal.list({ chain: 'btc', limit: 2 })).map((entry) => entry.txid)).toEqual(['t3', 't2'])
    expect((await journal.list({ status: 'rejected' })).map((entry) => entry.txid)).toEqual(['t3'])
    expect((await journal.open('btc')).map((entry) => entry.txid)).toEqual(['t1', 't2'])
    expect(await journal.health()).toEqual({ ok: true, detail: '' })
    await journal.close()
  })

  test('a second insert of the same transaction changes nothing and says so', async () => {
    const journal = await create()
    expect(await journal.insert(record('t1'))).toBe(true)
    expect(await journal.insert(record('t1', { status: 'rejected', outcomes: [] }))).toBe(false)
    expect(await journal.get('btc', 't1')).toEqual(record('t1'))
    await journal.close()
  })

  test('update appends outcomes whatever the status; set applies only while the status is the expected one', async () => {
    const journal = await create()
    await journal.insert(record('t1'))
    // The expected status does not match: outcomes and rebroadcasts still land, the status does not change.
    expect(await journal.update('btc', 't1', { append: [outcome('b', 'rebroadcast: accepted', 5_000)], rebroadcasts: 1, expect: 'seen', set: { status: 'dropped' }, at: 5_000 })).toBe(false)
    expect(await journal.get('btc', 't1')).toMatchObject({ status: 'pending', rebroadcasts: 1, updatedAt: 5_000, outcomes: [record('t1').outcomes[0], outcome('b', 'rebroadcast: accepted', 5_000)] })
    // It matches (one of several): the fields change.
    expect(await journal.update('btc', 't1', { expect: ['pending', 'seen'], set: { status: 'seen', blockHeight: 9, blockHash: 'hh', confirmations: 1, unheldRounds: 2 }, at: 6_000 })).toBe(true)
    expect(await journal.get('btc', 't1')).toMatchObject({ status: 'seen', blockHeight: 9, blockHash: 'hh', confirmations: 1, unheldRounds: 2, updatedAt: 6_000 })
    // null clears an optional field; no `expect`: unconditional; an older `at` never moves updatedAt back.
    expect(await journal.update('btc', 't1', { set: { blockHeight: null, blockHash: null, unheldRounds: 0, settled: true }, at: 7 })).toBe(true)
    const cleared = await journal.get('btc', 't1')
    expect(cleared?.blockHeight).toBeUndefined()
    expect(cleared?.blockHash).toBeUndefined()
    expect(cleared?.unheldRounds ?? 0).toBe(0)
    expect(cleared?.settled).toBe(true)
    expect(cleared?.updatedAt).toBe(6_000)
    // No such record: nothing applies.
    expect(await journal.update('btc', 'nope', { append: [outcome('a', 'x', 1)], set: { status: 'seen' }, at: 8 })).toBe(false)
    expect(await journal.get('btc', 'nope')).toBeUndefined()
    await journal.close()
  })

  test('concurrent writers lose nothing, also on two handles (processes): every appended outcome stays, and of two compare-and-sets from the same status exactly one applies', async () => {
    const journal = await create()
    const other = await store.second(journal)
    await journal.insert(record('t1', { outcomes: [] }))
    const appends = Array.from({ length: 40 }, (_, index) =>
      (index % 2 === 0 ? journal : other).update('btc', 't1', { append: [outcome(`n${index % 4}`, `entry-${index}`, index)], rebroadcasts: 1, at: index }),
    )
    // The broadcaster's write in one process, a rebroadcast round's in another.
    const rivals = [
      journal.update('btc', 't1', { expect: 'pending', set: { status: 'seen' }, at: 100 }),
      other.update('btc', 't1', { expect: 'pending', set: { status: 'dropped' }, at: 100 }),
    ]
    const [applied] = await Promise.all([Promise.all(rivals), Promise.all(appends)])
    expect(applied.filter(Boolean)).toHaveLength(1)
    const final = (await journal.get('btc', 't1'))!
    expect(final.status).toBe(applied[0] ? 'seen' : 'dropped')
    expect(final.outcomes.map((entry) => entry.outcome).sort()).toEqual(Array.from({ length: 40 }, (_, index) => `entry-${index}`).sort())
    expect(final.rebroadcasts).toBe(40)
    await journal.close()
  })

  test('count: a COUNT by chain and statuses, optionally of one client (null: the anonymous one)', async () => {
    const journal = await create()
    await journal.insert(record('a1', { client: 'alice' }))
    await journal.insert(record('a2', { client: 'alice', status: 'seen' }))
    await journal.insert(record('a3', { client: 'alice', status: 'rejected' }))
    await journal.insert(record('b1', { client: 'bob' }))
    await journal.insert(record('n1'))
    await journal.insert(record('e1', { chain: 'eth', client: 'alice' }))
    const unconfirmed: BroadcastStatus[] = ['pending', 'seen']
    expect(await journal.count('btc', unconfirmed)).toBe(4)
    expect(await journal.count('btc', unconfirmed, 'alice')).toBe(2)
    expect(await journal.count('btc', unconfirmed, 'bob')).toBe(1)
    expect(await journal.count('btc', unconfirmed, null)).toBe(1)
    expect(await journal.count('btc', ['rejected'], 'alice')).toBe(1)
    expect(await journal.count('eth', unconfirmed, 'alice')).toBe(1)
    expect(await journal.count('btc', [])).toBe(0)
    expect((await journal.get('btc', 'a1'))?.client).toBe('alice')
    expect((await journal.get('btc', 'n1'))?.client).toBeUndefined()
    await journal.close()
  })

  test('prune deletes closed records last updated before the cutoff, oldest first, up to the limit; open ones never, however old', async () => {
    const journal = await create()
    const old = { firstSeenAt: 1, updatedAt: 100 }
    await journal.insert(record('pending', old))
    await journal.insert(record('seen', { ...old, status: 'seen' }))
    await journal.insert(record('confirmed-watched', { ...old, status: 'confirmed', confirmations: 3 }))
    await journal.insert(record('settled', { ...old, status: 'confirmed', confirmations: 9, settled: true, updatedAt: 300 }))
    await journal.insert(record('rejected', { ...old, status: 'rejected', updatedAt: 200 }))
    await journal.insert(record('dropped', { ...old, status: 'dropped', updatedAt: 400 }))
    await journal.insert(record('conflicted', { ...old, status: 'conflicted', updatedAt: 500 }))
    await journal.insert(record('rejected-recent', { ...old, status: 'rejected', updatedAt: 5_000 }))
    const left = async () => (await journal.list({})).map((entry) => entry.txid).sort()
    // Oldest first, two at a time.
    expect(await journal.prune(1_000, 2)).toBe(2)
    expect(await left()).not.toContain('rejected')
    expect(await left()).not.toContain('settled')
    expect(await journal.prune(1_000, 100)).toBe(2)
    expect(await journal.prune(1_000, 100)).toBe(0)
    expect(await left()).toEqual(['confirmed-watched', 'pending', 'rejected-recent', 'seen'])
    // An update moves the cutoff: a rejected record a client sent again is kept as long as a new one.
    await journal.update('btc', 'rejected-recent', { append: [outcome('a', 'invalid', 9_000)], at: 9_000 })
    expect(await journal.prune(6_000, 100)).toBe(0)
    expect(await journal.prune(10_000, 100)).toBe(1)
    expect(await left()).toEqual(['confirmed-watched', 'pending', 'seen'])
    await journal.close()
  })

  test('raw bytes are kept only while a record is open: never for a rejected one, dropped when it closes, back when it is broadcast anew', async () => {
    const journal = await create()
    await journal.insert(record('junk', { status: 'rejected' }))
    expect((await journal.get('btc', 'junk'))?.raw).toBeUndefined()
    await journal.insert(record('t1'))
    expect((await journal.get('btc', 't1'))?.raw).toBe('raw-t1')
    await journal.update('btc', 't1', { expect: 'pending', set: { status: 'dropped' }, at: 2_000 })
    expect((await journal.get('btc', 't1'))?.raw).toBeUndefined()
    // A client sends it again and nodes take it: open again, with its bytes and its new sender.
    expect(await journal.update('btc', 't1', { expect: 'dropped', set: { status: 'pending', raw: 'raw-t1', client: 'bob' }, at: 3_000 })).toBe(true)
    expect(await journal.get('btc', 't1')).toMatchObject({ status: 'pending', raw: 'raw-t1', client: 'bob' })
    // Confirmed keeps them while watched for reorgs; settled drops them.
    await journal.update('btc', 't1', { set: { status: 'confirmed', confirmations: 2 }, at: 4_000 })
    expect((await journal.get('btc', 't1'))?.raw).toBe('raw-t1')
    await journal.update('btc', 't1', { set: { settled: true }, at: 5_000 })
    expect(await journal.get('btc', 't1')).toMatchObject({ status: 'confirmed', settled: true, client: 'bob' })
    expect((await journal.get('btc', 't1'))?.raw).toBeUndefined()
    await journal.close()
  })

  test('a record updated every round keeps each node\'s first and latest outcome plus the last outcomeHistory entries', async () => {
    const journal = await create({ outcomeHistory: 6 })
    await journal.insert(record('stuck', { outcomes: [outcome('a', 'accepted', 0), outcome('b', 'accepted', 0), outcome('c', 'invalid', 0)] }))
    for (let round = 1; round <= 200; round++) {
      await journal.update('btc', 'stuck', { append: [outcome('b', 'rebroadcast: accepted', round), outcome('c', 'rebroadcast: invalid', round)], rebroadcasts: 1, at: round })
    }
    const stuck = (await journal.get('btc', 'stuck'))!
    expect(stuck.rebroadcasts).toBe(200)
    expect(stuck.outcomes.map((entry) => [entry.nodeId, entry.outcome, entry.at])).toEqual([
      ['a', 'accepted', 0],
      ['b', 'accepted', 0],
      ['c', 'invalid', 0],
      ['b', 'rebroadcast: accepted', 198],
      ['c', 'rebroadcast: invalid', 198],
      ['b', 'rebroadcast: accepted', 199],
      ['c', 'rebroadcast: invalid', 199],
      ['b', 'rebroadcast: accepted', 200],
      ['c', 'rebroadcast: invalid', 200],
    ])
    await journal.close()
  })

  test('large numbers (heights, nonces, times) come back as they went in', async () => {
    const journal = await create()
    const big = record('big', { blockHeight: 3_000_000_000, blockHash: 'h', nonce: 2 ** 40, firstSeenAt: 1_750_000_000_000, updatedAt: 1_750_000_000_001, confirmations: 2 ** 33 })
    await journal.insert(big)
    expect(await journal.get('btc', 'big')).toEqual(big)
  })

  const claim = (owner: string, now: number, extra: Partial<ClaimRequest> = {}): ClaimRequest => ({ owner, now, leaseMs: 1_000, limit: 100, ...extra })
  const txids = (records: BroadcastRecord[]): string[] => records.map((entry) => entry.txid)

  test('claims: an owner gets the open records due and keeps them while it renews; another owner gets them only once the lease ran out', async () => {
    const a = await create()
    const b = await store.second(a)
    await a.insert(record('t1', { firstSeenAt: 1 }))
    await a.insert(record('t2', { firstSeenAt: 2, status: 'seen' }))
    await a.insert(record('t3', { firstSeenAt: 3, status: 'confirmed', blockHash: 'h', blockHeight: 5, confirmations: 1 }))
    await a.insert(record('settled', { firstSeenAt: 4, status: 'confirmed', confirmations: 9, settled: true }))
    await a.insert(record('rejected', { firstSeenAt: 5, status: 'rejected' }))
    await a.insert(record('e1', { chain: 'eth', firstSeenAt: 6 }))
    expect(txids(await a.claimDue!('btc', claim('a', 10_000)))).toEqual(['t1', 't2', 't3'])
    expect(await b.claimDue!('btc', claim('b', 10_500))).toEqual([])
    // The owner renews (until 11_600); the other still gets nothing once the first lease would have run out.
    expect(txids(await a.claimDue!('btc', claim('a', 10_600)))).toEqual(['t1', 't2', 't3'])
    expect(await b.claimDue!('btc', claim('b', 11_000))).toEqual([])
    // The owner stopped renewing (it died): at the lease's end the records are the other's.
    const taken = await b.claimDue!('btc', claim('b', 11_600))
    expect(txids(taken)).toEqual(['t1', 't2', 't3'])
    expect(await a.claimDue!('btc', claim('a', 12_000))).toEqual([])
    // Claims change nothing in the records, and updates leave claims alone.
    expect(taken[0]).toEqual(record('t1', { firstSeenAt: 1 }))
    expect(await a.update('btc', 't1', { append: [outcome('x', 'rebroadcast: accepted', 12_100)], expect: 'pending', set: { status: 'seen' }, at: 12_100 })).toBe(true)
    expect(await a.claimDue!('btc', claim('a', 12_200))).toEqual([])
    // Another chain's records are claimed on their own; a record that closed is never handed out again.
    expect(txids(await a.claimDue!('eth', claim('a', 12_200)))).toEqual(['e1'])
    await b.update('btc', 't3', { set: { settled: true }, at: 12_300 })
    expect(txids(await b.claimDue!('btc', claim('b', 12_400)))).toEqual(['t1', 't2'])
  })

  test('claims: a bounded claim takes the least recently claimed first, so it rotates through every record', async () => {
    const journal = await create()
    for (let index = 0; index < 5; index++) await journal.insert(record(`r${index}`, { firstSeenAt: index }))
    const bounded = (now: number) => journal.claimDue!('btc', claim('a', now, { limit: 2 }))
    expect(txids(await bounded(1))).toEqual(['r0', 'r1'])
    expect(txids(await bounded(2))).toEqual(['r2', 'r3'])
    expect(txids(await bounded(3))).toEqual(['r0', 'r4'])
    expect(txids(await bounded(4))).toEqual(['r1', 'r2'])
    expect(await journal.claimDue!('btc', claim('a', 5, { limit: 0 }))).toEqual([])
  })

  test('claims: releasing ends an owner\'s leases at once (a clean shutdown), only its own', async () => {
    const a = await create()
    const b = await store.second(a)
    await a.insert(record('t1', { firstSeenAt: 1 }))
    await a.insert(record('t2', { firstSeenAt: 2 }))
    expect(txids(await a.claimDue!('btc', claim('a', 1_000, { limit: 1 })))).toEqual(['t1'])
    expect(txids(await b.claimDue!('btc', claim('b', 1_000)))).toEqual(['t2'])
    expect(await a.releaseClaims!('a')).toBe(1)
    expect(txids(await b.claimDue!('btc', claim('b', 1_001)))).toEqual(['t1', 't2'])
    expect(await a.claimDue!('btc', claim('a', 1_002))).toEqual([])
    expect(await a.releaseClaims!('nobody')).toBe(0)
  })

  test('claims: concurrent claimers on separate handles get disjoint records, and together every one', async () => {
    const first = await create()
    const handles = [first, ...(await Promise.all([1, 2, 3, 4, 5].map(() => store.second(first))))]
    const all = Array.from({ length: 150 }, (_, index) => `c${String(index).padStart(3, '0')}`)
    await Promise.all(all.map((txid) => first.insert(record(txid, { firstSeenAt: 1 }))))
    const holder = new Map<string, string>()
    // Many small claims at once: every round is a race for the same unclaimed rows.
    for (let round = 0; round < 20 && holder.size < all.length; round++) {
      const claims = await Promise.all(handles.map((journal, index) => journal.claimDue!('btc', claim(`owner-${index}`, 5_000, { leaseMs: 60_000, limit: 3 }))))
      claims.forEach((records, index) => {
        for (const { txid } of records) {
          // A record an owner already holds comes back to it (a renewal); never to another owner.
          const previous = holder.get(txid)
          expect(previous === undefined || previous === `owner-${index}`, `${txid} claimed by owner-${index} while ${previous} holds it`).toBe(true)
          holder.set(txid, `owner-${index}`)
        }
      })
    }
    expect([...holder.keys()].sort()).toEqual(all)
  })
})

describe('record bounds (pure)', () => {
  const o = (nodeId: string, at: number, message?: string): NodeOutcome => ({ nodeId, outcome: 'x', at, ...(message === undefined ? {} : { message }) })
  test.each<[string, NodeOutcome[], number, number[]]>([
    ['within the history: all kept', [o('a', 1), o('a', 2), o('b', 3)], 3, [1, 2, 3]],
    ['over it: the last N, plus each node\'s first and latest', [o('a', 1), o('b', 2), o('a', 3), o('a', 4), o('a', 5), o('a', 6)], 2, [1, 2, 5, 6]],
    ['a node heard from once long ago keeps that one entry', [o('z', 1), o('a', 2), o('a', 3), o('a', 4), o('a', 5)], 1, [1, 2, 5]],
    ['history 1 with two alternating nodes: firsts and latests', [o('a', 1), o('b', 2), o('a', 3), o('b', 4), o('a', 5), o('b', 6)], 1, [1, 2, 5, 6]],
  ])('%s', (_case, outcomes, history, kept) => {
    expect(boundOutcomes(outcomes, history).map((entry) => entry.at)).toEqual(kept)
  })

  test('a node message longer than the bound is cut', () => {
    const [entry] = boundOutcomes([o('a', 1, 'x'.repeat(100_000))], 10)
    expect(entry!.message).toHaveLength(MAX_OUTCOME_MESSAGE_CHARS + 1)
    expect(entry!.message!.endsWith('…')).toBe(true)
  })

  test.each<[BroadcastStatus, boolean | undefined, boolean]>([
    ['pending', undefined, true],
    ['seen', undefined, true],
    ['confirmed', undefined, true],
    ['confirmed', true, false],
    ['rejected', undefined, false],
    ['dropped', undefined, false],
    ['conflicted', undefined, false],
  ])('raw of a %s record (settled %s) kept: %s', (status, settled, kept) => {
    expect(boundRecord(record('t', { status, ...(settled === undefined ? {} : { settled }) })).raw !== undefined).toBe(kept)
  })
})

describe('applyChange', () => {
  test('never moves updatedAt backwards and never touches what it was not asked to', () => {
    const base = record('t1', { updatedAt: 50, blockHeight: 3, blockHash: 'h' })
    const { record: next, applied } = applyChange(base, { set: { confirmations: 2 }, at: 10 })
    expect(applied).toBe(true)
    expect(next).toEqual({ ...base, confirmations: 2 })
    expect(base.confirmations).toBe(0)
  })
})
