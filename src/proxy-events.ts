import type { ConfigChange } from './runtime/reload-plan.js'
import { EventEmitter } from 'node:events'
import type { NodeStatus } from './pool/node-health.js'

export interface NodeStateEvent {
  chain: string
  nodeId: string
  from: NodeStatus
  to: NodeStatus
  reason: string
  /** ms since epoch */
  at: number
}

export interface HeadEvent {
  chain: string
  head: number
  previous: number | undefined
  at: number
}

export interface ProbeRoundEvent {
  chain: string
  head: number | undefined
  /** Nodes routable after the round. */
  routable: number
  at: number
}

export interface RequestEvent {
  chain: string
  method: string
  /** Node that answered; undefined when none did (local answer or proxy error). */
  nodeId: string | undefined
  attempts: number
  outcome: 'answer' | 'node-error' | 'proxy-error' | 'local'
  /** Proxy error code when outcome is proxy-error. */
  code?: string | undefined
  durationMs: number
  /** Name of the client that sent it (`clients[].name`); undefined when /rpc is open or for library calls. */
  client?: string | undefined
}

export interface BroadcastAcceptedEvent {
  chain: string
  txid: string
  accepted: string[]
  alreadyKnown: string[]
}

export interface BroadcastProgressEvent {
  chain: string
  txid: string
  /** Why, for people (conflict detail, drop reason). */
  detail: string
  height?: number | undefined
  confirmations?: number | undefined
}

export interface ReorgEvent {
  chain: string
  /** Lowest height whose block hash changed on the majority of nodes. */
  height: number
  /** Blocks replaced: head − height + 1 at the time it was seen. */
  depth: number
  oldHash: string
  newHash: string
  at: number
}

export interface ForkEvent {
  chain: string
  /** The height whose block hashes were compared. */
  height: number
  /** Nodes grouped by the hash they gave at `height` (hash shortened for people). */
  groups: Array<{ hash: string; nodes: string[] }>
  /** A majority (or, on bitcoin, the most work) decided which group is canonical. */
  resolved: boolean
  at: number
}

export interface DisagreeEvent {
  chain: string
  method: string
  /** Each asked node's answer hash (sha256 of canonical JSON, first 16 hex digits). */
  answers: Array<{ nodeId: string; hash: string }>
  /** Nodes whose answer lost to an agreed one (their dispute count went up). */
  minority: string[]
  at: number
}

export interface JournalHealthEvent {
  /** 'failed' when a write failed or the file became unusable; 'recovered' when it works again. */
  state: 'failed' | 'recovered'
  detail: string
  /** The transaction whose write failed, if any. */
  txid?: string | undefined
  chain?: string | undefined
  at: number
}

/**
 * A config reload was applied (`Proxy.reload`: SIGHUP, `POST /admin/api/reload`). Changes name
 * chains, nodes, clients and option paths, never values (no URLs, passwords or keys).
 */
export interface ConfigReloadEvent {
  changes: ConfigChange[]
  /** Option paths that changed but wait for a restart (listening socket, journal file). */
  restartRequired: string[]
  /** How long the reload took (building runtimes and one probe round of each changed chain), ms. */
  durationMs: number
  /** ms since epoch */
  at: number
}

export interface ProxyEventMap {
  /** A new config was applied. */
  'config:reload': [ConfigReloadEvent]
  /** A node changed status (ejected, re-admitted, cordoned, ...). */
  'node:state': [NodeStateEvent]
  /** The pool head of a chain changed. */
  'chain:head': [HeadEvent]
  /** The majority's block hash at a height the proxy had seen changed (a reorg), with its depth. */
  'chain:reorg': [ReorgEvent]
  /** Probed nodes disagree about the block at a common height (fork quarantine). */
  'chain:fork': [ForkEvent]
  /** A verified read (or a read at a disputed height) got different answers from nodes. */
  'read:disagree': [DisagreeEvent]
  /** The broadcast journal failed or recovered. */
  'journal:health': [JournalHealthEvent]
  /** A probe round of a chain finished. */
  'probe:complete': [ProbeRoundEvent]
  /** A client call finished (emitted only while someone listens). */
  'request:complete': [RequestEvent]
  /** Enough nodes are shown by lookup to hold a broadcast, and it is in the journal. */
  'broadcast:accepted': [BroadcastAcceptedEvent]
  /** A broadcast reached its chain's confirmation depth. */
  'broadcast:confirmed': [BroadcastProgressEvent]
  /** Another transaction spends the same input / uses the same nonce: possible double-spend. */
  'broadcast:conflict': [BroadcastProgressEvent]
  /** A broadcast left every mempool and nodes now refuse it. */
  'broadcast:dropped': [BroadcastProgressEvent]
  /** A confirmed broadcast's block left the chain (reorg): back to pending. */
  'broadcast:reorged': [BroadcastProgressEvent]
}

export type ProxyEventHandlers = { [K in keyof ProxyEventMap]?: (...args: ProxyEventMap[K]) => void }

/** A subscriber that threw: reported here instead of failing the emitter (a client call, a probe round). */
export type ListenerErrorHandler = (event: string, error: unknown) => void

/**
 * Typed events of a proxy. Metrics, logs, alerts and the dashboard subscribe; the core knows none
 * of them. Events are emitted from inside client calls and probe rounds, so every listener runs
 * isolated: one that throws is reported to `onListenerError` (the server logs it) and the emitter,
 * and the other listeners, carry on.
 */
export class ProxyEvents extends EventEmitter<ProxyEventMap> {
  /** Listener failures so far (for tests and diagnostics). */
  listenerErrors = 0
  /** Where listener failures go; default: nowhere but the counter. */
  onListenerError: ListenerErrorHandler | undefined

  override emit<K extends keyof ProxyEventMap>(name: K, ...args: ProxyEventMap[K]): boolean
  override emit(name: string | symbol, ...args: unknown[]): boolean {
    // rawListeners keeps `once` wrappers, which remove themselves when called.
    const listeners = this.rawListeners(name as keyof ProxyEventMap) as Array<(...values: unknown[]) => void>
    if (listeners.length === 0) return false
    for (const listener of listeners) {
      try {
        listener.apply(this, args)
      } catch (error) {
        this.listenerErrors += 1
        try {
          this.onListenerError?.(String(name), error)
        } catch {
          // A failing error reporter must not fail the emitter either.
        }
      }
    }
    return true
  }

  /** Adds several listeners at once; the returned function removes exactly those. */
  subscribe(handlers: ProxyEventHandlers): () => void {
    const entries = Object.entries(handlers) as Array<[keyof ProxyEventMap, (...args: never[]) => void]>
    for (const [name, handler] of entries) this.on(name, handler as never)
    return () => {
      for (const [name, handler] of entries) this.off(name, handler as never)
    }
  }
}
