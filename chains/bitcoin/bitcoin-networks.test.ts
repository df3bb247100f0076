import { describe, expect, test } from 'vitest'
import { readBlockchainInfo } from './bitcoin-adapter.js'
import { genesisHashes, networkOfGenesis, resolveGenesisHash } from './bitcoin-networks.js'

describe('resolveGenesisHash', () => {
  test.each(Object.keys(genesisHashes))('preset %s resolves to a 32-byte hash', (network) => {
    expect(resolveGenesisHash({ network, genesisHash: undefined })).toMatch(/^[0-9a-f]{64}$/)
  })
  test('well-known values', () => {
    expect(resolveGenesisHash({ network: 'mainnet', genesisHash: undefined })).toBe('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f')
    expect(resolveGenesisHash({ network: 'regtest', genesisHash: undefined })).toBe('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206')
    expect(resolveGenesisHash({ network: 'dogecoin', genesisHash: undefined })).toBe('1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691')
  })
  test('an explicit genesisHash wins (0x and case normalized)', () => {
    expect(resolveGenesisHash({ network: 'mainnet', genesisHash: `0x${'AB'.repeat(32)}` })).toBe('ab'.repeat(32))
  })
  test('unknown preset names the known ones', () => {
    expect(() => resolveGenesisHash({ network: 'bitcoin-gold', genesisHash: undefined })).toThrow(/"bitcoin-gold" is not a known preset \(mainnet, testnet3, .*dogecoin-regtest\)/)
  })
  test('neither given', () => {
    expect(() => resolveGenesisHash({ network: undefined, genesisHash: undefined })).toThrow(/network preset or a genesisHash/)
  })
  test('networkOfGenesis names a preset, preferring canonical names over aliases', () => {
    expect(networkOfGenesis(genesisHashes.testnet3!)).toBe('testnet3')
    expect(networkOfGenesis(genesisHashes.mainnet!)).toBe('mainnet')
    expect(networkOfGenesis('00'.repeat(32))).toBeUndefined()
  })
})

describe('readBlockchainInfo', () => {
  test.each<{ name: string; info: unknown; expected: unknown }>([
    { name: 'Core in sync', info: { blocks: 100, headers: 100, initialblockdownload: false }, expected: { ok: true, height: 100, syncing: false } },
    { name: 'Core in IBD', info: { blocks: 10, headers: 900_000, initialblockdownload: true }, expected: { ok: true, height: 10, syncing: true, reason: 'initial block download' } },
    { name: 'headers far ahead', info: { blocks: 100, headers: 120, initialblockdownload: false }, expected: { ok: true, height: 100, syncing: true, reason: 'headers 20 ahead of blocks 100' } },
    { name: 'headers one ahead (within lag)', info: { blocks: 100, headers: 101 }, expected: { ok: true, height: 100, syncing: false } },
    { name: 'bcoin shape (no IBD field, progress 0 at genesis)', info: { chain: 'regtest', blocks: 0, headers: 0, verificationprogress: 0 }, expected: { ok: true, height: 0, syncing: false } },
    { name: 'missing blocks', info: { headers: 5 }, expected: { ok: false, message: 'getblockchaininfo has no valid "blocks"' } },
    { name: 'negative blocks', info: { blocks: -1 }, expected: { ok: false, message: 'getblockchaininfo has no valid "blocks"' } },
    { name: 'not an object', info: 'hello', expected: { ok: false, message: 'getblockchaininfo returned no object' } },
  ])('$name', ({ info, expected }) => {
    expect(readBlockchainInfo(info, 1)).toEqual(expected)
  })
})
