import { describe, expect, test } from 'vitest'
import type { CallCost, NodeErrorClass } from '../chain-adapter.js'
import type { NodeFailure } from '../upstream/node-failure.js'
import type { CallOutcome } from '../upstream/node-transport.js'
import { type AttemptDecision, type AttemptFacts, type FailureSign, decideAttempt } from './attempt-decision.js'

const result: CallOutcome = { ok: true, answer: { result: '0x1' }, latencyMs: 5 }
const nodeError = (code = -32000, message = 'x'): CallOutcome => ({ ok: true, answer: { error: { code, message } }, latencyMs: 5 })
const failed = (failure: NodeFailure): CallOutcome => ({ ok: false, failure, latencyMs: 5 })

const timeout = failed({ kind: 'timeout', message: 'node a did not answer within 300 ms' })
const stalledTimeout = failed({ kind: 'timeout', stalled: true, message: 'node a did not answer within 300 ms while the loop was stalled' })
const rejected = failed({ kind: 'request-rejected', message: 'node a rejected the request: -32600 Invalid request' })

interface Row {
  name: string
  outcome: CallOutcome
  errorClass?: NodeErrorClass
  cost?: CallCost
  nodeHasHeight?: boolean
  timeoutCut?: boolean
  earlier?: FailureSign[]
  expected: AttemptDecision
}

describe('decideAttempt (the blame table)', () => {
  test.each<Row>([
    // The node answered.
    { name: 'a result is the answer', outcome: result, expected: { action: 'answer', blame: 'never' } },
    { name: 'a verdict error (reverted) is the answer', outcome: nodeError(3, 'execution reverted'), errorClass: 'answer', expected: { action: 'answer', blame: 'never' } },
    { name: 'an error the adapter did not classify is the answer', outcome: nodeError(), expected: { action: 'answer', blame: 'never' } },
    { name: 'after suspects, a result still answers (the router then blames them)', outcome: result, earlier: ['request-rejected'], expected: { action: 'answer', blame: 'never' } },
    { name: 'behind, node below the height: try next, keep as fallback', outcome: nodeError(-32000, 'header not found'), errorClass: 'behind', expected: { action: 'try-next', blame: 'never', fallback: true } },
    { name: 'behind at a height the node claims: its failure', outcome: nodeError(-32000, 'header not found'), errorClass: 'behind', nodeHasHeight: true, expected: { action: 'try-next', blame: 'now' } },
    { name: 'missing state: try next, never blamed, remembered', outcome: nodeError(-32000, 'missing trie node'), errorClass: 'missing-state', nodeHasHeight: true, expected: { action: 'try-next', blame: 'never', fallback: true, missingState: true } },
    { name: 'provider refusal (rate limited): its failure', outcome: nodeError(-32005, 'daily request count exceeded, request rate limited'), errorClass: 'refusal', expected: { action: 'try-next', blame: 'now' } },
    { name: 'refusal on a heavy call is still the node\'s', outcome: nodeError(-32603, 'Internal error'), errorClass: 'refusal', cost: 'heavy', expected: { action: 'try-next', blame: 'now' } },
    { name: 'request-invalid once: suspect', outcome: nodeError(-32600, 'Invalid request'), errorClass: 'request-invalid', expected: { action: 'try-next', blame: 'if-it-works-elsewhere', sign: 'request-rejected' } },
    { name: 'request-invalid again: two nodes gave the same verdict on the request, passed on', outcome: nodeError(-32601, 'the method eth_blobBaseFee does not exist/is not available'), errorClass: 'request-invalid', earlier: ['request-rejected'], expected: { action: 'answer', blame: 'never' } },
    // The node did not answer.
    { name: 'request rejected (id null, 413, EPIPE on a big body) once: suspect', outcome: rejected, expected: { action: 'try-next', blame: 'if-it-works-elsewhere', sign: 'request-rejected' } },
    { name: 'request rejected after a request-invalid answer: same way', outcome: rejected, earlier: ['request-rejected'], expected: { action: 'request-fault', blame: 'never', fault: 'SY_REQUEST_REJECTED' } },
    { name: 'request rejected after a heavy timeout: not the same way', outcome: rejected, earlier: ['heavy-timeout'], expected: { action: 'try-next', blame: 'if-it-works-elsewhere', sign: 'request-rejected' } },
    { name: 'timeout on a cheap call: its failure', outcome: timeout, cost: 'cheap', expected: { action: 'try-next', blame: 'now' } },
    { name: 'timeout on a heavy call: not counted, remembered', outcome: timeout, cost: 'heavy', expected: { action: 'try-next', blame: 'never', sign: 'heavy-timeout' } },
    { name: 'heavy timeout again: the call is too heavy', outcome: timeout, cost: 'heavy', earlier: ['heavy-timeout'], expected: { action: 'request-fault', blame: 'never', fault: 'SY_CALL_TOO_HEAVY' } },
    { name: 'heavy timeout after a request rejection: not the same way', outcome: timeout, cost: 'heavy', earlier: ['request-rejected'], expected: { action: 'try-next', blame: 'never', sign: 'heavy-timeout' } },
    { name: 'stalled timeout on a cheap call: switchyard\'s fault', outcome: stalledTimeout, cost: 'cheap', expected: { action: 'try-next', blame: 'never' } },
    { name: 'stalled timeout on a heavy call: still the same heavy timeout', outcome: stalledTimeout, cost: 'heavy', earlier: ['heavy-timeout'], expected: { action: 'request-fault', blame: 'never', fault: 'SY_CALL_TOO_HEAVY' } },
    { name: 'first stalled heavy timeout: remembered, not blamed', outcome: stalledTimeout, cost: 'heavy', expected: { action: 'try-next', blame: 'never', sign: 'heavy-timeout' } },
    { name: 'timeout cut short by the deadline: not the node\'s', outcome: timeout, cost: 'cheap', timeoutCut: true, expected: { action: 'try-next', blame: 'never' } },
    { name: 'connection refused', outcome: failed({ kind: 'connect', message: 'ECONNREFUSED' }), expected: { action: 'try-next', blame: 'now' } },
    { name: 'HTTP 503', outcome: failed({ kind: 'http-status', httpStatus: 503, message: 'HTTP 503' }), expected: { action: 'try-next', blame: 'now' } },
    { name: 'HTTP 429 on a heavy call', outcome: failed({ kind: 'http-status', httpStatus: 429, message: 'HTTP 429' }), cost: 'heavy', expected: { action: 'try-next', blame: 'now' } },
    { name: 'malformed reply', outcome: failed({ kind: 'bad-response', message: 'not JSON' }), expected: { action: 'try-next', blame: 'now' } },
    { name: 'reply too large: stop, any node would send the same', outcome: failed({ kind: 'reply-too-large', message: 'too large' }), expected: { action: 'reply-too-large', blame: 'never' } },
    { name: 'reply budget full: overloaded', outcome: failed({ kind: 'overloaded', message: 'budget' }), expected: { action: 'overloaded', blame: 'never' } },
    { name: 'aborted by the client: stop', outcome: failed({ kind: 'aborted', message: 'cancelled' }), expected: { action: 'stop', blame: 'never' } },
  ])('$name', ({ outcome, errorClass, cost, nodeHasHeight, timeoutCut, earlier, expected }) => {
    const facts: AttemptFacts = { errorClass, cost: cost ?? 'cheap', nodeHasHeight: nodeHasHeight ?? false, timeoutCut: timeoutCut ?? false, earlier: new Set(earlier ?? []) }
    expect(decideAttempt(outcome, facts)).toEqual(expected)
  })
})
