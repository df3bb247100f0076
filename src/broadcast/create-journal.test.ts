/**
 * The store a config builds: SQLite alone (exclusive, as before) unless several processes may open
 * it (`server.workers` ≠ 1: shared mode), PostgreSQL for `journal.store: postgres`; and the config
 * rules around them (a URL required, never echoed, defaults with units).
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { ConfigError, parseConfig } from '../../test/support/parse-test-config.js'
import { createProxy } from '../index.js'
import type { Proxy } from '../proxy.js'
import type { BroadcastJournal } from './broadcast-journal.js'
import { createJournal } from './create-journal.js'
import { PostgresJournal } from './postgres-journal.js'
import { SqliteJournal } from './sqlite-journal.js'
import { journalRecord } from '../../test/support/journal-record.js'

const chains = { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:9/' }] } }
const opened: Array<BroadcastJournal | Proxy> = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((item) => item.close()))
})

const journalFile = async (): Promise<string> => join(await mkdtemp(join(tmpdir(), 'switchyard-create-journal-')), 'journal.sqlite')

test('defaults: SQLite, no PostgreSQL section, claims leased for 30000 ms', () => {
  const { journal } = parseConfig({ chains })
  expect(journal).toMatchObject({ store: 'sqlite', claimLeaseMs: 30_000, path: '.switchyard/journal.sqlite' })
  expect(journal.postgres).toBeUndefined()
  const postgres = parseConfig({ chains, journal: { store: 'postgres', postgres: { url: 'postgres://u:p@db:5432/j' } } }).journal.postgres
  expect(postgres).toEqual({ url: 'postgres://u:p@db:5432/j', poolSize: 4 })
})

test('store: postgres needs a postgres:// URL, and a refused one is never echoed', () => {
  expect(() => parseConfig({ chains, journal: { store: 'postgres' } })).toThrow(/journal\.postgres\.url: required when journal\.store is postgres/)
  let refused: unknown
  try {
    parseConfig({ chains, journal: { store: 'postgres', postgres: { url: 'mysql://admin:hunter2-secret@db/j' } } })
  } catch (error) {
    refused = error
  }
  expect(refused).toBeInstanceOf(ConfigError)
  expect((refused as Error).message).toMatch(/journal\.postgres\.url: must be a postgres:\/\/ or postgresql:\/\/ URL/)
  expect((refused as Error).message).not.toContain('hunter2')
})

test('alone: the SQLite file is opened exclusively, exactly as before (a second opener is refused)', async () => {
  const path = await journalFile()
  const journal = createJournal(parseConfig({ chains, journal: { path } }).journal, { shared: false })
  opened.push(journal)
  expect(journal).toBeInstanceOf(SqliteJournal)
  expect((journal as SqliteJournal).shared).toBe(false)
  await journal.insert(journalRecord('t1'))
  expect(() => new SqliteJournal(path, { shared: true, busyTimeoutMs: 50 })).toThrow(/locked/)
})

test('shared: several processes may open the file; an in-memory journal cannot be shared and says so', async () => {
  const path = await journalFile()
  const config = parseConfig({ chains, journal: { path } }).journal
  const first = createJournal(config, { shared: true })
  const second = createJournal(config, { shared: true })
  opened.push(first, second)
  await first.insert(journalRecord('t1'))
  expect(await second.get('btc', 't1')).toEqual(journalRecord('t1'))
  expect(() => createJournal(parseConfig({ chains, journal: { path: ':memory:' } }).journal, { shared: true })).toThrow(/':memory:' cannot be shared/)
})

test('store: postgres builds a PostgreSQL journal (connecting lazily), always shared', async () => {
  const journal = createJournal(parseConfig({ chains, journal: { store: 'postgres', postgres: { url: 'postgres://u:p@127.0.0.1:9/j', poolSize: 2 } } }).journal, { shared: false })
  opened.push(journal)
  expect(journal).toBeInstanceOf(PostgresJournal)
})

test('the proxy opens its journal shared when server.workers is not 1, and claims for journal.claimLeaseMs under its own owner id', async () => {
  const path = await journalFile()
  const proxy = createProxy({ chains, log: { level: 'silent' }, server: { workers: 2 }, journal: { path, claimLeaseMs: 1_234 } })
  opened.push(proxy)
  // Another worker on the same file.
  const sibling = new SqliteJournal(path, { shared: true })
  opened.push(sibling)
  await sibling.insert(journalRecord('t1'))
  expect(await proxy.journal.get('btc', 't1')).toBeDefined()
  expect(proxy.journal.claims).toEqual({ owner: expect.stringMatching(new RegExp(`:${process.pid}:[0-9a-f]{8}$`)), leaseMs: 1_234 })
  const other = createProxy({ chains, log: { level: 'silent' }, journal: { path: ':memory:' } })
  opened.push(other)
  expect(other.journal.claims?.owner).not.toBe(proxy.journal.claims?.owner)
})
