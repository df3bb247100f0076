/**
 * Anvils as one chain for the EVM rows of the client matrix (no automine; every live node mines
 * the same block), a contract that logs `Ping()` on every call, and the anvil dev accounts.
 */
import { HDNodeWallet, id as keccakOfText } from 'ethers'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type MatrixSwitchyard, healthFast, startMatrixSwitchyard } from './client-matrix.js'

/** anvil's default mnemonic: account i is funded with 10,000 ETH. */
const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'
export const devAccount = (index: number): HDNodeWallet => HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`)

/** topic0 of `event Ping()`. */
export const PING_TOPIC = keccakOfText('Ping()')
const PING_RUNTIME = `7f${PING_TOPIC.slice(2)}60006000a100` // PUSH32 topic, PUSH1 0 (size), PUSH1 0 (offset), LOG1, STOP
/** Init code: copy the 39-byte runtime (at offset 12 of this code) to memory and return it. */
export const PING_BYTECODE = `0x6027600c60003960276000f3${PING_RUNTIME}`
export const PING_ABI = ['event Ping()']

export interface EvmTestChain {
  readonly anvils: AnvilNode[]
  /** Nodes not killed by the test. */
  live(): AnvilNode[]
  /** SIGKILL one node (a crash); it stays out of `live()`. */
  kill(node: AnvilNode): void
  /** Once every live node holds `hash`, mines one identical block on each; waits for switchyard's head. */
  mineTransaction(hash: string): Promise<void>
  /** Mines `blocks` blocks, one at a time, on every live node; waits for switchyard's head. */
  mine(blocks: number): Promise<void>
  stop(): Promise<void>
}

export async function startEvmTestChain(ids: string[], switchyard: () => MatrixSwitchyard): Promise<EvmTestChain> {
  const anvils = await Promise.all(ids.map((id) => startAnvil({ id, noMining: true })))
  const killed = new Set<AnvilNode>()
  const live = (): AnvilNode[] => anvils.filter((anvil) => !killed.has(anvil))
  const mineOne = async (): Promise<void> => {
    const nodes = live()
    const height = await nodes[0]!.blockNumber()
    await Promise.all(nodes.map((anvil) => anvil.mine(1)))
    await switchyard().waitForHead('eth', height + 1)
  }
  return {
    anvils,
    live,
    kill: (node) => {
      killed.add(node)
      node.signal('SIGKILL')
    },
    mineTransaction: async (hash) => {
      // Identical blocks need identical pools. switchyard's background sends (and, for a node that
      // missed one, its next rebroadcast round) get the transaction to every node; this copies it
      // from a node that has it to one still lacking it, so mining never waits for a round. The
      // client rows test what the client sees, not how fast a send reaches every node (the
      // broadcast and chaos suites do).
      await waitFor(
        async () => {
          const nodes = live()
          const seen = await Promise.all(nodes.map((anvil) => anvil.rpc('eth_getTransactionByHash', [hash])))
          if (seen.every((tx) => tx !== null)) return true
          const holder = nodes[seen.findIndex((tx) => tx !== null)]
          if (holder === undefined) return false
          const raw = await holder.rpc('eth_getRawTransactionByHash', [hash])
          await Promise.all(nodes.filter((_, index) => seen[index] === null).map((anvil) => anvil.rpc('eth_sendRawTransaction', [raw]).catch(() => undefined)))
          return false
        },
        { timeoutMs: 10_000, what: `${hash} in every node's pool` },
      )
      await mineOne()
    },
    mine: async (blocks) => {
      for (let index = 0; index < blocks; index += 1) await mineOne()
    },
    stop: () => stopAll(anvils),
  }
}

/**
 * Three anvils of one chain (2 blocks mined) with a switchyard process in front, its nodes with
 * their WebSocket URLs (newHeads), at head 2: the setup of the event and WebSocket rows.
 */
export async function startEvmMatrix(ids: string[]): Promise<{ chain: EvmTestChain; switchyard: MatrixSwitchyard }> {
  let switchyard: MatrixSwitchyard | undefined
  const chain = await startEvmTestChain(ids, () => switchyard!)
  await Promise.all(chain.anvils.map((anvil) => anvil.mine(2)))
  switchyard = await startMatrixSwitchyard({
    chains: { eth: { family: 'evm', chainId: 31337, health: healthFast, nodes: chain.anvils.map((anvil) => ({ id: anvil.id, url: anvil.url, wsUrl: anvil.wsUrl })) } },
  })
  await switchyard.waitForHead('eth', 2)
  return { chain, switchyard }
}
