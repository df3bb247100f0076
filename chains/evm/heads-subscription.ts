/**
 * Push heights from an EVM node: `eth_subscribe ["newHeads"]` over WebSocket. Reconnects on its
 * own with exponential backoff and full jitter, and resubscribes. Polling stays the cross-check:
 * a silent subscription never keeps a node routable, pushed heights only make lag visible sooner.
 */
import { WebSocket } from 'undici'
import type { HeadWatchHandlers, HeadWatcher } from '../../src/chain-adapter.js'
import { quantity } from './evm-methods.js'

/** Ceiling of the first reconnect delay, ms. */
export const RECONNECT_BASE_MS = 250
/** Largest reconnect delay, ms. */
export const RECONNECT_CAP_MS = 30_000
/** A connection that stayed up this long was healthy: the next outage backs off from scratch. */
export const STABLE_CONNECTION_MS = 10_000

/**
 * Delay before a reconnect, ms: a uniform draw in [0, min(cap, base × 2^attempt)) ("full jitter"),
 * so proxies that lost a node together do not come back to it in lockstep.
 *
 * @param attempt Reconnects already made since the last healthy connection (0 for the first).
 * @param random A draw in [0, 1), e.g. `Math.random()`.
 */
export function nextReconnectDelayMs(attempt: number, random: number): number {
  const exponent = attempt > 0 ? Math.floor(attempt) : 0
  const ceilingMs = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** exponent)
  const draw = Math.min(Math.max(random, 0), 1 - Number.EPSILON)
  return Math.floor(draw * ceilingMs)
}

export interface NewHeadsOptions {
  /** Node id, for status details (the URL never appears in them). */
  nodeId: string
  /** ws(s) URL; may carry user:password@ (sent as basic auth) or an API key in path or query. */
  url: string
  /** Source of jitter draws in [0, 1). Default `Math.random`. */
  random?: () => number
  /** Where reconnect timers come from. Default the global setTimeout/clearTimeout; tests inject their own to watch them. */
  timers?: ReconnectTimers
}

/** The two timer functions the watcher uses, so a test can see exactly its timers and no one else's. */
export interface ReconnectTimers {
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
}

const globalTimers: ReconnectTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** JSON-RPC id of our eth_subscribe call; each connection sends exactly one request. */
const SUBSCRIBE_ID = 1

/**
 * Watches a node's `newHeads` and reports each block number to `handlers.onHeight`; connection
 * changes go to `handlers.onStatus`. `close()` ends the connection and any pending reconnect.
 */
export function watchNewHeads(options: NewHeadsOptions, handlers: HeadWatchHandlers): HeadWatcher {
  const random = options.random ?? Math.random
  const timers = options.timers ?? globalTimers
  const { url, headers } = splitCredentials(options.url)
  let socket: WebSocket | undefined
  let reconnectTimer: unknown
  let attempt = 0
  let closed = false
  let connected = false

  const setConnected = (next: boolean, detail?: string): void => {
    if (connected === next) return
    connected = next
    handlers.onStatus?.(next ? 'connected' : 'disconnected', detail)
  }

  const scheduleReconnect = (): void => {
    if (closed) return
    const delayMs = nextReconnectDelayMs(attempt, random())
    attempt += 1
    reconnectTimer = timers.setTimeout(connect, delayMs)
  }

  function connect(): void {
    reconnectTimer = undefined
    if (closed) return
    let ws: WebSocket
    try {
      ws = new WebSocket(url, { headers })
    } catch {
      scheduleReconnect()
      return
    }
    socket = ws
    let openedAtMs: number | undefined
    let subscription: string | undefined

    ws.addEventListener('open', () => {
      openedAtMs = performance.now()
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: SUBSCRIBE_ID, method: 'eth_subscribe', params: ['newHeads'] }))
    })
    ws.addEventListener('message', (event) => {
      const message = parseMessage(event.data)
      if (message === undefined) return
      if (message.id === SUBSCRIBE_ID) {
        if (typeof message.result !== 'string') {
          // Refused (no pubsub, no such subscription): drop the connection and back off.
          ws.close()
          return
        }
        subscription = message.result
        attempt = 0
        setConnected(true)
        return
      }
      if (subscription === undefined || message.method !== 'eth_subscription' || message.params?.subscription !== subscription) return
      const number = message.params?.result?.number
      const height = typeof number === 'string' ? quantity(number) : undefined
      if (height !== undefined) handlers.onHeight(height)
    })
    ws.addEventListener('close', (event) => {
      if (socket !== ws) return
      socket = undefined
      if (openedAtMs !== undefined && performance.now() - openedAtMs >= STABLE_CONNECTION_MS) attempt = 0
      setConnected(false, `newHeads subscription to ${options.nodeId} lost (close code ${event.code})`)
      scheduleReconnect()
    })
    // An 'error' is always followed by 'close', which does the work; a listener keeps it quiet.
    ws.addEventListener('error', () => undefined)
  }

  connect()
  return {
    close: () => {
      closed = true
      if (reconnectTimer !== undefined) timers.clearTimeout(reconnectTimer)
      reconnectTimer = undefined
      const ws = socket
      socket = undefined
      ws?.close()
    },
  }
}

interface SubscriptionMessage {
  id?: unknown
  result?: unknown
  method?: unknown
  params?: { subscription?: unknown; result?: { number?: unknown } }
}

function parseMessage(data: unknown): SubscriptionMessage | undefined {
  if (typeof data !== 'string') return undefined
  try {
    const parsed: unknown = JSON.parse(data)
    return typeof parsed === 'object' && parsed !== null ? (parsed as SubscriptionMessage) : undefined
  } catch {
    return undefined
  }
}

/**
 * Moves user:password@ out of the URL into a basic-auth header: WebSocket URLs with credentials
 * are not sent as such, and a header keeps them out of anything that echoes the URL.
 */
function splitCredentials(raw: string): { url: string; headers: Record<string, string> } {
  const target = new URL(raw)
  const headers: Record<string, string> = {}
  if (target.username !== '' || target.password !== '') {
    const user = decodeURIComponent(target.username)
    const password = decodeURIComponent(target.password)
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
    target.username = ''
    target.password = ''
  }
  // A fragment makes the WebSocket constructor throw; it never reaches the server anyway.
  target.hash = ''
  return { url: target.toString(), headers }
}
