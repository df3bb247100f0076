/**
 * The blame table: the one place that decides what one attempt's outcome means for the call
 * (answer it, try another node, stop) and for the node (count it against the node now, only if the
 * same call then works on another node, or never). Pure; the router applies it.
 *
 * | outcome of the attempt                                                        | action           | blame                   |
 * |-------------------------------------------------------------------------------|------------------|-------------------------|
 * | a result, or a JSON-RPC error of class `answer` (reverted, invalid params…)    | `answer`         | never (a success)       |
 * | error `behind`, node's probed height below the block asked for                | `try-next`¹      | never                   |
 * | error `behind`, node's probed height covers the block ("header not found")    | `try-next`       | now                     |
 * | error `missing-state` (pruned state/blocks, no txindex)                       | `try-next`¹ ²    | never                   |
 * | error `refusal` (rate limited, quota, capacity, internal error)               | `try-next`       | now                     |
 * | error `request-invalid`, or failure `request-rejected` (`id: null` error, HTTP 400/413/414/431, socket closed on a large body) | `try-next` | if it works elsewhere |
 * | … error `request-invalid` again on a second node (parse error, invalid request, method not found) | `answer`⁴ | never |
 * | … failure `request-rejected` on a second node                                 | `request-fault` SY_REQUEST_REJECTED | never |
 * | timeout on a `cheap` call                                                      | `try-next`       | now                     |
 * | timeout on a `heavy` call (cost chosen by the client)                          | `try-next`       | never (probes catch a dead node) |
 * | … the same on a second node                                                    | `request-fault` SY_CALL_TOO_HEAVY | never  |
 * | timeout on a cheap call while switchyard's event loop was stalled (`stalled`) | `try-next`       | never                   |
 * |   (on a heavy call a stalled timeout is judged as any heavy timeout)           |                  |                         |
 * | timeout cut short by the call's overall deadline                              | `try-next`³      | never                   |
 * | connection refused/reset, HTTP 5xx/429/401/403, malformed reply               | `try-next`       | now                     |
 * | reply larger than routing.maxReplyBytes                                       | `reply-too-large`| never (any node sends the same bytes) |
 * | switchyard's reply-byte budget full                                           | `overloaded`     | never                   |
 * | aborted (client gone, deadline)                                               | `stop`           | never                   |
 * ¹ the answer is kept: if no node can do better, "not yet" / "not available" is the answer.
 * ² the router also remembers the node lacks state at that height (`noteMissingState`).
 * ³ the router then answers SY_DEADLINE_EXCEEDED.
 * ⁴ two nodes gave the same well-formed JSON-RPC error with the call's id: that is their verdict on
 *   the request (e.g. -32601 for a method both lack), passed on as is so clients see the code they
 *   expect; only rejections without a usable answer become SY_REQUEST_REJECTED.
 * "If it works elsewhere": the failure is counted once a later node answers the same call; if the
 * next node fails the same way it was the request, and neither is counted.
 */
import type { CallCost, NodeErrorClass } from '../chain-adapter.js'
import type { CallOutcome } from '../upstream/node-transport.js'

export type AttemptAction = 'answer' | 'try-next' | 'request-fault' | 'reply-too-large' | 'overloaded' | 'stop'

/** `now`: count against the node; `if-it-works-elsewhere`: count once a later node answers the same call; `never`. */
export type Blame = 'now' | 'if-it-works-elsewhere' | 'never'

/** How a failure looks, to tell "this call failed the same way on another node". */
export type FailureSign = 'request-rejected' | 'heavy-timeout'

export interface AttemptFacts {
  /** adapter.classifyError of the node's JSON-RPC error, when it answered with one. */
  errorClass?: NodeErrorClass | undefined
  /** adapter.callCost of the call. */
  cost: CallCost
  /** The node's probed height is at or above the height the call needs (false when the call names none). */
  nodeHasHeight: boolean
  /** The attempt's timeout was shorter than requestTimeoutMs because the overall deadline was near. */
  timeoutCut: boolean
  /** Signs of this call's earlier failures on other nodes. */
  earlier: ReadonlySet<FailureSign>
}

export interface AttemptDecision {
  action: AttemptAction
  blame: Blame
  /** Set on failures that end the call when a second node shows the same sign. */
  sign?: FailureSign
  /** For `request-fault`: the client's error. */
  fault?: 'SY_REQUEST_REJECTED' | 'SY_CALL_TOO_HEAVY'
  /** The node's answer stands if no other node does better (behind, missing state). */
  fallback?: true
  /** The node lacks old state or blocks at the call's height. */
  missingState?: true
}

const answer: AttemptDecision = { action: 'answer', blame: 'never' }
const failedNow: AttemptDecision = { action: 'try-next', blame: 'now' }
const notTheNode: AttemptDecision = { action: 'try-next', blame: 'never' }

export function decideAttempt(outcome: CallOutcome, facts: AttemptFacts): AttemptDecision {
  if (outcome.ok) {
    if (outcome.answer.error === undefined) return answer
    switch (facts.errorClass ?? 'answer') {
      case 'answer':
        return answer
      case 'behind':
        return facts.nodeHasHeight ? failedNow : { action: 'try-next', blame: 'never', fallback: true }
      case 'missing-state':
        return { action: 'try-next', blame: 'never', fallback: true, missingState: true }
      case 'refusal':
        return failedNow
      case 'request-invalid':
        return facts.earlier.has('request-rejected') ? answer : requestSuspect(facts)
    }
  }
  const failure = outcome.failure
  switch (failure.kind) {
    case 'aborted':
      return { action: 'stop', blame: 'never' }
    case 'overloaded':
      return { action: 'overloaded', blame: 'never' }
    case 'reply-too-large':
      return { action: 'reply-too-large', blame: 'never' }
    case 'request-rejected':
      return requestSuspect(facts)
    case 'timeout':
      if (facts.timeoutCut) return notTheNode
      if (facts.cost === 'heavy') {
        // Never the node's; a stalled one still counts as "the same timeout" (starved of CPU by the
        // very work it asked for, switchyard must not fail over to every node in turn).
        if (facts.earlier.has('heavy-timeout')) return { action: 'request-fault', blame: 'never', fault: 'SY_CALL_TOO_HEAVY' }
        return { action: 'try-next', blame: 'never', sign: 'heavy-timeout' }
      }
      return failure.stalled === true ? notTheNode : failedNow
    case 'connect':
    case 'http-status':
    case 'bad-response':
    case 'refused':
      return failedNow
  }
}

function requestSuspect(facts: AttemptFacts): AttemptDecision {
  if (facts.earlier.has('request-rejected')) return { action: 'request-fault', blame: 'never', fault: 'SY_REQUEST_REJECTED' }
  return { action: 'try-next', blame: 'if-it-works-elsewhere', sign: 'request-rejected' }
}
