/**
 * A chain family the core has never heard of, added through the public library API: its own
 * options, defaults and checks validate through the same core, and its adapter serves a real
 * node. Here an EVM rollup family ("l2") reuses the evm adapter with its own numbers and one
 * option of its own, against a real anvil.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { z } from 'zod'
import { evmFamily } from '../../chains/evm/index.js'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type ChainFamily, ConfigError, builtinFamilies, createProxy, parseConfig } from '../../src/index.js'

const l2Family: ChainFamily = {
  ...evmFamily,
  name: 'l2',
  chainOptions: {
    ...evmFamily.chainOptions,
    /** The L1 chain the rollup settles on (a label here). Required. */
    settlesOn: z.string().min(1),
  },
  // Sub-second blocks: a tighter probe and a looser lag than mainnet evm.
  defaults: { intervalMs: 250, maxLagBlocks: 20, staleAfterMs: 5_000, confirmations: 60, finalityDepth: 120 },
  // Its sequencer serves eth_getLogs over 5000 blocks at most: the evm default (10000) is too wide.
  checkChain: (chain) =>
    typeof chain.maxLogsRange === 'number' && chain.maxLogsRange > 5_000 ? [{ path: ['maxLogsRange'], message: 'at most 5000 on l2 chains (the sequencer refuses more)' }] : [],
}

let anvil: AnvilNode
beforeAll(async () => {
  anvil = await startAnvil({ id: 'fam-a' })
})
afterAll(async () => {
  await anvil.stop()
})

test('createProxy with a third family: its options validate, its defaults apply, its adapter serves', async () => {
  const config = {
    journal: { path: ':memory:' },
    chains: { rollup: { family: 'l2', chainId: 31337, settlesOn: 'eth', maxLogsRange: 2_000, health: { intervalMs: 100_000 }, nodes: [{ id: anvil.id, url: anvil.url }] } },
  }
  // Without the family, the config names an unknown one.
  expect(() => parseConfig(config, {})).toThrow(ConfigError)
  expect(() => parseConfig(config, {})).toThrow('chains.rollup.family: unknown family "l2" (known: evm, bitcoin)')
  const families = { ...builtinFamilies, l2: l2Family }
  const parsed = parseConfig(config, {}, '<test>', families)
  expect(parsed.chains.rollup).toMatchObject({ family: 'l2', settlesOn: 'eth', maxLogsRange: 2_000, confirmations: 60, health: { maxLagBlocks: 20, staleAfterMs: 5_000, intervalMs: 100_000 } })
  // Its own option is required, and its check sees the evm default it inherits.
  const { settlesOn: _, maxLogsRange: __, ...bare } = config.chains.rollup
  const problems = (() => {
    try {
      parseConfig({ chains: { rollup: bare } }, {}, '<test>', families)
    } catch (error) {
      return (error as ConfigError).problems
    }
    return []
  })()
  expect(problems).toEqual(['chains.rollup.settlesOn: Invalid input: expected string, received undefined', 'chains.rollup.maxLogsRange: at most 5000 on l2 chains (the sequencer refuses more)'])

  const proxy = createProxy(config, { adapters: { l2: l2Family } })
  try {
    await proxy.start()
    expect(proxy.snapshot().chains[0]).toMatchObject({ name: 'rollup', family: 'l2', routable: 1 })
    expect(await proxy.request('rollup', { method: 'eth_chainId' })).toBe('0x7a69')
    expect(await proxy.request('rollup', { method: 'eth_blockNumber', params: [] })).toBe('0x0')
  } finally {
    await proxy.close()
  }
})
