import { describe, expect, test } from 'vitest'
import type { RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'
import { bitcoinDataHeight, bitcoinMissingCapability, bitcoinRequirement, canonicalBitcoinAnswer, isBitcoinEmptyAnswer, pinBitcoinToHeight } from './bitcoin-read-rules.js'

const TXID = 'ab'.repeat(32)
const BLOCK = '00'.repeat(31) + '0f'
const call = (method: string, params: RpcCall['params'] = []): RpcCall => ({ method, params })
const error = (code: number, message: string): RpcAnswer => ({ error: { code, message } })

describe('pinBitcoinToHeight', () => {
  test('getblockcount is answered with the read head', () => {
    expect(pinBitcoinToHeight(call('getblockcount'), 120)).toEqual({ kind: 'height', result: 120 })
  })
  test('getbestblockhash is the hash at the read head', () => {
    expect(pinBitcoinToHeight(call('getbestblockhash'), 120)).toEqual({ kind: 'pinned', call: { method: 'getblockhash', params: [120] } })
  })
  test.each(['getblockchaininfo', 'getblockhash', 'getchaintips', 'getrawmempool', 'getblock'])('%s is not pinned', (method) => {
    expect(pinBitcoinToHeight(call(method, [1]), 120)).toBeUndefined()
  })
})

describe('isBitcoinEmptyAnswer', () => {
  test.each<[string, RpcCall, RpcAnswer, boolean]>([
    ['Core getrawtransaction unknown', call('getrawtransaction', [TXID]), error(-5, 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'), true],
    ['Core getrawtransaction not in the given block', call('getrawtransaction', [TXID, true, BLOCK]), error(-5, 'No such transaction found in the provided block. Use gettransaction for wallet transactions.'), true],
    ['bcoin getrawtransaction unknown', call('getrawtransaction', [TXID]), error(-1, 'Transaction not found.'), true],
    ['Core without -txindex (a missing capability, not empty)', call('getrawtransaction', [TXID]), error(-5, 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.'), false],
    ['Core getblock unknown', call('getblock', [BLOCK]), error(-5, 'Block not found'), true],
    ['bcoin getblockheader unknown', call('getblockheader', [BLOCK]), error(-1, 'Block not found'), true],
    ['getblock pruned (missing capability)', call('getblock', [BLOCK]), error(-1, 'Block not available (pruned data)'), false],
    ['getblock with an invalid hash', call('getblock', ['zz']), error(-8, 'blockhash must be of length 64'), false],
    ['gettxout null without the mempool', call('gettxout', [TXID, 0, false]), { result: null }, true],
    ['gettxout null with the mempool (named)', call('gettxout', { txid: TXID, n: 0, include_mempool: false }), { result: null }, true],
    ['gettxout null including the mempool (a mempool spend is a true null)', call('gettxout', [TXID, 0]), { result: null }, false],
    ['gettxout null, include_mempool true', call('gettxout', [TXID, 0, true]), { result: null }, false],
    ['gettxout found', call('gettxout', [TXID, 0, false]), { result: { value: 1 } }, false],
    ['a found transaction', call('getrawtransaction', [TXID]), { result: '0100…' }, false],
    ['getblockhash out of range (behind)', call('getblockhash', [999]), error(-8, 'Block height out of range'), false],
  ])('%s', (_name, input, answer, expected) => {
    expect(isBitcoinEmptyAnswer(input, answer)).toBe(expected)
  })
})

describe('bitcoinDataHeight', () => {
  test.each<[string, unknown, number | undefined]>([
    ['verbose block header', { hash: BLOCK, height: 7, confirmations: 4 }, 7],
    ['verbose transaction, 3 confirmations on a node at 10', { txid: TXID, confirmations: 3 }, 8],
    ['gettxout, 1 confirmation', { value: 1, confirmations: 1, bestblock: BLOCK }, 10],
    ['mempool transaction', { txid: TXID, confirmations: 0 }, undefined],
    ['hex only', 'deadbeef', undefined],
    ['null', null, undefined],
  ])('%s', (_name, result, expected) => {
    expect(bitcoinDataHeight(call('getrawtransaction', [TXID, true]), { result }, 10)).toBe(expected)
  })
})

describe('bitcoinRequirement', () => {
  test.each<[RpcCall, unknown]>([
    [call('getblockstats', [5]), { kind: 'block', height: 5 }],
    [call('getblockstats', { hash_or_height: 6 }), { kind: 'block', height: 6 }],
    [call('getblockstats', [BLOCK]), undefined],
    [call('getrawtransaction', [TXID]), { kind: 'txindex' }],
    [call('getrawtransaction', [TXID, true]), { kind: 'txindex' }],
    [call('getrawtransaction', [TXID, true, BLOCK]), undefined],
    [call('getrawtransaction', { txid: TXID, blockhash: BLOCK }), undefined],
    [call('getblock', [BLOCK]), undefined],
    [call('getblockhash', [5]), undefined],
  ])('%j → %j', (input, expected) => {
    expect(bitcoinRequirement(input)).toEqual(expected)
  })
})

describe('bitcoinMissingCapability', () => {
  test.each<[string, string, 'pruned' | 'txindex' | undefined]>([
    ['Core and bcoin pruned block', 'Block not available (pruned data)', 'pruned'],
    ['bcoin pruned coins', 'Cannot get coins when pruned.', 'pruned'],
    ['Core without -txindex', 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.', 'txindex'],
    ['not found', 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.', undefined],
    ['block not found', 'Block not found', undefined],
  ])('%s', (_name, message, expected) => {
    expect(bitcoinMissingCapability(call('getrawtransaction', [TXID]), { code: -5, message })).toBe(expected)
  })
})

describe('canonicalBitcoinAnswer', () => {
  test('fields of the answering node’s own tip are left out', () => {
    const header = { hash: BLOCK, height: 7, confirmations: 4, nextblockhash: TXID, merkleroot: TXID }
    expect(canonicalBitcoinAnswer(call('getblockheader', [BLOCK]), { result: header })).toEqual({ result: { hash: BLOCK, height: 7, merkleroot: TXID } })
    expect(canonicalBitcoinAnswer(call('gettxout', [TXID, 0]), { result: { value: 1, bestblock: BLOCK, confirmations: 2 } })).toEqual({ result: { value: 1 } })
  })
  test('getrawtransaction also drops bcoin’s mempool-arrival time', () => {
    expect(canonicalBitcoinAnswer(call('getrawtransaction', [TXID, true]), { result: { txid: TXID, time: 5, blocktime: 6, confirmations: 1 } })).toEqual({ result: { txid: TXID, blocktime: 6 } })
  })
  test('errors and scalars compare as they are', () => {
    const failed = error(-5, 'Block not found')
    expect(canonicalBitcoinAnswer(call('getblock', [BLOCK]), failed)).toEqual(failed)
    expect(canonicalBitcoinAnswer(call('getblockhash', [1]), { result: BLOCK })).toEqual({ result: BLOCK })
  })
})
