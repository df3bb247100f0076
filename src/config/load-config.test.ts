import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { bitcoinFamily } from '../../chains/bitcoin/index.js'
import { evmFamily } from '../../chains/evm/index.js'
import { type ConfigFamilies, ConfigError, type Env, loadConfigFile, parseConfig as parseWith, parseConfigText as parseTextWith } from './load-config.js'
import { recordFigure } from '../../test/support/figures.js'
import type { FamilyConfigSlice } from './schema.js'

const builtin: ConfigFamilies = { evm: evmFamily, bitcoin: bitcoinFamily }
const parseConfig = (raw: unknown, env: Env, families: ConfigFamilies = builtin) => parseWith(raw, env, '<object>', families)
const parseConfigText = (text: string, env: Env) => parseTextWith(text, env, '<text>', builtin)

const issueExample = `
server: { host: 127.0.0.1, port: 8545 }
chains:
  eth:
    family: evm
    chainId: 1
    health: { intervalMs: 1000, maxLagBlocks: 3 }
    nodes:
      - { id: eth-a, url: "http://10.0.0.1:8545", wsUrl: "ws://10.0.0.1:8546", weight: 1, provider: self, region: eu }
  btc:
    family: bitcoin
    network: mainnet
    nodes:
      - { id: btc-a, url: "http://user:\${BTC_A_PASS}@10.0.0.2:8332", provider: self }
      - { id: btc-b, url: "http://10.0.0.3:8332", username: rpc, password: "\${BTC_B_PASS}" }
`

function problems(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

const node = (id: string, extra: Record<string, unknown> = {}) => ({ id, url: 'http://127.0.0.1:1', ...extra })

describe('parseConfigText', () => {
  test('the shape from the issue loads, with env interpolation and family defaults', () => {
    const config = parseConfigText(issueExample, { BTC_A_PASS: 'plain', BTC_B_PASS: 'p#ss:w@rd' })
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8545, maxBatchSize: 100 })
    expect(config.chains.btc?.nodes[0]?.url).toBe('http://user:plain@10.0.0.2:8332')
    // Secrets with URL-special characters go in username/password, not the URL.
    expect(config.chains.btc?.nodes[1]).toMatchObject({ username: 'rpc', password: 'p#ss:w@rd' })
    expect(config.chains.eth?.health).toMatchObject({ intervalMs: 1000, maxLagBlocks: 3, failuresToDown: 3, successesToRecover: 2, headQuorum: 1 })
    expect(config.chains.btc?.health).toMatchObject({ intervalMs: 2000, maxLagBlocks: 1, staleAfterMs: 120_000 })
    expect(config.chains.eth?.health.staleAfterMs).toBe(15_000)
    expect(config.chains.btc?.confirmations).toBe(2)
    expect(config.chains.eth?.confirmations).toBe(12)
    expect(config.chains.eth?.nodes[0]).toMatchObject({ id: 'eth-a', weight: 1, provider: 'self', region: 'eu', wsUrl: 'ws://10.0.0.1:8546' })
    // Family options stay flat, with the family's own defaults.
    expect(config.chains.eth).toMatchObject({ chainId: 1, maxLogsRange: 10_000, broadcast: { allowUnprotected: false, fanout: 3 } })
    expect(config.chains.btc).toMatchObject({ network: 'mainnet' })
    expect(config.chains.btc).not.toHaveProperty('maxLogsRange')
    expect(config.chains.btc?.broadcast).not.toHaveProperty('allowUnprotected')
  })

  test('JSON written to a .yaml file loads too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-config-'))
    const file = join(dir, 'config.yaml')
    const json = { chains: { eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] } } }
    await writeFile(file, JSON.stringify(json))
    const config = await loadConfigFile(file, {}, builtin)
    expect(config.chains.eth?.chainId).toBe(31337)
  })

  test('headQuorum defaults to 2 with three or more nodes', () => {
    const nodes = ['a', 'b', 'c'].map((id) => node(id))
    const config = parseConfig({ chains: { eth: { family: 'evm', chainId: 1, nodes } } }, {})
    expect(config.chains.eth?.health.headQuorum).toBe(2)
  })

  test('every problem is reported with its path', () => {
    const text = `
server: { port: 70000 }
chains:
  eth:
    family: evm
    nodes:
      - { id: a, url: "ftp://x" }
      - { id: a, url: "http://\${MISSING}" , wsUrl: "http://nope" }
  btc:
    family: bitcoin
    health: { intervalMs: -5 }
    nodes:
      - { id: b, url: "http://x", wsUrl: "ws://x", color: blue }
`
    const found = problems(() => parseConfigText(text, {}))
    expect([...found].sort()).toEqual(
      [
        'chains.eth.nodes[1].url: environment variable MISSING is not set',
        // The unset variable left "http://", which is no URL either.
        'chains.eth.nodes[1].url: must be an http(s) URL',
        'server.port: Too big: expected number to be <=65535',
        'chains.eth.chainId: required for evm chains',
        'chains.eth.nodes[0].url: must be an http(s) URL',
        'chains.eth.nodes[1].wsUrl: must be a ws(s) URL',
        'chains.eth.nodes[1].id: duplicate node id "a"',
        'chains.btc.health.intervalMs: Too small: expected number to be >0',
        'chains.btc.network: required for bitcoin chains (or give genesisHash)',
        'chains.btc.nodes[0].wsUrl: not an option of bitcoin nodes (only evm nodes take it)',
        'chains.btc.nodes[0].color: not an option of bitcoin nodes',
      ].sort(),
    )
  })

  test('cross-field checks: duplicate ids, evm chainId, bitcoin network, backoff range', () => {
    const found = problems(() =>
      parseConfig(
        {
          chains: {
            eth: { family: 'evm', health: { readmitBackoffMaxMs: 1_000 }, nodes: [node('a'), node('a')] },
            btc: { family: 'bitcoin', nodes: [node('b')] },
            ltc: { family: 'bitcoin', network: 'litecoin-mainnet', nodes: [node('c')] },
            custom: { family: 'bitcoin', network: 'no-such-preset', genesisHash: 'ab'.repeat(32), nodes: [node('d')] },
          },
        },
        {},
      ),
    )
    expect(found).toEqual([
      'chains.eth.chainId: required for evm chains',
      'chains.eth.nodes[1].id: duplicate node id "a"',
      // The default base (5000) is above the 1000 given.
      'chains.eth.health.readmitBackoffMaxMs: must be at least readmitBackoffBaseMs',
      'chains.btc.network: required for bitcoin chains (or give genesisHash)',
      expect.stringMatching(/^chains\.ltc\.network: "litecoin-mainnet" is not a known preset \(mainnet, .*litecoin, .*\); give genesisHash instead$/),
    ])
  })

  test("an option of another family is named at its own path, with the families that take it", () => {
    const found = problems(() =>
      parseConfig(
        {
          chains: {
            btc: { family: 'bitcoin', network: 'regtest', chainId: 1, maxLogsRange: 5, broadcast: { allowUnprotected: true }, nodes: [node('b', { wsUrl: 'ws://x' })] },
            eth: { family: 'evm', chainId: 1, network: 'mainnet', nodes: [node('e', { cookieFile: '/x/.cookie', colour: 'red' })] },
          },
        },
        {},
      ),
    )
    expect([...found].sort()).toEqual(
      [
        'chains.btc.chainId: not an option of bitcoin chains (only evm chains take it)',
        'chains.btc.maxLogsRange: not an option of bitcoin chains (only evm chains take it)',
        'chains.btc.broadcast.allowUnprotected: not an option of bitcoin chains (only evm chains take it)',
        'chains.btc.nodes[0].wsUrl: not an option of bitcoin nodes (only evm nodes take it)',
        'chains.eth.network: not an option of evm chains (only bitcoin chains take it)',
        'chains.eth.nodes[0].cookieFile: not an option of evm nodes (only bitcoin nodes take it)',
        'chains.eth.nodes[0].colour: not an option of evm nodes',
      ].sort(),
    )
  })

  test('an unknown or missing family is a problem at chains.<name>.family, listed with the rest', () => {
    const found = problems(() =>
      parseConfig({ server: { port: -1 }, chains: { x: { family: 'foo', nodes: [] }, y: { nodes: [node('a')] }, eth: { family: 'evm', nodes: [node('a')] } } }, {}),
    )
    expect(found).toEqual([
      expect.stringMatching(/^server\.port: /),
      'chains.x.family: unknown family "foo" (known: evm, bitcoin)',
      'chains.y.family: required: one of evm, bitcoin',
      'chains.eth.chainId: required for evm chains',
    ])
    // Only the families given are known: a config of evm chains alone validates without bitcoin.
    expect(problems(() => parseConfig({ chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [node('a')] } } }, {}, { evm: evmFamily }))).toEqual([
      'chains.btc.family: unknown family "bitcoin" (known: evm)',
    ])
  })

  test('${VAR:-default} and $${ escapes', () => {
    const config = parseConfigText('chains: { eth: { family: evm, chainId: 1, nodes: [ { id: a, url: "http://${HOST:-127.0.0.1}:1/$${literal}" } ] } }', {})
    expect(config.chains.eth?.nodes[0]?.url).toBe('http://127.0.0.1:1/${literal}')
  })

  test('invalid YAML and unreadable files are config errors', async () => {
    expect(problems(() => parseConfigText('chains: [', {}))[0]).toMatch(/^not valid YAML/)
    await expect(loadConfigFile('/nonexistent/switchyard.yaml', {}, builtin)).rejects.toThrow(/cannot read the file \(ENOENT\)/)
  })

  test('no chains is an error', () => {
    expect(problems(() => parseConfig({ chains: {} }, {}))).toEqual(['chains: needs at least one chain'])
  })
})

describe('families bring their own options, defaults and checks', () => {
  // A family the core has never heard of: everything it owns comes from this object.
  const toy: FamilyConfigSlice = {
    name: 'toy',
    chainOptions: { magic: z.number().int().default(7), label: z.string().optional() },
    nodeOptions: { token: z.string().min(4).optional() },
    broadcastOptions: { dryRun: z.boolean().default(true) },
    defaults: { intervalMs: 500, maxLagBlocks: 9, staleAfterMs: 4_000, confirmations: 30, finalityDepth: 40 },
    checkChain: (chain) => (chain.label === 'forbidden' ? [{ path: ['label'], message: 'not that one' }] : []),
  }
  const families: ConfigFamilies = { ...builtin, toy }

  test('a third family validates through the same core, with its defaults', () => {
    const config = parseConfig({ chains: { t: { family: 'toy', nodes: [node('a', { token: 'abcd' })] } } }, {}, families)
    const chain = config.chains.t!
    expect(chain).toMatchObject({ family: 'toy', magic: 7, confirmations: 30, broadcast: { dryRun: true, fanout: 3 } })
    expect(chain.health).toMatchObject({ intervalMs: 500, timeoutMs: 500, maxLagBlocks: 9, staleAfterMs: 4_000 })
    expect(chain.nodes[0]).toMatchObject({ id: 'a', token: 'abcd', weight: 1 })
    // Explicit values win over the family's defaults.
    const tuned = parseConfig({ chains: { t: { family: 'toy', confirmations: 3, health: { maxLagBlocks: 1 }, nodes: [node('a')] } } }, {}, families)
    expect(tuned.chains.t).toMatchObject({ confirmations: 3, health: { maxLagBlocks: 1, intervalMs: 500 } })
  })

  test("its options are checked and its check runs; others' options are refused with a hint", () => {
    const found = problems(() =>
      parseConfig({ chains: { t: { family: 'toy', label: 'forbidden', magic: 'x', chainId: 1, nodes: [node('a', { token: 'ab' })] } } }, {}, families),
    )
    expect([...found].sort()).toEqual(
      [
        'chains.t.magic: Invalid input: expected number, received string',
        'chains.t.label: not that one',
        'chains.t.chainId: not an option of toy chains (only evm chains take it)',
        'chains.t.nodes[0].token: Too small: expected string to have >=4 characters',
      ].sort(),
    )
    // The evm family does not take the toy's options.
    expect(problems(() => parseConfig({ chains: { e: { family: 'evm', chainId: 1, magic: 1, nodes: [node('a')] } } }, {}, families))).toEqual([
      'chains.e.magic: not an option of evm chains (only toy chains take it)',
    ])
  })

  test('a family registered under another name, or redefining a core option, is a programming error', () => {
    expect(() => parseConfig({ chains: {} }, {}, { mine: toy })).toThrow('families.mine: the family is named "toy": register it under its own name')
    const clash: FamilyConfigSlice = { ...toy, chainOptions: { requestTimeoutMs: z.number() } }
    expect(() => parseConfig({ chains: {} }, {}, { toy: clash })).toThrow('family "toy": chain option "requestTimeoutMs" is a core option')
    const nodeClash: FamilyConfigSlice = { ...toy, nodeOptions: { url: z.string() } }
    expect(() => parseConfig({ chains: {} }, {}, { toy: nodeClash })).toThrow('family "toy": node option "url" is a core option')
  })
})

describe('the validated config is frozen', () => {
  test('a mutation anywhere inside throws (ES modules run in strict mode); the input stays the caller’s', () => {
    const raw = { chains: { eth: { family: 'evm', chainId: 1, nodes: [node('a')] } } }
    const config = parseConfig(raw, {})
    const eth = config.chains.eth!
    expect(() => {
      eth.health.intervalMs = 5
    }).toThrow(TypeError)
    expect(() => {
      eth.nodes.push(eth.nodes[0]!)
    }).toThrow(TypeError)
    expect(() => {
      ;(eth.nodes[0] as { weight: number }).weight = 2
    }).toThrow(TypeError)
    expect(() => {
      config.server.port = 1
    }).toThrow(TypeError)
    expect(() => {
      delete config.chains.eth
    }).toThrow(TypeError)
    expect(Object.isFrozen(config.clients)).toBe(true)
    expect(eth.health.intervalMs).toBe(1_000)
    // Only the result is frozen: the object the caller passed in can still be edited and parsed again.
    raw.chains.eth.nodes.push(node('b'))
    expect(parseConfig(raw, {}).chains.eth?.nodes.map((n) => n.id)).toEqual(['a', 'b'])
  })

  test('defaults are not shared between configs (freezing one leaves the next parse intact)', () => {
    const first = parseConfig({ chains: { eth: { family: 'evm', chainId: 1, nodes: [node('a')] } }, clients: [{ name: 'w', key: 'k'.repeat(16) }] }, {})
    const second = parseConfig({ chains: { eth: { family: 'evm', chainId: 1, nodes: [node('a')] } }, clients: [{ name: 'w', key: 'k'.repeat(16) }] }, {})
    expect(second.clients[0]?.methods).not.toBe(first.clients[0]?.methods)
    expect(second.server.trustProxy).not.toBe(first.server.trustProxy)
  })
})

test('a 1,000-node config validates in one pass (what a reload re-reads)', () => {
  const nodes = (prefix: string) => Array.from({ length: 500 }, (_, index) => node(`${prefix}-${index}`, prefix === 'eth' ? { wsUrl: `ws://10.0.${index >> 8}.${index & 255}:8546` } : { cookieFile: `/n/${index}/.cookie` }))
  const raw = { chains: { eth: { family: 'evm', chainId: 1, nodes: nodes('eth') }, btc: { family: 'bitcoin', network: 'mainnet', nodes: nodes('btc') } } }
  parseConfig(raw, {}) // the schema for these families is built once, then reused
  const started = performance.now()
  const config = parseConfig(raw, {})
  const elapsedMs = performance.now() - started
  expect(config.chains.eth?.nodes).toHaveLength(500)
  expect(config.chains.btc?.nodes[499]).toMatchObject({ id: 'btc-499', cookieFile: '/n/499/.cookie' })
  expect(Object.isFrozen(config.chains.btc?.nodes[499])).toBe(true)
  recordFigure('config.validate1000NodesMs', Math.round(elapsedMs * 10) / 10)
})
