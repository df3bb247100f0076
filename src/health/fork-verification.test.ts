/**
 * Reads only ever reach heights a fork check verified: the real prober, a verifying pool, the real
 * router and read path and the bitcoin adapter's read rules, over scripted nodes whose block-hash
 * look-ups can be made to fail (what a loaded node does: times out). The case these pin down: a
 * round whose look-ups fail must not let a forked node's blocks reach a wallet.
 */
import { describe, expect, test } from 'vitest'
import { createBitcoinAdapter } from '../../chains/bitcoin/bitcoin-adapter.js'
import { parseConfig } from '../../test/support/parse-test-config.js'
import type { ChainAdapter, ProbeObservation } from '../chain-adapter.js'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import { NodePool } from '../pool/node-pool.js'
import { ProxyEvents } from '../proxy-events.js'
import { routeRead } from '../routing/read-path.js'
import { Router } from '../routing/router.js'
import type { CallOutcome, NodeTransport } from '../upstream/node-transport.js'
import { ManualClock } from '../util/clock.js'
import { Prober } from './prober.js'

interface NodeState {
  height: number
  hashes: Map<number, string>
  /** The fork check's look-ups fail (time out) on this node. */
  lookupsFail: boolean
  /** The probe fails (the node is unreachable). */
  down: boolean
}

function chainOf(ids: string[]) {
  const config = parseConfig({
    chains: { btc: { family: 'bitcoin', network: 'regtest', health: { maxLagBlocks: 2 }, nodes: ids.map((id) => ({ id, url: `http://127.0.0.1:1/${id}` })) } },
    journal: { path: ':memory:' },
  })
  const chain = config.chains.btc!
  const state = new Map<string, NodeState>(ids.map((id) => [id, { height: 0, hashes: new Map(), lookupsFail: false, down: false }]))
  const setChain = (id: string, height: number, branch: string, from = 0) => {
    const node = state.get(id)!
    node.height = height
    for (let h = from; h <= height; h++) node.hashes.set(h, `${branch}-${h}`)
  }
  for (const id of ids) setChain(id, 10, 'main')
  const answered: string[] = []
  const transport = (id: string): NodeTransport => ({
    nodeId: id,
    async call(call: RpcCall): Promise<CallOutcome> {
      const node = state.get(id)!
      answered.push(id)
      let answer: RpcAnswer
      if (call.method === 'getblockhash') {
        const hash = node.hashes.get(Number((call.params as unknown[])[0]))
        answer = hash === undefined || Number((call.params as unknown[])[0]) > node.height ? { error: { code: -8, message: 'Block height out of range' } } : { result: hash }
      } else if (call.method === 'getblockcount') answer = { result: node.height }
      else answer = { error: { code: -32601, message: 'Method not found' } }
      return { ok: true, answer, latencyMs: 1 }
    },
    close: async () => undefined,
  })
  const transports = new Map(ids.map((id) => [id, transport(id)]))
  const events = new ProxyEvents()
  const pool = new NodePool(chain, transports, events, new ManualClock(), { verifiesForks: true })
  const real = createBitcoinAdapter(chain)
  // The probe and the hash look-up read the scripted state; everything else is the real adapter.
  const adapter: ChainAdapter = {
    ...real,
    probe: async (node): Promise<ProbeObservation> => {
      const s = state.get(node.nodeId)!
      if (s.down) return { kind: 'failed', failure: { kind: 'timeout', message: 'probe timed out' }, latencyMs: 1 }
      return { kind: 'ok', height: s.height, syncing: false, latencyMs: 1 }
    },
    blockHashAt: async (node, height) => {
      const s = state.get(node.nodeId)!
      return s.lookupsFail || height > s.height ? undefined : s.hashes.get(height)
    },
    probeTxIndex: undefined,
  }
  // Cycles through the candidates, so every routable node gets its turn across a few reads.
  let turn = 0
  const router = new Router(pool, adapter, () => (turn++ % 7) / 7)
  const prober = new Prober(pool, adapter)
  const read = (call: RpcCall) => routeRead({ pool, router, adapter, events }, call)
  /** `count` reads of `call`: the answers given, by node. */
  const readMany = async (call: RpcCall, count = 21) => {
    const results = []
    for (let i = 0; i < count; i++) {
      const result = await read(call)
      results.push(result.ok ? { nodeId: result.nodeId, result: result.answer.result, error: result.answer.error } : { nodeId: undefined, result: undefined, error: result.error.code })
    }
    return results
  }
  return { pool, prober, state, setChain, read, readMany, answered, status: (id: string) => pool.get(id)!.health.status }
}

describe('fork verification: reads stay on compared heights', () => {
  test('the majority\'s hash look-ups time out while a node forks: the read head stays at the last compared height, and no read gets the fork', async () => {
    const { pool, prober, state, setChain, readMany, status } = chainOf(['a', 'b', 'c'])
    await prober.tick()
    expect(pool.readHead).toBe(10)
    // c mines 2 blocks of its own at the heights the majority mined; a and b are too loaded to tell their hashes.
    setChain('a', 12, 'main')
    setChain('b', 12, 'main')
    setChain('c', 12, 'fork', 11)
    state.get('a')!.lookupsFail = true
    state.get('b')!.lookupsFail = true
    await prober.tick()
    expect(pool.head).toBe(12)
    expect(status('c')).toBe('healthy') // not caught yet: nothing could be compared
    expect(pool.readHead).toBe(10)
    const best = await readMany({ method: 'getbestblockhash', params: [] })
    expect(new Set(best.map((answer) => answer.result))).toEqual(new Set(['main-10']))
    const count = await readMany({ method: 'getblockcount', params: [] })
    expect(new Set(count.map((answer) => answer.result))).toEqual(new Set([10]))
    // A wallet asking for the new height itself gets the agreed block (or an error), never c's.
    const at12 = await readMany({ method: 'getblockhash', params: [12] })
    expect(at12.map((answer) => answer.result).filter((result) => result !== undefined)).toContain('main-12')
    expect(at12.some((answer) => answer.result === 'fork-12')).toBe(false)
    // The look-ups answer again: c is caught and the read head moves on.
    state.get('a')!.lookupsFail = false
    state.get('b')!.lookupsFail = false
    await prober.tick()
    expect(status('c')).toBe('forked')
    expect(pool.readHead).toBe(12)
    const after = await readMany({ method: 'getbestblockhash', params: [] })
    expect(new Set(after.map((answer) => answer.result))).toEqual(new Set(['main-12']))
  })

  test('a node that could not tell its hash is not asked above where it was last verified', async () => {
    const { pool, prober, state, setChain, readMany, status } = chainOf(['a', 'b', 'c'])
    await prober.tick()
    setChain('a', 12, 'main')
    setChain('b', 12, 'main')
    setChain('c', 12, 'fork', 11)
    state.get('c')!.lookupsFail = true
    await prober.tick()
    expect(status('c')).toBe('healthy')
    expect(pool.readHead).toBe(12)
    expect(pool.servableHeight(pool.get('c')!)).toBe(10)
    const best = await readMany({ method: 'getbestblockhash', params: [] })
    expect(new Set(best.map((answer) => answer.nodeId))).toEqual(new Set(['a', 'b']))
    expect(new Set(best.map((answer) => answer.result))).toEqual(new Set(['main-12']))
    // Below where c was verified it serves as before.
    const old = await readMany({ method: 'getblockhash', params: [9] })
    expect(new Set(old.map((answer) => answer.nodeId))).toEqual(new Set(['a', 'b', 'c']))
  })

  test('one node a block behind does not hold reads back: the head is compared among the nodes that have it', async () => {
    const { pool, prober, setChain } = chainOf(['a', 'b', 'c'])
    await prober.tick()
    setChain('a', 12, 'main')
    setChain('b', 12, 'main')
    setChain('c', 11, 'main')
    await prober.tick()
    expect(pool.readHead).toBe(12)
    expect(pool.servableHeight(pool.get('c')!)).toBe(11)
  })

  test('a pushed head is not served until a round compares it', async () => {
    const { pool, prober, setChain } = chainOf(['a', 'b', 'c'])
    await prober.tick()
    for (const id of ['a', 'b', 'c']) setChain(id, 11, 'main')
    pool.applyPushedHeight(pool.get('a')!, 11)
    pool.applyPushedHeight(pool.get('b')!, 11)
    expect(pool.head).toBe(11)
    expect(pool.readHead).toBe(10)
    await prober.tick()
    expect(pool.readHead).toBe(11)
  })

  test('nothing to compare: the one routable node left is served rather than freezing the chain', async () => {
    // Two nodes: the head quorum is 1, so the survivor's height is the head.
    const { pool, prober, state, setChain, status } = chainOf(['a', 'b'])
    await prober.tick()
    state.get('b')!.down = true
    setChain('a', 11, 'main')
    // While b still counts as routable (failures not yet at failuresToDown), a's word is not enough.
    await prober.tick()
    expect(status('b')).toBe('healthy')
    expect(pool.head).toBe(11)
    expect(pool.readHead).toBe(10)
    for (let i = 0; i < 3; i++) await prober.tick()
    expect(status('b')).toBe('down')
    expect(pool.readHead).toBe(11)
  })
})
