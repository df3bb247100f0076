/**
 * The router over a real pool with in-memory node transports (no HTTP): who is asked, who is
 * blamed, when the call stops. Node faults are scripted as transport outcomes.
 */
import { describe, expect, test } from 'vitest'
import { createEvmAdapter } from '../../chains/evm/evm-adapter.js'
import { parseConfig } from '../../test/support/parse-test-config.js'
import type { ChainConfig } from '../config/schema.js'
import type { RpcCall } from '../jsonrpc/types.js'
import { NodePool, type PoolNode } from '../pool/node-pool.js'
import { ProxyEvents } from '../proxy-events.js'
import type { NodeFailure } from '../upstream/node-failure.js'
import type { CallOptions, CallOutcome, NodeTransport } from '../upstream/node-transport.js'
import { ManualClock } from '../util/clock.js'
import { type RouteResult, Router, selectCandidates } from './router.js'

type Script = (call: RpcCall, options: CallOptions) => CallOutcome | Promise<CallOutcome>

class MemoryTransport implements NodeTransport {
  readonly calls: RpcCall[] = []
  readonly timeouts: number[] = []
  constructor(
    readonly nodeId: string,
    public script: Script,
  ) {}
  async call(call: RpcCall, options: CallOptions): Promise<CallOutcome> {
    this.calls.push(call)
    this.timeouts.push(options.timeoutMs)
    return this.script(call, options)
  }
  async close(): Promise<void> {}
}

const result = (value: unknown = '0x1'): CallOutcome => ({ ok: true, answer: { result: value }, latencyMs: 1 })
const nodeError = (code: number, message: string): CallOutcome => ({ ok: true, answer: { error: { code, message } }, latencyMs: 1 })
const failure = (failure: NodeFailure): CallOutcome => ({ ok: false, failure, latencyMs: 1 })
const timeout = (nodeId: string): CallOutcome => failure({ kind: 'timeout', message: `node ${nodeId} did not answer within 300 ms` })

const getLogs: RpcCall = { method: 'eth_getLogs', params: [{ fromBlock: '0x0', toBlock: '0x64' }] }
const gasPrice: RpcCall = { method: 'eth_gasPrice', params: [] }
const ethCall: RpcCall = { method: 'eth_call', params: [{ to: '0x0000000000000000000000000000000000000001', data: '0x' }, 'latest'] }

function harness(heights: number[], routing: Record<string, number> = {}) {
  const ids = heights.map((_, index) => `n${index}`)
  const config = parseConfig({
    chains: {
      eth: {
        family: 'evm',
        chainId: 1,
        requestTimeoutMs: 300,
        health: { maxLagBlocks: 3 },
        routing: { maxAttempts: 3, ...routing },
        nodes: ids.map((id) => ({ id, url: `http://user:secret@127.0.0.1:1/${id}` })),
      },
    },
    journal: { path: ':memory:' },
  })
  const chain: ChainConfig = config.chains.eth!
  const transports = new Map(ids.map((id) => [id, new MemoryTransport(id, () => result())]))
  const pool = new NodePool(chain, transports, new ProxyEvents(), new ManualClock())
  pool.applyProbeRound(pool.nodes.map((node, index) => ({ node, observation: { kind: 'ok' as const, height: heights[index]!, syncing: false, latencyMs: 1 } })))
  // random 0 picks the first candidate in config order: each test decides who is asked first.
  const router = new Router(pool, createEvmAdapter(chain), () => 0)
  return {
    pool,
    router,
    node: (id: string): PoolNode => pool.get(id)!,
    transport: (id: string): MemoryTransport => transports.get(id)!,
    script: (id: string, script: Script) => {
      transports.get(id)!.script = script
    },
    failures: () => Object.fromEntries(pool.nodes.map((node) => [node.config.id, node.health.consecutiveFailures])),
    statuses: () => pool.nodes.map((node) => node.health.status),
  }
}

function errorOf(routed: RouteResult) {
  expect(routed.ok).toBe(false)
  if (routed.ok) throw new Error('expected a failed route')
  return routed.error
}

describe('blame now', () => {
  test('a provider refusal at HTTP 200 fails over and counts against the node', async () => {
    const h = harness([100, 100])
    h.script('n0', () => nodeError(-32005, 'daily request count exceeded, request rate limited'))
    const routed = await h.router.route(gasPrice)
    expect(routed).toMatchObject({ ok: true, nodeId: 'n1', answer: { result: '0x1' }, attempts: 2 })
    expect(h.failures()).toEqual({ n0: 1, n1: 0 })
    expect(h.node('n0').health.lastError).toBe('node n0 refused the call: -32005 daily request count exceeded, request rate limited')
    expect(h.node('n0').tracker.errorRate).toBeGreaterThan(0)
  })

  test('three refusals in a row take the node down', async () => {
    const h = harness([100, 100])
    h.script('n0', () => nodeError(-32603, 'Internal error'))
    const onlyN0 = { filter: (node: PoolNode) => node.config.id === 'n0' }
    for (let i = 0; i < 3; i++) expect(errorOf(await h.router.route(gasPrice, onlyN0)).details.causes).toEqual(['n0: refusal -32603 Internal error'])
    expect(h.node('n0').health).toMatchObject({ status: 'down', reason: '3 consecutive failures; last: node n0 refused the call: -32603 Internal error' })
  })

  test('a cheap call timing out counts against the node', async () => {
    const h = harness([100, 100])
    h.script('n0', () => timeout('n0'))
    expect(await h.router.route(gasPrice)).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(h.failures()).toEqual({ n0: 1, n1: 0 })
  })

  test('"header not found" for a block the node reported having counts against it; below its height it does not', async () => {
    const h = harness([100, 100])
    h.script('n0', () => nodeError(-32000, 'header not found'))
    h.script('n1', () => result({ number: '0x64' }))
    expect(await h.router.route({ method: 'eth_getBlockByNumber', params: ['0x64', false] })).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(h.failures()).toEqual({ n0: 1, n1: 0 })
    // Block 101 is above both nodes' height: "not yet" is no one's failure, and it is the answer.
    h.script('n1', () => nodeError(-32000, 'header not found'))
    const above = await h.router.route({ method: 'eth_getBlockByNumber', params: ['0x65', false] })
    expect(above).toMatchObject({ ok: true, answer: { error: { message: 'header not found' } } })
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
  })
})

describe('blame if it works elsewhere', () => {
  test('a request rejection counts once another node answers the same call', async () => {
    const h = harness([100, 100, 100])
    h.script('n0', () => failure({ kind: 'request-rejected', message: 'node n0 rejected the request: -32600 Invalid request' }))
    const routed = await h.router.route(ethCall)
    expect(routed).toMatchObject({ ok: true, nodeId: 'n1', attempts: 2 })
    expect(h.failures()).toEqual({ n0: 1, n1: 0, n2: 0 })
    expect(h.node('n0').health.lastError).toBe('node n0 rejected the request: -32600 Invalid request')
  })

  test('a node answering with a verdict (reverted) also shows the call works elsewhere', async () => {
    const h = harness([100, 100])
    h.script('n0', () => nodeError(-32601, 'the method eth_call does not exist/is not available'))
    h.script('n1', () => nodeError(3, 'execution reverted'))
    expect(await h.router.route(ethCall)).toMatchObject({ ok: true, nodeId: 'n1', answer: { error: { code: 3 } } })
    expect(h.failures()).toEqual({ n0: 1, n1: 0 })
  })

  test('a suspect is not counted when no node answers', async () => {
    const h = harness([100, 100], { maxAttempts: 2 })
    h.script('n0', () => failure({ kind: 'request-rejected', message: 'node n0 closed the connection (EPIPE) on a 4194350-byte request' }))
    h.script('n1', () => failure({ kind: 'http-status', httpStatus: 502, message: 'node n1 answered HTTP 502' }))
    expect(errorOf(await h.router.route(ethCall)).code).toBe('SY_ALL_NODES_FAILED')
    expect(h.failures()).toEqual({ n0: 0, n1: 1 })
  })
})

describe('request faults: the same failure on a second node', () => {
  test('two rejections → SY_REQUEST_REJECTED with each cause, no third node asked, nobody blamed', async () => {
    const h = harness([100, 100, 100])
    h.script('n0', () => failure({ kind: 'request-rejected', message: 'node n0 closed the connection (EPIPE) on a 4194350-byte request' }))
    h.script('n1', () => failure({ kind: 'request-rejected', message: 'node n1 answered an error with id null: -32600 Invalid request' }))
    const error = errorOf(await h.router.route(ethCall))
    expect(error.code).toBe('SY_REQUEST_REJECTED')
    expect(error.details.causes).toEqual([
      'n0: request-rejected (node n0 closed the connection (EPIPE) on a 4194350-byte request)',
      'n1: request-rejected (node n1 answered an error with id null: -32600 Invalid request)',
    ])
    expect(JSON.stringify(error.toJsonRpcError())).not.toMatch(/secret|127\.0\.0\.1/)
    expect(h.transport('n2').calls).toHaveLength(0)
    expect(h.failures()).toEqual({ n0: 0, n1: 0, n2: 0 })
    expect(h.statuses()).toEqual(['healthy', 'healthy', 'healthy'])
  })

  test('a rejection, then a well-formed JSON-RPC verdict on the request: the verdict is the answer, nobody blamed', async () => {
    const h = harness([100, 100, 100])
    h.script('n0', () => nodeError(-32601, 'the method eth_blobBaseFee does not exist/is not available'))
    h.script('n1', () => nodeError(-32601, 'the method eth_blobBaseFee does not exist/is not available'))
    const routed = await h.router.route({ method: 'eth_blobBaseFee', params: [] })
    expect(routed).toMatchObject({ ok: true, answer: { error: { code: -32601 } }, attempts: 2 })
    expect(h.transport('n2').calls).toHaveLength(0)
    expect(h.failures()).toEqual({ n0: 0, n1: 0, n2: 0 })
  })

  test('a heavy call timing out on two nodes → SY_CALL_TOO_HEAVY; neither is blamed', async () => {
    const h = harness([100, 100, 100])
    for (const id of ['n0', 'n1', 'n2']) h.script(id, () => timeout(id))
    const error = errorOf(await h.router.route(getLogs))
    expect(error.code).toBe('SY_CALL_TOO_HEAVY')
    expect(error.details).toMatchObject({ method: 'eth_getLogs', timeoutMs: 300, causes: ['n0: timeout', 'n1: timeout'] })
    expect(h.transport('n2').calls).toHaveLength(0)
    expect(h.failures()).toEqual({ n0: 0, n1: 0, n2: 0 })
  })

  test('one heavy timeout, then an answer elsewhere: the slow node is still not blamed', async () => {
    const h = harness([100, 100])
    h.script('n0', () => timeout('n0'))
    expect(await h.router.route(getLogs)).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
  })

  test('a heavy timeout and a rejection are not the same way: the call goes on to a third node', async () => {
    const h = harness([100, 100, 100])
    h.script('n0', () => timeout('n0'))
    h.script('n1', () => failure({ kind: 'request-rejected', message: 'node n1 rejected the request with HTTP 413' }))
    expect(await h.router.route(ethCall)).toMatchObject({ ok: true, nodeId: 'n2', attempts: 3 })
    expect(h.failures()).toEqual({ n0: 0, n1: 1, n2: 0 })
  })
})

describe('not the node\'s doing', () => {
  test('a timeout while switchyard stalled fails over without blame', async () => {
    const h = harness([100, 100])
    h.script('n0', () => failure({ kind: 'timeout', stalled: true, message: 'stalled' }))
    expect(await h.router.route(gasPrice)).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
  })

  test('a reply over routing.maxReplyBytes stops at once with SY_REPLY_TOO_LARGE', async () => {
    const h = harness([100, 100])
    h.script('n0', () => failure({ kind: 'reply-too-large', message: 'too large' }))
    const error = errorOf(await h.router.route(getLogs))
    expect(error.code).toBe('SY_REPLY_TOO_LARGE')
    expect(error.details.limit).toBe(32 * 1024 * 1024)
    expect(h.transport('n1').calls).toHaveLength(0)
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
  })

  test('a full reply-byte budget answers SY_OVERLOADED without failover', async () => {
    const h = harness([100, 100])
    h.script('n0', () => failure({ kind: 'overloaded', message: 'budget full' }))
    const error = errorOf(await h.router.route(getLogs))
    expect(error).toMatchObject({ code: 'SY_OVERLOADED', details: { bound: 'server.maxReplyBytesInFlight' } })
    expect(h.transport('n1').calls).toHaveLength(0)
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
  })

  test('missing state: next node, never blamed, and the node is remembered to lack that height', async () => {
    const h = harness([100, 100])
    h.script('n0', () => nodeError(-32000, 'missing trie node 0xabc (path )'))
    h.script('n1', () => result('0x5'))
    expect(await h.router.route({ method: 'eth_getBalance', params: ['0xabc', '0x10'] })).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
    expect(h.node('n0').capabilities).toMatchObject({ stateMissingBelow: 17, archive: false })
  })

  test('an attempt whose timeout the deadline cut short is not blamed; the client gets SY_DEADLINE_EXCEEDED', async () => {
    const h = harness([100, 100], { deadlineMs: 450 })
    h.script('n0', async (_call, options) => {
      await new Promise((resolve) => setTimeout(resolve, options.timeoutMs))
      return timeout('n0')
    })
    h.script('n1', async (_call, options) => {
      await new Promise((resolve) => setTimeout(resolve, options.timeoutMs))
      return timeout('n1')
    })
    const error = errorOf(await h.router.route(gasPrice))
    expect(error.code).toBe('SY_DEADLINE_EXCEEDED')
    // n0 had its full 300 ms and is blamed; n1 had what was left of the deadline.
    expect(h.transport('n1').timeouts[0]).toBeLessThan(300)
    expect(h.failures()).toEqual({ n0: 1, n1: 0 })
  })
})

describe('saturation: never queue inside switchyard', () => {
  test('nodes at maxInFlightPerNode are skipped; all at it → SY_OVERLOADED at once, statuses unchanged', async () => {
    const h = harness([100, 100], { maxInFlightPerNode: 2 })
    const release: Array<() => void> = []
    for (const id of ['n0', 'n1']) {
      h.script(id, () => new Promise<CallOutcome>((resolve) => release.push(() => resolve(result()))))
    }
    const held = Array.from({ length: 4 }, () => h.router.route(gasPrice))
    expect(h.pool.nodes.map((node) => node.inFlight)).toEqual([2, 2])
    const sentBefore = h.transport('n0').calls.length + h.transport('n1').calls.length
    const error = errorOf(await h.router.route(gasPrice))
    expect(error).toMatchObject({ code: 'SY_OVERLOADED', details: { bound: 'routing.maxInFlightPerNode', limit: 2 } })
    expect(h.transport('n0').calls.length + h.transport('n1').calls.length).toBe(sentBefore)
    for (const done of release) done()
    expect((await Promise.all(held)).every((routed) => routed.ok)).toBe(true)
    expect(h.statuses()).toEqual(['healthy', 'healthy'])
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
  })

  test('a node at the bound is skipped while another has room', async () => {
    const h = harness([100, 100], { maxInFlightPerNode: 1 })
    let releaseFirst: (() => void) | undefined
    h.script('n0', () => new Promise<CallOutcome>((resolve) => (releaseFirst = () => resolve(result('0xa')))))
    h.script('n1', () => result('0xb'))
    const first = h.router.route(gasPrice)
    expect(await h.router.route(gasPrice)).toMatchObject({ ok: true, nodeId: 'n1', answer: { result: '0xb' } })
    releaseFirst!()
    expect(await first).toMatchObject({ ok: true, nodeId: 'n0' })
  })
})

describe('route options (used by verified reads and capability routing)', () => {
  test('exclude: concurrent routes sharing one set never ask the same node, and the set holds every node tried', async () => {
    const h = harness([100, 100, 100])
    const exclude = new Set<PoolNode>()
    const routed = await Promise.all([h.router.route(gasPrice, { exclude }), h.router.route(gasPrice, { exclude })])
    expect(routed.map((route) => route.nodeId).sort()).toEqual(['n0', 'n1'])
    expect([...exclude].map((node) => node.config.id).sort()).toEqual(['n0', 'n1'])
    // A third route with the same set can only use n2, then has nobody left.
    expect(await h.router.route(gasPrice, { exclude })).toMatchObject({ ok: true, nodeId: 'n2' })
    expect(errorOf(await h.router.route(gasPrice, { exclude })).code).toBe('SY_NO_ROUTABLE_NODE')
  })

  test('filter: only passing nodes are candidates; none passing → no candidates', async () => {
    const h = harness([100, 100, 100])
    expect(await h.router.route(gasPrice, { filter: (node) => node.config.id === 'n2' })).toMatchObject({ ok: true, nodeId: 'n2' })
    expect(errorOf(await h.router.route(gasPrice, { filter: () => false })).code).toBe('SY_NO_ROUTABLE_NODE')
    expect(h.transport('n0').calls).toHaveLength(0)
  })

  test('minHeight overrides the height the adapter reads from the call', async () => {
    const h = harness([100, 102, 100])
    // eth_gasPrice names no height (any at-head node), but minHeight 102 needs n1.
    expect(await h.router.route(gasPrice, { minHeight: 102 })).toMatchObject({ ok: true, nodeId: 'n1' })
    // The call names block 102 (only n1 has it); overridden down to 0, every node qualifies and n0 comes first.
    expect(await h.router.route({ method: 'eth_getBlockByNumber', params: ['0x66', false] })).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(await h.router.route({ method: 'eth_getBlockByNumber', params: ['0x66', false] }, { minHeight: 0 })).toMatchObject({ ok: true, nodeId: 'n0' })
  })
})

describe('selectCandidates with verified heights', () => {
  const node = (id: string, height: number) => ({ config: { id }, health: { status: 'healthy', height } }) as unknown as PoolNode
  const a = node('a', 12)
  const c = node('c', 12) // has block 12, but its hash there was never verified
  const b = node('b', 9)
  const servable = new Map([
    [a, 12],
    [c, 10],
    [b, 9],
  ])
  const heightOf = (candidate: PoolNode) => servable.get(candidate)!
  const ids = (nodes: PoolNode[]) => nodes.map((candidate) => candidate.config.id)

  test.each<{ name: string; head: number | undefined; minHeight: number | undefined; tried: PoolNode[]; expected: string[] }>([
    { name: 'a read at 12: only the node verified there', head: 12, minHeight: 12, tried: [], expected: ['a'] },
    { name: 'that node tried: the unverified holder is still not asked; the node below it answers "not yet"', head: 12, minHeight: 12, tried: [a], expected: ['b'] },
    { name: 'a read at 10: both nodes verified there', head: 12, minHeight: 10, tried: [], expected: ['a', 'c'] },
    { name: 'no height: nodes verified at the head first', head: 12, minHeight: undefined, tried: [], expected: ['a'] },
  ])('$name', ({ head, minHeight, tried, expected }) => {
    expect(ids(selectCandidates([a, c, b], head, minHeight, new Set(tried), false, undefined, heightOf))).toEqual(expected)
  })

  test('without heightOf (pools that do not verify forks), reported heights decide as before', () => {
    expect(ids(selectCandidates([a, c, b], 12, 12, new Set()))).toEqual(['a', 'c'])
  })
})
