import { describe, expect, test } from 'vitest'
import type { NodeErrorClass } from '../../src/chain-adapter.js'
import { bitcoinCallCost, classifyBitcoinError } from './bitcoin-node-errors.js'

describe('classifyBitcoinError', () => {
  test.each<{ method: string; code: number; message: string; expected: NodeErrorClass }>([
    // behind
    { method: 'getblockhash', code: -8, message: 'Block height out of range', expected: 'behind' },
    { method: 'getblockhash', code: -8, message: 'Block height out of range.', expected: 'behind' }, // bcoin
    { method: 'getblockhash', code: -8, message: 'BLOCK HEIGHT OUT OF RANGE', expected: 'behind' },
    { method: 'getblockstats', code: -8, message: 'Target block height 500 after current tip 100', expected: 'behind' },
    { method: 'getblock', code: -1, message: 'Block not available (not fully downloaded)', expected: 'behind' },
    // missing-state: pruned blocks, no txindex
    { method: 'getblock', code: -1, message: 'Block not available (pruned data)', expected: 'missing-state' },
    { method: 'getblockstats', code: -1, message: "Undo data expected but can't be read. This could be due to disk corruption or a conflict with a pruning event.", expected: 'missing-state' },
    {
      method: 'getrawtransaction',
      code: -5,
      message: 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.',
      expected: 'missing-state',
    },
    // refusal
    { method: 'getblockcount', code: -28, message: 'Loading block index…', expected: 'refusal' },
    { method: 'getblockcount', code: -28, message: 'Verifying blocks…', expected: 'refusal' },
    { method: 'getblock', code: -10, message: 'Bitcoin Core is in initial sync and waiting for blocks...', expected: 'refusal' },
    { method: 'getblockcount', code: -32000, message: 'Work queue depth exceeded', expected: 'refusal' },
    { method: 'getrawtransaction', code: -32005, message: 'daily request count exceeded, request rate limited', expected: 'refusal' },
    { method: 'getblockcount', code: -32603, message: 'Internal error', expected: 'refusal' },
    { method: 'getblockcount', code: 429, message: 'Too many requests', expected: 'refusal' },
    // request-invalid
    { method: 'getindexinfo', code: -32601, message: 'Method not found', expected: 'request-invalid' },
    { method: 'getblockcount', code: -32700, message: 'Parse error', expected: 'request-invalid' },
    { method: 'getblockcount', code: -32600, message: 'Invalid Request object', expected: 'request-invalid' },
    // bcoin's -32603 for a conf_target over 1008: about the call, so counted only if another node answers it.
    { method: 'estimatesmartfee', code: -32603, message: 'Too many confirmations for estimate.', expected: 'request-invalid' },
    // answers
    { method: 'getblockstats', code: -8, message: 'Target block height -1 is negative', expected: 'answer' },
    { method: 'getblockhash', code: -1, message: 'JSON value is not an integer as expected', expected: 'answer' },
    { method: 'getblockhash', code: -32602, message: 'Invalid params.', expected: 'answer' },
    { method: 'getblockhash', code: -5, message: 'Block height out of range', expected: 'answer' },
    { method: 'getblock', code: -5, message: 'Block not found', expected: 'answer' },
    { method: 'getblockheader', code: -8, message: 'Block height out of range', expected: 'answer' },
    { method: 'getrawtransaction', code: -5, message: 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.', expected: 'answer' },
    { method: 'decoderawtransaction', code: -22, message: 'TX decode failed', expected: 'answer' },
  ])('$method $code "$message" → $expected', ({ method, code, message, expected }) => {
    expect(classifyBitcoinError({ method, params: [] }, { code, message })).toBe(expected)
  })
})

describe('bitcoinCallCost', () => {
  test.each<{ method: string; params: unknown[] | Record<string, unknown>; cost: 'cheap' | 'heavy' }>([
    { method: 'getblock', params: ['00ab', 2], cost: 'heavy' },
    { method: 'getblock', params: ['00ab', 3], cost: 'heavy' },
    { method: 'getblock', params: { blockhash: '00ab', verbosity: 2 }, cost: 'heavy' },
    { method: 'getblock', params: ['00ab', 1], cost: 'cheap' },
    { method: 'getblock', params: ['00ab'], cost: 'cheap' },
    { method: 'getblockstats', params: [100], cost: 'heavy' },
    { method: 'getrawmempool', params: [true], cost: 'heavy' },
    { method: 'getrawmempool', params: [], cost: 'cheap' },
    { method: 'getmempoolancestors', params: ['ab', true], cost: 'heavy' },
    { method: 'gettxoutproof', params: [['ab']], cost: 'heavy' },
    { method: 'getblockcount', params: [], cost: 'cheap' },
    { method: 'getrawtransaction', params: ['ab', true], cost: 'cheap' },
  ])('$method $params → $cost', ({ method, params, cost }) => {
    expect(bitcoinCallCost({ method, params })).toBe(cost)
  })
})
