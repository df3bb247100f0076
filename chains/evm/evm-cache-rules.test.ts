import { describe, expect, test } from 'vitest'
import type { CachePolicy } from '../../src/chain-adapter.js'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import { evmAnswerHeight, evmCachePolicy } from './evm-cache-rules.js'

const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const HASH = `0x${'ab'.repeat(32)}`
const call = (method: string, params: RpcCall['params']): RpcCall => ({ method, params })

describe('evmCachePolicy', () => {
  test.each<[string, RpcCall, CachePolicy]>([
    ['eth_chainId', call('eth_chainId', []), 'constant'],
    ['net_version', call('net_version', []), 'constant'],
    ['eth_getBlockByHash', call('eth_getBlockByHash', [HASH, false]), 'by-answer'],
    ['eth_getTransactionByHash', call('eth_getTransactionByHash', [HASH]), 'by-answer'],
    ['eth_getTransactionReceipt', call('eth_getTransactionReceipt', [HASH]), 'by-answer'],
    ['eth_getTransactionByBlockHashAndIndex', call('eth_getTransactionByBlockHashAndIndex', [HASH, '0x0']), 'by-answer'],
    ['eth_getBlockReceipts by hash', call('eth_getBlockReceipts', [HASH]), 'by-answer'],
    ['eth_getLogs by block hash', call('eth_getLogs', [{ blockHash: HASH }]), 'by-answer'],
    ['eth_getBlockByNumber 0x10', call('eth_getBlockByNumber', ['0x10', true]), 16],
    ['eth_getBlockByNumber 0x0', call('eth_getBlockByNumber', ['0x0', false]), 0],
    ['eth_getBlockReceipts 0x10', call('eth_getBlockReceipts', ['0x10']), 16],
    ['eth_getBlockTransactionCountByNumber 0x10', call('eth_getBlockTransactionCountByNumber', ['0x10']), 16],
    ['eth_getTransactionByBlockNumberAndIndex 0x10', call('eth_getTransactionByBlockNumberAndIndex', ['0x10', '0x0']), 16],
    ['eth_getBalance at 0x10', call('eth_getBalance', [ADDRESS, '0x10']), 16],
    ['eth_getCode at EIP-1898 blockNumber', call('eth_getCode', [ADDRESS, { blockNumber: '0x10' }]), 16],
    ['eth_getStorageAt at 0x10', call('eth_getStorageAt', [ADDRESS, '0x0', '0x10']), 16],
    ['eth_getTransactionCount at 0x10', call('eth_getTransactionCount', [ADDRESS, '0x10']), 16],
    ['eth_call at 0x10', call('eth_call', [{ to: ADDRESS }, '0x10']), 16],
    ['eth_getProof at 0x10', call('eth_getProof', [ADDRESS, [], '0x10']), 16],
    ['eth_getLogs 0x5..0x10', call('eth_getLogs', [{ fromBlock: '0x5', toBlock: '0x10' }]), 16],
  ])('%s', (_name, input, policy) => {
    expect(evmCachePolicy(input)).toBe(policy)
  })

  test.each<[string, RpcCall]>([
    ['eth_blockNumber', call('eth_blockNumber', [])],
    ['eth_getBlockByNumber latest', call('eth_getBlockByNumber', ['latest', false])],
    ['eth_getBlockByNumber pending', call('eth_getBlockByNumber', ['pending', false])],
    ['eth_getBlockByNumber safe', call('eth_getBlockByNumber', ['safe', false])],
    ['eth_getBlockByNumber finalized', call('eth_getBlockByNumber', ['finalized', false])],
    ['eth_getBlockByNumber earliest (history-expired nodes answer their own oldest block)', call('eth_getBlockByNumber', ['earliest', false])],
    ['eth_getBalance latest', call('eth_getBalance', [ADDRESS, 'latest'])],
    ['eth_getBalance with the block omitted', call('eth_getBalance', [ADDRESS])],
    ['eth_call at EIP-1898 blockHash (no block number in the answer)', call('eth_call', [{ to: ADDRESS }, { blockHash: HASH }])],
    ['eth_call pending', call('eth_call', [{ to: ADDRESS }, 'pending'])],
    ['eth_getLogs to latest', call('eth_getLogs', [{ fromBlock: '0x1', toBlock: 'latest' }])],
    ['eth_getLogs with no end', call('eth_getLogs', [{ fromBlock: '0x1' }])],
    ['eth_getBlockTransactionCountByHash (a count names no block)', call('eth_getBlockTransactionCountByHash', [HASH])],
    ['eth_estimateGas at a number', call('eth_estimateGas', [{ to: ADDRESS }, '0x10'])],
    ['eth_feeHistory', call('eth_feeHistory', ['0x4', '0x10', [50]])],
    ['eth_gasPrice', call('eth_gasPrice', [])],
    ['eth_syncing', call('eth_syncing', [])],
    ['web3_clientVersion (the answering node)', call('web3_clientVersion', [])],
    ['eth_sendRawTransaction', call('eth_sendRawTransaction', ['0x00'])],
    ['eth_getBlockByNumber with malformed params', call('eth_getBlockByNumber', { block: '0x10' })],
  ])('never: %s', (_name, input) => {
    expect(evmCachePolicy(input)).toBe('never')
  })
})

describe('evmAnswerHeight', () => {
  test.each<[string, RpcCall, unknown, number | undefined]>([
    ['a block', call('eth_getBlockByHash', [HASH, false]), { number: '0x10', hash: HASH }, 16],
    ['a mined transaction', call('eth_getTransactionByHash', [HASH]), { hash: HASH, blockNumber: '0x7' }, 7],
    ['a pending transaction', call('eth_getTransactionByHash', [HASH]), { hash: HASH, blockNumber: null }, undefined],
    ['a receipt', call('eth_getTransactionReceipt', [HASH]), { transactionHash: HASH, blockNumber: '0x7' }, 7],
    ['block receipts', call('eth_getBlockReceipts', [HASH]), [{ blockNumber: '0x9' }, { blockNumber: '0x9' }], 9],
    ['logs of a block', call('eth_getLogs', [{ blockHash: HASH }]), [{ blockNumber: '0x9', logIndex: '0x0' }], 9],
    ['null', call('eth_getTransactionReceipt', [HASH]), null, undefined],
  ])('%s', (_name, input, result, height) => {
    expect(evmAnswerHeight(input, { result })).toBe(height)
  })

  test('an error names no block', () => {
    expect(evmAnswerHeight(call('eth_getBlockByHash', [HASH, false]), { error: { code: -32000, message: 'x' } })).toBeUndefined()
  })
})
