/**
 * Failed logins (wrong admin or metrics tokens) per client address, as a token bucket: `burst`
 * wrong tokens in a row, then one more every `refillIntervalMs`. An address with an empty bucket
 * is answered 429 with Retry-After, without its token being checked, so guessing stays at the
 * refill rate however fast it is sent.
 *
 * Written here rather than taken from a library: only failures count (rate-limit plugins count
 * every request), it is one pure function plus an LRU map, and the clock is injected for tests.
 * Memory is bounded by `maxClients` (lru-cache): the least recently failing addresses are
 * forgotten first, and a forgotten address simply starts with a full bucket.
 */
import { LRUCache } from 'lru-cache'
import { type Clock, systemClock } from '../util/clock.js'
import { clientKey } from './client-address.js'

export interface ThrottlePolicy {
  /** Failed attempts allowed in a row. */
  burst: number
  /** One more attempt per this many ms. */
  refillIntervalMs: number
}

/** Attempts left (fractional while refilling) as of `atMs`. */
export interface Bucket {
  tokens: number
  atMs: number
}

/** The bucket as of `nowMs`: refilled for the time passed, never above `burst`. */
export function refilled(bucket: Bucket | undefined, nowMs: number, policy: ThrottlePolicy): Bucket {
  if (bucket === undefined) return { tokens: policy.burst, atMs: nowMs }
  const gained = Math.max(0, nowMs - bucket.atMs) / policy.refillIntervalMs
  return { tokens: Math.min(policy.burst, bucket.tokens + gained), atMs: nowMs }
}

/** ms until the next attempt is allowed; 0 when one is allowed now. */
export function waitMs(bucket: Bucket, policy: ThrottlePolicy): number {
  return bucket.tokens >= 1 ? 0 : Math.ceil((1 - bucket.tokens) * policy.refillIntervalMs)
}

/** The bucket after one more failure (never below zero). */
export function afterFailure(bucket: Bucket): Bucket {
  return { tokens: Math.max(0, bucket.tokens - 1), atMs: bucket.atMs }
}

export class LoginThrottle {
  readonly #buckets: LRUCache<string, Bucket>
  readonly #policy: () => ThrottlePolicy
  readonly #clock: Clock

  /** `policy` is read on every call, so a reloaded config applies at once. */
  constructor(policy: () => ThrottlePolicy, options: { clock?: Clock; maxClients?: number } = {}) {
    this.#policy = policy
    this.#clock = options.clock ?? systemClock
    this.#buckets = new LRUCache({ max: options.maxClients ?? 10_000 })
  }

  /** ms before `address` may try a token again; 0 = now. */
  retryAfterMs(address: string): number {
    const policy = this.#policy()
    return waitMs(refilled(this.#buckets.peek(clientKey(address)), this.#clock.now(), policy), policy)
  }

  /** Counts one wrong token from `address`. */
  fail(address: string): void {
    const key = clientKey(address)
    this.#buckets.set(key, afterFailure(refilled(this.#buckets.get(key), this.#clock.now(), this.#policy())))
  }
}
