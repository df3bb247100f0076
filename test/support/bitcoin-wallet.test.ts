/**
 * The test wallet against a real bcoin regtest node: what it signs is what bcoin accepts (or, for
 * the bad-signature and double-spend transactions, silently keeps out of its mempool).
 *
 * bcoin's `sendrawtransaction` answers with the txid before validating, so presence is waited for
 * and absence is asserted on every one of a bounded number of polls.
 */
import { Transaction, script } from 'bitcoinjs-lib'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import {
  type FundedUtxo,
  btcToSats,
  coinbaseUtxo,
  createTestKey,
  fundKey,
  p2pkhAddress,
  signConflictingSpend,
  signSpend,
} from './bitcoin-wallet.js'
import { recordFigure } from './figures.js'

const FEE_SATS = 10_000
const payer = createTestKey(1)
const payee = createTestKey(2)

describe('test keys and signing (no node)', () => {
  test('keys are deterministic P2PKH addresses under bcoin regtest prefixes', () => {
    expect(createTestKey(1)).toEqual(payer)
    expect(payer.address).not.toBe(payee.address)
    expect(p2pkhAddress(2)).toBe(payee.address)
    // pubkeyhash 0x3c encodes to a leading 'R'.
    expect(payer.address).toMatch(/^R[1-9A-HJ-NP-Za-km-z]{33}$/)
    expect(payer.publicKey).toHaveLength(33)
    expect(() => createTestKey(0)).toThrow('seedByte must be 1..255')
  })

  test('corruptSignature changes one byte of a still-decodable, strict-DER signature', () => {
    const input = { txid: 'ab'.repeat(32), vout: 0, valueSats: 50_000 }
    const outputs = [{ address: payee.address, valueSats: 40_000 }]
    const good = signSpend(input, payer, outputs)
    const bad = signSpend(input, payer, outputs, { corruptSignature: true })
    // RFC 6979 signing is deterministic, so the two differ only in the flipped byte.
    expect(signSpend(input, payer, outputs)).toEqual(good)
    const badBytes = Buffer.from(bad.hex, 'hex')
    const differing = Buffer.from(good.hex, 'hex').filter((byte, index) => byte !== badBytes[index])
    expect(badBytes).toHaveLength(good.hex.length / 2)
    expect(differing).toHaveLength(1)
    expect(bad.txid).not.toBe(good.txid)
    const [signature] = script.decompile(Transaction.fromHex(bad.hex).ins[0]?.script ?? new Uint8Array()) ?? []
    if (!(signature instanceof Uint8Array)) throw new Error('no signature push in the scriptSig')
    expect(() => script.signature.decode(signature)).not.toThrow()
  })

  test('outputs worth more than the input are refused', () => {
    expect(() => signSpend({ txid: 'ab'.repeat(32), vout: 0, valueSats: 1_000 }, payer, [{ address: payee.address, valueSats: 1_001 }])).toThrow('exceed')
  })
})

describe('against a bcoin regtest node', () => {
  let node: BcoinNode | undefined
  let funded: FundedUtxo
  let firstSpend: { hex: string; txid: string }

  const rpc = (method: string, params: unknown[] = []): Promise<unknown> => {
    if (node === undefined) throw new Error('bcoin did not start')
    return node.rpc(method, params)
  }
  const mempool = async (): Promise<string[]> => (await rpc('getrawmempool')) as string[]
  const waitInMempool = (txid: string): Promise<unknown> =>
    waitFor(async () => (await mempool()).includes(txid), { timeoutMs: 5_000, everyMs: 10, what: `${txid} in the mempool` })
  /** bcoin accepts or rejects after answering: assert absence on each of 10 polls 50 ms apart. */
  const expectNeverInMempool = async (txid: string): Promise<void> => {
    for (let poll = 0; poll < 10; poll++) {
      expect(await mempool()).not.toContain(txid)
      await expect(rpc('getmempoolentry', [txid])).rejects.toThrow('Transaction not in mempool. (-1)')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const decodedTxid = async (hex: string): Promise<unknown> => ((await rpc('decoderawtransaction', [hex])) as { txid: unknown }).txid

  beforeAll(async () => {
    node = await startBcoin({ id: 'wallet-bcoin' })
    const started = performance.now()
    funded = await fundKey(node, payer)
    recordFigure('bcoin.fundKey101BlocksMs', Math.round(performance.now() - started))
  })

  afterAll(async () => {
    await node?.stop()
  })

  test('fundKey mines 101 blocks and returns block 1 coinbase, paying the key and mature', async () => {
    expect(await node?.height()).toBe(101)
    expect(funded).toMatchObject({ vout: 0, valueSats: 5_000_000_000, height: 1 })
    expect(funded.txid).toBe(funded.coinbaseTxid)
    const coin = (await rpc('gettxout', [funded.txid, funded.vout])) as { confirmations: number; coinbase: boolean; scriptPubKey: { addresses: string[] } }
    expect(coin).toMatchObject({ confirmations: 101, coinbase: true, scriptPubKey: { addresses: [payer.address] } })
  })

  test('a signed spend is accepted: same txid from decode and send, in the mempool with the intended fee', async () => {
    firstSpend = signSpend(funded, payer, [{ address: payee.address, valueSats: funded.valueSats - FEE_SATS }])
    expect(await decodedTxid(firstSpend.hex)).toBe(firstSpend.txid)
    expect(await rpc('sendrawtransaction', [firstSpend.hex])).toBe(firstSpend.txid)
    await waitInMempool(firstSpend.txid)
    const entry = (await rpc('getmempoolentry', [firstSpend.txid])) as { fee: number }
    expect(btcToSats(entry.fee)).toBe(FEE_SATS)
    const output = (await rpc('gettxout', [firstSpend.txid, 0, true])) as { confirmations: number; value: number }
    expect(output.confirmations).toBe(0)
    expect(btcToSats(output.value)).toBe(funded.valueSats - FEE_SATS)
  })

  test('a conflicting spend of the mempool input gets a txid back but stays out of the mempool', async () => {
    const conflict = signConflictingSpend(funded, payer)
    expect(conflict.txid).not.toBe(firstSpend.txid)
    expect(await decodedTxid(conflict.hex)).toBe(conflict.txid)
    expect(await rpc('sendrawtransaction', [conflict.hex])).toBe(conflict.txid)
    await expectNeverInMempool(conflict.txid)
    expect(await mempool()).toContain(firstSpend.txid)
  })

  test('mining a block confirms the spend and empties the mempool', async () => {
    const [hash] = (await node?.generate(1)) ?? []
    expect(await mempool()).not.toContain(firstSpend.txid)
    await expect(rpc('getmempoolentry', [firstSpend.txid])).rejects.toThrow('Transaction not in mempool.')
    const output = (await rpc('gettxout', [firstSpend.txid, 0])) as { confirmations: number }
    expect(output.confirmations).toBe(1)
    const block = (await rpc('getblock', [hash, true])) as { tx: string[] }
    expect(block.tx).toContain(firstSpend.txid)
    // Re-sending a mined tx still answers with its txid.
    expect(await rpc('sendrawtransaction', [firstSpend.hex])).toBe(firstSpend.txid)
  })

  test('a corrupt-signature spend gets a txid back but never enters the mempool; the valid one then does', async () => {
    // Block 2 coinbase: 101 confirmations at height 102, spendable now.
    const coin = await coinbaseUtxo({ rpc }, payer, 2)
    const outputs = [{ address: payee.address, valueSats: coin.valueSats - FEE_SATS }]
    const bad = signSpend(coin, payer, outputs, { corruptSignature: true })
    expect(await decodedTxid(bad.hex)).toBe(bad.txid)
    expect(await rpc('sendrawtransaction', [bad.hex])).toBe(bad.txid)
    await expectNeverInMempool(bad.txid)
    // The coin and everything else were fine: only the signature kept it out.
    const good = signSpend(coin, payer, outputs)
    expect(await rpc('sendrawtransaction', [good.hex])).toBe(good.txid)
    await waitInMempool(good.txid)
    expect(await mempool()).not.toContain(bad.txid)
  })
})
