/**
 * What switchyard decides, in the log: node state changes and broadcast outcomes as structured
 * lines, nodes named by id (never by URL). Returns the function that stops logging.
 */
import type { ProxyEventHandlers } from '../proxy-events.js'
import type { Proxy } from '../proxy.js'
import { describeChange } from '../runtime/reload-plan.js'

export interface EventLogger {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

export function logProxyEvents(proxy: Proxy, log: EventLogger): () => void {
  // A subscriber that throws is contained by ProxyEvents; it still deserves a line.
  const previousHandler = proxy.events.onListenerError
  proxy.events.onListenerError = (event, error) =>
    log.error({ event: 'listener:error', on: event, error: error instanceof Error ? error.message : String(error) }, `an event subscriber failed on ${event}`)
  const unsubscribe = proxy.events.subscribe({
    'node:state': (event) =>
      log[event.to === 'healthy' ? 'info' : 'warn'](
        { event: 'node:state', chain: event.chain, node: event.nodeId, from: event.from, to: event.to, reason: event.reason },
        `${event.chain}/${event.nodeId}: ${event.from} → ${event.to}`,
      ),
    'broadcast:accepted': (event) => log.info({ event: 'broadcast:accepted', ...event }, `broadcast ${event.txid} accepted`),
    'broadcast:confirmed': (event) => log.info({ event: 'broadcast:confirmed', ...event }, `broadcast ${event.txid} confirmed`),
    'broadcast:conflict': (event) => log.error({ event: 'broadcast:conflict', ...event }, `broadcast ${event.txid} conflicts with another transaction`),
    'broadcast:dropped': (event) => log.warn({ event: 'broadcast:dropped', ...event }, `broadcast ${event.txid} dropped`),
    'broadcast:reorged': (event) => log.warn({ event: 'broadcast:reorged', ...event }, `broadcast ${event.txid} left the chain in a reorg`),
    'chain:reorg': (event) => log.warn({ event: 'chain:reorg', ...event }, `${event.chain}: reorg of depth ${event.depth} at height ${event.height}`),
    'chain:fork': (event) =>
      log.warn(
        { event: 'chain:fork', ...event },
        `${event.chain}: nodes disagree about block ${event.height}${event.resolved ? '' : ' with no majority: reads there need two agreeing nodes'}`,
      ),
    'read:disagree': (event) => log.warn({ event: 'read:disagree', ...event }, `${event.chain}: nodes disagree on ${event.method}`),
    'journal:health': (event) =>
      log[event.state === 'failed' ? 'error' : 'info']({ event: 'journal:health', ...event }, `broadcast journal ${event.state}: ${event.detail}`),
    'config:reload': (event) =>
      log[event.restartRequired.length > 0 ? 'warn' : 'info'](
        { event: 'config:reload', changes: event.changes.map(describeChange), restartRequired: event.restartRequired, durationMs: Math.round(event.durationMs) },
        event.changes.length === 0
          ? 'config reloaded: no changes'
          : `config reloaded: ${event.changes.length} change(s)${event.restartRequired.length > 0 ? `; ${event.restartRequired.join(', ')} apply at the next restart` : ''}`,
      ),
  } satisfies ProxyEventHandlers)
  return () => {
    unsubscribe()
    proxy.events.onListenerError = previousHandler
  }
}
