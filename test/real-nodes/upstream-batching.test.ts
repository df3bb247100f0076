/**
 * Upstream batching (routing.batch) against real nodes: a client's calls that reach switchyard
 * together go to anvil and to bcoin as JSON-RPC batches, and every call gets exactly what the node
 * gives it when asked alone: results, node errors, and the calls that are never batched.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

let anvil: AnvilNode | undefined
let bcoin: BcoinNode | undefined
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await anvil?.stop()
  anvil = undefined
  await bcoin?.stop()
  bcoin = undefined
})

/** What the node answers when asked alone, straight over HTTP: its result, or its error's code and message. */
async function alone(nodeUrl: string, version: '1.0' | '2.0', method: string, params: unknown[]): Promise<unknown> {
  const url = new URL(nodeUrl)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (url.username !== '' || url.password !== '') headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
  url.username = ''
  url.password = ''
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: version, id: 1, method, params }) })
  const reply = (await response.json()) as { result?: unknown; error?: { code: number; message: string } | null }
  return shape(reply)
}

/** A reply entry as compared: its result, or its error's code and message (switchyard adds its own data). */
function shape(entry: { result?: unknown; error?: { code: number; message: string } | null }): unknown {
  return entry.error === undefined || entry.error === null ? { result: entry.result } : { error: { code: entry.error.code, message: entry.error.message } }
}

const address = (n: number): string => `0x${n.toString(16).padStart(40, '0')}`

describe('routing.batch against real nodes', () => {
  test('anvil: a client batch of reads goes to the node in batches; each answer and error is the one anvil gives alone; eth_call and eth_getLogs never share one', async () => {
    anvil = await startAnvil({ id: 'eth-a' })
    await anvil.mine(3)
    harness = await startTestProxy({ chains: { eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'eth-a', url: anvil.url }] } } }, { autoProbe: true })
    // A funded dev account, empty addresses, a block, a bad address (the node's own error), and two client-costed calls.
    const funded = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
    const calls: Array<[string, unknown[]]> = [
      ['eth_getBalance', [funded, 'latest']],
      ...Array.from({ length: 24 }, (_, index): [string, unknown[]] => ['eth_getBalance', [address(index + 1), 'latest']]),
      ['eth_getTransactionCount', [funded, 'latest']],
      ['eth_getBlockByNumber', ['0x2', false]],
      ['eth_getBalance', ['0x1234', 'latest']],
      ['eth_call', [{ to: address(1), data: '0x' }, 'latest']],
      ['eth_getLogs', [{ fromBlock: '0x0', toBlock: '0x3' }]],
    ]
    const response = await harness.rpc(
      'eth',
      calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params })),
    )
    expect(response.status).toBe(200)
    const entries = response.json as Array<{ id: number; result?: unknown; error?: { code: number; message: string } }>
    expect(entries.map((entry) => entry.id)).toEqual(calls.map((_, id) => id))
    const expected = await Promise.all(calls.map(([method, params]) => alone(anvil!.url, '2.0', method, params)))
    expect(entries.map(shape)).toEqual(expected)
    expect((expected[0] as { result: string }).result).not.toBe('0x0')
    expect(expected[27]).toHaveProperty('error')

    const batched = harness.proxy.snapshot().chains[0]!.batched
    expect(batched.batches).toBeGreaterThanOrEqual(2)
    // 28 cheap reads at most; eth_call and eth_getLogs went alone.
    expect(batched.calls).toBeGreaterThanOrEqual(4)
    expect(batched.calls).toBeLessThanOrEqual(28)
    expect(batched.refusedBy).toEqual([])
    recordFigure('batching.anvil.batches', batched.batches)
    recordFigure('batching.anvil.calls', batched.calls)

    // The counters on /metrics.
    const metrics = await (await fetch(`${harness.baseUrl}/metrics`)).text()
    expect(metrics).toContain(`switchyard_upstream_batches_total{chain="eth"} ${batched.batches}`)
    expect(metrics).toContain(`switchyard_upstream_batched_calls_total{chain="eth"} ${batched.calls}`)
  })

  test('bcoin (JSON-RPC 1.0): batched reads get the answers and the errors bcoin gives alone', async () => {
    bcoin = await startBcoin({ id: 'btc-a' })
    await bcoin.generate(5)
    harness = await startTestProxy(
      { chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'btc-a', url: bcoin.url }] } } },
      { autoProbe: true },
    )
    const tip = (await bcoin.rpc('getbestblockhash')) as string
    const calls: Array<[string, unknown[]]> = [
      ...Array.from({ length: 6 }, (_, height): [string, unknown[]] => ['getblockhash', [height]]),
      ['getblockheader', [tip, true]],
      ['getblockcount', []],
      ['getblockhash', [999]],
    ]
    const response = await harness.rpc(
      'btc',
      calls.map(([method, params], id) => ({ jsonrpc: '1.0', id, method, params })),
    )
    expect(response.status).toBe(200)
    const entries = response.json as Array<{ id: number; result?: unknown; error?: { code: number; message: string } | null }>
    const expected = await Promise.all(calls.map(([method, params]) => alone(bcoin!.url, '1.0', method, params)))
    expect(entries.map(shape)).toEqual(expected)
    expect(expected[8]).toHaveProperty('error')

    const batched = harness.proxy.snapshot().chains[0]!.batched
    expect(batched.batches).toBeGreaterThanOrEqual(1)
    expect(batched.refusedBy).toEqual([])
    recordFigure('batching.bcoin.batches', batched.batches)
    recordFigure('batching.bcoin.calls', batched.calls)
  })

  test('anvil with nodes[].batch false: the same client batch is answered the same, every read sent alone', async () => {
    anvil = await startAnvil({ id: 'eth-a' })
    await anvil.mine(2)
    harness = await startTestProxy({ chains: { eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'eth-a', url: anvil.url, batch: false }] } } }, { autoProbe: true })
    const calls = Array.from({ length: 8 }, (_, index): [string, unknown[]] => ['eth_getBalance', [address(index + 1), 'latest']])
    const response = await harness.rpc(
      'eth',
      calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params })),
    )
    const expected = await Promise.all(calls.map(([method, params]) => alone(anvil!.url, '2.0', method, params)))
    expect((response.json as Array<{ result?: unknown }>).map(shape)).toEqual(expected)
    // No read went in a batch (that probes go call by call too is the evm adapter test's, on a node that counts requests).
    expect(harness.proxy.snapshot().chains[0]!.batched).toEqual({ batches: 0, calls: 0, refusedBy: [] })
  })
})
