/**
 * Limits the proxy itself puts on EVM calls, checked before any node is asked.
 *
 * `eth_getLogs` block range (`chains.<name>.maxLogsRange`): a range of a million blocks keeps a
 * node busy for minutes and is refused by most providers only after it ran; switchyard refuses it
 * at once with SY_RANGE_TOO_LARGE, so no node works on it and no node is blamed for timing out.
 * The range is read as the node would read the call after tip pinning:
 * | block parameter | read as |
 * |---|---|
 * | hex quantity | itself |
 * | `earliest` | 0 |
 * | `latest`, omitted, `safe`, `finalized` | the pool's read head (for `safe`/`finalized` an upper bound, so a range ending there is never under-counted) |
 * | `pending` | read head + 1 |
 * Not checked: a filter by `blockHash` (one block), a reversed range (the node's error to give),
 * a tag before the first probe round (no read head yet), anything malformed (the node answers it).
 *
 * `eth_feeHistory` block count of 2^64 or more: anvil panics and exits on it (found by the fuzz
 * suite, test/fuzz), so one client call would take down every anvil of a chain; no node serves
 * more than a few thousand blocks of fee history, so such a count is refused as SY_INVALID_PARAMS.
 */
import { ProxyError } from '../../src/errors/proxy-error.js'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import { quantity } from './evm-methods.js'

/** The error for an eth_getLogs call spanning more than `maxLogsRange` blocks (0 = no limit), or undefined. */
export function logsRangeError(call: RpcCall, readHead: number | undefined, maxLogsRange: number, bound = 'maxLogsRange'): ProxyError | undefined {
  if (call.method !== 'eth_getLogs' || maxLogsRange <= 0 || !Array.isArray(call.params)) return undefined
  const filter = call.params[0]
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return undefined
  const { fromBlock, toBlock, blockHash } = filter as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown }
  if (blockHash !== undefined) return undefined
  const from = blockOf(fromBlock, readHead)
  const to = blockOf(toBlock, readHead)
  if (from === undefined || to === undefined || to < from) return undefined
  const blocks = to - from + 1
  if (blocks <= maxLogsRange) return undefined
  return new ProxyError(
    'SY_RANGE_TOO_LARGE',
    `eth_getLogs spans ${blocks} blocks (${from} to ${to}), more than the limit of ${maxLogsRange} (${bound}): query at most ${maxLogsRange} blocks at a time`,
    { limit: maxLogsRange, blocks, fromBlock: from, toBlock: to, bound },
  )
}

/** Counts nodes parse as unsigned 64-bit integers: 2^64 and above overflow them. */
const U64_LIMIT = 2n ** 64n

/** The error for an eth_feeHistory block count that does not fit 64 bits, or undefined (anything else is the node's to answer). */
export function feeHistoryCountError(call: RpcCall): ProxyError | undefined {
  if (call.method !== 'eth_feeHistory' || !Array.isArray(call.params)) return undefined
  const count = call.params[0]
  let value: bigint | undefined
  if (typeof count === 'string' && /^0x[0-9a-fA-F]+$/.test(count)) value = BigInt(count)
  else if (typeof count === 'number' && Number.isFinite(count)) value = BigInt(Math.trunc(Math.abs(count)))
  if (value === undefined || value < U64_LIMIT) return undefined
  return new ProxyError('SY_INVALID_PARAMS', 'eth_feeHistory blockCount does not fit in 64 bits', { method: 'eth_feeHistory' })
}

function blockOf(value: unknown, readHead: number | undefined): number | undefined {
  if (value === 'earliest') return 0
  if (value === undefined || value === 'latest' || value === 'safe' || value === 'finalized') return readHead
  if (value === 'pending') return readHead === undefined ? undefined : readHead + 1
  return typeof value === 'string' ? quantity(value) : undefined
}
