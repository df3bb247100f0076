/**
 * The bitcoin part of switchyard's head stream (`src/streams/head-stream.ts`): the block at a
 * height as `getblockhash` + `getblockheader` (verbose), so a WebSocket or SSE block stream of a
 * bitcoin pool follows the same quorum head, gap-free, with reorgs, as EVM newHeads do.
 * Wired as the bitcoin adapter's `headerAt`.
 */
import type { StreamRead } from '../../src/chain-adapter.js'
import type { RpcAnswer } from '../../src/jsonrpc/types.js'
import type { StreamHead } from '../../src/streams/chain-streams.js'

const HASH = /^[0-9a-f]{64}$/

/** The block at `height`; undefined when the node has none there yet. Throws on a failed read or a malformed header. */
export async function bitcoinHeaderAt(read: StreamRead, height: number): Promise<StreamHead | undefined> {
  const hashAnswer = await read({ method: 'getblockhash', params: [height] })
  // Core: -8 "Block height out of range"; bcoin answers the same code. Not there yet, not a failure.
  if (hashAnswer.error?.code === -8) return undefined
  const hash = resultOf('getblockhash', hashAnswer)
  if (typeof hash !== 'string' || !HASH.test(hash)) throw new Error(`getblockhash ${height}: not a block hash`)
  const header = resultOf('getblockheader', await read({ method: 'getblockheader', params: [hash, true] }))
  return bitcoinStreamHead(header, height, hash)
}

/** A verbose block header as a StreamHead; throws when it is not the block asked for. */
export function bitcoinStreamHead(header: unknown, height: number, hash: string): StreamHead {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`getblockheader ${hash}: not a header object`)
  const { hash: headerHash, height: headerHeight, previousblockhash } = header as { hash?: unknown; height?: unknown; previousblockhash?: unknown }
  if (headerHash !== hash || headerHeight !== height) throw new Error(`getblockheader ${hash}: another block (height ${String(headerHeight)})`)
  // The genesis block has no parent: a hash of zeros, as its header says.
  // bcoin says null there, Core leaves the field out.
  const parentHash = height === 0 && (previousblockhash === undefined || previousblockhash === null) ? '0'.repeat(64) : previousblockhash
  if (typeof parentHash !== 'string' || !HASH.test(parentHash)) throw new Error(`getblockheader ${hash}: no valid previousblockhash`)
  return { height, hash, parentHash, header }
}

function resultOf(method: string, answer: RpcAnswer): unknown {
  if (answer.error !== undefined) throw new Error(`${method}: node error ${answer.error.code}: ${answer.error.message}`)
  return answer.result
}
