import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { type BroadcastJournal, type BroadcastRecord, MemoryJournal } from './broadcast-journal.js'
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
  outcomes: [{ nodeId: 'a', outcome: 'accepted', at: 1_000 }],
  ...extra,
})

describe.each<[string, () => Promise<BroadcastJournal>]>([
  ['SqliteJournal', async () => new SqliteJournal(join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'nested', 'journal.sqlite'))],
  ['MemoryJournal', async () => new MemoryJournal()],
])('%s', (_name, create) => {
  test('save, get, update, list by chain/status, open records', async () => {
    const journal = await create()
    await journal.save(record('t1', { firstSeenAt: 1 }))
    await journal.save(record('t2', { firstSeenAt: 2, status: 'confirmed', blockHash: 'h', blockHeight: 5, confirmations: 2 }))
    await journal.save(record('t5', { firstSeenAt: 0, status: 'confirmed', blockHash: 'h', blockHeight: 1, confirmations: 9, settled: true }))
    await journal.save(record('t3', { firstSeenAt: 3, status: 'rejected' }))
    await journal.save(record('t4', { firstSeenAt: 4, chain: 'eth', sender: '0xabc', nonce: 7 }))
    expect(await journal.get('btc', 't1')).toEqual(record('t1', { firstSeenAt: 1 }))
    expect(await journal.get('eth', 't1')).toBeUndefined()
    expect((await journal.get('eth', 't4'))?.nonce).toBe(7)
    await journal.save({ ...record('t1', { firstSeenAt: 1 }), status: 'seen', updatedAt: 9, outcomes: [{ nodeId: 'b', outcome: 'seen', at: 9 }] })
    expect(await journal.get('btc', 't1')).toMatchObject({ status: 'seen', updatedAt: 9, outcomes: [{ nodeId: 'b', outcome: 'seen', at: 9 }] })
    expect((await journal.list({})).map((entry) => entry.txid)).toEqual(['t4', 't3', 't2', 't1', 't5'])
    expect((await journal.get('btc', 't5'))?.settled).toBe(true)
    expect((await journal.list({ chain: 'btc', limit: 2 })).map((entry) => entry.txid)).toEqual(['t3', 't2'])
    expect((await journal.list({ status: 'rejected' })).map((entry) => entry.txid)).toEqual(['t3'])
    expect((await journal.open('btc')).map((entry) => entry.txid)).toEqual(['t1', 't2'])
    await journal.close()
  })
})

test('SqliteJournal survives reopening the same file', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'journal.sqlite')
  const first = new SqliteJournal(path)
  await first.save(record('persisted'))
  await first.close()
  const second = new SqliteJournal(path)
  expect(await second.get('btc', 'persisted')).toEqual(record('persisted'))
  await second.close()
})
