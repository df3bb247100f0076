/**
 * The read path over a real pool and router with in-memory node transports (no HTTP): pinning,
 * empty-answer confirmation, capability routing and verified reads, decision by decision.
 */
import { describe, expect, test } from 'vitest'
import { createBitcoinAdapter } from '../../chains/bitcoin/bitcoin-adapter.js'
import { createEvmAdapter } from '../../chains/evm/evm-adapter.js'
import type { ChainAdapter } from '../chain-adapter.js'
import { parseConfig } from '../../test/support/parse-test-config.js'
import type { ChainConfig } from '../config/schema.js'
import type { JsonRpcErrorObject, RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import { NodePool, type PoolNode } from '../pool/node-pool.js'
import { type DisagreeEvent, ProxyEvents } from '../proxy-events.js'
import type { CallOutcome, NodeTransport } from '../upstream/node-transport.js'
import { ManualClock } from '../util/clock.js'
import { routeRead } from './read-path.js'
import { Router } from './router.js'

type Script = (call: RpcCall) => RpcAnswer

interface ScriptedNode {
  id: string
  height: number
  script: Script
}

class MemoryTransport implements NodeTransport {
  readonly calls: RpcCall[] = []
  constructor(
    readonly nodeId: string,
    public script: Script,
  ) {}
  async call(call: RpcCall): Promise<CallOutcome> {
    this.calls.push(call)
    return { ok: true, answer: this.script(call), latencyMs: 1 }
  }
  async close(): Promise<void> {}
}

const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const TX = `0x${'cd'.repeat(32)}`
const receipt = (blockNumber: number, status = '0x1') => ({ transactionHash: TX, blockNumber: `0x${blockNumber.toString(16)}`, status })
const notFound = (): RpcAnswer => ({ error: { code: -32601, message: 'not scripted' } })

function harness(family: 'evm' | 'bitcoin', nodes: ScriptedNode[], chainOverrides: Record<string, unknown> = {}) {
  const config = parseConfig({
    chains: {
      c: {
        family,
        ...(family === 'evm' ? { chainId: 1 } : { network: 'regtest' }),
        health: { maxLagBlocks: 3 },
        ...chainOverrides,
        nodes: nodes.map((node) => ({ id: node.id, url: `http://127.0.0.1:1/${node.id}` })),
      },
    },
    journal: { path: ':memory:' },
  })
  const chain: ChainConfig = config.chains.c!
  const transports = new Map(nodes.map((node) => [node.id, new MemoryTransport(node.id, node.script)]))
  const events = new ProxyEvents()
  const pool = new NodePool(chain, transports, events, new ManualClock())
  const adapter: ChainAdapter = family === 'evm' ? createEvmAdapter(chain) : createBitcoinAdapter(chain)
  // random 0 picks the first candidate in config order: each test decides who is asked first.
  const router = new Router(pool, adapter, () => 0)
  const probe = (heights: Record<string, number> = {}) =>
    pool.applyProbeRound(
      nodes.map((node) => ({ node: pool.get(node.id)!, observation: { kind: 'ok' as const, height: heights[node.id] ?? node.height, syncing: false, latencyMs: 1 } })),
    )
  probe()
  const disagreements: DisagreeEvent[] = []
  events.on('read:disagree', (event) => disagreements.push(event))
  return {
    pool,
    probe,
    disagreements,
    node: (id: string): PoolNode => pool.get(id)!,
    sent: (id: string): RpcCall[] => transports.get(id)!.calls,
    read: (call: RpcCall) => routeRead({ pool, router, adapter, events }, call),
  }
}

const evmNode = (id: string, height: number, script: Script = notFound): ScriptedNode => ({
  id,
  height,
  script: (call) => (call.method === 'eth_blockNumber' ? { result: `0x${height.toString(16)}` } : script(call)),
})

describe('monotonic reads', () => {
  test('eth_blockNumber is the read head, whatever the asked node says; a node at that height is asked', async () => {
    const h = harness('evm', [evmNode('ahead1', 11), evmNode('a', 10), evmNode('b', 10), evmNode('lag', 9)])
    const result = await h.read({ method: 'eth_blockNumber', params: [] })
    expect(result).toMatchObject({ ok: true, answer: { result: '0xa' } })
    expect(['ahead1', 'a', 'b']).toContain(result.ok ? result.nodeId : '')
    expect(h.sent('lag')).toEqual([])
  })

  test('latest is sent as the read head’s number, to nodes that have it', async () => {
    const h = harness('evm', [evmNode('lag', 9, () => ({ result: '0x1' })), evmNode('a', 10, () => ({ result: '0x2' }))])
    const result = await h.read({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
    expect(result).toMatchObject({ ok: true, nodeId: 'a', answer: { result: '0x2' } })
    expect(h.sent('a')).toEqual([{ method: 'eth_getBalance', params: [ADDRESS, '0xa'] }])
  })

  test('the read head never goes back when the quorum head does', async () => {
    const balance = () => ({ result: '0x1' })
    const h = harness('evm', [evmNode('a', 10, balance), evmNode('b', 10, balance)])
    h.probe({ a: 12, b: 12 })
    const before = await h.read({ method: 'eth_blockNumber', params: [] })
    expect(before).toMatchObject({ ok: true, answer: { result: '0xc' } })
    // Both restarted lower (a chain reset): no node has 12, so reads are routed as they come.
    h.probe({ a: 11, b: 11 })
    expect(h.pool.readHead).toBe(12)
    const after = await h.read({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
    expect(after.ok).toBe(true)
    expect(h.sent('a').concat(h.sent('b')).at(-1)).toEqual({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
  })

  test('bitcoin getbestblockhash is the hash at the read head', async () => {
    const h = harness('bitcoin', [
      { id: 'x', height: 5, script: (call) => (call.method === 'getblockhash' ? { result: `hash-${String((call.params as unknown[])[0])}` } : notFound()) },
    ])
    expect(await h.read({ method: 'getbestblockhash', params: [] })).toMatchObject({ ok: true, answer: { result: 'hash-5' } })
  })
})

describe('empty answers are confirmed', () => {
  const liar = (height: number) => evmNode('liar', height, () => ({ result: null }))
  const honest = (id: string, height: number, minedAt = 5) =>
    evmNode(id, height, (call) => (call.method === 'eth_getTransactionReceipt' ? { result: receipt(minedAt) } : { result: null }))

  test('a null receipt is asked of one more node; its data wins and the empty node is on record', async () => {
    const h = harness('evm', [liar(10), honest('b', 10)])
    const result = await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })
    expect(result).toMatchObject({ ok: true, nodeId: 'b', answer: { result: receipt(5) }, attempts: 2 })
    expect(h.node('liar').emptyAnswers).toHaveLength(1)
  })

  test('a transaction mined above the empty node’s height is not held against it', async () => {
    const h = harness('evm', [liar(9), honest('b', 10, 10)])
    const result = await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })
    expect(result).toMatchObject({ ok: true, nodeId: 'b' })
    expect(h.node('liar').emptyAnswers).toHaveLength(0)
  })

  test('both empty: the client gets null after exactly two nodes', async () => {
    const h = harness('evm', [liar(10), evmNode('b', 10, () => ({ result: null })), evmNode('c', 10, () => ({ result: null }))])
    const result = await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })
    expect(result).toMatchObject({ ok: true, answer: { result: null }, attempts: 2 })
    expect(h.sent('c')).toEqual([])
  })

  test('a block above the head is not confirmed: "not found" is the truth there', async () => {
    const h = harness('evm', [liar(10), honest('b', 10)])
    const result = await h.read({ method: 'eth_getBlockByNumber', params: ['0x20', false] })
    expect(result).toMatchObject({ ok: true, nodeId: 'liar', answer: { result: null }, attempts: 1 })
  })

  test('routing.confirmEmptyAnswers false passes the first answer', async () => {
    const h = harness('evm', [liar(10), honest('b', 10)], { routing: { confirmEmptyAnswers: false } })
    expect(await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })).toMatchObject({ ok: true, nodeId: 'liar', answer: { result: null } })
  })

  test('bitcoin "Block not found" from one node, the header from another', async () => {
    const header = { hash: 'bb', height: 3, confirmations: 3 }
    const h = harness('bitcoin', [
      { id: 'liar', height: 5, script: () => ({ error: { code: -5, message: 'Block not found' } }) },
      { id: 'b', height: 5, script: (call) => (call.method === 'getblockheader' ? { result: header } : notFound()) },
    ])
    expect(await h.read({ method: 'getblockheader', params: ['bb'] })).toMatchObject({ ok: true, nodeId: 'b', answer: { result: header } })
    expect(h.node('liar').emptyAnswers).toHaveLength(1)
  })
})

describe('capability routing', () => {
  const TXID = 'ab'.repeat(32)
  test('getrawtransaction prefers -txindex nodes', async () => {
    const h = harness('bitcoin', [
      { id: 'plain', height: 5, script: () => ({ error: { code: -5, message: 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries.' } }) },
      { id: 'indexed', height: 5, script: () => ({ result: '0100' }) },
    ])
    h.node('indexed').capabilities.txindex = true
    h.node('plain').capabilities.txindex = false
    expect(await h.read({ method: 'getrawtransaction', params: [TXID] })).toMatchObject({ ok: true, nodeId: 'indexed', attempts: 1 })
  })

  test('a "Use -txindex" answer sends the call on to a node that may have the index', async () => {
    const h = harness('bitcoin', [
      { id: 'plain', height: 5, script: () => ({ error: { code: -5, message: 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries.' } }) },
      { id: 'unknown', height: 5, script: () => ({ result: '0100' }) },
    ])
    expect(await h.read({ method: 'getrawtransaction', params: [TXID] })).toMatchObject({ ok: true, nodeId: 'unknown', answer: { result: '0100' }, attempts: 2 })
  })

  test('"Block not available (pruned data)" goes to an unpruned node; getblockstats below the prune height avoids the pruned node', async () => {
    const pruned: JsonRpcErrorObject = { code: -1, message: 'Block not available (pruned data)' }
    const h = harness('bitcoin', [
      { id: 'pruned', height: 500, script: () => ({ error: pruned }) },
      { id: 'full', height: 500, script: () => ({ result: { ok: true } }) },
    ])
    expect(await h.read({ method: 'getblock', params: ['cc'.repeat(32)] })).toMatchObject({ ok: true, nodeId: 'full', attempts: 2 })
    Object.assign(h.node('pruned').capabilities, { pruned: true, pruneHeight: 300 })
    expect(await h.read({ method: 'getblockstats', params: [100] })).toMatchObject({ ok: true, nodeId: 'full', attempts: 1 })
  })

  test('a node that lacks old state is asked no more below that height', async () => {
    const missing: RpcAnswer = { error: { code: -32000, message: 'missing trie node abc (path ) state 0x1 is not available' } }
    const h = harness('evm', [evmNode('recent', 300, () => missing), evmNode('archive', 300, () => ({ result: '0x5' }))])
    expect(await h.read({ method: 'eth_getBalance', params: [ADDRESS, '0x10'] })).toMatchObject({ ok: true, nodeId: 'archive', answer: { result: '0x5' } })
    expect(h.node('recent').capabilities.stateMissingBelow).toBe(17)
    const asked = h.sent('recent').length
    expect(await h.read({ method: 'eth_getBalance', params: [ADDRESS, '0x8'] })).toMatchObject({ ok: true, nodeId: 'archive', attempts: 1 })
    expect(h.sent('recent')).toHaveLength(asked)
  })

  test('old state goes to archive nodes first', async () => {
    const h = harness('evm', [evmNode('full', 300, () => ({ result: '0x1' })), evmNode('archive', 300, () => ({ result: '0x1' }))])
    h.node('archive').capabilities.archive = true
    expect(await h.read({ method: 'eth_getBalance', params: [ADDRESS, '0x10'] })).toMatchObject({ ok: true, nodeId: 'archive' })
    expect(await h.read({ method: 'eth_getBalance', params: [ADDRESS, '0x12c'] })).toMatchObject({ ok: true, nodeId: 'full' })
  })
})

describe('verified reads', () => {
  const verify = { verify: { methods: ['eth_getTransactionReceipt'], agree: 2 } }
  const withReceipt = (id: string, status = '0x1') => evmNode(id, 10, () => ({ result: receipt(5, status) }))

  test('two agreeing nodes: their answer, one extra call', async () => {
    const h = harness('evm', [withReceipt('a'), withReceipt('b'), withReceipt('c')], verify)
    expect(await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })).toMatchObject({ ok: true, answer: { result: receipt(5) }, attempts: 2 })
    expect(h.disagreements).toEqual([])
  })

  test('a tampered answer among three: the agreed one, the tamperer disputed', async () => {
    const h = harness('evm', [withReceipt('tampered', '0x0'), withReceipt('a'), withReceipt('b')], verify)
    const result = await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })
    expect(result).toMatchObject({ ok: true, answer: { result: receipt(5) }, attempts: 3 })
    expect(h.node('tampered').disputes).toHaveLength(1)
    expect(h.disagreements).toMatchObject([{ chain: 'c', method: 'eth_getTransactionReceipt', minority: ['tampered'] }])
  })

  test('two nodes disagreeing: SY_NODES_DISAGREE with each answer’s hash, never an answer', async () => {
    const h = harness('evm', [withReceipt('tampered', '0x0'), withReceipt('a')], verify)
    const result = await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error.code).toBe('SY_NODES_DISAGREE')
    const data = result.error.toJsonRpcError().data as { answers: Array<{ nodeId: string; hash: string }> }
    expect(data.answers.map((answer) => answer.nodeId).sort()).toEqual(['a', 'tampered'])
    expect(new Set(data.answers.map((answer) => answer.hash)).size).toBe(2)
    expect(h.disagreements).toMatchObject([{ minority: [] }])
  })

  test('fewer routable nodes than agree: SY_NO_ROUTABLE_NODE, no node asked', async () => {
    const h = harness('evm', [withReceipt('a'), withReceipt('b')], verify)
    h.pool.cordon(h.node('b'), 'maintenance')
    const result = await h.read({ method: 'eth_getTransactionReceipt', params: [TX] })
    expect(result).toMatchObject({ ok: false, attempts: 0, error: { code: 'SY_NO_ROUTABLE_NODE' } })
    expect(h.sent('a').filter((call) => call.method === 'eth_getTransactionReceipt')).toEqual([])
  })

  test('the same node error from two nodes is an agreed answer', async () => {
    const reverted = (id: string) => evmNode(id, 10, () => ({ error: { code: 3, message: 'execution reverted' } }))
    const h = harness('evm', [reverted('a'), reverted('b')], { verify: { methods: ['eth_call'], agree: 2 } })
    expect(await h.read({ method: 'eth_call', params: [{ to: ADDRESS }, '0x5'] })).toMatchObject({ ok: true, answer: { error: { message: 'execution reverted' } } })
  })

  test('a forked pool without a majority: reads at the disputed height need two agreeing nodes', async () => {
    const block = (id: string, hash: string) => evmNode(id, 10, () => ({ result: { number: '0xa', hash } }))
    const h = harness('evm', [block('x', '0x01'), block('y', '0x02')])
    // An unresolved dispute at 8 with no known split point: reads from 8 on need agreement.
    const verdict = { height: 8, groups: [{ hash: '0x01', nodes: ['x'] }, { hash: '0x02', nodes: ['y'] }], canonical: undefined, forked: new Map(), agreeing: [], unknown: [], decidedBy: undefined }
    h.pool.applyForkRound({ verdict, reorg: undefined })
    expect(h.pool.agreementRequiredFrom).toBe(8)
    const latest = await h.read({ method: 'eth_getBlockByNumber', params: ['latest', false] })
    expect(latest).toMatchObject({ ok: false, error: { code: 'SY_NODES_DISAGREE' } })
    // Below the disputed height, reads are ordinary.
    expect(await h.read({ method: 'eth_getBlockByNumber', params: ['0x7', false] })).toMatchObject({ ok: true, attempts: 1 })
  })

  test('a dispute whose split point is known: tip reads stay at the last agreed block, reads above it need agreement', async () => {
    const answer = (hash: string): Script => () => ({ result: { number: '0x9', hash } })
    const h = harness('evm', [evmNode('x', 10, answer('0x01')), evmNode('y', 10, answer('0x02'))])
    const verdict = { height: 10, groups: [{ hash: '0x01', nodes: ['x'] }, { hash: '0x02', nodes: ['y'] }], canonical: undefined, forked: new Map(), agreeing: [], unknown: [], decidedBy: undefined }
    h.pool.applyForkRound({ verdict, reorg: undefined, agreedAt: 8 })
    expect(h.pool.agreementRequiredFrom).toBe(9)
    expect(h.pool.readHead).toBe(8)
    // `latest` is pinned to block 8, which every node has: answered by one node.
    expect(await h.read({ method: 'eth_getBlockByNumber', params: ['latest', false] })).toMatchObject({ ok: true, attempts: 1 })
    // Block 9 is above the split: two agreeing nodes or nothing.
    expect(await h.read({ method: 'eth_getBlockByNumber', params: ['0x9', false] })).toMatchObject({ ok: false, error: { code: 'SY_NODES_DISAGREE' } })
  })

  test('bitcoin answers compare without the node’s own confirmations', async () => {
    const tx = (confirmations: number): Script => () => ({ result: { txid: 'ab', blockhash: 'bb', confirmations } })
    const h = harness('bitcoin', [{ id: 'a', height: 10, script: tx(3) }, { id: 'b', height: 11, script: tx(4) }], { verify: { methods: ['getrawtransaction'], agree: 2 } })
    expect(await h.read({ method: 'getrawtransaction', params: ['ab', true] })).toMatchObject({ ok: true, attempts: 2 })
  })
})
