import { expect, test } from 'vitest'
import { checkBitcoinChain } from './bitcoin-config.js'

const hash = 'ab'.repeat(32)

test.each<{ name: string; chain: Record<string, unknown>; problems: string[] }>([
  { name: 'a known preset', chain: { network: 'regtest' }, problems: [] },
  { name: 'a genesis hash alone', chain: { genesisHash: hash }, problems: [] },
  { name: 'a genesis hash overrides any network name', chain: { network: 'my-fork', genesisHash: hash }, problems: [] },
  { name: 'neither', chain: {}, problems: ['network: required for bitcoin chains (or give genesisHash)'] },
  { name: 'an unknown preset', chain: { network: 'bitcoin' }, problems: [expect.stringMatching(/^network: "bitcoin" is not a known preset \(mainnet, testnet3, .*\); give genesisHash instead$/) as unknown as string] },
  { name: 'a prototype member is no preset', chain: { network: 'constructor' }, problems: [expect.stringMatching(/^network: "constructor" is not a known preset/) as unknown as string] },
  // The schema reports the wrong type; the check does not pile on.
  { name: 'a network of the wrong type', chain: { network: 5 }, problems: [] },
])('$name', ({ chain, problems }) => {
  expect(checkBitcoinChain(chain).map((problem) => `${problem.path.join('.')}: ${problem.message}`)).toEqual(problems)
})
