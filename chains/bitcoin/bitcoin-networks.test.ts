import { createHash } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { genesisHashes, networkOfGenesis, resolveGenesisHash } from './bitcoin-networks.js'

describe('resolveGenesisHash', () => {
  test.each([
    ['mainnet', '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'],
    ['testnet', '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943'],
    ['regtest', '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'],
    ['bitcoincash', '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'],
    ['dogecoin', '1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691'],
  ])('preset %s', (network, hash) => {
    expect(resolveGenesisHash({ network, genesisHash: undefined })).toBe(hash)
  })

  test('an explicit genesisHash wins over the preset (0x and case normalized)', () => {
    expect(resolveGenesisHash({ network: 'mainnet', genesisHash: `0x${'AB'.repeat(32)}` })).toBe('ab'.repeat(32))
    expect(resolveGenesisHash({ network: undefined, genesisHash: 'cd'.repeat(32) })).toBe('cd'.repeat(32))
  })

  test.each(['bitcoin-gold', 'constructor', 'Mainnet'])('unknown preset %s names the known ones', (network) => {
    expect(() => resolveGenesisHash({ network, genesisHash: undefined })).toThrow(
      `network "${network}" is not a known preset (mainnet, testnet3, testnet, testnet4, signet, regtest, bitcoincash, litecoin, litecoin-testnet, litecoin-regtest, dogecoin, dogecoin-testnet, dogecoin-regtest); give genesisHash instead`,
    )
  })

  test('neither a preset nor a genesisHash', () => {
    expect(() => resolveGenesisHash({ network: undefined, genesisHash: undefined })).toThrow('bitcoin chains need a network preset or a genesisHash')
  })
})

describe('networkOfGenesis', () => {
  test('names the canonical preset, not an alias or a fork sharing block 0', () => {
    expect(networkOfGenesis(genesisHashes.testnet3!)).toBe('testnet3')
    expect(networkOfGenesis(genesisHashes.mainnet!)).toBe('mainnet')
    expect(networkOfGenesis('00'.repeat(32))).toBeUndefined()
  })
})

/**
 * Each preset's hash recomputed from its chain's genesis block: coinbase text, output key, reward,
 * time, bits and nonce (from each project's chainparams). A wrong digit in the table cannot pass.
 */
describe('preset hashes match their genesis blocks', () => {
  const sha256d = (data: Buffer): Buffer => createHash('sha256').update(createHash('sha256').update(data).digest()).digest()
  const u32 = (value: number): Buffer => {
    const buffer = Buffer.alloc(4)
    buffer.writeUInt32LE(value)
    return buffer
  }
  const u64 = (value: bigint): Buffer => {
    const buffer = Buffer.alloc(8)
    buffer.writeBigUInt64LE(value)
    return buffer
  }
  const push = (data: Buffer): Buffer => Buffer.concat([Buffer.from(data.length < 0x4c ? [data.length] : [0x4c, data.length]), data])
  const payToKey = (key: string): Buffer => Buffer.concat([push(Buffer.from(key, 'hex')), Buffer.from([0xac])])

  function genesisHash(text: string, outputScript: Buffer, coins: number, time: number, bits: number, nonce: number): string {
    const scriptSig = Buffer.concat([Buffer.from('04ffff001d0104', 'hex'), push(Buffer.from(text, 'utf8'))])
    const coinbase = Buffer.concat([
      u32(1), Buffer.from([1]), Buffer.alloc(32), u32(0xffffffff), Buffer.from([scriptSig.length]), scriptSig, u32(0xffffffff),
      Buffer.from([1]), u64(BigInt(coins) * 100_000_000n), Buffer.from([outputScript.length]), outputScript, u32(0),
    ])
    const header = Buffer.concat([u32(1), Buffer.alloc(32), sha256d(coinbase), u32(time), u32(bits), u32(nonce)])
    return sha256d(header).reverse().toString('hex')
  }

  const bitcoin = 'The Times 03/Jan/2009 Chancellor on brink of second bailout for banks'
  const satoshiKey = payToKey('04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f')
  const testnet4 = '03/May/2024 000000000000000000001ebd58c244970b3aa9d783bb001011fbe8ea8e98e00e'
  const litecoin = 'NY Times 05/Oct/2011 Steve Jobs, Apple’s Visionary, Dies at 56'
  // Litecoin's genesis key, reused by Dogecoin.
  const litecoinKey = payToKey('040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b10f4d4604fa08dce601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9')

  const cases: Array<[preset: string, text: string, outputScript: Buffer, coins: number, time: number, bits: number, nonce: number]> = [
    ['mainnet', bitcoin, satoshiKey, 50, 1231006505, 0x1d00ffff, 2083236893],
    ['bitcoincash', bitcoin, satoshiKey, 50, 1231006505, 0x1d00ffff, 2083236893],
    ['testnet3', bitcoin, satoshiKey, 50, 1296688602, 0x1d00ffff, 414098458],
    ['testnet', bitcoin, satoshiKey, 50, 1296688602, 0x1d00ffff, 414098458],
    ['testnet4', testnet4, payToKey('00'.repeat(33)), 50, 1714777860, 0x1d00ffff, 393743547],
    ['signet', bitcoin, satoshiKey, 50, 1598918400, 0x1e0377ae, 52613770],
    ['regtest', bitcoin, satoshiKey, 50, 1296688602, 0x207fffff, 2],
    ['litecoin', litecoin, litecoinKey, 50, 1317972665, 0x1e0ffff0, 2084524493],
    ['litecoin-testnet', litecoin, litecoinKey, 50, 1486949366, 0x1e0ffff0, 293345],
    ['litecoin-regtest', litecoin, litecoinKey, 50, 1296688602, 0x207fffff, 0],
    ['dogecoin', 'Nintondo', litecoinKey, 88, 1386325540, 0x1e0ffff0, 99943],
    ['dogecoin-testnet', 'Nintondo', litecoinKey, 88, 1391503289, 0x1e0ffff0, 997879],
    ['dogecoin-regtest', 'Nintondo', litecoinKey, 88, 1296688602, 0x207fffff, 2],
  ]

  test.each(cases)('%s', (preset, text, outputScript, coins, time, bits, nonce) => {
    expect(genesisHashes[preset]).toBe(genesisHash(text, outputScript, coins, time, bits, nonce))
  })

  test('every preset is checked', () => {
    expect(cases.map(([preset]) => preset).sort()).toEqual(Object.keys(genesisHashes).sort())
  })
})
