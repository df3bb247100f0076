/**
 * The broadcast journal store a config asks for (`journal.store`). `shared` says whether more than
 * one process may open it: node:cluster workers (`server.workers` ≠ 1) open one SQLite file in
 * shared mode (normal locking, WAL, busy waits, claims kept) instead of with the exclusive lock a
 * single proxy takes; PostgreSQL is always shared. A store a process opens alone stays exactly as
 * before.
 */
import type { ProxyConfig } from '../config/schema.js'
import type { BroadcastJournal } from './broadcast-journal.js'
import { PostgresJournal } from './postgres-journal.js'
import { SqliteJournal } from './sqlite-journal.js'

export interface CreateJournalOptions {
  /** More than one process may open the store at once. */
  shared: boolean
}

/** Throws when the config cannot give a store (SQLite: the file cannot be opened). */
export function createJournal(config: ProxyConfig['journal'], options: CreateJournalOptions): BroadcastJournal {
  const { outcomeHistory } = config
  if (config.store === 'postgres') {
    // The schema refuses store: postgres without a URL; a config built in code may still lack it.
    if (config.postgres === undefined) throw new Error('journal.postgres.url is required when journal.store is postgres')
    return new PostgresJournal({ url: config.postgres.url, poolSize: config.postgres.poolSize, outcomeHistory })
  }
  if (options.shared && config.path === ':memory:') {
    throw new Error(`journal.path ':memory:' cannot be shared by several processes (server.workers ≠ 1): give a file, or use journal.store: postgres`)
  }
  return new SqliteJournal(config.path, { outcomeHistory, shared: options.shared })
}
