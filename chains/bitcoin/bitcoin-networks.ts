/**
 * Genesis block hashes by network preset: a node whose `getblockhash 0` differs serves another
 * chain and is never routed. bitcoin-networks.test.ts recomputes every hash from its chain's
 * genesis parameters, so a typo here fails the build.
 * A genesis check cannot tell Bitcoin from Bitcoin Cash (or other forks of Bitcoin's chain): they
 * share block 0. Keep BTC and BCH nodes in separate, correctly labelled chains; a misplaced fork
 * node shows up as a height/hash disagreement, not here.
 */
import type { BitcoinChainOptions } from './bitcoin-config.js'

/** Preset name → genesis hash (hex as RPC prints it). `testnet` is an alias of `testnet3`. */
export const genesisHashes: Readonly<Record<string, string>> = {
  mainnet: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  testnet3: '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943',
  testnet: '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943',
  testnet4: '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
  signet: '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
  regtest: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
  bitcoincash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f', // = mainnet: see above
  litecoin: '12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2',
  'litecoin-testnet': '4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0',
  'litecoin-regtest': '530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9',
  dogecoin: '1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691',
  'dogecoin-testnet': 'bb0a78264637406b6360aad926284d544d7049f45189db5664f3c4d07350559e',
  'dogecoin-regtest': '3d2160a3b5dc4a9d62e7e66a295f70313ac808440ef7400d6c0772171ce973a5',
}

/** The genesis hash a chain's nodes must report: an explicit `genesisHash` wins over the preset. */
export function resolveGenesisHash(chain: Pick<BitcoinChainOptions, 'network' | 'genesisHash'>): string {
  if (chain.genesisHash !== undefined) return chain.genesisHash.replace(/^0x/, '').toLowerCase()
  if (chain.network === undefined) throw new Error('bitcoin chains need a network preset or a genesisHash')
  // hasOwn: "constructor" or "toString" must not resolve to Object.prototype's members.
  const hash = Object.hasOwn(genesisHashes, chain.network) ? genesisHashes[chain.network] : undefined
  if (hash === undefined) {
    throw new Error(`network "${chain.network}" is not a known preset (${Object.keys(genesisHashes).join(', ')}); give genesisHash instead`)
  }
  return hash
}

/** Preset name of a genesis hash, for readable wrong-chain reasons. */
export function networkOfGenesis(hash: string): string | undefined {
  return Object.entries(genesisHashes).find(([name, known]) => known === hash && name !== 'testnet' && name !== 'bitcoincash')?.[0]
}
