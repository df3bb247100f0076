/**
 * How a call learns that its caller went away. `CallSignal` is the part of `AbortSignal` that
 * switchyard's calls use, so a library caller's AbortSignal works as before; `CancelSignal` is the
 * server's own: a controller and its signal in one object, with a plain array of listeners.
 *
 * Why not AbortController: the HTTP server made one per request and the coalescer another per
 * node call, and each is an EventTarget whose construction, listener bookkeeping and `abort`
 * dispatch cost ~4 % of a proxied call's CPU (cpu-prof, eth_getBalance at 32 connections). The
 * listeners here are few (one per call in flight for the request) and always removed by the
 * call itself, so an array is enough.
 *
 * A `CancelSignal` also carries the `ReplyHold` of the client request it serves: node reply bytes
 * reserved by calls made with it stay counted until the client's reply is written.
 */
import type { ReplyHold } from '../upstream/reply-budget.js'

export interface CallSignal {
  readonly aborted: boolean
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

export class CancelSignal implements CallSignal {
  /** The client request's hold on node reply bytes, if the signal serves one. */
  readonly hold: ReplyHold | undefined
  #aborted = false
  #listeners: Array<() => void> = []

  constructor(hold?: ReplyHold) {
    this.hold = hold
  }

  get aborted(): boolean {
    return this.#aborted
  }

  /** As AbortSignal's: a listener runs at most once, and one added after the abort never runs. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.#aborted) this.#listeners.push(listener)
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.#listeners.lastIndexOf(listener)
    if (index !== -1) this.#listeners.splice(index, 1)
  }

  /** Runs every listener once, even if one throws (the first error is rethrown after the others ran). */
  abort(): void {
    if (this.#aborted) return
    this.#aborted = true
    const listeners = this.#listeners
    this.#listeners = []
    let thrown: { error: unknown } | undefined
    for (const listener of listeners) {
      try {
        listener()
      } catch (error) {
        thrown ??= { error }
      }
    }
    if (thrown !== undefined) throw thrown.error
  }

  /** Aborts with `outer` too, until the returned function unlinks them (call it when done). */
  follow(outer: CallSignal | undefined): () => void {
    if (outer === undefined) return noop
    if (outer.aborted) {
      this.abort()
      return noop
    }
    const abort = (): void => this.abort()
    outer.addEventListener('abort', abort, { once: true })
    return () => outer.removeEventListener('abort', abort)
  }
}

function noop(): void {}
