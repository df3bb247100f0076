/**
 * Who may use /admin, and how. One pure decision (`decideAdminRequest`, table-tested) over facts
 * read from the request, and the Fastify hook that gathers them and answers refusals.
 *
 * The order matters:
 * 1. `Host` must be one of ours (DNS rebinding: a page under the attacker's name that resolves to
 *    us would otherwise be "same-origin" with the admin API).
 * 2. Requests from another origin's page are refused before anything else (actions above all;
 *    reads too, though such a page could not read the answer), so such a page cannot even spend
 *    an address's failed-login budget.
 * 3. An address out of failed-login budget gets 429 without its token being looked at.
 * 4. With admin.token: the right bearer token, else 401 (a wrong one is a failed login).
 *    Without: actions are refused; reads only from this machine, never through a proxy.
 * 5. Actions carry `Content-Type: application/json`: a form or a `no-cors` fetch cannot send it
 *    cross-origin without a CORS preflight, which this server never grants.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { AdminConfig, ServerConfig } from '../config/schema.js'
import type { AdminRefusalReason } from '../observability/metrics.js'
import { type PresentedToken, checkToken } from './admin-auth.js'
import { isLocalClient } from './client-address.js'
import type { LoginThrottle } from './login-throttle.js'
import { crossOrigin, hostAllowed, isJsonContentType } from './request-origin.js'

export interface AdminRequestFacts {
  /** Changes state (any method but GET and HEAD). */
  action: boolean
  /** `Host` names this server (IP literal, localhost, server.host or server.names). */
  hostAllowed: boolean
  /** Sent by another origin's page (`Sec-Fetch-Site`, `Origin`). */
  crossOrigin: boolean
  /** `Content-Type: application/json`. */
  json: boolean
  /** admin.token is configured. */
  tokenConfigured: boolean
  /** The bearer token presented, compared with the configured one ('missing' when none is configured). */
  token: PresentedToken
  /** ms before this address may present a token again (0: now). */
  retryAfterMs: number
  /** Loopback socket and no forwarding headers. */
  localClient: boolean
}

export type AdminDecision =
  | { allow: true }
  | { allow: false; status: number; reason: AdminRefusalReason; error: string; retryAfterS?: number; failedLogin: boolean }

const refuse = (status: number, reason: AdminRefusalReason, error: string, extra: { retryAfterS?: number; failedLogin?: boolean } = {}): AdminDecision => ({
  allow: false,
  status,
  reason,
  error,
  failedLogin: extra.failedLogin ?? false,
  ...(extra.retryAfterS === undefined ? {} : { retryAfterS: extra.retryAfterS }),
})

export function decideAdminRequest(facts: AdminRequestFacts): AdminDecision {
  if (!facts.hostAllowed) return refuse(403, 'host', 'this host name is not one of the server\'s (server.names)')
  if (facts.crossOrigin) return refuse(403, 'cross-origin', 'the admin API answers the dashboard\'s own origin only')
  if (facts.tokenConfigured) {
    if (facts.retryAfterMs > 0) return refuse(429, 'throttled', 'too many wrong tokens from this address; retry later', { retryAfterS: Math.ceil(facts.retryAfterMs / 1000) })
    if (facts.token === 'missing') return refuse(401, 'token-missing', 'unauthorized')
    if (facts.token === 'wrong') return refuse(401, 'token-wrong', 'unauthorized', { failedLogin: true })
  } else {
    if (facts.action) return refuse(403, 'actions-disabled', 'admin actions are disabled: set admin.token to enable them')
    if (!facts.localClient) return refuse(403, 'remote-address', 'forbidden')
  }
  if (facts.action && !facts.json) return refuse(415, 'content-type', 'admin actions take Content-Type: application/json')
  return { allow: true }
}

export interface AdminGuardOptions {
  /** The admin and server config, read per request (a reloaded token applies at once). */
  config: () => { admin: AdminConfig; server: ServerConfig }
  throttle: LoginThrottle
  refused: (reason: AdminRefusalReason) => void
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}

async function sendRefusal(reply: FastifyReply, decision: Exclude<AdminDecision, { allow: true }>): Promise<void> {
  if (decision.retryAfterS !== undefined) void reply.header('retry-after', String(decision.retryAfterS))
  await reply.code(decision.status).send({ error: decision.error })
}

/** The onRequest hook of every /admin route. */
export function adminGuard(options: AdminGuardOptions): onRequestHookHandler {
  return async (request, reply) => {
    const { admin, server } = options.config()
    const action = request.method !== 'GET' && request.method !== 'HEAD'
    const decision = decideAdminRequest({
      action,
      hostAllowed: hostAllowed(request.host, server.names, server.host),
      crossOrigin: crossOrigin({ secFetchSite: header(request, 'sec-fetch-site'), origin: header(request, 'origin'), host: request.host }),
      json: isJsonContentType(header(request, 'content-type')),
      tokenConfigured: admin.token !== undefined,
      token: admin.token === undefined ? 'missing' : checkToken(request.headers.authorization, admin.token),
      retryAfterMs: admin.token === undefined ? 0 : options.throttle.retryAfterMs(request.ip),
      localClient: server.trustProxy.length === 0 && isLocalClient(request.socket.remoteAddress, request.headers),
    })
    if (decision.allow) return
    if (decision.failedLogin) options.throttle.fail(request.ip)
    options.refused(decision.reason)
    await sendRefusal(reply, decision)
  }
}

/** The onRequest hook of `GET /metrics` when metrics.token is set: the token, throttled like admin logins. */
export function metricsGuard(options: { token: () => string | undefined; throttle: LoginThrottle; refused: (reason: AdminRefusalReason) => void }): onRequestHookHandler {
  return async (request, reply) => {
    const token = options.token()
    if (token === undefined) return
    const retryAfterMs = options.throttle.retryAfterMs(request.ip)
    if (retryAfterMs > 0) {
      options.refused('throttled')
      return sendRefusal(reply, { allow: false, status: 429, reason: 'throttled', error: 'too many wrong tokens from this address; retry later', retryAfterS: Math.ceil(retryAfterMs / 1000), failedLogin: false })
    }
    const presented = checkToken(request.headers.authorization, token)
    if (presented === 'right') return
    if (presented === 'wrong') options.throttle.fail(request.ip)
    options.refused('metrics-token')
    return sendRefusal(reply, { allow: false, status: 401, reason: 'metrics-token', error: 'unauthorized', failedLogin: presented === 'wrong' })
  }
}
