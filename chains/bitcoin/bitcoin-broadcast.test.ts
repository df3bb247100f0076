import { describe, expect, test } from 'vitest'
import { classifyBitcoinReply, decodeBitcoinTransaction, normalizeReason } from './bitcoin-broadcast.js'

/** Every row of reference §1.1–1.3: Core's replies to sendrawtransaction, old and new spellings. */
const rows: Array<[number, string, string]> = [
  // SUCCESS-EQ
  [-27, 'Transaction outputs already in utxo set', 'already-known'], // v28+
  [-27, 'Transaction already in block chain', 'already-known'], // 0.18–27
  [-27, 'transaction already in block chain', 'already-known'], // ≤0.17, Dogecoin 1.14
  [-26, 'txn-already-in-mempool', 'already-known'],
  [-26, 'txn-same-nonwitness-data-in-mempool', 'already-known'],
  [-26, 'txn-already-known', 'already-known'],
  [-26, '258: txn-already-known', 'already-known'],
  // AMBIGUOUS
  [-25, 'bad-txns-inputs-missingorspent', 'ambiguous'],
  [-25, 'Missing inputs', 'ambiguous'],
  [-25, 'Inputs missing or spent', 'ambiguous'],
  [-26, 'missing-inputs', 'ambiguous'],
  // CONFLICT
  [-26, 'txn-mempool-conflict', 'conflict'],
  [-26, '258: txn-mempool-conflict', 'conflict'],
  [-26, 'txn-mempool-conflict (code 18)', 'conflict'],
  [-26, 'bip125-replacement-disallowed', 'conflict'],
  [-26, 'insufficient fee, rejecting replacement 5e2f…; new feerate 0.00001 <= old feerate 0.00002', 'conflict'],
  [-26, 'too many potential replacements', 'conflict'],
  [-26, 'replacement-adds-unconfirmed', 'conflict'],
  // NODE-LOCAL
  [-26, 'mempool full', 'node-local'],
  [-26, 'mempool min fee not met, 100 < 141', 'node-local'],
  [-26, 'too-long-mempool-chain, too many unconfirmed ancestors [limit: 25]', 'node-local'],
  [-25, 'Mempool internal error', 'node-local'],
  [-25, 'AcceptToMemoryPool failed', 'node-local'],
  [-28, 'Loading block index…', 'node-local'],
  [-28, 'Verifying blocks...', 'node-local'],
  [-31, 'Error: Peer-to-peer functionality missing or disabled', 'node-local'],
  [-33, 'Mempool disabled in -blocksonly mode', 'node-local'],
  [-10, 'Bitcoin Core is in initial sync and waiting for blocks...', 'node-local'],
  // PERMANENT
  [-26, 'min relay fee not met, 100 < 141', 'invalid'],
  [-26, '66: min relay fee not met', 'invalid'],
  [-26, 'non-final', 'invalid'],
  [-26, 'non-BIP68-final', 'invalid'],
  [-26, 'bad-txns-premature-spend-of-coinbase', 'invalid'],
  [-26, 'non-mandatory-script-verify-flag (Signature must be zero for failed CHECK(MULTI)SIG operation)', 'invalid'],
  [-26, 'mempool-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)', 'invalid'],
  [-26, 'mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)', 'invalid'],
  [-26, 'block-script-verify-flag-failed (Script failed an OP_EQUALVERIFY operation)', 'invalid'],
  [-26, 'tx-size-small', 'invalid'],
  [-26, 'bad-txns-nonstandard-inputs', 'invalid'],
  [-26, 'dust', 'invalid'],
  [-26, 'scriptpubkey', 'invalid'],
  [-26, 'bad-txns-in-belowout, value in (0.0001) < value out (0.001)', 'invalid'],
  [-26, 'bad-txns-vout-negative', 'invalid'],
  [-26, 'bad-txns-inputs-duplicate', 'invalid'],
  [-26, 'coinbase', 'invalid'],
  [-26, '256: absurdly-high-fee', 'invalid'],
  [-25, 'Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)', 'invalid'],
  [-25, 'Unspendable output exceeds maximum configured by user (maxburnamount)', 'invalid'],
  [-22, 'TX decode failed. Make sure the tx has at least one input.', 'invalid'],
  [-8, 'parameter 1 must be hexadecimal string', 'invalid'],
]

describe('classifyBitcoinReply', () => {
  test.each(rows)('%i "%s" → %s', (code, message, verdict) => {
    expect(classifyBitcoinReply({ error: { code, message } }).verdict).toBe(verdict)
  })

  test('a txid result is accepted, normalized to lower case', () => {
    expect(classifyBitcoinReply({ result: 'AB'.repeat(32) })).toEqual({ verdict: 'accepted', returnedId: 'ab'.repeat(32) })
  })

  test('a non-string result is not an acceptance', () => {
    expect(classifyBitcoinReply({ result: null }).verdict).toBe('invalid')
  })

  test.each([
    ['258: txn-mempool-conflict', 'txn-mempool-conflict'],
    ['txn-mempool-conflict (code 18)', 'txn-mempool-conflict'],
    ['Missing inputs', 'missing inputs'],
  ])('normalizeReason(%s) → %s', (message, reason) => expect(normalizeReason(message)).toBe(reason))
})

describe('decodeBitcoinTransaction', () => {
  // A real signed P2PKH transaction (Bitcoin mainnet, txid f4184fc5…: the first bitcoin transaction, block 170).
  const block170 =
    '0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000'

  test('computes the txid locally and lists inputs and outputs', () => {
    const tx = decodeBitcoinTransaction([block170])
    expect(tx.id).toBe('f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16')
    expect(tx.raw).toBe(block170)
    expect(tx.inputs).toEqual([{ txid: '0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9', vout: 0 }])
    expect(tx.outputCount).toBe(2)
  })

  test('named params (hexstring) work too', () => {
    expect(decodeBitcoinTransaction({ hexstring: block170 }).id).toMatch(/^f4184fc5/)
  })

  test.each<[string, unknown]>([
    ['not hex', ['zz']],
    ['odd length', ['abc']],
    ['empty', ['']],
    ['no params', []],
    ['a number', [5]],
    ['garbage hex', ['deadbeef']],
    ['truncated', [block170.slice(0, 100)]],
  ])('%s → SY_INVALID_PARAMS', (_name, params) => {
    expect(() => decodeBitcoinTransaction(params as never)).toThrow(expect.objectContaining({ code: 'SY_INVALID_PARAMS', rpcCode: -32602 }))
  })
})
