import { describe, expect, test } from 'vitest'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import { evmDataHeight, evmMissingCapability, evmRequirement, isEvmEmptyAnswer, pinEvmToHeight } from './evm-read-rules.js'

const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const HASH = `0x${'ab'.repeat(32)}`
const HEAD = 0x20
const call = (method: string, params: RpcCall['params']): RpcCall => ({ method, params })

describe('pinEvmToHeight: latest is pinned to the read head', () => {
  test.each<[string, RpcCall, unknown[]]>([
    ['eth_getBlockByNumber latest', call('eth_getBlockByNumber', ['latest', false]), ['0x20', false]],
    ['eth_getBlockReceipts latest', call('eth_getBlockReceipts', ['latest']), ['0x20']],
    ['eth_getBlockTransactionCountByNumber latest', call('eth_getBlockTransactionCountByNumber', ['latest']), ['0x20']],
    ['eth_getTransactionByBlockNumberAndIndex latest', call('eth_getTransactionByBlockNumberAndIndex', ['latest', '0x0']), ['0x20', '0x0']],
    ['eth_getUncleByBlockNumberAndIndex latest', call('eth_getUncleByBlockNumberAndIndex', ['latest', '0x0']), ['0x20', '0x0']],
    ['eth_getUncleCountByBlockNumber latest', call('eth_getUncleCountByBlockNumber', ['latest']), ['0x20']],
    ['eth_getBalance latest', call('eth_getBalance', [ADDRESS, 'latest']), [ADDRESS, '0x20']],
    ['eth_getBalance omitted block', call('eth_getBalance', [ADDRESS]), [ADDRESS, '0x20']],
    ['eth_getCode latest', call('eth_getCode', [ADDRESS, 'latest']), [ADDRESS, '0x20']],
    ['eth_getTransactionCount latest', call('eth_getTransactionCount', [ADDRESS, 'latest']), [ADDRESS, '0x20']],
    ['eth_call latest', call('eth_call', [{ to: ADDRESS }, 'latest']), [{ to: ADDRESS }, '0x20']],
    ['eth_call omitted block', call('eth_call', [{ to: ADDRESS }]), [{ to: ADDRESS }, '0x20']],
    ['eth_call latest with state overrides', call('eth_call', [{ to: ADDRESS }, 'latest', { [ADDRESS]: { balance: '0x1' } }]), [{ to: ADDRESS }, '0x20', { [ADDRESS]: { balance: '0x1' } }]],
    ['eth_call EIP-1898 blockNumber latest', call('eth_call', [{ to: ADDRESS }, { blockNumber: 'latest' }]), [{ to: ADDRESS }, { blockNumber: '0x20' }]],
    ['eth_getStorageAt latest', call('eth_getStorageAt', [ADDRESS, '0x0', 'latest']), [ADDRESS, '0x0', '0x20']],
    ['eth_getProof latest', call('eth_getProof', [ADDRESS, [], 'latest']), [ADDRESS, [], '0x20']],
    ['eth_feeHistory latest', call('eth_feeHistory', ['0x4', 'latest', [50]]), ['0x4', '0x20', [50]]],
    ['eth_getLogs without a range: both ends', call('eth_getLogs', [{ address: ADDRESS }]), [{ address: ADDRESS, fromBlock: '0x20', toBlock: '0x20' }]],
    ['eth_getLogs from N to latest', call('eth_getLogs', [{ fromBlock: '0x1', toBlock: 'latest' }]), [{ fromBlock: '0x1', toBlock: '0x20' }]],
    ['eth_getLogs from N, end omitted', call('eth_getLogs', [{ fromBlock: '0x1' }]), [{ fromBlock: '0x1', toBlock: '0x20' }]],
    ['eth_getLogs from earliest to latest', call('eth_getLogs', [{ fromBlock: 'earliest', toBlock: 'latest' }]), [{ fromBlock: 'earliest', toBlock: '0x20' }]],
    ['eth_getLogs from safe to latest', call('eth_getLogs', [{ fromBlock: 'safe', toBlock: 'latest' }]), [{ fromBlock: 'safe', toBlock: '0x20' }]],
    ['eth_getLogs from latest to latest', call('eth_getLogs', [{ fromBlock: 'latest', toBlock: 'latest' }]), [{ fromBlock: '0x20', toBlock: '0x20' }]],
    ['eth_getLogs from the read head itself', call('eth_getLogs', [{ fromBlock: '0x20' }]), [{ fromBlock: '0x20', toBlock: '0x20' }]],
  ])('%s', (_name, input, params) => {
    expect(pinEvmToHeight(input, HEAD)).toEqual({ kind: 'pinned', call: { method: input.method, params } })
  })

  test('eth_blockNumber is answered with the read head', () => {
    expect(pinEvmToHeight(call('eth_blockNumber', []), HEAD)).toEqual({ kind: 'height', result: '0x20' })
  })

  test('the client params are not mutated', () => {
    const params = [ADDRESS, 'latest']
    pinEvmToHeight(call('eth_getBalance', params), HEAD)
    expect(params).toEqual([ADDRESS, 'latest'])
  })

  test.each<[string, RpcCall]>([
    ['pending (the next nonce)', call('eth_getTransactionCount', [ADDRESS, 'pending'])],
    ['pending block', call('eth_getBlockByNumber', ['pending', false])],
    ['safe', call('eth_getBlockByNumber', ['safe', false])],
    ['finalized', call('eth_getBalance', [ADDRESS, 'finalized'])],
    ['earliest', call('eth_getBlockByNumber', ['earliest', false])],
    ['an explicit number', call('eth_getBlockByNumber', ['0x5', false])],
    ['a number above the head', call('eth_getBalance', [ADDRESS, '0x99'])],
    ['EIP-1898 blockHash', call('eth_getBalance', [ADDRESS, { blockHash: HASH }])],
    ['EIP-1898 explicit blockNumber', call('eth_getBalance', [ADDRESS, { blockNumber: '0x3' }])],
    ['eth_estimateGas (next-block estimate)', call('eth_estimateGas', [{ to: ADDRESS }])],
    ['eth_estimateGas latest', call('eth_estimateGas', [{ to: ADDRESS }, 'latest'])],
    ['eth_getLogs by blockHash', call('eth_getLogs', [{ blockHash: HASH }])],
    ['eth_getLogs explicit range', call('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x2' }])],
    ['eth_getLogs to pending', call('eth_getLogs', [{ fromBlock: '0x1', toBlock: 'pending' }])],
    ['eth_getLogs starting above the read head', call('eth_getLogs', [{ fromBlock: '0x21', toBlock: 'latest' }])],
    ['eth_getLogs with a non-object filter', call('eth_getLogs', ['latest'])],
    ['a hash lookup', call('eth_getTransactionReceipt', [HASH])],
    ['a method without a block', call('eth_gasPrice', [])],
    ['block parameter omitted where it is required', call('eth_getBlockByNumber', [])],
    ['omitted block not as the last parameter', call('eth_getStorageAt', [ADDRESS])],
    ['named params', call('eth_getBalance', { address: ADDRESS, block: 'latest' })],
    ['Latest in another case (nodes refuse it)', call('eth_getBalance', [ADDRESS, 'Latest'])],
  ])('not pinned: %s', (_name, input) => {
    expect(pinEvmToHeight(input, HEAD)).toBeUndefined()
  })
})

describe('isEvmEmptyAnswer', () => {
  test.each([
    'eth_getTransactionByHash',
    'eth_getTransactionReceipt',
    'eth_getBlockByHash',
    'eth_getBlockByNumber',
    'eth_getTransactionByBlockHashAndIndex',
    'eth_getTransactionByBlockNumberAndIndex',
    'eth_getBlockReceipts',
  ])('null from %s is empty', (method) => {
    expect(isEvmEmptyAnswer(call(method, []), { result: null })).toBe(true)
    expect(isEvmEmptyAnswer(call(method, []), { result: { hash: HASH } })).toBe(false)
  })

  test.each<[string, RpcCall, { result: unknown } | { error: { code: number; message: string } }]>([
    ['eth_getLogs [] (most filters match nothing)', call('eth_getLogs', [{}]), { result: [] }],
    ['eth_getBlockReceipts [] (a block without transactions)', call('eth_getBlockReceipts', ['0x1']), { result: [] }],
    ['a node error', call('eth_getTransactionReceipt', [HASH]), { error: { code: -32000, message: 'not found' } }],
    ['null from another method', call('eth_call', [{}]), { result: null }],
    ['zero balance', call('eth_getBalance', [ADDRESS, '0x1']), { result: '0x0' }],
  ])('not empty: %s', (_name, input, answer) => {
    expect(isEvmEmptyAnswer(input, answer)).toBe(false)
  })
})

describe('evmDataHeight', () => {
  test.each<[string, unknown, number | undefined]>([
    ['receipt', { blockNumber: '0x1f', status: '0x1' }, 31],
    ['mined transaction', { hash: HASH, blockNumber: '0x2' }, 2],
    ['pending transaction (no block yet)', { hash: HASH, blockNumber: null }, undefined],
    ['block', { number: '0x10', hash: HASH }, 16],
    ['block receipts', [{ blockNumber: '0x7' }], 7],
    ['empty block receipts', [], undefined],
    ['null', null, undefined],
    ['a scalar', '0x5', undefined],
  ])('%s', (_name, result, expected) => {
    expect(evmDataHeight(call('eth_getTransactionReceipt', [HASH]), { result }, 40)).toBe(expected)
  })
})

describe('evmRequirement', () => {
  test.each<[RpcCall, unknown]>([
    [call('eth_getBalance', [ADDRESS, '0x5']), { kind: 'state', height: 5 }],
    [call('eth_call', [{ to: ADDRESS }, '0x6']), { kind: 'state', height: 6 }],
    [call('eth_getCode', [ADDRESS, { blockNumber: '0x7' }]), { kind: 'state', height: 7 }],
    [call('eth_getStorageAt', [ADDRESS, '0x0', '0x8']), { kind: 'state', height: 8 }],
    [call('eth_getTransactionCount', [ADDRESS, '0x9']), { kind: 'state', height: 9 }],
    [call('eth_getProof', [ADDRESS, [], '0xa']), { kind: 'state', height: 10 }],
    [call('eth_estimateGas', [{ to: ADDRESS }, '0xb']), { kind: 'state', height: 11 }],
    [call('eth_getBalance', [ADDRESS, 'latest']), undefined],
    [call('eth_getBalance', [ADDRESS, { blockHash: HASH }]), undefined],
    [call('eth_getBlockByNumber', ['0x5', false]), undefined],
    [call('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x2' }]), undefined],
  ])('%j → %j', (input, expected) => {
    expect(evmRequirement(input)).toEqual(expected)
  })
})

describe('evmMissingCapability', () => {
  const stateRead = call('eth_getBalance', [ADDRESS, '0x2'])
  test.each<[string, { code: number; message: string }, 'state' | undefined]>([
    ['geth missing trie node', { code: -32000, message: 'missing trie node 5d1f… (path ) state 0xabc is not available' }, 'state'],
    ['geth/reth historical state', { code: -32000, message: 'historical state not available in path scheme yet' }, 'state'],
    ['geth required historical state', { code: -32000, message: 'required historical state unavailable (reexec=128)' }, 'state'],
    ['Besu world state', { code: -32000, message: 'World state unavailable for block 0x2' }, 'state'],
    ['Erigon state histories', { code: -32000, message: "state histories haven't been fully indexed yet" }, 'state'],
    ['generic state pruned', { code: -32000, message: 'state at block 2 is pruned' }, 'state'],
    ['anvil --prune-history, an old block', { code: -32602, message: 'BlockOutOfRangeError: block height is 20 but requested was 2' }, 'state'],
    ['anvil, a block above its head (behind, not missing)', { code: -32602, message: 'BlockOutOfRangeError: block height is 5 but requested was 9' }, undefined],
    ['execution reverted', { code: 3, message: 'execution reverted' }, undefined],
    ['header not found (behind)', { code: -32000, message: 'header not found' }, undefined],
  ])('%s', (_name, error, expected) => {
    expect(evmMissingCapability(stateRead, error)).toBe(expected)
  })

  test('only state reads: the same words from another method are its answer', () => {
    expect(evmMissingCapability(call('eth_getBlockByNumber', ['0x2', false]), { code: -32000, message: 'missing trie node' })).toBeUndefined()
  })
})
