/**
 * A journal whose writes can be made to fail on demand (a full disk, an I/O error), for the paths
 * a real SQLite file cannot be pushed into at will from a test running as root.
 */
import { type BroadcastRecord, type JournalHealth, MemoryJournal, type RecordChange } from '../../src/broadcast/broadcast-journal.js'

export class FailingJournal extends MemoryJournal {
  /** While set, every insert/update throws this message and health() reports it. */
  failure: string | undefined
  /** Writes attempted while failing. */
  failedWrites = 0
  /** Checks see the failure only once a write met it (a disk that filled up between two checks). */
  silentUntilWritten = false
  #written = false

  override async insert(record: BroadcastRecord): Promise<boolean> {
    this.#maybeFail()
    return await super.insert(record)
  }

  override async update(chain: string, txid: string, change: RecordChange): Promise<boolean> {
    this.#maybeFail()
    return await super.update(chain, txid, change)
  }

  override async health(): Promise<JournalHealth> {
    if (this.failure === undefined) {
      this.#written = false
      return { ok: true, detail: '' }
    }
    return this.silentUntilWritten && !this.#written ? { ok: true, detail: '' } : { ok: false, detail: this.failure }
  }

  #maybeFail(): void {
    if (this.failure === undefined) return
    this.failedWrites += 1
    this.#written = true
    throw new Error(this.failure)
  }
}
