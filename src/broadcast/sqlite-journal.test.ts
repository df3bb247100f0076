/**
 * What only the SQLite store has to get right: durability across reopen, old files, one owner, no
 * -shm mmap (SIGBUS), files that vanish or stop being writable while the process runs, and disk
 * space given back after pruning.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, expect, test } from 'vitest'
import type { BroadcastRecord } from './broadcast-journal.js'
import { JournalWriteError, SqliteJournal } from './sqlite-journal.js'
import { recordFigure } from '../../test/support/figures.js'
import { skipImmutableFileTests } from '../../test/support/immutable-files.js'
import { journalRecord } from '../../test/support/journal-record.js'

const record = journalRecord

const opened: SqliteJournal[] = []
const immutable: string[] = []
afterEach(async () => {
  for (const path of immutable.splice(0)) execFileSync('chattr', ['-i', path])
  await Promise.all(opened.splice(0).map((journal) => journal.close()))
})

async function journalAt(): Promise<{ dir: string; path: string; journal: SqliteJournal }> {
  const dir = join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'journal')
  const path = join(dir, 'journal.sqlite')
  const journal = new SqliteJournal(path)
  opened.push(journal)
  return { dir, path, journal }
}

test('survives reopening the same file', async () => {
  const { path, journal } = await journalAt()
  await journal.insert(record('persisted'))
  await journal.close()
  const second = new SqliteJournal(path)
  opened.push(second)
  expect(await second.get('btc', 'persisted')).toEqual(record('persisted'))
})

test('group commit: writes asked for in one turn share one commit, and each caller hears its own outcome after it', async () => {
  const { journal } = await journalAt()
  const before = journal.groupCommits
  const inserted = await Promise.all(Array.from({ length: 20 }, (_, index) => journal.insert(record(`burst-${index}`))))
  expect(inserted).toEqual(Array(20).fill(true))
  expect(journal.groupCommits).toEqual({ commits: before.commits + 1, writes: before.writes + 20, largest: 20 })
  // Updates after inserts in the same turn see them (order kept inside the commit).
  const [again, updated] = await Promise.all([journal.insert(record('burst-0')), journal.update('btc', 'burst-1', { set: { status: 'confirmed' }, at: 5 })])
  expect(again).toBe(false)
  expect(updated).toBe(true)
  expect((await journal.get('btc', 'burst-1'))?.status).toBe('confirmed')
  recordFigure('journal.groupCommit.writesPerCommit', 20)
})

test('group commit: one write that fails does not fail the others in its turn', async () => {
  const { journal } = await journalAt()
  const broken = { ...record('broken'), outcomes: [{ nodeId: 'a', verdict: 'accepted', at: 1, detail: 10n }] } as unknown as BroadcastRecord
  const outcomes = await Promise.allSettled([journal.insert(record('good-1')), journal.insert(broken), journal.insert(record('good-2'))])
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
  expect(await journal.get('btc', 'good-1')).toEqual(record('good-1'))
  expect(await journal.get('btc', 'good-2')).toEqual(record('good-2'))
  expect(await journal.get('btc', 'broken')).toBeUndefined()
})

test('group commit: close commits the writes of its turn before the file closes', async () => {
  const { path, journal } = await journalAt()
  const pending = journal.insert(record('last-moment'))
  await journal.close()
  expect(await pending).toBe(true)
  const second = new SqliteJournal(path)
  opened.push(second)
  expect(await second.get('btc', 'last-moment')).toEqual(record('last-moment'))
})

/** The journal's bytes on disk: the file and its WAL. */
const onDisk = (path: string): number => statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0)

/** Reads a pragma of a closed journal file. */
function pragmaOf(path: string, name: string): unknown {
  const db = new Database(path, { readonly: true })
  try {
    return db.pragma(name, { simple: true })
  } finally {
    db.close()
  }
}

test('a pruned file shrinks: new files use incremental auto-vacuum, and prune gives the freed pages back', async () => {
  const { path, journal } = await journalAt()
  const big = (txid: string): BroadcastRecord => record(txid, { raw: 'ab'.repeat(50_000), updatedAt: 10 })
  for (let index = 0; index < 200; index++) await journal.insert(big(`t${index}`))
  // Settling drops the bytes (closed records keep none): the space is free in the file, not yet given back.
  for (let index = 0; index < 200; index++) await journal.update('btc', `t${index}`, { set: { status: 'confirmed', settled: true }, at: 10 })
  await journal.insert(record('open-one'))
  const before = onDisk(path)
  expect(await journal.prune(1_000, 1_000)).toBe(200)
  const after = onDisk(path)
  recordFigure('journal.prune.bytesBefore', before)
  recordFigure('journal.prune.bytesAfter', after)
  // 200 × 100 kB were written; what is left is the one open record and the schema.
  expect(before).toBeGreaterThan(10_000_000)
  expect(after).toBeLessThan(200_000)
  expect((await journal.list({})).map((entry) => entry.txid)).toEqual(['open-one'])
  await journal.close()
  expect(pragmaOf(path, 'auto_vacuum')).toBe(2)
  expect(pragmaOf(path, 'user_version')).toBe(1)
})

test('a file written before retention: closed records lose their raw bytes, one VACUUM switches on incremental auto-vacuum, open records keep theirs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-journal-'))
  const path = join(dir, 'old.sqlite')
  const old = new Database(path)
  old.pragma('journal_mode = WAL')
  old.exec(`CREATE TABLE broadcasts (chain TEXT NOT NULL, txid TEXT NOT NULL, raw TEXT NOT NULL, status TEXT NOT NULL, first_seen_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, block_height INTEGER, block_hash TEXT, confirmations INTEGER NOT NULL DEFAULT 0, rebroadcasts INTEGER NOT NULL DEFAULT 0,
    sender TEXT, nonce INTEGER, settled INTEGER NOT NULL DEFAULT 0, outcomes TEXT NOT NULL DEFAULT '[]', unheld_rounds INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (chain, txid))`)
  const insert = old.prepare(`INSERT INTO broadcasts (chain, txid, raw, status, first_seen_at, updated_at) VALUES ('eth', ?, ?, ?, 1, 1)`)
  old.transaction(() => {
    for (let index = 0; index < 100; index++) insert.run(`junk-${index}`, `0x${'ab'.repeat(100_000)}`, 'rejected')
    insert.run('open', '0x02', 'pending')
  })()
  old.close()
  const before = onDisk(path)
  const journal = new SqliteJournal(path)
  opened.push(journal)
  const after = onDisk(path)
  recordFigure('journal.migration.bytesBefore', before)
  recordFigure('journal.migration.bytesAfter', after)
  expect(before).toBeGreaterThan(20_000_000)
  expect(after).toBeLessThan(200_000)
  expect((await journal.get('eth', 'junk-7'))?.raw).toBeUndefined()
  expect(await journal.get('eth', 'open')).toMatchObject({ raw: '0x02', status: 'pending' })
  expect(await journal.count('eth', ['rejected'])).toBe(100)
  await journal.close()
  expect(pragmaOf(path, 'auto_vacuum')).toBe(2)
})

test('opens a file written before unheld_rounds existed, and uses the new column', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-journal-'))
  const path = join(dir, 'old.sqlite')
  const old = new Database(path)
  old.exec(`CREATE TABLE broadcasts (chain TEXT NOT NULL, txid TEXT NOT NULL, raw TEXT NOT NULL, status TEXT NOT NULL, first_seen_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, block_height INTEGER, block_hash TEXT, confirmations INTEGER NOT NULL DEFAULT 0, rebroadcasts INTEGER NOT NULL DEFAULT 0,
    sender TEXT, nonce INTEGER, settled INTEGER NOT NULL DEFAULT 0, outcomes TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (chain, txid))`)
  old.prepare(`INSERT INTO broadcasts (chain, txid, raw, status, first_seen_at, updated_at, outcomes) VALUES ('btc', 'legacy', 'raw', 'pending', 1, 1, '[]')`).run()
  old.close()
  const journal = new SqliteJournal(path)
  opened.push(journal)
  expect(await journal.get('btc', 'legacy')).toMatchObject({ txid: 'legacy', status: 'pending' })
  expect(await journal.update('btc', 'legacy', { expect: 'pending', set: { unheldRounds: 2 }, at: 2 })).toBe(true)
  expect((await journal.get('btc', 'legacy'))?.unheldRounds).toBe(2)
})

test('one process owns the file: the WAL index is in memory (no -shm to mmap), and a second opener is refused', async () => {
  const { path, journal } = await journalAt()
  await journal.insert(record('t1'))
  await journal.update('btc', 't1', { set: { confirmations: 1 }, at: 2 })
  expect(existsSync(`${path}-wal`)).toBe(true)
  expect(existsSync(`${path}-shm`)).toBe(false)
  expect(() => new SqliteJournal(path)).toThrow(/locked/)
})

test('the directory deleted at run time: the next write is refused as not durable, and a check restores the file with every record', async () => {
  const { dir, path, journal } = await journalAt()
  await journal.insert(record('before'))
  rmSync(dir, { recursive: true })
  // Committed into a file no restart would find: the write says so instead of pretending.
  await expect(journal.insert(record('during'))).rejects.toThrow(JournalWriteError)
  await expect(journal.update('btc', 'before', { set: { confirmations: 1 }, at: 2 })).rejects.toThrow(/not durable: journal file .* is gone/)
  const health = await journal.health()
  expect(health).toMatchObject({ ok: true, repaired: true, detail: expect.stringMatching(/is gone .*restored from the open connection/) })
  expect(await journal.health()).toEqual({ ok: true, detail: '' })
  await journal.insert(record('after'))
  await journal.close()
  // The copy is still a file whose pruned pages go back to the file system.
  expect(pragmaOf(path, 'auto_vacuum')).toBe(2)
  const reopened = new SqliteJournal(path)
  opened.push(reopened)
  expect((await reopened.list({})).map((entry) => entry.txid).sort()).toEqual(['after', 'before', 'during'])
  expect((await reopened.get('btc', 'before'))?.confirmations).toBe(1)
})

test('the directory replaced by a file (works as root): unhealthy until the path is usable again, then restored', async () => {
  const { dir, path, journal } = await journalAt()
  await journal.insert(record('before'))
  rmSync(dir, { recursive: true })
  writeFileSync(dir, 'not a directory')
  await expect(journal.insert(record('during'))).rejects.toThrow(JournalWriteError)
  expect(await journal.health()).toMatchObject({ ok: false, detail: expect.stringMatching(/is gone \(ENOTDIR\); cannot restore it/) })
  expect(await journal.health()).toMatchObject({ ok: false })
  rmSync(dir)
  expect(await journal.health()).toMatchObject({ ok: true, repaired: true })
  await journal.close()
  const reopened = new SqliteJournal(path)
  opened.push(reopened)
  expect((await reopened.list({})).map((entry) => entry.txid).sort()).toEqual(['before', 'during'])
})

test('a path that now names another file is reported, never overwritten', async () => {
  const { path, journal } = await journalAt()
  await journal.insert(record('mine'))
  rmSync(path)
  writeFileSync(path, 'an operator put this here')
  await expect(journal.insert(record('t2'))).rejects.toThrow(JournalWriteError)
  expect(await journal.health()).toMatchObject({ ok: false, detail: expect.stringMatching(/replaced by another file/) })
  expect(existsSync(path)).toBe(true)
  expect(await journal.get('btc', 'mine')).toBeDefined()
})

test.skipIf(skipImmutableFileTests)('journal files made unwritable while running (chattr +i, effective as root): writes fail with an error, no crash; writable again → healthy', async () => {
  const { path, journal } = await journalAt()
  await journal.insert(record('before'))
  for (const file of [path, `${path}-wal`]) {
    execFileSync('chattr', ['+i', file])
    immutable.push(file)
  }
  await expect(journal.insert(record('during'))).rejects.toThrow(/journal write failed/)
  expect(await journal.health()).toMatchObject({ ok: false, detail: expect.stringMatching(/not writable/) })
  for (const file of immutable.splice(0)) execFileSync('chattr', ['-i', file])
  expect(await journal.health()).toMatchObject({ ok: true, repaired: true })
  expect(await journal.insert(record('after'))).toBe(true)
  expect((await journal.list({})).map((entry) => entry.txid).sort()).toEqual(['after', 'before'])
})
