import { describe, expect, test } from 'vitest'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import { feeHistoryCountError, logsRangeError } from './evm-call-limits.js'

const HEAD = 20_000
const MAX = 1000
const logs = (filter: unknown): RpcCall => ({ method: 'eth_getLogs', params: [filter] })
const hex = (n: number): string => `0x${n.toString(16)}`

describe('logsRangeError: eth_getLogs block range against maxLogsRange (read head 20000, limit 1000)', () => {
  test.each<[string, RpcCall, number | undefined]>([
    ['exactly the limit passes', logs({ fromBlock: hex(1), toBlock: hex(1000) }), undefined],
    ['one block more is refused', logs({ fromBlock: hex(1), toBlock: hex(1001) }), 1001],
    ['a single block', logs({ fromBlock: hex(5), toBlock: hex(5) }), undefined],
    ['earliest → latest: 0 to the read head', logs({ fromBlock: 'earliest', toBlock: 'latest' }), HEAD + 1],
    ['a numeric start, end omitted (latest)', logs({ fromBlock: hex(HEAD - 1000) }), 1001],
    ['a numeric start within the limit of the head', logs({ fromBlock: hex(HEAD - 999), toBlock: 'latest' }), undefined],
    ['no range at all (latest..latest)', logs({ address: '0x0000000000000000000000000000000000000001' }), undefined],
    ['to finalized is read as the head (an upper bound)', logs({ fromBlock: '0x0', toBlock: 'finalized' }), HEAD + 1],
    ['to safe likewise', logs({ fromBlock: '0x0', toBlock: 'safe' }), HEAD + 1],
    ['to pending: the head + 1', logs({ fromBlock: hex(HEAD - 999), toBlock: 'pending' }), 1001],
    ['already pinned by the read path (numbers only)', logs({ fromBlock: hex(0), toBlock: hex(HEAD) }), HEAD + 1],
    ['by blockHash: one block, never checked', logs({ blockHash: `0x${'ab'.repeat(32)}`, fromBlock: '0x0', toBlock: hex(HEAD) }), undefined],
    ['a reversed range is the node\'s to answer', logs({ fromBlock: hex(5000), toBlock: hex(1) }), undefined],
    ['malformed numbers are the node\'s to answer', logs({ fromBlock: '12', toBlock: hex(HEAD) }), undefined],
    ['not a filter object', logs('not a filter'), undefined],
    ['no params', { method: 'eth_getLogs', params: undefined }, undefined],
    ['another method', { method: 'eth_getBlockByNumber', params: ['0x0', false] }, undefined],
  ])('%s', (_name, call, blocks) => {
    const error = logsRangeError(call, HEAD, MAX, 'chains.eth.maxLogsRange')
    if (blocks === undefined) {
      expect(error).toBeUndefined()
      return
    }
    expect(error?.code).toBe('SY_RANGE_TOO_LARGE')
    expect(error?.details).toMatchObject({ limit: MAX, blocks, bound: 'chains.eth.maxLogsRange' })
  })

  test('tags before any read head (no probe round yet) are not guessed; numbers are still checked', () => {
    expect(logsRangeError(logs({ fromBlock: '0x0', toBlock: 'latest' }), undefined, MAX)).toBeUndefined()
    expect(logsRangeError(logs({ fromBlock: '0x0', toBlock: hex(5000) }), undefined, MAX)?.code).toBe('SY_RANGE_TOO_LARGE')
  })

  test('0 turns the limit off', () => {
    expect(logsRangeError(logs({ fromBlock: 'earliest', toBlock: 'latest' }), HEAD, 0)).toBeUndefined()
  })

  test('the error says what to do, as a JSON-RPC -32602', () => {
    const error = logsRangeError(logs({ fromBlock: '0x0', toBlock: hex(4999) }), HEAD, MAX, 'chains.eth.maxLogsRange')!
    expect(error.toJsonRpcError()).toEqual({
      code: -32602,
      message: 'eth_getLogs spans 5000 blocks (0 to 4999), more than the limit of 1000 (chains.eth.maxLogsRange): query at most 1000 blocks at a time',
      data: { code: 'SY_RANGE_TOO_LARGE', limit: 1000, blocks: 5000, fromBlock: 0, toBlock: 4999, bound: 'chains.eth.maxLogsRange' },
    })
  })
})

describe('feeHistoryCountError: a block count nodes cannot hold in 64 bits (anvil panics on it)', () => {
  test.each<[string, unknown[], boolean]>([
    ['2^64 as hex', ['0x10000000000000000', 'latest', []], true],
    ['a 256-bit hex count (the fuzz suite\'s crash)', [`0x${'ca'.repeat(32)}`, '0x9', [1]], true],
    ['2^64 as a JSON number', [2 ** 64, 'latest', []], true],
    ['2^64 − 1 is the node\'s to answer', ['0xffffffffffffffff', 'latest', []], false],
    ['an ordinary count', ['0x5', 'latest', [25, 75]], false],
    ['a negative number is the node\'s invalid params', [-5, 'latest', []], false],
    ['malformed hex is the node\'s to answer', ['0xzz', 'latest', []], false],
  ])('%s → refused %s', (_name, params, refused) => {
    const error = feeHistoryCountError({ method: 'eth_feeHistory', params })
    expect(error?.code).toBe(refused ? 'SY_INVALID_PARAMS' : undefined)
  })

  test('other methods are never checked', () => {
    expect(feeHistoryCountError({ method: 'eth_getBlockByNumber', params: ['0x10000000000000000', false] })).toBeUndefined()
  })
})
