/**
 * Upstream batching (`routing.batch`): a node's cheap reads that arrive in the same turn of the
 * event loop go to it as one JSON-RPC batch, in one HTTP exchange and one connection slot, instead
 * of one exchange each. At 32 connections the exchange itself (socket writes, HTTP framing, the
 * reply's parse) was most of switchyard's CPU per call; sharing it is what lets the proxy keep up
 * with a plain reverse proxy.
 *
 * The batch is a transport detail, never a change in what a call gets:
 * - Each call still gets its own answer or failure. A failure that says the node itself did not
 *   answer (timeout, connection, 429/502/503/504, switchyard's own reply budget) is every call's,
 *   as it would have been for each call sent alone. Anything that could be one call's fault or the
 *   batch's (another status, a reply that is not a batch reply, a reply over the size limit, a call
 *   missing from the reply, an entry error about the batch itself) sends the affected calls again
 *   one by one, so their verdicts are their own.
 * - A node that does not take batches (a single error object or an HTTP 4xx for the batch, or an
 *   entry error naming the batch) is sent single calls from then on.
 * - Calls only wait for the end of the current turn of the event loop (setImmediate): a call on
 *   an idle connection is sent at once, as before.
 * - Each call keeps its own cancellation: a client that goes away gets its cancellation at once,
 *   and the exchange is abandoned only when every call in it was cancelled.
 * - Node reply bytes reserved for the batch stay held until every client it served has its reply.
 *
 * Only calls whose cost the router knows to be small are offered here (see the router), so a
 * wide scan never holds up a balance lookup.
 */
import type { JsonRpcErrorObject, RpcAnswer, RpcCall } from '../jsonrpc/types.js'
import { CancelSignal } from '../util/call-signal.js'
import type { NodeFailure } from './node-failure.js'
import type { CallOptions, CallOutcome } from './node-transport.js'
import { ReplyHold, replyHoldOf } from './reply-budget.js'

/**
 * A batch's reply read entry by entry: `undefined` where the node left a call unanswered (or
 * answered it with something that is not a JSON-RPC reply). `refused`: the node answered, but
 * not with a batch reply: it does not take batches.
 */
export type BatchEntriesOutcome =
  | { ok: true; entries: Array<RpcAnswer | undefined>; latencyMs: number }
  | { ok: false; failure: NodeFailure; latencyMs: number; refused?: true }

/** What the batcher needs of the node's client. */
export interface BatchExchanges {
  readonly nodeId: string
  /**
   * The node refused a batch, here or elsewhere (a probe batch answered with a single error):
   * remembered by the client, so reads and probes learn it once for both.
   */
  readonly refusesBatches: boolean
  refuseBatches(): void
  /** One call in its own exchange (its options as given). */
  sendOne(call: RpcCall, options: CallOptions): Promise<CallOutcome>
  /** The calls as one JSON-RPC batch in one exchange (one connection slot). */
  sendBatch(calls: readonly RpcCall[], options: CallOptions): Promise<BatchEntriesOutcome>
}

/** Statuses that say the node itself is unavailable: every call of the batch would have had them. */
const NODE_UNAVAILABLE_STATUSES = new Set([429, 502, 503, 504])

/**
 * Whether a failure of the whole batch is every call's own (the node did not answer, or switchyard
 * could not hold the reply), or may be one call's doing or the batch's (then each is sent alone).
 */
export function batchFailureIsEveryCalls(failure: NodeFailure): boolean {
  switch (failure.kind) {
    case 'timeout':
    case 'connect':
    case 'aborted':
    case 'overloaded':
      return true
    case 'http-status':
      return failure.httpStatus !== undefined && NODE_UNAVAILABLE_STATUSES.has(failure.httpStatus)
    default:
      return false
  }
}

/**
 * An entry error caused by sharing a batch, not by the call: geth's "response too large" once a
 * batch's replies pass its BatchResponseMaxSize, Erigon's and providers' batch-size refusals
 * ("batch limit exceeded", "batch requests are not supported", "too many requests in batch").
 */
export function isBatchCausedError(error: JsonRpcErrorObject): 'batch-refused' | 'too-large' | undefined {
  if (/batch/i.test(error.message)) return 'batch-refused'
  if (/response too large|response size (?:exceeded|too large)/i.test(error.message)) return 'too-large'
  return undefined
}

interface Entry {
  readonly call: RpcCall
  readonly options: CallOptions
  readonly resolve: (outcome: CallOutcome) => void
  settled: boolean
  /** Registered on the call's own signal while it waits in or for the batch. */
  onAbort: (() => void) | undefined
}

interface OpenBatch {
  readonly entries: Entry[]
  readonly timeoutMs: number
  readonly maxCalls: number
  /** Aborts the exchange once every call in it was cancelled. */
  readonly signal: CancelSignal
  live: number
}

export interface BatchStats {
  /** Batches sent (two calls or more in one exchange). */
  batches: number
  /** Calls that went in those batches. */
  calls: number
  /** The node refused batches; its calls are sent one by one. */
  refused: boolean
}

export class CallBatcher {
  readonly #node: BatchExchanges
  #open: OpenBatch | undefined
  #batches = 0
  #calls = 0

  constructor(node: BatchExchanges) {
    this.#node = node
  }

  get stats(): BatchStats {
    return { batches: this.#batches, calls: this.#calls, refused: this.#node.refusesBatches }
  }

  /** The call, in the batch being gathered when it may share one (else alone). */
  call(call: RpcCall, options: CallOptions, maxCalls: number): Promise<CallOutcome> {
    const signal = options.signal
    if (this.#node.refusesBatches || maxCalls < 2 || signal?.aborted === true) return this.#node.sendOne(call, options)
    let open = this.#open
    // Calls of one batch share its timeout: one with another (its deadline cut it) goes alone.
    if (open !== undefined && open.timeoutMs !== options.timeoutMs) return this.#node.sendOne(call, options)
    if (open === undefined) {
      const batch: OpenBatch = { entries: [], timeoutMs: options.timeoutMs, maxCalls, signal: new CancelSignal(new ReplyHold()), live: 0 }
      open = this.#open = batch
      setImmediate(() => this.#close(batch))
    }
    const batch = open
    return new Promise<CallOutcome>((resolve) => {
      const entry: Entry = { call, options, resolve, settled: false, onAbort: undefined }
      batch.entries.push(entry)
      batch.live += 1
      if (signal !== undefined) {
        entry.onAbort = () => {
          entry.onAbort = undefined
          this.#settle(entry, { ok: false, failure: { kind: 'aborted', message: `request to node ${this.#node.nodeId} was cancelled` }, latencyMs: 0 })
          batch.live -= 1
          if (batch.live === 0) batch.signal.abort()
        }
        signal.addEventListener('abort', entry.onAbort, { once: true })
      }
      if (batch.entries.length >= batch.maxCalls) this.#close(batch)
    })
  }

  /** No more calls join `batch`: it is sent (alone if only one call is left in it). */
  #close(batch: OpenBatch): void {
    if (this.#open !== batch) return
    this.#open = undefined
    const live = batch.entries.filter((entry) => !entry.settled)
    if (live.length === 0) return
    if (live.length === 1) {
      this.#sendAlone(live[0]!)
      return
    }
    this.#send(batch, live).catch((error: unknown) => {
      // The client's exchanges report failures as values; should one throw, no call is left
      // waiting and no reply bytes stay held for the batch.
      for (const entry of live) this.#deliver(entry, this.#unexpected(error))
      batch.signal.hold!.release()
    })
  }

  #sendAlone(entry: Entry): void {
    this.#detach(entry)
    this.#node.sendOne(entry.call, entry.options).then(
      (outcome) => this.#settle(entry, outcome),
      (error: unknown) => this.#settle(entry, this.#unexpected(error)),
    )
  }

  #unexpected(error: unknown): CallOutcome {
    const code = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'unexpected error'
    return { ok: false, failure: { kind: 'connect', message: `node ${this.#node.nodeId} call failed: ${code}` }, latencyMs: 0 }
  }

  async #send(batch: OpenBatch, entries: Entry[]): Promise<void> {
    this.#batches += 1
    this.#calls += entries.length
    const outcome = await this.#node.sendBatch(
      entries.map((entry) => entry.call),
      { timeoutMs: batch.timeoutMs, signal: batch.signal },
    )
    const alone: Entry[] = []
    if (!outcome.ok) {
      if (outcome.refused === true) this.#node.refuseBatches()
      if (batchFailureIsEveryCalls(outcome.failure)) {
        for (const entry of entries) this.#deliver(entry, { ok: false, failure: outcome.failure, latencyMs: outcome.latencyMs })
      } else {
        alone.push(...entries)
      }
    } else {
      entries.forEach((entry, index) => {
        const answer = outcome.entries[index]
        const caused = answer?.error === undefined ? undefined : isBatchCausedError(answer.error)
        if (caused === 'batch-refused') this.#node.refuseBatches()
        if (answer === undefined || caused !== undefined) alone.push(entry)
        else this.#deliver(entry, { ok: true, answer, latencyMs: outcome.latencyMs })
      })
    }
    this.#holdUntilServed(batch, entries, alone)
    for (const entry of alone) if (!entry.settled) this.#sendAlone(entry)
  }

  /** The batch's reply bytes are released once every client it answered has its reply written. */
  #holdUntilServed(batch: OpenBatch, entries: readonly Entry[], alone: readonly Entry[]): void {
    const hold = batch.signal.hold!
    let waiting = entries.length
    const served = (): void => {
      waiting -= 1
      if (waiting === 0) hold.release()
    }
    for (const entry of entries) {
      const clientHold = alone.includes(entry) ? undefined : replyHoldOf(entry.options.signal)
      if (clientHold === undefined) served()
      else clientHold.defer(served)
    }
  }

  #deliver(entry: Entry, outcome: CallOutcome): void {
    this.#detach(entry)
    this.#settle(entry, outcome)
  }

  #detach(entry: Entry): void {
    if (entry.onAbort === undefined) return
    entry.options.signal?.removeEventListener('abort', entry.onAbort)
    entry.onAbort = undefined
  }

  #settle(entry: Entry, outcome: CallOutcome): void {
    if (entry.settled) return
    entry.settled = true
    entry.resolve(outcome)
  }
}
