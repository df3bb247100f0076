/**
 * The door of `POST /rpc/:chain` when clients are configured, in this order:
 * 1. the key names a client, else 401 (`WWW-Authenticate` included);
 * 2. the chain is in its grant, else 403;
 * 3. each call's method group is in its grant, else that call alone gets 403 (a single call: HTTP
 *    403; in a batch the other calls run and the batch answers 200, as for any per-call error);
 * 4. the calls left fit the client's rate limits, else 429 with `Retry-After` and nothing runs.
 * Refusals of the whole request (1, 2, 4) are JSON-RPC errors shaped like the request: a single
 * call gets one reply with its id and JSON-RPC version (1.0 replies carry `result: null`, as
 * bitcoind clients expect); a batch gets one reply per call that has an id, so batch clients
 * match each error to its call (an unauthenticated body over 64 KiB is not parsed for that: its
 * 401 has id null). The body is parsed once, here, and handed to the proxy parsed.
 * With no clients configured the gate lets everything through untouched (and unparsed).
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { MethodClass } from '../chain-adapter.js'
import type { ClientConfig, MethodGroup } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import { type BodyLimits, type ParsedBody, type ParsedCall, parseBody } from '../jsonrpc/parse.js'
import { shapeReply } from '../jsonrpc/reply.js'
import { type Client, ClientRegistry, decideAccess, decideMethod, methodGroupOf, presentedKeys } from './client-auth.js'
import { ClientLimits } from './client-limits.js'

/** What the gate needs of the proxy. */
export interface GateContext {
  readonly config: { readonly clients: readonly ClientConfig[]; readonly server: BodyLimits }
  /** The adapter's class of a method on a chain; undefined for an unknown chain. */
  methodClass(chain: string, method: string): MethodClass | undefined
}

export type RefusalReason = 'unauthorized' | 'forbidden' | 'rate-limited'

export interface GateOptions {
  /** Monotonic clock for rate limits, ms. Default performance.now. */
  now?: () => number
  /** Called for each refusal (metrics): the client's name (undefined when unknown) and the calls refused. */
  onRefusal?: (client: string | undefined, reason: RefusalReason, calls: number) => void
}

export type GateResult =
  | { pass: true; body: string | ParsedBody; client: string | undefined }
  | { pass: false; status: number; body: string; headers: Readonly<Record<string, string | string[]>> }

/** Largest body an unauthenticated request gets parsed for (to shape its 401 per call), characters. */
const SHAPE_PARSE_LIMIT = 64 * 1024
/** Stands for a body left unparsed: its refusal is shaped like an unparsable body's (id null). */
const UNPARSED: ParsedBody = { kind: 'invalid', error: new ProxyError('SY_INVALID_REQUEST', 'not parsed') }

/** RFC 9110: a 401 names the schemes it takes. */
const CHALLENGES = ['Bearer realm="switchyard"', 'Basic realm="switchyard", charset="UTF-8"']

export class ClientGate {
  readonly #context: GateContext
  readonly #onRefusal: GateOptions['onRefusal']
  #registry: ClientRegistry
  readonly #limits: ClientLimits
  /** The client list the registry was built from: a reloaded config (a new list) is taken at the next request. */
  #clients: readonly ClientConfig[]

  constructor(context: GateContext, options: GateOptions = {}) {
    this.#context = context
    this.#onRefusal = options.onRefusal
    this.#clients = context.config.clients
    this.#registry = new ClientRegistry(this.#clients)
    this.#limits = new ClientLimits(this.#clients, options.now)
  }

  /** Whether clients are configured (else /rpc is open). */
  get enabled(): boolean {
    this.#follow()
    return this.#registry.enabled
  }

  /** Takes a new client list (reload): keys and grants at once; rate-limit buckets of unchanged limits keep their tokens. */
  update(clients: readonly ClientConfig[]): void {
    this.#clients = clients
    this.#registry = new ClientRegistry(clients)
    this.#limits.update(clients)
  }

  #follow(): void {
    const clients = this.#context.config.clients
    if (clients !== this.#clients) this.update(clients)
  }

  admit(headers: IncomingHttpHeaders, chain: string, bodyText: string): GateResult {
    this.#follow()
    if (!this.#registry.enabled) return { pass: true, body: bodyText, client: undefined }
    const client = this.#registry.identify(presentedKeys(headers))
    // Without a known key a large body is not worth parsing just to echo its ids (a cheap flood).
    const parsed =
      client === undefined && bodyText.length > SHAPE_PARSE_LIMIT ? UNPARSED : parseBody(bodyText, this.#context.config.server)
    const denied = decideAccess(client, chain)
    if (denied !== undefined || client === undefined) {
      this.#onRefusal?.(client?.name, client === undefined ? 'unauthorized' : 'forbidden', callCount(parsed))
      return refuse(parsed, denied!, client === undefined ? { 'www-authenticate': CHALLENGES } : {})
    }
    if (parsed.kind === 'invalid') return { pass: true, body: parsed, client: client.name }

    const groups = new Map<MethodGroup, number>()
    let forbidden = 0
    const check = (entry: ParsedCall): ParsedCall => {
      if (entry.call === undefined) return entry
      const kind = this.#context.methodClass(chain, entry.call.method)
      const group = kind === undefined ? undefined : methodGroupOf(kind)
      const error = decideMethod(client, entry.call.method, group)
      if (error !== undefined) {
        forbidden += 1
        const { call: _call, ...rest } = entry
        return { ...rest, error }
      }
      if (group !== undefined) groups.set(group, (groups.get(group) ?? 0) + 1)
      return entry
    }
    const checked: ParsedBody = parsed.kind === 'single' ? { kind: 'single', entry: check(parsed.entry) } : { kind: 'batch', entries: parsed.entries.map(check) }
    if (forbidden > 0) this.#onRefusal?.(client.name, 'forbidden', forbidden)

    const limited = this.#limits.admit(client.name, groups)
    if (!limited.ok) {
      let calls = 0
      for (const count of groups.values()) calls += count
      this.#onRefusal?.(client.name, 'rate-limited', calls)
      return refuse(parsed, limited.error, limited.retryAfterSeconds === undefined ? {} : { 'retry-after': String(limited.retryAfterSeconds) })
    }
    return { pass: true, body: checked, client: client.name }
  }
}

/** Calls a body holds (at least 1: an unparsable body is one refused request). */
function callCount(parsed: ParsedBody): number {
  return parsed.kind === 'batch' ? parsed.entries.length : 1
}

/** A whole-request refusal shaped like the request (see the header). */
function refuse(parsed: ParsedBody, error: ProxyError, headers: Record<string, string | string[]>): GateResult {
  const answer = { error: error.toJsonRpcError() }
  let body: string
  if (parsed.kind === 'single') body = JSON.stringify(shapeReply(parsed.entry.id, parsed.entry.version, answer))
  else if (parsed.kind === 'batch' && parsed.entries.some((entry) => !entry.notification)) {
    body = JSON.stringify(parsed.entries.filter((entry) => !entry.notification).map((entry) => shapeReply(entry.id, entry.version, answer)))
  } else body = JSON.stringify(shapeReply(null, '2.0', answer))
  return { pass: false, status: error.httpStatus, body, headers }
}

export type { Client }

/** Whether a listening socket's address is reachable from other machines (for the open-/rpc warning). */
export function listensBeyondLoopback(address: string | { address: string } | null): boolean {
  if (address === null || typeof address === 'string') return false // a Unix socket: local by nature
  const host = address.address
  return !(host === '::1' || host.startsWith('127.') || host.startsWith('::ffff:127.'))
}
