/**
 * The one place that decides what an attempt's outcome means for the call:
 * | outcome                                            | decision          | counts against the node |
 * |----------------------------------------------------|-------------------|-------------------------|
 * | the node answered (result or its own JSON-RPC error) | `answer`        | no                      |
 * | answered "I do not have that block yet"            | `try-next` (behind) | no                    |
 * | timeout, connection error, HTTP 429/5xx, malformed | `try-next` (failed) | yes                   |
 * | aborted by the client or the deadline              | `stop`            | no                      |
 * A node's JSON-RPC error (invalid params, execution reverted, a verdict on a transaction) is an
 * answer: another node would say the same, and it says nothing about the node's health.
 */
import type { ChainAdapter } from '../chain-adapter.js'
import type { RpcCall } from '../jsonrpc/types.js'
import type { CallOutcome } from '../upstream/node-transport.js'

export type AttemptDecision = 'answer' | 'try-next-behind' | 'try-next-failed' | 'stop'

export function decideAttempt(outcome: CallOutcome, call: RpcCall, adapter: Pick<ChainAdapter, 'isNodeBehindAnswer'>): AttemptDecision {
  if (!outcome.ok) return outcome.failure.kind === 'aborted' ? 'stop' : 'try-next-failed'
  const error = outcome.answer.error
  if (error !== undefined && adapter.isNodeBehindAnswer(call, error)) return 'try-next-behind'
  return 'answer'
}
