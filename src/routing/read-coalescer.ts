/**
 * Identical reads in flight at once share one node call (`routing.coalesce`): the first caller's
 * work runs, callers with the same key that arrive before it settles wait for its result instead
 * of starting their own. Each caller still gets its own reply (the JSON-RPC id is applied at reply
 * time); the shared value is handed to `share` first, so it can be made safe to hand out more
 * than once (the proxy freezes the answer).
 *
 * A caller that aborts gets `aborted()` at once and leaves; the shared work is aborted only when
 * every caller has left, and a caller arriving after that starts afresh.
 */

import { replyHoldOf } from '../upstream/reply-budget.js'
import { type CallSignal, CancelSignal } from '../util/call-signal.js'

interface Flight<T> {
  readonly promise: Promise<T>
  /** The shared work's own signal: aborted when its last caller leaves. */
  readonly signal: CancelSignal
  /** Callers still waiting for the result. */
  waiting: number
  /** Callers that joined it, the first one included. */
  callers: number
}

export interface CoalescedResult<T> {
  value: T
  /** The value came from another caller's work. */
  joined: boolean
}

export class ReadCoalescer<T> {
  readonly #flights = new Map<string, Flight<T>>()
  readonly #share: (value: T) => void
  #joined = 0

  constructor(share: (value: T) => void = () => undefined) {
    this.#share = share
  }

  /** Calls answered by another call's work since this coalescer was built. */
  get joined(): number {
    return this.#joined
  }

  /** Works in flight now. */
  get inFlight(): number {
    return this.#flights.size
  }

  run(key: string, signal: CallSignal | undefined, work: (signal: CallSignal) => Promise<T>, aborted: () => T): Promise<CoalescedResult<T>> {
    if (signal?.aborted === true) return Promise.resolve({ value: aborted(), joined: false })
    const running = this.#flights.get(key)
    const flight = running ?? this.#start(key, work, signal)
    const joined = running !== undefined
    if (joined) this.#joined += 1
    flight.waiting += 1
    flight.callers += 1
    if (signal === undefined) return flight.promise.then((value) => ({ value, joined }))
    return new Promise<CoalescedResult<T>>((resolve, reject) => {
      const leave = (): void => {
        flight.waiting -= 1
        if (flight.waiting === 0) {
          // Nobody wants the result any more: no later caller may join a call being cancelled.
          if (this.#flights.get(key) === flight) this.#flights.delete(key)
          flight.signal.abort()
        }
        resolve({ value: aborted(), joined })
      }
      signal.addEventListener('abort', leave, { once: true })
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', leave)
          resolve({ value, joined })
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave)
          reject(error)
        },
      )
    })
  }

  #start(key: string, work: (signal: CallSignal) => Promise<T>, signal: CallSignal | undefined): Flight<T> {
    // Node reply bytes of the shared work stay reserved until the first caller's reply is written
    // (server.maxReplyBytesInFlight), as they would for its own call; the others' go out with it.
    const own = new CancelSignal(replyHoldOf(signal))
    const settle = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key)
    }
    // The work starts a microtask later, so `flight` exists (and is joinable) before it can settle.
    const promise = Promise.resolve()
      .then(() => work(own))
      .then(
        (value) => {
          // Leaves the map before sharing: no caller can join once the callers are counted.
          settle()
          if (flight.callers > 1) this.#share(value)
          return value
        },
        (error: unknown) => {
          settle()
          throw error
        },
      )
    const flight: Flight<T> = { promise, signal: own, waiting: 0, callers: 0 }
    this.#flights.set(key, flight)
    return flight
  }
}
