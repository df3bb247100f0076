/**
 * The durable record of every accepted broadcast: written before the client hears "accepted", read
 * back after a restart so rebroadcasting resumes. One small interface with three stores: SQLite
 * (sqlite-journal.ts, the embedded default; one process, or several on one machine in shared
 * mode), PostgreSQL (postgres-journal.ts, several replicas) and memory (tests, no persistence).
 *
 * Several processes on one store share its records but must not all rebroadcast the same one:
 * a rebroadcast round works only on records it claimed (`claimDue`). A claim is a lease: the
 * owner (one id per proxy process) renews it every round; a record whose owner died becomes
 * claimable by another once its lease ran out.
 *
 * Writers never replace a record from a snapshot they read earlier: a record is created once
 * (`insert`), and every later write is an `update` that appends outcomes (facts are never lost)
 * and changes the status only if it is still the one the writer based its decision on
 * (compare-and-set). The broadcaster's background write and a rebroadcast round on the same
 * record therefore cannot overwrite each other.
 *
 * Records stay bounded (`boundRecord`, applied by every store on every write): the raw bytes are
 * kept only while the record is open (the rebroadcaster is their only reader; a rejected junk
 * transaction never stores them), outcomes keep each node's first and latest entry plus the last
 * `outcomeHistory` entries (a record stuck for days stops growing), and node messages are cut to
 * `MAX_OUTCOME_MESSAGE_CHARS`. Closed records are deleted after `journal.retentionDays` (`prune`,
 * run by journal-retention.ts).
 */

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'

/**
 * `pending` (accepted, not yet seen confirmed) → `seen` (in a mempool) → `confirmed` (depth reached);
 * or `dropped` (no node holds it after `broadcast.dropAfterRounds` rebroadcast rounds),
 * `conflicted` (another transaction spends its inputs / uses its nonce), `rejected` (no node can
 * be shown to hold it; kept for the record).
 */
export type BroadcastStatus = 'pending' | 'seen' | 'confirmed' | 'dropped' | 'conflicted' | 'rejected'

/** What a lookup on a node showed: the transaction in its mempool or a block, absent, conflicting, or no answer. */
export type LookupState = 'mempool' | 'confirmed' | 'absent' | 'conflict' | 'unknown'

/** One node's part in a broadcast: a send's verdict, a lookup's finding, or both. */
export interface NodeOutcome {
  nodeId: string
  /**
   * accepted | already-known | ambiguous | conflict | invalid | node-local | failed | id-mismatch |
   * lookup (a lookup without a send); `repeat: <verdict>` (a client's repeat re-sent it);
   * `rebroadcast: <verdict>`; `lookup: conflict`.
   */
  outcome: string
  /** The node's error code, when it answered one. */
  code?: number | undefined
  /** Human-readable: the node's message or the failure, never a URL. */
  message?: string | undefined
  /** What the lookup on this node right after its reply showed (only mempool/confirmed prove it holds the transaction). */
  lookup?: LookupState | undefined
  /** ms since epoch */
  at: number
}

export interface BroadcastRecord {
  chain: string
  /** txid / transaction hash, computed locally. */
  txid: string
  /**
   * The signed transaction exactly as the client sent it; kept only while the record is open
   * (`isOpen`): undefined once it is rejected, dropped, conflicted or settled.
   */
  raw?: string | undefined
  /** The client that broadcast it (its configured name); undefined: anonymous (no client keys). */
  client?: string | undefined
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
  /** Consecutive rebroadcast rounds in which no node was shown to hold it (reset when one does). */
  unheldRounds?: number | undefined
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

/** Fields an update may set (null clears an optional one). */
export interface RecordFields {
  status?: BroadcastStatus
  blockHeight?: number | null
  blockHash?: string | null
  confirmations?: number
  unheldRounds?: number
  settled?: boolean
  /** The bytes again, for a closed record broadcast anew (kept only while the record is open). */
  raw?: string
  /** Who broadcast it anew (null: anonymous). */
  client?: string | null
}

export interface RecordChange {
  /** Appended to the record's outcomes whatever its status: facts are never dropped. */
  append?: readonly NodeOutcome[]
  /** Added to `rebroadcasts` whatever the status (re-sends happened). */
  rebroadcasts?: number
  /**
   * Compare-and-set: `set` applies only while the record's status is this one (or one of these).
   * Omitted: `set` applies unconditionally (only for fields that do not depend on the status).
   */
  expect?: BroadcastStatus | readonly BroadcastStatus[]
  set?: RecordFields
  /** ms since epoch: the record's new `updatedAt`. */
  at: number
}

export interface JournalHealth {
  /** The store takes writes and its file (if any) is where it was opened. */
  ok: boolean
  /** Why not, or what was done about it (restored…), for people; '' when nothing to say. */
  detail: string
  /** It was broken and this check repaired it (a vanished file restored, writes work again). */
  repaired?: boolean | undefined
}

/** A rebroadcast round asking for the records it may work on now. */
export interface ClaimRequest {
  /** Who claims: unique per proxy process (`newClaimOwner()`), the same for all its rounds. */
  owner: string
  /** ms since epoch (the caller's clock: replicas' clocks must agree to well within `leaseMs`). */
  now: number
  /** How long the claim lasts from `now`, ms; the owner renews it every round. */
  leaseMs: number
  /** At most this many records, the least recently claimed first. */
  limit: number
}

/** Who this process is on a shared journal and how long its claims last (`journal.claimLeaseMs`). */
export interface ClaimSettings {
  owner: string
  leaseMs: number
}

/** Default of `journal.claimLeaseMs`, ms. */
export const DEFAULT_CLAIM_LEASE_MS = 30_000

/** A claim owner id: host name, pid and a random part, so two processes (or two proxies in one) never share one. */
export function newClaimOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
}

export interface BroadcastJournal {
  /**
   * The claim settings of this process's view of the journal (the proxy's `MonitoredJournal` has
   * them from the config); a rebroadcaster uses them unless told otherwise.
   */
  readonly claims?: ClaimSettings | undefined
  get(chain: string, txid: string): Promise<BroadcastRecord | undefined>
  /** Adds a new record; false (and nothing written) when one exists for that chain and txid. */
  insert(record: BroadcastRecord): Promise<boolean>
  /**
   * Appends outcomes and adds rebroadcasts, and applies `set` if the status still matches `expect`;
   * atomically. Returns whether `set` applied (false also when there is no such record).
   */
  update(chain: string, txid: string, change: RecordChange): Promise<boolean>
  list(query: BroadcastQuery): Promise<BroadcastRecord[]>
  /** Records still to be watched (pending, seen, and confirmed ones still inside their reorg window). */
  open(chain: string): Promise<BroadcastRecord[]>
  /**
   * Leases to `claim.owner`, until `now + leaseMs`, up to `limit` open records of `chain` that are
   * unclaimed, already its own, or whose lease ran out (`leaseUntil <= now`), least recently
   * claimed first (by claim order, not time: a store keeps a claim sequence), and returns them
   * (oldest first). Atomic across processes: two concurrent
   * claimers never get the same record. The records' content is untouched (`update` does not touch
   * claims either). A store without it serves one process only: rebroadcasters then use `open`.
   */
  claimDue?(chain: string, claim: ClaimRequest): Promise<BroadcastRecord[]>
  /** Ends every lease `owner` holds (a clean shutdown), so other processes need not wait for them to run out; how many. */
  releaseClaims?(owner: string): Promise<number>
  /**
   * How many records of `chain` have one of `statuses` (a COUNT, no rows read). `client`: only that
   * client's records (null: only anonymous ones); undefined: every client's.
   */
  count(chain: string, statuses: readonly BroadcastStatus[], client?: string | null): Promise<number>
  /**
   * Deletes up to `limit` closed records (not `isOpen`) last updated before `updatedBefore` (ms
   * since epoch), oldest first, and returns how many it deleted. Open records are never deleted.
   */
  prune(updatedBefore: number, limit: number): Promise<number>
  /**
   * Checks that the store is usable now (file still there, writable; a store that failed a write
   * is probed with a write) and repairs what it can. Never throws.
   */
  health(): Promise<JournalHealth>
  close(): Promise<void>
}

/** What every store keeps of a record. */
export interface JournalLimits {
  /** Outcomes kept besides each node's first and latest one: the most recent this many. */
  outcomeHistory: number
}

/** Default of `journal.outcomeHistory`. */
export const DEFAULT_OUTCOME_HISTORY = 50
/** A node's error message is a hint for people; a hostile or broken node must not fill the journal with it. */
export const MAX_OUTCOME_MESSAGE_CHARS = 512

/**
 * The record as a store keeps it: raw bytes only while open, outcomes bounded (each node's first and
 * latest entry, plus the last `outcomeHistory`; order kept), messages cut. Pure.
 */
export function boundRecord(record: BroadcastRecord, limits: JournalLimits = { outcomeHistory: DEFAULT_OUTCOME_HISTORY }): BroadcastRecord {
  const bounded: BroadcastRecord = { ...record, outcomes: boundOutcomes(record.outcomes, limits.outcomeHistory) }
  if (!isOpen(bounded)) delete bounded.raw
  return bounded
}

/** Each node's first entry (what the first fan-out showed) and latest (where it stands now), plus the last `history` entries. */
export function boundOutcomes(outcomes: readonly NodeOutcome[], history: number): NodeOutcome[] {
  const cut = (outcome: NodeOutcome): NodeOutcome =>
    outcome.message !== undefined && outcome.message.length > MAX_OUTCOME_MESSAGE_CHARS ? { ...outcome, message: `${outcome.message.slice(0, MAX_OUTCOME_MESSAGE_CHARS)}…` } : outcome
  if (outcomes.length <= history) return outcomes.map(cut)
  const keep = new Set<number>()
  const first = new Map<string, number>()
  const latest = new Map<string, number>()
  outcomes.forEach((outcome, index) => {
    if (!first.has(outcome.nodeId)) first.set(outcome.nodeId, index)
    latest.set(outcome.nodeId, index)
  })
  for (const index of [...first.values(), ...latest.values()]) keep.add(index)
  for (let index = Math.max(0, outcomes.length - history); index < outcomes.length; index++) keep.add(index)
  return outcomes.filter((_, index) => keep.has(index)).map(cut)
}

/**
 * `record` after `change` (bounded by `limits`), and whether `set` applied. Pure: both stores use
 * it, so they cannot drift apart.
 */
export function applyChange(record: BroadcastRecord, change: RecordChange, limits?: JournalLimits): { record: BroadcastRecord; applied: boolean } {
  const next: BroadcastRecord = {
    ...record,
    outcomes: change.append === undefined ? record.outcomes : [...record.outcomes, ...change.append],
    rebroadcasts: record.rebroadcasts + (change.rebroadcasts ?? 0),
    updatedAt: Math.max(record.updatedAt, change.at),
  }
  const expected = change.expect === undefined ? undefined : typeof change.expect === 'string' ? [change.expect] : change.expect
  const applied = change.set !== undefined && (expected === undefined || expected.includes(record.status))
  if (applied) {
    const { status, blockHeight, blockHash, confirmations, unheldRounds, settled, raw, client } = change.set!
    if (status !== undefined) next.status = status
    if (raw !== undefined) next.raw = raw
    if (client !== undefined) next.client = client ?? undefined
    if (blockHeight !== undefined) next.blockHeight = blockHeight ?? undefined
    if (blockHash !== undefined) next.blockHash = blockHash ?? undefined
    if (confirmations !== undefined) next.confirmations = confirmations
    if (unheldRounds !== undefined) next.unheldRounds = unheldRounds === 0 ? undefined : unheldRounds
    if (settled !== undefined) next.settled = settled
  }
  return { record: boundRecord(next, limits), applied }
}

interface Lease {
  owner: string
  until: number
  /** Claim sequence number: a higher one was claimed later (clocks may stand still in tests). */
  order: number
}

/** A journal in memory, for library users who opt out of persistence and for tests. Claims work between owners of this process. */
export class MemoryJournal implements BroadcastJournal {
  readonly #records = new Map<string, BroadcastRecord>()
  readonly #leases = new Map<string, Lease>()
  #claims = 0
  readonly #limits: JournalLimits

  constructor(limits: Partial<JournalLimits> = {}) {
    this.#limits = { outcomeHistory: limits.outcomeHistory ?? DEFAULT_OUTCOME_HISTORY }
  }

  async get(chain: string, txid: string): Promise<BroadcastRecord | undefined> {
    const record = this.#records.get(`${chain}/${txid}`)
    return record === undefined ? undefined : structuredClone(record)
  }

  async insert(record: BroadcastRecord): Promise<boolean> {
    const key = `${record.chain}/${record.txid}`
    if (this.#records.has(key)) return false
    this.#records.set(key, boundRecord(structuredClone(record), this.#limits))
    return true
  }

  async update(chain: string, txid: string, change: RecordChange): Promise<boolean> {
    const key = `${chain}/${txid}`
    const record = this.#records.get(key)
    if (record === undefined) return false
    const { record: next, applied } = applyChange(record, structuredClone(change), this.#limits)
    this.#records.set(key, next)
    return applied
  }

  /** Puts a record as given, replacing any: for seeding tests and imports, never for the broadcast path. */
  async save(record: BroadcastRecord): Promise<void> {
    this.#records.set(`${record.chain}/${record.txid}`, structuredClone(record))
  }

  async list(query: BroadcastQuery): Promise<BroadcastRecord[]> {
    return [...this.#records.values()]
      .filter((record) => (query.chain === undefined || record.chain === query.chain) && (query.status === undefined || record.status === query.status))
      .sort((a, b) => b.firstSeenAt - a.firstSeenAt)
      .slice(0, Math.min(Math.max(1, query.limit ?? 50), 1000))
      .map((record) => structuredClone(record))
  }

  async open(chain: string): Promise<BroadcastRecord[]> {
    return [...this.#records.values()]
      .filter((record) => record.chain === chain && isOpen(record))
      .sort((a, b) => a.firstSeenAt - b.firstSeenAt)
      .map((record) => structuredClone(record))
  }

  async claimDue(chain: string, claim: ClaimRequest): Promise<BroadcastRecord[]> {
    const due = [...this.#records.entries()]
      .filter(([key, record]) => {
        if (record.chain !== chain || !isOpen(record)) return false
        const lease = this.#leases.get(key)
        return lease === undefined || lease.owner === claim.owner || lease.until <= claim.now
      })
      .sort(([a, left], [b, right]) => (this.#leases.get(a)?.order ?? 0) - (this.#leases.get(b)?.order ?? 0) || left.firstSeenAt - right.firstSeenAt)
      .slice(0, Math.max(0, claim.limit))
    this.#claims += 1
    for (const [key] of due) this.#leases.set(key, { owner: claim.owner, until: claim.now + claim.leaseMs, order: this.#claims })
    return due.map(([, record]) => structuredClone(record)).sort((a, b) => a.firstSeenAt - b.firstSeenAt)
  }

  async releaseClaims(owner: string): Promise<number> {
    let released = 0
    for (const [key, lease] of this.#leases) {
      if (lease.owner !== owner) continue
      this.#leases.delete(key)
      released += 1
    }
    return released
  }

  async count(chain: string, statuses: readonly BroadcastStatus[], client?: string | null): Promise<number> {
    let count = 0
    for (const record of this.#records.values()) {
      if (record.chain !== chain || !statuses.includes(record.status)) continue
      if (client !== undefined && (record.client ?? null) !== client) continue
      count += 1
    }
    return count
  }

  async prune(updatedBefore: number, limit: number): Promise<number> {
    const expired = [...this.#records.entries()]
      .filter(([, record]) => !isOpen(record) && record.updatedAt < updatedBefore)
      .sort(([, a], [, b]) => a.updatedAt - b.updatedAt)
      .slice(0, Math.max(0, limit))
    for (const [key] of expired) {
      this.#records.delete(key)
      this.#leases.delete(key)
    }
    return expired.length
  }

  async health(): Promise<JournalHealth> {
    return { ok: true, detail: '' }
  }

  async close(): Promise<void> {}
}

/** Watched by the rebroadcaster: not final yet, or confirmed but still reorg-able. */
export function isOpen(record: BroadcastRecord): boolean {
  return record.status === 'pending' || record.status === 'seen' || (record.status === 'confirmed' && record.settled !== true)
}
