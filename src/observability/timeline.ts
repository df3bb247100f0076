/**
 * What operators see happen, in order: ejections, re-admissions, wrong chains, broadcast outcomes,
 * chain reorgs and forks, verified-read disagreements, journal failures, config reloads. A bounded in-memory list fed by proxy events, with live listeners (the event stream).
 */
import type { Proxy } from '../proxy.js'
import { changeChain, describeChange } from '../runtime/reload-plan.js'

export interface TimelineEntry {
  /** ms since epoch */
  at: number
  kind:
    | 'node:state'
    | 'broadcast:accepted'
    | 'broadcast:confirmed'
    | 'broadcast:conflict'
    | 'broadcast:dropped'
    | 'broadcast:reorged'
    | 'chain:reorg'
    | 'chain:fork'
    | 'read:disagree'
    | 'journal:health'
    | 'config'
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
      'chain:reorg': (event) =>
        this.add({ at: event.at, kind: 'chain:reorg', chain: event.chain, text: `reorg of depth ${event.depth} at height ${event.height} (${event.oldHash} → ${event.newHash})` }),
      'chain:fork': (event) =>
        this.add({
          at: event.at,
          kind: 'chain:fork',
          chain: event.chain,
          text:
            event.groups.length < 2
              ? `nodes agree again at height ${event.height}`
              : `nodes disagree about block ${event.height}${event.resolved ? '' : ' with no majority'}: ${event.groups.map((group) => `${group.hash} ${group.nodes.join(', ')}`).join(' | ')}`,
        }),
      'read:disagree': (event) =>
        this.add({
          at: event.at,
          kind: 'read:disagree',
          chain: event.chain,
          text: `nodes disagree on ${event.method}: ${event.answers.map((answer) => `${answer.nodeId} ${answer.hash}`).join(', ')}${event.minority.length > 0 ? `; outvoted: ${event.minority.join(', ')}` : ''}`,
        }),
      'journal:health': (event) =>
        this.add({ at: event.at, kind: 'journal:health', chain: event.chain ?? '', ...(event.txid === undefined ? {} : { txid: event.txid }), text: `broadcast journal ${event.state}: ${event.detail}` }),
      'config:reload': (event) => {
        const at = event.at
        if (event.changes.length === 0) this.add({ at, kind: 'config', chain: '', text: 'config reloaded: no changes' })
        for (const change of event.changes) {
          this.add({ at, kind: 'config', chain: changeChain(change), ...('nodeId' in change ? { nodeId: change.nodeId } : {}), text: `config reloaded: ${describeChange(change)}` })
        }
        if (event.restartRequired.length > 0) this.add({ at, kind: 'config', chain: '', text: `config reloaded: ${event.restartRequired.join(', ')} apply at the next restart` })
      },
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
