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
import { type HedgeTimer } from './hedge.js'
import { type RouteOptions, type RouteResult, Router } from './router.js'
import { verifiedRead } from './verified-read.js'

type Script = (call: RpcCall, options: CallOptions) => CallOutcome | Promise<CallOutcome>

class MemoryTransport implements NodeTransport {
  readonly calls: RpcCall[] = []
  readonly timeouts: number[] = []
  readonly batchUpTo: Array<number | undefined> = []
  constructor(
    readonly nodeId: string,
    public script: Script,
  ) {}
  async call(call: RpcCall, options: CallOptions): Promise<CallOutcome> {
    this.calls.push(call)
    this.timeouts.push(options.timeoutMs)
    this.batchUpTo.push(options.batchUpTo)
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

/** `nodeOptions[i]`: more config of node i (e.g. `{ batch: false }`). */
function harness(heights: number[], routing: Record<string, unknown> = {}, hedgeTimer?: HedgeTimer, nodeOptions: Array<Record<string, unknown>> = []) {
  const ids = heights.map((_, index) => `n${index}`)
  const config = parseConfig({
    chains: {
      eth: {
        family: 'evm',
        chainId: 1,
        requestTimeoutMs: 300,
        health: { maxLagBlocks: 3 },
        routing: { maxAttempts: 3, ...routing },
        nodes: ids.map((id, index) => ({ id, url: `http://user:secret@127.0.0.1:1/${id}`, ...nodeOptions[index] })),
      },
    },
    journal: { path: ':memory:' },
  })
  const chain: ChainConfig = config.chains.eth!
  const transports = new Map(ids.map((id) => [id, new MemoryTransport(id, () => result())]))
  const events = new ProxyEvents()
  const pool = new NodePool(chain, transports, events, new ManualClock())
  pool.applyProbeRound(pool.nodes.map((node, index) => ({ node, observation: { kind: 'ok' as const, height: heights[index]!, syncing: false, latencyMs: 1 } })))
  // random 0 picks the first candidate in config order: each test decides who is asked first.
  const adapter = createEvmAdapter(chain)
  const router = new Router(pool, adapter, () => 0, hedgeTimer)
  return {
    pool,
    router,
    readContext: { pool, router, adapter, events },
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

describe('upstream batching (routing.batch): which calls may share a batch', () => {
  test('cheap reads may, up to maxCalls; calls whose cost the client chose (eth_getLogs, eth_call) never', async () => {
    const h = harness([100])
    for (const call of [gasPrice, { method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] }, getLogs, ethCall]) await h.router.route(call)
    expect(h.transport('n0').calls.map((call, index) => [call.method, h.transport('n0').batchUpTo[index]])).toEqual([
      ['eth_gasPrice', 20],
      ['eth_getBalance', 20],
      ['eth_getLogs', undefined],
      ['eth_call', undefined],
    ])
  })

  test('maxCalls comes from the config; enabled: false sends every call alone', async () => {
    const some = harness([100], { batch: { maxCalls: 5 } })
    await some.router.route(gasPrice)
    expect(some.transport('n0').batchUpTo).toEqual([5])
    const none = harness([100], { batch: { enabled: false } })
    await none.router.route(gasPrice)
    expect(none.transport('n0').batchUpTo).toEqual([undefined])
  })

  test('a node with batch: false gets its reads alone; the other nodes of the chain still batch', async () => {
    const h = harness([100, 100], {}, undefined, [{ batch: false }])
    // random 0 asks n0 first; the exclude set sends the second call to n1.
    await h.router.route(gasPrice)
    await h.router.route(gasPrice, { exclude: new Set([h.node('n0')]) })
    expect(h.transport('n0').batchUpTo).toEqual([undefined])
    expect(h.transport('n1').batchUpTo).toEqual([20])
  })
})

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


/** Notifies waiters on every change, so tests wait on a condition instead of sleeping. */
class Observed {
  readonly #waiters = new Set<() => void>()
  protected changed(): void {
    for (const waiter of this.#waiters) waiter()
  }
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.#waiters.add(resolve)).finally(() => this.#waiters.clear())
  }
}

/** Hedge timers the test fires by hand: a hedge is due when the test says so, never by a clock. */
class ManualHedgeTimer extends Observed {
  readonly armed: Array<{ delayMs: number; cancelled: boolean; fire: () => void }> = []
  readonly timer: HedgeTimer = (onDue, delayMs) => {
    const entry = { delayMs, cancelled: false, fire: onDue }
    this.armed.push(entry)
    this.changed()
    return () => {
      entry.cancelled = true
    }
  }
  async nth(index: number) {
    await this.until(() => this.armed.length > index)
    return this.armed[index]!
  }
}

/** A node whose replies wait for the test; an aborted call returns failure 'aborted', as the HTTP transport's does. */
class HeldNode extends Observed {
  readonly calls: Array<{ release: (outcome: CallOutcome) => void; aborted: boolean }> = []
  readonly script: Script = (_call, options) =>
    new Promise<CallOutcome>((resolve) => {
      const held = { release: resolve, aborted: false }
      options.signal?.addEventListener('abort', () => {
        held.aborted = true
        resolve(failure({ kind: 'aborted', message: 'the call was aborted' }))
        this.changed()
      })
      this.calls.push(held)
      this.changed()
    })
  async asked(count = 1): Promise<void> {
    await this.until(() => this.calls.length >= count)
  }
}

function hedging(heights: number[], routing: Record<string, unknown> = {}, hedge: Record<string, unknown> = {}) {
  const timer = new ManualHedgeTimer()
  const h = harness(heights, { ...routing, hedge: { enabled: true, ...hedge } }, timer.timer)
  const held = new Map(h.pool.nodes.map((node) => [node.config.id, new HeldNode()]))
  const hold = (id: string): HeldNode => {
    const node = held.get(id)!
    h.script(id, node.script)
    return node
  }
  /** A read whose first node (n0) holds, and its hedge to n1 (held too) sent: both calls wait for the test. */
  const racing = async (options: RouteOptions = {}) => {
    const [first, second] = [hold('n0'), hold('n1')]
    const routed = h.router.route(gasPrice, options)
    ;(await timer.nth(0)).fire()
    await second.asked()
    return { first: first.calls[0]!, second: second.calls[0]!, routed }
  }
  const health = () => h.pool.nodes.map(({ config, health, requests, failures, tracker }) => ({ id: config.id, status: health.status, requests, failures, errorRate: tracker.errorRate, latencyMs: tracker.latencyMs }))
  return { ...h, timer, hold, racing, health }
}

const http502 = (id: string) => failure({ kind: 'http-status', httpStatus: 502, message: `node ${id} answered HTTP 502` })

describe('hedged reads', () => {
  test('the first node holds: after the hedge delay a second node is asked, its answer wins, the first call is aborted and not blamed', async () => {
    const h = hedging([100, 100])
    const slow = h.hold('n0')
    h.script('n1', () => result('0x2'))
    const before = h.health()
    const routed = h.router.route(gasPrice)
    const due = await h.timer.nth(0)
    // The node's p95 (1 ms probes) is below hedge.afterMs: the floor decides.
    expect(due.delayMs).toBe(50)
    expect(h.transport('n1').calls).toHaveLength(0)
    due.fire()
    expect(await routed).toMatchObject({ ok: true, nodeId: 'n1', answer: { result: '0x2' }, attempts: 2 })
    expect(slow.calls.map((call) => call.aborted)).toEqual([true])
    // n0 unchanged: no failure, no request, no latency sample (neither its own nor the winner's).
    expect(h.health()[0]).toEqual(before[0])
    expect(h.node('n1').requests).toBe(1)
    expect(h.pool.nodes.map((node) => node.inFlight)).toEqual([0, 0])
    expect(h.router.hedgeStats).toEqual({ sent: 1, won: 1, inFlight: 0 })
  })

  test("the hedge waits for the node's observed p95 when it is above hedge.afterMs", async () => {
    const h = hedging([100, 100])
    for (let sample = 0; sample < 20; sample++) h.node('n0').tracker.observeLatency(180, sample)
    h.hold('n0')
    const routed = h.router.route(gasPrice)
    const due = await h.timer.nth(0)
    expect(due.delayMs).toBe(180)
    due.fire()
    expect(await routed).toMatchObject({ ok: true, nodeId: 'n1' })
  })

  test('the first node answers before the delay: the timer is cancelled and no hedge is sent', async () => {
    const h = hedging([100, 100])
    expect(await h.router.route(gasPrice)).toMatchObject({ ok: true, nodeId: 'n0', attempts: 1 })
    expect(h.timer.armed.map((entry) => entry.cancelled)).toEqual([true])
    expect(h.transport('n1').calls).toHaveLength(0)
    expect(h.router.hedgeStats).toEqual({ sent: 0, won: 0, inFlight: 0 })
  })

  test('the first node still answers first after the hedge was sent: its answer wins, the hedge is aborted', async () => {
    const h = hedging([100, 100])
    const { first, second, routed } = await h.racing()
    first.release(result('0xa'))
    expect(await routed).toMatchObject({ ok: true, nodeId: 'n0', answer: { result: '0xa' }, attempts: 2 })
    expect(second.aborted).toBe(true)
    expect(h.node('n1').requests).toBe(0)
    expect(h.router.hedgeStats).toEqual({ sent: 1, won: 0, inFlight: 0 })
  })

  test('hedging off (the default): the second node is never asked', async () => {
    const timer = new ManualHedgeTimer()
    const h = harness([100, 100], {}, timer.timer)
    const slow = new HeldNode()
    h.script('n0', slow.script)
    const routed = h.router.route(gasPrice)
    await slow.asked()
    slow.calls[0]!.release(result('0xa'))
    expect(await routed).toMatchObject({ ok: true, nodeId: 'n0', attempts: 1 })
    expect(timer.armed).toHaveLength(0)
    expect(h.transport('n1').calls).toHaveLength(0)
    expect(h.router.hedgeStats).toEqual({ sent: 0, won: 0, inFlight: 0 })
  })

  test.each<{ name: string; call: RpcCall; options: { atHeadOnly?: boolean } }>([
    { name: 'a broadcast routed at head (eth_sendRawTransaction)', call: { method: 'eth_sendRawTransaction', params: ['0x02f8'] }, options: { atHeadOnly: true } },
    { name: 'eth_sendRawTransaction routed without atHeadOnly', call: { method: 'eth_sendRawTransaction', params: ['0x02f8'] }, options: {} },
    { name: 'a read routed to at-head nodes only', call: gasPrice, options: { atHeadOnly: true } },
  ])('never hedged: $name', async ({ call, options }) => {
    const h = hedging([100, 100])
    const slow = h.hold('n0')
    const routed = h.router.route(call, options)
    // A hedgeable call arms its timer before the node sees the call.
    await slow.asked()
    expect(h.timer.armed).toHaveLength(0)
    slow.calls[0]!.release(result('0xa'))
    expect(await routed).toMatchObject({ ok: true, nodeId: 'n0', attempts: 1 })
    expect(h.transport('n1').calls).toHaveLength(0)
  })

  test('verified reads are not hedged: their routes already ask several nodes at once', async () => {
    const h = hedging([100, 100, 100])
    const slow = h.hold('n0')
    const read = verifiedRead(h.readContext, gasPrice, 2, {})
    await slow.asked()
    expect(h.timer.armed).toHaveLength(0)
    slow.calls[0]!.release(result('0x1'))
    expect(await read).toMatchObject({ ok: true, attempts: 2 })
    expect(h.transport('n2').calls).toHaveLength(0)
    expect(h.router.hedgeStats.sent).toBe(0)
  })

  test('hedge.maxInFlight bounds the hedges in flight on the chain; a hedge returning frees its slot', async () => {
    const h = hedging([100, 100, 100, 100], {}, { maxInFlight: 1 })
    const slow = h.hold('n0')
    const hedge = h.hold('n1')
    const first = h.router.route(gasPrice)
    const second = h.router.route(gasPrice)
    const [firstDue, secondDue] = [await h.timer.nth(0), await h.timer.nth(1)]
    firstDue.fire()
    await hedge.asked()
    expect(h.router.hedgeStats).toEqual({ sent: 1, won: 0, inFlight: 1 })
    // The second call's hedge is due while the first call's is in flight: none is sent.
    secondDue.fire()
    hedge.calls[0]!.release(result('0xb'))
    expect(await first).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(hedge.calls).toHaveLength(1)
    expect(h.transport('n2').calls).toHaveLength(0)
    expect(h.transport('n3').calls).toHaveLength(0)
    await slow.asked(2)
    slow.calls[1]!.release(result('0xa'))
    expect(await second).toMatchObject({ ok: true, nodeId: 'n0', attempts: 1 })
    expect(h.router.hedgeStats).toEqual({ sent: 1, won: 1, inFlight: 0 })
    // The slot is free again: the next slow call is hedged.
    const third = h.router.route(gasPrice)
    ;(await h.timer.nth(2)).fire()
    await hedge.asked(2)
    hedge.calls[1]!.release(result('0xc'))
    expect(await third).toMatchObject({ ok: true, nodeId: 'n1' })
    expect(h.router.hedgeStats).toEqual({ sent: 2, won: 2, inFlight: 0 })
  })

  test('no timer when no other node could take the hedge', async () => {
    const h = hedging([100, 100])
    const slow = h.hold('n0')
    const routed = h.router.route(gasPrice, { filter: (node) => node.config.id === 'n0' })
    await slow.asked()
    expect(h.timer.armed).toHaveLength(0)
    slow.calls[0]!.release(result('0xa'))
    expect(await routed).toMatchObject({ ok: true, nodeId: 'n0' })
  })

  test('the first attempt to return fails: the other goes on (no third node yet) and its answer is returned; the failure is blamed as always', async () => {
    const h = hedging([100, 100, 100])
    const { first, second, routed } = await h.racing()
    first.release(http502('n0'))
    // Every promise reaction runs before the next macrotask: the router has judged n0's outcome.
    await new Promise((resolve) => setImmediate(resolve))
    expect(h.failures().n0).toBe(1)
    expect(h.transport('n2').calls).toHaveLength(0)
    expect(second.aborted).toBe(false)
    second.release(result('0xb'))
    expect(await routed).toMatchObject({ ok: true, nodeId: 'n1', attempts: 2 })
    expect(h.failures()).toEqual({ n0: 1, n1: 0, n2: 0 })
    expect(h.router.hedgeStats).toEqual({ sent: 1, won: 1, inFlight: 0 })
  })

  test('both attempts fail: each is blamed and the call fails over as without hedging', async () => {
    const h = hedging([100, 100], { maxAttempts: 3 })
    const { first, second, routed } = await h.racing()
    second.release(http502('n1'))
    first.release(http502('n0'))
    const error = errorOf(await routed)
    expect(error.code).toBe('SY_ALL_NODES_FAILED')
    expect(error.details.causes).toEqual(['n1: http-status', 'n0: http-status'])
    expect(h.failures()).toEqual({ n0: 1, n1: 1 })
    expect(first.aborted).toBe(false)
    expect(h.router.hedgeStats).toEqual({ sent: 1, won: 0, inFlight: 0 })
  })

  test('the client going away cancels both attempts; nobody is blamed', async () => {
    const h = hedging([100, 100])
    const client = new AbortController()
    const { first, second, routed } = await h.racing({ signal: client.signal })
    client.abort()
    expect(errorOf(await routed).code).toBe('SY_DEADLINE_EXCEEDED')
    expect([first.aborted, second.aborted]).toEqual([true, true])
    expect(h.failures()).toEqual({ n0: 0, n1: 0 })
    expect(h.pool.nodes.map((node) => node.inFlight)).toEqual([0, 0])
  })
})
