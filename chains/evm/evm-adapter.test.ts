import { readFileSync, readdirSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { parseConfig } from '../../test/support/parse-test-config.js'
import type { ChainConfig } from '../../src/config/schema.js'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { NodeClient } from '../../src/upstream/node-client.js'
import { type FakeNode, type FakeReply, startFakeNode } from '../../test/support/fake-node.js'
import { createEvmAdapter } from './evm-adapter.js'

const chainConfig = (chainId: number, genesisHash?: string): ChainConfig =>
  parseConfig({ chains: { eth: { family: 'evm', chainId, ...(genesisHash === undefined ? {} : { genesisHash }), nodes: [{ id: 'x', url: 'http://127.0.0.1:1' }] } } }, {})
    .chains.eth!
const adapterFor = (chainId: number, genesisHash?: string) => createEvmAdapter(chainConfig(chainId, genesisHash))
const context = { timeoutMs: 2_000, maxLagBlocks: 3 }

/**
 * SIGSTOP takes effect thread by thread as each is scheduled: a request sent right after kill()
 * can still be answered. Stopped means every thread of the process is in state T (Linux /proc).
 */
const isFrozen = (pid: number): boolean =>
  readdirSync(`/proc/${pid}/task`).every((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'T'
  })

const clients: NodeClient[] = []
const clientFor = (nodeId: string, url: string): NodeClient => {
  const client = new NodeClient({ nodeId, url, version: '2.0' })
  clients.push(client)
  return client
}
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()))
})

describe('probe against real anvil', () => {
  let anvil: AnvilNode | undefined
  let otherChain: AnvilNode | undefined
  beforeAll(async () => {
    ;[anvil, otherChain] = await Promise.all([startAnvil({ id: 'eth-a' }), startAnvil({ id: 'eth-other', chainId: 31338 })])
  })
  afterAll(async () => {
    await stopAll([anvil, otherChain])
  })
  const node = (): AnvilNode => anvil!

  test('ok, with the height after mining', async () => {
    const adapter = adapterFor(31337)
    const client = clientFor('eth-a', node().url)
    const before = await adapter.probe(client, context)
    expect(before).toMatchObject({ kind: 'ok', syncing: false })
    await node().mine(7)
    const after = await adapter.probe(client, context)
    expect(after).toMatchObject({ kind: 'ok', syncing: false, height: await node().blockNumber() })
    expect(after.kind === 'ok' && before.kind === 'ok' && after.height - before.height).toBe(7)
    // The batch's latest block: the hash the fork check would look up at that height.
    expect(after.kind === 'ok' && after.headHash).toBe(await adapter.blockHashAt!(client, after.kind === 'ok' ? after.height : -1, context))
    expect(after.kind === 'ok' && after.headHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(after.latencyMs).toBeGreaterThan(0)
  })

  test('blockHashAt is the block\'s hash; a block the node lacks cannot be told', async () => {
    const adapter = adapterFor(31337)
    const client = clientFor('eth-a', node().url)
    await node().mine(1)
    const height = await node().blockNumber()
    const block = (await node().rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { hash: string }
    expect(await adapter.blockHashAt!(client, height, context)).toBe(block.hash.toLowerCase())
    expect(await adapter.blockHashAt!(client, height + 100, context)).toBeUndefined()
  })

  test('another --chain-id is wrong-chain, with the reason in decimal', async () => {
    const observation = await adapterFor(31337).probe(clientFor('eth-other', otherChain!.url), context)
    expect(observation).toMatchObject({ kind: 'wrong-chain', reason: 'reports chain id 31338, expected 31337' })
  })

  test('configured genesis hash: matching (any case) is ok, another is wrong-chain', async () => {
    const genesis = (await node().rpc('eth_getBlockByNumber', ['0x0', false])) as { hash: string }
    const client = clientFor('eth-a', node().url)
    const upper = `0x${genesis.hash.slice(2).toUpperCase()}`
    expect(await adapterFor(31337, upper).probe(client, context)).toMatchObject({ kind: 'ok' })
    expect(await adapterFor(31337, genesis.hash.slice(2)).probe(client, context)).toMatchObject({ kind: 'ok' })
    const wrong = await adapterFor(31337, `0x${'11'.repeat(32)}`).probe(client, context)
    expect(wrong).toMatchObject({
      kind: 'wrong-chain',
      reason: `genesis ${genesis.hash.slice(0, 10)}…${genesis.hash.slice(-4)} is not the configured 0x11111111…1111`,
    })
  })

  test('a frozen (SIGSTOP) process times out, and is ok again once continued', async () => {
    const adapter = adapterFor(31337)
    const client = clientFor('eth-a', node().url)
    node().signal('SIGSTOP')
    try {
      await waitFor(() => isFrozen(node().pid), { what: 'anvil to stop' })
      const observation = await adapter.probe(client, { ...context, timeoutMs: 200 })
      expect(observation).toMatchObject({ kind: 'failed', failure: { kind: 'timeout', message: 'node eth-a did not answer within 200 ms' } })
      expect(observation.latencyMs).toBeGreaterThanOrEqual(190)
    } finally {
      node().signal('SIGCONT')
    }
    expect(await adapter.probe(client, context)).toMatchObject({ kind: 'ok' })
  })

  test('a closed port is a connect failure', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const observation = await adapterFor(31337).probe(clientFor('gone', url), context)
    expect(observation).toMatchObject({ kind: 'failed', failure: { kind: 'connect', message: 'node gone connection failed: ECONNREFUSED' } })
  })

  test('watchHeads: heights pushed over the node wsUrl; no watcher without one', async () => {
    const adapter = adapterFor(31337)
    const base = { id: 'eth-a', url: node().url, weight: 1, batch: true }
    expect(adapter.watchHeads?.(base, { onHeight: () => undefined })).toBeUndefined()
    const heights: number[] = []
    const watcher = adapter.watchHeads?.({ ...base, wsUrl: node().wsUrl }, { onHeight: (height) => heights.push(height) })
    expect(watcher).toBeDefined()
    try {
      // The subscription may start after the first block: mine until one is pushed.
      await waitFor(
        async () => {
          await node().mine(1)
          return heights.length > 0
        },
        { everyMs: 100, what: 'a pushed height' },
      )
      expect(heights.at(-1)).toBeLessThanOrEqual(await node().blockNumber())
    } finally {
      watcher?.close()
    }
  })
})

describe('probe replies real anvil cannot give', () => {
  let fake: (FakeNode & { setHeight(height: number): void }) | undefined
  let client: NodeClient
  beforeAll(async () => {
    fake = await startFakeNode({ chainId: 1, height: 50 })
    client = clientFor('f', fake.url)
  })
  afterAll(async () => {
    await fake?.close()
  })
  afterEach(() => {
    fake!.on('eth_chainId', { result: '0x1' })
    fake!.on('eth_blockNumber', { result: '0x32' })
    fake!.on('eth_syncing', { result: false })
  })

  test.each<{ reply: unknown; syncing: boolean; reason?: string }>([
    { reply: false, syncing: false },
    { reply: null, syncing: false },
    { reply: { startingBlock: '0x0', currentBlock: '0x5', highestBlock: '0x64' }, syncing: true, reason: 'eth_syncing: block 5 of 100' },
    { reply: { currentBlock: 5 }, syncing: true, reason: 'eth_syncing: in progress' },
    { reply: true, syncing: true, reason: 'eth_syncing: true' },
  ])('eth_syncing $reply → syncing $syncing', async ({ reply, syncing, reason }) => {
    fake!.on('eth_syncing', { result: reply })
    const observation = await adapterFor(1).probe(client, context)
    expect(observation).toEqual({ kind: 'ok', height: 50, syncing, ...(reason === undefined ? {} : { syncingReason: reason }), latencyMs: expect.any(Number), headHash: `0x${'32'.padStart(64, '0')}` })
  })

  test.each<{ name: string; reply: FakeReply }>([
    { name: 'no such block (null)', reply: { result: null } },
    { name: 'an error', reply: { error: { code: -32000, message: 'header not found' } } },
    { name: 'a block without a hash', reply: { result: { number: '0x5' } } },
    { name: 'a malformed hash', reply: { result: { hash: '0x1234' } } },
    { name: 'HTTP 503', reply: { status: 503, body: 'busy' } },
  ])('blockHashAt cannot tell from $name', async ({ reply }) => {
    fake!.on('eth_getBlockByNumber', reply)
    try {
      expect(await adapterFor(1).blockHashAt!(client, 5, context)).toBeUndefined()
    } finally {
      fake!.on('eth_getBlockByNumber', () => undefined)
    }
  })

  test.each<{ name: string; method: string; reply: FakeReply; message: string }>([
    { name: 'error answer to eth_blockNumber', method: 'eth_blockNumber', reply: { error: { code: -32000, message: 'warming up' } }, message: 'node f answered eth_blockNumber with error -32000: warming up' },
    { name: 'error answer to eth_chainId', method: 'eth_chainId', reply: { error: { code: -32601, message: 'no such method' } }, message: 'node f answered eth_chainId with error -32601: no such method' },
    { name: 'error answer to eth_syncing', method: 'eth_syncing', reply: { error: { code: -32603, message: 'internal' } }, message: 'node f answered eth_syncing with error -32603: internal' },
    { name: 'non-hex height', method: 'eth_blockNumber', reply: { result: 'lots' }, message: 'node f sent an invalid eth_blockNumber result' },
    { name: 'numeric height', method: 'eth_blockNumber', reply: { result: 50 }, message: 'node f sent an invalid eth_blockNumber result' },
    { name: 'non-hex chain id', method: 'eth_chainId', reply: { result: 12 }, message: 'node f sent an invalid eth_chainId result' },
    { name: 'string eth_syncing', method: 'eth_syncing', reply: { result: 'yes' }, message: 'node f sent an invalid eth_syncing result' },
  ])('$name → failed bad-response', async ({ method, reply, message }) => {
    fake!.on(method, reply)
    expect(await adapterFor(1).probe(client, context)).toMatchObject({ kind: 'failed', failure: { kind: 'bad-response', message } })
  })

  test('a node without block 0 fails the genesis check', async () => {
    fake!.on('eth_getBlockByNumber', { result: null })
    expect(await adapterFor(1, `0x${'22'.repeat(32)}`).probe(client, context)).toMatchObject({
      kind: 'wrong-chain',
      reason: 'genesis (none) is not the configured 0x22222222…2222',
    })
  })

  test('the genesis block is only asked for when a genesisHash is configured', async () => {
    const blocks: unknown[] = []
    fake!.on('eth_getBlockByNumber', (_method, params) => {
      blocks.push(Array.isArray(params) ? params[0] : params)
      return undefined
    })
    try {
      const before = fake!.calls.length
      await adapterFor(1).probe(client, context)
      expect(fake!.calls.slice(before).sort()).toEqual(['eth_blockNumber', 'eth_chainId', 'eth_getBlockByNumber', 'eth_syncing'])
      expect(blocks).toEqual(['latest'])
      await adapterFor(1, `0x${'00'.repeat(32)}`).probe(client, context)
      expect(blocks).toEqual(['latest', '0x0', 'latest'])
    } finally {
      fake!.on('eth_getBlockByNumber', () => undefined)
    }
  })

  test.each<{ name: string; reply: FakeReply }>([
    { name: 'a block mined between the calls (latest is another height)', reply: { result: { number: '0x33', hash: `0x${'33'.padStart(64, '0')}` } } },
    { name: 'an error', reply: { error: { code: -32000, message: 'header not found' } } },
    { name: 'null', reply: { result: null } },
    { name: 'a malformed hash', reply: { result: { number: '0x32', hash: '0x1234' } } },
  ])('the latest block in the batch gives no head hash, and never fails the probe, on $name', async ({ reply }) => {
    fake!.on('eth_getBlockByNumber', reply)
    try {
      const observation = await adapterFor(1).probe(client, context)
      expect(observation).toMatchObject({ kind: 'ok', height: 50 })
      expect(observation.kind === 'ok' && observation.headHash).toBeUndefined()
    } finally {
      fake!.on('eth_getBlockByNumber', () => undefined)
    }
  })
})

describe('probe requests: one JSON-RPC batch a probe', () => {
  const fakes: FakeNode[] = []
  afterAll(async () => {
    await Promise.all(fakes.map((fake) => fake.close()))
  })
  const fakeNode = async (options: Parameters<typeof startFakeNode>[0]) => {
    const fake = await startFakeNode(options)
    fakes.push(fake)
    return fake
  }
  /** HTTP requests the fake received (one authorization entry per request). */
  const requests = (fake: FakeNode) => fake.authorizations.length

  test('a node that takes batches gets the probe in one request', async () => {
    const fake = await fakeNode({ chainId: 1, height: 9 })
    const client = clientFor('batching', fake.url)
    expect(await adapterFor(1).probe(client, context)).toMatchObject({ kind: 'ok', height: 9, syncing: false })
    expect(await adapterFor(1, `0x${'11'.repeat(32)}`).probe(client, context)).toMatchObject({ kind: 'wrong-chain' })
    expect(requests(fake)).toBe(2)
    // The latest block rides along in each batch (its hash is the fork check's at the node's height).
    expect(fake.calls).toEqual(['eth_chainId', 'eth_blockNumber', 'eth_syncing', 'eth_getBlockByNumber', 'eth_chainId', 'eth_blockNumber', 'eth_syncing', 'eth_getBlockByNumber', 'eth_getBlockByNumber'])
  })

  test('a node that refuses batches is probed call by call, and not asked for a batch again', async () => {
    const fake = await fakeNode({ chainId: 1, height: 9, batches: false })
    const client = clientFor('no-batches', fake.url)
    const adapter = adapterFor(1)
    expect(await adapter.probe(client, context)).toMatchObject({ kind: 'ok', height: 9 })
    const second = await adapter.probe(client, context)
    expect(second).toMatchObject({ kind: 'ok', height: 9 })
    expect(fake.calls.filter((call) => call === '(batch)')).toHaveLength(1)
    // The refused batch's calls, then the probe's three; call by call the latest block is not asked
    // (one more request a probe to spare one look-up a round), and there is no head hash.
    expect(requests(fake)).toBe(1 + 4 + 3)
    expect(second.kind === 'ok' && second.headHash).toBeUndefined()
  })

  test('a node configured without batches (nodes[].batch false) is probed call by call though it takes them', async () => {
    const fake = await fakeNode({ chainId: 1, height: 9 })
    const observation = await adapterFor(1).probe(clientFor('batch-off', fake.url), { ...context, batches: false })
    expect(observation).toMatchObject({ kind: 'ok', height: 9, syncing: false })
    expect(fake.calls).toEqual(['eth_chainId', 'eth_blockNumber', 'eth_syncing'])
    expect(requests(fake)).toBe(3)
  })

  test('a batch that times out fails the probe with the timeout, without trying call by call', async () => {
    const fake = await fakeNode({ chainId: 1, height: 9 })
    fake.on('eth_syncing', { hang: true })
    const observation = await adapterFor(1).probe(clientFor('hanging-batch', fake.url), { ...context, timeoutMs: 200 })
    expect(observation).toMatchObject({ kind: 'failed', failure: { kind: 'timeout', message: 'node hanging-batch did not answer within 200 ms' } })
    expect(requests(fake)).toBe(1)
  })

  test('an HTTP 503 for the batch is the node unavailable: failed, no call-by-call retry', async () => {
    const fake = await fakeNode({ chainId: 1, height: 9 })
    fake.on('eth_blockNumber', { status: 503, body: 'busy' })
    expect(await adapterFor(1).probe(clientFor('busy-batch', fake.url), context)).toMatchObject({ kind: 'failed', failure: { kind: 'http-status', httpStatus: 503 } })
    expect(requests(fake)).toBe(1)
  })
})

describe('adapter surface', () => {
  test('identity and method policy', () => {
    const adapter = adapterFor(1)
    expect(adapter.family).toBe('evm')
    expect(adapter.upstreamVersion).toBe('2.0')
    expect(adapter.classifyMethod('eth_sendRawTransaction')).toBe('broadcast')
    expect(adapter.requiredHeight({ method: 'eth_getBlockByNumber', params: ['0x10', false] })).toBe(16)
    expect(adapter.classifyError({ method: 'eth_getBlockByNumber', params: ['0x10', false] }, { code: -32000, message: 'header not found' })).toBe('behind')
    expect(adapter.callCost({ method: 'eth_getLogs', params: [{}] })).toBe('heavy')
  })

  test.each([
    [1, '0x1'],
    [137, '0x89'],
    [31337, '0x7a69'],
  ])('eth_chainId is answered locally: %i → %s', (chainId, hex) => {
    const adapter = adapterFor(chainId)
    expect(adapter.classifyMethod('eth_chainId')).toBe('local')
    expect(adapter.answerLocally({ method: 'eth_chainId', params: [] })).toEqual({ result: hex })
    expect(adapter.answerLocally({ method: 'eth_blockNumber', params: [] })).toBeUndefined()
  })

  test('a chain without chainId is a config error', () => {
    expect(() => createEvmAdapter({ ...chainConfig(1), chainId: undefined })).toThrow('evm chain "eth" needs a chainId')
  })
})
