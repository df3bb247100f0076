/**
 * The contract between the chain-agnostic core and one chain family (`chains/<family>/`).
 * The core never imports a family; families are injected (`createProxy(config, { adapters: { name: family } })`).
 * Adapters decide chain facts (what a method is, which height it needs, how to probe);
 * the core decides policy (health, routing, retries).
 */
import type { ChainConfig, FamilyConfigSlice, NodeConfig } from './config/schema.js'
import type { ProxyError } from './errors/proxy-error.js'
import type { JsonRpcErrorObject, JsonRpcVersion, RpcAnswer, RpcCall } from './jsonrpc/types.js'
import type { NodeFailure } from './upstream/node-failure.js'
import type { NodeTransport } from './upstream/node-transport.js'
import type { StreamHead } from './streams/chain-streams.js'
import type { CallSignal } from './util/call-signal.js'

/**
 * - `read`: routed to one healthy node, with failover.
 * - `broadcast`: a signed transaction; takes the broadcast path.
 * - `local`: answered by the proxy itself (`answerLocally`), no node involved.
 * - `stream`: filters and subscriptions (`eth_newFilter`, `eth_subscribe`…), served by switchyard
 *   from its own head tracking (`src/streams/`), never forwarded (node-local state a failover would lose).
 * - `forbidden`: never forwarded (-32601).
 */
export type MethodClass = 'read' | 'broadcast' | 'local' | 'stream' | 'forbidden'

export interface ProbeContext {
  /** Per-call timeout for the probe's requests, in milliseconds. */
  timeoutMs: number
  /** Lag threshold of the chain, for adapters that judge "syncing" from a header gap. */
  maxLagBlocks: number
  signal?: CallSignal | undefined
  /** false: the node takes no JSON-RPC batch (`nodes[].batch`); send the probe's calls one by one. Default true. */
  batches?: boolean | undefined
}

/** One probe of one node. Probes never throw for node problems; they return `failed`. */
export type ProbeObservation =
  | {
      kind: 'ok'
      height: number
      /** The node says it is still syncing (IBD, eth_syncing object, headers far ahead of blocks). */
      syncing: boolean
      /** Why it is syncing, human-readable; set when `syncing`. */
      syncingReason?: string | undefined
      latencyMs: number
      /**
       * The hash of the node's block at `height`, when the probe's own replies tell it consistently
       * (getblockchaininfo's bestblockhash; EVM: the latest block in the probe batch, when its number
       * is `height`). The fork check uses it instead of a look-up at that height. Lower-case 0x hex
       * for EVM, plain hex for bitcoin, as `blockHashAt` gives them.
       */
      headHash?: string | undefined
      /** Bitcoin: cumulative chain work at the node's tip (hex), to prefer the most-work chain on a fork. */
      chainwork?: string | undefined
      /** Bitcoin: pruning as getblockchaininfo reports it. */
      pruned?: boolean | undefined
      pruneHeight?: number | undefined
      /**
       * Bitcoin: how the node shapes replies to JSON-RPC 2.0 requests, learned from its software
       * (getnetworkinfo): `legacy` = `result` and `error` both present (Core before 28, bcoin),
       * `strict` = JSON-RPC 2.0 (Core 28+). Undefined: not asked, or it could not tell.
       */
      rpcReplyStyle?: RpcReplyStyle | undefined
    }
  | { kind: 'wrong-chain'; reason: string; latencyMs: number }
  | { kind: 'failed'; failure: NodeFailure; latencyMs: number }

/** How replies to JSON-RPC 2.0 requests are shaped (see `shapeReply` in src/jsonrpc/reply.ts). */
export type RpcReplyStyle = 'legacy' | 'strict'

/** Heights pushed by a node (EVM `newHeads` over WebSocket). Polling stays the cross-check. */
export interface HeadWatcher {
  close(): void
}

export interface HeadWatchHandlers {
  onHeight(height: number): void
  /** Connection state changes, for logs and the dashboard; never contains the URL. */
  onStatus?(status: 'connected' | 'disconnected', detail?: string): void
}

/**
 * What a node's JSON-RPC error means for routing (each adapter keeps the table of spellings):
 * - `answer`: the node's verdict on the call (invalid params, reverted…): passed to the client;
 * - `behind`: the node lacks that block yet; another node may answer; not counted;
 * - `missing-state`: the node lacks old state or pruned blocks; ask another, remember the height;
 * - `refusal`: a provider-side refusal at HTTP 200 (rate limited, internal error, capacity): the
 *   node's failure: fail over and count it;
 * - `request-invalid`: the node could not take the request itself (parse error, too large): the
 *   request's fault once a second node says the same.
 */
export type NodeErrorClass = 'answer' | 'behind' | 'missing-state' | 'refusal' | 'request-invalid'

/**
 * `cheap`: bounded work (heads, single objects by hash); a timeout is the node's fault.
 * `heavy`: the client chose the cost (eth_getLogs ranges, eth_call, traces, scans); a timeout
 * counts against a node only when it also fails cheap calls or probes.
 */
export type CallCost = 'cheap' | 'heavy'

export interface ChainAdapter {
  readonly family: string
  /** The JSON-RPC version the proxy speaks to this family's nodes. */
  readonly upstreamVersion: JsonRpcVersion
  probe(node: NodeTransport, context: ProbeContext): Promise<ProbeObservation>
  classifyMethod(method: string): MethodClass
  /**
   * The block height a call needs the answering node to have (e.g. `eth_getBlockByNumber 0x10`
   * → 16, `getblockhash 5` → 5). `undefined`: no explicit height; the router prefers at-head nodes.
   */
  requiredHeight(call: RpcCall): number | undefined
  /** Answer a `local` method without a node (e.g. `eth_chainId` from config). */
  answerLocally(call: RpcCall): RpcAnswer | undefined
  /**
   * What a node's JSON-RPC error to `call` means for routing (see NodeErrorClass); each adapter
   * keeps the table of spellings it recognises. Never used for broadcast replies.
   */
  classifyError(call: RpcCall, error: JsonRpcErrorObject): NodeErrorClass
  /** Whether the client chose the call's cost (a timeout is then not the node's fault; see CallCost). */
  callCost(call: RpcCall): CallCost
  /**
   * Hash of the block at `height` on `node` (bitcoin getblockhash; EVM the block's hash), for fork
   * checks across nodes. undefined: the node could not tell (failure, no such block).
   */
  blockHashAt?(node: NodeTransport, height: number, context: ProbeContext): Promise<string | undefined>
  /** Bitcoin: whether the node runs -txindex (getindexinfo); undefined when it cannot tell. Read at admission and periodically. */
  probeTxIndex?(node: NodeTransport, context: ProbeContext): Promise<boolean | undefined>
  /** Start push-based head tracking for a node, if the family and node support it. */
  watchHeads?(node: NodeConfig, handlers: HeadWatchHandlers): HeadWatcher | undefined
  /**
   * Monotonic reads: how a call that follows the chain tip (`eth_blockNumber`, `latest`,
   * `getblockcount`, `getbestblockhash`) is served at `height`, the pool's read head.
   * undefined: the call does not follow the tip (or names a tag that must not be pinned).
   */
  pinToHeight?(call: RpcCall, height: number): HeadRead | undefined
  /** A "not found" answer (null transaction/receipt/block, "Block not found") that another node may contradict. */
  isEmptyAnswer?(call: RpcCall, answer: RpcAnswer): boolean
  /**
   * Height of the block holding the data of a non-empty answer (a receipt's blockNumber, a block's
   * number, `nodeHeight − confirmations + 1`); undefined when not in a block (mempool) or unknown.
   * An empty answer is held against a node only when the data sat at or below that node's height.
   */
  dataHeight?(call: RpcCall, answer: RpcAnswer, nodeHeight: number): number | undefined
  /** What the call needs a node to keep (old state, unpruned blocks, a tx index), for capability routing. */
  requirement?(call: RpcCall): ReadRequirement | undefined
  /** The node's error says it lacks a capability the call needs (pruned, no -txindex, no old state). */
  missingCapability?(call: RpcCall, error: JsonRpcErrorObject): MissingCapability | undefined
  /**
   * The part of an answer that must match across nodes for a verified read: fields that depend on
   * the answering node's own tip (bitcoin `confirmations`, `nextblockhash`, `bestblock`) removed.
   * Default: the answer itself.
   */
  canonicalAnswer?(call: RpcCall, answer: RpcAnswer): unknown
  /**
   * Whether the answer to `call` can never change, for the answer cache (`src/routing/answer-cache.ts`;
   * see CachePolicy). Without it nothing of the chain is cached.
   */
  cachePolicy?(call: RpcCall): CachePolicy
  /**
   * For a `by-answer` call: the height of the block the answer comes from (a block's number, a
   * transaction's block), or undefined when it names none on the chain (pending, a stale block):
   * then it is not cached.
   */
  answerHeight?(call: RpcCall, answer: RpcAnswer): number | undefined
  /**
   * A cached answer as it is served now, with the fields that move with the tip (bitcoin
   * `confirmations`) recomputed at `readHead`; `height` is the block it was cached for.
   * Default: as cached.
   */
  cachedAnswer?(call: RpcCall, answer: RpcAnswer, height: number, readHead: number): RpcAnswer
  /**
   * A limit of switchyard's own that the call breaks (EVM: an eth_getLogs range wider than
   * `maxLogsRange`), checked on the call as a node would get it (after tip pinning), with the
   * pool's read head for tags left unpinned: the client gets this error and no node is asked.
   */
  checkLimits?(call: RpcCall, readHead: number | undefined): ProxyError | undefined
  /**
   * How the chain answers JSON-RPC 2.0 requests, from the reply styles of its routable nodes (as
   * probed; undefined where unknown). Families without one reply strict JSON-RPC 2.0.
   */
  replyStyle?(nodes: ReadonlyArray<RpcReplyStyle | undefined>): RpcReplyStyle
  /**
   * The block at `height` as switchyard's head stream delivers it (EVM `eth_getBlockByNumber(h,
   * false)`; bitcoin `getblockhash` + `getblockheader`), read with `read` (the chain's read path:
   * failover, blame, empty answers confirmed). undefined: no block there (yet). Throws when the
   * reads fail. Without it the chain has no streams (`Proxy.streams(chain)` is undefined).
   */
  headerAt?(read: StreamRead, height: number): Promise<StreamHead | undefined>
  /**
   * Every log of the block `blockHash` (EVM `eth_getLogs { blockHash }`, EIP-234: the answer can
   * never mix blocks of two branches), in log-index order. Throws when the read fails (a node
   * that does not know the block included). Without it the chain serves no logs or log filters.
   */
  blockLogs?(read: StreamRead, blockHash: string): Promise<Array<Record<string, unknown>>>
  /** The broadcast path: decoding, reply classification and lookups for signed transactions. */
  broadcast?: BroadcastSupport
  /** How a node's HTTP client authenticates beyond static config credentials (bitcoind cookie file). */
  credentials?(node: NodeConfig): CredentialSource | undefined
  /**
   * HTTP status of an error reply to a client speaking `version`, when the family's clients expect
   * one other than 200 (bitcoind answers JSON-RPC 1.0 errors with 404 / 400 / 500). undefined: 200.
   */
  legacyHttpStatus?(error: JsonRpcErrorObject, version: JsonRpcVersion): number | undefined
}

/**
 * One read for switchyard's own streams, routed like a client's read (failover, blame, empty
 * answers confirmed): resolves with the answer a node gave (its JSON-RPC error included), rejects
 * with the ProxyError when no node could answer.
 */
export type StreamRead = (call: RpcCall) => Promise<RpcAnswer>

/**
 * - `height`: the answer is `result` (the read head itself); a node at that height is still
 *   asked the call, so an unreachable chain fails closed instead of answering a frozen height;
 * - `pinned`: send `call` instead (the tip tag replaced by the height); its answer is the client's.
 */
export type HeadRead = { kind: 'height'; result: unknown } | { kind: 'pinned'; call: RpcCall }

/**
 * Which answers of a call are cached (never errors, `null` or empty answers, whatever the policy):
 * - `never`: the answer may change (tip reads, tags, mempool, node facts);
 * - `constant`: the same for the life of the chain (`net_version`); reorgs never drop it;
 * - a number: the block height the call names; cached once that block is final (`cache.finalityDepth`
 *   below the read head);
 * - `by-answer`: the call names a block or transaction by hash; cached once the block the answer
 *   comes from (`answerHeight`) is final.
 */
export type CachePolicy = 'never' | 'constant' | 'by-answer' | number

/**
 * - `state`: EVM account/contract state at `height` (full nodes keep only recent state);
 * - `block`: bitcoin block data at `height` (a pruned node keeps headers, not old blocks);
 * - `txindex`: bitcoin, a confirmed transaction looked up by txid alone (needs -txindex).
 */
export type ReadRequirement = { kind: 'state'; height: number } | { kind: 'block'; height: number } | { kind: 'txindex' }

/** Which capability a node's error says it lacks. */
export type MissingCapability = 'state' | 'pruned' | 'txindex'

export type ChainAdapterFactory = (chain: ChainConfig) => ChainAdapter

/**
 * What a node's HTTP client sends as `Authorization`, when the family has its own way to get it
 * (bitcoind's `.cookie` file, rewritten at every node restart). Static credentials from the config
 * (username/password, user:password@ in the URL) do not need one.
 */
export interface CredentialSource {
  /** The header value (`Basic …`); read before the first call and again after a 401. Throws when unreadable. */
  authorization(): Promise<string>
}

/**
 * A chain family as the core sees it (`chains/<family>/index.ts` exports one): the adapter factory
 * plus what the family owns in the config (`FamilyConfigSlice`: its chain, node and broadcast
 * options, its defaults and its checks). The config names it by `name` (`family: evm`).
 */
export interface ChainFamily extends FamilyConfigSlice {
  readonly name: string
  createAdapter: ChainAdapterFactory
}

/** A signed transaction as decoded locally, before any node sees it. */
export interface DecodedTransaction {
  /** Txid (bitcoin, display hex) or transaction hash (evm, 0x-prefixed lowercase), computed locally. */
  id: string
  /** The raw transaction exactly as the client sent it: re-sent byte for byte, never altered. */
  raw: string
  /** EVM: sender and nonce, to tell "mined already" from "nonce used by another transaction". */
  sender?: string
  nonce?: number
  /** Bitcoin: outpoints spent, to detect a double-spend. */
  inputs?: ReadonlyArray<{ txid: string; vout: number }>
  /** Bitcoin: number of outputs (lookups probe them). */
  outputCount?: number
}

/**
 * What one node's reply to a send means (reliability reference §1–2):
 * - `accepted`: the node returned the transaction's id;
 * - `already-known`: the network has this exact transaction (mempool or chain): success;
 * - `ambiguous`: missing inputs / nonce too low: mined already, conflicting, or node behind;
 *   resolved by lookups on at-head nodes;
 * - `conflict`: another transaction spends the same input / uses the same nonce;
 * - `invalid`: the transaction itself is rejected; the node's error goes back to the client;
 * - `node-local`: this node cannot take it now (mempool full, warming up): try another node.
 */
export type BroadcastVerdict = 'accepted' | 'already-known' | 'ambiguous' | 'conflict' | 'invalid' | 'node-local'

export interface ClassifiedReply {
  verdict: BroadcastVerdict
  /** For `accepted`: the id the node returned (must equal the local one). */
  returnedId?: string
}

/** Where a node sees a transaction. */
export type TxPresence =
  | { state: 'mempool' }
  | { state: 'confirmed'; height: number; blockHash: string }
  | { state: 'absent' }
  | { state: 'conflict'; detail: string }
  | { state: 'unknown'; detail: string }

export interface BroadcastSupport {
  /** The client method that carries a raw transaction (`sendrawtransaction`, `eth_sendRawTransaction`). */
  readonly method: string
  /** Decodes the call's params; throws ProxyError (SY_INVALID_PARAMS, SY_TX_WRONG_CHAIN) without contacting a node. */
  decode(params: RpcCall['params']): DecodedTransaction
  /** Params of the send to a node: the same bytes the client sent. */
  sendParams(tx: DecodedTransaction): unknown[]
  classifyReply(answer: RpcAnswer): ClassifiedReply
  /** Where `node` sees the transaction; never throws for node problems (`unknown`). */
  lookup(node: NodeTransport, tx: DecodedTransaction, options: { timeoutMs: number }): Promise<TxPresence>
  /** Whether the block at `height` on `node` is still `blockHash` (reorg check). undefined: could not tell. */
  isBlockCanonical(node: NodeTransport, height: number, blockHash: string, options: { timeoutMs: number }): Promise<boolean | undefined>
}
