/**
 * The EVM family adapter: probes with eth_chainId / eth_blockNumber / eth_syncing (plus block 0's
 * hash when a genesisHash is configured, and the latest block when the node takes batches),
 * answers eth_chainId from config, and pushes heights from newHeads where a node has a wsUrl.
 */
import type { ChainAdapter, ChainAdapterFactory, ProbeContext, ProbeObservation } from '../../src/chain-adapter.js'
import type { ChainConfig } from '../../src/config/schema.js'
import { evmChainConfig, evmNodeConfig } from './evm-config.js'
import type { CallOptions, CallOutcome, NodeTransport } from '../../src/upstream/node-transport.js'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import { classifyEvmMethod, quantity, requiredEvmHeight } from './evm-methods.js'
import { classifyEvmError, evmCallCost } from './evm-node-errors.js'
import { createEvmBroadcast } from './evm-broadcast.js'
import { watchNewHeads } from './heads-subscription.js'
import { feeHistoryCountError, logsRangeError } from './evm-call-limits.js'
import { evmDataHeight, evmMissingCapability, evmRequirement, isEvmEmptyAnswer, pinEvmToHeight } from './evm-read-rules.js'
import { evmBlockLogs, evmHeaderAt } from './evm-streams.js'
import { evmAnswerHeight, evmCachePolicy } from './evm-cache-rules.js'

/**
 * Builds the EVM adapter for one chain.
 * @throws Error when the chain has no `chainId`: without it a node on another chain would pass.
 */
export const createEvmAdapter: ChainAdapterFactory = (config: ChainConfig): ChainAdapter => {
  const chain = evmChainConfig(config)
  const chainId = chain.chainId
  // The config schema requires it; a chain config built by hand may still lack it.
  if (typeof chainId !== 'number') throw new Error(`evm chain "${chain.name}" needs a chainId`)
  const genesisHash = chain.genesisHash === undefined ? undefined : normalizeHash(chain.genesisHash)
  const chainIdHex = `0x${chainId.toString(16)}`
  return {
    family: 'evm',
    upstreamVersion: '2.0',
    probe: (node, context) => probeEvmNode(node, context, chainId, genesisHash),
    blockHashAt: evmBlockHashAt,
    classifyMethod: classifyEvmMethod,
    requiredHeight: requiredEvmHeight,
    answerLocally: (call) => (call.method === 'eth_chainId' ? { result: chainIdHex } : undefined),
    classifyError: classifyEvmError,
    callCost: evmCallCost,
    watchHeads: (node, handlers) => {
      const { wsUrl } = evmNodeConfig(node)
      return wsUrl === undefined ? undefined : watchNewHeads({ nodeId: node.id, url: wsUrl }, handlers)
    },
    pinToHeight: pinEvmToHeight,
    isEmptyAnswer: isEvmEmptyAnswer,
    dataHeight: evmDataHeight,
    requirement: evmRequirement,
    missingCapability: evmMissingCapability,
    cachePolicy: evmCachePolicy,
    answerHeight: evmAnswerHeight,
    checkLimits: (call, readHead) => logsRangeError(call, readHead, chain.maxLogsRange, `chains.${chain.name}.maxLogsRange`) ?? feeHistoryCountError(call),
    headerAt: evmHeaderAt,
    blockLogs: evmBlockLogs,
    broadcast: createEvmBroadcast(chainId, chain.broadcast.allowUnprotected),
  }
}

/** A probe reply that is an answer but not a usable one: the node fails the probe as bad-response. */
class BadProbeReply extends Error {}

/**
 * Whether the probe goes to this node as one batch: the transport sends batches, the node's config
 * allows them (`nodes[].batch`), and the node has not refused one (the transport remembers a
 * refusal, whether a probe or reads met it).
 */
function sendsBatches(node: NodeTransport, context: ProbeContext): node is NodeTransport & Required<Pick<NodeTransport, 'callBatch'>> {
  return node.callBatch !== undefined && context.batches !== false && node.refusesBatches !== true
}

/**
 * The probe's calls: one JSON-RPC batch where the transport sends batches (one HTTP exchange a
 * probe instead of three or four: at 1,000 nodes, probing was 4 node calls a node a second), call
 * by call for a node that refused a batch (remembered) or a transport without batches. A batch that
 * failed otherwise (timeout, connection, HTTP 5xx) fails every call: the node's fault either way.
 */
async function probeCalls(node: NodeTransport, calls: RpcCall[], options: CallOptions, context: ProbeContext): Promise<CallOutcome[]> {
  if (sendsBatches(node, context)) {
    const batch = await node.callBatch(calls, options)
    if (batch.ok) return batch.answers.map((answer) => ({ ok: true, answer, latencyMs: batch.latencyMs }))
    if (batch.refused !== true) return calls.map(() => ({ ok: false, failure: batch.failure, latencyMs: batch.latencyMs }))
  }
  return await Promise.all(calls.map((call) => node.call(call, options)))
}

async function probeEvmNode(node: NodeTransport, context: ProbeContext, chainId: number, genesisHash: string | undefined): Promise<ProbeObservation> {
  const options = { timeoutMs: context.timeoutMs, signal: context.signal }
  // In a batch, the latest block rides along: its hash spares the fork check a look-up at the
  // node's height (a whole HTTP exchange). Call by call it would be one more request, so not then.
  const withHead = sendsBatches(node, context)
  const calls: RpcCall[] = [
    { method: 'eth_chainId', params: [] },
    { method: 'eth_blockNumber', params: [] },
    { method: 'eth_syncing', params: [] },
    ...(genesisHash === undefined ? [] : [{ method: 'eth_getBlockByNumber', params: ['0x0', false] }]),
    ...(withHead ? [{ method: 'eth_getBlockByNumber', params: ['latest', false] }] : []),
  ]
  const outcomes = await probeCalls(node, calls, options, context)
  const [idOutcome, heightOutcome, syncingOutcome] = outcomes as [CallOutcome, CallOutcome, CallOutcome]
  const genesisOutcome = genesisHash === undefined ? undefined : outcomes[3]
  const headOutcome = withHead ? outcomes[calls.length - 1] : undefined
  const latencyMs = heightOutcome.latencyMs
  for (const outcome of [idOutcome, heightOutcome, syncingOutcome, genesisOutcome]) {
    if (outcome !== undefined && !outcome.ok) return { kind: 'failed', failure: outcome.failure, latencyMs }
  }
  const resultOf = (method: string, outcome: CallOutcome | undefined): unknown => {
    if (outcome === undefined || !outcome.ok) throw new BadProbeReply(`node ${node.nodeId} gave no ${method} reply`)
    const error = outcome.answer.error
    if (error !== undefined) throw new BadProbeReply(`node ${node.nodeId} answered ${method} with error ${error.code}: ${error.message}`)
    return outcome.answer.result
  }
  const quantityOf = (method: string, outcome: CallOutcome): number => {
    const value = resultOf(method, outcome)
    const parsed = typeof value === 'string' ? quantity(value) : undefined
    if (parsed === undefined) throw new BadProbeReply(`node ${node.nodeId} sent an invalid ${method} result`)
    return parsed
  }
  try {
    const reportedId = quantityOf('eth_chainId', idOutcome)
    if (reportedId !== chainId) return { kind: 'wrong-chain', reason: `reports chain id ${reportedId}, expected ${chainId}`, latencyMs }
    if (genesisHash !== undefined) {
      const block = resultOf('eth_getBlockByNumber', genesisOutcome)
      const hash = typeof block === 'object' && block !== null && 'hash' in block && typeof block.hash === 'string' ? normalizeHash(block.hash) : undefined
      if (hash !== genesisHash) return { kind: 'wrong-chain', reason: `genesis ${short(hash)} is not the configured ${short(genesisHash)}`, latencyMs }
    }
    const height = quantityOf('eth_blockNumber', heightOutcome)
    const syncing = readSyncing(resultOf('eth_syncing', syncingOutcome))
    if (syncing === undefined) throw new BadProbeReply(`node ${node.nodeId} sent an invalid eth_syncing result`)
    const headHash = headHashAt(headOutcome, height)
    const observed = syncing === false ? { kind: 'ok' as const, height, syncing: false, latencyMs } : { kind: 'ok' as const, height, syncing: true, syncingReason: syncing, latencyMs }
    return headHash === undefined ? observed : { ...observed, headHash }
  } catch (error) {
    if (!(error instanceof BadProbeReply)) throw error
    return { kind: 'failed', failure: { kind: 'bad-response', message: error.message }, latencyMs }
  }
}

/**
 * The latest block's hash from the probe batch, if that block is the one at `height` (a block
 * mined between the batch's calls makes them disagree: then the fork check looks it up). Optional:
 * an error or odd reply here never fails the probe.
 */
function headHashAt(outcome: CallOutcome | undefined, height: number): string | undefined {
  if (outcome === undefined || !outcome.ok || outcome.answer.error !== undefined) return undefined
  const block = outcome.answer.result
  if (typeof block !== 'object' || block === null) return undefined
  const { number, hash } = block as { number?: unknown; hash?: unknown }
  if (typeof number !== 'string' || quantity(number) !== height) return undefined
  return typeof hash === 'string' && /^0x[0-9a-fA-F]{64}$/.test(hash) ? normalizeHash(hash) : undefined
}

/** The hash of block `height` (eth_getBlockByNumber, no transactions); undefined when the node cannot tell. */
async function evmBlockHashAt(node: NodeTransport, height: number, context: ProbeContext): Promise<string | undefined> {
  const outcome = await node.call({ method: 'eth_getBlockByNumber', params: [`0x${height.toString(16)}`, false] }, { timeoutMs: context.timeoutMs, signal: context.signal })
  if (!outcome.ok || outcome.answer.error !== undefined) return undefined
  const block = outcome.answer.result
  if (typeof block !== 'object' || block === null || !('hash' in block) || typeof block.hash !== 'string') return undefined
  return /^0x[0-9a-fA-F]{64}$/.test(block.hash) ? normalizeHash(block.hash) : undefined
}

/**
 * `false` when not syncing, a human-readable reason when syncing, `undefined` for a reply no
 * client sends. `null` is tolerated as "not syncing" (some L2 clients answer it).
 */
function readSyncing(result: unknown): false | string | undefined {
  if (result === false || result === null) return false
  if (result === true) return 'eth_syncing: true'
  if (typeof result !== 'object' || Array.isArray(result)) return undefined
  const { currentBlock, highestBlock } = result as { currentBlock?: unknown; highestBlock?: unknown }
  const current = typeof currentBlock === 'string' ? quantity(currentBlock) : undefined
  const highest = typeof highestBlock === 'string' ? quantity(highestBlock) : undefined
  return current !== undefined && highest !== undefined ? `eth_syncing: block ${current} of ${highest}` : 'eth_syncing: in progress'
}

function normalizeHash(hash: string): string {
  return (/^0x/i.test(hash) ? `0x${hash.slice(2)}` : `0x${hash}`).toLowerCase()
}

function short(hash: string | undefined): string {
  return hash === undefined ? '(none)' : `${hash.slice(0, 10)}…${hash.slice(-4)}`
}
