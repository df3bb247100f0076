import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { MAX_TX_BYTES, classifyEvmReply, decodeEvmTransaction } from './evm-broadcast.js'

/** Every client row of reference §2.1–2.2, exact strings. */
const rows: Array<[string, number, string, string]> = [
  // geth
  ['geth', -32000, 'already known', 'already-known'],
  ['geth', -32000, 'nonce too low: next nonce 5, tx nonce 3', 'ambiguous'],
  ['geth', -32000, 'replacement transaction underpriced', 'conflict'],
  ['geth', -32000, 'future transaction tries to replace pending', 'conflict'],
  ['geth', -32000, 'txpool is full', 'node-local'],
  ['geth', -32000, 'account limit exceeded: pooled 16 txs', 'node-local'],
  ['geth', -32000, 'address already reserved', 'node-local'],
  ['geth', -32000, 'nonce too high: tx nonce 9, gapped nonce 5', 'invalid'],
  ['geth', -32000, 'transaction underpriced', 'invalid'],
  ['geth', -32000, 'transaction gas price below minimum: gas tip cap 1, minimum needed 2', 'invalid'],
  ['geth', -32000, 'max fee per gas less than block base fee: address 0xabc, maxFeePerGas: 1, baseFee: 7', 'invalid'],
  ['geth', -32000, 'insufficient funds for gas * price + value: balance 0, tx cost 21000, overshot 21000', 'invalid'],
  ['geth', -32000, 'intrinsic gas too low: gas 20000, minimum needed 21000', 'invalid'],
  ['geth', -32000, 'exceeds block gas limit', 'invalid'],
  ['geth', -32000, 'only replay-protected (EIP-155) transactions allowed over RPC', 'invalid'],
  ['geth', -32000, 'tx fee (1.05 ether) exceeds the configured cap (1.00 ether)', 'invalid'],
  ['geth', -32000, 'invalid sender', 'invalid'],
  // Erigon
  ['erigon', -32000, 'ALREADY_EXISTS: already known', 'already-known'],
  ['erigon', -32000, 'existing txn with same hash', 'already-known'],
  ['erigon', -32000, 'INTERNAL_ERROR: nonce too low', 'ambiguous'],
  ['erigon', -32000, 'FEE_TOO_LOW: replacement transaction underpriced', 'conflict'],
  ['erigon', -32000, 'FEE_TOO_LOW: underpriced', 'invalid'],
  ['erigon', -32000, 'pending sub-pool is full', 'node-local'],
  ['erigon', -32000, 'baseFee sub-pool is full', 'node-local'],
  ['erigon', -32000, 'queued sub-pool is full', 'node-local'],
  ['erigon', -32000, 'INVALID: invalid sender', 'invalid'],
  ['erigon', -32000, 'invalid chain id, expected: 1 got: 5', 'invalid'],
  // Nethermind (older enum names, newer geth-style)
  ['nethermind', -32010, 'AlreadyKnown', 'already-known'],
  ['nethermind', -32010, 'OldNonce', 'ambiguous'],
  ['nethermind', -32010, 'ReplacementNotAllowed', 'conflict'],
  ['nethermind', -32010, 'InsufficientFunds, Account balance: 0, cumulative cost: 21000', 'invalid'],
  ['nethermind', -32010, 'NonceGap, Future nonce. Expected nonce: 3', 'invalid'],
  ['nethermind', -32010, 'already known', 'already-known'],
  ['nethermind', -32010, 'nonce too low', 'ambiguous'],
  ['nethermind', -32010, 'replacement transaction underpriced', 'conflict'],
  ['nethermind', -32010, 'failed to recover sender', 'invalid'],
  // Besu (codes collide: classified by message)
  ['besu', -32000, 'Known transaction', 'already-known'],
  ['besu', -32001, 'Nonce too low', 'ambiguous'],
  ['besu', -32000, 'Replacement transaction underpriced', 'conflict'],
  ['besu', -32002, 'Invalid signature', 'invalid'],
  ['besu', -32002, 'Transaction pool not enabled. (Either txpool explicitly disabled, or node not yet in sync).', 'node-local'],
  ['besu', -32008, 'Initial sync is still in progress', 'node-local'],
  ['besu', -32004, 'Upfront cost exceeds account balance', 'invalid'],
  ['besu', -32006, 'Nonce too high', 'invalid'],
  ['besu', -32009, 'Gas price below configured minimum gas price', 'invalid'],
  ['besu', -32000, 'Wrong chainId', 'invalid'],
  ['besu', -32000, 'An invalid transaction with a lower nonce exists', 'invalid'],
  // Reth
  ['reth', -32000, 'already known', 'already-known'],
  ['reth', -32003, 'nonce too low: next nonce 2, tx nonce 1', 'ambiguous'],
  ['reth', -32003, 'replacement transaction underpriced', 'conflict'],
  ['reth', -32003, 'txpool is full', 'node-local'],
  ['reth', -32003, 'insufficient funds for gas * price + value: have 0 want 21000', 'invalid'],
  ['reth', -32003, 'max initcode size exceeded', 'invalid'],
  // anvil
  ['anvil', -32003, 'transaction already imported', 'already-known'],
  ['anvil', -32003, 'nonce too low', 'ambiguous'],
  ['anvil', -32003, 'replacement transaction underpriced', 'conflict'],
  ['anvil', -32003, 'Nonce too high', 'invalid'],
  ['anvil', -32003, 'Insufficient funds for gas * price + value', 'invalid'],
  ['anvil', -32003, 'invalid chain id for signer', 'invalid'],
  ['anvil', -32000, 'intrinsic gas too low', 'invalid'],
  // eRPC's extra already-known spellings
  ['other', -32000, 'transaction already in mempool', 'already-known'],
  ['other', -32000, 'tx already in mempool', 'already-known'],
  ['other', -32000, 'already exists in mempool', 'already-known'],
  ['other', -32000, 'nonce has already been used', 'ambiguous'],
]

describe('classifyEvmReply', () => {
  test.each(rows)('%s %i "%s" → %s', (_client, code, message, verdict) => {
    expect(classifyEvmReply({ error: { code, message } }).verdict).toBe(verdict)
  })
  test('a hash result is accepted, lower-cased', () => {
    expect(classifyEvmReply({ result: `0x${'AB'.repeat(32)}` })).toEqual({ verdict: 'accepted', returnedId: `0x${'ab'.repeat(32)}` })
  })
})

describe('decodeEvmTransaction', () => {
  const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
  const base = { to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, gasLimit: 21_000n, nonce: 7 }

  test('computes the hash and reads sender and nonce locally', async () => {
    const raw = await wallet.signTransaction({ ...base, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1n, type: 2 })
    const tx = decodeEvmTransaction([raw], 31337, false)
    expect(tx.id).toMatch(/^0x[0-9a-f]{64}$/)
    expect(tx.sender).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
    expect(tx.nonce).toBe(7)
    expect(tx.raw).toBe(raw)
  })

  test('signed for another chain id → SY_TX_WRONG_CHAIN (replay guard)', async () => {
    const raw = await wallet.signTransaction({ ...base, chainId: 1n, gasPrice: 1n, type: 0 })
    expect(() => decodeEvmTransaction([raw], 31337, false)).toThrow(expect.objectContaining({ code: 'SY_TX_WRONG_CHAIN', message: expect.stringMatching(/signed for chain id 1, not 31337/) }))
  })

  test('unprotected (pre-EIP-155) → refused unless allowed', async () => {
    const raw = await wallet.signTransaction({ ...base, gasPrice: 1n, type: 0, chainId: 0n })
    expect(() => decodeEvmTransaction([raw], 31337, false)).toThrow(expect.objectContaining({ code: 'SY_TX_WRONG_CHAIN' }))
    expect(decodeEvmTransaction([raw], 31337, true).sender).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
  })

  test.each<[string, unknown]>([
    ['no params', []],
    ['not hex', ['hello']],
    ['no 0x', ['deadbeef']],
    ['garbage', ['0xdeadbeef']],
    ['odd length', ['0xabc']],
    ['an object', [{ raw: '0x00' }]],
  ])('%s → SY_INVALID_PARAMS', (_name, params) => {
    expect(() => decodeEvmTransaction(params as never, 1, false)).toThrow(expect.objectContaining({ code: 'SY_INVALID_PARAMS', rpcCode: -32602 }))
  })

  test('over 128 KiB (geth/reth "oversized data") → SY_INVALID_PARAMS before decoding; at the limit it decodes', async () => {
    const calldata = (bytes: number) => `0x${'ab'.repeat(bytes)}`
    const signed = (bytes: number) => wallet.signTransaction({ ...base, data: calldata(bytes), gasLimit: 30_000_000n, chainId: 31337n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, type: 2 })
    // Find calldata sizes that put the signed transaction just under and just over the limit.
    const overhead = ((await signed(0)).length - 2) / 2
    const under = await signed(MAX_TX_BYTES - overhead - 8)
    expect((under.length - 2) / 2).toBeLessThanOrEqual(MAX_TX_BYTES)
    expect(decodeEvmTransaction([under], 31337, false).sender).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
    const over = await signed(MAX_TX_BYTES)
    expect(() => decodeEvmTransaction([over], 31337, false)).toThrow(
      expect.objectContaining({ code: 'SY_INVALID_PARAMS', message: expect.stringMatching(/^oversized data: the transaction is \d+ bytes, nodes accept at most 131072$/) }),
    )
  })

  test('an unsigned transaction → SY_INVALID_PARAMS', () => {
    const unsigned = '0x02e5827a690780018252089470997970c51812dc3a010c7d01b50e0d17dc79c80180c0'
    expect(() => decodeEvmTransaction([unsigned], 31337, false)).toThrow(expect.objectContaining({ code: 'SY_INVALID_PARAMS' }))
  })
})
