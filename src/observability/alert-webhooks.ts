/**
 * Alert webhooks: proxy events that need a person (a node ejected or back, a node on the wrong
 * chain, a chain with no routable node, a possible double-spend, a dropped broadcast, a reorg, nodes
 * forked with no majority, a broadcast journal that stopped working) POSTed to the
 * configured receivers, as switchyard's own JSON or as a Slack-compatible `{ text }`.
 *
 * Delivery never touches the request path: an event only appends to the webhook's queue (bounded;
 * the oldest alert is dropped when full), and one worker per webhook sends them in order, each with
 * its own timeout and retries (exponential backoff with jitter) up to `maxAttempts`. Webhook URLs
 * may carry tokens: logs and metrics name a webhook by its index (`webhook[0]`), never its URL.
 */
import type { AlertsConfig } from '../config/schema.js'
import type { NodeStatus } from '../pool/node-health.js'
import type { ProxyEventMap } from '../proxy-events.js'
import type { Proxy } from '../proxy.js'

export const ALERT_EVENTS = [
  'node-ejected',
  'node-readmitted',
  'wrong-chain',
  'chain-unavailable',
  'broadcast-conflict',
  'broadcast-dropped',
  'chain-reorg',
  'chain-fork',
  'journal-failed',
] as const
export type AlertEvent = (typeof ALERT_EVENTS)[number]

/** The JSON payload of an alert (format `json`). */
export interface Alert {
  event: AlertEvent
  chain: string
  nodeId?: string
  txid?: string
  /** Node status before / after (node events). */
  from?: NodeStatus
  to?: NodeStatus
  /** Why (node and chain events): the node's status reason, or the chain's node statuses. */
  reason?: string
  /** What happened to a broadcast (broadcast events), the reorg or fork, or the journal failure. */
  detail?: string
  /** Reorg: lowest replaced height and depth; fork: the compared height. */
  height?: number
  depth?: number
  /** One line for people; also the Slack text. */
  summary: string
  /** When it happened, ISO 8601. */
  at: string
}

/** What became of one alert for one webhook. */
export type AlertDeliveryOutcome = 'delivered' | 'failed' | 'dropped'

/** Counts delivery outcomes; `createMetrics(proxy)` returns one. */
export interface AlertDeliveryRecorder {
  alertDelivery(webhook: string, outcome: AlertDeliveryOutcome): void
}

/** pino-compatible (the Fastify app's `app.log` fits). */
export interface AlertLogger {
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface AlertWebhookOptions {
  log?: AlertLogger
  fetch?: typeof fetch
  metrics?: AlertDeliveryRecorder
  /** Jitter source, [0, 1). Default Math.random. */
  random?: () => number
  /** Waits between attempts; default a timer (tests inject one to record the delays). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** How long `close()` lets queued deliveries finish before abandoning them, ms. Default: alerts.timeoutMs. */
  closeTimeoutMs?: number
  /** Alerts kept per webhook while waiting for delivery. Default 1000. */
  queueLimit?: number
}

export interface AlertWebhooks {
  /** Stops listening, lets queued deliveries finish for a bounded time, then abandons the rest. */
  close(): Promise<void>
  /** Resolves once every queued alert has been delivered or given up on. */
  idle(): Promise<void>
}

/** How logs and metrics name a webhook: by its index in `alerts.webhooks`, never by its URL. */
export function webhookName(index: number): string {
  return `webhook[${index}]`
}

/** Added on top of each backoff delay: up to this fraction of it, so receivers are not hit in lockstep. */
const JITTER_FRACTION = 0.25

/** Delay before attempt `attempt + 1`: base × 2^(attempt−1), capped, plus jitter. */
export function retryDelayMs(attempt: number, config: Pick<AlertsConfig, 'retryBaseDelayMs' | 'retryMaxDelayMs'>, random: () => number): number {
  const capped = Math.min(config.retryBaseDelayMs * 2 ** (attempt - 1), config.retryMaxDelayMs)
  return Math.round(capped + capped * JITTER_FRACTION * random())
}

const EJECTED_TO: ReadonlySet<NodeStatus> = new Set(['lagging', 'ahead', 'down', 'syncing', 'forked', 'unreliable'])

interface Webhook {
  name: string
  url: string
  format: 'json' | 'slack'
  events: ReadonlySet<AlertEvent>
  queue: Alert[]
  /** The running worker, while one is. */
  worker: Promise<void> | undefined
}

export function startAlertWebhooks(proxy: Proxy, config: AlertsConfig, options: AlertWebhookOptions = {}): AlertWebhooks {
  const log = options.log ?? consoleLogger
  const send = options.fetch ?? fetch
  const random = options.random ?? Math.random
  const sleep = options.sleep ?? abortableSleep
  const queueLimit = Math.max(1, options.queueLimit ?? 1000)
  const closeTimeoutMs = options.closeTimeoutMs ?? config.timeoutMs
  const abandon = new AbortController()
  let closed = false

  const webhooks: Webhook[] = config.webhooks.map((webhook, index) => ({
    name: webhookName(index),
    url: webhook.url,
    format: webhook.format,
    events: new Set(webhook.events ?? ALERT_EVENTS),
    queue: [],
    worker: undefined,
  }))

  const record = (webhook: Webhook, outcome: AlertDeliveryOutcome): void => {
    try {
      options.metrics?.alertDelivery(webhook.name, outcome)
    } catch {
      // Metrics never break alerting.
    }
  }

  const dispatch = (alert: Alert): void => {
    if (closed) return
    for (const webhook of webhooks) {
      if (!webhook.events.has(alert.event)) continue
      webhook.queue.push(alert)
      if (webhook.queue.length > queueLimit) {
        const dropped = webhook.queue.shift()
        record(webhook, 'dropped')
        log.warn({ webhook: webhook.name, event: dropped?.event, chain: dropped?.chain, queueLimit }, 'alert queue full: dropped the oldest alert')
      }
      webhook.worker ??= run(webhook)
    }
  }

  const run = async (webhook: Webhook): Promise<void> => {
    // Never finish synchronously: `webhook.worker` is assigned after this returns its promise.
    await null
    try {
      // Once abandoned (close timed out), what is left stays queued for close() to count.
      while (!abandon.signal.aborted) {
        const alert = webhook.queue.shift()
        if (alert === undefined) break
        try {
          await deliver(webhook, alert)
        } catch {
          // Only a throwing logger or fetch stub gets here: that alert is lost, the next ones still go.
          record(webhook, 'failed')
        }
      }
    } finally {
      webhook.worker = undefined
    }
  }

  const deliver = async (webhook: Webhook, alert: Alert): Promise<void> => {
    const body = JSON.stringify(webhook.format === 'slack' ? { text: slackEscape(alert.summary) } : alert)
    for (let attempt = 1; ; attempt++) {
      const failure = await attemptOnce(webhook, body)
      if (failure === undefined) {
        record(webhook, 'delivered')
        return
      }
      if (abandon.signal.aborted) {
        log.warn({ webhook: webhook.name, event: alert.event, chain: alert.chain, attempts: attempt, error: failure }, 'alert delivery abandoned: shutting down')
        record(webhook, 'failed')
        return
      }
      if (attempt >= config.maxAttempts) {
        log.error({ webhook: webhook.name, event: alert.event, chain: alert.chain, attempts: attempt, error: failure }, 'alert delivery failed: giving up')
        record(webhook, 'failed')
        return
      }
      const delayMs = retryDelayMs(attempt, config, random)
      log.warn({ webhook: webhook.name, event: alert.event, chain: alert.chain, attempt, maxAttempts: config.maxAttempts, error: failure, retryInMs: delayMs }, 'alert delivery failed: will retry')
      try {
        await sleep(delayMs, abandon.signal)
      } catch {
        // Abandoned during the wait: the next attempt reports it.
      }
    }
  }

  /** One POST; undefined when the receiver took it (2xx), else why not (never the URL). */
  const attemptOnce = async (webhook: Webhook, body: string): Promise<string | undefined> => {
    const timeout = AbortSignal.timeout(config.timeoutMs)
    try {
      const response = await send(webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'switchyard-alerts' },
        body,
        signal: AbortSignal.any([timeout, abandon.signal]),
        redirect: 'error',
      })
      await response.body?.cancel().catch(() => undefined)
      return response.status >= 200 && response.status < 300 ? undefined : `HTTP ${response.status}`
    } catch (error) {
      if (timeout.aborted) return `timeout after ${config.timeoutMs} ms`
      if (abandon.signal.aborted) return 'abandoned'
      return describeNetworkError(error)
    }
  }

  // ---- events → alerts ----

  const onNodeState = (event: ProxyEventMap['node:state'][0]): void => {
    guard(() => {
      const at = new Date(event.at).toISOString()
      const who = `${event.chain}/${event.nodeId}`
      const base = { chain: event.chain, nodeId: event.nodeId, from: event.from, to: event.to, reason: event.reason, at }
      if (event.to === 'wrong-chain') {
        dispatch({ event: 'wrong-chain', ...base, summary: `switchyard: ${who} serves the wrong chain: ${event.reason}` })
      } else if (event.from === 'healthy' && EJECTED_TO.has(event.to)) {
        dispatch({ event: 'node-ejected', ...base, summary: `switchyard: ${who} ejected (${event.to}): ${event.reason}` })
      } else if (event.to === 'healthy' && EJECTED_TO.has(event.from)) {
        dispatch({ event: 'node-readmitted', ...base, summary: `switchyard: ${who} re-admitted (was ${event.from}): ${event.reason}` })
      }
    })
  }

  /** Per chain: whether the last probe round left it without a routable node (absent: not yet seen = available). */
  const unavailable = new Map<string, boolean>()
  const onProbe = (event: ProxyEventMap['probe:complete'][0]): void => {
    guard(() => {
      const wasUnavailable = unavailable.get(event.chain) ?? false
      const isUnavailable = event.routable === 0
      unavailable.set(event.chain, isUnavailable)
      if (!isUnavailable || wasUnavailable) return
      const chain = proxy.snapshot().chains.find((candidate) => candidate.name === event.chain)
      const statuses = chain?.nodes.map((node) => `${node.id} ${node.status}`).join(', ') ?? 'no nodes'
      const head = event.head === undefined ? 'unknown' : String(event.head)
      const reason = `no routable node (head ${head}): ${statuses}`
      dispatch({ event: 'chain-unavailable', chain: event.chain, reason, summary: `switchyard: ${event.chain} has no routable node, requests fail closed (head ${head}): ${statuses}`, at: new Date(event.at).toISOString() })
    })
  }

  const onConflict = (event: ProxyEventMap['broadcast:conflict'][0]): void => {
    guard(() => {
      dispatch({
        event: 'broadcast-conflict',
        chain: event.chain,
        txid: event.txid,
        detail: event.detail,
        summary: `switchyard: ${event.chain} tx ${event.txid} conflicts with another transaction (possible double-spend): ${event.detail}`,
        at: new Date().toISOString(),
      })
    })
  }

  const onDropped = (event: ProxyEventMap['broadcast:dropped'][0]): void => {
    guard(() => {
      dispatch({
        event: 'broadcast-dropped',
        chain: event.chain,
        txid: event.txid,
        detail: event.detail,
        summary: `switchyard: ${event.chain} tx ${event.txid} dropped: ${event.detail}`,
        at: new Date().toISOString(),
      })
    })
  }

  const onReorg = (event: ProxyEventMap['chain:reorg'][0]): void => {
    guard(() => {
      const detail = `block ${event.height} changed from ${event.oldHash} to ${event.newHash}`
      dispatch({
        event: 'chain-reorg',
        chain: event.chain,
        height: event.height,
        depth: event.depth,
        detail,
        summary: `switchyard: ${event.chain} reorg of depth ${event.depth} at height ${event.height}: ${detail}`,
        at: new Date(event.at).toISOString(),
      })
    })
  }

  // Only unresolved forks need a person: a resolved one already shows as forked nodes (node-ejected).
  const onFork = (event: ProxyEventMap['chain:fork'][0]): void => {
    guard(() => {
      if (event.resolved) return
      const detail = event.groups.map((group) => `${group.hash}: ${group.nodes.join(', ')}`).join('; ')
      dispatch({
        event: 'chain-fork',
        chain: event.chain,
        height: event.height,
        detail,
        summary: `switchyard: ${event.chain} nodes disagree about block ${event.height} with no majority (${detail}); reads there need two agreeing nodes`,
        at: new Date(event.at).toISOString(),
      })
    })
  }

  const onJournal = (event: ProxyEventMap['journal:health'][0]): void => {
    guard(() => {
      if (event.state !== 'failed') return
      dispatch({
        event: 'journal-failed',
        chain: event.chain ?? '',
        ...(event.txid === undefined ? {} : { txid: event.txid }),
        detail: event.detail,
        summary: `switchyard: the broadcast journal failed (${event.detail}); /readyz is 503 until it works${event.txid === undefined ? '' : `; tx ${event.txid} was sent but not journaled`}`,
        at: new Date(event.at).toISOString(),
      })
    })
  }

  /** A listener must never throw into the proxy's emit (that would break a probe round). */
  const guard = (work: () => void): void => {
    try {
      work()
    } catch (error) {
      log.error({ error: error instanceof Error ? error.name : typeof error }, 'alert webhooks: could not build an alert')
    }
  }

  const wanted = new Set(webhooks.flatMap((webhook) => [...webhook.events]))
  // Only the events some webhook wants are listened to.
  const unsubscribe = proxy.events.subscribe({
    ...(wanted.has('node-ejected') || wanted.has('node-readmitted') || wanted.has('wrong-chain') ? { 'node:state': onNodeState } : {}),
    ...(wanted.has('chain-unavailable') ? { 'probe:complete': onProbe } : {}),
    ...(wanted.has('broadcast-conflict') ? { 'broadcast:conflict': onConflict } : {}),
    ...(wanted.has('broadcast-dropped') ? { 'broadcast:dropped': onDropped } : {}),
    ...(wanted.has('chain-reorg') ? { 'chain:reorg': onReorg } : {}),
    ...(wanted.has('chain-fork') ? { 'chain:fork': onFork } : {}),
    ...(wanted.has('journal-failed') ? { 'journal:health': onJournal } : {}),
  })

  const idle = async (): Promise<void> => {
    for (;;) {
      const running = webhooks.map((webhook) => webhook.worker).filter((worker) => worker !== undefined)
      if (running.length === 0) return
      await Promise.all(running)
    }
  }

  return {
    idle,
    async close() {
      if (closed) return
      closed = true
      unsubscribe()
      let timer: NodeJS.Timeout | undefined
      const finished = await Promise.race([
        idle().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), closeTimeoutMs)
        }),
      ])
      clearTimeout(timer)
      if (finished) return
      const left = webhooks.reduce((sum, webhook) => sum + webhook.queue.length, 0)
      abandon.abort()
      await idle()
      for (const webhook of webhooks) {
        for (const _alert of webhook.queue.splice(0)) record(webhook, 'dropped')
      }
      log.warn({ queued: left, closeTimeoutMs }, 'alert webhooks closed with deliveries pending: abandoned them')
    },
  }
}

/** Slack's mrkdwn reserves &, < and > (links, mentions): reasons are plain text. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** A transport failure, described without its message (undici messages can name the host). */
function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? (error as Error & { cause?: unknown }).cause : undefined
  const code = typeof cause === 'object' && cause !== null && typeof (cause as { code?: unknown }).code === 'string' ? (cause as { code: string }).code : undefined
  if (code !== undefined && /^[A-Z0-9_]{2,40}$/.test(code)) return `network error (${code})`
  const name = error instanceof Error ? error.name : 'unknown'
  return `network error (${/^[A-Za-z]{1,40}$/.test(name) ? name : 'unknown'})`
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

const consoleLogger: AlertLogger = {
  warn: (obj, msg) => console.warn(JSON.stringify({ level: 'warn', msg, ...obj })),
  error: (obj, msg) => console.error(JSON.stringify({ level: 'error', msg, ...obj })),
}
