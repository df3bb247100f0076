/**
 * The chaos suite's EVM chain: real anvil processes that are ONE chain (same genesis, `--no-mining`,
 * deterministic `mine()`), each behind a fault proxy, and the reads and transfers of the steady load.
 *
 * Blocks stay identical on every node only if every node mines the same pending transactions:
 * blocks are therefore mined only when the nodes that mine hold exactly the same pool (after
 * switchyard's background sends and rebroadcasts have settled), and a node that missed blocks
 * (restarted, lagging) gets the very same blocks by `copyAnvilBlocks` while its fault proxy keeps
 * switchyard away (`reset`), so no transaction lands in its pool halfway through the copy.
 */
import { keccak256 } from 'ethers'
import { type AnvilNode, copyAnvilBlocks, startAnvil } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import type { ChainConfigInput } from '../../src/config/schema.js'
import type { Proxy } from '../../src/proxy.js'
import { type FaultProxy, faults, startFaultProxy } from '../support/fault-proxy.js'
import { SENDER_KEY, signTransfer } from '../support/rpc-load.js'
import type { ChainDriver, ChaosNode, LaterRead, ReadCall, ReaderState, SignedTx } from './chaos-harness.js'

/** Anvil's funded account 2: no transfer touches it, so its balance is known. */
const UNTOUCHED_ACCOUNT = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const UNTOUCHED_BALANCE = '0x21e19e0c9bab2400000'
/** Blocks mined by `settle()` after each scenario. */
const SETTLE_BLOCKS = 2

export interface EvmChaosNode extends ChaosNode {
  readonly anvil: AnvilNode
}

/**
 * Probing every 200 ms with 500 ms timeouts, so a fault is held for a few probe rounds in about a
 * second. Flapping is judged on the same compressed time scale (the defaults assume 60 s windows
 * and 5 s back-offs, which would make every scenario after the first wait on the victim's back-off).
 */
export const EVM_CHAOS_CHAIN = {
  family: 'evm',
  chainId: 31337,
  requestTimeoutMs: 500,
  confirmations: 2,
  health: { intervalMs: 200, timeoutMs: 500, maxLagBlocks: 3, flapWindowMs: 1_000, readmitBackoffBaseMs: 200, readmitBackoffMaxMs: 1_000 },
  broadcast: { timeoutMs: 1_000, rebroadcastIntervalMs: 500 },
} as const

export class EvmCluster implements ChainDriver {
  readonly chain = 'eth'
  readonly broadcastMethod = 'eth_sendRawTransaction'
  #nodes: EvmChaosNode[]
  /** Started here, chain member or not (stopped by close()). */
  readonly #all: EvmChaosNode[]
  #nonce = 0
  #inHand: SignedTx | undefined
  readonly #accepted: string[] = []
  /** Block hash by height, as the reference node has it. */
  readonly #canonical: string[] = []
  /** Heights readers may ask blocks of (canonical hashes known). */
  #stableHeight = 0
  /** No node of the chain is above this (raised before mining). */
  #topHeight = 0

  private constructor(nodes: EvmChaosNode[]) {
    this.#nodes = nodes
    this.#all = [...nodes]
  }

  static async start(ids: readonly string[] = ['eth-a', 'eth-b', 'eth-c']): Promise<EvmCluster> {
    const started = await Promise.allSettled(ids.map((id) => startNode(id)))
    const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    const failed = started.find((result) => result.status === 'rejected')
    if (failed !== undefined) {
      await Promise.all(nodes.map((node) => stopNode(node)))
      throw failed.reason
    }
    const cluster = new EvmCluster(nodes)
    cluster.#canonical[0] = ((await nodes[0]!.rpc('eth_getBlockByNumber', ['0x0', false])) as { hash: string }).hash
    return cluster
  }

  get nodes(): readonly EvmChaosNode[] {
    return this.#nodes
  }

  /** The node blocks are copied from; never a victim. */
  get reference(): EvmChaosNode {
    return this.#nodes[0]!
  }

  node(id: string): EvmChaosNode {
    const node = this.#all.find((candidate) => candidate.id === id)
    if (node === undefined) throw new Error(`no node ${id}`)
    return node
  }

  /**
   * A new anvil of the chain behind its own fault proxy, with the reference node's blocks, not yet
   * a chain member (for a reload that adds it: `setNodes`, then the new config).
   */
  async addNode(id: string): Promise<EvmChaosNode> {
    const node = await startNode(id)
    this.#all.push(node)
    await this.catchUp(node)
    return node
  }

  /** The chain's members after a reload (settle mines on these). */
  setNodes(nodes: readonly EvmChaosNode[]): void {
    this.#nodes = [...nodes]
  }

  chainConfig(nodes: readonly ChaosNode[] = this.#nodes): ChainConfigInput {
    return { ...EVM_CHAOS_CHAIN, health: { ...EVM_CHAOS_CHAIN.health }, broadcast: { ...EVM_CHAOS_CHAIN.broadcast }, nodes: nodes.map((node) => ({ id: node.id, url: node.url })) } as ChainConfigInput
  }

  nextRead(reader: ReaderState): ReadCall {
    const recent = this.#accepted.slice(-20)
    const kinds = recent.length > 0 ? 4 : 3
    switch (reader.calls++ % kinds) {
      case 0:
        return {
          method: 'eth_getBalance',
          params: [UNTOUCHED_ACCOUNT, 'latest'],
          check: (result) => (result === UNTOUCHED_BALANCE ? undefined : `balance ${JSON.stringify(result)}, expected ${UNTOUCHED_BALANCE}`),
        }
      case 1:
        return {
          method: 'eth_blockNumber',
          params: [],
          check: (result, state) => {
            const height = typeof result === 'string' ? Number.parseInt(result, 16) : Number.NaN
            if (!Number.isSafeInteger(height)) return `block number ${JSON.stringify(result)}`
            if (height < state.lastHeight) return `block number went back from ${state.lastHeight} to ${height}`
            if (height > this.#topHeight) return `block number ${height} above every node's ${this.#topHeight}`
            state.lastHeight = height
            return undefined
          },
        }
      case 2: {
        const height = Math.floor(Math.random() * (Math.min(this.#stableHeight, reader.head) + 1))
        const expected = this.#canonical[height]
        return {
          method: 'eth_getBlockByNumber',
          params: [`0x${height.toString(16)}`, false],
          check: (result) => {
            const hash = (result as { hash?: unknown } | null)?.hash
            return hash === expected ? undefined : `block ${height} is ${JSON.stringify(hash)}, expected ${expected}`
          },
        }
      }
      default: {
        const txid = recent[Math.floor(Math.random() * recent.length)]!
        return {
          method: 'eth_getTransactionByHash',
          params: [txid],
          check: (result) => ((result as { hash?: unknown } | null)?.hash === txid ? undefined : `transaction ${txid} answered ${JSON.stringify(result)?.slice(0, 80)}`),
        }
      }
    }
  }

  async nextTransaction(): Promise<SignedTx> {
    if (this.#inHand === undefined) {
      const raw = await signTransfer(SENDER_KEY, this.#nonce)
      this.#inHand = { raw, txid: keccak256(raw) }
    }
    return this.#inHand
  }

  accepted(tx: SignedTx): void {
    if (tx !== this.#inHand) return
    this.#accepted.push(tx.txid)
    this.#nonce += 1
    this.#inHand = undefined
  }

  acceptedTxids(): string[] {
    return [...this.#accepted]
  }

  async holds(node: ChaosNode, txids: readonly string[]): Promise<Set<string>> {
    const held = new Set<string>()
    for (let start = 0; start < txids.length; start += 200) {
      const batch = txids.slice(start, start + 200)
      const replies = (await batchRpc((node as EvmChaosNode).anvil.url, batch.map((txid) => ({ method: 'eth_getTransactionByHash', params: [txid] })))) as Array<{ id: number; result?: { hash?: string } | null }>
      for (const reply of replies) if (reply.result?.hash !== undefined) held.add(batch[reply.id]!)
    }
    return held
  }

  /** Every EVM answer is judged at once. */
  async judgeLater(items: readonly LaterRead[]): Promise<string[]> {
    return items.map(() => 'an EVM read left for later')
  }

  /**
   * Mines `blocks` identical blocks on `nodes` (default every member). The switchyard given has
   * finished its background sends first, and the nodes must hold the same pool, which switchyard's
   * rebroadcasts bring about for accepted transactions; the load's broadcasts must be paused.
   */
  async mine(proxy: Proxy, blocks: number, nodes: readonly EvmChaosNode[] = this.#nodes): Promise<void> {
    await proxy.drainBroadcasts(this.chain)
    let last = ''
    try {
      await waitFor(
        async () => {
          const views = await Promise.all(nodes.map(async (node) => ({ height: await node.anvil.blockNumber(), pool: await poolHashes(node) })))
          last = views.map((view, index) => `${nodes[index]!.id}: height ${view.height}, ${view.pool.length} pending`).join('; ')
          return views.every((view) => view.height === views[0]!.height && view.pool.join() === views[0]!.pool.join())
        },
        { timeoutMs: 15_000, everyMs: 100, what: 'the same height and pool on the nodes to mine' },
      )
    } catch {
      throw new Error(`nodes to mine differ (${last}): their blocks would differ`)
    }
    const height = await nodes[0]!.anvil.blockNumber()
    this.#topHeight = Math.max(this.#topHeight, height + blocks)
    await Promise.all(nodes.map((node) => node.anvil.mine(blocks)))
    const hashesAt = (h: number) => Promise.all(nodes.map(async (node) => ((await node.rpc('eth_getBlockByNumber', [`0x${h.toString(16)}`, false])) as { hash: string }).hash))
    for (let h = height + 1; h <= height + blocks; h++) {
      let hashes = await hashesAt(h)
      if (new Set(hashes).size !== 1) {
        // A send that landed on one node between the pool check and the mining (a switchyard
        // process outside this harness rebroadcasting, as in the rolling restart) made its block
        // differ: the nodes in the minority take the majority's blocks, as catchUp does.
        const majority = mostCommon(hashes)
        const source = nodes[hashes.indexOf(majority)]!
        for (const [index, node] of nodes.entries()) {
          if (hashes[index] === majority) continue
          node.faults.setFault(faults.reset)
          await node.rpc('anvil_rollback', [(await node.anvil.blockNumber()) - (h - 1)])
          await copyAnvilBlocks(source.anvil, node.anvil, { dropPending: true })
          node.faults.setFault(faults.none)
        }
        hashes = await hashesAt(h)
      }
      if (new Set(hashes).size !== 1) throw new Error(`block ${h} differs between ${nodes.map((node) => node.id).join(', ')}: ${hashes.join(', ')}`)
      this.#canonical[h] = hashes[0]!
    }
    this.#stableHeight = Math.max(this.#stableHeight, height + blocks)
  }

  /** Gives `node` the reference node's blocks while switchyard cannot reach it, then lets switchyard back in. */
  async catchUp(node: EvmChaosNode): Promise<void> {
    node.faults.setFault(faults.reset)
    await copyAnvilBlocks(this.reference.anvil, node.anvil, { dropPending: true })
    node.faults.setFault(faults.none)
  }

  /** kill -9 happened: a new process on the same port, with the chain's blocks (anvil keeps nothing on disk). */
  async restart(node: EvmChaosNode): Promise<void> {
    node.faults.setFault(faults.reset)
    await node.anvil.restart()
    await this.catchUp(node)
  }

  async settle(proxy: Proxy): Promise<void> {
    await this.mine(proxy, SETTLE_BLOCKS)
  }

  async close(): Promise<void> {
    await Promise.all(this.#all.map((node) => stopNode(node)))
  }
}

async function startNode(id: string): Promise<EvmChaosNode> {
  const anvil = await startAnvil({ id, noMining: true })
  let proxy: FaultProxy
  try {
    proxy = await startFaultProxy({ port: anvil.port })
  } catch (error) {
    await anvil.stop()
    throw error
  }
  return { id, anvil, faults: proxy, url: proxy.url, rpc: (method, params) => anvil.rpc(method, params) }
}

async function stopNode(node: EvmChaosNode): Promise<void> {
  await node.faults.close()
  await node.anvil.stop()
}

async function poolHashes(node: EvmChaosNode): Promise<string[]> {
  const content = (await node.rpc('txpool_content')) as Record<'pending' | 'queued', Record<string, Record<string, { hash: string }>>>
  const hashes = [...Object.values(content.pending), ...Object.values(content.queued)].flatMap((byNonce) => Object.values(byNonce).map((tx) => tx.hash))
  return hashes.sort()
}

async function batchRpc(url: string, calls: ReadonlyArray<{ method: string; params: unknown[] }>): Promise<unknown[]> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls.map((call, id) => ({ jsonrpc: '2.0', id, ...call }))),
    signal: AbortSignal.timeout(10_000),
  })
  return (await response.json()) as unknown[]
}

function mostCommon(values: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0]
}
