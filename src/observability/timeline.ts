/**
 * What operators see happen, in order: ejections, re-admissions, wrong chains, broadcast outcomes,
 * reorgs. A bounded in-memory list fed by proxy events, with live listeners (the event stream).
 */
import type { Proxy } from '../proxy.js'

export interface TimelineEntry {
  /** ms since epoch */
  at: number
  kind: 'node:state' | 'broadcast:accepted' | 'broadcast:confirmed' | 'broadcast:conflict' | 'broadcast:dropped' | 'broadcast:reorged' | 'config'
  chain: string
  nodeId?: string
  txid?: string
  from?: string
  to?: string
  /** One line for people. */
  text: string
}

export class Timeline {
  readonly #entries: TimelineEntry[] = []
  readonly #max: number
  readonly #listeners = new Set<(entry: TimelineEntry) => void>()
  readonly #unsubscribe: () => void

  constructor(proxy: Proxy, max = 500) {
    this.#max = max
    const progress = (kind: 'broadcast:confirmed' | 'broadcast:conflict' | 'broadcast:dropped' | 'broadcast:reorged') => (event: { chain: string; txid: string; detail: string }) =>
      this.add({ at: Date.now(), kind, chain: event.chain, txid: event.txid, text: `${kind.slice('broadcast:'.length)} ${event.txid}: ${event.detail}` })
    this.#unsubscribe = proxy.events.subscribe({
      'node:state': (event) =>
        this.add({ at: event.at, kind: 'node:state', chain: event.chain, nodeId: event.nodeId, from: event.from, to: event.to, text: `${event.nodeId}: ${event.from} → ${event.to} (${event.reason})` }),
      'broadcast:accepted': (event) =>
        this.add({ at: Date.now(), kind: 'broadcast:accepted', chain: event.chain, txid: event.txid, text: `broadcast ${event.txid} accepted by ${[...event.accepted, ...event.alreadyKnown].join(', ')}` }),
      'broadcast:confirmed': progress('broadcast:confirmed'),
      'broadcast:conflict': progress('broadcast:conflict'),
      'broadcast:dropped': progress('broadcast:dropped'),
      'broadcast:reorged': progress('broadcast:reorged'),
    })
  }

  add(entry: TimelineEntry): void {
    this.#entries.push(entry)
    if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max)
    for (const listener of this.#listeners) listener(entry)
  }

  /** The newest `limit` entries, oldest first. */
  recent(limit = 200): TimelineEntry[] {
    return this.#entries.slice(-limit)
  }

  subscribe(listener: (entry: TimelineEntry) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  close(): void {
    this.#unsubscribe()
    this.#listeners.clear()
  }
}
