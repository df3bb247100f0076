/**
 * The broadcast journal on PostgreSQL (`pg`), for several replicas of the proxy behind a load
 * balancer: every replica reads and writes the same records, so whichever replica a client's
 * repeat lands on knows the broadcast, and a replica that dies leaves its records to the others.
 *
 * Every write is its own transaction and resolves only after the server committed it
 * (synchronous_commit as the server has it, on by default), so "journaled before the client hears
 * accepted" holds as with SQLite; there is no group commit (a pool of `poolSize` connections runs
 * writes side by side instead). `update` locks the row (`SELECT … FOR UPDATE`), applies the same
 * pure `applyChange` the other stores use and writes it back: compare-and-set and appended outcomes
 * hold across replicas. `claimDue` and `prune` take rows with `FOR UPDATE SKIP LOCKED`, so
 * concurrent claimers (and pruners) get disjoint rows and never wait on each other.
 *
 * The schema is created and migrated at start by versioned steps (`switchyard_schema_version`),
 * under a transaction-scoped advisory lock: replicas starting at once run each step once. Steps
 * only add, so an older version keeps working on a newer schema during a rolling upgrade.
 *
 * The connection URL carries credentials: it never appears in an error message or a health detail
 * (errors are rewritten with the URL, its password and its host replaced, and the `pg` error, which
 * holds the connection parameters, is not kept as a cause).
 */
import { createRequire } from 'node:module'
import type pg from 'pg'
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

export interface PostgresJournalOptions extends Partial<JournalLimits> {
  /** `postgres://user:password@host:port/database` (credentials: never logged). */
  url: string
  /** Connections kept to the server. Default 4. */
  poolSize?: number | undefined
}


/**
 * `pg` is loaded by the first PostgreSQL journal, not at import: a proxy on the default SQLite
 * journal never holds it (about 16 MB of RSS). pg is CommonJS, so a synchronous require serves the
 * synchronous constructor.
 */
function loadPg(): typeof pg {
  return createRequire(import.meta.url)('pg') as typeof pg
}

/** Default of `journal.postgres.poolSize`, connections. */
export const DEFAULT_POSTGRES_POOL_SIZE = 4
/** A new connection (or a free one from a full pool) taking longer than this fails the operation, ms. */
const CONNECT_TIMEOUT_MS = 10_000
/** A statement running longer than this is cancelled by the server (a stuck lock must not hang broadcasts), ms. */
const STATEMENT_TIMEOUT_MS = 30_000
/** The server ends a transaction a frozen process left open, releasing its row locks, ms. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000

/** Records still watched: `isOpen` (broadcast-journal.ts) in SQL. */
const OPEN = `(status IN ('pending', 'seen') OR (status = 'confirmed' AND NOT settled))`
const TABLE = 'switchyard_broadcasts'

/** Schema steps, in order; step N brings the schema to version N. Only ever append (and only additive steps). */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS ${TABLE} (
    chain TEXT NOT NULL,
    txid TEXT NOT NULL,
    raw TEXT,
    client TEXT,
    status TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    block_height BIGINT,
    block_hash TEXT,
    confirmations BIGINT NOT NULL DEFAULT 0,
    rebroadcasts BIGINT NOT NULL DEFAULT 0,
    unheld_rounds INTEGER NOT NULL DEFAULT 0,
    sender TEXT,
    nonce BIGINT,
    settled BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON as text: a node's message may hold \\u0000, which jsonb refuses.
    outcomes TEXT NOT NULL DEFAULT '[]',
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    -- From switchyard_claim_order at each claim: the least recently claimed come first.
    claim_order BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (chain, txid)
  );
  CREATE INDEX IF NOT EXISTS ${TABLE}_status ON ${TABLE} (chain, status);
  CREATE INDEX IF NOT EXISTS ${TABLE}_recent ON ${TABLE} (first_seen_at DESC);
  CREATE INDEX IF NOT EXISTS ${TABLE}_client ON ${TABLE} (chain, client, status);
  CREATE INDEX IF NOT EXISTS ${TABLE}_updated ON ${TABLE} (updated_at);
  CREATE INDEX IF NOT EXISTS ${TABLE}_claims ON ${TABLE} (chain, claim_order, first_seen_at) WHERE ${OPEN};
  CREATE SEQUENCE IF NOT EXISTS switchyard_claim_order;
  CREATE INDEX IF NOT EXISTS ${TABLE}_leases ON ${TABLE} (lease_owner) WHERE ${OPEN} AND lease_owner IS NOT NULL;
  CREATE TABLE IF NOT EXISTS switchyard_journal_probe (id INTEGER PRIMARY KEY, at BIGINT NOT NULL);
  `,
]

/** Schema version this code brings a database to. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length

interface Row {
  chain: string
  txid: string
  raw: string | null
  client: string | null
  status: string
  first_seen_at: string
  updated_at: string
  block_height: string | null
  block_hash: string | null
  confirmations: string
  rebroadcasts: string
  unheld_rounds: number
  sender: string | null
  nonce: string | null
  settled: boolean
  outcomes: string
}

/** Thrown by every operation that failed: the server's or the connection's message, credentials and host removed. */
export class PostgresJournalError extends Error {
  /** SQLSTATE or the socket error code, when there is one. */
  readonly code: string | undefined

  constructor(message: string, code: string | undefined) {
    super(message)
    this.name = 'PostgresJournalError'
    this.code = code
  }
}

export class PostgresJournal implements BroadcastJournal {
  readonly #pool: pg.Pool
  readonly #limits: JournalLimits
  readonly #redact: (text: string) => string
  #ready: Promise<void> | undefined
  /** Why the last write failed, until a probe write succeeds. */
  #writeFailure: string | undefined
  #closed = false

  constructor(options: PostgresJournalOptions) {
    this.#limits = { outcomeHistory: options.outcomeHistory ?? DEFAULT_OUTCOME_HISTORY }
    this.#redact = redactor(options.url)
    this.#pool = new (loadPg().Pool)({
      connectionString: options.url,
      max: options.poolSize ?? DEFAULT_POSTGRES_POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'switchyard',
    })
    // An idle connection the server dropped (restart, failover) is discarded by the pool; without a
    // listener the event would end the process. The next operation connects anew or reports it.
    this.#pool.on('error', () => undefined)
  }

  async get(chain: string, txid: string): Promise<BroadcastRecord | undefined> {
    const { rows } = await this.#query<Row>(`SELECT * FROM ${TABLE} WHERE chain = $1 AND txid = $2`, [chain, txid])
    return rows[0] === undefined ? undefined : fromRow(rows[0])
  }

  async insert(record: BroadcastRecord): Promise<boolean> {
    const row = toRow(boundRecord(record, this.#limits))
    const { rowCount } = await this.#write(
      `INSERT INTO ${TABLE} (chain, txid, raw, client, status, first_seen_at, updated_at, block_height, block_hash, confirmations, rebroadcasts, unheld_rounds, sender, nonce, settled, outcomes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (chain, txid) DO NOTHING`,
      [row.chain, row.txid, row.raw, row.client, row.status, row.first_seen_at, row.updated_at, row.block_height, row.block_hash, row.confirmations, row.rebroadcasts, row.unheld_rounds, row.sender, row.nonce, row.settled, row.outcomes],
    )
    return rowCount === 1
  }

  async update(chain: string, txid: string, change: RecordChange): Promise<boolean> {
    return await this.#transaction(async (client) => {
      // The row lock makes read-compare-write one step for every replica: a concurrent update waits here.
      const { rows } = await client.query<Row>(`SELECT * FROM ${TABLE} WHERE chain = $1 AND txid = $2 FOR UPDATE`, [chain, txid])
      if (rows[0] === undefined) return false
      const { record, applied } = applyChange(fromRow(rows[0]), change, this.#limits)
      const row = toRow(record)
      await client.query(
        `UPDATE ${TABLE} SET raw = $3, client = $4, status = $5, updated_at = $6, block_height = $7, block_hash = $8, confirmations = $9,
           rebroadcasts = $10, unheld_rounds = $11, settled = $12, outcomes = $13
         WHERE chain = $1 AND txid = $2`,
        [chain, txid, row.raw, row.client, row.status, row.updated_at, row.block_height, row.block_hash, row.confirmations, row.rebroadcasts, row.unheld_rounds, row.settled, row.outcomes],
      )
      return applied
    })
  }

  async list(query: BroadcastQuery): Promise<BroadcastRecord[]> {
    const where: string[] = []
    const args: Array<string | number> = []
    if (query.chain !== undefined) {
      args.push(query.chain)
      where.push(`chain = $${args.length}`)
    }
    if (query.status !== undefined) {
      args.push(query.status)
      where.push(`status = $${args.length}`)
    }
    args.push(Math.min(Math.max(1, query.limit ?? 50), 1000))
    const sql = `SELECT * FROM ${TABLE} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY first_seen_at DESC LIMIT $${args.length}`
    return (await this.#query<Row>(sql, args)).rows.map(fromRow)
  }

  async open(chain: string): Promise<BroadcastRecord[]> {
    return (await this.#query<Row>(`SELECT * FROM ${TABLE} WHERE chain = $1 AND ${OPEN} ORDER BY first_seen_at`, [chain])).rows.map(fromRow)
  }

  async claimDue(chain: string, claim: ClaimRequest): Promise<BroadcastRecord[]> {
    if (claim.limit <= 0) return []
    // SKIP LOCKED: rows another replica is claiming (or updating) this instant are left to it, never waited for.
    const { rows } = await this.#write<Row>(
      `UPDATE ${TABLE} AS b SET lease_owner = $2, lease_until = $4, claim_order = nextval('switchyard_claim_order')
       FROM (
         SELECT chain, txid FROM ${TABLE}
         WHERE chain = $1 AND ${OPEN} AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until <= $3)
         ORDER BY claim_order, first_seen_at LIMIT $5
         FOR UPDATE SKIP LOCKED
       ) AS due
       WHERE b.chain = due.chain AND b.txid = due.txid
       RETURNING b.*`,
      [chain, claim.owner, claim.now, claim.now + claim.leaseMs, claim.limit],
    )
    return rows.map(fromRow).sort((a, b) => a.firstSeenAt - b.firstSeenAt)
  }

  async releaseClaims(owner: string): Promise<number> {
    const { rowCount } = await this.#write(`UPDATE ${TABLE} SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1 AND ${OPEN}`, [owner])
    return rowCount ?? 0
  }

  async count(chain: string, statuses: readonly BroadcastStatus[], client?: string | null): Promise<number> {
    if (statuses.length === 0) return 0
    const args: Array<string | string[] | null> = [chain, [...statuses]]
    let sql = `SELECT COUNT(*) AS count FROM ${TABLE} WHERE chain = $1 AND status = ANY($2::text[])`
    if (client !== undefined) {
      args.push(client)
      sql += ' AND client IS NOT DISTINCT FROM $3'
    }
    const { rows } = await this.#query<{ count: string }>(sql, args)
    return Number(rows[0]?.count ?? 0)
  }

  /** Space comes back through the server's autovacuum; replicas pruning at once delete disjoint rows. */
  async prune(updatedBefore: number, limit: number): Promise<number> {
    if (limit <= 0) return 0
    const { rowCount } = await this.#write(
      `DELETE FROM ${TABLE} WHERE (chain, txid) IN (
         SELECT chain, txid FROM ${TABLE} WHERE updated_at < $1 AND NOT ${OPEN} ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [updatedBefore, limit],
    )
    return rowCount ?? 0
  }

  async health(): Promise<JournalHealth> {
    if (this.#closed) return { ok: false, detail: 'the journal is closed' }
    try {
      const { rows } = await this.#query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery', [])
      // A standby after a failover answers reads and refuses every write.
      if (rows[0]?.recovery === true) return { ok: false, detail: 'the PostgreSQL journal server is a read-only standby (in recovery): writes fail' }
    } catch (error) {
      return { ok: false, detail: (error as Error).message }
    }
    if (this.#writeFailure === undefined) return { ok: true, detail: '' }
    try {
      await this.#write('INSERT INTO switchyard_journal_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at', [Date.now()])
    } catch (error) {
      return { ok: false, detail: `writes fail: ${(error as Error).message}` }
    }
    const cleared = this.#writeFailure
    this.#writeFailure = undefined
    return { ok: true, detail: `writes work again (last failure: ${cleared})`, repaired: true }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Waits for running operations to hand their connections back.
    await this.#pool.end()
  }

  /** The schema at this code's version; run once, again after a failure (the server was not up yet). */
  #migrated(): Promise<void> {
    this.#ready ??= this.#migrate().catch((error: unknown) => {
      this.#ready = undefined
      throw error
    })
    return this.#ready
  }

  async #migrate(): Promise<void> {
    const client = await this.#pool.connect()
    const ignore = (): void => undefined
    client.on('error', ignore)
    let broken = false
    try {
      await client.query('BEGIN')
      // Transaction-scoped: released by COMMIT/ROLLBACK, or by the server if this process dies.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard.journal.schema'))`)
      await client.query('CREATE TABLE IF NOT EXISTS switchyard_schema_version (version INTEGER NOT NULL)')
      const { rows } = await client.query<{ version: number }>('SELECT version FROM switchyard_schema_version')
      if (rows.length === 0) await client.query('INSERT INTO switchyard_schema_version (version) VALUES (0)')
      const from = rows[0]?.version ?? 0
      for (const step of MIGRATIONS.slice(from)) await client.query(step)
      if (from < MIGRATIONS.length) await client.query('UPDATE switchyard_schema_version SET version = $1', [MIGRATIONS.length])
      await client.query('COMMIT')
    } catch (error) {
      broken = !(await rolledBack(client))
      throw error
    } finally {
      client.off('error', ignore)
      client.release(broken)
    }
  }

  async #query<T extends pg.QueryResultRow>(sql: string, args: unknown[]): Promise<pg.QueryResult<T>> {
    try {
      await this.#migrated()
      return await this.#pool.query<T>(sql, args)
    } catch (error) {
      throw this.#error(error)
    }
  }

  /** A write: its failure is remembered until a probe write in `health()` works again. */
  async #write<T extends pg.QueryResultRow>(sql: string, args: unknown[]): Promise<pg.QueryResult<T>> {
    try {
      return await this.#query<T>(sql, args)
    } catch (error) {
      this.#writeFailure = (error as Error).message
      throw error
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient | undefined
    const ignore = (): void => undefined
    let broken = false
    try {
      await this.#migrated()
      client = await this.#pool.connect()
      // A checked-out client's connection error also rejects its query; the event alone must not end the process.
      client.on('error', ignore)
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      if (client !== undefined) broken = !(await rolledBack(client))
      const failure = this.#error(error)
      this.#writeFailure = failure.message
      throw failure
    } finally {
      client?.off('error', ignore)
      // A connection that cannot even roll back is discarded, not handed to the next write.
      client?.release(broken)
    }
  }

  #error(error: unknown): PostgresJournalError {
    if (error instanceof PostgresJournalError) return error
    const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined
    const message = error instanceof Error ? error.message : String(error)
    const text = this.#redact(message === '' && code !== undefined ? code : message)
    return new PostgresJournalError(`PostgreSQL journal: ${text}${code !== undefined && !text.includes(code) ? ` (${code})` : ''}`, code)
  }
}

/**
 * Replaces the URL, its password and its host in a message: what `pg` and the socket put in error
 * texts (a host in "connect ECONNREFUSED host:port", never the password, but an unusual driver
 * path must not leak it either). Short parts (under 3 characters) are left, they would mangle words.
 */
export function redactor(url: string): (text: string) => string {
  const replacements: Array<[string, string]> = [[url, '<journal url>']]
  try {
    const parsed = new URL(url)
    const secrets = [parsed.password, safeDecode(parsed.password)]
    for (const secret of secrets) if (secret.length >= 3) replacements.push([secret, '***'])
    if (parsed.hostname !== '') {
      if (parsed.port !== '') replacements.push([`${parsed.hostname}:${parsed.port}`, '<journal host>'])
      if (parsed.hostname.length >= 3) replacements.push([parsed.hostname, '<journal host>'])
    }
  } catch {
    // Not a URL (a key=value string): only the whole string is known to be secret.
  }
  return (text) => replacements.reduce((out, [secret, mark]) => out.split(secret).join(mark), text)
}

async function rolledBack(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK')
    return true
  } catch {
    return false
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** PostgreSQL text refuses NUL; a node's hostile reply must not make a journal write fail. */
function text(value: string | undefined): string | null {
  return value === undefined ? null : value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value
}

interface RowValues {
  chain: string
  txid: string
  raw: string | null
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
  settled: boolean
  outcomes: string
}

function toRow(record: BroadcastRecord): RowValues {
  return {
    chain: record.chain,
    txid: record.txid,
    raw: text(record.raw),
    client: text(record.client),
    status: record.status,
    first_seen_at: record.firstSeenAt,
    updated_at: record.updatedAt,
    block_height: record.blockHeight ?? null,
    block_hash: text(record.blockHash),
    confirmations: record.confirmations,
    rebroadcasts: record.rebroadcasts,
    unheld_rounds: record.unheldRounds ?? 0,
    sender: text(record.sender),
    nonce: record.nonce ?? null,
    settled: record.settled === true,
    outcomes: JSON.stringify(record.outcomes),
  }
}

function fromRow(row: Row): BroadcastRecord {
  return {
    chain: row.chain,
    txid: row.txid,
    ...(row.raw === null ? {} : { raw: row.raw }),
    ...(row.client === null ? {} : { client: row.client }),
    status: row.status as BroadcastStatus,
    firstSeenAt: Number(row.first_seen_at),
    updatedAt: Number(row.updated_at),
    blockHeight: row.block_height === null ? undefined : Number(row.block_height),
    blockHash: row.block_hash ?? undefined,
    confirmations: Number(row.confirmations),
    rebroadcasts: Number(row.rebroadcasts),
    ...(row.unheld_rounds > 0 ? { unheldRounds: row.unheld_rounds } : {}),
    sender: row.sender ?? undefined,
    nonce: row.nonce === null ? undefined : Number(row.nonce),
    ...(row.settled ? { settled: true } : {}),
    outcomes: JSON.parse(row.outcomes) as BroadcastRecord['outcomes'],
  }
}
