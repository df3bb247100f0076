/**
 * EVM HTTP rows of the real-client matrix: ethers v6 JsonRpcProvider (batching on, and off with
 * `batchMaxCount: 1`), viem's http transport (batch) and web3.js v4, against two real anvils (one
 * chain: no automine, both mined alike) behind a real switchyard process. Each row: chain id,
 * block number, a block by number, a balance, a batch, a signed send and its receipt once mined.
 */
import { HDNodeWallet, JsonRpcProvider, type JsonRpcPayload, Wallet, parseEther } from 'ethers'
import { http, createPublicClient, createWalletClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { Web3 } from 'web3'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type MatrixSwitchyard, healthFast, matrixRows, startMatrixSwitchyard } from './client-matrix.js'

const row = matrixRows()
/** anvil's default accounts (its default mnemonic), one sender per row so rows never share a nonce. */
const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'
const account = (index: number): HDNodeWallet => HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`)
const RECIPIENT = '0x000000000000000000000000000000000000dEaD'

let anvils: AnvilNode[] = []
let switchyard: MatrixSwitchyard
let rpcUrl: string

beforeAll(async () => {
  // Two processes, one chain: transactions wait in both pools until both mine the same block.
  anvils = await Promise.all(['eth-a', 'eth-b'].map((id) => startAnvil({ id, noMining: true })))
  await Promise.all(anvils.map((anvil) => anvil.mine(2)))
  switchyard = await startMatrixSwitchyard({
    chains: { eth: { family: 'evm', chainId: 31337, health: healthFast, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) } },
  })
  rpcUrl = `${switchyard.baseUrl}/rpc/eth`
  await switchyard.waitForHead('eth', 2)
}, 90_000)

afterAll(async () => {
  await switchyard?.stop()
  await stopAll(anvils)
})

/** Once every node holds `hash` (switchyard's broadcast fans out), mines one identical block on each and waits for switchyard's head. */
async function mineTransaction(hash: string): Promise<void> {
  await waitFor(async () => (await Promise.all(anvils.map((anvil) => anvil.rpc('eth_getTransactionByHash', [hash])))).every((tx) => tx !== null), {
    timeoutMs: 10_000,
    what: `${hash} in every node's pool`,
  })
  const height = await anvils[0]!.blockNumber()
  await Promise.all(anvils.map((anvil) => anvil.mine(1)))
  await switchyard.waitForHead('eth', height + 1)
}

describe('ethers v6 JsonRpcProvider', () => {
  async function ethersRow(options: { batchMaxCount?: number }, sender: HDNodeWallet): Promise<JsonRpcPayload[][]> {
    const provider = new JsonRpcProvider(rpcUrl, undefined, { ...options, pollingInterval: 100 })
    const payloads: JsonRpcPayload[][] = []
    void provider.on('debug', (event: { action: string; payload?: JsonRpcPayload | JsonRpcPayload[] }) => {
      if (event.action === 'sendRpcPayload' && event.payload !== undefined) payloads.push(Array.isArray(event.payload) ? event.payload : [event.payload])
    })
    try {
      expect((await provider.getNetwork()).chainId).toBe(31337n)
      const height = await provider.getBlockNumber()
      expect(height).toBeGreaterThanOrEqual(2)
      const block = await provider.getBlock(1)
      expect(block?.number).toBe(1)
      expect(block?.hash).toBe(((await anvils[0]!.rpc('eth_getBlockByNumber', ['0x1', false])) as { hash: string }).hash)
      expect(await provider.getBalance(sender.address)).toBeGreaterThan(0n)
      // Calls made in the same tick: ethers puts them in one batch unless batchMaxCount is 1.
      payloads.length = 0
      const [count, balance, code] = await Promise.all([provider.getBlockNumber(), provider.getBalance(RECIPIENT), provider.getCode(RECIPIENT)])
      expect(count).toBeGreaterThanOrEqual(height)
      expect(balance).toBeGreaterThanOrEqual(0n)
      expect(code).toBe('0x')
      const batched = payloads.slice()

      const tx = await new Wallet(sender.privateKey, provider).sendTransaction({ to: RECIPIENT, value: parseEther('0.5') })
      await mineTransaction(tx.hash)
      const receipt = await tx.wait()
      expect(receipt?.status).toBe(1)
      // At explicit heights: ethers answers a call repeated within 250 ms from its own cache, so a
      // second `latest` balance read right after the first could be the old one whatever the node says.
      const mined = receipt!.blockNumber
      expect((await provider.getBalance(RECIPIENT, mined)) - (await provider.getBalance(RECIPIENT, mined - 1))).toBe(parseEther('0.5'))
      return batched
    } finally {
      provider.destroy()
    }
  }

  row('ethers v6 JsonRpcProvider, batching on (default)', async () => {
    const batched = await ethersRow({}, account(1))
    expect(batched.some((payload) => payload.length >= 2)).toBe(true)
  })

  row('ethers v6 JsonRpcProvider, batching off (batchMaxCount: 1)', async () => {
    const batched = await ethersRow({ batchMaxCount: 1 }, account(2))
    expect(batched.length).toBeGreaterThanOrEqual(3)
    expect(batched.every((payload) => payload.length === 1)).toBe(true)
  })
})

row('viem http transport (batch)', async () => {
  const bodies: unknown[] = []
  const transport = http(rpcUrl, {
    batch: true,
    onFetchRequest: async (request) => {
      bodies.push(await request.clone().json())
    },
  })
  const client = createPublicClient({ chain: foundry, transport, pollingInterval: 100 })
  expect(await client.getChainId()).toBe(31337)
  const height = await client.getBlockNumber({ cacheTime: 0 })
  expect(height).toBeGreaterThanOrEqual(2n)
  const block = await client.getBlock({ blockNumber: 1n })
  expect(block.number).toBe(1n)
  const sender = privateKeyToAccount(account(3).privateKey as `0x${string}`)
  expect(await client.getBalance({ address: sender.address })).toBeGreaterThan(0n)
  bodies.length = 0
  const [count, balance] = await Promise.all([client.getBlockNumber({ cacheTime: 0 }), client.getBalance({ address: RECIPIENT })])
  expect(count).toBeGreaterThanOrEqual(height)
  expect(balance).toBeGreaterThanOrEqual(0n)
  expect(bodies.some((body) => Array.isArray(body) && body.length >= 2)).toBe(true)

  const wallet = createWalletClient({ account: sender, chain: foundry, transport })
  const hash = await wallet.sendTransaction({ to: RECIPIENT, value: 10n ** 17n })
  await mineTransaction(hash)
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 })
  expect(receipt.status).toBe('success')
  expect(await client.getBalance({ address: RECIPIENT })).toBe(balance + 10n ** 17n)
})

row('web3.js v4 (HttpProvider)', async () => {
  const web3 = new Web3(rpcUrl)
  web3.eth.transactionPollingInterval = 100
  web3.eth.transactionReceiptPollingInterval = 100
  expect(await web3.eth.getChainId()).toBe(31337n)
  const height = await web3.eth.getBlockNumber()
  expect(height).toBeGreaterThanOrEqual(2n)
  expect((await web3.eth.getBlock(1)).number).toBe(1n)
  const sender = web3.eth.accounts.privateKeyToAccount(account(4).privateKey)
  expect(await web3.eth.getBalance(sender.address)).toBeGreaterThan(0n)

  const batch = new web3.BatchRequest()
  const replies = Promise.all([
    batch.add({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
    batch.add({ jsonrpc: '2.0', id: 2, method: 'eth_getBalance', params: [RECIPIENT, 'latest'] }),
  ])
  await batch.execute()
  const [count, balance] = (await replies) as [string, string]
  expect(BigInt(count)).toBeGreaterThanOrEqual(height)
  const before = BigInt(balance)

  const signed = await sender.signTransaction({ from: sender.address, to: RECIPIENT, value: 10n ** 16n, gas: 21_000n, gasPrice: await web3.eth.getGasPrice(), nonce: await web3.eth.getTransactionCount(sender.address), chainId: 31337n })
  // sendSignedTransaction resolves with the receipt: mine once the hash is out.
  const sending = web3.eth.sendSignedTransaction(signed.rawTransaction)
  const hash = await new Promise<string>((resolve, reject) => {
    void sending.on('transactionHash', (value) => resolve(String(value)))
    sending.catch(reject)
  })
  await mineTransaction(hash)
  const receipt = await sending
  expect(receipt.status).toBe(1n)
  expect(await web3.eth.getBalance(RECIPIENT)).toBe(before + 10n ** 16n)
})
