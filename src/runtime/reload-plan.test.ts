import { describe, expect, it } from 'vitest'
import { parseConfig } from '../index.js'
import type { ProxyConfigInput } from '../config/schema.js'
import { changedPaths, describeChange, planReload } from './reload-plan.js'

const base = (): ProxyConfigInput => ({
  journal: { path: ':memory:' },
  chains: {
    eth: {
      family: 'evm',
      chainId: 1,
      nodes: [
        { id: 'a', url: 'http://user:secret-a@127.0.0.1:1001' },
        { id: 'b', url: 'http://127.0.0.1:1002', weight: 2 },
      ],
    },
    btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'c', url: 'http://127.0.0.1:1003', password: 'hunter2' }] },
  },
})

/** Applies `edit` to a fresh copy of the base config and plans the reload from the base. */
function plan(edit: (config: any) => void) {
  const next = base()
  edit(next)
  return planReload(parseConfig(base()), parseConfig(next))
}

const chainPlan = (result: ReturnType<typeof plan>, chain: string) => result.chains.find((entry) => entry.chain === chain)!

describe('planReload', () => {
  it('keeps every runtime when nothing changed', () => {
    const result = plan(() => undefined)
    expect(result.changes).toEqual([])
    expect(result.restartRequired).toEqual([])
    expect(result.chains.map((entry) => entry.action)).toEqual(['keep', 'keep'])
  })

  it.each([
    {
      name: 'a weight change keeps health and connections',
      edit: (config: any) => (config.chains.eth.nodes[1].weight = 5),
      changes: [{ kind: 'node-changed', chain: 'eth', nodeId: 'b', fields: ['weight'], reconnected: false }],
      carry: ['a', 'b'],
      reuse: ['a', 'b'],
    },
    {
      // The switch is read per call (router) and per probe, not by the transport: the connection stays.
      name: 'turning a node\'s batches off keeps its health and connections',
      edit: (config: any) => (config.chains.eth.nodes[0].batch = false),
      changes: [{ kind: 'node-changed', chain: 'eth', nodeId: 'a', fields: ['batch'], reconnected: false }],
      carry: ['a', 'b'],
      reuse: ['a', 'b'],
    },
    {
      name: 'an added node starts fresh, the others carry over',
      edit: (config: any) => config.chains.eth.nodes.push({ id: 'n', url: 'http://127.0.0.1:1009' }),
      // Three nodes: the default head quorum becomes 2, and that is a change too.
      changes: [
        { kind: 'chain-changed', chain: 'eth', fields: ['health.headQuorum'] },
        { kind: 'node-added', chain: 'eth', nodeId: 'n' },
      ],
      carry: ['a', 'b'],
      reuse: ['a', 'b'],
    },
    {
      name: 'a removed node is reported, the rest carry over',
      edit: (config: any) => config.chains.eth.nodes.splice(1, 1),
      changes: [{ kind: 'node-removed', chain: 'eth', nodeId: 'b' }],
      carry: ['a'],
      reuse: ['a'],
    },
    {
      name: 'a new URL is a new node as far as health goes',
      edit: (config: any) => (config.chains.eth.nodes[0].url = 'http://user:other@127.0.0.1:2001'),
      changes: [{ kind: 'node-changed', chain: 'eth', nodeId: 'a', fields: ['url'], reconnected: true }],
      carry: ['b'],
      reuse: ['b'],
    },
    {
      name: 'a health setting keeps node history and connections',
      edit: (config: any) => (config.chains.eth.health = { maxLagBlocks: 9 }),
      changes: [{ kind: 'chain-changed', chain: 'eth', fields: ['health.maxLagBlocks'] }],
      carry: ['a', 'b'],
      reuse: ['a', 'b'],
    },
    {
      name: 'a new connection pool size keeps health but opens new connections',
      edit: (config: any) => (config.chains.eth.routing = { maxInFlightPerNode: 8 }),
      changes: [{ kind: 'chain-changed', chain: 'eth', fields: ['routing.maxInFlightPerNode'] }],
      carry: ['a', 'b'],
      reuse: [],
    },
    {
      name: 'cache options are tuning: health and connections carry over',
      edit: (config: any) => (config.chains.eth.cache = { maxBytes: 1024 }),
      changes: [{ kind: 'chain-changed', chain: 'eth', fields: ['cache.maxBytes'] }],
      carry: ['a', 'b'],
      reuse: ['a', 'b'],
    },
    {
      name: 'another chain id is another chain: nothing carries over',
      edit: (config: any) => (config.chains.eth.chainId = 5),
      changes: [{ kind: 'chain-changed', chain: 'eth', fields: ['chainId'] }],
      carry: [],
      reuse: [],
    },
  ])('$name', ({ edit, changes, carry, reuse }) => {
    const result = plan(edit)
    expect(result.changes).toEqual(changes)
    const eth = chainPlan(result, 'eth')
    expect(eth.action).toBe('rebuild')
    expect([...eth.carry].sort()).toEqual(carry)
    expect([...eth.reuseConnections].sort()).toEqual(reuse)
    expect(chainPlan(result, 'btc').action).toBe('keep')
  })

  it('adds and removes chains', () => {
    const result = plan((config) => {
      delete config.chains.btc
      config.chains.base = { family: 'evm', chainId: 8453, nodes: [{ id: 'x', url: 'http://127.0.0.1:1010' }] }
    })
    expect(result.changes).toEqual([
      { kind: 'chain-removed', chain: 'btc' },
      { kind: 'chain-added', chain: 'base' },
    ])
    expect(result.chains.map((entry) => [entry.chain, entry.action])).toEqual([
      ['btc', 'remove'],
      ['eth', 'keep'],
      ['base', 'add'],
    ])
  })

  it('reports clients by name and changed options by path, never values', () => {
    const before = { ...base(), clients: [{ name: 'hot-wallet', key: 'k'.repeat(32) }, { name: 'old', key: 'o'.repeat(32) }] }
    const after = { ...base(), clients: [{ name: 'hot-wallet', key: 'n'.repeat(32) }, { name: 'cold', key: 'c'.repeat(32) }], log: { level: 'debug' as const } }
    const result = planReload(parseConfig(before), parseConfig(after))
    expect(result.changes).toEqual([
      { kind: 'client-removed', client: 'old' },
      { kind: 'client-changed', client: 'hot-wallet', fields: ['key'] },
      { kind: 'client-added', client: 'cold' },
      { kind: 'settings-changed', fields: ['log.level'] },
    ])
    const text = JSON.stringify(result.changes) + result.changes.map(describeChange).join('\n')
    for (const secret of ['kkkk', 'nnnn', 'secret-a', 'hunter2', '127.0.0.1']) expect(text).not.toContain(secret)
  })

  it('keeps the journal store where it runs: switching to PostgreSQL, or its lease, needs a restart', () => {
    const result = plan((config) => {
      config.journal.store = 'postgres'
      config.journal.postgres = { url: 'postgres://switchyard:pw@db.internal:5432/switchyard' }
      config.journal.claimLeaseMs = 5_000
    })
    expect(result.restartRequired).toEqual(['journal.store', 'journal.postgres', 'journal.claimLeaseMs'])
    expect(result.effective.journal.store).toBe('sqlite')
    expect(JSON.stringify(result.changes)).not.toContain('db.internal')
  })

  it('keeps restart-only options at their running values and lists them', () => {
    const result = plan((config) => {
      config.server = { port: 9999, maxBatchSize: 7, workers: 4 }
      config.journal.path = '/elsewhere.sqlite'
      config.shutdown = { drainMs: 1 }
    })
    expect(result.restartRequired).toEqual(['server.port', 'server.workers', 'journal.path', 'shutdown.drainMs'])
    expect(result.effective.server.port).toBe(8545)
    expect(result.effective.server.workers).toBe(1)
    expect(result.effective.journal.path).toBe(':memory:')
    expect(result.effective.shutdown.drainMs).toBe(20_000)
    // A per-request limit applies at once.
    expect(result.effective.server.maxBatchSize).toBe(7)
    expect(result.changes).toEqual([{ kind: 'settings-changed', fields: ['server.maxBatchSize'] }])
  })

  it.each([
    {
      name: 'a changed chain listener keeps its running port and does not rebuild the chain',
      edit: (config: any) => {
        config.chains.btc.listen = { port: 18443 }
        config.chains.eth.listen = { port: 18545 }
      },
      before: (config: any) => (config.chains.btc.listen = { port: 18332 }),
      restart: ['chains.eth.listen', 'chains.btc.listen'],
      running: { btc: { host: '127.0.0.1', port: 18332 }, eth: undefined },
      actions: ['keep', 'keep'],
      again: true,
    },
    {
      name: 'a chain added with a listener is served at /rpc only until a restart',
      edit: (config: any) => (config.chains.ltc = { family: 'bitcoin', network: 'litecoin', listen: { port: 19332 }, nodes: [{ id: 'l', url: 'http://127.0.0.1:1004' }] }),
      before: () => undefined,
      restart: ['chains.ltc.listen'],
      running: { btc: undefined, eth: undefined, ltc: undefined },
      actions: ['keep', 'keep', 'add'],
      again: true,
    },
    {
      name: 'a removed chain whose listener runs is reported',
      edit: (config: any) => delete config.chains.btc,
      before: (config: any) => (config.chains.btc.listen = { port: 18332 }),
      restart: ['chains.btc.listen'],
      running: { eth: undefined },
      actions: ['remove', 'keep'],
      // The chain is gone from the running config: its old port answers SY_UNKNOWN_CHAIN until the restart.
      again: false,
    },
  ])('chains.*.listen is restart-only: $name', ({ edit, before, restart, running, actions, again }) => {
    const current = base()
    before(current)
    const next = structuredClone(current)
    edit(next)
    const result = planReload(parseConfig(current), parseConfig(next))
    expect(result.restartRequired).toEqual(restart)
    expect(Object.fromEntries(Object.entries(result.effective.chains).map(([name, chain]) => [name, chain.listen]))).toEqual(running)
    expect(result.chains.map((entry) => entry.action)).toEqual(actions)
    expect(result.changes.filter((change) => change.kind === 'chain-changed')).toEqual([])
    // A second reload of the same file still reports it: the running listener has not changed.
    expect(planReload(result.effective, parseConfig(next)).restartRequired).toEqual(again ? restart : [])
  })

  it('rebuilds every chain when a setting every broadcaster reads changes', () => {
    const result = plan((config) => (config.journal.maxOpenPerClient = 3))
    expect(result.chains.map((entry) => entry.action)).toEqual(['rebuild', 'rebuild'])
    expect([...chainPlan(result, 'eth').carry].sort()).toEqual(['a', 'b'])
  })
})

describe('changedPaths', () => {
  it('names leaf paths, treats arrays as values and ignores undefined keys', () => {
    expect(changedPaths({ a: { b: 1, c: [1, 2] }, d: undefined }, { a: { b: 2, c: [1, 2] } })).toEqual(['a.b'])
    expect(changedPaths({ list: [1] }, { list: [1, 2] })).toEqual(['list'])
    expect(changedPaths(1, 1)).toEqual([])
  })
})
