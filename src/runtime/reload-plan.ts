/**
 * What a config reload changes, decided from the running config and the new one alone (pure):
 * which chain runtimes stay as they are, which are rebuilt (and which of their nodes keep their
 * health and connections), which settings the running process picks up, and which wait for a
 * restart. Changes name chains, nodes, clients and option paths, never values: a changed URL,
 * password or key is reported as `url` / `password` / `key`.
 */
import type { ChainConfig, ProxyConfig } from '../config/schema.js'

export type ConfigChange =
  | { kind: 'chain-added'; chain: string }
  | { kind: 'chain-removed'; chain: string }
  /** Chain-level options (health, routing, broadcast, verify, family options), as paths. */
  | { kind: 'chain-changed'; chain: string; fields: string[] }
  | { kind: 'node-added'; chain: string; nodeId: string }
  | { kind: 'node-removed'; chain: string; nodeId: string }
  /** `reconnected`: its address or credentials changed, so its health starts over. */
  | { kind: 'node-changed'; chain: string; nodeId: string; fields: string[]; reconnected: boolean }
  | { kind: 'client-added' | 'client-removed'; client: string }
  | { kind: 'client-changed'; client: string; fields: string[] }
  /** Other sections applied at once (log level, admin, metrics, alerts, shutdown, limits). */
  | { kind: 'settings-changed'; fields: string[] }

/**
 * - `keep`: the running runtime serves on untouched (its chain config did not change);
 * - `add` / `remove`: a chain appears or goes;
 * - `rebuild`: a new runtime replaces the running one; nodes in `carry` keep their health
 *   history, and those in `reuseConnections` keep their HTTP clients too.
 */
export interface ChainPlan {
  chain: string
  action: 'keep' | 'add' | 'remove' | 'rebuild'
  carry: ReadonlySet<string>
  reuseConnections: ReadonlySet<string>
}

export interface ReloadPlan {
  changes: ConfigChange[]
  chains: ChainPlan[]
  /** Option paths that changed but take effect only at the next restart (listening sockets, `chains.<name>.listen`, journal file). */
  restartRequired: string[]
  /** The config to run with: the new one, except restart-only options keep their running values. */
  effective: ProxyConfig
}

/**
 * Read once when the process starts (the listening socket, Fastify's body limit, the journal
 * file and its monitor): a reload leaves the running value in place and reports the path.
 */
export const RESTART_ONLY_PATHS: readonly string[] = [
  'server.host',
  'server.port',
  'server.bodyLimitBytes',
  'server.maxConnections',
  'server.headersTimeoutMs',
  'server.requestTimeoutMs',
  'server.keepAliveTimeoutMs',
  'server.trustProxy',
  'server.maxReplyBytesInFlight',
  // The cluster primary forks its workers once (cluster-primary.ts).
  'server.workers',
  // A V8 flag the CLI sets once, before serving.
  'server.heapGrowingPercent',
  'journal.path',
  'journal.store',
  'journal.postgres',
  'journal.claimLeaseMs',
  'journal.checkIntervalMs',
  'journal.retentionDays',
  'journal.pruneIntervalMs',
  'journal.outcomeHistory',
  // The CLI sets its shutdown sequence up at start.
  'shutdown.graceMs',
  'shutdown.drainMs',
]

/** Options every chain's broadcaster reads when it is built: a change rebuilds every chain. */
const SHARED_BY_RUNTIMES: readonly string[] = ['journal.maxOpenPerClient']

/**
 * Node options that tune how switchyard uses a node. Any other (url, credentials, the family's
 * own such as a cookie file or a WebSocket URL) says which node it is: when one changes, it is
 * another node as far as health goes.
 */
const NODE_TUNING = new Set(['id', 'weight', 'provider', 'region', 'archive', 'quota', 'batch'])

/** How a node's HTTP clients are built (besides its identity). */
const CONNECTION_OPTIONS: readonly string[] = ['routing.maxInFlightPerNode', 'routing.maxReplyBytes']

/**
 * Chain options that tune how switchyard treats the chain; any other chain option (family,
 * chain id, network, genesis hash) says which chain it is: when that changes, no node's health
 * carries over.
 */
const CHAIN_TUNING = new Set(['name', 'nodes', 'health', 'routing', 'broadcast', 'verify', 'cache', 'requestTimeoutMs', 'confirmations', 'maxLogsRange'])

export function planReload(current: ProxyConfig, next: ProxyConfig): ReloadPlan {
  const changes: ConfigChange[] = []
  const chains: ChainPlan[] = []
  const none = new Set<string>()

  const fixedPaths = RESTART_ONLY_PATHS.filter((path) => !isDeepEqual(valueAt(current, path), valueAt(next, path)))
  const listenPaths = changedListeners(current, next)
  const restartRequired = [...fixedPaths, ...listenPaths]
  const effective = withRunningListeners(withValuesOf(next, current, fixedPaths), current, listenPaths.length > 0)
  const rebuildAll = SHARED_BY_RUNTIMES.some((path) => !isDeepEqual(valueAt(current, path), valueAt(next, path)))

  for (const [name, before] of Object.entries(current.chains)) {
    if (next.chains[name] === undefined) {
      changes.push({ kind: 'chain-removed', chain: name })
      chains.push({ chain: name, action: 'remove', carry: none, reuseConnections: none })
    }
  }
  for (const [name, after] of Object.entries(effective.chains)) {
    const before = current.chains[name]
    if (before === undefined) {
      changes.push({ kind: 'chain-added', chain: name })
      chains.push({ chain: name, action: 'add', carry: none, reuseConnections: none })
      continue
    }
    const chainFields = changedPaths(withoutNodes(before), withoutNodes(after))
    const nodeChanges = diffNodes(name, before, after)
    if (chainFields.length === 0 && nodeChanges.changes.length === 0 && !rebuildAll) {
      chains.push({ chain: name, action: 'keep', carry: none, reuseConnections: none })
      continue
    }
    if (chainFields.length > 0) changes.push({ kind: 'chain-changed', chain: name, fields: chainFields })
    changes.push(...nodeChanges.changes)
    const sameChain = chainFields.every((field) => CHAIN_TUNING.has(field.split(/[.[]/)[0]!))
    const sameConnections = CONNECTION_OPTIONS.every((path) => isDeepEqual(valueAt(before, path), valueAt(after, path)))
    const carry = sameChain ? nodeChanges.sameIdentity : none
    chains.push({ chain: name, action: 'rebuild', carry, reuseConnections: sameConnections ? carry : none })
  }

  changes.push(...diffClients(current, effective))
  const settings = [
    ...(['log', 'admin', 'metrics', 'alerts', 'shutdown', 'filters'] as const).flatMap((section) => changedPaths(current[section], effective[section], section)),
    ...changedPaths(current.server, effective.server, 'server'),
    ...changedPaths(current.journal, effective.journal, 'journal'),
  ]
  if (settings.length > 0) changes.push({ kind: 'settings-changed', fields: settings })
  return { changes, chains, restartRequired, effective }
}

/**
 * `chains.<name>.listen` of every chain whose own listener changed, appeared or went (a chain added
 * with one, or removed while its listener runs): listeners are opened at start only.
 */
function changedListeners(current: ProxyConfig, next: ProxyConfig): string[] {
  const names = [...new Set([...Object.keys(current.chains), ...Object.keys(next.chains)])]
  return names.filter((name) => !isDeepEqual(current.chains[name]?.listen, next.chains[name]?.listen)).map((name) => `chains.${name}.listen`)
}

/**
 * `next` with each chain's `listen` as it runs (none for a chain added since the start), so a
 * listener change neither rebuilds the chain nor stops being reported until the restart.
 */
function withRunningListeners(next: ProxyConfig, current: ProxyConfig, changed: boolean): ProxyConfig {
  if (!changed) return next
  const chains: Record<string, ChainConfig> = {}
  for (const [name, chain] of Object.entries(next.chains)) {
    const { listen: _listen, ...rest } = chain
    const running = current.chains[name]?.listen
    chains[name] = (running === undefined ? rest : { ...rest, listen: running }) as ChainConfig
  }
  return { ...next, chains }
}

function diffNodes(chain: string, before: ChainConfig, after: ChainConfig): { changes: ConfigChange[]; sameIdentity: Set<string> } {
  const changes: ConfigChange[] = []
  const sameIdentity = new Set<string>()
  const previous = new Map(before.nodes.map((node) => [node.id, node]))
  const kept = new Set(after.nodes.map((node) => node.id))
  for (const node of before.nodes) if (!kept.has(node.id)) changes.push({ kind: 'node-removed', chain, nodeId: node.id })
  for (const node of after.nodes) {
    const old = previous.get(node.id)
    if (old === undefined) {
      changes.push({ kind: 'node-added', chain, nodeId: node.id })
      continue
    }
    const fields = changedPaths(old, node)
    const reconnected = fields.some((field) => !NODE_TUNING.has(field.split('.')[0]!))
    if (!reconnected) sameIdentity.add(node.id)
    if (fields.length > 0) changes.push({ kind: 'node-changed', chain, nodeId: node.id, fields, reconnected })
  }
  // Order only matters for display: a reordered list is not a change.
  return { changes, sameIdentity }
}

function diffClients(current: ProxyConfig, next: ProxyConfig): ConfigChange[] {
  const changes: ConfigChange[] = []
  const before = new Map(current.clients.map((client) => [client.name, client]))
  const names = new Set(next.clients.map((client) => client.name))
  for (const client of current.clients) if (!names.has(client.name)) changes.push({ kind: 'client-removed', client: client.name })
  for (const client of next.clients) {
    const old = before.get(client.name)
    if (old === undefined) changes.push({ kind: 'client-added', client: client.name })
    else {
      const fields = changedPaths(old, client)
      if (fields.length > 0) changes.push({ kind: 'client-changed', client: client.name, fields })
    }
  }
  return changes
}

function withoutNodes(chain: ChainConfig): Omit<ChainConfig, 'nodes'> {
  const { nodes: _nodes, ...rest } = chain
  return rest
}

/** Paths (`health.intervalMs`, `nodes[0]`) whose values differ; objects are compared key by key. */
export function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (isDeepEqual(before, after)) return []
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((key) => changedPaths(before[key], after[key], prefix === '' ? key : `${prefix}.${key}`))
  }
  return [prefix === '' ? '(root)' : prefix]
}

export function isDeepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => isDeepEqual(item, b[index]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a).filter((key) => a[key] !== undefined)
    const other = Object.keys(b).filter((key) => b[key] !== undefined)
    return keys.length === other.length && keys.every((key) => isDeepEqual(a[key], b[key]))
  }
  return false
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function valueAt(root: unknown, path: string): unknown {
  let value = root
  for (const key of path.split('.')) value = isPlainObject(value) ? value[key] : undefined
  return value
}

/** `next` with the values of `source` at `paths` (a copy; neither input is changed). */
function withValuesOf(next: ProxyConfig, source: ProxyConfig, paths: readonly string[]): ProxyConfig {
  if (paths.length === 0) return next
  const copy = structuredClone(next)
  for (const path of paths) {
    const keys = path.split('.')
    let target = copy as unknown as Record<string, unknown>
    for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>
    target[keys.at(-1)!] = structuredClone(valueAt(source, path))
  }
  return copy
}

/** One line for people (logs, the dashboard timeline): names and option paths, never values. */
export function describeChange(change: ConfigChange): string {
  switch (change.kind) {
    case 'chain-added':
      return `chain ${change.chain} added`
    case 'chain-removed':
      return `chain ${change.chain} removed`
    case 'chain-changed':
      return `chain ${change.chain}: ${change.fields.join(', ')} changed`
    case 'node-added':
      return `node ${change.chain}/${change.nodeId} added`
    case 'node-removed':
      return `node ${change.chain}/${change.nodeId} removed`
    case 'node-changed':
      return `node ${change.chain}/${change.nodeId}: ${change.fields.join(', ')} changed${change.reconnected ? ' (new connection: health starts over)' : ''}`
    case 'client-added':
      return `client ${change.client} added`
    case 'client-removed':
      return `client ${change.client} removed`
    case 'client-changed':
      return `client ${change.client}: ${change.fields.join(', ')} changed`
    case 'settings-changed':
      return `${change.fields.join(', ')} changed`
  }
}

/** The chain a change is about ('' for process-wide settings and clients). */
export function changeChain(change: ConfigChange): string {
  return 'chain' in change ? change.chain : ''
}
