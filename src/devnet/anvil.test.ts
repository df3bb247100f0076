import { afterEach, describe, expect, test } from 'vitest'
import { type AnvilNode, anvilBinary, startAnvil, stopAll } from './anvil.js'
import { waitFor } from './wait-for.js'

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

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
