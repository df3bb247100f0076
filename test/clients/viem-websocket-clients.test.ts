/**
 * viem's webSocket transport row of the client matrix: reads, a send and its receipt,
 * `watchEvent` (eth_subscribe logs) and `watchBlocks` (eth_subscribe newHeads) delivering every
 * block in order while a node of the pool is killed. Three anvils, one chain, behind a real
 * switchyard process.
 */
import { type Hash, createPublicClient, createWalletClient, parseAbiItem, webSocket } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, expect } from 'vitest'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type MatrixSwitchyard, matrixRows } from './client-matrix.js'
import { type EvmTestChain, PING_BYTECODE, devAccount, startEvmMatrix } from './evm-test-chain.js'

const row = matrixRows()
const RECIPIENT = '0x000000000000000000000000000000000000dEaD'

let chain: EvmTestChain
let switchyard: MatrixSwitchyard

beforeAll(async () => {
  ;({ chain, switchyard } = await startEvmMatrix(['eth-a', 'eth-b', 'eth-c']))
}, 90_000)

afterAll(async () => {
  await switchyard?.stop()
  await chain?.stop()
})

row('viem webSocket transport (reads, send, watchEvent, watchBlocks every block while a node is killed)', async () => {
  const transport = webSocket(`${switchyard.baseUrl.replace('http:', 'ws:')}/rpc/eth`)
  const client = createPublicClient({ chain: foundry, transport, pollingInterval: 100 })
  const account = privateKeyToAccount(devAccount(9).privateKey as `0x${string}`)
  const wallet = createWalletClient({ account, chain: foundry, transport })
  const unwatch: Array<() => void> = []
  try {
    expect(await client.getChainId()).toBe(31337)
    const height = await client.getBlockNumber({ cacheTime: 0 })
    expect((await client.getBlock({ blockNumber: 1n })).number).toBe(1n)
    expect(await client.getBalance({ address: account.address })).toBeGreaterThan(0n)

    const deployHash = await wallet.deployContract({ abi: [], bytecode: PING_BYTECODE as `0x${string}` })
    await chain.mineTransaction(deployHash)
    const deployed = await client.waitForTransactionReceipt({ hash: deployHash, pollingInterval: 100 })
    const pingAddress = deployed.contractAddress!

    const blocks: bigint[] = []
    unwatch.push(client.watchBlocks({ onBlock: (block) => void blocks.push(block.number) }))
    const events: Hash[] = []
    unwatch.push(client.watchEvent({ address: pingAddress, event: parseAbiItem('event Ping()'), onLogs: (logs) => void events.push(...logs.map((log) => log.transactionHash)) }))

    const sent = await wallet.sendTransaction({ to: RECIPIENT, value: 10n ** 15n })
    await chain.mineTransaction(sent)
    expect((await client.waitForTransactionReceipt({ hash: sent, pollingInterval: 100 })).status).toBe('success')
    const pinged = await wallet.sendTransaction({ to: pingAddress, data: '0x' })
    await chain.mineTransaction(pinged)
    await waitFor(() => events.includes(pinged), { timeoutMs: 15_000, what: 'the Ping event over the socket' })

    const start = BigInt(await chain.live()[0]!.blockNumber())
    await chain.mine(2)
    chain.kill(chain.anvils[0]!)
    await chain.mine(3)
    const end = start + 5n
    await waitFor(() => blocks.at(-1) === end, { timeoutMs: 20_000, what: `block ${end} over the socket` })
    // Every block once, in order, across the kill (from the first one after the watch began).
    const first = blocks[0]!
    expect(first).toBeGreaterThan(height)
    expect(blocks).toEqual(Array.from({ length: Number(end - first) + 1 }, (_, index) => first + BigInt(index)))
  } finally {
    for (const stop of unwatch) stop()
    await (await transport({ chain: foundry }).value?.getRpcClient())?.close()
  }
})
