import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load-config.js'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { NodeClient } from '../../src/upstream/node-client.js'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'
import { createEvmAdapter } from './evm-adapter.js'
import { nextReconnectDelayMs, watchNewHeads } from './heads-subscription.js'

const adapterFor = (chainId: number, genesisHash?: string) =>
  createEvmAdapter(parseConfig({ chains: { eth: { family: 'evm', chainId, ...(genesisHash ? { genesisHash } : {}), nodes: [{ id: 'x', url: 'http://127.0.0.1:1' }] } } }, {}).chains.eth!)
const context = { timeoutMs: 1_000, maxLagBlocks: 3 }

describe('probe against real anvil', () => {
  let anvil: AnvilNode
  let other: AnvilNode
  const clients: NodeClient[] = []
  const client = (nodeId: string, url: string) => {
    const created = new NodeClient({ nodeId, url, version: '2.0' })
    clients.push(created)
    return created
  }
  beforeAll(async () => {
    ;[anvil, other] = await Promise.all([startAnvil({ id: 'a' }), startAnvil({ id: 'b', chainId: 31338 })])
  })
  afterAll(async () => {
    await Promise.all(clients.map((created) => created.close()))
    await Promise.all([anvil.stop(), other.stop()])
  })

  test('ok with the height after mining', async () => {
    await anvil.mine(7)
    expect(await adapterFor(31337).probe(client('a', anvil.url), context)).toMatchObject({ kind: 'ok', height: 7, syncing: false })
  })

  test('another chain id is wrong-chain with a reason', async () => {
    expect(await adapterFor(31337).probe(client('b', other.url), context)).toMatchObject({ kind: 'wrong-chain', reason: 'reports chain id 31338, expected 31337' })
  })

  test('genesis hash: matching is ok, another is wrong-chain', async () => {
    const block = (await anvil.rpc('eth_getBlockByNumber', ['0x0', false])) as { hash: string }
    expect((await adapterFor(31337, block.hash.toUpperCase().replace('0X', '0x')).probe(client('a', anvil.url), context)).kind).toBe('ok')
    const wrong = await adapterFor(31337, `0x${'11'.repeat(32)}`).probe(client('a', anvil.url), context)
    expect(wrong).toMatchObject({ kind: 'wrong-chain', reason: expect.stringMatching(/^genesis 0x.* is not the configured 0x11111111…1111$/) })
  })

  test('a stopped process times out', async () => {
    anvil.signal('SIGSTOP')
    try {
      expect(await adapterFor(31337).probe(client('a', anvil.url), { ...context, timeoutMs: 150 })).toMatchObject({ kind: 'failed', failure: { kind: 'timeout' } })
    } finally {
      anvil.signal('SIGCONT')
    }
  })

  test('a closed port is a connect failure', async () => {
    const gone = await startAnvil()
    await gone.stop()
    expect(await adapterFor(31337).probe(client('gone', gone.url), context)).toMatchObject({ kind: 'failed', failure: { kind: 'connect' } })
  })
})

describe('probe replies real anvil cannot give', () => {
  let fake: FakeNode & { setHeight(height: number): void }
  let client: NodeClient
  beforeAll(async () => {
    fake = await startFakeNode({ chainId: 1, height: 50 })
    client = new NodeClient({ nodeId: 'f', url: fake.url, version: '2.0' })
  })
  afterAll(async () => {
    await client.close()
    await fake.close()
  })
  afterEach(() => fake.on('eth_syncing', { result: false }))

  test('eth_syncing object → syncing with progress', async () => {
    fake.on('eth_syncing', { result: { startingBlock: '0x0', currentBlock: '0x5', highestBlock: '0x64' } })
    expect(await adapterFor(1).probe(client, context)).toMatchObject({ kind: 'ok', height: 50, syncing: true, syncingReason: 'eth_syncing: block 5 of 100' })
  })

  test.each<{ name: string; method: string; reply: Parameters<FakeNode['on']>[1]; message: RegExp }>([
    { name: 'error answer', method: 'eth_blockNumber', reply: { error: { code: -32000, message: 'warming up' } }, message: /node f answered eth_blockNumber with error -32000: warming up/ },
    { name: 'non-hex height', method: 'eth_blockNumber', reply: { result: 'lots' }, message: /node f sent an invalid eth_blockNumber/ },
    { name: 'non-hex chain id', method: 'eth_chainId', reply: { result: 12 }, message: /node f sent an invalid eth_chainId/ },
  ])('$name → failed bad-response', async ({ method, reply, message }) => {
    fake.on(method, reply)
    const observation = await adapterFor(1).probe(client, context)
    fake.on(method, method === 'eth_chainId' ? { result: '0x1' } : { result: '0x32' })
    expect(observation).toMatchObject({ kind: 'failed', failure: { kind: 'bad-response', message: expect.stringMatching(message) } })
  })

  test('eth_chainId is answered locally; a missing chainId is a config error', () => {
    expect(adapterFor(137).answerLocally({ method: 'eth_chainId', params: [] })).toEqual({ result: '0x89' })
    expect(adapterFor(137).answerLocally({ method: 'eth_blockNumber', params: [] })).toBeUndefined()
    const chain = parseConfig({ chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'x', url: 'http://127.0.0.1:1' }] } } }, {}).chains.eth!
    expect(() => createEvmAdapter({ ...chain, chainId: undefined })).toThrow(/need a chainId/)
  })
})

describe('newHeads subscription', () => {
  test.each<{ attempt: number; random: number; delay: number }>([
    { attempt: 1, random: 0, delay: 0 },
    { attempt: 1, random: 0.999, delay: 249 },
    { attempt: 2, random: 0.5, delay: 250 },
    { attempt: 3, random: 0.5, delay: 500 },
    { attempt: 8, random: 0.5, delay: 15_000 },
    { attempt: 9, random: 0.999, delay: 29_970 },
    { attempt: 50, random: 0.999, delay: 29_970 },
  ])('reconnect delay: attempt $attempt, random $random → $delay ms', ({ attempt, random, delay }) => {
    expect(nextReconnectDelayMs(attempt, () => random)).toBe(delay)
  })

  test('heights arrive as blocks are mined; after the node restarts, it reconnects and resubscribes by itself', async () => {
    const anvil = await startAnvil({ id: 'ws' })
    const heights: number[] = []
    const statuses: string[] = []
    const watcher = watchNewHeads({ nodeId: 'ws', url: anvil.wsUrl, random: () => 0.1 }, {
      onHeight: (height) => heights.push(height),
      onStatus: (status, detail) => statuses.push(detail === undefined ? status : `${status}: ${detail}`),
    })
    try {
      await waitFor(() => statuses.includes('connected'), { what: 'subscription' })
      await anvil.mine(2)
      await waitFor(() => heights.includes(2), { what: 'height 2' })
      await anvil.restart() // fresh chain on the same port
      await waitFor(() => statuses.filter((status) => status === 'connected').length === 2, { what: 'reconnection', timeoutMs: 15_000 })
      await anvil.mine(1)
      await waitFor(() => heights.at(-1) === 1, { what: 'height 1 after restart' })
      expect(statuses).toEqual(['connected', 'disconnected: newHeads subscription to ws lost', 'connected'])
      expect(JSON.stringify(statuses)).not.toContain(String(anvil.port))
    } finally {
      watcher.close()
      await anvil.stop()
    }
  })
})
