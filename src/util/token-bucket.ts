/**
 * A token bucket: `perSecond` tokens drip in continuously up to `burst`; a request of `cost`
 * tokens passes when that many are there. The arithmetic is pure (state + time in, state out), so
 * it is table-tested without waiting; `TokenBucket` holds one state over an injected clock.
 * Several buckets can be asked how long they would make a request wait before any is charged, so
 * a request passes all of its limits (client, method group) or takes from none.
 *
 * Written here rather than taken from npm: `limiter` (the common token bucket) reads its own clock
 * (no manual time in tests), cannot say how long until N tokens are there (Retry-After), and
 * takes from a parent bucket before knowing whether the child has enough; `rate-limiter-flexible`
 * and `@fastify/rate-limit` count fixed windows per key, not bursts, and cannot charge one
 * request several tokens across several limits at once.
 */

export interface BucketLimit {
  /** Tokens added per second (may be fractional: 0.5 = one every 2 s). */
  readonly perSecond: number
  /** Most tokens held; the largest request that can ever pass. */
  readonly burst: number
}

export interface BucketState {
  readonly tokens: number
  /** Time of `tokens`, ms on the caller's clock. */
  readonly atMs: number
}

/** A limit as configured (`{ perSecond, burst? }`): burst defaults to perSecond rounded up, at least 1. */
export function bucketLimit(config: { perSecond: number; burst?: number | undefined }): BucketLimit {
  return { perSecond: config.perSecond, burst: config.burst ?? Math.max(1, Math.ceil(config.perSecond)) }
}

/** A bucket that starts full: a client's first burst passes. */
export function fullBucket(limit: BucketLimit, nowMs: number): BucketState {
  return { tokens: limit.burst, atMs: nowMs }
}

/** The state at `nowMs`. A clock that went backwards adds nothing (and keeps the later time). */
export function refill(state: BucketState, limit: BucketLimit, nowMs: number): BucketState {
  if (nowMs <= state.atMs) return state
  return { tokens: Math.min(limit.burst, state.tokens + ((nowMs - state.atMs) * limit.perSecond) / 1000), atMs: nowMs }
}

/**
 * How long a request of `cost` tokens must wait, ms, given a refilled state: 0 = it passes now;
 * Infinity = never (more than the burst).
 */
export function waitMs(state: BucketState, limit: BucketLimit, cost: number): number {
  if (cost > limit.burst) return Number.POSITIVE_INFINITY
  if (state.tokens >= cost) return 0
  // Less than a microsecond of float noise is not worth another millisecond of waiting.
  return Math.max(1, Math.ceil(((cost - state.tokens) * 1000) / limit.perSecond - 1e-6))
}

/** The state after a request of `cost` tokens passed (the caller checked `waitMs` first). */
export function take(state: BucketState, cost: number): BucketState {
  return { tokens: state.tokens - cost, atMs: state.atMs }
}

/** One bucket over a clock (ms). */
export class TokenBucket {
  readonly limit: BucketLimit
  readonly #now: () => number
  #state: BucketState

  constructor(limit: BucketLimit, now: () => number) {
    this.limit = limit
    this.#now = now
    this.#state = fullBucket(limit, now())
  }

  /** How long a request of `cost` tokens would wait now, ms (0: it would pass; Infinity: never). */
  waitMs(cost: number): number {
    this.#state = refill(this.#state, this.limit, this.#now())
    return waitMs(this.#state, this.limit, cost)
  }

  /** Charges `cost` tokens; call only after `waitMs(cost)` answered 0. */
  take(cost: number): void {
    this.#state = take(refill(this.#state, this.limit, this.#now()), cost)
  }

  /** Tokens there now (for tests and snapshots). */
  tokens(): number {
    this.#state = refill(this.#state, this.limit, this.#now())
    return this.#state.tokens
  }
}

/**
 * Admits a request against several buckets at once: every bucket has its cost → all are charged
 * and the answer is 0; otherwise none is charged and the answer is the longest wait (Infinity
 * when some cost exceeds its bucket's burst), with the bucket that imposes it.
 */
export function admitAll<T>(checks: ReadonlyArray<{ bucket: TokenBucket; cost: number; tag: T }>): { waitMs: 0 } | { waitMs: number; tag: T; limit: BucketLimit } {
  let worst: { waitMs: number; tag: T; limit: BucketLimit } | undefined
  for (const check of checks) {
    if (check.cost <= 0) continue
    const wait = check.bucket.waitMs(check.cost)
    if (wait > 0 && (worst === undefined || wait > worst.waitMs)) worst = { waitMs: wait, tag: check.tag, limit: check.bucket.limit }
  }
  if (worst !== undefined) return worst
  for (const check of checks) if (check.cost > 0) check.bucket.take(check.cost)
  return { waitMs: 0 }
}
