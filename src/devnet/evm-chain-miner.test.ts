/**
 * The compose stack's EVM miner against real anvil processes: whatever happens to a node (a
 * transaction sent to it alone, a restart back to genesis, blocks of its own, a stop), the nodes
 * end each round with identical blocks at the same height.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil, stopAll } from './anvil.js'
import { EvmChainMiner, parseNodeArgs } from './evm-chain-miner.js'
import { freePort } from './free-port.js'
import { waitFor } from './wait-for.js'

const DEV_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'

const started: AnvilNode[] = []
afterEach(async () => {
  await stopAll(started.splice(0))
})

async function anvils(ids: readonly string[], options: Parameters<typeof startAnvil>[0] = {}): Promise<AnvilNode[]> {
  const nodes = await Promise.all(ids.map((id) => startAnvil({ id, noMining: true, ...options })))
  started.push(...nodes)
  return nodes
}

const minerFor = (nodes: readonly AnvilNode[]): EvmChainMiner => new EvmChainMiner({ nodes: nodes.map((node) => ({ id: node.id, url: node.url })) })

async function hashAt(node: AnvilNode, height: number): Promise<string | undefined> {
  const block = (await node.rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { hash: string } | null
  return block?.hash
}

/** Every node at `height`, each block 0..height the same on all of them. */
async function expectOneChain(nodes: readonly AnvilNode[], height: number): Promise<void> {
  for (const node of nodes) expect(await node.blockNumber(), node.id).toBe(height)
  for (let at = 0; at <= height; at++) {
    const hashes = await Promise.all(nodes.map((node) => hashAt(node, at)))
    expect(new Set(hashes).size, `block ${at}: ${hashes.join(' ')}`).toBe(1)
    expect(hashes[0]).toMatch(/^0x[0-9a-f]{64}$/)
  }
}

describe('EvmChainMiner.round', () => {
  test('three anvils end every round at one height with identical blocks; a transaction sent to one node only is mined on all', async () => {
    const nodes = await anvils(['anvil-a', 'anvil-b', 'anvil-c'])
    const [a, , c] = nodes as [AnvilNode, AnvilNode, AnvilNode]
    const txHash = (await c.rpc('eth_sendTransaction', [{ from: DEV_ADDRESS, to: '0x000000000000000000000000000000000000dEaD', value: '0x1' }])) as string
    expect(await a.rpc('eth_getTransactionByHash', [txHash])).toBeNull()

    const miner = minerFor(nodes)
    const report = await miner.round()
    expect(report).toMatchObject({ source: 'anvil-a', height: 1, inSync: ['anvil-a', 'anvil-b', 'anvil-c'], unreachable: [], failed: [], repaired: [] })
    expect(report.hash).toBe(await hashAt(a, 1))
    await miner.round()
    await miner.round()

    await expectOneChain(nodes, 3)
    const receipts = (await Promise.all(nodes.map((node) => node.rpc('eth_getTransactionReceipt', [txHash])))) as Array<{ blockNumber: string; blockHash: string; status: string } | null>
    for (const receipt of receipts) expect(receipt).toMatchObject({ blockNumber: '0x1', blockHash: report.hash, status: '0x1' })
  })

  test('a restarted anvil (back at genesis) is given every block again', async () => {
    const nodes = await anvils(['anvil-a', 'anvil-b', 'anvil-c'])
    const miner = minerFor(nodes)
    for (let round = 0; round < 3; round++) await miner.round()
    await nodes[1]!.restart()
    expect(await nodes[1]!.blockNumber()).toBe(0)

    const report = await miner.round()
    expect(report).toMatchObject({ source: 'anvil-a', height: 4, inSync: ['anvil-a', 'anvil-b', 'anvil-c'], failed: [], repaired: [{ node: 'anvil-b', rolledBack: 0, copied: 4 }] })
    await expectOneChain(nodes, 4)
  })

  test('a node with a block of its own at the same height is rolled back onto the chain', async () => {
    const nodes = await anvils(['anvil-a', 'anvil-b', 'anvil-c'])
    const [a, , c] = nodes as [AnvilNode, AnvilNode, AnvilNode]
    const miner = minerFor(nodes)
    for (let round = 0; round < 3; round++) await miner.round()
    await c.rpc('anvil_rollback', [1])
    await c.mine(1)
    expect(await c.blockNumber()).toBe(3)
    expect(await hashAt(c, 3)).not.toBe(await hashAt(a, 3))

    const report = await miner.round()
    expect(report).toMatchObject({ source: 'anvil-a', height: 4, failed: [], repaired: [{ node: 'anvil-c', rolledBack: 1, copied: 2 }] })
    await expectOneChain(nodes, 4)
  })

  test('the highest node is the source: longest chain wins, the others follow it', async () => {
    const nodes = await anvils(['anvil-a', 'anvil-b', 'anvil-c'])
    const [, b] = nodes as [AnvilNode, AnvilNode, AnvilNode]
    const miner = minerFor(nodes)
    await miner.round()
    await b.rpc('anvil_rollback', [1])
    await b.mine(3)

    const report = await miner.round()
    expect(report).toMatchObject({ source: 'anvil-b', height: 4, inSync: ['anvil-a', 'anvil-b', 'anvil-c'], failed: [] })
    // Both were at block 1 of the old chain: rolled back to genesis, given b's 4 blocks.
    expect([...report.repaired].sort((x, y) => x.node.localeCompare(y.node))).toEqual([
      { node: 'anvil-a', rolledBack: 1, copied: 4 },
      { node: 'anvil-c', rolledBack: 1, copied: 4 },
    ])
    await expectOneChain(nodes, 4)
  })

  test('a stopped node is skipped, and caught up once it answers again', async () => {
    const nodes = await anvils(['anvil-a', 'anvil-b', 'anvil-c'])
    const [a, b, c] = nodes as [AnvilNode, AnvilNode, AnvilNode]
    const miner = minerFor(nodes)
    await miner.round()
    await c.stop()

    const skipped = await miner.round()
    expect(skipped).toMatchObject({ source: 'anvil-a', height: 2, inSync: ['anvil-a', 'anvil-b'], unreachable: ['anvil-c'], failed: [] })
    await expectOneChain([a, b], 2)

    await c.restart()
    const back = await miner.round()
    expect(back).toMatchObject({ height: 3, inSync: ['anvil-a', 'anvil-b', 'anvil-c'], unreachable: [], failed: [] })
    await expectOneChain(nodes, 3)
  })

  test('a node with another genesis block is reported, never rewritten; no node answering is a round without a source', async () => {
    const [a] = await anvils(['anvil-a'])
    const [other] = await anvils(['anvil-other'], { timestamp: 1_600_000_000 })
    const report = await minerFor([a!, other!]).round()
    expect(report).toMatchObject({ source: 'anvil-a', height: 1, inSync: ['anvil-a'], failed: [{ node: 'anvil-other', error: expect.stringMatching(/another genesis block .*same --chain-id and --timestamp/) }] })
    expect(await other!.blockNumber()).toBe(0)

    const nowhere = new EvmChainMiner({ nodes: [{ id: 'gone', url: `http://127.0.0.1:${await freePort()}` }] })
    expect(await nowhere.round()).toEqual({ source: undefined, height: undefined, hash: undefined, inSync: [], unreachable: ['gone'], failed: [], repaired: [] })
  })
})

describe('evm-chain-miner command', () => {
  test('--node takes id=URL or a bare URL named by its host; anything else is refused', () => {
    expect(parseNodeArgs(['anvil-a=http://anvil-a:8545', 'http://anvil-b:8545/'])).toEqual([
      { id: 'anvil-a', url: 'http://anvil-a:8545' },
      { id: 'anvil-b', url: 'http://anvil-b:8545/' },
    ])
    expect(() => parseNodeArgs(['a=ftp://x'])).toThrow(/must be an http\(s\) URL/)
    expect(() => parseNodeArgs(['a=not a url'])).toThrow(/--node a: not a URL/)
  })

  test('mines until SIGTERM, keeps the nodes one chain, touches its heartbeat file, exits 0 and never logs a node URL', async () => {
    const nodes = await anvils(['anvil-a', 'anvil-b'])
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-miner-'))
    const heartbeat = join(dir, 'heartbeat')
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/devnet/evm-chain-miner.ts', ...nodes.flatMap((node) => ['--node', `${node.id}=${node.url}`]), '--interval-ms', '100', '--heartbeat-file', heartbeat], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await waitFor(async () => existsSync(heartbeat) && (await Promise.all(nodes.map((node) => node.blockNumber()))).every((height) => height >= 3), {
        timeoutMs: 20_000,
        what: `the miner to reach height 3 on both nodes (output: ${output})`,
      })
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      child.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
    await expectOneChain(nodes, await nodes[0]!.blockNumber())
    expect(output).toMatch(/evm-chain-miner: mining every 100 ms for anvil-a, anvil-b/)
    expect(output).toMatch(/evm-chain-miner: stopped/)
    for (const node of nodes) expect(output).not.toContain(String(node.port))
  })
})
