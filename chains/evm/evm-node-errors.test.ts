import { describe, expect, test } from 'vitest'
import type { NodeErrorClass } from '../../src/chain-adapter.js'
import { classifyEvmError, evmCallCost } from './evm-node-errors.js'

const HASH = `0x${'ab'.repeat(32)}`
const BALANCE_AT_16 = { method: 'eth_getBalance', params: ['0xabc', '0x10'] }

describe('classifyEvmError', () => {
  test.each<{ name: string; method: string; params?: unknown[]; code: number; message: string; expected: NodeErrorClass }>([
    // behind: the node lacks that block yet (only for calls that target a block).
    { name: 'geth header not found', method: 'eth_getBlockByNumber', params: ['0x10', false], code: -32000, message: 'header not found', expected: 'behind' },
    { name: 'any case', method: 'eth_call', params: [{}, '0x10'], code: -32000, message: 'Header not found', expected: 'behind' },
    { name: 'a tag target counts', method: 'eth_getBalance', params: ['0xabc', 'latest'], code: -32000, message: 'header not found', expected: 'behind' },
    { name: 'Besu code alone', method: 'eth_getCode', params: ['0xabc', '0x10'], code: -39001, message: 'whatever the text', expected: 'behind' },
    { name: 'Besu Unknown block', ...BALANCE_AT_16, code: -39001, message: 'Unknown block', expected: 'behind' },
    { name: 'eth_getLogs unknown block', method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x10' }], code: -32000, message: 'unknown block', expected: 'behind' },
    { name: 'receipts block not found', method: 'eth_getBlockReceipts', params: ['0x10'], code: -32000, message: 'Block not found', expected: 'behind' },
    { name: 'block by hash', method: 'eth_getBlockByHash', params: [HASH, false], code: -32000, message: 'block not found', expected: 'behind' },
    { name: 'tx by block hash', method: 'eth_getTransactionByBlockHashAndIndex', params: [HASH, '0x0'], code: -32000, message: 'header not found', expected: 'behind' },
    { name: 'anvil BlockOutOfRangeError', method: 'eth_getBalance', params: ['0xabc', '0x100'], code: -32602, message: 'BlockOutOfRangeError: block height is 0 but requested was 256', expected: 'behind' },
    { name: 'anvil --prune-history: BlockOutOfRangeError below its tip is missing state', method: 'eth_getBalance', params: ['0xabc', '0x2'], code: -32602, message: 'BlockOutOfRangeError: block height is 30 but requested was 2', expected: 'missing-state' },
    { name: 'could not find block', ...BALANCE_AT_16, code: -32000, message: 'could not find block for height 826401374464', expected: 'behind' },
    // missing-state: old state this node no longer keeps; an archive node may have it.
    { name: 'geth hash scheme', ...BALANCE_AT_16, code: -32000, message: 'missing trie node abc (path )', expected: 'missing-state' },
    { name: 'geth path scheme', method: 'eth_call', params: [{}, '0x10'], code: -32000, message: 'historical state not available in path scheme yet', expected: 'missing-state' },
    { name: 'historical state unavailable', ...BALANCE_AT_16, code: -32000, message: 'historical state 0xabc is unavailable', expected: 'missing-state' },
    { name: 'reth pruned', ...BALANCE_AT_16, code: -32000, message: 'state at block #16 is pruned', expected: 'missing-state' },
    { name: 'Nethermind', ...BALANCE_AT_16, code: -32002, message: 'No state available for block 0xabc', expected: 'missing-state' },
    { name: 'Besu world state', ...BALANCE_AT_16, code: -32000, message: 'World state unavailable', expected: 'missing-state' },
    // refusal: provider-side, at HTTP 200: the node's failure.
    { name: 'Infura daily quota', method: 'eth_getBalance', params: ['0xabc', 'latest'], code: -32005, message: 'daily request count exceeded, request rate limited', expected: 'refusal' },
    { name: 'EIP-1474 limit exceeded', method: 'eth_gasPrice', code: -32005, message: 'limit exceeded', expected: 'refusal' },
    { name: 'too many requests', method: 'eth_blockNumber', code: 429, message: 'Too Many Requests', expected: 'refusal' },
    { name: 'Alchemy capacity', method: 'eth_getTransactionReceipt', params: [HASH], code: 429, message: 'Your app has exceeded its compute units per second capacity. If you have retries enabled…', expected: 'refusal' },
    { name: 'rate limit without code', method: 'eth_getTransactionByHash', params: [HASH], code: -32000, message: 'rate limit exceeded', expected: 'refusal' },
    { name: 'provider timeout', method: 'eth_getTransactionReceipt', params: [HASH], code: -32000, message: 'request timed out', expected: 'refusal' },
    { name: 'internal error', method: 'eth_getTransactionReceipt', params: [HASH], code: -32603, message: 'Internal error', expected: 'refusal' },
    { name: '-32603 in the node\'s own words: maybe about the call, counted only if another node answers it', method: 'eth_blockNumber', code: -32603, message: 'failed to fetch', expected: 'request-invalid' },
    { name: 'gateway trouble', method: 'eth_blockNumber', code: -32000, message: 'upstream connect error or disconnect/reset before headers', expected: 'refusal' },
    // request-invalid: the node could not take the request; the request's fault once a second node agrees.
    { name: 'parse error', method: 'eth_call', params: [{}, 'latest'], code: -32700, message: 'Parse error', expected: 'request-invalid' },
    { name: 'anvil invalid request', method: 'eth_call', params: [{}, 'latest'], code: -32600, message: 'Invalid request', expected: 'request-invalid' },
    { name: 'method missing on this node', method: 'eth_blobBaseFee', code: -32601, message: 'the method eth_blobBaseFee does not exist/is not available', expected: 'request-invalid' },
    { name: 'not in the plan', method: 'eth_getProof', params: ['0xabc', [], 'latest'], code: -32000, message: 'eth_getProof is not included in your current plan', expected: 'request-invalid' },
    { name: 'request too large', method: 'eth_call', params: [{}, 'latest'], code: -32000, message: 'Request Entity Too Large', expected: 'request-invalid' },
    // answers: the node's verdict on the call, passed to the client.
    { name: 'revert', method: 'eth_call', params: [{}, '0x10'], code: 3, message: 'execution reverted', expected: 'answer' },
    { name: 'anvil out of gas is -32603 but a verdict', method: 'eth_call', params: [{}, 'latest'], code: -32603, message: 'EVM error OutOfGas', expected: 'answer' },
    { name: 'geth evm timeout', method: 'eth_call', params: [{}, 'latest'], code: -32000, message: 'execution aborted (timeout = 5s)', expected: 'answer' },
    { name: 'Infura -32005 result limit is not a rate limit', method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x10000' }], code: -32005, message: 'query returned more than 10000 results', expected: 'answer' },
    { name: 'Alchemy log size', method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x10000' }], code: -32602, message: 'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range', expected: 'answer' },
    { name: 'Besu -32005 transaction verdict', method: 'eth_estimateGas', params: [{}], code: -32005, message: 'Transaction gas limit exceeds block gas limit', expected: 'answer' },
    { name: 'invalid params', ...BALANCE_AT_16, code: -32602, message: 'invalid argument 0', expected: 'answer' },
    // "behind" words from calls that do not target a block are answers.
    { name: 'tx by hash', method: 'eth_getTransactionByHash', params: [HASH], code: -32000, message: 'header not found', expected: 'answer' },
    { name: 'receipt Besu code', method: 'eth_getTransactionReceipt', params: [HASH], code: -39001, message: 'Unknown block', expected: 'answer' },
    { name: 'eth_blockNumber', method: 'eth_blockNumber', code: -32000, message: 'header not found', expected: 'answer' },
    { name: 'prototype name', method: 'constructor', code: -32000, message: 'header not found', expected: 'answer' },
  ])('$name: $method $code "$message" → $expected', ({ method, params, code, message, expected }) => {
    expect(classifyEvmError({ method, params: params ?? [] }, { code, message })).toBe(expected)
  })
})

describe('evmCallCost', () => {
  test.each<[string, 'cheap' | 'heavy']>([
    ['eth_getLogs', 'heavy'],
    ['eth_call', 'heavy'],
    ['eth_estimateGas', 'heavy'],
    ['eth_getBlockReceipts', 'heavy'],
    ['eth_getProof', 'heavy'],
    ['eth_blockNumber', 'cheap'],
    ['eth_getBalance', 'cheap'],
    ['eth_getTransactionReceipt', 'cheap'],
    ['eth_getBlockByNumber', 'cheap'],
  ])('%s → %s', (method, cost) => {
    expect(evmCallCost({ method, params: [] })).toBe(cost)
  })
})
