/**
 * The journal as the proxy uses it: any store, watched. A failed write, or a check that finds the
 * store unusable (file or directory gone, not writable, writes failing), makes it unhealthy at
 * once: `/readyz` turns 503 (`Proxy.isReady()`) and a `journal:health` event says why (alerts and
 * metrics subscribe to it). Checks run every `journal.checkIntervalMs` once started, and the
 * store repairs what it can; when it works again a `recovered` event follows.
 */
import type { ProxyEvents } from '../proxy-events.js'
import type { Clock } from '../util/clock.js'
import type { BroadcastJournal, BroadcastQuery, BroadcastRecord, JournalHealth, RecordChange } from './broadcast-journal.js'

export interface MonitoredJournalOptions {
  events: ProxyEvents
  clock: Clock
  /** Time between checks of the store, ms. */
  checkIntervalMs: number
}

export class MonitoredJournal implements BroadcastJournal {
  readonly #store: BroadcastJournal
  readonly #options: MonitoredJournalOptions
  #state: JournalHealth = { ok: true, detail: '' }
  #timer: NodeJS.Timeout | undefined
  #checking: Promise<JournalHealth> | undefined
  #closed = false

  constructor(store: BroadcastJournal, options: MonitoredJournalOptions) {
    this.#store = store
    this.#options = options
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

  /** Checks the store now (one check at a time); emits an event when the state changes. */
  health(): Promise<JournalHealth> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined
    })
    return this.#checking
  }

  /** Starts the periodic checks. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return
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
    await this.#checking
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
