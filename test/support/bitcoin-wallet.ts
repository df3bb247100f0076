/**
 * A tiny legacy (P2PKH) wallet for bcoin regtest tests: deterministic keys, funding by mining,
 * and signed spends (valid, invalid-signature, double-spend) to broadcast through switchyard.
 *
 * bcoin facts this depends on (checked against bcoin 1.0.2):
 * - Regtest addresses use bcoin's prefixes (pubkeyhash 0x3c), not Core's; segwit is not active at
 *   low heights, so everything here is P2PKH.
 * - `getblock <hash> true true` returns the block's transactions decoded (txid, vout value in BTC,
 *   scriptPubKey) but without their hex; `getblock <hash> 2` is refused ("Param #1 must be a
 *   boolean"). Signing therefore uses `Transaction.hashForSignature`, which needs only the spent
 *   output's script (ours), not the previous transaction's hex that a Psbt would want.
 * - Coinbase maturity is 100 blocks.
 */
import { ECPairFactory } from 'ecpair'
import { type Network, Transaction, address as bitcoinAddress, payments, script } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { type BcoinNode, bcoinRegtestNetwork } from '../../src/devnet/bcoin.js'

const ECPair = ECPairFactory(ecc)

/** bcoin's regtest prefixes (pubkeyhash 0x3c, scripthash 0x26, bech32 'rb', wif 0xef); bip32 as Core testnet. */
export const bcoinRegtest: Network = bcoinRegtestNetwork

export interface TestKey {
  privateKey: Uint8Array
  /** Compressed SEC1 public key (33 bytes). */
  publicKey: Uint8Array
  /** P2PKH address under `bcoinRegtest`. */
  address: string
  /** scriptPubKey of `address` (OP_DUP OP_HASH160 <hash160> OP_EQUALVERIFY OP_CHECKSIG). */
  outputScript: Uint8Array
}

export interface Utxo {
  txid: string
  vout: number
  valueSats: number
}

export interface FundedUtxo extends Utxo {
  /** The coinbase txid (same as `txid`). */
  coinbaseTxid: string
  /** Height of the block whose coinbase this is. */
  height: number
}

export interface SpendOutput {
  address: string
  valueSats: number
}

export interface SignedTx {
  hex: string
  txid: string
}

/** The node calls `fundKey` needs; a `BcoinNode` has them. */
export type FundingNode = Pick<BcoinNode, 'rpc' | 'generate'>

/** Deterministic key: the private key is 32 bytes of `seedByte` (1..255). */
export function createTestKey(seedByte = 1): TestKey {
  if (!Number.isInteger(seedByte) || seedByte < 1 || seedByte > 255) throw new Error(`seedByte must be 1..255, got ${seedByte}`)
  const pair = ECPair.fromPrivateKey(new Uint8Array(32).fill(seedByte), { network: bcoinRegtest })
  if (pair.privateKey === undefined) throw new Error('ecpair gave no private key')
  const payment = payments.p2pkh({ pubkey: pair.publicKey, network: bcoinRegtest })
  if (payment.address === undefined || payment.output === undefined) throw new Error('bitcoinjs-lib gave no P2PKH address')
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, address: payment.address, outputScript: payment.output }
}

/** P2PKH address of `createTestKey(seedByte)`. */
export function p2pkhAddress(seedByte = 1): string {
  return createTestKey(seedByte).address
}

interface VerboseBlock {
  height: number
  tx: Array<{ txid: string; vout: Array<{ value: number; n: number; scriptPubKey: { hex: string } }> }>
}

/** BTC amount as bcoin prints it (a JSON number) to satoshis. */
export function btcToSats(btc: number): number {
  return Math.round(btc * 100_000_000)
}

/**
 * Mines `blocks` blocks paying `key` and returns the first one's coinbase output. With the default
 * 101 blocks that coinbase is mature (100 confirmations on top) and spendable in the next block.
 * The later blocks' coinbases pay `key` too (`coinbaseUtxo` finds them).
 */
export async function fundKey(node: FundingNode, key: TestKey, blocks = 101): Promise<FundedUtxo> {
  if (!Number.isInteger(blocks) || blocks < 1) throw new Error(`blocks must be a positive integer, got ${blocks}`)
  const hashes = await node.generate(blocks, key.address)
  const first = hashes[0]
  if (first === undefined) throw new Error(`generatetoaddress ${blocks} returned no block hashes`)
  return coinbaseUtxo(node, key, first)
}

/** The output paying `key` in the coinbase of block `block` (a hash, or a height of the node's chain). */
export async function coinbaseUtxo(node: Pick<FundingNode, 'rpc'>, key: TestKey, block: string | number): Promise<FundedUtxo> {
  const hash = typeof block === 'number' ? await node.rpc('getblockhash', [block]) : block
  // bcoin: verbose=true, details=true gives decoded transactions (no hex); `getblock <hash> 2` is refused.
  const decoded = (await node.rpc('getblock', [hash, true, true])) as VerboseBlock
  const coinbase = decoded.tx[0]
  if (coinbase === undefined || typeof coinbase !== 'object') throw new Error(`getblock ${String(hash)} true true listed no decoded transactions`)
  const script = Buffer.from(key.outputScript).toString('hex')
  const output = coinbase.vout.find((candidate) => candidate.scriptPubKey.hex === script)
  if (output === undefined) throw new Error(`coinbase ${coinbase.txid} of block ${String(hash)} does not pay ${key.address}`)
  return { coinbaseTxid: coinbase.txid, txid: coinbase.txid, vout: output.n, valueSats: btcToSats(output.value), height: decoded.height }
}

/**
 * A signed legacy P2PKH transaction spending `input` (an output paying `key`) to `outputs`; the fee
 * is whatever the outputs leave of `input.valueSats`. `corruptSignature` flips the low bit of the
 * signature's last byte: still strict DER and low-S, so the tx decodes and looks standard, but the
 * signature does not verify.
 */
export function signSpend(input: Utxo, key: TestKey, outputs: readonly SpendOutput[], options: { corruptSignature?: boolean } = {}): SignedTx {
  if (outputs.length === 0) throw new Error('signSpend needs at least one output')
  const spent = outputs.reduce((sum, output) => sum + output.valueSats, 0)
  if (spent > input.valueSats) throw new Error(`outputs (${spent} sats) exceed the input (${input.valueSats} sats)`)
  if (!/^[0-9a-f]{64}$/i.test(input.txid)) throw new Error(`"${input.txid}" is not a txid`)

  const tx = new Transaction()
  tx.version = 1
  // Outpoint hashes are the txid's bytes reversed. Sequence 0xffffffff: final, no RBF signal.
  tx.addInput(Buffer.from(input.txid, 'hex').reverse(), input.vout, 0xffffffff)
  for (const output of outputs) {
    if (!Number.isSafeInteger(output.valueSats) || output.valueSats < 0) throw new Error(`bad output value ${output.valueSats}`)
    tx.addOutput(bitcoinAddress.toOutputScript(output.address, bcoinRegtest), BigInt(output.valueSats))
  }

  const pair = ECPair.fromPrivateKey(key.privateKey, { network: bcoinRegtest })
  const sighash = tx.hashForSignature(0, key.outputScript, Transaction.SIGHASH_ALL)
  const signature = script.signature.encode(pair.sign(sighash), Transaction.SIGHASH_ALL)
  if (options.corruptSignature === true) {
    // [... DER r,s ..., s's last byte, hashtype]: s's last byte is just before the hashtype byte.
    const index = signature.length - 2
    signature[index] = (signature[index] ?? 0) ^ 0x01
  }
  tx.setInputScript(0, script.compile([signature, key.publicKey]))
  return { hex: tx.toHex(), txid: tx.getId() }
}

/**
 * A second, different transaction spending the same `input` (a double-spend of any `signSpend` of
 * it): everything but `feeSats` back to `to` (default the key's own address). Use a `feeSats` or
 * `to` other than the first spend's so the two transactions differ.
 */
export function signConflictingSpend(input: Utxo, key: TestKey, options: { to?: string; feeSats?: number } = {}): SignedTx {
  const feeSats = options.feeSats ?? 20_000
  return signSpend(input, key, [{ address: options.to ?? key.address, valueSats: input.valueSats - feeSats }])
}
