/**
 * The embedded broadcast journal: one SQLite file (better-sqlite3, WAL mode, synchronous=FULL so
 * an acknowledged "accepted" survives a power cut, not only a process crash).
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { BroadcastJournal, BroadcastQuery, BroadcastRecord } from './broadcast-journal.js'

interface Row {
  chain: string
  txid: string
  raw: string
  status: string
  first_seen_at: number
  updated_at: number
  block_height: number | null
  block_hash: string | null
  confirmations: number
  rebroadcasts: number
  sender: string | null
  nonce: number | null
  settled: number
  outcomes: string
}

export class SqliteJournal implements BroadcastJournal {
  readonly #db: Database.Database
  readonly #get: Database.Statement<[string, string], Row>
  readonly #save: Database.Statement<Row>
  readonly #open: Database.Statement<[string], Row>

  /** `path`: a file (created with its directory) or ':memory:'. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.#db = new Database(path)
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = FULL')
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS broadcasts (
        chain TEXT NOT NULL,
        txid TEXT NOT NULL,
        raw TEXT NOT NULL,
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
        PRIMARY KEY (chain, txid)
      );
      CREATE INDEX IF NOT EXISTS broadcasts_status ON broadcasts (chain, status);
      CREATE INDEX IF NOT EXISTS broadcasts_recent ON broadcasts (first_seen_at DESC);
    `)
    this.#get = this.#db.prepare('SELECT * FROM broadcasts WHERE chain = ? AND txid = ?')
    this.#save = this.#db.prepare(`
      INSERT INTO broadcasts (chain, txid, raw, status, first_seen_at, updated_at, block_height, block_hash, confirmations, rebroadcasts, sender, nonce, settled, outcomes)
      VALUES (@chain, @txid, @raw, @status, @first_seen_at, @updated_at, @block_height, @block_hash, @confirmations, @rebroadcasts, @sender, @nonce, @settled, @outcomes)
      ON CONFLICT (chain, txid) DO UPDATE SET
        status = excluded.status, updated_at = excluded.updated_at, block_height = excluded.block_height,
        block_hash = excluded.block_hash, confirmations = excluded.confirmations, rebroadcasts = excluded.rebroadcasts,
        settled = excluded.settled, outcomes = excluded.outcomes`)
    this.#open = this.#db.prepare(
      `SELECT * FROM broadcasts WHERE chain = ? AND (status IN ('pending', 'seen') OR (status = 'confirmed' AND settled = 0)) ORDER BY first_seen_at`,
    )
  }

  async get(chain: string, txid: string): Promise<BroadcastRecord | undefined> {
    const row = this.#get.get(chain, txid)
    return row === undefined ? undefined : fromRow(row)
  }

  async save(record: BroadcastRecord): Promise<void> {
    this.#save.run(toRow(record))
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
    return this.#open.all(chain).map(fromRow)
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close()
  }
}

function toRow(record: BroadcastRecord): Row {
  return {
    chain: record.chain,
    txid: record.txid,
    raw: record.raw,
    status: record.status,
    first_seen_at: record.firstSeenAt,
    updated_at: record.updatedAt,
    block_height: record.blockHeight ?? null,
    block_hash: record.blockHash ?? null,
    confirmations: record.confirmations,
    rebroadcasts: record.rebroadcasts,
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
    raw: row.raw,
    status: row.status as BroadcastRecord['status'],
    firstSeenAt: row.first_seen_at,
    updatedAt: row.updated_at,
    blockHeight: row.block_height ?? undefined,
    blockHash: row.block_hash ?? undefined,
    confirmations: row.confirmations,
    rebroadcasts: row.rebroadcasts,
    sender: row.sender ?? undefined,
    nonce: row.nonce ?? undefined,
    ...(row.settled === 1 ? { settled: true } : {}),
    outcomes: JSON.parse(row.outcomes) as BroadcastRecord['outcomes'],
  }
}
