import { describe, expect, test } from 'vitest'
import type { ChainAdapter, ProbeObservation } from '../chain-adapter.js'
import { parseConfig } from '../../test/support/parse-test-config.js'
import { NodePool } from '../pool/node-pool.js'
import { type ProxyEventMap, ProxyEvents } from '../proxy-events.js'
import type { NodeTransport } from '../upstream/node-transport.js'
import { ManualClock } from '../util/clock.js'
import { ProbePacer } from './probe-pacer.js'
import { Prober } from './prober.js'

function setup(probe: () => Promise<ProbeObservation>) {
  const config = parseConfig({ chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] } } }, {})
  const chain = config.chains.eth!
  const transport: NodeTransport = { nodeId: 'a', call: async () => ({ ok: true, answer: { result: null }, latencyMs: 0 }), close: async () => undefined }
  const pool = new NodePool(chain, new Map([['a', transport]]), new ProxyEvents(), new ManualClock())
  const adapter = { probe } as unknown as ChainAdapter
  return { pool, prober: new Prober(pool, adapter) }
}

describe('Prober', () => {
  test('a round starts its node probes through the pacer: perTurn at once, the rest on later turns', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e']
    const config = parseConfig({ chains: { eth: { family: 'evm', chainId: 1, health: { forkCheck: false }, nodes: ids.map((id) => ({ id, url: `http://127.0.0.1:1/${id}` })) } } }, {})
    const transports = new Map<string, NodeTransport>(ids.map((id) => [id, { nodeId: id, call: async () => ({ ok: true, answer: { result: null }, latencyMs: 0 }), close: async () => undefined }]))
    const pool = new NodePool(config.chains.eth!, transports, new ProxyEvents(), new ManualClock())
    const turnEnds: Array<() => void> = []
    const pacer = new ProbePacer({ perTurn: 2, nextTurn: () => new Promise<void>((resolve) => turnEnds.push(resolve)) })
    const probed: string[] = []
    const adapter = {
      probe: async (node: NodeTransport): Promise<ProbeObservation> => {
        probed.push(node.nodeId)
        return { kind: 'ok', height: 7, syncing: false, latencyMs: 1 }
      },
    } as unknown as ChainAdapter
    const round = new Prober(pool, adapter, pacer).tick()
    await new Promise((resolve) => setImmediate(resolve))
    expect(probed).toEqual(['a', 'b'])
    turnEnds.shift()!()
    await new Promise((resolve) => setImmediate(resolve))
    expect(probed).toEqual(['a', 'b', 'c', 'd'])
    turnEnds.shift()!()
    await round
    expect(probed).toEqual(ids)
    expect(pool.nodes.map((node) => node.health.height)).toEqual([7, 7, 7, 7, 7])
  })

  test('tick() during a running round queues exactly one fresh round; rounds never overlap', async () => {
    let active = 0
    let maxActive = 0
    let started = 0
    const releases: Array<() => void> = []
    const { pool, prober } = setup(async () => {
      started += 1
      active += 1
      maxActive = Math.max(maxActive, active)
      await new Promise<void>((resolve) => releases.push(resolve))
      active -= 1
      return { kind: 'ok', height: started, syncing: false, latencyMs: 1 }
    })
    const first = prober.tick()
    const second = prober.tick()
    const third = prober.tick()
    expect(second).toBe(third)
    expect(started).toBe(1)
    releases.shift()!()
    await first
    // The queued round starts only after the first finished, and sees the node as it is now.
    await Promise.resolve()
    await new Promise((resolve) => setImmediate(resolve))
    expect(started).toBe(2)
    releases.shift()!()
    await second
    expect(maxActive).toBe(1)
    expect(pool.probeRounds).toBe(2)
    expect(pool.nodes[0]!.health.height).toBe(2)
  })

  test('an adapter that throws is recorded as a failed probe, not a crash', async () => {
    const { pool, prober } = setup(async () => {
      throw new Error('boom')
    })
    await prober.tick()
    expect(pool.nodes[0]!.health.consecutiveFailures).toBe(1)
    expect(pool.nodes[0]!.health.lastError).toBe('probe of a failed: boom')
  })

  test('stop() leaves no timer behind and waits for a running round', async () => {
    let release: () => void = () => undefined
    const { prober } = setup(async () => {
      await new Promise<void>((resolve) => (release = resolve))
      return { kind: 'ok', height: 1, syncing: false, latencyMs: 1 }
    })
    prober.start()
    await new Promise((resolve) => setTimeout(resolve, 0)) // the first scheduled round begins
    const stopped = prober.stop()
    let done = false
    void stopped.then(() => (done = true))
    await Promise.resolve()
    expect(done).toBe(false)
    release()
    await stopped
    expect(done).toBe(true)
  })
})

/**
 * A scripted chain of `ids` nodes: each node's height, block hashes, chainwork and txindex are set
 * by the test; the adapter reads them like a real one would from its node.
 */
function scripted(ids: string[], health: Record<string, unknown> = {}, family: 'evm' | 'bitcoin' = 'evm', options: { headHashes?: boolean } = {}) {
  const nodes = ids.map((id) => ({ id, url: `http://127.0.0.1:1/${id}` }))
  const chainInput = family === 'evm' ? { family, chainId: 1, health, nodes } : { family, network: 'regtest', health, nodes }
  const config = parseConfig({ chains: { c: chainInput } }, {})
  const chain = config.chains.c!
  const transports = new Map(ids.map((id) => [id, { nodeId: id, call: async () => ({ ok: true, answer: { result: null }, latencyMs: 0 }), close: async () => undefined } as NodeTransport]))
  const clock = new ManualClock()
  const events = new ProxyEvents()
  const pool = new NodePool(chain, transports, events, clock)
  const state = new Map(ids.map((id) => [id, { height: 10, hashes: new Map<number, string>(), chainwork: undefined as string | undefined, txindex: undefined as boolean | undefined, pruned: undefined as boolean | undefined }]))
  const calls = { blockHashAt: 0, probeTxIndex: 0 }
  const setChain = (id: string, height: number, branch: string, from = 0) => {
    const node = state.get(id)!
    node.height = height
    for (let h = from; h <= height; h++) node.hashes.set(h, `${branch}-${h}`)
  }
  for (const id of ids) setChain(id, 10, 'main')
  const adapter = {
    family,
    probe: async (node: NodeTransport): Promise<ProbeObservation> => {
      const s = state.get(node.nodeId)!
      const headHash = options.headHashes === true ? s.hashes.get(s.height) : undefined
      return { kind: 'ok', height: s.height, syncing: false, latencyMs: 1, chainwork: s.chainwork, pruned: s.pruned, pruneHeight: s.pruned ? 5 : undefined, headHash }
    },
    blockHashAt: async (node: NodeTransport, height: number) => {
      calls.blockHashAt += 1
      return state.get(node.nodeId)!.hashes.get(height)
    },
    probeTxIndex: async (node: NodeTransport) => {
      calls.probeTxIndex += 1
      return state.get(node.nodeId)!.txindex
    },
  } as unknown as ChainAdapter
  const prober = new Prober(pool, adapter)
  const seen: { [K in keyof ProxyEventMap]?: Array<ProxyEventMap[K][0]> } = {}
  const record = <K extends keyof ProxyEventMap>(name: K): Array<ProxyEventMap[K][0]> => {
    const list: Array<ProxyEventMap[K][0]> = []
    seen[name] = list as never
    events.on(name, ((event: ProxyEventMap[K][0]) => list.push(event)) as never)
    return list
  }
  const status = (id: string) => pool.get(id)!.health.status
  return { pool, prober, state, setChain, calls, clock, record, status }
}

describe('Prober: fork check', () => {
  test('a node off the majority\'s chain is forked in the same round, never routed, and re-admitted after it agrees again', async () => {
    const { pool, prober, setChain, record, status } = scripted(['a', 'b', 'c'])
    const forks = record('chain:fork')
    const rounds = record('probe:complete')
    await prober.tick()
    expect(['a', 'b', 'c'].map(status)).toEqual(['healthy', 'healthy', 'healthy'])
    setChain('c', 11, 'other', 6)
    setChain('a', 11, 'main')
    setChain('b', 11, 'main')
    await prober.tick()
    expect(status('c')).toBe('forked')
    expect(pool.get('c')!.health.reason).toBe('block 11 is other-11 here, main-11 on the majority (2 of 3 nodes)')
    // The round's probe:complete already counts c out.
    expect(rounds.at(-1)!.routable).toBe(2)
    expect(forks).toEqual([{ chain: 'c', height: 11, groups: [{ hash: 'main-11', nodes: ['a', 'b'] }, { hash: 'other-11', nodes: ['c'] }], resolved: true, at: expect.any(Number) }])
    expect(pool.snapshot().fork).toMatchObject({ height: 11, resolved: true, decidedBy: 'majority', agreementRequiredFrom: null })
    // Same split next round: no new event.
    await prober.tick()
    expect(forks).toHaveLength(1)
    expect(status('c')).toBe('forked')
    // c takes the majority's branch.
    setChain('c', 11, 'main')
    await prober.tick()
    expect(status('c')).toBe('forked')
    expect(forks).toHaveLength(2)
    expect(forks[1]).toMatchObject({ resolved: true, groups: [{ hash: 'main-11', nodes: ['a', 'b', 'c'] }] })
    expect(pool.snapshot().fork).toBeNull()
    await prober.tick()
    await prober.tick()
    expect(status('c')).toBe('healthy')
  })

  test('no majority: nobody is ejected, reads from that height need agreeing nodes, and the snapshot says so', async () => {
    const { pool, prober, setChain, record, status } = scripted(['a', 'b'])
    const forks = record('chain:fork')
    await prober.tick()
    setChain('b', 10, 'other', 8)
    await prober.tick()
    expect([status('a'), status('b')]).toEqual(['healthy', 'healthy'])
    expect(pool.agreementRequiredFrom).toBe(10)
    expect(forks).toEqual([expect.objectContaining({ height: 10, resolved: false })])
    expect(pool.snapshot().fork).toMatchObject({ height: 10, resolved: false, decidedBy: null, agreementRequiredFrom: 10 })
    setChain('b', 10, 'main')
    await prober.tick()
    expect(pool.agreementRequiredFrom).toBeUndefined()
    expect(pool.snapshot().fork).toBeNull()
    expect(forks).toHaveLength(2)
  })

  test('bitcoin without a majority: the most chainwork is canonical', async () => {
    const { prober, setChain, state, status } = scripted(['a', 'b'], {}, 'bitcoin')
    state.get('a')!.chainwork = '0100'
    state.get('b')!.chainwork = '0100'
    await prober.tick()
    setChain('b', 10, 'other', 8)
    state.get('b')!.chainwork = '0101'
    await prober.tick()
    expect([status('a'), status('b')]).toEqual(['forked', 'healthy'])
  })

  test('a node far ahead is checked at the common height too: forked wins over ahead', async () => {
    const { prober, setChain, status } = scripted(['a', 'b', 'x'])
    await prober.tick()
    setChain('x', 500, 'rogue', 10)
    await prober.tick()
    expect(status('x')).toBe('forked')
  })

  test('a reorg of the majority emits chain:reorg with its depth', async () => {
    const { prober, setChain, record } = scripted(['a', 'b', 'c'])
    const reorgs = record('chain:reorg')
    await prober.tick()
    for (const id of ['a', 'b', 'c']) setChain(id, 12, 'main')
    await prober.tick() // remembers 12, and 11 passed in between
    // Everyone moves to a longer branch forking after 10: blocks 11 and up are replaced.
    for (const id of ['a', 'b', 'c']) setChain(id, 14, 'side', 11)
    await prober.tick()
    expect(reorgs).toEqual([{ chain: 'c', height: 11, depth: 4, oldHash: 'main-11', newHash: 'side-11', at: expect.any(Number) }])
    await prober.tick()
    expect(reorgs).toHaveLength(1)
  })

  test("with the probes' head hashes, rounds with every node at the head make no look-up, and a fork at the head is still seen", async () => {
    const { prober, setChain, calls, status, pool } = scripted(['a', 'b', 'c'], {}, 'evm', { headHashes: true })
    await prober.tick()
    await prober.tick()
    expect(calls.blockHashAt).toBe(0)
    expect(pool.readHead).toBe(10)
    for (const id of ['a', 'b']) setChain(id, 11, 'main')
    setChain('c', 11, 'other', 11)
    await prober.tick()
    expect(status('c')).toBe('forked')
    expect(pool.readHead).toBe(11)
    // A new canonical height is checked for a reorg below it: the agreeing nodes' block at the
    // last remembered height (10) is looked up, once per new height.
    expect(calls.blockHashAt).toBe(2)
    await prober.tick()
    expect(calls.blockHashAt).toBe(2)
    expect(status('c')).toBe('forked')
  })

  test('health.forkCheck false: no hash look-ups, nobody forked', async () => {
    const { prober, setChain, calls, status } = scripted(['a', 'b', 'c'], { forkCheck: false })
    setChain('c', 10, 'other', 1)
    await prober.tick()
    await prober.tick()
    expect(calls.blockHashAt).toBe(0)
    expect(status('c')).toBe('healthy')
  })
})

describe('Prober: capabilities', () => {
  test('pruning every round; txindex at admission and every capabilitiesIntervalMs; shown in the snapshot', async () => {
    const { pool, prober, state, calls, clock } = scripted(['a', 'b'], { capabilitiesIntervalMs: 60_000 })
    state.get('a')!.txindex = true
    state.get('b')!.txindex = false
    state.get('b')!.pruned = true
    await prober.tick()
    expect(calls.probeTxIndex).toBe(2)
    expect(pool.snapshot().nodes.map((node) => [node.id, node.capabilities])).toEqual([
      ['a', { pruned: null, pruneHeight: null, txindex: true, archive: null, stateMissingBelow: null }],
      ['b', { pruned: true, pruneHeight: 5, txindex: false, archive: null, stateMissingBelow: null }],
    ])
    clock.advance(30_000)
    await prober.tick()
    expect(calls.probeTxIndex).toBe(2)
    state.get('a')!.txindex = false
    clock.advance(30_000)
    await prober.tick()
    expect(calls.probeTxIndex).toBe(4)
    expect(pool.get('a')!.capabilities.txindex).toBe(false)
  })

  test('a node that cannot tell keeps txindex undefined; capabilities never fail a probe', async () => {
    const { pool, prober, status } = scripted(['a'])
    await prober.tick()
    expect(pool.get('a')!.capabilities.txindex).toBeUndefined()
    expect(status('a')).toBe('healthy')
  })
})

describe('NodePool: evidence makes a node unreliable', () => {
  test('emptyAnswersToEject within evidenceWindowMs ejects; older evidence does not count; re-admission clears it', async () => {
    const { pool, prober, clock, status, record } = scripted(['a', 'b', 'c'], { emptyAnswersToEject: 3, evidenceWindowMs: 10_000, unreliableHoldMs: 20_000 })
    const states = record('node:state')
    await prober.tick()
    const a = pool.get('a')!
    pool.recordEmptyAnswer(a, 'eth_getTransactionReceipt 0x01')
    clock.advance(11_000)
    pool.recordEmptyAnswer(a, 'eth_getTransactionReceipt 0x02')
    pool.recordEmptyAnswer(a, 'eth_getTransactionReceipt 0x03')
    expect(status('a')).toBe('healthy')
    pool.recordEmptyAnswer(a, 'eth_getTransactionReceipt 0x04')
    expect(status('a')).toBe('unreliable')
    expect(states.at(-1)).toMatchObject({
      nodeId: 'a',
      to: 'unreliable',
      reason: 'answered empty 3 times where other nodes had the data; last: eth_getTransactionReceipt 0x04 (limit 3 in 10 s)',
    })
    await prober.tick()
    await prober.tick()
    expect(status('a')).toBe('unreliable')
    clock.advance(20_000)
    await prober.tick()
    expect(status('a')).toBe('healthy')
    expect(a.emptyAnswers).toEqual([])
  })

  test('disputesToEject lost verified reads eject too', async () => {
    const { pool, prober, status } = scripted(['a', 'b', 'c'], { disputesToEject: 2 })
    await prober.tick()
    pool.recordDispute(pool.get('b')!, 'getrawtransaction ab12…')
    pool.recordDispute(pool.get('b')!, 'getrawtransaction cd34…')
    expect(status('b')).toBe('unreliable')
    expect(pool.get('b')!.health.reason).toMatch(/^lost 2 verified-read disputes; last: getrawtransaction cd34…/)
  })
})
