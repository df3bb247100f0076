import { expect, test } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config/load-config.js'
import { evmChainConfig, evmNodeConfig } from './evm-config.js'
import { evmFamily } from './evm-family.js'

// The evm family alone: the core knows nothing else.
const families = { evm: evmFamily }
const parse = (chain: Record<string, unknown>) => parseConfig({ chains: { eth: { family: 'evm', nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }], ...chain } } }, {}, '<test>', families)
function problems(chain: Record<string, unknown>): readonly string[] {
  try {
    parse(chain)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

test('its options, typed through the evm view, with their defaults and the evm numbers', () => {
  const chain = evmChainConfig(parse({ chainId: 10, nodes: [{ id: 'a', url: 'http://127.0.0.1:1', wsUrl: 'wss://x/ws' }] }).chains.eth!)
  const chainId: number = chain.chainId
  const maxLogsRange: number = chain.maxLogsRange
  const allowUnprotected: boolean = chain.broadcast.allowUnprotected
  expect({ chainId, maxLogsRange, allowUnprotected, genesisHash: chain.genesisHash }).toEqual({ chainId: 10, maxLogsRange: 10_000, allowUnprotected: false, genesisHash: undefined })
  expect(evmNodeConfig(chain.nodes[0]!).wsUrl).toBe('wss://x/ws')
  expect(chain).toMatchObject({ confirmations: 12, health: { intervalMs: 1_000, maxLagBlocks: 3, staleAfterMs: 15_000 } })
  expect(parse({ chainId: 1, maxLogsRange: 0, broadcast: { allowUnprotected: true } }).chains.eth).toMatchObject({ maxLogsRange: 0, broadcast: { allowUnprotected: true } })
})

test.each<{ name: string; chain: Record<string, unknown>; problems: string[] }>([
  { name: 'no chainId', chain: {}, problems: ['chains.eth.chainId: required for evm chains'] },
  { name: 'chainId not a positive integer', chain: { chainId: 0 }, problems: ['chains.eth.chainId: Too small: expected number to be >0'] },
  { name: 'chainId as a string', chain: { chainId: '1' }, problems: ['chains.eth.chainId: Invalid input: expected number, received string'] },
  { name: 'a bad genesis hash', chain: { chainId: 1, genesisHash: '0x1234' }, problems: ['chains.eth.genesisHash: must be a 32-byte hex hash'] },
  { name: 'a negative maxLogsRange', chain: { chainId: 1, maxLogsRange: -1 }, problems: ['chains.eth.maxLogsRange: Too small: expected number to be >=0'] },
  { name: 'an http wsUrl', chain: { chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:1', wsUrl: 'http://x' }] }, problems: ['chains.eth.nodes[0].wsUrl: must be a ws(s) URL'] },
  { name: 'a bitcoin option, bitcoin not loaded', chain: { chainId: 1, network: 'mainnet' }, problems: ['chains.eth.network: not an option of evm chains'] },
])('$name', ({ chain, problems: expected }) => {
  expect(problems(chain)).toEqual(expected)
})
