/**
 * Push heights from an EVM node: `eth_subscribe ["newHeads"]` over WebSocket. Reconnects on its
 * own with exponential backoff and full jitter, and resubscribes. Polling stays the cross-check:
 * a silent subscription never keeps a node routable, it only ejects sooner.
 */
import { WebSocket } from 'undici'
import type { HeadWatchHandlers, HeadWatcher } from '../../src/chain-adapter.js'
import { quantity } from './evm-methods.js'

/** First reconnect delay bound, ms. */
export const RECONNECT_BASE_MS = 250
/** Largest reconnect delay, ms. */
export const RECONNECT_MAX_MS = 30_000

/**
 * Delay before reconnect attempt `attempt` (1-based): a uniform draw in
 * [0, min(max, base × 2^(attempt−1))) ("full jitter"), so many proxies restarting together do not
 * reconnect to a node in lockstep.
 */
export function nextReconnectDelayMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, attempt - 1))
  return Math.floor(random() * ceiling)
}

export interface HeadsSubscriptionOptions {
  /** Node id, for status details. */
  nodeId: string
  /** ws(s) URL; may carry user:password (sent as basic auth) or an API key (kept secret). */
  url: string
  random?: () => number
}

export function watchNewHeads(options: HeadsSubscriptionOptions, handlers: HeadWatchHandlers): HeadWatcher {
  const random = options.random ?? Math.random
  const target = new URL(options.url)
  const headers: Record<string, string> = {}
  if (target.username !== '' || target.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`
    target.username = ''
    target.password = ''
  }
  let socket: WebSocket | undefined
  let timer: NodeJS.Timeout | undefined
  let attempt = 0
  let closed = false
  let connected = false

  const connect = (): void => {
    if (closed) return
    const ws = new WebSocket(target.toString(), { headers })
    socket = ws
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))
    })
    ws.addEventListener('message', (event) => {
      let message: { id?: unknown; result?: unknown; error?: unknown; params?: { result?: { number?: unknown } } }
      try {
        message = JSON.parse(String(event.data))
      } catch {
        return
      }
      if (message.id === 1) {
        if (message.error !== undefined) {
          ws.close()
          return
        }
        // Subscribed: the connection works, so the next outage starts backing off from scratch.
        attempt = 0
        if (!connected) {
          connected = true
          handlers.onStatus?.('connected')
        }
        return
      }
      const number = message.params?.result?.number
      const height = typeof number === 'string' ? quantity(number) : undefined
      if (height !== undefined) handlers.onHeight(height)
    })
    const onDown = (): void => {
      if (socket !== ws) return
      socket = undefined
      if (connected) {
        connected = false
        handlers.onStatus?.('disconnected', `newHeads subscription to ${options.nodeId} lost`)
      }
      if (closed) return
      attempt += 1
      timer = setTimeout(connect, nextReconnectDelayMs(attempt, random))
      timer.unref()
    }
    ws.addEventListener('close', onDown)
    ws.addEventListener('error', () => ws.close())
  }

  connect()
  return {
    close: () => {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      const ws = socket
      socket = undefined
      ws?.close()
    },
  }
}
