/**
 * The Bitcoin-family adapter (Bitcoin Core RPC; BTC, LTC, BCH, DOGE). Probes with
 * getblockchaininfo (height, sync state) and getblockhash 0 (identity); speaks JSON-RPC 1.0 to
 * nodes, which every Core version and fork understands.
 */
import { bitcoinHeaderAt } from './bitcoin-streams.js'
import type { ChainAdapter, ChainAdapterFactory, ProbeContext, ProbeObservation, RpcReplyStyle } from '../../src/chain-adapter.js'
import type { ChainConfig } from '../../src/config/schema.js'
import type { NodeTransport } from '../../src/upstream/node-transport.js'
import { createBitcoinBroadcast } from './bitcoin-broadcast.js'
import { bitcoinChainConfig, bitcoinNodeConfig } from './bitcoin-config.js'
import { cookieCredentials } from './bitcoin-cookie.js'
import { bitcoinLegacyHttpStatus } from './bitcoin-legacy-status.js'
import { classifyBitcoinMethod, requiredBitcoinHeight } from './bitcoin-methods.js'
import { bitcoinCallCost, classifyBitcoinError } from './bitcoin-node-errors.js'
import { networkOfGenesis, resolveGenesisHash } from './bitcoin-networks.js'
import { bitcoinAnswerHeight, bitcoinCachePolicy, bitcoinCachedAnswer } from './bitcoin-cache-rules.js'
import { bitcoinDataHeight, bitcoinMissingCapability, bitcoinRequirement, canonicalBitcoinAnswer, isBitcoinEmptyAnswer, pinBitcoinToHeight } from './bitcoin-read-rules.js'

/** The adapter for one bitcoin-family chain; throws on a config without a usable genesis (see `resolveGenesisHash`). */
export const createBitcoinAdapter: ChainAdapterFactory = (config: ChainConfig): ChainAdapter => {
  const chain = bitcoinChainConfig(config)
  const genesis = resolveGenesisHash(chain)
  // An explicit genesisHash overrides the preset, so the preset name would mislabel it.
  const expected = (chain.genesisHash === undefined ? chain.network : networkOfGenesis(genesis)) ?? 'the configured genesis'
  return {
    family: 'bitcoin',
    upstreamVersion: '1.0',
    // The node's software is asked only when the reply style follows the nodes.
    probe: (node, context) => probeBitcoinNode(node, context, genesis, expected, chain.replyStyle === 'auto'),
    blockHashAt: bitcoinBlockHashAt,
    probeTxIndex: probeBitcoinTxIndex,
    classifyMethod: classifyBitcoinMethod,
    requiredHeight: requiredBitcoinHeight,
    answerLocally: () => undefined,
    classifyError: classifyBitcoinError,
    callCost: bitcoinCallCost,
    pinToHeight: pinBitcoinToHeight,
    isEmptyAnswer: isBitcoinEmptyAnswer,
    dataHeight: bitcoinDataHeight,
    requirement: bitcoinRequirement,
    missingCapability: bitcoinMissingCapability,
    canonicalAnswer: canonicalBitcoinAnswer,
    cachePolicy: bitcoinCachePolicy,
    answerHeight: bitcoinAnswerHeight,
    cachedAnswer: bitcoinCachedAnswer,
    broadcast: createBitcoinBroadcast(),
    credentials: (node) => {
      const { cookieFile } = bitcoinNodeConfig(node)
      return cookieFile === undefined ? undefined : cookieCredentials(cookieFile)
    },
    legacyHttpStatus: bitcoinLegacyHttpStatus,
    replyStyle: (nodes) => chainReplyStyle(chain.replyStyle, nodes),
    // The pool's block stream (WebSocket `switchyard_subscribe ["blocks"]`) reads headers this way.
    headerAt: bitcoinHeaderAt,
  }
}

/**
 * The chain's shape for 2.0 replies: the configured one, or (auto) legacy while any routable
 * node is legacy or not yet known — a client of pre-28 nodes (python-bitcoinrpc's `batch_` reads
 * `error` from every reply) breaks on a missing `error`, while 2.0 clients of Core 28+ read past
 * an `error: null`. Strict only once every routable node is known to be Core 28+.
 */
export function chainReplyStyle(configured: 'legacy' | 'strict' | 'auto', nodes: ReadonlyArray<RpcReplyStyle | undefined>): RpcReplyStyle {
  if (configured !== 'auto') return configured
  return nodes.length > 0 && nodes.every((style) => style === 'strict') ? 'strict' : 'legacy'
}

/** Core 28.0 (`version` 280000) added JSON-RPC 2.0 replies (doc/release-notes-27101.md). */
const STRICT_SINCE_VERSION = 280_000

/**
 * A node's 2.0 reply shape from its getnetworkinfo: Bitcoin Core (subversion `/Satoshi:…/`) with
 * `version` ≥ 280000 → strict, below → legacy. Every other node is legacy: bcoin (string
 * `version`), and the forks, whose version numbers do not follow Core's (Dogecoin Core 1.14 is
 * 1140700 but 0.14-based; Litecoin, Bitcoin Cash Node) and which did not take Core 28's 2.0
 * mode. undefined when it cannot tell (no version at all).
 */
export function readReplyStyle(info: unknown): RpcReplyStyle | undefined {
  if (typeof info !== 'object' || info === null) return undefined
  const { version, subversion } = info as { version?: unknown; subversion?: unknown }
  if (version === undefined && typeof subversion !== 'string') return undefined
  const core = typeof subversion === 'string' && subversion.startsWith('/Satoshi:')
  return core && typeof version === 'number' && version >= STRICT_SINCE_VERSION ? 'strict' : 'legacy'
}

/** What `readBlockchainInfo` makes of a getblockchaininfo result. */
export type BlockchainInfoReading = { ok: true; height: number; syncing: boolean; reason?: string } | { ok: false; message: string }

/**
 * What a getblockchaininfo result says about sync: a node in initial block download (Core), or
 * whose headers run more than `maxLagBlocks` ahead of its blocks, is syncing. `verificationprogress`
 * is not used: bcoin reports 0 at genesis, and it has no `initialblockdownload` field at all.
 * (A fresh Core regtest node does report IBD until its first block: its genesis is years old.)
 */
export function readBlockchainInfo(info: unknown, maxLagBlocks: number): BlockchainInfoReading {
  if (typeof info !== 'object' || info === null) return { ok: false, message: 'getblockchaininfo returned no object' }
  const { blocks, headers, initialblockdownload } = info as { blocks?: unknown; headers?: unknown; initialblockdownload?: unknown }
  if (typeof blocks !== 'number' || !Number.isSafeInteger(blocks) || blocks < 0) return { ok: false, message: 'getblockchaininfo has no valid "blocks"' }
  if (initialblockdownload === true) return { ok: true, height: blocks, syncing: true, reason: 'initial block download' }
  if (typeof headers === 'number' && headers - blocks > maxLagBlocks) {
    return { ok: true, height: blocks, syncing: true, reason: `headers ${headers} ahead of blocks ${blocks}` }
  }
  return { ok: true, height: blocks, syncing: false }
}

async function probeBitcoinNode(node: NodeTransport, context: ProbeContext, genesis: string, expected: string, askSoftware: boolean): Promise<ProbeObservation> {
  const options = { timeoutMs: context.timeoutMs, signal: context.signal }
  const [infoOutcome, genesisOutcome, networkOutcome] = await Promise.all([
    node.call({ method: 'getblockchaininfo', params: [] }, options),
    node.call({ method: 'getblockhash', params: [0] }, options),
    askSoftware ? node.call({ method: 'getnetworkinfo', params: [] }, options) : undefined,
  ])
  // getnetworkinfo is informative only: its failure or error never fails the probe, nor its latency counts.
  const rpcReplyStyle = networkOutcome?.ok === true && networkOutcome.answer.error === undefined ? readReplyStyle(networkOutcome.answer.result) : undefined
  // The two calls run side by side: the probe took as long as the slower one.
  const latencyMs = Math.max(infoOutcome.latencyMs, genesisOutcome.latencyMs)
  if (!infoOutcome.ok) return { kind: 'failed', failure: infoOutcome.failure, latencyMs }
  if (!genesisOutcome.ok) return { kind: 'failed', failure: genesisOutcome.failure, latencyMs }
  for (const [method, outcome] of [['getblockchaininfo', infoOutcome], ['getblockhash 0', genesisOutcome]] as const) {
    const error = outcome.answer.error
    // -28 "Loading block index…" (warm-up) and similar: the node cannot serve yet.
    if (error !== undefined) return badResponse(`node ${node.nodeId} answered ${method} with error ${error.code}: ${error.message}`, latencyMs)
  }
  const result = genesisOutcome.answer.result
  // Garbage is a bad reply, not proof of another chain: wrong-chain is a verdict about the node.
  if (typeof result !== 'string' || !/^[0-9a-fA-F]{64}$/.test(result)) return badResponse(`node ${node.nodeId} sent an invalid block 0 hash`, latencyMs)
  const hash = result.toLowerCase()
  if (hash !== genesis) {
    const actual = networkOfGenesis(hash)
    return { kind: 'wrong-chain', reason: `genesis ${short(hash)}${actual === undefined ? '' : ` (${actual})`} is not ${expected} (${short(genesis)})`, latencyMs }
  }
  const reading = readBlockchainInfo(infoOutcome.answer.result, context.maxLagBlocks)
  if (!reading.ok) return badResponse(`node ${node.nodeId}: ${reading.message}`, latencyMs)
  return {
    kind: 'ok',
    height: reading.height,
    syncing: reading.syncing,
    syncingReason: reading.reason,
    latencyMs,
    ...readChainFacts(infoOutcome.answer.result),
    ...(rpcReplyStyle === undefined ? {} : { rpcReplyStyle }),
    // From the same reply as `blocks`: the tip's hash at that height, so the fork check needs no getblockhash there.
    ...bestBlockHash(infoOutcome.answer.result),
  }
}

/**
 * getblockchaininfo facts beyond the verdict: `chainwork` (to prefer the most-work chain on a
 * fork) and pruning (`pruned`, `pruneheight`: the lowest block it still has). Missing or odd
 * fields are left out, never a probe failure.
 */
export function readChainFacts(info: unknown): { chainwork?: string; pruned?: boolean; pruneHeight?: number } {
  if (typeof info !== 'object' || info === null) return {}
  const { chainwork, pruned, pruneheight } = info as { chainwork?: unknown; pruned?: unknown; pruneheight?: unknown }
  const facts: { chainwork?: string; pruned?: boolean; pruneHeight?: number } = {}
  if (typeof chainwork === 'string' && /^[0-9a-fA-F]+$/.test(chainwork)) facts.chainwork = chainwork.toLowerCase()
  if (typeof pruned === 'boolean') facts.pruned = pruned
  if (pruned === true && typeof pruneheight === 'number' && Number.isSafeInteger(pruneheight) && pruneheight >= 0) facts.pruneHeight = pruneheight
  return facts
}

function bestBlockHash(info: unknown): { headHash?: string } {
  const best = typeof info === 'object' && info !== null ? (info as { bestblockhash?: unknown }).bestblockhash : undefined
  return typeof best === 'string' && /^[0-9a-fA-F]{64}$/.test(best) ? { headHash: best.toLowerCase() } : {}
}

/** getblockhash `height`; undefined when the node cannot tell (failure, error, garbage). */
async function bitcoinBlockHashAt(node: NodeTransport, height: number, context: ProbeContext): Promise<string | undefined> {
  const outcome = await node.call({ method: 'getblockhash', params: [height] }, { timeoutMs: context.timeoutMs, signal: context.signal })
  if (!outcome.ok || outcome.answer.error !== undefined) return undefined
  const result = outcome.answer.result
  return typeof result === 'string' && /^[0-9a-fA-F]{64}$/.test(result) ? result.toLowerCase() : undefined
}

/**
 * Whether the node keeps a transaction index, from getindexinfo (Core 0.21+): `{}` without
 * -txindex, `{ txindex: { synced, best_block_height } }` with it. undefined when it cannot tell:
 * no such method (bcoin, older Core), any error or failure.
 */
async function probeBitcoinTxIndex(node: NodeTransport, context: ProbeContext): Promise<boolean | undefined> {
  const outcome = await node.call({ method: 'getindexinfo', params: [] }, { timeoutMs: context.timeoutMs, signal: context.signal })
  if (!outcome.ok || outcome.answer.error !== undefined) return undefined
  return readIndexInfo(outcome.answer.result)
}

export function readIndexInfo(result: unknown): boolean | undefined {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined
  const txindex = (result as { txindex?: unknown }).txindex
  return typeof txindex === 'object' && txindex !== null
}

function badResponse(message: string, latencyMs: number): ProbeObservation {
  return { kind: 'failed', failure: { kind: 'bad-response', message }, latencyMs }
}

/** Enough of a hash to tell networks apart: mainnet-style hashes start with many zeros. */
function short(hash: string): string {
  return `${hash.slice(0, 12)}…${hash.slice(-6)}`
}
