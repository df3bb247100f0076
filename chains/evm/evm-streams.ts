/**
 * The EVM parts of switchyard's own streams (`src/streams/`): a block as the head stream delivers
 * it (`eth_getBlockByNumber(h, false)`), and the logs of one block by its hash (EIP-234), which can
 * never mix two branches of a reorg the way a block-number range can.
 */
import type { StreamRead } from '../../src/chain-adapter.js'
import type { RpcAnswer } from '../../src/jsonrpc/types.js'
import type { StreamHead } from '../../src/streams/chain-streams.js'
import { quantity } from './evm-methods.js'

const HASH = /^0x[0-9a-fA-F]{64}$/

/** The block at `height`; undefined when the node has none there (null). Throws on a failed read or a malformed block. */
export async function evmHeaderAt(read: StreamRead, height: number): Promise<StreamHead | undefined> {
  const result = resultOf('eth_getBlockByNumber', await read({ method: 'eth_getBlockByNumber', params: [`0x${height.toString(16)}`, false] }))
  if (result === null) return undefined
  return evmStreamHead(result, height)
}

/** A block object as a StreamHead; throws when it is not the block asked for. */
export function evmStreamHead(block: unknown, height: number): StreamHead {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) throw new Error(`eth_getBlockByNumber ${height}: not a block object`)
  const { number, hash, parentHash } = block as { number?: unknown; hash?: unknown; parentHash?: unknown }
  if (typeof number !== 'string' || quantity(number) !== height) throw new Error(`eth_getBlockByNumber ${height}: the block has another number`)
  if (typeof hash !== 'string' || !HASH.test(hash) || typeof parentHash !== 'string' || !HASH.test(parentHash)) {
    throw new Error(`eth_getBlockByNumber ${height}: the block has no valid hash or parentHash`)
  }
  return { height, hash: hash.toLowerCase(), parentHash: parentHash.toLowerCase(), header: block }
}

/** Every log of the block, in the node's (log index) order. Throws on a failed read or an unknown block. */
export async function evmBlockLogs(read: StreamRead, blockHash: string): Promise<Array<Record<string, unknown>>> {
  const result = resultOf('eth_getLogs', await read({ method: 'eth_getLogs', params: [{ blockHash }] }))
  if (!Array.isArray(result)) throw new Error('eth_getLogs: not an array')
  for (const log of result) {
    if (typeof log !== 'object' || log === null || Array.isArray(log)) throw new Error('eth_getLogs: a log is not an object')
    // A node answering for another block (or a pending one) must not be delivered as this block's logs.
    const hash = (log as { blockHash?: unknown }).blockHash
    if (typeof hash !== 'string' || hash.toLowerCase() !== blockHash.toLowerCase()) throw new Error('eth_getLogs: a log of another block')
  }
  return result as Array<Record<string, unknown>>
}

function resultOf(method: string, answer: RpcAnswer): unknown {
  if (answer.error !== undefined) throw new Error(`${method}: node error ${answer.error.code}: ${answer.error.message}`)
  return answer.result
}
