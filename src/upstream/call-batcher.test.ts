import { describe, expect, test } from 'vitest'
import type { RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import { CancelSignal } from '../util/call-signal.js'
import { type BatchEntriesOutcome, type BatchExchanges, CallBatcher, batchFailureIsEveryCalls, isBatchCausedError } from './call-batcher.js'
import type { NodeFailure } from './node-failure.js'
import type { CallOptions, CallOutcome } from './node-transport.js'
import { ReplyHold } from './reply-budget.js'

/** A node's exchanges, scripted: records what was sent and answers batches with `reply`. */
function scripted(reply: (calls: readonly RpcCall[]) => BatchEntriesOutcome = answerAll) {
  const sent: Array<{ kind: 'one' | 'batch'; methods: string[]; options: CallOptions }> = []
  const exchanges: BatchExchanges = {
    nodeId: 'n1',
    refusesBatches: false,
    refuseBatches() {
      ;(this as { refusesBatches: boolean }).refusesBatches = true
    },
    sendOne: async (call, options) => {
      sent.push({ kind: 'one', methods: [call.method], options })
      return { ok: true, answer: { result: `one:${call.method}` }, latencyMs: 1 }
    },
    sendBatch: async (calls, options) => {
      sent.push({ kind: 'batch', methods: calls.map((call) => call.method), options })
      return reply(calls)
    },
  }
  return { exchanges, sent }
}

function answerAll(calls: readonly RpcCall[]): BatchEntriesOutcome {
  return { ok: true, entries: calls.map((call): RpcAnswer => ({ result: `batch:${call.method}` })), latencyMs: 2 }
}

const options = (extra: Partial<CallOptions> = {}): CallOptions => ({ timeoutMs: 5_000, ...extra })
const results = (outcomes: CallOutcome[]): unknown[] => outcomes.map((outcome) => (outcome.ok ? outcome.answer.result ?? outcome.answer.error : outcome.failure.kind))

describe('CallBatcher', () => {
  test('calls made in the same turn go as one batch, each with its own answer in its own order', async () => {
    const { exchanges, sent } = scripted()
    const batcher = new CallBatcher(exchanges)
    const outcomes = await Promise.all(['a', 'b', 'c'].map((method) => batcher.call({ method, params: [] }, options(), 20)))
    expect(results(outcomes)).toEqual(['batch:a', 'batch:b', 'batch:c'])
    expect(sent.map((exchange) => [exchange.kind, exchange.methods])).toEqual([['batch', ['a', 'b', 'c']]])
    expect(sent[0]!.options.timeoutMs).toBe(5_000)
    expect(batcher.stats).toEqual({ batches: 1, calls: 3, refused: false })
  })

  test('a call alone in its turn is sent alone; calls of later turns make batches of their own', async () => {
    const { exchanges, sent } = scripted()
    const batcher = new CallBatcher(exchanges)
    expect(results([await batcher.call({ method: 'a', params: [] }, options(), 20)])).toEqual(['one:a'])
    await Promise.all([batcher.call({ method: 'b', params: [] }, options(), 20), batcher.call({ method: 'c', params: [] }, options(), 20)])
    expect(sent.map((exchange) => [exchange.kind, exchange.methods])).toEqual([
      ['one', ['a']],
      ['batch', ['b', 'c']],
    ])
    expect(batcher.stats).toEqual({ batches: 1, calls: 2, refused: false })
  })

  test('a batch is sent once it holds maxCalls calls; the rest start the next one', async () => {
    const { exchanges, sent } = scripted()
    const batcher = new CallBatcher(exchanges)
    const outcomes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((method) => batcher.call({ method, params: [] }, options(), 2)))
    expect(results(outcomes)).toEqual(['batch:a', 'batch:b', 'batch:c', 'batch:d', 'one:e'])
    expect(sent.map((exchange) => [exchange.kind, exchange.methods])).toEqual([
      ['batch', ['a', 'b']],
      ['batch', ['c', 'd']],
      ['one', ['e']],
    ])
  })

  test('a call with another timeout (its deadline cut it) or maxCalls below 2 goes alone', async () => {
    const { exchanges, sent } = scripted()
    const batcher = new CallBatcher(exchanges)
    await Promise.all([
      batcher.call({ method: 'a', params: [] }, options(), 20),
      batcher.call({ method: 'short', params: [] }, options({ timeoutMs: 700 }), 20),
      batcher.call({ method: 'b', params: [] }, options(), 20),
      batcher.call({ method: 'solo', params: [] }, options(), 1),
    ])
    expect(sent.map((exchange) => [exchange.kind, exchange.methods])).toEqual([
      ['one', ['short']],
      ['one', ['solo']],
      ['batch', ['a', 'b']],
    ])
    expect(sent[0]!.options.timeoutMs).toBe(700)
  })

  test.each<{ name: string; failure: NodeFailure }>([
    { name: 'timeout', failure: { kind: 'timeout', message: 'node n1 did not answer within 5000 ms' } },
    { name: 'connection failure', failure: { kind: 'connect', message: 'node n1 connection failed: ECONNREFUSED' } },
    { name: 'HTTP 503', failure: { kind: 'http-status', httpStatus: 503, message: 'node n1 answered HTTP 503' } },
    { name: 'HTTP 429', failure: { kind: 'http-status', httpStatus: 429, message: 'node n1 answered HTTP 429' } },
    { name: "switchyard's reply budget full", failure: { kind: 'overloaded', message: 'reply does not fit' } },
  ])('$name for the batch is every call’s failure, as each alone would have had; nothing is sent again', async ({ failure }) => {
    const { exchanges, sent } = scripted(() => ({ ok: false, failure, latencyMs: 3 }))
    const batcher = new CallBatcher(exchanges)
    const outcomes = await Promise.all(['a', 'b'].map((method) => batcher.call({ method, params: [] }, options(), 20)))
    expect(outcomes).toEqual([
      { ok: false, failure, latencyMs: 3 },
      { ok: false, failure, latencyMs: 3 },
    ])
    expect(sent.map((exchange) => exchange.kind)).toEqual(['batch'])
    expect(batcher.stats.refused).toBe(false)
  })

  test.each<{ name: string; failure: NodeFailure; refused?: true; stillBatches: boolean }>([
    { name: 'HTTP 403 (bitcoind rpcwhitelist refuses a whole batch for one method)', failure: { kind: 'http-status', httpStatus: 403, message: 'node n1 answered HTTP 403' }, stillBatches: true },
    { name: 'HTTP 500 without a reply', failure: { kind: 'http-status', httpStatus: 500, message: 'node n1 answered HTTP 500' }, stillBatches: true },
    { name: 'a reply over the size limit', failure: { kind: 'reply-too-large', message: 'too large' }, stillBatches: true },
    { name: 'garbage', failure: { kind: 'bad-response', message: 'not JSON' }, stillBatches: true },
    { name: 'a single error object (no batches here)', failure: { kind: 'bad-response', message: 'did not answer a batch with one' }, refused: true, stillBatches: false },
  ])('$name: each call is sent again alone, so its verdict is its own', async ({ failure, refused, stillBatches }) => {
    const { exchanges, sent } = scripted(() => ({ ok: false, failure, latencyMs: 3, ...(refused === undefined ? {} : { refused }) }))
    const batcher = new CallBatcher(exchanges)
    const outcomes = await Promise.all(['a', 'b'].map((method) => batcher.call({ method, params: [] }, options(), 20)))
    expect(results(outcomes)).toEqual(['one:a', 'one:b'])
    expect(sent.map((exchange) => [exchange.kind, exchange.methods])).toEqual([
      ['batch', ['a', 'b']],
      ['one', ['a']],
      ['one', ['b']],
    ])
    expect(batcher.stats.refused).toBe(!stillBatches)
    // Later calls of one turn: batched again (and, failing the same way, sent again alone) unless the node refused batches.
    sent.length = 0
    await Promise.all(['c', 'd'].map((method) => batcher.call({ method, params: [] }, options(), 20)))
    expect(sent.map((exchange) => exchange.kind)).toEqual(stillBatches ? ['batch', 'one', 'one'] : ['one', 'one'])
  })

  test('a call left unanswered in the batch reply, or answered with an error about the batch, is sent again alone; other errors are answers', async () => {
    const { exchanges, sent } = scripted(() => ({
      ok: true,
      entries: [
        { result: 'batch:a' },
        undefined,
        { error: { code: -32003, message: 'response too large' } },
        { error: { code: -32000, message: 'header not found' } },
      ],
      latencyMs: 2,
    }))
    const batcher = new CallBatcher(exchanges)
    const outcomes = await Promise.all(['a', 'b', 'c', 'd'].map((method) => batcher.call({ method, params: [] }, options(), 20)))
    expect(results(outcomes)).toEqual(['batch:a', 'one:b', 'one:c', { code: -32000, message: 'header not found' }])
    expect(sent.map((exchange) => [exchange.kind, exchange.methods])).toEqual([
      ['batch', ['a', 'b', 'c', 'd']],
      ['one', ['b']],
      ['one', ['c']],
    ])
    // "response too large" is the batch's size, not a refusal of batches.
    expect(batcher.stats.refused).toBe(false)
  })

  test('an entry error naming the batch ("batch limit exceeded") stops batching to the node', async () => {
    const { exchanges, sent } = scripted((calls) => ({ ok: true, entries: calls.map(() => ({ error: { code: -32600, message: 'batch limit 1 exceeded' } })), latencyMs: 2 }))
    const batcher = new CallBatcher(exchanges)
    expect(results(await Promise.all(['a', 'b'].map((method) => batcher.call({ method, params: [] }, options(), 20))))).toEqual(['one:a', 'one:b'])
    expect(batcher.stats.refused).toBe(true)
    sent.length = 0
    await Promise.all(['c', 'd'].map((method) => batcher.call({ method, params: [] }, options(), 20)))
    expect(sent.map((exchange) => exchange.kind)).toEqual(['one', 'one'])
  })

  test('a cancelled call gets its cancellation at once and leaves the batch; the others are answered', async () => {
    let release: (() => void) | undefined
    const { exchanges, sent } = scripted()
    const batchSignals: Array<CallOptions['signal']> = []
    const gated: BatchExchanges = {
      ...exchanges,
      sendBatch: async (calls, batchOptions) => {
        batchSignals.push(batchOptions.signal)
        await new Promise<void>((resolve) => (release = resolve))
        return exchanges.sendBatch(calls, batchOptions)
      },
    }
    const batcher = new CallBatcher(gated)
    const cancel = new CancelSignal()
    const a = batcher.call({ method: 'a', params: [] }, options(), 20)
    const b = batcher.call({ method: 'b', params: [] }, options({ signal: cancel }), 20)
    const c = batcher.call({ method: 'c', params: [] }, options(), 20)
    await new Promise((resolve) => setImmediate(resolve))
    // The batch of three left at the end of the turn and waits in `gated` for its reply.
    expect(batchSignals).toHaveLength(1)
    cancel.abort()
    expect(results([await b])).toEqual(['aborted'])
    expect(batchSignals[0]!.aborted).toBe(false)
    release!()
    expect(results(await Promise.all([a, c]))).toEqual(['batch:a', 'batch:c'])
  })

  test('the exchange is abandoned once every call in it was cancelled; a call cancelled before the batch closed is not sent', async () => {
    const { exchanges, sent } = scripted()
    const batchSignals: Array<CallOptions['signal']> = []
    const pending: Array<() => void> = []
    const gated: BatchExchanges = {
      ...exchanges,
      sendBatch: async (calls, batchOptions) => {
        batchSignals.push(batchOptions.signal)
        await new Promise<void>((resolve) => pending.push(resolve))
        return exchanges.sendBatch(calls, batchOptions)
      },
    }
    const batcher = new CallBatcher(gated)
    const signals = [new CancelSignal(), new CancelSignal(), new CancelSignal()]
    const calls = signals.map((signal, index) => batcher.call({ method: `m${index}`, params: [] }, options({ signal }), 20))
    signals[2]!.abort() // before the turn ends: never sent
    await new Promise((resolve) => setImmediate(resolve))
    expect(batchSignals).toHaveLength(1)
    signals[0]!.abort()
    expect(batchSignals[0]!.aborted).toBe(false)
    signals[1]!.abort()
    expect(batchSignals[0]!.aborted).toBe(true)
    expect(results(await Promise.all(calls))).toEqual(['aborted', 'aborted', 'aborted'])
    pending.forEach((resolve) => resolve())
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent.map((exchange) => exchange.methods)).toEqual([['m0', 'm1']])
  })

  test("the batch's reply bytes stay held until every client it answered has its reply written", async () => {
    const { exchanges } = scripted()
    let batchHold: ReplyHold | undefined
    let released = false
    const watching: BatchExchanges = {
      ...exchanges,
      sendBatch: async (calls, batchOptions) => {
        batchHold = (batchOptions.signal as CancelSignal).hold
        batchHold!.defer(() => (released = true))
        return exchanges.sendBatch(calls, batchOptions)
      },
    }
    const batcher = new CallBatcher(watching)
    const holds = [new ReplyHold(), new ReplyHold()]
    await Promise.all(holds.map((hold, index) => batcher.call({ method: `m${index}`, params: [] }, options({ signal: new CancelSignal(hold) }), 20)))
    expect(batchHold).toBeDefined()
    expect(released).toBe(false)
    holds[0]!.release()
    expect(released).toBe(false)
    holds[1]!.release()
    expect(released).toBe(true)
  })
})

describe('CallBatcher when an exchange throws (it should not: failures are values)', () => {
  test('no call is left waiting: each gets a failure naming the node only', async () => {
    const { exchanges } = scripted()
    let batchReleased = false
    const throwing: BatchExchanges = {
      ...exchanges,
      sendBatch: async (_calls, batchOptions) => {
        ;(batchOptions.signal as CancelSignal).hold!.defer(() => (batchReleased = true))
        throw Object.assign(new Error('boom at http://user:secret@10.0.0.1/'), { code: 'UND_ERR_DESTROYED' })
      },
      sendOne: async () => {
        throw new Error('boom at http://user:secret@10.0.0.1/')
      },
    }
    const batcher = new CallBatcher(throwing)
    const batched = await Promise.all(['a', 'b'].map((method) => batcher.call({ method, params: [] }, options(), 20)))
    expect(batched.map((outcome) => !outcome.ok && outcome.failure)).toEqual([
      { kind: 'connect', message: 'node n1 call failed: UND_ERR_DESTROYED' },
      { kind: 'connect', message: 'node n1 call failed: UND_ERR_DESTROYED' },
    ])
    // Bytes the exchange may have reserved for the batch are not held forever.
    expect(batchReleased).toBe(true)
    const alone = await batcher.call({ method: 'c', params: [] }, options(), 20)
    expect(!alone.ok && alone.failure).toEqual({ kind: 'connect', message: 'node n1 call failed: unexpected error' })
  })
})

describe('batch failure scope', () => {
  test.each<[NodeFailure, boolean]>([
    [{ kind: 'timeout', message: '' }, true],
    [{ kind: 'connect', message: '' }, true],
    [{ kind: 'aborted', message: '' }, true],
    [{ kind: 'overloaded', message: '' }, true],
    [{ kind: 'http-status', httpStatus: 502, message: '' }, true],
    [{ kind: 'http-status', httpStatus: 504, message: '' }, true],
    [{ kind: 'http-status', httpStatus: 401, message: '' }, false],
    [{ kind: 'http-status', httpStatus: 403, message: '' }, false],
    [{ kind: 'request-rejected', httpStatus: 413, message: '' }, false],
    [{ kind: 'reply-too-large', message: '' }, false],
    [{ kind: 'bad-response', message: '' }, false],
  ])('%j → every call’s: %s', (failure, every) => {
    expect(batchFailureIsEveryCalls(failure)).toBe(every)
  })

  test.each<[string, ReturnType<typeof isBatchCausedError>]>([
    ['batch limit 100 exceeded', 'batch-refused'],
    ['batch requests are not supported', 'batch-refused'],
    ['Batch size too large', 'batch-refused'],
    ['response too large', 'too-large'],
    ['header not found', undefined],
    ['execution reverted', undefined],
    ['Block height out of range', undefined],
  ])('entry error %j → %s', (message, verdict) => {
    expect(isBatchCausedError({ code: -32000, message })).toBe(verdict)
  })
})
