/**
 * Blame the right party, against real anvil nodes: requests that every node refuses (too large,
 * malformed) and calls that take forever on every node (an infinite loop in eth_call) are the
 * request's fault: the client gets a clear error, no node's status changes, and a separate
 * wallet's cheap calls keep succeeding throughout.
 */
import { afterEach, describe, expect, test } from 'vitest'
import type { ProxyConfigInput } from '../../src/config/schema.js'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const DEV_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const LOOP_ADDRESS = '0x00000000000000000000000000000000000000aa'
/** JUMPDEST PUSH1 0 JUMP: loops until the gas runs out, and 0xffffffffff gas lasts hours. */
const INFINITE_LOOP_CODE = '0x5b600056'

let anvils: AnvilNode[] = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  // Stopping the nodes also ends any eth_call still looping inside them.
  await stopAll(anvils)
  anvils = []
})

const call = (method: string, params: unknown[] = [], id: number | string = 1) => ({ jsonrpc: '2.0', id, method, params })

async function anvilPool(options: { requestTimeoutMs?: number; server?: ProxyConfigInput['server'] } = {}): Promise<TestProxy> {
  anvils = await Promise.all([0, 1, 2].map((index) => startAnvil({ id: `eth-${index}` })))
  harness = await startTestProxy(
    {
      ...(options.server === undefined ? {} : { server: options.server }),
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          requestTimeoutMs: options.requestTimeoutMs ?? 2_000,
          health: { intervalMs: 200, timeoutMs: 1_000 },
          nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })),
        },
      },
    },
    { autoProbe: true },
  )
  return harness
}

function nodeFigures(proxy: TestProxy): Array<{ id: string; status: string; failures: number }> {
  return proxy.proxy.snapshot().chains[0]!.nodes.map((node) => ({ id: node.id, status: node.status, failures: node.failures }))
}

/** A wallet's cheap calls in a loop until `done()`; counts calls and failures. */
function wallet(proxy: TestProxy) {
  let stop = false
  const figures = { calls: 0, failures: 0, failuresSeen: [] as string[] }
  const loop = (async () => {
    while (!stop) {
      const method = figures.calls % 2 === 0 ? 'eth_blockNumber' : 'eth_getBalance'
      const response = await proxy.rpc('eth', call(method, method === 'eth_getBalance' ? [DEV_ADDRESS, 'latest'] : []))
      figures.calls += 1
      if (response.status !== 200 || response.json?.result === undefined) {
        figures.failures += 1
        figures.failuresSeen.push(response.text.slice(0, 200))
      }
    }
  })()
  return {
    figures,
    done: async () => {
      stop = true
      await loop
      return figures
    },
  }
}

describe('oversized and malformed requests never cost a node its status', () => {
  test('an eth_call with 2 MB of calldata, sent twice: SY_REQUEST_REJECTED, every node unchanged; with default limits SY_REQUEST_TOO_LARGE before any node', async () => {
    const proxy = await anvilPool({ server: { bodyLimitBytes: 16 * 1024 * 1024, maxCallBytes: 16 * 1024 * 1024 } })
    const before = nodeFigures(proxy)
    expect(before.map((node) => node.status)).toEqual(['healthy', 'healthy', 'healthy'])
    const walletRun = wallet(proxy)
    const data = `0x${'ab'.repeat(2 * 1024 * 1024)}`
    const replies = []
    for (let i = 0; i < 2; i++) {
      const response = await proxy.rpc('eth', call('eth_call', [{ to: DEV_ADDRESS, data }, 'latest'], i))
      replies.push(response)
      expect(response.status).toBe(400)
      expect(response.json.error).toMatchObject({ code: -32055, data: { code: 'SY_REQUEST_REJECTED', method: 'eth_call' } })
      expect(response.json.error.data.causes).toHaveLength(2)
      expect(response.text).not.toMatch(/127\.0\.0\.1/)
    }
    const walletFigures = await walletRun.done()
    // A probe round after the attempts: every node is still in, with no failure counted.
    await proxy.probe()
    const after = nodeFigures(proxy)
    expect(after).toEqual(before)
    expect(walletFigures.failures).toBe(0)
    recordFigure('blame.anvil.bigCalldata.requestsSent', replies.length)
    recordFigure('blame.anvil.bigCalldata.nodeCauses', replies[0]!.json.error.data.causes.join(' | '))
    recordFigure('blame.anvil.bigCalldata.walletCalls', walletFigures.calls)
    recordFigure('blame.anvil.bigCalldata.walletFailures', walletFigures.failures)
    recordFigure('blame.anvil.bigCalldata.statusesAfter', after.map((node) => `${node.id}:${node.status}/${node.failures}`).join(' '))
  })

  test('with the default server.maxCallBytes the same call is refused locally (SY_REQUEST_TOO_LARGE, 413)', async () => {
    const proxy = await anvilPool()
    const before = nodeFigures(proxy)
    const data = `0x${'ab'.repeat(2 * 1024 * 1024)}`
    const response = await proxy.rpc('eth', call('eth_call', [{ to: DEV_ADDRESS, data }, 'latest'], 'big'))
    expect(response.status).toBe(413)
    expect(response.json).toMatchObject({ jsonrpc: '2.0', id: 'big', error: { code: -32600, data: { code: 'SY_REQUEST_TOO_LARGE', limit: 1024 * 1024 } } })
    expect(response.attempts).toBe(0)
    expect(nodeFigures(proxy)).toEqual(before)
  })

  test('malformed requests get clear errors and never count against a node', async () => {
    const proxy = await anvilPool()
    const before = nodeFigures(proxy)
    const bodies: Array<{ body: unknown; expectError: (json: any, status: number) => void }> = [
      // Not JSON, not a request, not a method: the proxy answers itself.
      { body: '{"jsonrpc":"2.0","id":1,', expectError: (json, status) => expect([status, json.error.code]).toEqual([400, -32700]) },
      { body: { jsonrpc: '2.0', id: 1 }, expectError: (json, status) => expect([status, json.error.code]).toEqual([400, -32600]) },
      { body: { jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: 7 }, expectError: (json) => expect(json.error.code).toBe(-32600) },
      // Well-formed for the proxy, wrong for the node: the node's own verdict, passed through.
      { body: call('eth_getBalance', [1, 2, 3]), expectError: (json) => expect(json.error.code).toBe(-32602) },
      { body: call('eth_call', [{ to: 'not-an-address' }, 'latest']), expectError: (json) => expect(json.error.code).toBe(-32602) },
      { body: call('eth_getBlockByNumber', [{ nested: [[[]]] }, false]), expectError: (json) => expect(json.error.code).toBe(-32602) },
      { body: call('eth_getLogs', ['not a filter']), expectError: (json) => expect(json.error.code).toBe(-32602) },
    ]
    let sent = 0
    for (let round = 0; round < 5; round++) {
      for (const { body, expectError } of bodies) {
        const response = await proxy.rpc('eth', body)
        sent += 1
        expect(response.json.error, response.text).toBeDefined()
        expectError(response.json, response.status)
      }
    }
    await proxy.probe()
    const after = nodeFigures(proxy)
    expect(after).toEqual(before)
    recordFigure('blame.anvil.malformed.requestsSent', sent)
    recordFigure('blame.anvil.malformed.statusesAfter', after.map((node) => `${node.id}:${node.status}/${node.failures}`).join(' '))
  })
})

describe('calls that take forever on every node', () => {
  test('12 concurrent infinite-loop eth_calls → SY_CALL_TOO_HEAVY; statuses unchanged; a separate wallet\'s cheap calls succeed', async () => {
    const proxy = await anvilPool({ requestTimeoutMs: 1_000 })
    const before = nodeFigures(proxy)
    expect(before.map((node) => node.status)).toEqual(['healthy', 'healthy', 'healthy'])
    const walletRun = wallet(proxy)
    const loop = (id: number) =>
      proxy.rpc('eth', call('eth_call', [{ to: LOOP_ADDRESS, gas: '0xffffffffff' }, 'latest', { [LOOP_ADDRESS]: { code: INFINITE_LOOP_CODE } }], id))
    const responses = await Promise.all(Array.from({ length: 12 }, (_, id) => loop(id)))
    const walletFigures = await walletRun.done()
    const after = nodeFigures(proxy)
    recordFigure('blame.anvil.infiniteLoop.heavyCallsSent', responses.length)
    recordFigure('blame.anvil.infiniteLoop.codes', [...new Set(responses.map((response) => response.json.error?.data?.code))].join(','))
    recordFigure('blame.anvil.infiniteLoop.walletCalls', walletFigures.calls)
    recordFigure('blame.anvil.infiniteLoop.walletFailures', walletFigures.failures)
    recordFigure('blame.anvil.infiniteLoop.statusesAfter', after.map((node) => `${node.id}:${node.status}/${node.failures}`).join(' '))
    for (const response of responses) {
      expect(response.status).toBe(504)
      expect(response.json.error).toMatchObject({ code: -32056, data: { code: 'SY_CALL_TOO_HEAVY', method: 'eth_call', timeoutMs: 1_000 } })
    }
    expect(walletFigures.failuresSeen).toEqual([])
    expect(walletFigures.calls).toBeGreaterThan(0)
    expect(after.map((node) => node.status)).toEqual(['healthy', 'healthy', 'healthy'])
  })
})
