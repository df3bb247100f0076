/**
 * Who may use /rpc: client keys from `clients[]`, the chains and method groups each is granted.
 *
 * - A key is presented as `Authorization: Bearer <key>`, `x-api-key: <key>`, or the password of
 *   HTTP basic auth (`Authorization: Basic base64(user:key)`, what bitcoin-cli, python-bitcoinrpc
 *   and the `bitcoin-core` npm client send). The basic-auth user name is ignored: the key alone
 *   names the client, and bitcoind clients insist on some rpcuser.
 * - Keys are kept only as sha256 digests (`keyHash: sha256:<hex>` needs no secret in the config at
 *   all); a presented key is hashed and looked up, so a comparison never runs over the key's bytes
 *   and a timing difference could at most reveal a digest, not a key. Keys never reach logs,
 *   metrics or replies: clients are named by `name`.
 * - With no clients configured, /rpc is open (as before): anyone who can connect may call it.
 *
 * Decisions are pure functions (table-tested next to this file); the gate (`client-gate.ts`)
 * applies them to requests.
 */
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { MethodClass } from '../chain-adapter.js'
import type { ClientConfig, MethodGroup } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'

export type { MethodGroup } from '../config/schema.js'

/**
 * The grant group of a method, from the adapter's class: reads and local answers (eth_chainId)
 * are `read`, signed transactions `broadcast`. Methods off the allowlist have no group: they are
 * refused (-32601) for everyone. `subscriptions` (eth_subscribe, eth_newFilter…) is granted already
 * and gets its methods when the adapters serve them: a new MethodClass must be placed here (the
 * switch is exhaustive, so the compiler asks).
 */
export function methodGroupOf(kind: MethodClass): MethodGroup | undefined {
  switch (kind) {
    case 'read':
    case 'local':
      return 'read'
    case 'broadcast':
      return 'broadcast'
    case 'stream':
      return 'subscriptions'
    case 'forbidden':
      return undefined
    default: {
      const unplaced: never = kind
      return unplaced
    }
  }
}

/** A configured client as the gate needs it. */
export interface Client {
  readonly name: string
  /** Granted chains; undefined = every chain. */
  readonly chains: ReadonlySet<string> | undefined
  readonly groups: ReadonlySet<MethodGroup>
}

/**
 * Candidate keys a request presents, in this order: a Bearer token, the basic-auth password, the
 * `x-api-key` header. Several may be present (a library adding basic auth of its own next to an
 * x-api-key); the first one that names a client counts.
 */
export function presentedKeys(headers: IncomingHttpHeaders): string[] {
  const keys: string[] = []
  const authorization = headers.authorization
  if (typeof authorization === 'string') {
    const match = /^(\S+)\s+(.+)$/.exec(authorization.trim())
    const scheme = match?.[1]?.toLowerCase()
    const value = match?.[2]?.trim()
    if (scheme === 'bearer' && value !== undefined && value !== '') keys.push(value)
    if (scheme === 'basic' && value !== undefined) {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon >= 0 && colon < decoded.length - 1) keys.push(decoded.slice(colon + 1))
    }
  }
  const apiKey = headers['x-api-key']
  const given = Array.isArray(apiKey) ? apiKey[0] : apiKey
  if (typeof given === 'string' && given.trim() !== '') keys.push(given.trim())
  return keys
}

/** `sha256:<hex>` of a key, the form a config's `keyHash` takes. */
export function keyDigest(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`
}

/** The configured clients by key digest. */
export class ClientRegistry {
  readonly #byDigest = new Map<string, Client>()
  readonly #clients: Client[] = []

  constructor(clients: readonly ClientConfig[]) {
    for (const config of clients) {
      const client: Client = {
        name: config.name,
        chains: config.chains.includes('*') ? undefined : new Set(config.chains),
        groups: new Set(config.methods),
      }
      this.#clients.push(client)
      const digest = config.key !== undefined ? keyDigest(config.key) : config.keyHash!.toLowerCase()
      this.#byDigest.set(digest, client)
    }
  }

  /** Whether any client is configured (else /rpc is open). */
  get enabled(): boolean {
    return this.#clients.length > 0
  }

  get clients(): readonly Client[] {
    return this.#clients
  }

  /** The client named by the first presented key that is configured, if any. */
  identify(keys: readonly string[]): Client | undefined {
    for (const key of keys) {
      const client = this.#byDigest.get(keyDigest(key))
      if (client !== undefined) return client
    }
    return undefined
  }
}

/** The whole request's verdict before any call is looked at: unknown client → 401, chain outside the grant → 403. */
export function decideAccess(client: Client | undefined, chain: string): ProxyError | undefined {
  if (client === undefined) {
    return new ProxyError('SY_UNAUTHORIZED', 'Unauthorized: send a client key as "Authorization: Bearer <key>", "x-api-key: <key>" or the basic-auth password')
  }
  if (client.chains !== undefined && !client.chains.has(chain)) {
    return new ProxyError('SY_FORBIDDEN', `Forbidden: client "${client.name}" may not use chain "${chain.slice(0, 64)}"`, { client: client.name, chain: chain.slice(0, 64) })
  }
  return undefined
}

/** One call's verdict: a method whose group the client lacks → 403 (in a batch, only that call). */
export function decideMethod(client: Client, method: string, group: MethodGroup | undefined): ProxyError | undefined {
  if (group === undefined || client.groups.has(group)) return undefined
  return new ProxyError('SY_FORBIDDEN', `Forbidden: client "${client.name}" may not call ${group} methods (${method.slice(0, 64)})`, { client: client.name, group })
}
