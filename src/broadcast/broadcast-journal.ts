/**
 * The durable record of every accepted broadcast: written before the client hears "accepted", read
 * back after a restart so rebroadcasting resumes. One small interface, so a PostgreSQL store for
 * several replicas can sit behind it later; the embedded default is SQLite (sqlite-journal.ts).
 */

/**
 * `pending` (accepted, not yet seen confirmed) → `seen` (in a mempool) → `confirmed` (depth reached);
 * or `dropped` (gone from every mempool past the drop window), `conflicted` (another transaction
 * spends its inputs / uses its nonce), `rejected` (no node accepted it; kept for the record).
 */
export type BroadcastStatus = 'pending' | 'seen' | 'confirmed' | 'dropped' | 'conflicted' | 'rejected'

/** One node's part in a broadcast: a send's verdict or a lookup's finding. */
export interface NodeOutcome {
  nodeId: string
  /** accepted | already-known | ambiguous | conflict | invalid | node-local | failed | skipped | rebroadcast | seen | absent */
  outcome: string
  /** The node's error code, when it answered one. */
  code?: number | undefined
  /** Human-readable: the node's message or the failure, never a URL. */
  message?: string | undefined
  /** ms since epoch */
  at: number
}

export interface BroadcastRecord {
  chain: string
  /** txid / transaction hash, computed locally. */
  txid: string
  /** The signed transaction exactly as the client sent it. */
  raw: string
  status: BroadcastStatus
  /** ms since epoch */
  firstSeenAt: number
  updatedAt: number
  /** Height and hash of the block that holds it, once confirmed or seen in a block. */
  blockHeight?: number | undefined
  blockHash?: string | undefined
  confirmations: number
  /** Rebroadcasts made after the first fan-out. */
  rebroadcasts: number
  /** Deep enough that no reorg is expected: no longer watched. */
  settled?: boolean | undefined
  /** EVM sender and nonce, kept for conflict checks after a restart. */
  sender?: string | undefined
  nonce?: number | undefined
  outcomes: NodeOutcome[]
}

export interface BroadcastQuery {
  chain?: string | undefined
  status?: BroadcastStatus | undefined
  /** Most recent first; default 50, at most 1000. */
  limit?: number | undefined
}

export interface BroadcastJournal {
  get(chain: string, txid: string): Promise<BroadcastRecord | undefined>
  /** Inserts or replaces the whole record. */
  save(record: BroadcastRecord): Promise<void>
  list(query: BroadcastQuery): Promise<BroadcastRecord[]>
  /** Records still to be watched (pending, seen, and confirmed ones still inside their reorg window). */
  open(chain: string): Promise<BroadcastRecord[]>
  close(): Promise<void>
}

/** A journal in memory, for library users who opt out of persistence and for tests. */
export class MemoryJournal implements BroadcastJournal {
  readonly #records = new Map<string, BroadcastRecord>()

  async get(chain: string, txid: string): Promise<BroadcastRecord | undefined> {
    const record = this.#records.get(`${chain}/${txid}`)
    return record === undefined ? undefined : structuredClone(record)
  }

  async save(record: BroadcastRecord): Promise<void> {
    this.#records.set(`${record.chain}/${record.txid}`, structuredClone(record))
  }

  async list(query: BroadcastQuery): Promise<BroadcastRecord[]> {
    return [...this.#records.values()]
      .filter((record) => (query.chain === undefined || record.chain === query.chain) && (query.status === undefined || record.status === query.status))
      .sort((a, b) => b.firstSeenAt - a.firstSeenAt)
      .slice(0, Math.min(query.limit ?? 50, 1000))
      .map((record) => structuredClone(record))
  }

  async open(chain: string): Promise<BroadcastRecord[]> {
    return [...this.#records.values()].filter((record) => record.chain === chain && isOpen(record)).map((record) => structuredClone(record))
  }

  async close(): Promise<void> {}
}

/** Watched by the rebroadcaster: not final yet, or confirmed but still reorg-able. */
export function isOpen(record: BroadcastRecord): boolean {
  return record.status === 'pending' || record.status === 'seen' || (record.status === 'confirmed' && record.settled !== true)
}
