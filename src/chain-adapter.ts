/**
 * The contract between the chain-agnostic core and one chain family (`chains/<family>/`).
 * The core never imports a family; adapters are injected (`createProxy(config, { adapters })`).
 * Adapters decide chain facts (what a method is, which height it needs, how to probe);
 * the core decides policy (health, routing, retries).
 */
import type { ChainConfig, NodeConfig } from './config/schema.js'
import type { JsonRpcErrorObject, JsonRpcVersion, RpcAnswer, RpcCall } from './jsonrpc/types.js'
import type { NodeFailure } from './upstream/node-failure.js'
import type { NodeTransport } from './upstream/node-transport.js'

/**
 * - `read`: routed to one healthy node, with failover.
 * - `broadcast`: a signed transaction; takes the broadcast path.
 * - `local`: answered by the proxy itself (`answerLocally`), no node involved.
 * - `forbidden`: never forwarded (-32601).
 */
export type MethodClass = 'read' | 'broadcast' | 'local' | 'forbidden'

export interface ProbeContext {
  /** Per-call timeout for the probe's requests, in milliseconds. */
  timeoutMs: number
  /** Lag threshold of the chain, for adapters that judge "syncing" from a header gap. */
  maxLagBlocks: number
  signal?: AbortSignal | undefined
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
    }
  | { kind: 'wrong-chain'; reason: string; latencyMs: number }
  | { kind: 'failed'; failure: NodeFailure; latencyMs: number }

/** Heights pushed by a node (EVM `newHeads` over WebSocket). Polling stays the cross-check. */
export interface HeadWatcher {
  close(): void
}

export interface HeadWatchHandlers {
  onHeight(height: number): void
  /** Connection state changes, for logs and the dashboard; never contains the URL. */
  onStatus?(status: 'connected' | 'disconnected', detail?: string): void
}

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
   * A node's JSON-RPC error that means "this node lacks the data yet" (e.g. EVM `header not
   * found`): not a node failure, but another node may answer, so the router tries the next one.
   */
  isNodeBehindAnswer(call: RpcCall, error: JsonRpcErrorObject): boolean
  /** Start push-based head tracking for a node, if the family and node support it. */
  watchHeads?(node: NodeConfig, handlers: HeadWatchHandlers): HeadWatcher | undefined
}

export type ChainAdapterFactory = (chain: ChainConfig) => ChainAdapter
