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

export interface ProxyEventMap {
  /** A node changed status (ejected, re-admitted, cordoned, ...). */
  'node:state': [NodeStateEvent]
  /** The pool head of a chain changed. */
  'chain:head': [HeadEvent]
  /** A probe round of a chain finished. */
  'probe:complete': [ProbeRoundEvent]
  /** A client call finished (emitted only while someone listens). */
  'request:complete': [RequestEvent]
  /** A broadcast reached `minAccepts` nodes (or the network already had it); it is in the journal. */
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

/** Typed events of a proxy. Metrics, logs, alerts and the dashboard subscribe; the core knows none of them. */
export class ProxyEvents extends EventEmitter<ProxyEventMap> {
  /** Adds several listeners at once; the returned function removes exactly those. */
  subscribe(handlers: ProxyEventHandlers): () => void {
    const entries = Object.entries(handlers) as Array<[keyof ProxyEventMap, (...args: never[]) => void]>
    for (const [name, handler] of entries) this.on(name, handler as never)
    return () => {
      for (const [name, handler] of entries) this.off(name, handler as never)
    }
  }
}
