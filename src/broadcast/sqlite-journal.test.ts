/**
 * What only the SQLite store has to get right: durability across reopen, old files, one owner, no
 * -shm mmap (SIGBUS), files that vanish or stop being writable while the process runs, and disk
 * space given back after pruning. Shared mode (node:cluster workers): real separate processes on
 * one file, claims that survive a reopen, a vanished file restored once for everyone.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
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

test('alone on its file, a journal voids the claims a dead predecessor left; in shared mode they stay until their lease ran out', async () => {
  const { path, journal } = await journalAt()
  await journal.insert(record('t1'))
  expect((await journal.claimDue('btc', { owner: 'dead', now: 1_000, leaseMs: 60_000, limit: 10 })).map((entry) => entry.txid)).toEqual(['t1'])
  await journal.close()
  // Exclusive: no other process can hold a claim, so the restarted proxy resumes at once.
  const alone = new SqliteJournal(path)
  opened.push(alone)
  expect((await alone.claimDue('btc', { owner: 'next', now: 2_000, leaseMs: 60_000, limit: 10 })).map((entry) => entry.txid)).toEqual(['t1'])
  await alone.close()
  // Shared: a worker that died keeps its records until the lease ran out, then another takes them.
  const shared = new SqliteJournal(path, { shared: true })
  opened.push(shared)
  expect(await shared.claimDue('btc', { owner: 'sibling', now: 3_000, leaseMs: 60_000, limit: 10 })).toEqual([])
  expect((await shared.claimDue('btc', { owner: 'sibling', now: 62_000, leaseMs: 60_000, limit: 10 })).map((entry) => entry.txid)).toEqual(['t1'])
})

test('shared mode uses a -shm WAL index so several connections work; a file a lone proxy holds is refused to a shared opener', async () => {
  const { path, journal } = await journalAt()
  await journal.insert(record('t1'))
  // The lone owner holds its exclusive lock: a worker configured for shared mode cannot slip in.
  expect(() => new SqliteJournal(path, { shared: true, busyTimeoutMs: 50 })).toThrow(/locked/)
  await journal.close()
  const first = new SqliteJournal(path, { shared: true })
  const second = new SqliteJournal(path, { shared: true })
  opened.push(first, second)
  expect(first.shared && second.shared).toBe(true)
  await first.insert(record('t2'))
  expect(existsSync(`${path}-shm`)).toBe(true)
  expect((await second.list({})).map((entry) => entry.txid).sort()).toEqual(['t1', 't2'])
})

test('shared mode, the directory deleted under two connections: the first check restores the file, the other continues on that copy, nothing is lost', async () => {
  const { dir, path, journal: lone } = await journalAt()
  await lone.close()
  const a = new SqliteJournal(path, { shared: true })
  const b = new SqliteJournal(path, { shared: true })
  opened.push(a, b)
  await a.insert(record('before'))
  rmSync(dir, { recursive: true })
  await expect(a.insert(record('during'))).rejects.toThrow(/not durable/)
  expect(await a.health()).toMatchObject({ ok: true, repaired: true, detail: expect.stringMatching(/restored from the open connection/) })
  // b never overwrites a's copy (the writes a made since would be lost): it moves to it.
  expect(await b.health()).toMatchObject({ ok: true, repaired: true, detail: expect.stringMatching(/another process restored it/) })
  await b.insert(record('after-b'))
  await a.insert(record('after-a'))
  expect((await a.list({})).map((entry) => entry.txid).sort()).toEqual(['after-a', 'after-b', 'before', 'during'])
  expect(await b.health()).toEqual({ ok: true, detail: '' })
})

/**
 * A worker process: opens the shared file, waits for "go" so both race, inserts its own records,
 * races the other on compare-and-set of the records the test put there; then, on "claim" (both
 * done writing), claims in small batches until a batch brings one it already has. Prints what it
 * claimed and which sets applied.
 */
const WORKER = `
import { createInterface } from 'node:readline'
import { SqliteJournal } from ${JSON.stringify(resolve('src/broadcast/sqlite-journal.ts'))}
const [path, name, status] = process.argv.slice(2)
const journal = new SqliteJournal(path, { shared: true })
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
process.stdout.write('ready\\n')
await lines.next()
for (let index = 0; index < 100; index++) {
  const now = Date.now()
  await journal.insert({ chain: 'btc', txid: name + '-' + index, raw: 'raw', status: 'pending', firstSeenAt: now, updatedAt: now, confirmations: 0, rebroadcasts: 0, outcomes: [] })
}
const applied = []
for (let index = 0; index < 30; index++) {
  const txid = 'race-' + index
  if (await journal.update('btc', txid, { append: [{ nodeId: name, outcome: 'x', at: 1 }], expect: 'pending', set: { status }, at: 2 })) applied.push(txid)
}
process.stdout.write('written\\n')
await lines.next()
const claimed = new Set()
for (;;) {
  const batch = await journal.claimDue('btc', { owner: name, now: Date.now(), leaseMs: 60000, limit: 2 })
  const fresh = batch.filter((entry) => !claimed.has(entry.txid))
  for (const entry of fresh) claimed.add(entry.txid)
  if (batch.length === 0 || fresh.length < batch.length) break
}
await journal.close()
process.stdout.write(JSON.stringify({ claimed: [...claimed], applied }) + '\\n')
`

interface WorkerReport {
  claimed: string[]
  applied: string[]
}

test('shared mode, two real processes on one file: both insert, compare-and-set applies once per record, claims are disjoint and cover every open record', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-journal-'))
  const path = join(dir, 'journal.sqlite')
  // .mts: an ES module wherever it lies (top-level await), outside any package.json.
  const script = join(dir, 'worker.mts')
  await writeFile(script, WORKER)
  const parent = new SqliteJournal(path, { shared: true })
  opened.push(parent)
  for (let index = 0; index < 30; index++) await parent.insert(record(`race-${index}`, { outcomes: [] }))
  const workers = [
    ['w0', 'seen'],
    ['w1', 'dropped'],
  ].map(([name, status]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, name!, status!], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
    const step = (line: string): Promise<void> =>
      new Promise<void>((done, fail) => {
        const seen = (): void => {
          if (out.split('\n').includes(line)) done()
        }
        child.stdout.on('data', seen)
        seen()
        child.once('exit', () => fail(new Error(`worker ${name} exited before "${line}": ${err.slice(-2_000)}`)))
      })
    const report = new Promise<WorkerReport>((done, fail) =>
      child.once('exit', (code) => (code === 0 ? done(JSON.parse(out.split('\n')[2]!) as WorkerReport) : fail(new Error(`worker ${name} exited ${code}: ${err.slice(-2_000)}`)))),
    )
    // Awaited after the steps; a worker that dies early is reported there.
    report.catch(() => undefined)
    return { child, step, report }
  })
  // Two barriers: both write at once, then both claim at once.
  await Promise.all(workers.map((worker) => worker.step('ready')))
  for (const worker of workers) worker.child.stdin.write('go\n')
  await Promise.all(workers.map((worker) => worker.step('written')))
  for (const worker of workers) worker.child.stdin.end('claim\n')
  const [w0, w1] = await Promise.all(workers.map((worker) => worker.report))

  expect(await parent.count('btc', ['pending', 'seen', 'dropped'])).toBe(230)
  // Each raced record: exactly one process's compare-and-set applied, both outcomes are kept.
  for (let index = 0; index < 30; index++) {
    const txid = `race-${index}`
    const winners = [w0!.applied.includes(txid), w1!.applied.includes(txid)].filter(Boolean)
    expect(winners, txid).toHaveLength(1)
    const final = (await parent.get('btc', txid))!
    expect(final.status).toBe(w0!.applied.includes(txid) ? 'seen' : 'dropped')
    expect(final.outcomes.map((entry) => entry.nodeId).sort()).toEqual(['w0', 'w1'])
  }
  // Claims: never both, and together every open record (the dropped ones are closed).
  const both = w0!.claimed.filter((txid) => w1!.claimed.includes(txid))
  expect(both).toEqual([])
  const open = (await parent.open('btc')).map((entry) => entry.txid).sort()
  expect([...w0!.claimed, ...w1!.claimed].sort()).toEqual(open)
  expect(open.length).toBe(200 + w0!.applied.length)
  recordFigure('journal.sharedSqlite.claimsByProcess', `${w0!.claimed.length}/${w1!.claimed.length}`)
})
