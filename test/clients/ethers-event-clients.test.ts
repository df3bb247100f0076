/**
 * ethers v6 rows of the client matrix that need switchyard's streams: contract events over HTTP
 * (ethers' default: eth_newFilter + eth_getFilterChanges, served by switchyard itself) and the
 * WebSocketProvider (reads, a send, contract events via `eth_subscribe` logs, and every head in
 * order while a node of the pool is killed). Three anvils, one chain, behind a real switchyard.
 */
import { Contract, ContractFactory, JsonRpcProvider, NonceManager, type Signer, WebSocketProvider, Wallet, parseEther } from 'ethers'
import { afterAll, beforeAll, expect } from 'vitest'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type MatrixSwitchyard, matrixRows } from './client-matrix.js'
import { type EvmTestChain, PING_ABI, PING_BYTECODE, devAccount, startEvmMatrix } from './evm-test-chain.js'

const row = matrixRows()
const RECIPIENT = '0x000000000000000000000000000000000000dEaD'

let chain: EvmTestChain
let switchyard: MatrixSwitchyard
let pingAddress: string

beforeAll(async () => {
  ;({ chain, switchyard } = await startEvmMatrix(['eth-a', 'eth-b', 'eth-c']))
  // The contract every event row calls: it logs Ping() on any call.
  const provider = new JsonRpcProvider(`${switchyard.baseUrl}/rpc/eth`, undefined, { pollingInterval: 100 })
  try {
    const factory = new ContractFactory(PING_ABI, PING_BYTECODE, new Wallet(devAccount(5).privateKey, provider))
    const deploying = await factory.deploy()
    await chain.mineTransaction(deploying.deploymentTransaction()!.hash)
    pingAddress = await deploying.getAddress()
    expect(await provider.getCode(pingAddress)).not.toBe('0x')
  } finally {
    provider.destroy()
  }
}, 90_000)

afterAll(async () => {
  await switchyard?.stop()
  await chain?.stop()
})

/**
 * Calls the Ping contract (it logs Ping()) and mines the call. Senders are NonceManagers: ethers
 * answers a call repeated within 250 ms (the pending nonce) from its own cache, so two quick sends
 * from a plain Wallet can reuse a nonce, which switchyard rightly answers SY_TX_CONFLICT.
 */
async function ping(wallet: Signer): Promise<string> {
  const tx = await wallet.sendTransaction({ to: pingAddress, data: '0x' })
  await chain.mineTransaction(tx.hash)
  return tx.hash
}

row('ethers v6 contract events over HTTP (JsonRpcProvider defaults: eth_newFilter polling)', async () => {
  const provider = new JsonRpcProvider(`${switchyard.baseUrl}/rpc/eth`, undefined, { pollingInterval: 100 })
  try {
    const contract = new Contract(pingAddress, PING_ABI, provider)
    const seen: string[] = []
    await contract.on('Ping', (event: { log: { transactionHash: string } }) => void seen.push(event.log.transactionHash))
    const byAddress: string[] = []
    await provider.on({ address: pingAddress }, (log: { transactionHash: string }) => void byAddress.push(log.transactionHash))
    // The filters exist once ethers has installed them (its first poll); calls from then on must be seen.
    const sender = new NonceManager(new Wallet(devAccount(6).privateKey, provider))
    const first = await ping(sender)
    const second = await ping(sender)
    await waitFor(() => seen.includes(second) && byAddress.includes(second), { timeoutMs: 15_000, what: 'both Ping events' })
    expect(seen).toEqual([first, second])
    expect(byAddress).toEqual([first, second])
  } finally {
    provider.destroy()
  }
})

row('ethers v6 WebSocketProvider (reads, send, contract events via eth_subscribe, pending transactions, every head while a node is killed)', async () => {
  const provider = new WebSocketProvider(`${switchyard.baseUrl.replace('http:', 'ws:')}/rpc/eth`)
  try {
    expect((await provider.getNetwork()).chainId).toBe(31337n)
    const height = await provider.getBlockNumber()
    expect((await provider.getBlock(1))?.number).toBe(1)
    const wallet = new NonceManager(new Wallet(devAccount(7).privateKey, provider))
    expect(await provider.getBalance(await wallet.getAddress())).toBeGreaterThan(0n)

    const heads: number[] = []
    await provider.on('block', (number: number) => void heads.push(number))
    const pending: string[] = []
    await provider.on('pending', (hash: string) => void pending.push(hash.toLowerCase()))
    const events: string[] = []
    await new Contract(pingAddress, PING_ABI, provider).on('Ping', (event: { log: { transactionHash: string } }) => void events.push(event.log.transactionHash))

    const tx = await wallet.sendTransaction({ to: RECIPIENT, value: parseEther('0.1') })
    await chain.mineTransaction(tx.hash)
    expect((await tx.wait())?.status).toBe(1)
    // The send went through switchyard to several nodes: its hash comes once from the merged pending feed.
    await waitFor(() => pending.includes(tx.hash.toLowerCase()), { timeoutMs: 15_000, what: 'the sent transaction as pending' })
    expect(pending.filter((hash) => hash === tx.hash.toLowerCase())).toHaveLength(1)
    const pinged = await ping(wallet)
    await waitFor(() => events.includes(pinged), { timeoutMs: 15_000, what: 'the Ping event over the socket' })

    const start = await chain.live()[0]!.blockNumber()
    await chain.mine(2)
    chain.kill(chain.anvils[0]!)
    await chain.mine(3)
    const end = start + 5
    await waitFor(() => heads.at(-1) === end, { timeoutMs: 20_000, what: `head ${end} over the socket` })
    // Every height once, in order, across the kill.
    const from = heads.indexOf(height + 1)
    expect(heads.slice(from)).toEqual(Array.from({ length: end - height }, (_, index) => height + 1 + index))
  } finally {
    await provider.destroy()
  }
})
