/**
 * The journal contract, run against both stores: what the broadcaster and the rebroadcaster rely
 * on (create once, appended outcomes, compare-and-set status) holds for each, and so do the bounds
 * (raw bytes only while open, bounded outcomes, COUNT, pruning of expired closed records).
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import {
  type BroadcastJournal,
  type BroadcastStatus,
  type NodeOutcome,
  MAX_OUTCOME_MESSAGE_CHARS,
  MemoryJournal,
  applyChange,
  boundOutcomes,
  boundRecord,
} from './broadcast-journal.js'
import { SqliteJournal } from './sqlite-journal.js'
import { journalRecord } from '../../test/support/journal-record.js'

const record = journalRecord

const outcome = (nodeId: string, kind: string, at: number): NodeOutcome => ({ nodeId, outcome: kind, at })

describe.each<[string, (limits?: { outcomeHistory: number }) => Promise<BroadcastJournal>]>([
  ['SqliteJournal', async (limits) => new SqliteJournal(join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'nested', 'journal.sqlite'), limits)],
  ['MemoryJournal', async (limits) => new MemoryJournal(limits)],
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
