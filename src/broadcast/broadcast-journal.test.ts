/**
 * The journal contract, run against both stores: what the broadcaster and the rebroadcaster rely
 * on (create once, append-only outcomes, compare-and-set status) holds for each.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { type BroadcastJournal, type BroadcastRecord, type NodeOutcome, MemoryJournal, applyChange } from './broadcast-journal.js'
import { SqliteJournal } from './sqlite-journal.js'

const record = (txid: string, extra: Partial<BroadcastRecord> = {}): BroadcastRecord => ({
  chain: 'btc',
  txid,
  raw: `raw-${txid}`,
  status: 'pending',
  firstSeenAt: 1_000,
  updatedAt: 1_000,
  confirmations: 0,
  rebroadcasts: 0,
  outcomes: [{ nodeId: 'a', outcome: 'accepted', lookup: 'mempool', at: 1_000 }],
  ...extra,
})

const outcome = (nodeId: string, kind: string, at: number): NodeOutcome => ({ nodeId, outcome: kind, at })

describe.each<[string, () => Promise<BroadcastJournal>]>([
  ['SqliteJournal', async () => new SqliteJournal(join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'nested', 'journal.sqlite'))],
  ['MemoryJournal', async () => new MemoryJournal()],
])('%s', (_name, create) => {
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

  test('concurrent writers lose nothing: every appended outcome stays, and of two compare-and-sets from the same status exactly one applies', async () => {
    const journal = await create()
    await journal.insert(record('t1', { outcomes: [] }))
    const appends = Array.from({ length: 40 }, (_, index) => journal.update('btc', 't1', { append: [outcome(`n${index % 4}`, `entry-${index}`, index)], rebroadcasts: 1, at: index }))
    const rivals = [
      journal.update('btc', 't1', { expect: 'pending', set: { status: 'seen' }, at: 100 }),
      journal.update('btc', 't1', { expect: 'pending', set: { status: 'dropped' }, at: 100 }),
    ]
    const [applied] = await Promise.all([Promise.all(rivals), Promise.all(appends)])
    expect(applied.filter(Boolean)).toHaveLength(1)
    const final = (await journal.get('btc', 't1'))!
    expect(final.status).toBe(applied[0] ? 'seen' : 'dropped')
    expect(final.outcomes.map((entry) => entry.outcome).sort()).toEqual(Array.from({ length: 40 }, (_, index) => `entry-${index}`).sort())
    expect(final.rebroadcasts).toBe(40)
    await journal.close()
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
