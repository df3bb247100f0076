import { describe, expect, test } from 'vitest'
import { classifyEvmMethod, isEvmNodeBehindAnswer, quantity, requiredEvmHeight } from './evm-methods.js'

describe('classifyEvmMethod', () => {
  test.each([
    'eth_blockNumber', 'eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_getTransactionReceipt', 'eth_getTransactionByHash',
    'eth_getBalance', 'eth_getTransactionCount', 'eth_call', 'eth_estimateGas', 'eth_gasPrice', 'eth_feeHistory', 'eth_getLogs',
    'eth_getCode', 'eth_getStorageAt', 'eth_maxPriorityFeePerGas', 'net_version', 'eth_syncing', 'eth_getBlockReceipts',
  ])('%s is a read', (method) => expect(classifyEvmMethod(method)).toBe('read'))

  test('eth_sendRawTransaction takes the broadcast path; eth_chainId is local', () => {
    expect(classifyEvmMethod('eth_sendRawTransaction')).toBe('broadcast')
    expect(classifyEvmMethod('eth_chainId')).toBe('local')
  })

  test.each([
    'eth_sendTransaction', 'eth_sign', 'eth_signTransaction', 'eth_signTypedData_v4', 'eth_accounts', 'personal_sign',
    'personal_unlockAccount', 'admin_peers', 'admin_addPeer', 'debug_traceTransaction', 'debug_setHead', 'miner_start',
    'txpool_content', 'engine_forkchoiceUpdatedV3', 'trace_block', 'anvil_mine', 'evm_mine', 'hardhat_reset', 'eth_subscribe',
    'eth_newFilter', 'eth_getFilterChanges', 'eth_coinbase', 'nonexistent_method', '', 'ETH_BLOCKNUMBER',
  ])('%s is forbidden', (method) => expect(classifyEvmMethod(method)).toBe('forbidden'))
})

describe('requiredEvmHeight', () => {
  test.each<{ method: string; params: unknown; height: number | undefined }>([
    { method: 'eth_getBlockByNumber', params: ['0x10', false], height: 16 },
    { method: 'eth_getBlockByNumber', params: ['latest', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['pending', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['finalized', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['earliest', false], height: undefined },
    { method: 'eth_getBlockReceipts', params: ['0xff'], height: 255 },
    { method: 'eth_getBlockTransactionCountByNumber', params: ['0x1'], height: 1 },
    { method: 'eth_getTransactionByBlockNumberAndIndex', params: ['0x2', '0x0'], height: 2 },
    { method: 'eth_getUncleByBlockNumberAndIndex', params: ['0x3', '0x0'], height: 3 },
    { method: 'eth_getUncleCountByBlockNumber', params: ['0x4'], height: 4 },
    { method: 'eth_getBalance', params: ['0xabc', '0x64'], height: 100 },
    { method: 'eth_getBalance', params: ['0xabc'], height: undefined },
    { method: 'eth_getCode', params: ['0xabc', '0x5'], height: 5 },
    { method: 'eth_getTransactionCount', params: ['0xabc', '0x6'], height: 6 },
    { method: 'eth_getStorageAt', params: ['0xabc', '0x0', '0x7'], height: 7 },
    { method: 'eth_call', params: [{ to: '0xabc' }, '0x8'], height: 8 },
    { method: 'eth_call', params: [{ to: '0xabc' }, { blockNumber: '0x9' }], height: 9 },
    { method: 'eth_call', params: [{ to: '0xabc' }, { blockHash: '0x' + 'ab'.repeat(32) }], height: undefined },
    { method: 'eth_estimateGas', params: [{ to: '0xabc' }, '0xa'], height: 10 },
    { method: 'eth_getProof', params: ['0xabc', [], '0xb'], height: 11 },
    { method: 'eth_feeHistory', params: ['0x4', '0xc', [25]], height: 12 },
    { method: 'eth_feeHistory', params: ['0x4', 'latest', [25]], height: undefined },
    { method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x20' }], height: 32 },
    { method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: 'latest' }], height: undefined },
    { method: 'eth_getLogs', params: [{ fromBlock: '0x1' }], height: undefined },
    { method: 'eth_getLogs', params: [{ blockHash: '0x' + 'ab'.repeat(32) }], height: undefined },
    { method: 'eth_getLogs', params: ['nonsense'], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['0xzz', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: [16, false], height: undefined },
    { method: 'eth_getBlockByNumber', params: { block: '0x1' }, height: undefined },
    { method: 'eth_getBlockByNumber', params: undefined, height: undefined },
    { method: 'eth_getTransactionByHash', params: ['0x10'], height: undefined },
    { method: 'eth_blockNumber', params: [], height: undefined },
  ])('$method $params → $height', ({ method, params, height }) => {
    expect(requiredEvmHeight({ method, params: params as never })).toBe(height)
  })

  test.each<[string, number | undefined]>([
    ['0x0', 0],
    ['0x1', 1],
    ['0x00ff', 255],
    ['0X1', undefined],
    ['0x', undefined],
    ['1', undefined],
    ['0x1fffffffffffff', 2 ** 53 - 1],
    ['0x20000000000000', undefined],
  ])('quantity(%s) → %s', (value, expected) => expect(quantity(value)).toBe(expected))
})

describe('isEvmNodeBehindAnswer', () => {
  test.each<{ method: string; code: number; message: string; behind: boolean }>([
    { method: 'eth_getBlockByNumber', code: -32000, message: 'header not found', behind: true },
    { method: 'eth_call', code: -32000, message: 'Header not found', behind: true },
    { method: 'eth_getBalance', code: -39001, message: 'Unknown block', behind: true },
    { method: 'eth_getLogs', code: -32000, message: 'unknown block', behind: true },
    { method: 'eth_getBalance', code: -32000, message: 'missing trie node abc (path )', behind: true },
    { method: 'eth_call', code: 3, message: 'execution reverted', behind: false },
    { method: 'eth_getTransactionByHash', code: -32000, message: 'header not found', behind: false },
    { method: 'eth_sendRawTransaction', code: -32000, message: 'nonce too low', behind: false },
    { method: 'eth_getBalance', code: -32602, message: 'invalid argument 0', behind: false },
  ])('$method "$message" → $behind', ({ method, code, message, behind }) => {
    expect(isEvmNodeBehindAnswer({ method, params: [] }, { code, message })).toBe(behind)
  })
})
