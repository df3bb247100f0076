import { describe, expect, test } from 'vitest'
import type { RpcAnswer, RpcCall } from '../../src/jsonrpc/types.js'
import { bitcoinHeaderAt } from './bitcoin-streams.js'

const HASH = 'ab'.repeat(32)
const PARENT = 'cd'.repeat(32)

function reads(answers: Record<string, RpcAnswer>) {
  const calls: RpcCall[] = []
  const read = async (call: RpcCall): Promise<RpcAnswer> => {
    calls.push(call)
    return answers[call.method] ?? { error: { code: -32601, message: 'no' } }
  }
  return { calls, read }
}

describe('bitcoinHeaderAt', () => {
  test('getblockhash then the verbose header of that hash', async () => {
    const header = { hash: HASH, height: 5, previousblockhash: PARENT, time: 1 }
    const { calls, read } = reads({ getblockhash: { result: HASH }, getblockheader: { result: header } })
    expect(await bitcoinHeaderAt(read, 5)).toEqual({ height: 5, hash: HASH, parentHash: PARENT, header })
    expect(calls).toEqual([
      { method: 'getblockhash', params: [5] },
      { method: 'getblockheader', params: [HASH, true] },
    ])
  })

  test('a height out of range is "not yet"; other errors and wrong headers throw', async () => {
    expect(await bitcoinHeaderAt(reads({ getblockhash: { error: { code: -8, message: 'Block height out of range' } } }).read, 9)).toBeUndefined()
    await expect(bitcoinHeaderAt(reads({ getblockhash: { error: { code: -28, message: 'Loading' } } }).read, 9)).rejects.toThrow(/-28/)
    const other = { hash: HASH, height: 6, previousblockhash: PARENT }
    await expect(bitcoinHeaderAt(reads({ getblockhash: { result: HASH }, getblockheader: { result: other } }).read, 5)).rejects.toThrow(/another block/)
    const orphan = { hash: HASH, height: 5 }
    await expect(bitcoinHeaderAt(reads({ getblockhash: { result: HASH }, getblockheader: { result: orphan } }).read, 5)).rejects.toThrow(/previousblockhash/)
  })

  test('the genesis block has a parent of zeros', async () => {
    const genesis = { hash: HASH, height: 0 }
    expect((await bitcoinHeaderAt(reads({ getblockhash: { result: HASH }, getblockheader: { result: genesis } }).read, 0))?.parentHash).toBe('0'.repeat(64))
    // bcoin spells the missing parent `previousblockhash: null`.
    const bcoinGenesis = { hash: HASH, height: 0, previousblockhash: null }
    expect((await bitcoinHeaderAt(reads({ getblockhash: { result: HASH }, getblockheader: { result: bcoinGenesis } }).read, 0))?.parentHash).toBe('0'.repeat(64))
  })
})
