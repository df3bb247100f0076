/**
 * The journal as the proxy uses it: any store, watched. A failed write, or a check that finds the
 * store unusable (file or directory gone, not writable, writes failing), makes it unhealthy at
 * once: `/readyz` turns 503 (`Proxy.isReady()`) and a `journal:health` event says why (alerts and
 * metrics subscribe to it). Checks run every `journal.checkIntervalMs` once started, and the
 * store repairs what it can; when it works again a `recovered` event follows. Once started it also
 * deletes expired closed records (journal-retention.ts); a prune that fails counts as a failed write.
 *
 * It is also this proxy's identity on a journal several processes share: one claim owner id for
 * the proxy's life (rebroadcasters of reloaded chains go on with the same claims) and the lease
 * length from the config (`claims`). Closing it releases the proxy's claims, so after a clean
 * shutdown other processes take its records over at once instead of after the lease.
 */
import type { ProxyEvents } from '../proxy-events.js'
import type { Clock } from '../util/clock.js'
import {
  type BroadcastJournal,
  type BroadcastQuery,
  type BroadcastRecord,
  type BroadcastStatus,
  type ClaimRequest,
  type ClaimSettings,
  DEFAULT_CLAIM_LEASE_MS,
  type JournalHealth,
  type RecordChange,
  newClaimOwner,
} from './broadcast-journal.js'
import { JournalRetention } from './journal-retention.js'

export interface MonitoredJournalOptions {
  events: ProxyEvents
  clock: Clock
  /** Time between checks of the store, ms. */
  checkIntervalMs: number
  /** Days a closed record is kept after its last update; undefined: kept forever (no pruning). */
  retentionDays?: number | undefined
  /** Time between prune passes, ms; default one hour. */
  pruneIntervalMs?: number | undefined
  /** `journal.claimLeaseMs`: how long this proxy's claims on records last, ms. Default 30000. */
  claimLeaseMs?: number | undefined
  /** This proxy's claim owner id; default a new one (`newClaimOwner()`). */
  claimOwner?: string | undefined
}

const DEFAULT_PRUNE_INTERVAL_MS = 3_600_000

export class MonitoredJournal implements BroadcastJournal {
  readonly #store: BroadcastJournal
  readonly #options: MonitoredJournalOptions
  #state: JournalHealth = { ok: true, detail: '' }
  #timer: NodeJS.Timeout | undefined
  #checking: Promise<JournalHealth> | undefined
  #closed = false
  readonly #retention: JournalRetention | undefined
  readonly claims: ClaimSettings

  constructor(store: BroadcastJournal, options: MonitoredJournalOptions) {
    this.#store = store
    this.#options = options
    this.claims = { owner: options.claimOwner ?? newClaimOwner(), leaseMs: options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS }
    if (options.retentionDays !== undefined) {
      this.#retention = new JournalRetention(this, {
        clock: options.clock,
        retentionDays: options.retentionDays,
        pruneIntervalMs: options.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS,
      })
    }
  }

  /** Healthy as of the last write and check. */
  get healthy(): boolean {
    return this.#state.ok
  }

  get state(): JournalHealth {
    return { ...this.#state }
  }

  async get(chain: string, txid: string): Promise<BroadcastRecord | undefined> {
    return await this.#store.get(chain, txid)
  }

  async insert(record: BroadcastRecord): Promise<boolean> {
    try {
      return await this.#store.insert(record)
    } catch (error) {
      this.#failed(error, record.chain, record.txid)
      throw error
    }
  }

  async update(chain: string, txid: string, change: RecordChange): Promise<boolean> {
    try {
      return await this.#store.update(chain, txid, change)
    } catch (error) {
      this.#failed(error, chain, txid)
      throw error
    }
  }

  async list(query: BroadcastQuery): Promise<BroadcastRecord[]> {
    return await this.#store.list(query)
  }

  async open(chain: string): Promise<BroadcastRecord[]> {
    return await this.#store.open(chain)
  }

  /** The store's claims; a store without them (one process only) hands out every open record, whatever the limit. */
  async claimDue(chain: string, claim: ClaimRequest): Promise<BroadcastRecord[]> {
    if (this.#store.claimDue === undefined) return await this.#store.open(chain)
    try {
      return await this.#store.claimDue(chain, claim)
    } catch (error) {
      this.#set({ ok: false, detail: `claiming ${chain} records to rebroadcast failed: ${error instanceof Error ? error.message : String(error)}` }, { chain })
      throw error
    }
  }

  async releaseClaims(owner: string): Promise<number> {
    return (await this.#store.releaseClaims?.(owner)) ?? 0
  }

  async count(chain: string, statuses: readonly BroadcastStatus[], client?: string | null): Promise<number> {
    return await this.#store.count(chain, statuses, client)
  }

  async prune(updatedBefore: number, limit: number): Promise<number> {
    try {
      return await this.#store.prune(updatedBefore, limit)
    } catch (error) {
      this.#set({ ok: false, detail: `pruning expired records failed: ${error instanceof Error ? error.message : String(error)}` })
      throw error
    }
  }

  /** One retention pass now (tests, operators): deletes every expired closed record; how many. 0 without a retention. */
  async pruneExpired(): Promise<number> {
    return (await this.#retention?.prune()) ?? 0
  }

  /** Checks the store now (one check at a time); emits an event when the state changes. */
  health(): Promise<JournalHealth> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined
    })
    return this.#checking
  }

  /** Starts the periodic checks and prune passes; the first check runs at once (a server store may be unreachable from the start). */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return
    this.#retention?.start()
    void this.health()
    const schedule = (): void => {
      this.#timer = setTimeout(() => {
        void this.health().finally(() => {
          if (this.#timer !== undefined && !this.#closed) schedule()
        })
      }, this.#options.checkIntervalMs)
      this.#timer.unref()
    }
    schedule()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#retention?.stop()
    await this.#checking
    try {
      await this.#store.releaseClaims?.(this.claims.owner)
    } catch {
      // Unreleased claims only run out later; nothing is lost.
    }
    await this.#store.close()
  }

  async #check(): Promise<JournalHealth> {
    let found: JournalHealth
    try {
      found = await this.#store.health()
    } catch (error) {
      found = { ok: false, detail: `health check failed: ${error instanceof Error ? error.message : String(error)}` }
    }
    if (!found.ok) {
      this.#set({ ok: false, detail: found.detail })
    } else if (!this.#state.ok) {
      this.#set({ ok: true, detail: found.detail === '' ? 'the journal works again' : found.detail })
    } else if (found.repaired === true) {
      // Broken and repaired between two checks (a deleted file restored): operators still hear of it.
      this.#set({ ok: false, detail: found.detail })
      this.#set({ ok: true, detail: found.detail })
    }
    return this.state
  }

  #failed(error: unknown, chain: string, txid: string): void {
    const detail = `write of ${chain} ${txid} failed: ${error instanceof Error ? error.message : String(error)}`
    this.#set({ ok: false, detail }, { chain, txid })
  }

  #set(next: JournalHealth, subject: { chain?: string; txid?: string } = {}): void {
    const changed = next.ok !== this.#state.ok
    this.#state = { ok: next.ok, detail: next.detail }
    if (!changed) return
    this.#options.events.emit('journal:health', { state: next.ok ? 'recovered' : 'failed', detail: next.detail, ...subject, at: this.#options.clock.now() })
  }
}
