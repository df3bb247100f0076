/**
 * The embedded broadcast journal: one SQLite file (better-sqlite3, WAL mode, synchronous=FULL so
 * an acknowledged "accepted" survives a power cut, not only a process crash).
 *
 * The file belongs to one process: `locking_mode=EXCLUSIVE` is set before the first WAL access, so
 * the WAL index lives in heap memory instead of a mmapped `-shm` file. A truncated or unwritable
 * `-shm` used to kill the whole process with SIGBUS; now such faults are I/O errors, reported like
 * any failed write. A second proxy on the same file fails at start ("database is locked"). Being the
 * only process, it voids the rebroadcast claims left in the file by a predecessor (they all died).
 *
 * Shared mode (`shared: true`: node:cluster workers on one machine, one file) opens the file with
 * normal locking instead: the WAL index is then a mmapped `-shm` file again (the SIGBUS risk above
 * comes back, for a file someone truncates under the processes), writes wait up to
 * `busyTimeoutMs` for another process's write lock, and every write is one immediate transaction,
 * so `update`'s read-compare-write and `claimDue` are atomic across the processes. Claims persist
 * (a worker that died keeps its records until their lease runs out). A vanished file is restored
 * by whichever process notices first and never over a copy another one already restored; the
 * others then continue on that copy.
 *
 * An open connection keeps writing to a file that was deleted (or whose directory was), and those
 * records would be gone after a restart. So every write checks afterwards that the path still
 * names the file this connection has open, and `health()` checks it (and write access) too. A file
 * that vanished is restored from the open connection (`VACUUM INTO`, then a new connection), so
 * nothing written meanwhile is lost; a path that now names something else is left alone.
 *
 * Space: files use `auto_vacuum=INCREMENTAL`, so the pages `prune` frees go back to the file
 * system (`incremental_vacuum`, then a WAL checkpoint) instead of staying as free pages at the
 * file's high-water mark; a burst of junk costs disk only until it expires. A file made before
 * (auto_vacuum off, raw bytes of closed records kept) is converted once at open: closed records
 * lose their raw bytes, then one VACUUM (it needs free disk space about the file's size; if it
 * fails the file still works, its freed pages are then only reused).
 */
import { randomBytes } from 'node:crypto'
import { accessSync, constants, linkSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import {
  type BroadcastJournal,
  type BroadcastQuery,
  type BroadcastRecord,
  type BroadcastStatus,
  type ClaimRequest,
  DEFAULT_OUTCOME_HISTORY,
  type JournalHealth,
  type JournalLimits,
  type RecordChange,
  applyChange,
  boundRecord,
} from './broadcast-journal.js'

class GroupSizes {
  #commits = 0
  #writes = 0
  #largest = 0

  observe(size: number): void {
    this.#commits += 1
    this.#writes += size
    this.#largest = Math.max(this.#largest, size)
  }

  get figures(): { commits: number; writes: number; largest: number } {
    return { commits: this.#commits, writes: this.#writes, largest: this.#largest }
  }
}

interface Row {
  chain: string
  txid: string
  /** '' once the record is closed (the column predates optional raw bytes and is NOT NULL). */
  raw: string
  client: string | null
  status: string
  first_seen_at: number
  updated_at: number
  block_height: number | null
  block_hash: string | null
  confirmations: number
  rebroadcasts: number
  unheld_rounds: number
  sender: string | null
  nonce: number | null
  settled: number
  outcomes: string
}

interface Statements {
  get: Database.Statement<[string, string], Row>
  insert: Database.Statement<Row>
  replace: Database.Statement<Row>
  open: Database.Statement<[string], Row>
  prune: Database.Statement<[number, number]>
  probe: Database.Statement<[number]>
  claim: Database.Statement<{ chain: string; owner: string; now: number; until: number; limit: number }, Row>
  release: Database.Statement<[string]>
  nextClaim: Database.Statement<[]>
}

/** Records still watched: `isOpen` (broadcast-journal.ts) in SQL. */
const OPEN = `(status IN ('pending', 'seen') OR (status = 'confirmed' AND settled = 0))`
/** Records whose rebroadcasting is over: the complement of `isOpen`. */
const CLOSED = `NOT ${OPEN}`
/** Schema version in `PRAGMA user_version`; 1: client column, raw bytes only while open, incremental auto-vacuum. */
const SCHEMA_VERSION = 1
/** Free pages handed back to the file system per step (4 KiB each, so 4 MiB): bounds how long one step holds the event loop. */
const VACUUM_PAGES_PER_STEP = 1_024

interface FileIdentity {
  dev: number
  ino: number
}

/** Default of `busyTimeoutMs`, ms. */
const DEFAULT_BUSY_TIMEOUT_MS = 5_000

export interface SqliteJournalOptions extends Partial<JournalLimits> {
  /**
   * More than one process opens the file (node:cluster workers): normal locking instead of the
   * exclusive lock, claims kept across opens. Default false (one owner). Ignored for ':memory:'.
   */
  shared?: boolean | undefined
  /** Shared mode: how long a write waits for another process's write lock before failing, ms. Default 5000. */
  busyTimeoutMs?: number | undefined
}

/** Thrown by writes: the SQLite error, or the file vanished under the connection. */
export class JournalWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'JournalWriteError'
  }
}

export class SqliteJournal implements BroadcastJournal {
  readonly #path: string
  #db: Database.Database
  #statements: Statements
  #identity: FileIdentity | undefined
  /** Why the last write failed, until a probe write succeeds. */
  #writeFailure: string | undefined
  #group: Array<{ work: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }> = []
  readonly #groupSizes = new GroupSizes()
  readonly #limits: JournalLimits
  readonly #open: OpenOptions

  /** `path`: a file (created with its directory) or ':memory:'. */
  constructor(path: string, options: SqliteJournalOptions = {}) {
    this.#path = path
    this.#limits = { outcomeHistory: options.outcomeHistory ?? DEFAULT_OUTCOME_HISTORY }
    this.#open = { shared: options.shared === true && path !== ':memory:', busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS }
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.#db = openDatabase(path, this.#open)
    this.#statements = prepare(this.#db)
    this.#identity = path === ':memory:' ? undefined : identityOf(path)
  }

  async get(chain: string, txid: string): Promise<BroadcastRecord | undefined> {
    const row = this.#statements.get.get(chain, txid)
    return row === undefined ? undefined : fromRow(row)
  }

  async insert(record: BroadcastRecord): Promise<boolean> {
    return this.#grouped(() => this.#statements.insert.run(toRow(boundRecord(record, this.#limits))).changes === 1)
  }

  async update(chain: string, txid: string, change: RecordChange): Promise<boolean> {
    return this.#grouped(() => {
      const row = this.#statements.get.get(chain, txid)
      if (row === undefined) return false
      const { record, applied } = applyChange(fromRow(row), change, this.#limits)
      this.#statements.replace.run(toRow(record))
      return applied
    })
  }

  async list(query: BroadcastQuery): Promise<BroadcastRecord[]> {
    const where: string[] = []
    const args: Array<string | number> = []
    if (query.chain !== undefined) {
      where.push('chain = ?')
      args.push(query.chain)
    }
    if (query.status !== undefined) {
      where.push('status = ?')
      args.push(query.status)
    }
    const sql = `SELECT * FROM broadcasts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY first_seen_at DESC LIMIT ?`
    args.push(Math.min(Math.max(1, query.limit ?? 50), 1000))
    return (this.#db.prepare(sql).all(...args) as Row[]).map(fromRow)
  }

  async open(chain: string): Promise<BroadcastRecord[]> {
    return this.#statements.open.all(chain).map(fromRow)
  }

  async claimDue(chain: string, claim: ClaimRequest): Promise<BroadcastRecord[]> {
    if (claim.limit <= 0) return []
    const rows = await this.#grouped(() => {
      this.#statements.nextClaim.run()
      return this.#statements.claim.all({ chain, owner: claim.owner, now: claim.now, until: claim.now + claim.leaseMs, limit: claim.limit })
    })
    return rows.map(fromRow).sort((a, b) => a.firstSeenAt - b.firstSeenAt)
  }

  async releaseClaims(owner: string): Promise<number> {
    return await this.#grouped(() => this.#statements.release.run(owner).changes)
  }

  /** Whether several processes may have the file open (shared mode). */
  get shared(): boolean {
    return this.#open.shared
  }

  async count(chain: string, statuses: readonly BroadcastStatus[], client?: string | null): Promise<number> {
    if (statuses.length === 0) return 0
    const args: Array<string | null> = [chain, ...statuses]
    let sql = `SELECT COUNT(*) FROM broadcasts WHERE chain = ? AND status IN (${statuses.map(() => '?').join(', ')})`
    if (client !== undefined) {
      sql += ' AND client IS ?'
      args.push(client)
    }
    return this.#db.prepare(sql).pluck().get(...args) as number
  }

  /**
   * One batch of deletions, then every free page (also those freed since the last prune: closed
   * records dropping their raw bytes) goes back to the file system, `VACUUM_PAGES_PER_STEP` at a
   * time with a turn of the event loop between steps, and the WAL is folded into the file.
   */
  async prune(updatedBefore: number, limit: number): Promise<number> {
    const deleted = limit <= 0 ? 0 : this.#write(() => this.#statements.prune.run(updatedBefore, limit).changes)
    if (this.#path === ':memory:') return deleted
    let vacuumed = false
    // Without incremental auto-vacuum (an old file whose one-time VACUUM failed) free pages are only reused.
    for (let free = this.#freePages(); free > 0 && (this.#db.pragma('auto_vacuum', { simple: true }) as number) === 2; ) {
      this.#write(
        () => undefined,
        () => this.#db.exec(`PRAGMA incremental_vacuum(${VACUUM_PAGES_PER_STEP})`),
      )
      vacuumed = true
      await new Promise((resolve) => setImmediate(resolve))
      if (!this.#db.open) return deleted
      const left = this.#freePages()
      if (left >= free) break
      free = left
    }
    if (vacuumed) this.#write(() => undefined, () => this.#db.pragma('wal_checkpoint(TRUNCATE)'))
    return deleted
  }

  async health(): Promise<JournalHealth> {
    if (!this.#db.open) return { ok: false, detail: 'the journal is closed' }
    const problem = this.#fileProblem()
    if (problem?.kind === 'missing') return this.#restore(problem.detail)
    // Shared: another process restored the vanished file before this one noticed; all continue on its copy.
    if (problem?.kind === 'replaced' && this.#open.shared) return this.#follow(problem.detail)
    if (problem !== undefined) return { ok: false, detail: problem.detail }
    if (this.#writeFailure !== undefined) {
      try {
        this.#statements.probe.run(Date.now())
      } catch (error) {
        return { ok: false, detail: `writes fail: ${describe(error)}` }
      }
      const cleared = this.#writeFailure
      this.#writeFailure = undefined
      return { ok: true, detail: `writes work again (last failure: ${cleared})`, repaired: true }
    }
    return { ok: true, detail: '' }
  }

  async close(): Promise<void> {
    if (!this.#db.open) return
    // Writes asked for in this turn are committed (or fail) before the file closes.
    this.#commitGroup()
    try {
      this.#db.close()
    } catch {
      // A vanished directory makes the final checkpoint fail; nothing more can be saved here.
    }
  }

  #freePages(): number {
    return this.#db.pragma('freelist_count', { simple: true }) as number
  }

  /**
   * Group commit: the writes asked for in one turn of the event loop are committed together, in
   * order, in one transaction: one fsync for a burst of broadcasts instead of one each, so the loop
   * (better-sqlite3 is synchronous) is blocked once. Each caller's promise settles only after the
   * commit, so "journaled before the client hears accepted" holds. When the group fails, each write
   * is retried alone and gets its own outcome: one bad write never fails the others.
   */
  #grouped<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#group.push({ work, resolve: resolve as (value: unknown) => void, reject })
      if (this.#group.length === 1) setImmediate(() => this.#commitGroup())
    })
  }

  #commitGroup(): void {
    const group = this.#group
    if (group.length === 0) return
    this.#group = []
    this.#groupSizes.observe(group.length)
    if (group.length > 1) {
      let results: unknown[] | undefined
      try {
        results = this.#write(() => group.map((item) => item.work()))
      } catch {
        // One of them (or the disk) failed: each alone below, for its own outcome.
      }
      if (results !== undefined) {
        group.forEach((item, index) => item.resolve(results[index]))
        return
      }
    }
    for (const item of group) {
      try {
        item.resolve(this.#write(item.work))
      } catch (error) {
        item.reject(error)
      }
    }
  }

  /** Writes per commit so far (group commit), for tests and the bench. */
  get groupCommits(): { commits: number; writes: number; largest: number } {
    return this.#groupSizes.figures
  }

  /** `work` in an immediate transaction (or `outside` one: statements that cannot run in a transaction), then the durability check. */
  #write<T>(work: () => T, outside?: () => T): T {
    let result: T
    try {
      result = outside === undefined ? this.#db.transaction(work).immediate() : outside()
    } catch (error) {
      this.#writeFailure = describe(error)
      throw new JournalWriteError(`journal write failed: ${this.#writeFailure}`, { cause: error })
    }
    const problem = this.#fileProblem()
    if (problem?.kind === 'missing' || problem?.kind === 'replaced') {
      // Committed, but into a file no restart will find: not durable.
      this.#writeFailure = problem.detail
      throw new JournalWriteError(`journal write not durable: ${problem.detail}`)
    }
    return result
  }

  /** Whether the path still names the open file, and the process may write to it and its directory. */
  #fileProblem(): { kind: 'missing' | 'replaced' | 'unwritable'; detail: string } | undefined {
    if (this.#identity === undefined) return undefined
    let now: FileIdentity
    try {
      now = identityOf(this.#path)
    } catch (error) {
      return { kind: 'missing', detail: `journal file ${this.#path} is gone (${(error as NodeJS.ErrnoException).code ?? describe(error)})` }
    }
    if (now.dev !== this.#identity.dev || now.ino !== this.#identity.ino) {
      return { kind: 'replaced', detail: `journal file ${this.#path} was replaced by another file; restart to use it (records written since are only in the open one)` }
    }
    try {
      accessSync(this.#path, constants.W_OK)
      accessSync(dirname(this.#path), constants.W_OK)
    } catch (error) {
      return { kind: 'unwritable', detail: `journal file ${this.#path} is not writable (${(error as NodeJS.ErrnoException).code ?? describe(error)})` }
    }
    return undefined
  }

  /** Copies the open connection's database to the path again and continues on the copy. */
  #restore(problem: string): JournalHealth {
    const temp = `${this.#path}.restore-${process.pid}-${randomBytes(4).toString('hex')}`
    try {
      mkdirSync(dirname(this.#path), { recursive: true })
      rmSync(temp, { force: true })
      this.#db.prepare('VACUUM INTO ?').run(temp)
      if (this.#open.shared) {
        // Never over a copy another process restored meanwhile (its writes since would be lost): the first copy wins.
        try {
          linkSync(temp, this.#path)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        }
        rmSync(temp, { force: true })
      } else {
        renameSync(temp, this.#path)
      }
      this.#reconnect()
    } catch (error) {
      try {
        rmSync(temp, { force: true })
      } catch {
        // The directory is not usable at all: nothing was left there.
      }
      return { ok: false, detail: `${problem}; cannot restore it: ${describe(error)}` }
    }
    return { ok: true, detail: `${problem}; restored from the open connection, no record lost`, repaired: true }
  }

  /** Shared mode: the path names another journal file (a sibling's restored copy): continue on it. */
  #follow(problem: string): JournalHealth {
    try {
      const probe = new Database(this.#path, { readonly: true, fileMustExist: true, timeout: this.#open.busyTimeoutMs })
      try {
        if (probe.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'broadcasts'`).pluck().get() !== 1) throw new Error('it is not a broadcast journal')
      } finally {
        probe.close()
      }
      this.#reconnect()
    } catch (error) {
      return { ok: false, detail: `${problem}; cannot continue on it: ${describe(error)}` }
    }
    return { ok: true, detail: `${problem}; another process restored it: continuing on that copy`, repaired: true }
  }

  /** A new connection to the file at the path, the old one closed. */
  #reconnect(): void {
    const next = openDatabase(this.#path, this.#open)
    const previous = this.#db
    this.#db = next
    this.#statements = prepare(this.#db)
    this.#identity = identityOf(this.#path)
    this.#writeFailure = undefined
    try {
      previous.close()
    } catch {
      // Its directory may be gone: its data is in the copy.
    }
  }
}

interface OpenOptions {
  shared: boolean
  busyTimeoutMs: number
}

function openDatabase(path: string, options: OpenOptions): Database.Database {
  const db = options.shared ? new Database(path, { timeout: options.busyTimeoutMs }) : new Database(path)
  try {
    // Before the first WAL access, so the WAL index is kept in heap memory (no -shm mmap: no SIGBUS).
    if (!options.shared) db.pragma('locking_mode = EXCLUSIVE')
    // Only takes effect on a new file (before its first page is written, so before WAL mode); old files: migrate().
    const fresh = (db.prepare('SELECT COUNT(*) FROM sqlite_master').pluck().get() as number) === 0
    if (fresh) db.pragma('auto_vacuum = INCREMENTAL')
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    // One immediate transaction: processes opening a shared file at once add each column once.
    db.transaction(() => createSchema(db, fresh)).immediate()
    if (!fresh) migrate(db)
    // Only process on the file: claims in it are a dead predecessor's.
    if (!options.shared) db.prepare(`UPDATE broadcasts SET lease_owner = NULL, lease_until = 0 WHERE lease_owner IS NOT NULL AND ${OPEN}`).run()
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

function createSchema(db: Database.Database, fresh: boolean): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS broadcasts (
      chain TEXT NOT NULL,
      txid TEXT NOT NULL,
      raw TEXT NOT NULL,
      client TEXT,
      status TEXT NOT NULL,
      first_seen_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      block_height INTEGER,
      block_hash TEXT,
      confirmations INTEGER NOT NULL DEFAULT 0,
      rebroadcasts INTEGER NOT NULL DEFAULT 0,
      sender TEXT,
      nonce INTEGER,
      settled INTEGER NOT NULL DEFAULT 0,
      outcomes TEXT NOT NULL DEFAULT '[]',
      lease_owner TEXT,
      lease_until INTEGER NOT NULL DEFAULT 0,
      claim_order INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (chain, txid)
    );
    CREATE INDEX IF NOT EXISTS broadcasts_status ON broadcasts (chain, status);
    CREATE INDEX IF NOT EXISTS broadcasts_recent ON broadcasts (first_seen_at DESC);
    CREATE TABLE IF NOT EXISTS journal_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);
  `)
  const columns = (db.prepare('PRAGMA table_info(broadcasts)').all() as Array<{ name: string }>).map((column) => column.name)
  if (!columns.includes('unheld_rounds')) db.exec('ALTER TABLE broadcasts ADD COLUMN unheld_rounds INTEGER NOT NULL DEFAULT 0')
  if (!columns.includes('client')) db.exec('ALTER TABLE broadcasts ADD COLUMN client TEXT')
  if (!columns.includes('lease_owner')) {
    db.exec(`
      ALTER TABLE broadcasts ADD COLUMN lease_owner TEXT;
      ALTER TABLE broadcasts ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE broadcasts ADD COLUMN claim_order INTEGER NOT NULL DEFAULT 0;
    `)
  }
  db.exec(`
    CREATE INDEX IF NOT EXISTS broadcasts_client ON broadcasts (chain, client, status);
    CREATE INDEX IF NOT EXISTS broadcasts_updated ON broadcasts (updated_at);
    CREATE INDEX IF NOT EXISTS broadcasts_claims ON broadcasts (chain, claim_order) WHERE ${OPEN};
    -- One row: the claim sequence (the least recently claimed records come first, whatever the clocks say).
    CREATE TABLE IF NOT EXISTS journal_claim_order (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
    INSERT OR IGNORE INTO journal_claim_order (id, last) VALUES (1, 0);
  `)
  if (fresh) db.pragma(`user_version = ${SCHEMA_VERSION}`)
}

/**
 * A file written by an older version: closed records drop their raw bytes (the rebroadcaster never
 * reads them again; junk transactions made such files grow by megabytes), then one VACUUM switches
 * on incremental auto-vacuum. A VACUUM that fails (no disk space for the copy) is retried at the
 * next open; the file works meanwhile.
 */
function migrate(db: Database.Database): void {
  if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
    db.transaction(() => {
      db.exec(`UPDATE broadcasts SET raw = '' WHERE raw <> '' AND ${CLOSED}`)
      db.pragma(`user_version = ${SCHEMA_VERSION}`)
    }).immediate()
  }
  if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2) {
    try {
      db.pragma('auto_vacuum = INCREMENTAL')
      db.exec('VACUUM')
      db.pragma('wal_checkpoint(TRUNCATE)')
    } catch {
      // Still usable as it is: freed pages are reused, the file only does not shrink.
    }
  }
}

function prepare(db: Database.Database): Statements {
  const columns = 'chain, txid, raw, client, status, first_seen_at, updated_at, block_height, block_hash, confirmations, rebroadcasts, unheld_rounds, sender, nonce, settled, outcomes'
  const values = '@chain, @txid, @raw, @client, @status, @first_seen_at, @updated_at, @block_height, @block_hash, @confirmations, @rebroadcasts, @unheld_rounds, @sender, @nonce, @settled, @outcomes'
  return {
    get: db.prepare('SELECT * FROM broadcasts WHERE chain = ? AND txid = ?'),
    insert: db.prepare(`INSERT INTO broadcasts (${columns}) VALUES (${values}) ON CONFLICT (chain, txid) DO NOTHING`),
    replace: db.prepare(`
      UPDATE broadcasts SET raw = @raw, client = @client, status = @status, updated_at = @updated_at, block_height = @block_height, block_hash = @block_hash,
        confirmations = @confirmations, rebroadcasts = @rebroadcasts, unheld_rounds = @unheld_rounds, settled = @settled, outcomes = @outcomes
      WHERE chain = @chain AND txid = @txid`),
    open: db.prepare(`SELECT * FROM broadcasts WHERE chain = ? AND ${OPEN} ORDER BY first_seen_at`),
    prune: db.prepare(`DELETE FROM broadcasts WHERE rowid IN (SELECT rowid FROM broadcasts WHERE updated_at < ? AND ${CLOSED} ORDER BY updated_at LIMIT ?)`),
    probe: db.prepare('INSERT OR REPLACE INTO journal_probe (id, at) VALUES (1, ?)'),
    claim: db.prepare(`
      UPDATE broadcasts SET lease_owner = @owner, lease_until = @until, claim_order = (SELECT last FROM journal_claim_order WHERE id = 1)
      WHERE rowid IN (
        SELECT rowid FROM broadcasts
        WHERE chain = @chain AND ${OPEN} AND (lease_owner IS NULL OR lease_owner = @owner OR lease_until <= @now)
        ORDER BY claim_order, first_seen_at LIMIT @limit)
      RETURNING *`),
    release: db.prepare(`UPDATE broadcasts SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ? AND ${OPEN}`),
    nextClaim: db.prepare('UPDATE journal_claim_order SET last = last + 1 WHERE id = 1'),
  }
}

function identityOf(path: string): FileIdentity {
  const stats = statSync(path)
  if (!stats.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'ENOTFILE' })
  return { dev: stats.dev, ino: stats.ino }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}

function toRow(record: BroadcastRecord): Row {
  return {
    chain: record.chain,
    txid: record.txid,
    raw: record.raw ?? '',
    client: record.client ?? null,
    status: record.status,
    first_seen_at: record.firstSeenAt,
    updated_at: record.updatedAt,
    block_height: record.blockHeight ?? null,
    block_hash: record.blockHash ?? null,
    confirmations: record.confirmations,
    rebroadcasts: record.rebroadcasts,
    unheld_rounds: record.unheldRounds ?? 0,
    sender: record.sender ?? null,
    nonce: record.nonce ?? null,
    settled: record.settled === true ? 1 : 0,
    outcomes: JSON.stringify(record.outcomes),
  }
}

function fromRow(row: Row): BroadcastRecord {
  return {
    chain: row.chain,
    txid: row.txid,
    ...(row.raw === '' ? {} : { raw: row.raw }),
    ...(row.client === null ? {} : { client: row.client }),
    status: row.status as BroadcastRecord['status'],
    firstSeenAt: row.first_seen_at,
    updatedAt: row.updated_at,
    blockHeight: row.block_height ?? undefined,
    blockHash: row.block_hash ?? undefined,
    confirmations: row.confirmations,
    rebroadcasts: row.rebroadcasts,
    ...(row.unheld_rounds > 0 ? { unheldRounds: row.unheld_rounds } : {}),
    sender: row.sender ?? undefined,
    nonce: row.nonce ?? undefined,
    ...(row.settled === 1 ? { settled: true } : {}),
    outcomes: JSON.parse(row.outcomes) as BroadcastRecord['outcomes'],
  }
}
