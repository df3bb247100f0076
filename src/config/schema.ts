/**
 * The one source of truth for configuration: every option, its default and its unit.
 * `config/example.yaml` documents the same options for operators.
 * Family-dependent defaults (probe interval, lag threshold, ...) are filled in by
 * `applyFamilyDefaults` after parsing, so an omitted value means "the family's default".
 */
import { z } from 'zod'

const positiveMs = z.number().int().positive()
const nonNegativeInt = z.number().int().nonnegative()

/** Chain names become URL segments (`/rpc/:chain`) and metric labels: keep them tame. */
const chainName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lowercase letters, digits, "-" or "_"')
const nodeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be letters, digits, ".", "-" or "_"')

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}, 'must be an http(s) URL')

const wsUrl = z.string().refine((value) => {
  try {
    const url = new URL(value)
    return url.protocol === 'ws:' || url.protocol === 'wss:'
  } catch {
    return false
  }
}, 'must be a ws(s) URL')

export const nodeSchema = z.strictObject({
  /** Stable name used everywhere a node is shown: responses, logs, metrics, dashboard. */
  id: nodeId,
  /** HTTP(S) JSON-RPC endpoint. Secret: may carry credentials (user:password@) or an API key. */
  url: httpUrl,
  /** EVM only: WebSocket endpoint for `newHeads` (push heights). Secret too. */
  wsUrl: wsUrl.optional(),
  /**
   * Basic-auth user and password (bitcoind rpcuser/rpcpassword), instead of user:password@ in the
   * URL; no percent-encoding needed, so secrets with `#`, `@` or `:` work as they are.
   */
  username: z.string().optional(),
  password: z.string().optional(),
  /** Bitcoin only: path of bitcoind's `.cookie` file; read at start, used as basic auth. */
  cookieFile: z.string().min(1).optional(),
  /** Relative share of traffic among equally healthy nodes. Default 1; 0 = only when nothing else. */
  weight: z.number().nonnegative().default(1),
  /** Who runs the node (operator, provider); broadcasts spread across distinct providers. */
  provider: z.string().max(64).optional(),
  /** Free-form location label for the dashboard. */
  region: z.string().max(64).optional(),
  /** EVM: the node keeps all historical state (archive); old-state reads prefer it. Default: learned from its errors. */
  archive: z.boolean().optional(),
})

export const healthSchema = z.strictObject({
  /** Probe period per node, ms. Default: evm 1000, bitcoin 2000. */
  intervalMs: positiveMs.optional(),
  /** Timeout of one probe, ms. Default: the probe interval, at most 5000. */
  timeoutMs: positiveMs.optional(),
  /** A node more than this many blocks behind the pool head is `lagging`. Default: bitcoin 1, evm 3. */
  maxLagBlocks: nonNegativeInt.optional(),
  /**
   * A node below the head for this long, counted from when the pool head first passed its height,
   * is `lagging` even inside maxLagBlocks. Default: bitcoin 120000, evm 15000 (ms).
   */
  staleAfterMs: positiveMs.optional(),
  /** Consecutive failures (probes and live traffic) that make a node `down`. Default 3. */
  failuresToDown: z.number().int().min(1).default(3),
  /** Consecutive good probes needed to re-admit an ejected node. Default 2. */
  successesToRecover: z.number().int().min(1).default(2),
  /**
   * Nodes that must report a height before it counts as the pool head.
   * Default: 2 when the chain has 3 or more nodes, else 1.
   */
  headQuorum: z.number().int().min(1).optional(),
  /**
   * A node ejected again within this long after a re-admission is "flapping": it then has to wait
   * `readmitBackoffBaseMs` × 2^(flaps−1) (capped at `readmitBackoffMaxMs`) before re-admission.
   * Staying routable this long clears the flap count. Default 60000 ms.
   */
  flapWindowMs: positiveMs.default(60_000),
  /** First hold-off for a flapping node, ms. Default 5000. */
  readmitBackoffBaseMs: positiveMs.default(5_000),
  /** Longest hold-off for a flapping node, ms. Default 300000. */
  readmitBackoffMaxMs: positiveMs.default(300_000),
  /**
   * Empty answers (null receipt, transaction, block) for data another node had, within
   * `evidenceWindowMs`, that make a node `unreliable`. Default 3.
   */
  emptyAnswersToEject: z.number().int().min(1).default(3),
  /** Verified-read disputes lost (minority answer) within `evidenceWindowMs` that make a node `unreliable`. Default 3. */
  disputesToEject: z.number().int().min(1).default(3),
  /** How long empty-answer and dispute evidence counts against a node, ms. Default 600000. */
  evidenceWindowMs: positiveMs.default(600_000),
  /** An `unreliable` node stays out at least this long before probes may re-admit it, ms. Default 60000. */
  unreliableHoldMs: positiveMs.default(60_000),
  /** Compare block hashes at a common height every probe round and quarantine a minority (`forked`). Default true. */
  forkCheck: z.boolean().default(true),
  /** How often node capabilities (pruning, txindex) are re-read, ms. Default 60000. */
  capabilitiesIntervalMs: positiveMs.default(60_000),
})

export const routingSchema = z.strictObject({
  /** Nodes tried for one call before giving up (transport errors, timeouts, 5xx/429). Default 3. */
  maxAttempts: z.number().int().min(1).default(3),
  /** Overall deadline for one client call across all attempts, ms. Default 15000. */
  deadlineMs: positiveMs.default(15_000),
  /**
   * Calls in flight to one node at once (its connection pool size, so no call waits inside
   * switchyard for a socket). A node at the bound is skipped; all candidates at it → SY_OVERLOADED. Default 64.
   */
  maxInFlightPerNode: z.number().int().min(1).default(64),
  /** Largest node reply read for one call, bytes; larger → SY_REPLY_TOO_LARGE (not the node's fault). Default 32 MiB. */
  maxReplyBytes: z.number().int().positive().default(32 * 1024 * 1024),
  /**
   * Ask one more node before a client gets an empty answer (null transaction, receipt or block)
   * for data at or below the head. Default true.
   */
  confirmEmptyAnswers: z.boolean().default(true),
})

export const verifySchema = z.strictObject({
  /**
   * Methods whose answers must match on `agree` nodes before a client gets them (deposit crediting),
   * e.g. getrawtransaction, getblockhash, getblockheader; eth_getTransactionReceipt, eth_getLogs,
   * eth_getBlockByNumber, eth_getBlockByHash. Default none (off).
   */
  methods: z.array(z.string().min(1)).default([]),
  /** Nodes that must give the same answer. Default 2. */
  agree: z.number().int().min(2).default(2),
})

export const broadcastSchema = z.strictObject({
  /** Nodes each signed transaction is sent to at once, spread across providers. Default 3 (all if fewer). */
  fanout: z.number().int().min(1).default(3),
  /**
   * Nodes shown (by lookup) to hold a transaction before the client gets the txid while sends are
   * still running; at least 2 unless only one at-head node exists. The other sends finish in the
   * background. Default 1 (so effectively 2).
   */
  minAccepts: z.number().int().min(1).default(1),
  /** Timeout of one send or lookup, ms. Default 10000. */
  timeoutMs: positiveMs.default(10_000),
  /** How often pending transactions are checked and re-sent to nodes that lack them, ms. Default 30000. */
  rebroadcastIntervalMs: positiveMs.default(30_000),
  /**
   * Rebroadcast rounds in a row in which no node is shown by lookup to hold a pending transaction
   * (re-sends included: a node's "accepted"/"already known" counts only once a lookup finds it),
   * after which it becomes `dropped` (event `broadcast:dropped`) and is no longer re-sent. Rounds in
   * which no node could be asked do not count. Default 3 rounds (about 90 s at the default interval).
   */
  dropAfterRounds: z.number().int().min(1).default(3),
  /**
   * Count an "accepted" / "already known" reply only once a lookup on that node finds the
   * transaction (bcoin answers the txid before validating; a node can lie). false: trust replies,
   * no protection against lying nodes. Default true.
   */
  verifyAcceptance: z.boolean().default(true),
  /** EVM: accept transactions without EIP-155 replay protection. Default false. */
  allowUnprotected: z.boolean().default(false),
  /**
   * No longer used: repeats are now checked against the nodes (see README, broadcasts). Still
   * accepted so existing configs load. Default 10000.
   */
  recentCacheSize: z.number().int().positive().default(10_000),
})

export const chainSchema = z.strictObject({
  family: z.enum(['evm', 'bitcoin']),
  /** EVM: the chain id every node must report (`eth_chainId`). Required for evm. */
  chainId: z.number().int().positive().optional(),
  /**
   * Bitcoin: the network preset (genesis hash check): mainnet, testnet3, testnet4, signet,
   * regtest, litecoin, litecoin-testnet, dogecoin, dogecoin-testnet, bitcoincash.
   */
  network: z.string().optional(),
  /** Expected genesis block hash (bitcoin: overrides the preset; evm: checked when set). */
  genesisHash: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be a 32-byte hex hash').optional(),
  /** Per-attempt timeout for a proxied request, ms. Default 5000. */
  requestTimeoutMs: positiveMs.default(5_000),
  /** Confirmations after which a broadcast counts as final. Default: bitcoin 2, evm 12. */
  confirmations: z.number().int().min(1).optional(),
  health: healthSchema.prefault({}),
  routing: routingSchema.prefault({}),
  broadcast: broadcastSchema.prefault({}),
  verify: verifySchema.prefault({}),
  nodes: z.array(nodeSchema).min(1, 'needs at least one node'),
})

export const serverSchema = z.strictObject({
  /** Listen address. Default 127.0.0.1 (loopback only). */
  host: z.string().default('127.0.0.1'),
  /** Listen port; 0 picks a free one. Default 8545. */
  port: z.number().int().min(0).max(65535).default(8545),
  /** Largest accepted request body, bytes. Default 5 MiB (large raw transactions, batches). */
  bodyLimitBytes: z.number().int().positive().default(5 * 1024 * 1024),
  /** Most calls in one JSON-RPC batch. Default 100. */
  maxBatchSize: z.number().int().positive().default(100),
  /** Largest single call (method + params as sent), bytes; larger → SY_REQUEST_TOO_LARGE before any node sees it. Default 1 MiB. */
  maxCallBytes: z.number().int().positive().default(1024 * 1024),
  /** Deepest nesting of arrays/objects in a call's params; deeper → SY_REQUEST_TOO_LARGE. Default 32. */
  maxParamsDepth: z.number().int().min(1).default(32),
  /** Node reply bytes held in memory across all calls at once; over it → SY_OVERLOADED. Default 256 MiB. */
  maxReplyBytesInFlight: z.number().int().positive().default(256 * 1024 * 1024),
})

export const journalSchema = z.strictObject({
  /** SQLite file of the broadcast journal (created with its directory), or ':memory:' (lost on exit). Default .switchyard/journal.sqlite. */
  path: z.string().min(1).default('.switchyard/journal.sqlite'),
  /** How often the journal file is checked (still there, writable), ms; a failure turns /readyz 503 at once. Default 1000. */
  checkIntervalMs: positiveMs.default(1_000),
})

export const adminSchema = z.strictObject({
  /**
   * Bearer token for every /admin route and dashboard action (usually `${SWITCHYARD_ADMIN_TOKEN}`).
   * Unset: admin routes answer only on loopback, and the startup log says so.
   */
  token: z.string().min(16, 'must be at least 16 characters').optional(),
})

export const webhookSchema = z.strictObject({
  /** Receiver URL (secret: may carry a token). */
  url: httpUrl,
  /**
   * Events delivered; default all: node-ejected, node-readmitted, wrong-chain, chain-unavailable,
   * broadcast-conflict, broadcast-dropped, chain-reorg, chain-fork (no majority), journal-failed.
   */
  events: z
    .array(
      z.enum(['node-ejected', 'node-readmitted', 'wrong-chain', 'chain-unavailable', 'broadcast-conflict', 'broadcast-dropped', 'chain-reorg', 'chain-fork', 'journal-failed']),
    )
    .optional(),
  /** Payload shape: 'json' (switchyard's own) or 'slack' (Slack-compatible `{ text }`). Default json. */
  format: z.enum(['json', 'slack']).default('json'),
})

export const alertsSchema = z.strictObject({
  webhooks: z.array(webhookSchema).default([]),
  /** Delivery attempts per alert, with exponential backoff. Default 5. */
  maxAttempts: z.number().int().min(1).default(5),
  /** First retry delay, ms; doubles per attempt up to retryMaxDelayMs. Default 500. */
  retryBaseDelayMs: positiveMs.default(500),
  /** Longest retry delay, ms. Default 30000. */
  retryMaxDelayMs: positiveMs.default(30_000),
  /** Timeout of one delivery, ms. Default 5000. */
  timeoutMs: positiveMs.default(5_000),
})

export const logSchema = z.strictObject({
  /** pino level: fatal, error, warn, info, debug, trace, silent. Default info. */
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  log: logSchema.prefault({}),
  journal: journalSchema.prefault({}),
  admin: adminSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  chains: z.record(chainName, chainSchema).refine((chains) => Object.keys(chains).length > 0, 'needs at least one chain'),
})

export type NodeConfig = z.output<typeof nodeSchema>
export type HealthConfig = Required<z.output<typeof healthSchema>>
export type RoutingConfig = z.output<typeof routingSchema>
export type VerifyConfig = z.output<typeof verifySchema>
export type BroadcastConfig = z.output<typeof broadcastSchema>
export type AlertsConfig = z.output<typeof alertsSchema>
export type ServerConfig = z.output<typeof serverSchema>
export type ChainConfig = Omit<z.output<typeof chainSchema>, 'health' | 'confirmations'> & {
  /** The chain's name (its key under `chains:`). */
  name: string
  health: HealthConfig
  confirmations: number
}
export type ProxyConfig = Omit<z.output<typeof configSchema>, 'chains'> & { chains: Record<string, ChainConfig> }
/** What users may write: every defaulted option optional. */
export type ProxyConfigInput = z.input<typeof configSchema>

/** Family defaults: numbers an operator would pick for each kind of chain. */
export const familyDefaults = {
  // Bitcoin: 10-minute blocks, so one block of lag is already a stale view of deposits.
  bitcoin: { intervalMs: 2_000, maxLagBlocks: 1, staleAfterMs: 120_000, confirmations: 2 },
  // EVM: seconds-long blocks; 3 blocks of slack absorbs normal propagation jitter.
  evm: { intervalMs: 1_000, maxLagBlocks: 3, staleAfterMs: 15_000, confirmations: 12 },
} as const

export function applyFamilyDefaults(name: string, chain: z.output<typeof chainSchema>): ChainConfig {
  const family = familyDefaults[chain.family]
  const intervalMs = chain.health.intervalMs ?? family.intervalMs
  return {
    ...chain,
    name,
    confirmations: chain.confirmations ?? family.confirmations,
    health: {
      ...chain.health,
      intervalMs,
      timeoutMs: chain.health.timeoutMs ?? Math.min(intervalMs, 5_000),
      maxLagBlocks: chain.health.maxLagBlocks ?? family.maxLagBlocks,
      staleAfterMs: chain.health.staleAfterMs ?? family.staleAfterMs,
      headQuorum: chain.health.headQuorum ?? (chain.nodes.length >= 3 ? 2 : 1),
    },
  }
}
