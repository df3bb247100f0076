import { describe, expect, test } from 'vitest'
import { ProxyError } from '../errors/proxy-error.js'
import type { FiltersConfig } from '../config/schema.js'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import { ManualClock } from '../util/clock.js'
import type { HeadStreamEvent, LogEvent, LogsQuery, StreamHead } from './chain-streams.js'
import { FilterRegistry } from './filter-registry.js'

const ADDRESS = `0x${'aa'.repeat(20)}`
const TOPIC = `0x${'11'.repeat(32)}`

/** Head and log sources driven by hand. */
function harness(limits: Partial<FiltersConfig> = {}) {
  const clock = new ManualClock()
  const headListeners = new Set<(event: HeadStreamEvent) => void>()
  const logListeners = new Set<{ query: LogsQuery; listener: (event: LogEvent) => void }>()
  const getLogs: RpcCall[] = []
  let logsAnswer: RpcAnswer = { result: [] }
  const registry = new FilterRegistry({
    chain: 'eth',
    clock,
    limits: () => ({ maxPerClient: 3, maxPerChain: 5, idleTimeoutMs: 300_000, maxPendingChanges: 4, pendingPollIntervalMs: 1_000, ...limits }),
    heads: {
      subscribe: (listener) => {
        headListeners.add(listener)
        return () => headListeners.delete(listener)
      },
    },
    logs: {
      subscribe: (query, listener) => {
        const entry = { query, listener }
        logListeners.add(entry)
        return () => logListeners.delete(entry)
      },
    },
    getLogs: async (call) => {
      getLogs.push(call)
      return logsAnswer
    },
  })
  const call = async (method: string, params: unknown[] = [], client?: string) => registry.handle({ method, params }, client)
  const head = (height: number): StreamHead => ({ height, hash: `0x${height.toString(16).padStart(64, '0')}`, parentHash: '0x', header: {} })
  return {
    clock,
    registry,
    call,
    getLogs,
    setLogsAnswer: (answer: RpcAnswer) => (logsAnswer = answer),
    headListeners,
    logListeners,
    pushHead: (height: number) => headListeners.forEach((listener) => listener({ kind: 'head', head: head(height) })),
    pushLog: (height: number, removed = false) =>
      logListeners.forEach(({ listener }) => listener({ log: { address: ADDRESS, topics: [TOPIC], blockNumber: `0x${height.toString(16)}`, removed }, removed })),
  }
}

describe('FilterRegistry', () => {
  test('ids are 16 random bytes as 0x-hex; block filters collect hashes between polls', async () => {
    const h = harness()
    const { result: id } = await h.call('eth_newBlockFilter')
    const { result: other } = await h.call('eth_newBlockFilter')
    expect(id).toMatch(/^0x[0-9a-f]{32}$/)
    expect(other).not.toBe(id)
    h.pushHead(7)
    h.pushHead(8)
    expect((await h.call('eth_getFilterChanges', [id])).result).toEqual([`0x${'7'.padStart(64, '0')}`, `0x${'8'.padStart(64, '0')}`])
    expect((await h.call('eth_getFilterChanges', [id])).result).toEqual([])
    // The id is accepted in any case, as clients may upper-case hex.
    expect((await h.call('eth_getFilterChanges', [String(id).toUpperCase().replace('0X', '0x')])).result).toEqual([])
  })

  test('log filters keep logs in their block range, removed ones flagged', async () => {
    const h = harness()
    const { result: id } = await h.call('eth_newFilter', [{ fromBlock: '0x5', toBlock: '0x6', address: ADDRESS }])
    expect([...h.logListeners][0]!.query).toEqual({ address: ADDRESS, topics: undefined })
    h.pushLog(4)
    h.pushLog(5)
    h.pushLog(6, true)
    h.pushLog(7)
    const changes = (await h.call('eth_getFilterChanges', [id])).result as Array<{ blockNumber: string; removed: boolean }>
    expect(changes.map((log) => [log.blockNumber, log.removed])).toEqual([
      ['0x5', false],
      ['0x6', true],
    ])
  })

  test('eth_getFilterLogs asks eth_getLogs with the filter criteria, and passes its answer or error on', async () => {
    const h = harness()
    const { result: id } = await h.call('eth_newFilter', [{ fromBlock: '0x1', address: ADDRESS, topics: [TOPIC] }])
    h.setLogsAnswer({ result: [{ logIndex: '0x0' }] })
    expect((await h.call('eth_getFilterLogs', [id])).result).toEqual([{ logIndex: '0x0' }])
    expect(h.getLogs).toEqual([{ method: 'eth_getLogs', params: [{ fromBlock: '0x1', address: ADDRESS, topics: [TOPIC] }] }])
    const refusal = { code: -32602, message: 'range too large', data: { code: 'SY_RANGE_TOO_LARGE' } }
    h.setLogsAnswer({ error: refusal })
    expect((await h.call('eth_getFilterLogs', [id])).error).toEqual(refusal)
    const { result: blocks } = await h.call('eth_newBlockFilter')
    expect((await h.call('eth_getFilterLogs', [blocks])).error?.data).toEqual({ code: 'SY_FILTER_NOT_FOUND' })
  })

  test("a filter is visible only to the client that made it; anonymous callers share one namespace", async () => {
    const h = harness()
    const { result: mine } = await h.call('eth_newBlockFilter', [], 'alice')
    const notFound = await h.call('eth_getFilterChanges', [mine], 'bob')
    expect(notFound.error).toMatchObject({ code: -32000, message: 'filter not found', data: { code: 'SY_FILTER_NOT_FOUND' } })
    expect((await h.call('eth_getFilterChanges', [mine])).error?.data).toEqual({ code: 'SY_FILTER_NOT_FOUND' })
    expect((await h.call('eth_uninstallFilter', [mine], 'bob')).result).toBe(false)
    expect((await h.call('eth_getFilterChanges', [mine], 'alice')).result).toEqual([])
    const { result: anonymous } = await h.call('eth_newBlockFilter')
    expect((await h.call('eth_getFilterChanges', [anonymous])).result).toEqual([])
    expect((await h.call('eth_uninstallFilter', [mine], 'alice')).result).toBe(true)
    expect((await h.call('eth_uninstallFilter', [mine], 'alice')).result).toBe(false)
    expect(h.headListeners.size).toBe(1) // the uninstalled filter stopped listening
  })

  test('bounds per client and per chain; expired filters do not count', async () => {
    const h = harness()
    for (let index = 0; index < 3; index++) expect((await h.call('eth_newBlockFilter', [], 'alice')).result).toBeDefined()
    const refused = await h.call('eth_newBlockFilter', [], 'alice')
    expect(refused.error).toMatchObject({ code: -32059, data: { code: 'SY_TOO_MANY_FILTERS', limit: 3, scope: 'client' } })
    await h.call('eth_newBlockFilter', [], 'bob')
    await h.call('eth_newBlockFilter', [], 'bob')
    expect((await h.call('eth_newBlockFilter', [], 'carol')).error?.data).toEqual({ code: 'SY_TOO_MANY_FILTERS', limit: 5, scope: 'chain' })
    h.clock.advance(300_000)
    expect((await h.call('eth_newBlockFilter', [], 'alice')).result).toBeDefined()
    expect(h.registry.size).toBe(1)
  })

  test('a filter not polled for idleTimeoutMs is gone, on access and by the sweep; each poll restarts the wait', async () => {
    const h = harness()
    const { result: polled } = await h.call('eth_newBlockFilter')
    const { result: idle } = await h.call('eth_newBlockFilter')
    h.clock.advance(299_999)
    expect((await h.call('eth_getFilterChanges', [polled])).result).toEqual([])
    h.clock.advance(1)
    h.registry.sweep()
    expect(h.registry.size).toBe(1)
    expect((await h.call('eth_getFilterChanges', [idle])).error?.message).toBe('filter not found')
    // Polled 1 ms before the sweep: 299 999 ms after that poll it is still there.
    h.clock.advance(299_998)
    expect((await h.call('eth_getFilterChanges', [polled])).result).toEqual([])
    h.clock.advance(300_000)
    expect((await h.call('eth_getFilterChanges', [polled])).error?.data).toEqual({ code: 'SY_FILTER_NOT_FOUND' })
    expect(h.registry.size).toBe(0)
    expect(h.headListeners.size).toBe(0)
  })

  test('more unpolled changes than maxPendingChanges drops the filter with a clear message, never growing', async () => {
    const h = harness()
    const { result: id } = await h.call('eth_newBlockFilter')
    for (let height = 1; height <= 5; height++) h.pushHead(height)
    expect(h.headListeners.size).toBe(0)
    const answer = await h.call('eth_getFilterChanges', [id])
    expect(answer.error).toMatchObject({ code: -32000, data: { code: 'SY_FILTER_NOT_FOUND' } })
    expect(answer.error?.message).toMatch(/^filter not found: dropped after more than 4 unpolled changes/)
    expect(h.registry.size).toBe(0)
  })

  test('invalid criteria and ids, subscriptions over HTTP, pending-transaction filters', async () => {
    const h = harness()
    expect((await h.call('eth_newFilter', [{ address: '0x1' }])).error).toMatchObject({ code: -32602, data: { code: 'SY_INVALID_PARAMS' } })
    expect((await h.call('eth_getFilterChanges', [7])).error?.data).toEqual({ code: 'SY_INVALID_PARAMS' })
    expect((await h.call('eth_uninstallFilter', [7])).result).toBe(false)
    const subscribe = await h.call('eth_subscribe', ['newHeads'])
    expect(subscribe.error).toMatchObject({ code: -32601, data: { code: 'SY_SUBSCRIPTION_NEEDS_WS', method: 'eth_subscribe' } })
    expect(subscribe.error?.message).toContain('ws://<this host>/rpc/eth')
    expect((await h.call('eth_unsubscribe', ['0x1'])).error?.data).toMatchObject({ code: 'SY_SUBSCRIPTION_NEEDS_WS' })
    expect((await h.call('eth_newPendingTransactionFilter')).error).toMatchObject({ code: -32601, data: { code: 'SY_METHOD_NOT_ALLOWED' } })
    expect(h.registry.size).toBe(0)
  })

  test('pending-transaction filters: fed by the chain\'s pending feed, bounded like the others, refused when no node offers it', async () => {
    const pendingListeners = new Set<(hash: string) => void>()
    let offered = true
    const clock = new ManualClock()
    const registry = new FilterRegistry({
      chain: 'eth',
      clock,
      limits: () => ({ maxPerClient: 2, maxPerChain: 5, idleTimeoutMs: 300_000, maxPendingChanges: 3, pendingPollIntervalMs: 1_000 }),
      heads: { subscribe: () => () => undefined },
      logs: undefined,
      pending: {
        subscribe: async (listener) => {
          if (!offered) throw new ProxyError('SY_PENDING_NOT_OFFERED', 'no routable node of chain eth offers pending transactions')
          pendingListeners.add(listener)
          return () => pendingListeners.delete(listener)
        },
      },
      getLogs: async () => ({ result: [] }),
    })
    const call = (method: string, params: unknown[] = []) => registry.handle({ method, params }, 'alice')
    const { result: id } = await call('eth_newPendingTransactionFilter')
    expect(id).toMatch(/^0x[0-9a-f]{32}$/)
    pendingListeners.forEach((listener) => listener('0xaa'))
    expect((await call('eth_getFilterChanges', [id])).result).toEqual(['0xaa'])
    expect((await call('eth_getFilterChanges', [id])).result).toEqual([])
    // Past maxPendingChanges unpolled: dropped, and the feed listener with it.
    for (const hash of ['0x1', '0x2', '0x3', '0x4']) pendingListeners.forEach((listener) => listener(hash))
    expect((await call('eth_getFilterChanges', [id])).error?.data).toMatchObject({ code: 'SY_FILTER_NOT_FOUND' })
    expect(pendingListeners.size).toBe(0)
    offered = false
    expect((await call('eth_newPendingTransactionFilter')).error).toMatchObject({ code: -32601, data: { code: 'SY_PENDING_NOT_OFFERED' } })
    expect(registry.size).toBe(0)
    offered = true
    const { result: kept } = await call('eth_newPendingTransactionFilter')
    expect((await call('eth_uninstallFilter', [kept])).result).toBe(true)
    expect(pendingListeners.size).toBe(0)
  })

  test('close drops every filter and stops listening', async () => {
    const h = harness()
    await h.call('eth_newBlockFilter')
    await h.call('eth_newFilter', [{}])
    expect(h.headListeners.size + h.logListeners.size).toBe(2)
    h.registry.close()
    expect(h.registry.size).toBe(0)
    expect(h.headListeners.size + h.logListeners.size).toBe(0)
  })
})
