import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import type { NodeFailure } from './node-failure.js'

export interface CallOptions {
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number
  /** Aborts the attempt (client disconnected, overall deadline). */
  signal?: AbortSignal | undefined
}

export type CallOutcome =
  | { ok: true; answer: RpcAnswer; latencyMs: number }
  | { ok: false; failure: NodeFailure; latencyMs: number }

/**
 * How the core and adapters talk to one node. Never throws for node problems: every outcome is
 * a value. Implementations keep the URL and credentials to themselves.
 */
export interface NodeTransport {
  readonly nodeId: string
  call(call: RpcCall, options: CallOptions): Promise<CallOutcome>
  close(): Promise<void>
}
