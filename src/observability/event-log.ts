/**
 * What switchyard decides, in the log: node state changes and broadcast outcomes as structured
 * lines, nodes named by id (never by URL). Returns the function that stops logging.
 */
import type { ProxyEventHandlers } from '../proxy-events.js'
import type { Proxy } from '../proxy.js'

export interface EventLogger {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

export function logProxyEvents(proxy: Proxy, log: EventLogger): () => void {
  return proxy.events.subscribe({
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
  } satisfies ProxyEventHandlers)
}
