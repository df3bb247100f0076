import { describe, expect, test } from 'vitest'
import type { CachePolicy } from '../../src/chain-adapter.js'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import { bitcoinAnswerHeight, bitcoinCachePolicy, bitcoinCachedAnswer } from './bitcoin-cache-rules.js'

const HASH = 'ab'.repeat(32)
const call = (method: string, params: RpcCall['params']): RpcCall => ({ method, params })

describe('bitcoinCachePolicy', () => {
  test.each<[string, RpcCall, CachePolicy]>([
    ['getblock by hash', call('getblock', [HASH]), 'by-answer'],
    ['getblock verbosity 2', call('getblock', [HASH, 2]), 'by-answer'],
    ['getblockheader', call('getblockheader', [HASH, true]), 'by-answer'],
    ['getblockhash 5', call('getblockhash', [5]), 5],
    ['getblockhash 0 (genesis)', call('getblockhash', [0]), 0],
    ['getblockhash named', call('getblockhash', { height: 5 }), 5],
    ['getblockstats 5', call('getblockstats', [5]), 5],
  ])('%s', (_name, input, policy) => {
    expect(bitcoinCachePolicy(input)).toBe(policy)
  })

  test.each<[string, RpcCall]>([
    ['getblockcount', call('getblockcount', [])],
    ['getbestblockhash', call('getbestblockhash', [])],
    ['getblockchaininfo', call('getblockchaininfo', [])],
    ['getmempoolinfo', call('getmempoolinfo', [])],
    ['getrawmempool', call('getrawmempool', [])],
    ['estimatesmartfee', call('estimatesmartfee', [6])],
    ['getrawtransaction verbose (confirmations cannot be recounted)', call('getrawtransaction', [HASH, true])],
    ['getrawtransaction hex', call('getrawtransaction', [HASH])],
    ['gettxout (spent any time)', call('gettxout', [HASH, 0])],
    ['getblockstats by hash', call('getblockstats', [HASH])],
    ['getblockhash with a malformed height', call('getblockhash', ['5'])],
    ['sendrawtransaction', call('sendrawtransaction', ['00'])],
  ])('never: %s', (_name, input) => {
    expect(bitcoinCachePolicy(input)).toBe('never')
  })
})

describe('bitcoinAnswerHeight', () => {
  test.each<[string, unknown, number | undefined]>([
    ['a verbose block on the active chain', { hash: HASH, height: 12, confirmations: 3 }, 12],
    ['a verbose header', { hash: HASH, height: 0, confirmations: 30 }, 0],
    ['a block off the active chain (confirmations -1)', { hash: HASH, height: 12, confirmations: -1 }, undefined],
    ['no confirmations', { hash: HASH, height: 12 }, undefined],
    ['a hex block (verbosity 0)', '0100000000', undefined],
    ['null', null, undefined],
  ])('%s', (_name, result, height) => {
    expect(bitcoinAnswerHeight(call('getblock', [HASH]), { result })).toBe(height)
  })
})

describe('bitcoinCachedAnswer', () => {
  test('confirmations are counted from the read head; the rest is the cached answer', () => {
    const cached = { result: { hash: HASH, height: 12, confirmations: 3, nextblockhash: 'cd'.repeat(32) } }
    expect(bitcoinCachedAnswer(call('getblock', [HASH]), cached, 12, 40)).toEqual({ result: { ...cached.result, confirmations: 29 } })
    expect(cached.result.confirmations).toBe(3)
  })

  test('answers without confirmations (a block hash, block stats) are served as cached', () => {
    const hash = { result: HASH }
    expect(bitcoinCachedAnswer(call('getblockhash', [12]), hash, 12, 40)).toBe(hash)
    const stats = { result: { height: 12, txs: 1 } }
    expect(bitcoinCachedAnswer(call('getblockstats', [12]), stats, 12, 40)).toBe(stats)
  })
})
