import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { NodeFailure } from './node-failure.js'
import type { CallSignal } from '../util/call-signal.js'
import type { BatchStats } from './call-batcher.js'

export interface CallOptions {
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number
  /** Aborts the attempt (client disconnected, overall deadline). */
  signal?: CallSignal | undefined
  /**
   * The call may share one HTTP exchange (a JSON-RPC batch) with other calls to the node made in
   * the same turn of the event loop, up to this many calls per batch (routing.batch.maxCalls; see
   * call-batcher.ts). Unset: sent on its own. Transports without batching ignore it.
   */
  batchUpTo?: number | undefined
}

export type CallOutcome =
  | { ok: true; answer: RpcAnswer; latencyMs: number }
  | { ok: false; failure: NodeFailure; latencyMs: number }

/**
 * The outcome of a JSON-RPC batch sent in one HTTP request: every call's answer in call order, or
 * one failure for all of them. `refused`: the node answered, but not with a batch reply (a single
 * error object, an HTTP 4xx): it does not take batches, and the calls may be sent one by one.
 */
export type BatchOutcome =
  | { ok: true; answers: RpcAnswer[]; latencyMs: number }
  | { ok: false; failure: NodeFailure; latencyMs: number; refused?: true }

/**
 * How the core and adapters talk to one node. Never throws for node problems: every outcome is
 * a value. Implementations keep the URL and credentials to themselves.
 */
export interface NodeTransport {
  readonly nodeId: string
  call(call: RpcCall, options: CallOptions): Promise<CallOutcome>
  /** Several calls in one request (probes: one HTTP exchange instead of one per call). Optional. */
  callBatch?(calls: readonly RpcCall[], options: CallOptions): Promise<BatchOutcome>
  /**
   * The node refused a batch (callBatch `refused`, or reads' batches): send it single calls. Kept
   * by the transport, so probes and reads learn it once for both.
   */
  readonly refusesBatches?: boolean
  /** Calls this transport sent in batches of their own (`batchUpTo`), if it batches. */
  readonly batchStats?: BatchStats | undefined
  close(): Promise<void>
}
