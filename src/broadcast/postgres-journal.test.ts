/**
 * What only the PostgreSQL store has to get right, on a real server started for this file:
 * migrations that replicas starting at once run once, credentials that never reach a message,
 * a server that turns read-only (a failover to a standby) and back, connections the server drops,
 * and node text PostgreSQL would refuse. The shared contract is in broadcast-journal.test.ts.
 */
import pg from 'pg'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { refusedPort } from '../devnet/free-port.js'
import { waitFor } from '../devnet/wait-for.js'
import { POSTGRES_SCHEMA_VERSION, PostgresJournal, PostgresJournalError, redactor } from './postgres-journal.js'
import { journalRecord } from '../../test/support/journal-record.js'
import { type PostgresServer, startPostgres } from '../../test/support/postgres.js'

const record = journalRecord

let server: PostgresServer
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(async () => {
  await server?.stop()
})

const opened: PostgresJournal[] = []
const journalAt = (url: string, poolSize?: number): PostgresJournal => {
  const journal = new PostgresJournal({ url, poolSize })
  opened.push(journal)
  return journal
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((journal) => journal.close()))
})

/** Runs SQL as the superuser on `url`'s database. */
async function admin<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end()
  }
}

test('replicas starting at once migrate the schema once (advisory lock), and a later start changes nothing', async () => {
  const url = await server.createDatabase()
  const replicas = Array.from({ length: 6 }, () => journalAt(url, 1))
  // Each one's first operation runs the migration; all at the same moment.
  expect(await Promise.all(replicas.map((journal, index) => journal.insert(record(`t${index}`))))).toEqual(Array(6).fill(true))
  expect(await admin<{ version: number }>(url, 'SELECT version FROM switchyard_schema_version')).toEqual([{ version: POSTGRES_SCHEMA_VERSION }])
  const later = journalAt(url)
  expect(await later.health()).toEqual({ ok: true, detail: '' })
  expect((await later.list({})).map((entry) => entry.txid).sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5'])
  expect(await admin<{ version: number }>(url, 'SELECT version FROM switchyard_schema_version')).toEqual([{ version: POSTGRES_SCHEMA_VERSION }])
})

test('an unreachable server: operations fail and health says so, and neither names the password, the user or the URL', async () => {
  const port = await refusedPort()
  const url = `postgres://journal-user:s3cret-Passw0rd@127.0.0.1:${port}/switchyard`
  const journal = journalAt(url)
  const failure = await journal.insert(record('t1')).then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(failure).toBeInstanceOf(PostgresJournalError)
  const health = await journal.health()
  expect(health.ok).toBe(false)
  for (const text of [(failure as Error).message, health.detail, JSON.stringify(failure)]) {
    expect(text).toMatch(/ECONNREFUSED/)
    expect(text).not.toContain('s3cret')
    expect(text).not.toContain(url)
    expect(text).not.toContain(String(port))
  }
  // No cause is kept: pg's error carries the connection parameters.
  expect((failure as Error).cause).toBeUndefined()
})

test('redactor: the URL, its password (also percent-decoded) and its host go; short parts and other text stay', () => {
  const redact = redactor('postgresql://app:p%40ss-word@db.internal:6543/journal')
  expect(redact('connect ECONNREFUSED db.internal:6543')).toBe('connect ECONNREFUSED <journal host>')
  expect(redact('getaddrinfo ENOTFOUND db.internal')).toBe('getaddrinfo ENOTFOUND <journal host>')
  expect(redact('bad password p@ss-word or p%40ss-word')).toBe('bad password *** or ***')
  expect(redact('postgresql://app:p%40ss-word@db.internal:6543/journal is wrong')).toBe('<journal url> is wrong')
  expect(redactor('not a url at all')('x not a url at all y')).toBe('x <journal url> y')
})

test('the database turns read-only (a failover to a standby): writes fail, health probes with a write and reports it; writable again → repaired', async () => {
  const url = await server.createDatabase()
  const database = new URL(url).pathname.slice(1)
  const journal = journalAt(url)
  await journal.insert(record('before'))
  const superuser = server.url('postgres')
  // New sessions are read-only; the journal's open connections are cut so it reconnects into one.
  await admin(superuser, `ALTER DATABASE ${database} SET default_transaction_read_only = on`)
  await admin(superuser, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`)
  const failed = await waitFor(
    async () => {
      try {
        await journal.insert(record('during'))
        return undefined
      } catch (error) {
        return /read-only/.test((error as Error).message) ? (error as PostgresJournalError) : undefined
      }
    },
    { what: 'a write refused as read-only' },
  )
  expect(failed.code).toBe('25006')
  expect(await journal.health()).toMatchObject({ ok: false, detail: expect.stringMatching(/^writes fail: .*read-only/) })
  await admin(superuser, `ALTER DATABASE ${database} RESET default_transaction_read_only`)
  await admin(superuser, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`)
  const repaired = await waitFor(async () => {
    const health = await journal.health()
    return health.ok ? health : undefined
  }, { what: 'health to find writes working' })
  expect(repaired).toMatchObject({ ok: true, repaired: true, detail: expect.stringMatching(/^writes work again/) })
  expect(await journal.insert(record('after'))).toBe(true)
  expect((await journal.list({})).map((entry) => entry.txid).sort()).toEqual(['after', 'before'])
})

test('connections the server drops (restart, idle timeout) do not end the process; the pool reconnects', async () => {
  const url = await server.createDatabase()
  const database = new URL(url).pathname.slice(1)
  const journal = journalAt(url, 4)
  await Promise.all(Array.from({ length: 8 }, (_, index) => journal.insert(record(`t${index}`))))
  const cut = await admin<{ cut: boolean }>(server.url('postgres'), `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = '${database}'`)
  expect(cut.length).toBeGreaterThan(0)
  // Idle connections learn of it as an error event (handled); the next operations get new ones.
  const found = await waitFor(async () => (await journal.get('btc', 't3').catch(() => undefined)) ?? undefined, { what: 'a read on a new connection' })
  expect(found.txid).toBe('t3')
  expect(await journal.update('btc', 't3', { expect: 'pending', set: { status: 'seen' }, at: 5 })).toBe(true)
})

test('node text PostgreSQL refuses (NUL characters) is stored, never fails the write', async () => {
  const journal = journalAt(await server.createDatabase())
  const hostile = record('t1', { blockHash: 'ab\u0000cd', outcomes: [{ nodeId: 'a', outcome: 'accepted', message: 'bad\u0000reply', at: 1 }] })
  expect(await journal.insert(hostile)).toBe(true)
  const stored = await journal.get('btc', 't1')
  expect(stored?.outcomes[0]?.message).toBe('bad\u0000reply')
  expect(stored?.blockHash).toBe('ab\uFFFDcd')
  expect(await journal.update('btc', 't1', { append: [{ nodeId: 'b', outcome: 'x', message: '\u0000', at: 2 }], at: 2 })).toBe(false)
  expect((await journal.get('btc', 't1'))?.outcomes).toHaveLength(2)
})

test('a closed journal says so', async () => {
  const journal = journalAt(await server.createDatabase())
  await journal.close()
  expect(await journal.health()).toEqual({ ok: false, detail: 'the journal is closed' })
})
