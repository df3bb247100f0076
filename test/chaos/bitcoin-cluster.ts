/**
 * The chaos suite's bitcoin chain: three real bcoin regtest nodes peered over P2P (every node
 * after the first dials the first through a relay `isolate()` can cut), kept on disk so a killed
 * node restarts with its chain, each behind a fault proxy; and the reads and spends of the load.
 *
 * Spends: one transaction at setup splits a mature coinbase into `OUTPUTS` outputs of a test key,
 * and each broadcast spends the next one to the burn address, so no spend depends on another.
 *
 * Reads a wallet makes: getblockcount, getbestblockhash, getblockhash, getrawtransaction of its
 * recent spends. Two are judged at the end (`judgeLater`): a best block hash must be a block of the
 * majority's chain (the reference node's: it never reorgs here); and bcoin runs without a
 * transaction index, so `getrawtransaction` finds only mempool transactions: "Transaction not
 * found." is right only for a transaction mined (by this harness) before the answer came.
 */
import { type BcoinNode, BCOIN_REGTEST_BURN_ADDRESS, copyChain, startPeeredBcoins } from '../../src/devnet/bcoin.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import type { ChainConfigInput } from '../../src/config/schema.js'
import type { Proxy } from '../../src/proxy.js'
import { type TestKey, type Utxo, createTestKey, fundKey, p2pkhAddress, signSpend } from '../support/bitcoin-wallet.js'
import { type FaultProxy, faults, startFaultProxy } from '../support/fault-proxy.js'
import type { ChainDriver, ChaosNode, LaterRead, ReadCall, ReaderState, SignedTx } from './chaos-harness.js'

/** Outputs of the split transaction: one per broadcast of the whole suite. */
const OUTPUTS = 400
const FEE_SATS = 20_000
/** Pays fork blocks mined apart, so they differ from the majority's even in the same second. */
const OTHER_ADDRESS = p2pkhAddress(8)

export interface BitcoinChaosNode extends ChaosNode {
  readonly bcoin: BcoinNode
}

/** As the EVM chain (evm-cluster.ts): a few probe rounds per second, flapping judged on that scale. */
export const BITCOIN_CHAOS_CHAIN = {
  family: 'bitcoin',
  network: 'regtest',
  requestTimeoutMs: 500,
  confirmations: 1,
  health: { intervalMs: 250, timeoutMs: 500, maxLagBlocks: 1, flapWindowMs: 1_000, readmitBackoffBaseMs: 250, readmitBackoffMaxMs: 1_000 },
  broadcast: { timeoutMs: 1_000, rebroadcastIntervalMs: 500 },
} as const

interface Mining {
  startedAt: number
  hashes: Set<string>
}

export class BitcoinCluster implements ChainDriver {
  readonly chain = 'btc'
  readonly broadcastMethod = 'sendrawtransaction'
  readonly nodes: readonly BitcoinChaosNode[]
  readonly #key: TestKey
  readonly #utxos: Utxo[]
  #next = 0
  #inHand: SignedTx | undefined
  readonly #accepted: Array<SignedTx & { at: number }> = []
  /** Accepted and not in a block this harness mined since: what getrawtransaction must find. */
  #unmined: Array<SignedTx> = []
  readonly #canonical: string[]
  #stableHeight: number
  #topHeight: number
  /** Height of the split transaction's block: presence checks scan the blocks above it. */
  readonly #baseHeight: number
  readonly #minings: Mining[] = []
  readonly #blockTxids = new Map<string, string[]>()

  private constructor(nodes: BitcoinChaosNode[], key: TestKey, utxos: Utxo[], canonical: string[]) {
    this.nodes = nodes
    this.#key = key
    this.#utxos = utxos
    this.#canonical = canonical
    this.#baseHeight = canonical.length - 1
    this.#stableHeight = this.#baseHeight
    this.#topHeight = this.#baseHeight
  }

  static async start(ids: readonly string[] = ['btc-a', 'btc-b', 'btc-c']): Promise<BitcoinCluster> {
    const bcoins = await startPeeredBcoins(ids.length, { ids: [...ids], persistent: true })
    const proxies: FaultProxy[] = []
    try {
      for (const bcoin of bcoins) proxies.push(await startFaultProxy({ port: bcoin.httpPort }))
      const nodes = bcoins.map((bcoin, index): BitcoinChaosNode => {
        const url = new URL(bcoin.url)
        url.port = String(proxies[index]!.port)
        return { id: bcoin.id, bcoin, faults: proxies[index]!, url: url.toString(), rpc: (method, params) => bcoin.rpc(method, params) }
      })
      const [a] = bcoins as [BcoinNode]
      const key = createTestKey(9)
      const coinbase = await fundKey(a, key, 101)
      const value = Math.floor((coinbase.valueSats - FEE_SATS) / OUTPUTS)
      const split = signSpend(coinbase, key, Array.from({ length: OUTPUTS }, () => ({ address: key.address, valueSats: value })))
      await a.rpc('sendrawtransaction', [split.hex])
      // bcoin answers before validating: mine only once its mempool has it.
      await waitFor(async () => ((await a.rpc('getrawmempool')) as string[]).includes(split.txid), { what: 'the split transaction in the mempool' })
      await a.generate(1)
      const height = await a.height()
      const best = await a.rpc('getbestblockhash')
      await waitFor(async () => (await Promise.all(bcoins.map((node) => node.rpc('getbestblockhash')))).every((hash) => hash === best), { timeoutMs: 20_000, what: 'every node on the funded chain' })
      const canonical: string[] = []
      for (let h = 0; h <= height; h++) canonical.push((await a.rpc('getblockhash', [h])) as string)
      const utxos = Array.from({ length: OUTPUTS }, (_, vout) => ({ txid: split.txid, vout, valueSats: value }))
      return new BitcoinCluster(nodes, key, utxos, canonical)
    } catch (error) {
      await Promise.all(proxies.map((proxy) => proxy.close()))
      await Promise.all(bcoins.map((bcoin) => bcoin.stop()))
      throw error
    }
  }

  /** The node the others follow; never a victim. */
  get reference(): BitcoinChaosNode {
    return this.nodes[0]!
  }

  node(id: string): BitcoinChaosNode {
    const node = this.nodes.find((candidate) => candidate.id === id)
    if (node === undefined) throw new Error(`no node ${id}`)
    return node
  }

  chainConfig(nodes: readonly ChaosNode[] = this.nodes): ChainConfigInput {
    return { ...BITCOIN_CHAOS_CHAIN, health: { ...BITCOIN_CHAOS_CHAIN.health }, broadcast: { ...BITCOIN_CHAOS_CHAIN.broadcast }, nodes: nodes.map((node) => ({ id: node.id, url: node.url })) } as ChainConfigInput
  }

  nextRead(reader: ReaderState): ReadCall {
    const recent = this.#unmined.slice(-20)
    const kinds = recent.length > 0 ? 4 : 3
    switch (reader.calls++ % kinds) {
      case 0:
        return {
          method: 'getblockcount',
          params: [],
          check: (result, state) => {
            if (typeof result !== 'number' || !Number.isSafeInteger(result)) return `block count ${JSON.stringify(result)}`
            if (result < state.lastHeight) return `block count went back from ${state.lastHeight} to ${result}`
            if (result > this.#topHeight) return `block count ${result} above the majority's ${this.#topHeight}`
            state.lastHeight = result
            return undefined
          },
        }
      case 1:
        return { method: 'getbestblockhash', params: [], check: (result) => (typeof result === 'string' && /^[0-9a-f]{64}$/.test(result) ? 'later' : `best block hash ${JSON.stringify(result)}`) }
      case 2: {
        const height = Math.floor(Math.random() * (Math.min(this.#stableHeight, reader.head) + 1))
        const expected = this.#canonical[height]
        return { method: 'getblockhash', params: [height], check: (result) => (result === expected ? undefined : `block ${height} is ${JSON.stringify(result)}, expected ${expected}`) }
      }
      default: {
        const tx = recent[Math.floor(Math.random() * recent.length)]!
        return {
          method: 'getrawtransaction',
          params: [tx.txid],
          check: (result) => (result === tx.raw ? undefined : `transaction ${tx.txid} answered ${JSON.stringify(result)?.slice(0, 80)}`),
          checkError: (error) => (/^transaction not found/i.test(error.message ?? '') ? 'later' : `transaction ${tx.txid}: node error ${error.code} ${error.message}`),
        }
      }
    }
  }

  async nextTransaction(): Promise<SignedTx> {
    if (this.#inHand === undefined) {
      const utxo = this.#utxos[this.#next]
      if (utxo === undefined) throw new Error(`all ${OUTPUTS} outputs of the split transaction are spent: raise OUTPUTS`)
      const signed = signSpend(utxo, this.#key, [{ address: BCOIN_REGTEST_BURN_ADDRESS, valueSats: utxo.valueSats - FEE_SATS }])
      this.#inHand = { raw: signed.hex, txid: signed.txid }
    }
    return this.#inHand
  }

  accepted(tx: SignedTx, at: number): void {
    if (tx !== this.#inHand) return
    this.#accepted.push({ ...tx, at })
    this.#unmined.push(tx)
    this.#next += 1
    this.#inHand = undefined
  }

  acceptedTxids(): string[] {
    return this.#accepted.map((tx) => tx.txid)
  }

  async holds(node: ChaosNode, txids: readonly string[]): Promise<Set<string>> {
    const bcoin = (node as BitcoinChaosNode).bcoin
    const held = new Set((await bcoin.rpc('getrawmempool')) as string[])
    const tip = await bcoin.height()
    for (let height = this.#baseHeight + 1; height <= tip; height++) {
      for (const txid of await this.#txidsOf(bcoin, (await bcoin.rpc('getblockhash', [height])) as string)) held.add(txid)
    }
    return new Set(txids.filter((txid) => held.has(txid)))
  }

  /**
   * A best block hash must be on the majority's chain; "Transaction not found." is right only for
   * a transaction in a block of that chain mined before the answer.
   */
  async judgeLater(items: readonly LaterRead[]): Promise<string[]> {
    const a = this.reference.bcoin
    const blockOf = new Map<string, string>()
    const majority = new Set<string>(this.#canonical.slice(0, this.#baseHeight + 1))
    const tip = await a.height()
    for (let height = this.#baseHeight + 1; height <= tip; height++) {
      const hash = (await a.rpc('getblockhash', [height])) as string
      majority.add(hash)
      for (const txid of await this.#txidsOf(a, hash)) blockOf.set(txid, hash)
    }
    return items.map((item) => {
      if (item.method === 'getbestblockhash') {
        const hash = 'result' in item.answer ? String(item.answer.result) : ''
        return majority.has(hash) ? '' : `best block hash ${hash} is not on the majority's chain`
      }
      const txid = String(item.params[0])
      const block = blockOf.get(txid)
      if (block === undefined) return `${txid}: "not found" while in the mempools`
      const mined = this.#minings.find((mining) => mining.hashes.has(block))
      if (mined === undefined || mined.startedAt > item.endedAt) return `${txid}: "not found" before its block ${block} was mined`
      return ''
    })
  }

  async #txidsOf(bcoin: BcoinNode, hash: string): Promise<string[]> {
    const cached = this.#blockTxids.get(hash)
    if (cached !== undefined) return cached
    const block = (await bcoin.rpc('getblock', [hash, true, false])) as { tx: string[] }
    this.#blockTxids.set(hash, block.tx)
    return block.tx
  }

  /** Mines on `node` (default the reference) and remembers when, for `judgeLater`. */
  async generate(blocks: number, node: BitcoinChaosNode = this.reference, address?: string): Promise<string[]> {
    const mining: Mining = { startedAt: performance.now(), hashes: new Set() }
    this.#minings.push(mining)
    // From now on a getrawtransaction of these may rightly come back "not found".
    if (node === this.reference) this.#unmined = []
    const hashes = await node.bcoin.generate(blocks, address)
    for (const hash of hashes) mining.hashes.add(hash)
    return hashes
  }

  /** The majority (the reference and the nodes given) mines `blocks`; readers may ask for them (up to switchyard's head). */
  async mineMajority(blocks: number, others: readonly BitcoinChaosNode[]): Promise<void> {
    const height = await this.reference.bcoin.height()
    this.#topHeight = Math.max(this.#topHeight, height + blocks)
    await this.generate(blocks)
    await this.waitSame(others)
    await this.#record(height + blocks)
    this.#raiseStable()
  }

  /** Readers may now ask for every block the majority has. */
  #raiseStable(): void {
    this.#stableHeight = this.#canonical.length - 1
  }

  /** Waits until `nodes` have the reference's best block. */
  async waitSame(nodes: readonly BitcoinChaosNode[]): Promise<void> {
    const best = await this.reference.bcoin.rpc('getbestblockhash')
    await waitFor(async () => (await Promise.all(nodes.map((node) => node.bcoin.rpc('getbestblockhash')))).every((hash) => hash === best), {
      timeoutMs: 20_000,
      what: `${nodes.map((node) => node.id).join(', ')} on ${this.reference.id}'s best block`,
    })
  }

  async #record(top: number): Promise<void> {
    for (let h = this.#canonical.length; h <= top; h++) this.#canonical[h] = (await this.reference.bcoin.rpc('getblockhash', [h])) as string
  }

  /** A killed node restarts with its chain from disk (same ports, same peers) and catches up by P2P, out of switchyard's reach until then. */
  async restart(node: BitcoinChaosNode): Promise<void> {
    node.faults.setFault(faults.reset)
    await node.bcoin.restart()
    await node.bcoin.reconnect()
    await this.waitSame([node])
    node.faults.setFault(faults.none)
  }

  /** The partitioned `node` and the majority each mine `blocks`: the same heights, other blocks. */
  async fork(node: BitcoinChaosNode, blocks: number): Promise<void> {
    await node.bcoin.isolate()
    const height = await this.reference.bcoin.height()
    this.#topHeight = Math.max(this.#topHeight, height + blocks)
    await Promise.all([this.generate(blocks, node, OTHER_ADDRESS), this.generate(blocks)])
    await this.waitSame(this.nodes.filter((other) => other !== node))
    await this.#record(height + blocks)
    this.#raiseStable()
  }

  /** The forked node rejoins: the majority's branch grows longer and reaches it, and it reorgs onto it. */
  async rejoin(node: BitcoinChaosNode): Promise<void> {
    await node.bcoin.reconnect()
    await this.mineMajority(1, this.nodes.filter((other) => other !== node))
    const best = await this.reference.bcoin.rpc('getbestblockhash')
    let checks = 0
    await waitFor(
      async () => {
        if ((await node.bcoin.rpc('getbestblockhash')) === best) return true
        // P2P brings the branch; should bcoin's peer timers be slow, submitblock it. A reorg by P2P
        // may be halfway (heights going down under copyChain): then the next check tries again.
        if (++checks % 4 === 0) await copyChain(this.reference.bcoin, [node.bcoin]).catch(() => undefined)
        return false
      },
      { timeoutMs: 20_000, everyMs: 250, what: `${node.id} back on ${this.reference.id}'s branch` },
    )
  }

  async settle(proxy: Proxy): Promise<void> {
    await proxy.drainBroadcasts(this.chain)
    await this.mineMajority(1, this.nodes)
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.faults.close()))
    await Promise.all(this.nodes.map((node) => node.bcoin.stop()))
  }
}
