/**
 * The one source of truth for configuration: every option, its default and its unit.
 * `config/example.yaml` documents the same options for operators.
 * The core knows no chain family: each family (`chains/<family>/<family>-config.ts`) adds its own
 * chain, node and broadcast options, its defaults and its checks (`FamilyConfigSlice`), and
 * `configSchemaFor(families)` builds the schema a file is validated against. Family-dependent
 * defaults (probe interval, lag threshold, ...) are filled in by `applyFamilyDefaults` after
 * parsing, so an omitted value means "the family's default".
 */
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { z } from 'zod'

const positiveMs = z.number().int().positive()
const nonNegativeInt = z.number().int().nonnegative()

/** Chain names become URL segments (`/rpc/:chain`) and metric labels: keep them tame. */
const chainName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lowercase letters, digits, "-" or "_"')
const nodeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be letters, digits, ".", "-" or "_"')

/** A URL string with one of `protocols` (`['http:', 'https:']`); families use it for their own URLs. */
export function urlOption(protocols: readonly string[], message: string) {
  return z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol)
    } catch {
      return false
    }
  }, message)
}

const httpUrl = urlOption(['http:', 'https:'], 'must be an http(s) URL')

/** The parsed type of a family's option shape (its `chainOptions`, `nodeOptions`…). */
export type OptionsOf<Shape extends z.core.$ZodShape> = z.output<z.ZodObject<Shape>>

/** A token bucket: a rate on average, and how many may come at once after a quiet spell. */
export const bucketSchema = z.strictObject({
  /** Requests per second on average; fractions allowed (0.5 = one every 2 s). */
  perSecond: z.number().positive(),
  /** Most requests at once (the bucket's size); also the largest batch that can pass. Default: perSecond rounded up, at least 1. */
  burst: z.number().int().min(1).optional(),
})

export const nodeSchema = z.strictObject({
  /** Stable name used everywhere a node is shown: responses, logs, metrics, dashboard. */
  id: nodeId,
  /** HTTP(S) JSON-RPC endpoint. Secret: may carry credentials (user:password@) or an API key. */
  url: httpUrl,
  /**
   * Basic-auth user and password (bitcoind rpcuser/rpcpassword), instead of user:password@ in the
   * URL; no percent-encoding needed, so secrets with `#`, `@` or `:` work as they are.
   */
  username: z.string().optional(),
  password: z.string().optional(),
  /** Relative share of traffic among equally healthy nodes. Default 1; 0 = only when nothing else. */
  weight: z.number().nonnegative().default(1),
  /** Who runs the node (operator, provider); broadcasts spread across distinct providers. */
  provider: z.string().max(64).optional(),
  /** Free-form location label for the dashboard. */
  region: z.string().max(64).optional(),
  /** EVM: the node keeps all historical state (archive); old-state reads prefer it. Default: learned from its errors. */
  archive: z.boolean().optional(),
  /**
   * The provider's request quota for this node: client calls routed to it above this rate go to
   * the next node instead (never an ejection); every candidate over its quota → SY_NODE_QUOTA.
   * Probes and broadcasts are not held back but use the provider's quota too: leave room for
   * them. Default none (no quota).
   */
  quota: bucketSchema.optional(),
  /**
   * false: this node is never sent a JSON-RPC batch: its share of routing.batch reads goes call by
   * call, and its probes too (a provider that bills each batch entry plus the batch, or caps batch
   * sizes below routing.batch.maxCalls and answers oddly instead of refusing). Default true.
   */
  batch: z.boolean().default(true),
})

export const healthSchema = z.strictObject({
  /** Probe period per node, ms. Default: the family's (evm 1000, bitcoin 2000). */
  intervalMs: positiveMs.optional(),
  /** Timeout of one probe, ms. Default: the probe interval, at most 5000. */
  timeoutMs: positiveMs.optional(),
  /** A node more than this many blocks behind the pool head is `lagging`. Default: the family's (bitcoin 1, evm 3). */
  maxLagBlocks: nonNegativeInt.optional(),
  /**
   * A node below the head for this long, counted from when the pool head first passed its height,
   * is `lagging` even inside maxLagBlocks. Default: the family's (bitcoin 120000, evm 15000) (ms).
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
  /**
   * Identical reads in flight at once (same chain, method and params) share one node call; each
   * client still gets its own reply. Never writes or broadcasts. Default true.
   */
  coalesce: z.boolean().default(true),
  /**
   * Upstream batching: cheap reads to the same node that arrive in the same turn of the event loop
   * go to it as one JSON-RPC batch (one HTTP exchange) instead of one exchange each. Each call keeps
   * its own answer, failure and cancellation; a node that refuses batches is sent single calls from
   * then on. Never writes, broadcasts or calls whose cost the client chose (eth_getLogs, eth_call…).
   */
  batch: z
    .strictObject({
      /** Batch this chain's cheap reads. Default true. */
      enabled: z.boolean().default(true),
      /** Most calls in one batch (keep it under the nodes' own batch limits: Erigon 100, geth 1000). Default 20. */
      maxCalls: z.number().int().min(2).max(1000).default(20),
    })
    .prefault({}),
  /**
   * Hedged reads: when the first node has not answered after its observed p95 latency (at least
   * `afterMs`), the same read goes to a second node; the first answer wins, the other is cancelled.
   * Costs extra node calls; never for broadcasts or other writes. Off by default.
   */
  hedge: z
    .strictObject({
      /** Hedge this chain's reads. Default false. */
      enabled: z.boolean().default(false),
      /** Least wait before the hedge is sent, ms (the node's p95 when higher). Default 50. */
      afterMs: positiveMs.default(50),
      /** Most hedges in flight at once on this chain (bounds the extra load when a node stalls). Default 16. */
      maxInFlight: z.number().int().min(1).default(16),
    })
    .prefault({}),
})

/**
 * Answers that can never change, kept in memory (lru-cache bounded in bytes): chain id, blocks and
 * transactions by hash, blocks by number deeper than `finalityDepth`, receipts in such blocks,
 * bitcoin getblock/getblockheader by hash. Never null or empty answers, errors, `latest`/`pending`.
 * A reorg drops entries above its fork point.
 */
export const cacheSchema = z.strictObject({
  /** Cache this chain's immutable answers. Default true. */
  enabled: z.boolean().default(true),
  /** Memory for this chain's cached answers, bytes (JSON text size). Default 64 MiB. */
  maxBytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** Largest single answer cached, bytes. Default 1 MiB. */
  maxEntryBytes: z.number().int().positive().default(1024 * 1024),
  /**
   * Blocks below the read head after which a block is taken as final and its contents cacheable.
   * Default: the family's (bitcoin 6, evm 64).
   */
  finalityDepth: z.number().int().min(1).optional(),
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
  /**
   * No longer used: repeats are now checked against the nodes (see README, broadcasts). Still
   * accepted so existing configs load. Default 10000.
   */
  recentCacheSize: z.number().int().positive().default(10_000),
})

/**
 * The options every chain takes, whatever its family. A family's own options (evm `chainId`,
 * bitcoin `network`…) sit beside them in the same object (see `FamilyConfigSlice`).
 */
export const chainSchema = z.strictObject({
  /** The chain family, the name of one of the families the proxy was given (built in: evm, bitcoin). Required. */
  family: z.string(),
  /** Per-attempt timeout for a proxied request, ms. Default 5000. */
  requestTimeoutMs: positiveMs.default(5_000),
  /** Confirmations after which a broadcast counts as final. Default: the family's (bitcoin 2, evm 12). */
  confirmations: z.number().int().min(1).optional(),
  health: healthSchema.prefault({}),
  routing: routingSchema.prefault({}),
  broadcast: broadcastSchema.prefault({}),
  verify: verifySchema.prefault({}),
  cache: cacheSchema.prefault({}),
  /**
   * A port of the chain's own: serves this chain's JSON-RPC at `/` (and `/wallet/<name>` with a
   * "wallet RPC is not served" error), so clients configured by host:port only (bitcoin-cli, LND,
   * BTCPay, electrs) need only this port. Same client keys, limits and timeouts as `server`. Read
   * at start (a change needs a restart). Default none (served at /rpc/<name> only).
   */
  listen: z
    .strictObject({
      /** Listen address. Default 127.0.0.1 (loopback only). */
      host: z.string().default('127.0.0.1'),
      /** Listen port; 0 picks a free one. Required. */
      port: z.number().int().min(0).max(65535),
    })
    .optional(),
  nodes: z.array(nodeSchema).min(1, 'needs at least one node'),
})

/** A trusted proxy: an IP address, a CIDR block, or one of proxy-addr's named ranges. */
const proxyAddress = z.string().refine((value) => {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(value)) return true
  const [address, bits, ...rest] = value.split('/')
  const family = isIP(address ?? '')
  if (family === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}, 'must be an IP address, a CIDR block (10.0.0.0/8) or loopback | linklocal | uniquelocal')

const hostName = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/, 'must be a host name without port (e.g. switchyard.internal)')
  .transform((name) => name.toLowerCase())

/** Bounds of the WebSocket endpoint; all follow a reload (new connections, next message, next ping). */
export const wsSchema = z.strictObject({
  /** Open WebSocket connections, all chains together; an upgrade past it → 503 SY_OVERLOADED. They also count toward server.maxConnections. Default 1000. */
  maxConnections: z.number().int().min(1).default(1_000),
  /** Subscriptions (eth_subscribe, switchyard_subscribe) one connection may hold; past it → SY_TOO_MANY_SUBSCRIPTIONS. Default 16. */
  maxSubscriptionsPerConnection: z.number().int().min(1).default(16),
  /**
   * Bytes queued for one connection that its client has not read yet (replies and notifications
   * switchyard could not hand to the socket); past it the connection is closed with 1008 "slow
   * consumer", so a client that stops reading never grows switchyard's memory. Default 4 MiB.
   */
  maxBufferedBytes: z.number().int().positive().default(4 * 1024 * 1024),
  /** A ping goes to every connection this often, ms; one that has not answered the previous ping by then is closed (1008 "no pong"). Default 30000. */
  pingIntervalMs: positiveMs.default(30_000),
})

export const serverSchema = z.strictObject({
  /** Listen address. Default 127.0.0.1 (loopback only); anything else needs admin.token. */
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
  /**
   * Client connections open at once. At the cap a new connection takes the slot of a socket that
   * is not being served (an answered one still closing, then one that never completed a request
   * — slow or silent headers, oldest first —, then idle keep-alive, then a slow upload); only
   * when every socket has a request being handled is the new one closed. Keep it, plus the node
   * connections, under the open-file limit (`ulimit -n`): the startup log warns otherwise.
   * Read at start. Default 1000.
   */
  maxConnections: z.number().int().min(1).default(1_000),
  /** Time from a connection's first byte (or its connect) to the end of a request's headers, ms; past it → 408 and the socket is closed. Read at start. Default 10000. */
  headersTimeoutMs: positiveMs.default(10_000),
  /**
   * Time to receive a whole request, headers and body, ms; past it → 408 and the socket is
   * closed (a body dripped a byte at a time). At least headersTimeoutMs. Read at start. Default 30000.
   */
  requestTimeoutMs: positiveMs.default(30_000),
  /**
   * How long an idle keep-alive connection stays open after a response, ms; advertised to
   * clients as `Keep-Alive: timeout=<seconds>`, and Node closes the socket 1 s after that so a
   * client honouring the hint closes first. Behind a reverse proxy or load balancer that keeps
   * upstream connections alive, set it above that proxy's idle timeout (nginx upstream
   * keepalive_timeout 60 s, AWS ALB 60 s: 65000), or it may reuse a connection switchyard is
   * closing. Read at start. Default 5000 (Node's; undici clients expect it).
   */
  keepAliveTimeoutMs: positiveMs.default(5_000),
  /**
   * Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Host` are believed: addresses, CIDRs
   * (`10.0.0.0/8`) or `loopback` / `linklocal` / `uniquelocal`. The client address is the first
   * hop, walking back from the socket, that is not one of these. Needs admin.token. Read at start
   * (a change needs a restart). Default none: forwarding headers are ignored, and a request that
   * carries them is never treated as a loopback client.
   */
  trustProxy: z.array(proxyAddress).default([]),
  /**
   * Host names the admin API answers on (the `Host` header, port ignored), besides `localhost`,
   * IP literals and `server.host`: any other name is refused, so a DNS-rebinding page cannot reach
   * it. List the name operators (or the reverse proxy) use, e.g. `switchyard.internal`. Default none.
   */
  names: z.array(hostName).default([]),
  /** The chain `POST /` answers on this port (bitcoind-style clients that know only host:port). Default none: `POST /` → 404. */
  defaultChain: z.string().optional(),
  /** The WebSocket endpoint `ws://host:port/rpc/<chain>` (`src/server/ws-endpoint.ts`). */
  ws: wsSchema.prefault({}),
  /**
   * Processes serving the port (node:cluster, `src/server/cluster-primary.ts`): 1 runs one
   * process as before; more fork that many workers, each a whole proxy (its own probes, health
   * view, cache) sharing the broadcast journal; 0 means one per core. Read at start. Default 1.
   */
  workers: z.number().int().min(0).max(64).default(1),
  /**
   * How far V8 lets the old generation grow past the live heap before its next full collection,
   * percent (V8's `--heap-growing-percent`, set by the CLI at start). V8's own heuristic lets a
   * busy proxy's heap reach about three times its live size: objects of in-flight requests that
   * outlive two young collections are promoted and stay until then. 50 kept the peak RSS of 3 chains ×
   * 5 nodes under 10 s of load at 146 MB instead of 195–232 MB, at no throughput cost measured (25:
   * 144 MB but 10% fewer requests a second); 0 leaves V8's heuristic. Read at start (the CLI; an
   * embedding application owns its process and its V8 flags). Default 50.
   */
  heapGrowingPercent: z.number().int().min(0).max(1000).default(50),
}).refine((server) => server.headersTimeoutMs <= server.requestTimeoutMs, { path: ['headersTimeoutMs'], message: 'must not exceed server.requestTimeoutMs' })

/** The PostgreSQL journal store (`journal.store: postgres`, `src/broadcast/postgres-journal.ts`). */
export const postgresJournalSchema = z.strictObject({
  /**
   * `postgres://user:password@host:5432/database`, usually "${SWITCHYARD_JOURNAL_URL}". Holds
   * credentials: never logged, never shown in an error or a health detail. Required.
   */
  url: z.string().refine((url) => /^postgres(ql)?:\/\//.test(url), { message: 'must be a postgres:// or postgresql:// URL' }),
  /** Connections each process keeps to the server. Default 4 (connections). */
  poolSize: z.number().int().min(1).max(100).default(4),
})

export const journalSchema = z.strictObject({
  /**
   * Where broadcast records live: 'sqlite' (the file at `path`: one process, or the workers of one
   * machine) or 'postgres' (`postgres.url`: several replicas share it). Read at start. Default 'sqlite'.
   */
  store: z.enum(['sqlite', 'postgres']).default('sqlite'),
  /** The PostgreSQL store; required when `store` is 'postgres'. */
  postgres: postgresJournalSchema.optional(),
  /**
   * Several processes on one journal (PostgreSQL, or SQLite with server.workers ≠ 1): how long a
   * process's claim on an open record's rebroadcast work lasts, ms. The owner renews it every
   * rebroadcast round; when it dies, another process takes the record over once the claim ran
   * out. Keep it above the chains' broadcast.rebroadcastIntervalMs. Default 30000 (30 s).
   */
  claimLeaseMs: positiveMs.default(30_000),
  /** SQLite file of the broadcast journal (created with its directory), or ':memory:' (lost on exit). Default .switchyard/journal.sqlite. */
  path: z.string().min(1).default('.switchyard/journal.sqlite'),
  /** How often the journal file is checked (still there, writable), ms; a failure turns /readyz 503 at once. Default 1000. */
  checkIntervalMs: positiveMs.default(1_000),
  /**
   * Days a closed broadcast record (confirmed and settled, rejected, dropped, conflicted) is kept
   * after its last update, then deleted; open ones never are. Fractions allowed. Default 30 (days).
   */
  retentionDays: z.number().positive().default(30),
  /** Time between passes that delete expired records (the first runs at start), ms. Default 3600000 (1 h). */
  pruneIntervalMs: positiveMs.default(3_600_000),
  /**
   * Broadcasts per client and chain not yet confirmed (pending or seen); one more → SY_TOO_MANY_OPEN
   * before any node sees it. Without client keys all clients are one anonymous client sharing it.
   * 0 = no bound. Default 10000 (records).
   */
  maxOpenPerClient: nonNegativeInt.default(10_000),
  /** Outcomes a record keeps besides each node's first and latest one: the most recent this many. Default 50 (entries). */
  outcomeHistory: z.number().int().min(1).default(50),
}).superRefine((journal, ctx) => {
  if (journal.store === 'postgres' && journal.postgres === undefined) ctx.addIssue({ code: 'custom', path: ['postgres', 'url'], message: 'required when journal.store is postgres' })
})

export const shutdownSchema = z.strictObject({
  /**
   * After SIGTERM/SIGINT, how long new connections are still accepted and served while /readyz
   * answers 503, so load balancers take the instance out before anything is refused, ms.
   * Longer than your balancer's health-check interval × its failure threshold. Default 5000.
   */
  graceMs: nonNegativeInt.default(5_000),
  /**
   * Then, with the listener closed, how long accepted requests, streams and background broadcast
   * sends get to finish, ms; connections still open after it are cut and the exit code is 1.
   * Default 20000: above routing.deadlineMs (a call accepted at the end of the grace completes),
   * and graceMs + drainMs stays under Kubernetes' default 30 s termination grace period.
   */
  drainMs: positiveMs.default(20_000),
})

export const filtersSchema = z.strictObject({
  /**
   * Filters (eth_newFilter, eth_newBlockFilter) one client may hold on one chain; one more →
   * SY_TOO_MANY_FILTERS. Without client keys all clients are one anonymous client sharing it.
   * Default 64 (filters).
   */
  maxPerClient: z.number().int().min(1).default(64),
  /** Filters one chain holds across all clients; one more → SY_TOO_MANY_FILTERS. Default 10000 (filters). */
  maxPerChain: z.number().int().min(1).default(10_000),
  /** A filter not polled (eth_getFilterChanges / eth_getFilterLogs) for this long is removed, as geth does, ms. Default 300000 (5 min). */
  idleTimeoutMs: positiveMs.default(300_000),
  /**
   * Changes (logs or block hashes) one filter holds between two polls; past it the filter is
   * dropped (its next poll → SY_FILTER_NOT_FOUND, so the client re-creates it and reads the gap
   * with eth_getLogs) instead of growing memory. Default 10000 (entries).
   */
  maxPendingChanges: z.number().int().min(1).default(10_000),
  /**
   * How often switchyard polls each node's pending-transaction filter while any client has a
   * pending filter or a newPendingTransactions subscription, ms. Default 1000.
   */
  pendingPollIntervalMs: positiveMs.default(1_000),
})

export const loginAttemptsSchema = z.strictObject({
  /** Wrong tokens a client address may present in a row before it is answered 429. Default 10. */
  burst: z.number().int().min(1).default(10),
  /** One more attempt comes back every this many ms (a token bucket). Default 6000 (10 a minute). */
  refillIntervalMs: positiveMs.default(6_000),
})

export const adminSchema = z.strictObject({
  /**
   * Bearer token for every /admin route and dashboard action (usually `${SWITCHYARD_ADMIN_TOKEN}`).
   * Required when `server.host` is not loopback or `server.trustProxy` is set. Unset: admin
   * actions (cordon, uncordon, probe…) are refused and only loopback clients may read; the
   * startup log says so.
   */
  token: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Open `GET /admin/api/events` streams across all clients; more → 503. Default 64. */
  maxStreams: z.number().int().min(1).default(64),
  /** Open event streams per client address; more → 429. Default 8. */
  maxStreamsPerClient: z.number().int().min(1).default(8),
  /** Wrong admin (and metrics) tokens per client address: past the bucket → 429 with Retry-After. */
  loginAttempts: loginAttemptsSchema.prefault({}),
})

export const metricsSchema = z.strictObject({
  /**
   * Bearer token `GET /metrics` requires (Prometheus: `authorization: { credentials: … }`); wrong
   * ones count against admin.loginAttempts. Default none: /metrics is open.
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

/** Loopback listen addresses: only this machine can connect. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/**
 * Without admin.token, admin reads are answered to loopback clients only: listening beyond
 * loopback, or behind a proxy (every request then comes from the proxy's address), that check
 * means nothing, so such a config is refused instead of being quietly open or quietly useless.
 * Runs on partly invalid input too (`when`), so this problem is listed with all the others.
 */
function requireAdminToken(config: { server?: { host?: unknown; trustProxy?: unknown }; admin?: { token?: unknown } } | undefined, ctx: z.RefinementCtx): void {
  if (typeof config?.admin?.token === 'string') return
  const host = typeof config?.server?.host === 'string' ? config.server.host : '127.0.0.1'
  const trustProxy = Array.isArray(config?.server?.trustProxy) && config.server.trustProxy.length > 0
  if (!isLoopbackHost(host)) {
    ctx.addIssue({ code: 'custom', path: ['admin', 'token'], message: `required when server.host is not loopback (${host}): set it, e.g. "\${SWITCHYARD_ADMIN_TOKEN}"` })
  } else if (trustProxy) {
    ctx.addIssue({ code: 'custom', path: ['admin', 'token'], message: 'required when server.trustProxy is set: set it, e.g. "${SWITCHYARD_ADMIN_TOKEN}"' })
  }
}

/** Client names are metric labels and appear in errors and logs: keep them tame. */
const clientName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be letters, digits, ".", "-" or "_"')

/** Method groups a client may be granted (see `src/server/client-auth.ts`). */
export const METHOD_GROUPS = ['read', 'broadcast', 'subscriptions'] as const

export const clientRateLimitSchema = z.strictObject({
  /** Calls per second across all groups, on average (each call of a batch counts). Default: no overall limit. */
  perSecond: z.number().positive().optional(),
  /** Most calls at once; also the largest batch that can pass. Default: perSecond rounded up, at least 1. */
  burst: z.number().int().min(1).optional(),
  /** Limits of their own per method group, on top of the overall one, e.g. `{ broadcast: { perSecond: 2 } }`. Default none. */
  perGroup: z.partialRecord(z.enum(METHOD_GROUPS), bucketSchema).optional(),
})

export const clientSchema = z
  .strictObject({
    /** Shown in metrics (`client` label), errors and the journal; never the key. */
    name: clientName,
    /**
     * The client's key, usually `${WALLET_API_KEY}`; at least 16 characters. Presented as
     * `Authorization: Bearer <key>`, `x-api-key: <key>`, or the password of HTTP basic auth (the
     * user name is ignored). Give `key` or `keyHash`.
     */
    key: z.string().min(16, 'must be at least 16 characters').optional(),
    /** The key's sha256 instead of the key (`sha256:` + 64 hex; `printf %s "$KEY" | sha256sum`), so the config holds no secret. */
    keyHash: z
      .string()
      .regex(/^sha256:[0-9a-fA-F]{64}$/, 'must be sha256:<64 hex digits>')
      .optional(),
    /** Chains the client may use (`/rpc/<chain>`); others → 403. Default ["*"]: every chain. */
    chains: z.array(z.string().min(1)).min(1).default(['*']),
    /**
     * Method groups the client may call; others → 403 (per call in a batch): `read` (reads and
     * local answers such as eth_chainId), `broadcast` (sendrawtransaction, eth_sendRawTransaction),
     * `subscriptions` (filters and subscriptions, once served). Default all.
     */
    methods: z.array(z.enum(METHOD_GROUPS)).min(1).default([...METHOD_GROUPS]),
    /** Token-bucket rate limit of this client; over it → 429 with Retry-After. Default none. */
    rateLimit: clientRateLimitSchema.optional(),
  })
  .superRefine((client, ctx) => {
    if ((client.key === undefined) === (client.keyHash === undefined)) ctx.addIssue({ code: 'custom', path: ['key'], message: 'give either key or keyHash (exactly one)' })
    if (client.rateLimit?.burst !== undefined && client.rateLimit.perSecond === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rateLimit', 'perSecond'], message: 'required with rateLimit.burst' })
    }
  })

/**
 * Client entries across the file: unique names, unique keys (a key must name one client), and
 * granted chains that exist. Runs on partly invalid input too, so these are listed with the rest.
 */
function checkClients(config: { clients?: unknown; chains?: unknown } | undefined, ctx: z.RefinementCtx): void {
  if (!Array.isArray(config?.clients)) return
  const chains = typeof config.chains === 'object' && config.chains !== null ? new Set(Object.keys(config.chains)) : undefined
  const names = new Set<string>()
  const keys = new Set<string>()
  config.clients.forEach((client: unknown, index) => {
    if (typeof client !== 'object' || client === null) return
    const { name, key, keyHash, chains: granted } = client as { name?: unknown; key?: unknown; keyHash?: unknown; chains?: unknown }
    if (typeof name === 'string') {
      if (names.has(name)) ctx.addIssue({ code: 'custom', path: ['clients', index, 'name'], message: `duplicate client name "${name}"` })
      names.add(name)
    }
    const hash = typeof key === 'string' ? `sha256:${createHash('sha256').update(key).digest('hex')}` : typeof keyHash === 'string' ? keyHash.toLowerCase() : undefined
    if (hash !== undefined) {
      // The message never shows the key: the entry's path is enough to find it.
      if (keys.has(hash)) ctx.addIssue({ code: 'custom', path: ['clients', index, typeof key === 'string' ? 'key' : 'keyHash'], message: 'the same key as an earlier client' })
      keys.add(hash)
    }
    if (chains !== undefined && Array.isArray(granted)) {
      granted.forEach((chain: unknown, at) => {
        if (typeof chain === 'string' && chain !== '*' && !chains.has(chain)) ctx.addIssue({ code: 'custom', path: ['clients', index, 'chains', at], message: `no chain named "${chain}"` })
      })
    }
  })
}

/**
 * `server.defaultChain` names a chain, and no two listeners (the main one, `chains.*.listen`) share
 * a port, whatever their hosts (0 = any free port, never a clash). Runs on partly invalid input too.
 */
function checkListeners(config: { server?: unknown; chains?: unknown } | undefined, ctx: z.RefinementCtx): void {
  const chains = typeof config?.chains === 'object' && config.chains !== null ? (config.chains as Record<string, unknown>) : {}
  const server = (typeof config?.server === 'object' && config.server !== null ? config.server : {}) as { host?: unknown; port?: unknown; defaultChain?: unknown }
  if (typeof server.defaultChain === 'string' && !Object.hasOwn(chains, server.defaultChain)) {
    ctx.addIssue({ code: 'custom', path: ['server', 'defaultChain'], message: `no chain named "${server.defaultChain}"` })
  }
  const taken = new Map<number, string>()
  taken.set(typeof server.port === 'number' ? server.port : 8545, 'server.port')
  for (const [name, chain] of Object.entries(chains)) {
    const listen = typeof chain === 'object' && chain !== null ? (chain as { listen?: { port?: unknown } }).listen : undefined
    const port = listen?.port
    if (typeof port !== 'number' || port === 0) continue
    const holder = taken.get(port)
    if (holder !== undefined) ctx.addIssue({ code: 'custom', path: ['chains', name, 'listen', 'port'], message: `port ${port} is already ${holder}'s` })
    else taken.set(port, `chains.${name}.listen`)
  }
}

/** The config's sections; `configSchemaFor` completes `chains` with the families' options. */
const configShape = {
  server: serverSchema.prefault({}),
  log: logSchema.prefault({}),
  journal: journalSchema.prefault({}),
  shutdown: shutdownSchema.prefault({}),
  /** EVM filters served by switchyard itself (`src/streams/`): bounds and expiry. */
  filters: filtersSchema.prefault({}),
  admin: adminSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  chains: z.record(chainName, chainSchema).refine((chains) => Object.keys(chains).length > 0, 'needs at least one chain'),
  /** Client keys for /rpc: with none, /rpc is open to anyone who can connect (see `src/server/client-auth.ts`). Default []. */
  clients: z.array(clientSchema).default([]),
}

/** The config without any family's options: what the core's types are derived from. */
const coreConfigSchema = z.strictObject(configShape)

/** Numbers an operator would pick for a kind of chain, used where the chain's config says nothing. */
export interface FamilyDefaults {
  /** `health.intervalMs`, ms. */
  readonly intervalMs: number
  /** `health.maxLagBlocks`, blocks. */
  readonly maxLagBlocks: number
  /** `health.staleAfterMs`, ms. */
  readonly staleAfterMs: number
  /** `confirmations`, blocks. */
  readonly confirmations: number
  /** `cache.finalityDepth`, blocks. */
  readonly finalityDepth: number
}

/** A problem a family's check finds in one chain; `path` starts inside the chain (`['network']`). */
export interface ConfigProblem {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/**
 * What a chain family owns in the config (a `ChainFamily` carries it, see `src/chain-adapter.ts`).
 * Its options stay flat in the file: `chainId:` beside `family:`, `wsUrl:` beside a node's `url:`,
 * `allowUnprotected:` inside `broadcast:`. Each option's schema carries its doc comment (default
 * and unit) in the family's config file, and has a line in `config/example.yaml`.
 */
export interface FamilyConfigSlice {
  /** The `family:` value that selects it. */
  readonly name: string
  /** Chain options only this family takes. A name the core already uses is refused. */
  readonly chainOptions: z.core.$ZodShape
  /** Node options only this family takes. */
  readonly nodeOptions?: z.core.$ZodShape
  /** Options of the chain's `broadcast:` block only this family takes. */
  readonly broadcastOptions?: z.core.$ZodShape
  readonly defaults: FamilyDefaults
  /**
   * Checks across options (one of two options required, …). Sees the chain as parsed so far
   * (defaults filled in, unknown options dropped) also when some of its values failed, so that
   * its problems are listed with all the others: test what it reads with `typeof`. Pure; never throws.
   */
  checkChain?(chain: Readonly<Record<string, unknown>>): readonly ConfigProblem[]
}

/**
 * Options a family adds to a chain, a node or a `broadcast:` block, as the core sees them: there,
 * but typed only by the family (`EvmChainConfig`, `BitcoinChainConfig` narrow them).
 */
export type FamilyOptions = { readonly [option: string]: unknown }

export type NodeConfig<Options = FamilyOptions> = z.output<typeof nodeSchema> & Options
export type HealthConfig = Required<z.output<typeof healthSchema>>
export type RoutingConfig = z.output<typeof routingSchema>
export type VerifyConfig = z.output<typeof verifySchema>
export type CacheConfig = Required<z.output<typeof cacheSchema>>
export type BroadcastConfig<Options = FamilyOptions> = z.output<typeof broadcastSchema> & Options
export type AlertsConfig = z.output<typeof alertsSchema>
export type ServerConfig = z.output<typeof serverSchema>
export type AdminConfig = z.output<typeof adminSchema>
export type FiltersConfig = z.output<typeof filtersSchema>
export type ClientConfig = z.output<typeof clientSchema>
export type BucketConfig = z.output<typeof bucketSchema>
export type MethodGroup = (typeof METHOD_GROUPS)[number]

/** A chain as validated, before the family's defaults are filled in. */
export type ParsedChainConfig = Omit<z.output<typeof chainSchema>, 'nodes' | 'broadcast'> &
  FamilyOptions & { nodes: NodeConfig[]; broadcast: BroadcastConfig }

/**
 * A validated chain. The type parameters are the family's own options (chain, node, broadcast
 * block); the core leaves them at `FamilyOptions` and never reads them.
 */
export type ChainConfig<Options = FamilyOptions, NodeOptions = FamilyOptions, BroadcastOptions = FamilyOptions> = Omit<
  z.output<typeof chainSchema>,
  'health' | 'confirmations' | 'nodes' | 'broadcast' | 'cache'
> &
  Options & {
    /** The chain's name (its key under `chains:`). */
    name: string
    health: HealthConfig
    confirmations: number
    cache: CacheConfig
    nodes: NodeConfig<NodeOptions>[]
    broadcast: BroadcastConfig<BroadcastOptions>
  }
export type ProxyConfig = Omit<z.output<typeof coreConfigSchema>, 'chains'> & { chains: Record<string, ChainConfig> }

/** A chain as users may write it: every defaulted option optional, plus its family's options. */
export type ChainConfigInput = Omit<z.input<typeof chainSchema>, 'nodes' | 'broadcast'> &
  FamilyOptions & { nodes: Array<z.input<typeof nodeSchema> & FamilyOptions>; broadcast?: (z.input<typeof broadcastSchema> & FamilyOptions) | undefined }
/** What users may write: every defaulted option optional. */
export type ProxyConfigInput = Omit<z.input<typeof coreConfigSchema>, 'chains'> & { chains: Record<string, ChainConfigInput> }

/** What `configSchemaFor` yields: the config with each chain's family options, before family defaults. */
export type ParsedConfig = Omit<z.output<typeof coreConfigSchema>, 'chains'> & { chains: Record<string, ParsedChainConfig> }

const builtSchemas = new WeakMap<object, z.ZodType<ParsedConfig>>()

/**
 * The schema a config is validated against with these families: each chain is the core's chain
 * options plus those of the family its `family:` names (an unknown one is a problem at
 * `chains.<name>.family`). Built once per families object.
 * @throws Error when a family is registered under another name or reuses a core option's name.
 */
export function configSchemaFor(families: Readonly<Record<string, FamilyConfigSlice>>): z.ZodType<ParsedConfig> {
  const built = builtSchemas.get(families)
  if (built !== undefined) return built
  const entries = Object.entries(families)
  for (const [key, family] of entries) {
    if (family.name !== key) throw new Error(`families.${key}: the family is named "${family.name}": register it under its own name`)
  }
  const [first, ...rest] = entries.map(([, family]) => familyChainSchema(family))
  if (first === undefined) throw new Error('no chain families given')
  const known = entries.map(([name]) => name).join(', ')
  const chain = z.discriminatedUnion('family', [first, ...rest], {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined
      const family: unknown = (issue.input as { family?: unknown } | undefined)?.family
      return family === undefined ? `required: one of ${known}` : `unknown family ${JSON.stringify(family)} (known: ${known})`
    },
  })
  const schema = z
    .strictObject({ ...configShape, chains: z.record(chainName, chain).refine((chains) => Object.keys(chains).length > 0, 'needs at least one chain') })
    .superRefine(requireAdminToken, { when: () => true })
    .superRefine(checkClients, { when: () => true })
    .superRefine(checkListeners, { when: () => true }) as unknown as z.ZodType<ParsedConfig>
  builtSchemas.set(families, schema)
  return schema
}

/** One family's chain: the core's options plus the family's, at each of the three levels. */
function familyChainSchema(family: FamilyConfigSlice) {
  const nodeOptions = family.nodeOptions ?? {}
  const broadcastOptions = family.broadcastOptions ?? {}
  refuseClashes(family.name, 'chain', chainSchema.shape, family.chainOptions)
  refuseClashes(family.name, 'node', nodeSchema.shape, nodeOptions)
  refuseClashes(family.name, 'broadcast', broadcastSchema.shape, broadcastOptions)
  return chainSchema
    .extend({
      ...family.chainOptions,
      family: z.literal(family.name),
      broadcast: broadcastSchema.extend(broadcastOptions).prefault({}),
      nodes: z.array(nodeSchema.extend(nodeOptions)).min(1, 'needs at least one node'),
    })
    .superRefine(checkChain, { when: () => true })
    .superRefine(
      (chain, ctx) => {
        for (const problem of family.checkChain?.(chain) ?? []) ctx.addIssue({ code: 'custom', path: [...problem.path], message: problem.message })
      },
      { when: () => true },
    )
}

function refuseClashes(family: string, level: string, core: object, options: object): void {
  const clash = Object.keys(options).find((key) => Object.hasOwn(core, key))
  if (clash !== undefined) throw new Error(`family "${family}": ${level} option "${clash}" is a core option`)
}

/**
 * Checks across a chain's core options: unique node ids, a backoff range the right way round.
 * Runs on partly invalid input too (`when`), so these are listed with the rest.
 */
function checkChain(chain: { nodes?: unknown; health?: unknown }, ctx: z.RefinementCtx): void {
  if (Array.isArray(chain.nodes)) {
    const ids = new Set<string>()
    chain.nodes.forEach((node: unknown, index) => {
      const id = typeof node === 'object' && node !== null ? (node as { id?: unknown }).id : undefined
      if (typeof id !== 'string') return
      if (ids.has(id)) ctx.addIssue({ code: 'custom', path: ['nodes', index, 'id'], message: `duplicate node id "${id}"` })
      ids.add(id)
    })
  }
  const health = typeof chain.health === 'object' && chain.health !== null ? (chain.health as { readmitBackoffBaseMs?: unknown; readmitBackoffMaxMs?: unknown }) : {}
  if (typeof health.readmitBackoffMaxMs === 'number' && typeof health.readmitBackoffBaseMs === 'number' && health.readmitBackoffMaxMs < health.readmitBackoffBaseMs) {
    ctx.addIssue({ code: 'custom', path: ['health', 'readmitBackoffMaxMs'], message: 'must be at least readmitBackoffBaseMs' })
  }
}

/** A validated chain with its family's defaults filled in where the config says nothing. */
export function applyFamilyDefaults(name: string, chain: ParsedChainConfig, defaults: FamilyDefaults): ChainConfig {
  const intervalMs = chain.health.intervalMs ?? defaults.intervalMs
  return {
    ...chain,
    name,
    confirmations: chain.confirmations ?? defaults.confirmations,
    cache: { ...chain.cache, finalityDepth: chain.cache.finalityDepth ?? defaults.finalityDepth },
    health: {
      ...chain.health,
      intervalMs,
      timeoutMs: chain.health.timeoutMs ?? Math.min(intervalMs, 5_000),
      maxLagBlocks: chain.health.maxLagBlocks ?? defaults.maxLagBlocks,
      staleAfterMs: chain.health.staleAfterMs ?? defaults.staleAfterMs,
      headQuorum: chain.health.headQuorum ?? (chain.nodes.length >= 3 ? 2 : 1),
    },
  }
}
