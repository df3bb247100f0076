import { describe, expect, test } from 'vitest'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import { classifyEvmMethod, quantity, requiredEvmHeight, targetsBlock } from './evm-methods.js'

const HASH = `0x${'ab'.repeat(32)}`

describe('classifyEvmMethod', () => {
  test.each([
    'net_version', 'net_listening', 'net_peerCount', 'web3_clientVersion', 'eth_protocolVersion', 'eth_syncing',
    'eth_blockNumber', 'eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_getBlockReceipts',
    'eth_getBlockTransactionCountByHash', 'eth_getBlockTransactionCountByNumber', 'eth_getUncleCountByBlockHash',
    'eth_getUncleCountByBlockNumber', 'eth_getUncleByBlockHashAndIndex', 'eth_getUncleByBlockNumberAndIndex',
    'eth_getTransactionByHash', 'eth_getTransactionByBlockHashAndIndex', 'eth_getTransactionByBlockNumberAndIndex',
    'eth_getTransactionReceipt', 'eth_getBalance', 'eth_getTransactionCount', 'eth_getStorageAt', 'eth_getCode',
    'eth_getProof', 'eth_call', 'eth_estimateGas', 'eth_gasPrice', 'eth_maxPriorityFeePerGas', 'eth_feeHistory',
    'eth_blobBaseFee', 'eth_getLogs',
  ])('%s is a read', (method) => {
    expect(classifyEvmMethod(method)).toBe('read')
  })

  test.each([
    ['eth_sendRawTransaction', 'broadcast'],
    ['eth_chainId', 'local'],
    // Served by switchyard's streams (node-local state a failover would lose never reaches a node).
    ['eth_newFilter', 'stream'],
    ['eth_newBlockFilter', 'stream'],
    ['eth_newPendingTransactionFilter', 'stream'],
    ['eth_getFilterChanges', 'stream'],
    ['eth_getFilterLogs', 'stream'],
    ['eth_uninstallFilter', 'stream'],
    ['eth_subscribe', 'stream'],
    ['eth_unsubscribe', 'stream'],
  ] as const)('%s is %s', (method, expected) => {
    expect(classifyEvmMethod(method)).toBe(expected)
  })

  test.each([
    // Node keystore.
    'eth_sendTransaction', 'eth_sign', 'eth_signTransaction', 'eth_signTypedData_v4', 'eth_accounts', 'personal_sign',
    'personal_unlockAccount', 'personal_listAccounts',
    // Node control, tracing, pool contents, consensus.
    'admin_peers', 'admin_addPeer', 'debug_traceTransaction', 'debug_setHead', 'miner_start', 'miner_setEtherbase',
    'txpool_content', 'txpool_status', 'engine_forkchoiceUpdatedV3', 'engine_newPayloadV4', 'trace_block', 'trace_filter',
    // Dev-node controls.
    'anvil_mine', 'anvil_setBalance', 'evm_mine', 'evm_revert', 'hardhat_reset',
    // Stream methods are case-sensitive too.
    'eth_newfilter', 'ETH_SUBSCRIBE', 'eth_getFilterChanges ',
    // Hardcoded by dshackle, not proxied here; unknown names; case matters.
    'eth_coinbase', 'eth_mining', 'eth_hashrate', 'nonexistent_method', '', 'ETH_BLOCKNUMBER', 'eth_chainid',
    'eth_sendRawTransaction ', '__proto__', 'constructor',
  ])('%j is forbidden', (method) => {
    expect(classifyEvmMethod(method)).toBe('forbidden')
  })
})

describe('requiredEvmHeight', () => {
  test.each<{ method: string; params: RpcCall['params']; height: number | undefined }>([
    // Every block position, with a hex quantity.
    { method: 'eth_getBlockByNumber', params: ['0x10', false], height: 16 },
    { method: 'eth_getBlockReceipts', params: ['0xff'], height: 255 },
    { method: 'eth_getBlockTransactionCountByNumber', params: ['0x1'], height: 1 },
    { method: 'eth_getTransactionByBlockNumberAndIndex', params: ['0x2', '0x0'], height: 2 },
    { method: 'eth_getUncleByBlockNumberAndIndex', params: ['0x3', '0x0'], height: 3 },
    { method: 'eth_getUncleCountByBlockNumber', params: ['0x4'], height: 4 },
    { method: 'eth_getBalance', params: ['0xabc', '0x64'], height: 100 },
    { method: 'eth_getCode', params: ['0xabc', '0x5'], height: 5 },
    { method: 'eth_getTransactionCount', params: ['0xabc', '0x6'], height: 6 },
    { method: 'eth_getStorageAt', params: ['0xabc', '0x0', '0x7'], height: 7 },
    { method: 'eth_call', params: [{ to: '0xabc' }, '0x8'], height: 8 },
    { method: 'eth_estimateGas', params: [{ to: '0xabc' }, '0xa'], height: 10 },
    { method: 'eth_getProof', params: ['0xabc', ['0x0'], '0xb'], height: 11 },
    { method: 'eth_feeHistory', params: ['0x4', '0xc', [25, 75]], height: 12 },
    // Block 0 is an explicit height too; leading zeros are tolerated.
    { method: 'eth_getBlockByNumber', params: ['0x0', false], height: 0 },
    { method: 'eth_getBalance', params: ['0xabc', '0x00ff'], height: 255 },
    // Tags: no explicit height.
    { method: 'eth_getBlockByNumber', params: ['latest', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['pending', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['safe', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['finalized', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['earliest', false], height: undefined },
    { method: 'eth_feeHistory', params: ['0x4', 'latest', [25]], height: undefined },
    { method: 'eth_call', params: [{ to: '0xabc' }, 'pending'], height: undefined },
    // Omitted block parameter: the node's default (latest).
    { method: 'eth_getBalance', params: ['0xabc'], height: undefined },
    { method: 'eth_call', params: [{ to: '0xabc' }], height: undefined },
    // EIP-1898 objects.
    { method: 'eth_call', params: [{ to: '0xabc' }, { blockNumber: '0x9' }], height: 9 },
    { method: 'eth_getBalance', params: ['0xabc', { blockNumber: '0x20' }], height: 32 },
    { method: 'eth_getStorageAt', params: ['0xabc', '0x0', { blockNumber: '0x21' }], height: 33 },
    { method: 'eth_call', params: [{ to: '0xabc' }, { blockHash: HASH }], height: undefined },
    { method: 'eth_call', params: [{ to: '0xabc' }, { blockHash: HASH, requireCanonical: true }], height: undefined },
    { method: 'eth_call', params: [{ to: '0xabc' }, { blockNumber: 'latest' }], height: undefined },
    { method: 'eth_call', params: [{ to: '0xabc' }, { blockNumber: 9 }], height: undefined },
    // A block hash where a number is expected is not a height.
    { method: 'eth_getBalance', params: ['0xabc', HASH], height: undefined },
    // eth_getLogs: the higher numeric end; tags, omitted ends and blockHash give none.
    { method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x20' }], height: 32 },
    { method: 'eth_getLogs', params: [{ fromBlock: '0x30', toBlock: '0x20' }], height: 48 },
    { method: 'eth_getLogs', params: [{ fromBlock: '0x5', toBlock: '0x5', address: '0xabc' }], height: 5 },
    { method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: 'latest' }], height: undefined },
    { method: 'eth_getLogs', params: [{ fromBlock: 'earliest', toBlock: '0x20' }], height: undefined },
    { method: 'eth_getLogs', params: [{ fromBlock: '0x1' }], height: undefined },
    { method: 'eth_getLogs', params: [{ toBlock: '0x20' }], height: undefined },
    { method: 'eth_getLogs', params: [{}], height: undefined },
    { method: 'eth_getLogs', params: [{ blockHash: HASH }], height: undefined },
    { method: 'eth_getLogs', params: [{ blockHash: HASH, fromBlock: '0x1', toBlock: '0x2' }], height: undefined },
    // Malformed: the node answers the error.
    { method: 'eth_getLogs', params: ['nonsense'], height: undefined },
    { method: 'eth_getLogs', params: [[{ fromBlock: '0x1', toBlock: '0x2' }]], height: undefined },
    { method: 'eth_getLogs', params: [null], height: undefined },
    { method: 'eth_getLogs', params: [], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['0xzz', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['0x', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: ['16', false], height: undefined },
    { method: 'eth_getBlockByNumber', params: [16, false], height: undefined },
    { method: 'eth_getBlockByNumber', params: [null, false], height: undefined },
    { method: 'eth_getBlockByNumber', params: [], height: undefined },
    { method: 'eth_getBlockByNumber', params: { block: '0x1' }, height: undefined },
    { method: 'eth_getBlockByNumber', params: undefined, height: undefined },
    { method: 'eth_getBlockByNumber', params: ['0x20000000000000', false], height: undefined },
    // Methods without a block parameter.
    { method: 'eth_getTransactionByHash', params: ['0x10'], height: undefined },
    { method: 'eth_getBlockByHash', params: [HASH, false], height: undefined },
    { method: 'eth_blockNumber', params: [], height: undefined },
    { method: 'eth_sendRawTransaction', params: ['0x10'], height: undefined },
  ])('$method $params → $height', ({ method, params, height }) => {
    expect(requiredEvmHeight({ method, params })).toBe(height)
  })
})

describe('quantity', () => {
  test.each<[string, number | undefined]>([
    ['0x0', 0],
    ['0x1', 1],
    ['0xff', 255],
    ['0xFF', 255],
    ['0x00ff', 255],
    ['0x1fffffffffffff', 2 ** 53 - 1],
    ['0x20000000000000', undefined],
    ['0x10000000000000000', undefined],
    ['0X1', undefined],
    ['0x', undefined],
    ['1', undefined],
    ['0x-1', undefined],
    [' 0x1', undefined],
    ['latest', undefined],
  ])('quantity(%j) → %s', (value, expected) => {
    expect(quantity(value)).toBe(expected)
  })
})

describe('targetsBlock', () => {
  test.each<[string, boolean]>([
    ['eth_getBlockByNumber', true],
    ['eth_getBlockByHash', true],
    ['eth_getLogs', true],
    ['eth_call', true],
    ['eth_getTransactionByHash', false],
    ['eth_blockNumber', false],
    ['constructor', false],
  ])('%s → %s', (method, expected) => {
    expect(targetsBlock({ method, params: [] })).toBe(expected)
  })
})
