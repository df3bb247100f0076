/**
 * The EVM family adapter: probes with eth_chainId / eth_blockNumber / eth_syncing (plus block 0's
 * hash when a genesisHash is configured), answers eth_chainId from config, and pushes heights from
 * newHeads where a node has a wsUrl.
 */
import type { ChainAdapter, ChainAdapterFactory, ProbeContext, ProbeObservation } from '../../src/chain-adapter.js'
import type { ChainConfig } from '../../src/config/schema.js'
import type { NodeTransport } from '../../src/upstream/node-transport.js'
import { classifyEvmMethod, isEvmNodeBehindAnswer, quantity, requiredEvmHeight } from './evm-methods.js'
import { watchNewHeads } from './heads-subscription.js'

export const createEvmAdapter: ChainAdapterFactory = (chain: ChainConfig): ChainAdapter => {
  const chainId = chain.chainId
  if (chainId === undefined) throw new Error('evm chains need a chainId')
  const genesisHash = chain.genesisHash === undefined ? undefined : normalizeHash(chain.genesisHash)
  const chainIdHex = `0x${chainId.toString(16)}`
  return {
    family: 'evm',
    upstreamVersion: '2.0',
    probe: (node, context) => probeEvmNode(node, context, chainId, genesisHash),
    classifyMethod: classifyEvmMethod,
    requiredHeight: requiredEvmHeight,
    answerLocally: (call) => (call.method === 'eth_chainId' ? { result: chainIdHex } : undefined),
    isNodeBehindAnswer: isEvmNodeBehindAnswer,
    watchHeads: (node, handlers) => (node.wsUrl === undefined ? undefined : watchNewHeads({ nodeId: node.id, url: node.wsUrl }, handlers)),
  }
}

class ProbeError extends Error {}

async function probeEvmNode(node: NodeTransport, context: ProbeContext, chainId: number, genesisHash: string | undefined): Promise<ProbeObservation> {
  const options = { timeoutMs: context.timeoutMs, signal: context.signal }
  const [idOutcome, heightOutcome, syncingOutcome, genesisOutcome] = await Promise.all([
    node.call({ method: 'eth_chainId', params: [] }, options),
    node.call({ method: 'eth_blockNumber', params: [] }, options),
    node.call({ method: 'eth_syncing', params: [] }, options),
    genesisHash === undefined ? undefined : node.call({ method: 'eth_getBlockByNumber', params: ['0x0', false] }, options),
  ])
  const latencyMs = heightOutcome.latencyMs
  for (const outcome of [idOutcome, heightOutcome, syncingOutcome, genesisOutcome]) {
    if (outcome !== undefined && !outcome.ok) return { kind: 'failed', failure: outcome.failure, latencyMs }
  }
  try {
    const reportedId = quantity(String(result(node.nodeId, 'eth_chainId', idOutcome)))
    if (reportedId === undefined) throw new ProbeError(`node ${node.nodeId} sent an invalid eth_chainId`)
    if (reportedId !== chainId) return { kind: 'wrong-chain', reason: `reports chain id ${reportedId}, expected ${chainId}`, latencyMs }
    if (genesisOutcome !== undefined && genesisHash !== undefined) {
      const block = result(node.nodeId, 'eth_getBlockByNumber', genesisOutcome) as { hash?: unknown } | null
      const hash = typeof block?.hash === 'string' ? normalizeHash(block.hash) : undefined
      if (hash !== genesisHash) return { kind: 'wrong-chain', reason: `genesis ${short(hash)} is not the configured ${short(genesisHash)}`, latencyMs }
    }
    const height = quantity(String(result(node.nodeId, 'eth_blockNumber', heightOutcome)))
    if (height === undefined) throw new ProbeError(`node ${node.nodeId} sent an invalid eth_blockNumber`)
    const syncing = result(node.nodeId, 'eth_syncing', syncingOutcome)
    if (syncing === false || syncing === null) return { kind: 'ok', height, syncing: false, latencyMs }
    return { kind: 'ok', height, syncing: true, syncingReason: describeSyncing(syncing), latencyMs }
  } catch (error) {
    if (!(error instanceof ProbeError)) throw error
    return { kind: 'failed', failure: { kind: 'bad-response', message: error.message }, latencyMs }
  }
}

function result(nodeId: string, method: string, outcome: Awaited<ReturnType<NodeTransport['call']>> | undefined): unknown {
  if (outcome === undefined || !outcome.ok) throw new ProbeError(`node ${nodeId} gave no ${method} reply`)
  if (outcome.answer.error !== undefined) throw new ProbeError(`node ${nodeId} answered ${method} with error ${outcome.answer.error.code}: ${outcome.answer.error.message}`)
  return outcome.answer.result
}

function describeSyncing(syncing: unknown): string {
  if (typeof syncing === 'object' && syncing !== null) {
    const { currentBlock, highestBlock } = syncing as { currentBlock?: unknown; highestBlock?: unknown }
    const current = typeof currentBlock === 'string' ? quantity(currentBlock) : undefined
    const highest = typeof highestBlock === 'string' ? quantity(highestBlock) : undefined
    if (current !== undefined && highest !== undefined) return `eth_syncing: block ${current} of ${highest}`
  }
  return 'eth_syncing reports progress'
}

function normalizeHash(hash: string): string {
  return (hash.startsWith('0x') ? hash : `0x${hash}`).toLowerCase()
}

function short(hash: string | undefined): string {
  return hash === undefined ? '(none)' : `${hash.slice(0, 10)}…${hash.slice(-4)}`
}
