import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { ConfigError, loadConfigFile, parseConfig, parseConfigText } from './load-config.js'

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

describe('parseConfigText', () => {
  test('the shape from the issue loads, with env interpolation and family defaults', () => {
    const config = parseConfigText(issueExample, { BTC_A_PASS: 'plain', BTC_B_PASS: 'p#ss:w@rd' })
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8545, maxBatchSize: 100 })
    expect(config.chains.btc?.nodes[0]?.url).toBe('http://user:plain@10.0.0.2:8332')
    // Secrets with URL-special characters go in username/password, not the URL.
    expect(config.chains.btc?.nodes[1]).toMatchObject({ username: 'rpc', password: 'p#ss:w@rd' })
    expect(config.chains.eth?.health).toMatchObject({ intervalMs: 1000, maxLagBlocks: 3, failuresToDown: 3, successesToRecover: 2, headQuorum: 1 })
    expect(config.chains.btc?.health).toMatchObject({ intervalMs: 2000, maxLagBlocks: 1, staleAfterMs: 120_000 })
    expect(config.chains.btc?.confirmations).toBe(2)
    expect(config.chains.eth?.confirmations).toBe(12)
    expect(config.chains.eth?.nodes[0]).toMatchObject({ id: 'eth-a', weight: 1, provider: 'self', region: 'eu' })
  })

  test('JSON written to a .yaml file loads too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-config-'))
    const file = join(dir, 'config.yaml')
    const json = { chains: { eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] } } }
    await writeFile(file, JSON.stringify(json))
    const config = await loadConfigFile(file, {})
    expect(config.chains.eth?.chainId).toBe(31337)
  })

  test('headQuorum defaults to 2 with three or more nodes', () => {
    const nodes = ['a', 'b', 'c'].map((id) => ({ id, url: 'http://127.0.0.1:1' }))
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
    expect(found).toEqual(
      expect.arrayContaining([
        'chains.eth.nodes[1].url: environment variable MISSING is not set',
        expect.stringMatching(/^server\.port: /),
        'chains.eth.nodes[0].url: must be an http(s) URL',
        'chains.eth.nodes[1].wsUrl: must be a ws(s) URL',
        expect.stringMatching(/^chains\.btc\.health\.intervalMs: /),
        expect.stringMatching(/^chains\.btc\.nodes\[0\]: .*color/),
      ]),
    )
  })

  test('cross-field checks: duplicate ids, evm chainId, bitcoin network, wsUrl only on evm', () => {
    const found = problems(() =>
      parseConfig(
        {
          chains: {
            eth: { family: 'evm', nodes: [{ id: 'a', url: 'http://x' }, { id: 'a', url: 'http://y' }] },
            btc: { family: 'bitcoin', nodes: [{ id: 'b', url: 'http://x', wsUrl: 'ws://x' }] },
          },
        },
        {},
      ),
    )
    expect(found).toEqual([
      'chains.eth.nodes[1].id: duplicate node id "a"',
      'chains.eth.chainId: required for evm chains',
      'chains.btc.nodes[0].wsUrl: only evm nodes take a wsUrl',
      'chains.btc.network: required for bitcoin chains (or give genesisHash)',
    ])
  })

  test('${VAR:-default} and $${ escapes', () => {
    const config = parseConfigText('chains: { eth: { family: evm, chainId: 1, nodes: [ { id: a, url: "http://${HOST:-127.0.0.1}:1/$${literal}" } ] } }', {})
    expect(config.chains.eth?.nodes[0]?.url).toBe('http://127.0.0.1:1/${literal}')
  })

  test('invalid YAML and unreadable files are config errors', async () => {
    expect(problems(() => parseConfigText('chains: [', {}))[0]).toMatch(/^not valid YAML/)
    await expect(loadConfigFile('/nonexistent/switchyard.yaml', {})).rejects.toThrow(/cannot read the file \(ENOENT\)/)
  })

  test('no chains is an error', () => {
    expect(problems(() => parseConfig({ chains: {} }, {}))).toEqual(['chains: needs at least one chain'])
  })
})
