import { afterEach, describe, expect, test } from 'vitest'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { type AnvilLookup, type AnvilNode, GENESIS_TIMESTAMP, anvilBinary, copyAnvilBlocks, findExecutableOnPath, startAnvil, stopAll } from './anvil.js'
import { waitFor } from './wait-for.js'

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('anvilBinary', () => {
  const lookup = (found: { packageFile?: string; path?: string; wrapper?: string }): AnvilLookup => ({
    resolvePackageFile: () => found.packageFile,
    findOnPath: (name) => (found.path === undefined ? undefined : `${found.path}/${name}`),
    findNodeModulesBin: (name) => (found.wrapper === undefined ? undefined : `${found.wrapper}/${name}`),
  })
  test.each<[string, Parameters<typeof lookup>[0], string | RegExp]>([
    ['the platform package first', { packageFile: '/pkg/bin/anvil', path: '/usr/local/bin', wrapper: '/nm/.bin' }, '/pkg/bin/anvil'],
    ['anvil on PATH when the platform package is missing (macOS/ARM Foundry users)', { path: '/home/u/.foundry/bin', wrapper: '/nm/.bin' }, /^\/home\/u\/\.foundry\/bin\/anvil(\.exe)?$/],
    ['the node_modules/.bin wrapper last', { wrapper: '/nm/.bin' }, /^\/nm\/\.bin\/anvil(\.exe)?$/],
  ])('%s', (_name, found, expected) => {
    expect(anvilBinary(lookup(found))).toMatch(expected)
  })

  test('none: says what to install', () => {
    expect(() => anvilBinary(lookup({}))).toThrow(/anvil not found: install the @foundry-rs\/anvil-.+ dev dependency, or Foundry \(anvil on PATH\)/)
  })

  test('asks for the platform package of this platform', () => {
    const asked: string[] = []
    anvilBinary({ ...lookup({ path: '/bin' }), resolvePackageFile: (specifier) => void asked.push(specifier) })
    expect(asked).toEqual([`@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}/bin/${process.platform === 'win32' ? 'anvil.exe' : 'anvil'}`])
  })

  test('finds the first executable file on PATH, skipping non-executable files and directories', async () => {
    const root = await mkdtemp(join(tmpdir(), 'switchyard-path-'))
    try {
      const [plain, folder, executable, later] = ['plain', 'folder', 'exec', 'later'].map((name) => join(root, name)) as [string, string, string, string]
      await Promise.all([plain, executable, later, join(folder, 'anvil')].map((dir) => mkdir(dir, { recursive: true })))
      await writeFile(join(plain, 'anvil'), '#!/bin/sh\n')
      await writeFile(join(executable, 'anvil'), '#!/bin/sh\n')
      await chmod(join(executable, 'anvil'), 0o755)
      await writeFile(join(later, 'anvil'), '#!/bin/sh\n')
      await chmod(join(later, 'anvil'), 0o755)
      expect(findExecutableOnPath('anvil', ['', join(root, 'missing'), plain, folder, executable, later].join(delimiter))).toBe(join(executable, 'anvil'))
      expect(findExecutableOnPath('anvil', [plain, folder].join(delimiter))).toBeUndefined()
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})

describe('startAnvil', () => {
  const started: AnvilNode[] = []
  const start = async (options: Parameters<typeof startAnvil>[0] = {}): Promise<AnvilNode> => {
    const node = await startAnvil(options)
    started.push(node)
    return node
  }
  afterEach(async () => {
    await stopAll(started.splice(0))
  })

  test('resolves the native binary, not the Node wrapper', () => {
    expect(anvilBinary()).toMatch(/@foundry-rs\/anvil-[a-z0-9]+-[a-z0-9]+\/bin\/anvil(\.exe)?$/)
  })

  test('a ready node on 127.0.0.1 with the defaults', async () => {
    const node = await start()
    expect(node).toMatchObject({ id: `anvil-${node.port}`, url: `http://127.0.0.1:${node.port}`, wsUrl: `ws://127.0.0.1:${node.port}`, chainId: 31337 })
    expect(await node.rpc('eth_chainId')).toBe('0x7a69')
    expect(await node.blockNumber()).toBe(0)
    await node.mine(3)
    expect(await node.blockNumber()).toBe(3)
    expect(isAlive(node.pid)).toBe(true)
  })

  test('nodes started apart share the genesis and mine identical blocks (one chain)', async () => {
    const a = await start()
    const b = await start()
    const hashAt = async (node: AnvilNode, height: number) => ((await node.rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { hash: string; timestamp: string })
    expect((await hashAt(a, 0)).hash).toBe((await hashAt(b, 0)).hash)
    expect(Number((await hashAt(a, 0)).timestamp)).toBe(GENESIS_TIMESTAMP)
    await a.mine(3)
    await b.mine(1)
    await b.mine(2)
    for (const height of [1, 2, 3]) expect((await hashAt(a, height)).hash).toBe((await hashAt(b, height)).hash)
    expect(Number((await hashAt(a, 3)).timestamp)).toBe(GENESIS_TIMESTAMP + 36)
  })

  test('many blocks in one call take chain timestamps even when mining outlasts a wall-clock second, so they match blocks mined apart', async () => {
    const a = await start()
    const b = await start()
    // ~2 s of mining in one call on this machine: plain anvil_mine(n, 12) drifted by 1 s over such a run.
    const blocks = 1_500
    const startedAt = Date.now()
    await a.mine(blocks)
    const tookMs = Date.now() - startedAt
    for (let mined = 0; mined < blocks; mined += 100) await b.mine(100)
    const block = async (node: AnvilNode, height: number) => (await node.rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { hash: string; timestamp: string }
    for (const height of [2, 750, 1_499, 1_500]) {
      expect(Number((await block(a, height)).timestamp)).toBe(GENESIS_TIMESTAMP + 12 * height)
      expect((await block(a, height)).hash).toBe((await block(b, height)).hash)
    }
    // The case this guards: the call spanned a second boundary (else it proves nothing about drift).
    expect(tookMs).toBeGreaterThan(1_000)
    // The interval is only for the call: a block mined by evm_mine afterwards follows the clock again.
    await a.rpc('evm_mine')
    expect(Number((await block(a, blocks + 1)).timestamp)).not.toBe(GENESIS_TIMESTAMP + 12 * (blocks + 1))
  })

  test('another genesis timestamp is another genesis', async () => {
    const a = await start()
    const b = await start({ timestamp: GENESIS_TIMESTAMP + 1 })
    const genesis = async (node: AnvilNode) => ((await node.rpc('eth_getBlockByNumber', ['0x0', false])) as { hash: string }).hash
    expect(await genesis(a)).not.toBe(await genesis(b))
  })

  test('copyAnvilBlocks brings a lagging node to identical blocks, automined transactions included', async () => {
    const a = await start()
    const b = await start()
    await a.mine(2)
    // An automined block: wall-clock timestamp, only on a.
    const txHash = await a.rpc('eth_sendTransaction', [{ from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', to: '0x70997970C51812dc3A010C54b17F93b37fc5dBAF', value: '0x1' }])
    await a.mine(2)
    expect(await copyAnvilBlocks(a, b)).toBe(5)
    const tip = async (node: AnvilNode) => ((await node.rpc('eth_getBlockByNumber', ['latest', false])) as { hash: string }).hash
    expect(await tip(b)).toBe(await tip(a))
    expect(await b.rpc('eth_getTransactionReceipt', [txHash])).toMatchObject({ blockNumber: '0x3' })
    // b automines again afterwards, as before.
    expect(await b.rpc('anvil_getAutomine')).toBe(true)
    expect(await copyAnvilBlocks(a, b)).toBe(0)
  })

  test('copyAnvilBlocks with dropPending: the copy holds exactly the source block, whatever the target had pending', async () => {
    const a = await start({ noMining: true })
    const b = await start({ noMining: true })
    const send = (node: AnvilNode, value: string) => node.rpc('eth_sendTransaction', [{ from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', to: '0x70997970C51812dc3A010C54b17F93b37fc5dBAF', value }])
    const shared = await send(a, '0x1')
    await send(b, '0x1') // the same transaction, already in b's pool
    await a.mine(1)
    await send(b, '0x2') // b only: would make b's block differ
    await expect(copyAnvilBlocks(a, b)).rejects.toThrow(/copy of block 1 to anvil-\d+ is 0x[0-9a-f]+ \(2 txs, state 0x[0-9a-f]+\), not 0x[0-9a-f]+ \(1 txs, state 0x[0-9a-f]+\) as on anvil-\d+/)
    const c = await start({ noMining: true })
    await send(c, '0x1')
    await send(c, '0x3')
    expect(await copyAnvilBlocks(a, c, { dropPending: true })).toBe(1)
    expect(await c.rpc('eth_getTransactionReceipt', [shared])).toMatchObject({ blockNumber: '0x1' })
  })

  test('copyAnvilBlocks after anvil_rollback of a block that differs gives the source block (the base fee the undone block set is not kept)', async () => {
    const a = await start({ noMining: true })
    const b = await start({ noMining: true })
    const send = (node: AnvilNode, value: string) => node.rpc('eth_sendTransaction', [{ from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', to: '0x70997970C51812dc3A010C54b17F93b37fc5dBAF', value }])
    await send(a, '0x1')
    await a.mine(1)
    await send(b, '0x9')
    await send(b, '0xa')
    await b.mine(1)
    await b.rpc('anvil_rollback', [1])
    expect(await copyAnvilBlocks(a, b, { dropPending: true })).toBe(1)
    const [copy, source] = await Promise.all([b, a].map((node) => node.rpc('eth_getBlockByNumber', ['0x1', false]) as Promise<{ hash: string }>))
    expect(copy!.hash).toBe(source!.hash)
  })

  test('copyAnvilBlocks with dropPending: a send landing between the drop and the mining is taken back and the block copied again', async () => {
    const a = await start({ noMining: true })
    const b = await start({ noMining: true })
    const send = (node: AnvilNode, value: string) => node.rpc('eth_sendTransaction', [{ from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', to: '0x70997970C51812dc3A010C54b17F93b37fc5dBAF', value }])
    const shared = await send(a, '0x1')
    await a.mine(1)
    let strays = 0
    // The stray send arrives once, after the pool was dropped and the block's transactions added.
    const racing: AnvilNode = {
      ...b,
      rpc: async (method, params) => {
        if (method === 'evm_setNextBlockTimestamp' && strays === 0) {
          strays += 1
          await send(b, '0x7')
        }
        return b.rpc(method, params)
      },
    }
    expect(await copyAnvilBlocks(a, racing, { dropPending: true })).toBe(1)
    expect(strays).toBe(1)
    expect(await b.blockNumber()).toBe(1)
    const [copy, source] = await Promise.all([b, a].map((node) => node.rpc('eth_getBlockByNumber', ['0x1', false]) as Promise<{ hash: string }>))
    expect(copy!.hash).toBe(source!.hash)
    expect(await b.rpc('eth_getTransactionReceipt', [shared])).toMatchObject({ blockNumber: '0x1' })
  })

  test('extraArgs reach anvil', async () => {
    const node = await start({ extraArgs: ['--gas-limit', '12345678'] })
    expect(await node.rpc('eth_getBlockByNumber', ['0x0', false])).toMatchObject({ gasLimit: '0xbc614e' })
  })

  test('options: id and chain id', async () => {
    const node = await start({ id: 'eth-x', chainId: 31338 })
    expect(node.id).toBe('eth-x')
    expect(await node.rpc('eth_chainId')).toBe('0x7a6a')
  })

  test('blockTimeSec mines on its own', async () => {
    const node = await start({ blockTimeSec: 1 })
    await waitFor(async () => (await node.blockNumber()) >= 1, { what: 'a timed block', everyMs: 100 })
  })

  test('rpc throws with the node message on a JSON-RPC error', async () => {
    const node = await start({ id: 'eth-e' })
    await expect(node.rpc('eth_getBalance', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0x100'])).rejects.toThrow(
      'anvil eth-e eth_getBalance: BlockOutOfRangeError: block height is 0 but requested was 256',
    )
  })

  test('restart: same port, fresh chain, new process', async () => {
    const node = await start()
    await node.mine(5)
    const oldPid = node.pid
    await node.restart()
    expect(isAlive(oldPid)).toBe(false)
    expect(node.pid).not.toBe(oldPid)
    expect(await node.blockNumber()).toBe(0)
    expect(await node.rpc('eth_chainId')).toBe('0x7a69')
  })

  test('a stop during a restart ends the restarted process too', async () => {
    const node = await start()
    const restarting = node.restart()
    await node.stop()
    await restarting
    expect(isAlive(node.pid)).toBe(false)
  })

  test('stop: the process is gone, the port refuses, a second stop is a no-op', async () => {
    const node = await start()
    const pid = node.pid
    await node.stop()
    expect(isAlive(pid)).toBe(false)
    await expect(node.rpc('eth_blockNumber')).rejects.toThrow(/fetch failed/)
    await node.stop()
  })

  test('stop also ends a frozen (SIGSTOP) process', async () => {
    const node = await start()
    node.signal('SIGSTOP')
    await node.stop()
    expect(isAlive(node.pid)).toBe(false)
  })

  test('a fixed port that is taken fails clearly instead of moving', async () => {
    const first = await start()
    await expect(start({ port: first.port })).rejects.toThrow(new RegExp(`anvil on port ${first.port} exited with code 1: Error: Address already in use`))
  })

  test('stopAll skips missing nodes', async () => {
    const node = await start()
    await stopAll([node, undefined])
    expect(isAlive(node.pid)).toBe(false)
  })
})
