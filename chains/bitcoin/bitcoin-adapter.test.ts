import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { ChainAdapter } from '../../src/chain-adapter.js'
import { parseConfig } from '../../test/support/parse-test-config.js'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { freePort } from '../../src/devnet/free-port.js'
import { NodeClient } from '../../src/upstream/node-client.js'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'
import { chainReplyStyle, createBitcoinAdapter, readBlockchainInfo, readChainFacts, readIndexInfo, readReplyStyle } from './bitcoin-adapter.js'

const REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'

function adapterFor(chain: { network?: string; genesisHash?: string }): ChainAdapter {
  const config = parseConfig({ chains: { btc: { family: 'bitcoin', ...chain, nodes: [{ id: 'x', url: 'http://127.0.0.1:1' }] } } }, {})
  return createBitcoinAdapter(config.chains.btc!)
}

const regtest = adapterFor({ network: 'regtest' })
const context = { timeoutMs: 2_000, maxLagBlocks: 1 }

const clients: NodeClient[] = []
function client(nodeId: string, url: string): NodeClient {
  const created = new NodeClient({ nodeId, url, version: '1.0' })
  clients.push(created)
  return created
}
afterAll(async () => {
  await Promise.all(clients.map((created) => created.close()))
})

test('the adapter speaks JSON-RPC 1.0 and answers nothing locally', () => {
  expect(regtest.family).toBe('bitcoin')
  expect(regtest.upstreamVersion).toBe('1.0')
  expect(regtest.answerLocally({ method: 'getblockcount', params: [] })).toBeUndefined()
  expect(regtest.watchHeads).toBeUndefined()
})

describe('probe against real bcoin', () => {
  const nodes: BcoinNode[] = []
  let node: BcoinNode
  let testnetNode: BcoinNode
  beforeAll(async () => {
    // Pushed as each starts, so afterAll stops whatever started even if the other one failed.
    const start = async (options: Parameters<typeof startBcoin>[0]): Promise<BcoinNode> => {
      const started = await startBcoin(options)
      nodes.push(started)
      return started
    }
    ;[node, testnetNode] = await Promise.all([start({ id: 'regtest' }), start({ id: 'testnet', network: 'testnet' })])
  })
  afterAll(async () => {
    await Promise.all(nodes.map((started) => started.stop()))
  })

  test('a regtest node probes ok at its height', async () => {
    expect(await regtest.probe(client('regtest', node.url), context)).toMatchObject({ kind: 'ok', height: 0, syncing: false })
    await node.generate(4)
    const observation = await regtest.probe(client('regtest', node.url), context)
    expect(observation).toMatchObject({ kind: 'ok', height: 4, syncing: false, syncingReason: undefined })
    expect(observation.latencyMs).toBeGreaterThan(0)
  })

  test('a testnet node is wrong-chain for a regtest config, and says which network it is on', async () => {
    expect(await regtest.probe(client('testnet', testnetNode.url), context)).toMatchObject({
      kind: 'wrong-chain',
      reason: 'genesis 000000000933…7f4943 (testnet3) is not regtest (0f9188f13cb7…6e2206)',
    })
  })

  test('wrong credentials are a node failure (HTTP 401), not a chain verdict', async () => {
    const url = new URL(node.url)
    url.password = 'wrong'
    expect(await regtest.probe(client('regtest', url.toString()), context)).toMatchObject({ kind: 'failed', failure: { kind: 'http-status', httpStatus: 401 } })
  })

  test('a stopped (SIGSTOP) node times out', async () => {
    node.signal('SIGSTOP')
    try {
      expect(await regtest.probe(client('regtest', node.url), { ...context, timeoutMs: 200 })).toMatchObject({
        kind: 'failed',
        failure: { kind: 'timeout', message: 'node regtest did not answer within 200 ms' },
      })
    } finally {
      node.signal('SIGCONT')
    }
  })
})

test('a closed port is a connect failure', async () => {
  const port = await freePort()
  expect(await regtest.probe(client('gone', `http://x:y@127.0.0.1:${port}/`), context)).toMatchObject({
    kind: 'failed',
    failure: { kind: 'connect', message: 'node gone connection failed: ECONNREFUSED' },
  })
})

describe('probe replies bcoin cannot give (fake Core node)', () => {
  let fake: FakeNode
  beforeAll(async () => {
    fake = await startFakeNode({ version: '1.0', genesisHash: REGTEST_GENESIS })
  })
  afterAll(async () => {
    await fake.close()
  })

  test.each<{ name: string; method: string; reply: Parameters<FakeNode['on']>[1]; message: string }>([
    {
      name: 'Core warm-up (-28)',
      method: 'getblockchaininfo',
      reply: { error: { code: -28, message: 'Loading block index…' } },
      message: 'node core answered getblockchaininfo with error -28: Loading block index…',
    },
    {
      name: 'getblockhash 0 error',
      method: 'getblockhash',
      reply: { error: { code: -28, message: 'Verifying blocks…' } },
      message: 'node core answered getblockhash 0 with error -28: Verifying blocks…',
    },
    { name: 'genesis hash not a string', method: 'getblockhash', reply: { result: 42 }, message: 'node core sent an invalid block 0 hash' },
    { name: 'genesis hash not 32 bytes of hex', method: 'getblockhash', reply: { result: 'f00' }, message: 'node core sent an invalid block 0 hash' },
    { name: 'blockchain info without blocks', method: 'getblockchaininfo', reply: { result: { headers: 5 } }, message: 'node core: getblockchaininfo has no valid "blocks"' },
    { name: 'blockchain info not an object', method: 'getblockchaininfo', reply: { result: null }, message: 'node core: getblockchaininfo returned no object' },
  ])('$name → failed bad-response', async ({ method, reply, message }) => {
    fake.on(method, reply)
    try {
      expect(await regtest.probe(client('core', fake.url), context)).toMatchObject({ kind: 'failed', failure: { kind: 'bad-response', message } })
    } finally {
      // A handler answering undefined falls back to the fake's defaults: a healthy node at height 100.
      fake.on(method, () => undefined)
    }
  })

  test('Core in initial block download is ok but syncing', async () => {
    fake.on('getblockchaininfo', { result: { blocks: 800, headers: 900_000, initialblockdownload: true, verificationprogress: 0.01 } })
    try {
      expect(await regtest.probe(client('core', fake.url), context)).toMatchObject({ kind: 'ok', height: 800, syncing: true, syncingReason: 'initial block download' })
    } finally {
      fake.on('getblockchaininfo', () => undefined)
    }
  })

  test('genesis check runs against the preset, an explicit genesisHash, or its label', async () => {
    expect(await adapterFor({ network: 'mainnet' }).probe(client('core', fake.url), context)).toMatchObject({
      kind: 'wrong-chain',
      reason: 'genesis 0f9188f13cb7…6e2206 (regtest) is not mainnet (000000000019…8ce26f)',
    })
    expect(await adapterFor({ genesisHash: 'ab'.repeat(32) }).probe(client('core', fake.url), context)).toMatchObject({
      kind: 'wrong-chain',
      reason: 'genesis 0f9188f13cb7…6e2206 (regtest) is not the configured genesis (abababababab…ababab)',
    })
    // Upper-case genesis from the node still matches.
    fake.on('getblockhash', { result: REGTEST_GENESIS.toUpperCase() })
    try {
      expect(await adapterFor({ genesisHash: `0x${REGTEST_GENESIS}` }).probe(client('core', fake.url), context)).toMatchObject({ kind: 'ok', height: 100 })
    } finally {
      fake.on('getblockhash', () => undefined)
    }
  })
})

describe('readBlockchainInfo', () => {
  test.each<{ name: string; info: unknown; expected: ReturnType<typeof readBlockchainInfo> }>([
    { name: 'Core in sync', info: { blocks: 100, headers: 100, initialblockdownload: false }, expected: { ok: true, height: 100, syncing: false } },
    { name: 'Core in IBD', info: { blocks: 10, headers: 900_000, initialblockdownload: true }, expected: { ok: true, height: 10, syncing: true, reason: 'initial block download' } },
    { name: 'headers far ahead', info: { blocks: 100, headers: 120, initialblockdownload: false }, expected: { ok: true, height: 100, syncing: true, reason: 'headers 120 ahead of blocks 100' } },
    { name: 'headers one ahead (within lag)', info: { blocks: 100, headers: 101 }, expected: { ok: true, height: 100, syncing: false } },
    { name: 'headers behind blocks', info: { blocks: 100, headers: 0 }, expected: { ok: true, height: 100, syncing: false } },
    { name: 'bcoin at genesis (no IBD field, progress 0)', info: { chain: 'regtest', blocks: 0, headers: 0, verificationprogress: 0 }, expected: { ok: true, height: 0, syncing: false } },
    { name: 'missing blocks', info: { headers: 5 }, expected: { ok: false, message: 'getblockchaininfo has no valid "blocks"' } },
    { name: 'blocks as a string', info: { blocks: '5' }, expected: { ok: false, message: 'getblockchaininfo has no valid "blocks"' } },
    { name: 'negative blocks', info: { blocks: -1 }, expected: { ok: false, message: 'getblockchaininfo has no valid "blocks"' } },
    { name: 'not an object', info: 'hello', expected: { ok: false, message: 'getblockchaininfo returned no object' } },
  ])('$name', ({ info, expected }) => {
    expect(readBlockchainInfo(info, 1)).toEqual(expected)
  })

  test('the lag threshold is the chain\'s', () => {
    expect(readBlockchainInfo({ blocks: 100, headers: 120 }, 20)).toEqual({ ok: true, height: 100, syncing: false })
    expect(readBlockchainInfo({ blocks: 100, headers: 121 }, 20)).toMatchObject({ syncing: true })
  })
})

describe('fork check and capabilities against real bcoin', () => {
  let node: BcoinNode | undefined
  beforeAll(async () => {
    node = await startBcoin({ id: 'caps' })
  })
  afterAll(async () => {
    await node?.stop()
  })

  test('blockHashAt is getblockhash; a height the node lacks cannot be told', async () => {
    const [hash] = await node!.generate(1)
    const caller = client('caps', node!.url)
    expect(await regtest.blockHashAt!(caller, 1, context)).toBe(hash)
    expect(await regtest.blockHashAt!(caller, 0, context)).toBe(REGTEST_GENESIS)
    expect(await regtest.blockHashAt!(caller, 50, context)).toBeUndefined()
  })

  test('the probe carries chainwork, pruning and the tip hash (bestblockhash) from getblockchaininfo', async () => {
    const caller = client('caps', node!.url)
    const observation = await regtest.probe(caller, context)
    expect(observation).toMatchObject({ kind: 'ok', pruned: false, chainwork: expect.stringMatching(/^[0-9a-f]{64}$/) })
    // The hash the fork check would look up at the node's height.
    expect(observation.kind === 'ok' && observation.headHash).toBe(await regtest.blockHashAt!(caller, observation.kind === 'ok' ? observation.height : -1, context))
    expect(observation.kind === 'ok' && observation.headHash).toMatch(/^[0-9a-f]{64}$/)
  })

  test('bcoin has no getindexinfo: txindex cannot be told', async () => {
    expect(await regtest.probeTxIndex!(client('caps', node!.url), context)).toBeUndefined()
  })
})

describe('capabilities from Bitcoin Core replies (fake node)', () => {
  let fake: FakeNode | undefined
  beforeAll(async () => {
    fake = await startFakeNode({ genesisHash: REGTEST_GENESIS, version: '1.0', height: 100 })
  })
  afterAll(async () => {
    await fake?.close()
  })

  test.each<{ name: string; reply: Parameters<FakeNode['on']>[1]; txindex: boolean | undefined }>([
    { name: 'Core without -txindex answers {}', reply: { result: {} }, txindex: false },
    { name: 'Core with -txindex', reply: { result: { txindex: { synced: true, best_block_height: 100 } } }, txindex: true },
    { name: 'Core with only other indexes', reply: { result: { coinstatsindex: { synced: true, best_block_height: 100 } } }, txindex: false },
    { name: 'Core before 0.21: method not found', reply: { error: { code: -32601, message: 'Method not found' } }, txindex: undefined },
    { name: 'a failing node', reply: { status: 503, body: 'Work queue depth exceeded' }, txindex: undefined },
  ])('$name → txindex $txindex', async ({ reply, txindex }) => {
    fake!.on('getindexinfo', reply)
    expect(await regtest.probeTxIndex!(client('core', fake!.url), context)).toBe(txindex)
  })

  test('a pruned Core node reports its prune height in the probe', async () => {
    fake!.on('getblockchaininfo', { result: { chain: 'regtest', blocks: 100, headers: 100, initialblockdownload: false, chainwork: '00'.repeat(31) + 'ca', pruned: true, pruneheight: 42 } })
    try {
      expect(await regtest.probe(client('core', fake!.url), context)).toMatchObject({ kind: 'ok', height: 100, pruned: true, pruneHeight: 42, chainwork: '00'.repeat(31) + 'ca' })
    } finally {
      fake!.on('getblockchaininfo', () => undefined)
    }
  })

  test('bestblockhash is the head hash (lower case); one that is not a block hash gives none, and the probe is still ok', async () => {
    fake!.on('getblockchaininfo', { result: { chain: 'regtest', blocks: 100, headers: 100, initialblockdownload: false, bestblockhash: 'AB'.repeat(32) } })
    try {
      expect(await regtest.probe(client('core', fake!.url), context)).toMatchObject({ kind: 'ok', height: 100, headHash: 'ab'.repeat(32) })
      fake!.on('getblockchaininfo', { result: { chain: 'regtest', blocks: 100, headers: 100, initialblockdownload: false, bestblockhash: 'tip' } })
      const observation = await regtest.probe(client('core', fake!.url), context)
      expect(observation).toMatchObject({ kind: 'ok', height: 100 })
      expect(observation.kind === 'ok' && observation.headHash).toBeUndefined()
    } finally {
      fake!.on('getblockchaininfo', () => undefined)
    }
  })

  test('blockHashAt: an error or garbage cannot be told', async () => {
    fake!.on('getblockhash', { error: { code: -8, message: 'Block height out of range' } })
    expect(await regtest.blockHashAt!(client('core', fake!.url), 500, context)).toBeUndefined()
    fake!.on('getblockhash', { result: 'not a hash' })
    expect(await regtest.blockHashAt!(client('core', fake!.url), 5, context)).toBeUndefined()
    fake!.on('getblockhash', () => undefined)
  })
})

describe('readChainFacts / readIndexInfo', () => {
  test.each<{ name: string; info: unknown; facts: ReturnType<typeof readChainFacts> }>([
    { name: 'unpruned with chainwork', info: { chainwork: 'ABCD', pruned: false }, facts: { chainwork: 'abcd', pruned: false } },
    { name: 'pruned with height', info: { pruned: true, pruneheight: 1000 }, facts: { pruned: true, pruneHeight: 1000 } },
    { name: 'prune height ignored when not pruned', info: { pruned: false, pruneheight: 1000 }, facts: { pruned: false } },
    { name: 'odd fields are left out', info: { chainwork: 'zz', pruned: 'yes', pruneheight: -1 }, facts: {} },
    { name: 'not an object', info: null, facts: {} },
  ])('$name', ({ info, facts }) => {
    expect(readChainFacts(info)).toEqual(facts)
  })

  test.each<{ result: unknown; txindex: boolean | undefined }>([
    { result: {}, txindex: false },
    { result: { txindex: { synced: false, best_block_height: 5 } }, txindex: true },
    { result: null, txindex: undefined },
    { result: [], txindex: undefined },
  ])('getindexinfo $result → $txindex', ({ result, txindex }) => {
    expect(readIndexInfo(result)).toBe(txindex)
  })
})

describe('reply style (JSON-RPC 2.0 reply shape)', () => {
  test.each([
    { name: 'Core 28.0', info: { version: 280000, subversion: '/Satoshi:28.0.0/' }, style: 'strict' },
    { name: 'Core 29.1', info: { version: 290100, subversion: '/Satoshi:29.1.0/' }, style: 'strict' },
    { name: 'Core 27.2', info: { version: 270200, subversion: '/Satoshi:27.2.0/' }, style: 'legacy' },
    { name: 'Dogecoin Core 1.14 (0.14-based, a larger number)', info: { version: 1140700, subversion: '/Shibetoshi:1.14.7/' }, style: 'legacy' },
    { name: 'Litecoin Core 0.21', info: { version: 210300, subversion: '/LitecoinCore:0.21.3/' }, style: 'legacy' },
    { name: 'Bitcoin Cash Node 28 (no 2.0 mode)', info: { version: 28000000, subversion: '/Bitcoin Cash Node:28.0.0(EB32.0)/' }, style: 'legacy' },
    { name: 'bcoin (string version)', info: { version: 'v1.0.2', subversion: '/bcoin:v1.0.2/' }, style: 'legacy' },
    { name: 'bcoin by subversion alone', info: { subversion: '/bcoin:2.2.0/' }, style: 'legacy' },
    { name: 'Core without a subversion', info: { version: 280000 }, style: 'legacy' },
    { name: 'nothing to tell by', info: { connections: 3 }, style: undefined },
    { name: 'not an object', info: 'garbage', style: undefined },
  ])('$name → $style', ({ info, style }) => {
    expect(readReplyStyle(info)).toBe(style)
  })

  test.each([
    { configured: 'legacy', nodes: ['strict', 'strict'], style: 'legacy' },
    { configured: 'strict', nodes: ['legacy'], style: 'strict' },
    { configured: 'auto', nodes: ['strict', 'strict'], style: 'strict' },
    { configured: 'auto', nodes: ['strict', 'legacy'], style: 'legacy' },
    { configured: 'auto', nodes: ['strict', undefined], style: 'legacy' },
    { configured: 'auto', nodes: [], style: 'legacy' },
  ] as const)('$configured over $nodes → $style', ({ configured, nodes, style }) => {
    expect(chainReplyStyle(configured, nodes)).toBe(style)
  })
})
