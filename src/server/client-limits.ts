/**
 * Per-client rate limits (`clients[].rateLimit`): a token bucket over all of a client's calls and,
 * optionally, one per method group (e.g. few broadcasts, many reads). Each call of a batch counts
 * as one; calls refused before they run (not allowed, malformed) do not. A request passes every
 * bucket it touches or takes from none: a batch is never half done, and a 429 means "nothing
 * happened, send the same again after Retry-After". A batch larger than a bucket's burst can never
 * pass: its 429 says to split it and carries no Retry-After.
 */
import type { ClientConfig, MethodGroup } from '../config/schema.js'
import { ProxyError } from '../errors/proxy-error.js'
import { type BucketLimit, TokenBucket, admitAll, bucketLimit } from '../util/token-bucket.js'

export type LimitVerdict = { ok: true } | { ok: false; error: ProxyError; retryAfterSeconds: number | undefined }

interface ClientBuckets {
  /** The config the buckets were built from, to keep them across a reload that did not change it. */
  readonly key: string
  readonly overall: TokenBucket | undefined
  readonly groups: ReadonlyMap<MethodGroup, TokenBucket>
}

export class ClientLimits {
  readonly #now: () => number
  #byClient = new Map<string, ClientBuckets>()

  /** `now`: a monotonic clock in ms (tests pass a manual one). */
  constructor(clients: readonly ClientConfig[], now: () => number = () => performance.now()) {
    this.#now = now
    this.update(clients)
  }

  /** Takes a new client list; buckets of clients whose limits did not change keep their tokens. */
  update(clients: readonly ClientConfig[]): void {
    const next = new Map<string, ClientBuckets>()
    for (const client of clients) {
      const limit = client.rateLimit
      if (limit === undefined) continue
      const key = JSON.stringify(limit)
      const kept = this.#byClient.get(client.name)
      if (kept !== undefined && kept.key === key) {
        next.set(client.name, kept)
        continue
      }
      const groups = new Map<MethodGroup, TokenBucket>()
      for (const [group, bucket] of Object.entries(limit.perGroup ?? {}) as Array<[MethodGroup, { perSecond: number; burst?: number } | undefined]>) {
        if (bucket !== undefined) groups.set(group, new TokenBucket(bucketLimit(bucket), this.#now))
      }
      const overall = limit.perSecond === undefined ? undefined : new TokenBucket(bucketLimit({ perSecond: limit.perSecond, burst: limit.burst }), this.#now)
      next.set(client.name, { key, overall, groups })
    }
    this.#byClient = next
  }

  /** Admits `calls` (per method group) of one request of `client`, or says how long to wait. */
  admit(client: string, calls: ReadonlyMap<MethodGroup, number>): LimitVerdict {
    const buckets = this.#byClient.get(client)
    if (buckets === undefined) return { ok: true }
    let total = 0
    for (const count of calls.values()) total += count
    const checks: Array<{ bucket: TokenBucket; cost: number; tag: string }> = []
    if (buckets.overall !== undefined) checks.push({ bucket: buckets.overall, cost: total, tag: 'clients[].rateLimit' })
    for (const [group, bucket] of buckets.groups) checks.push({ bucket, cost: calls.get(group) ?? 0, tag: `clients[].rateLimit.perGroup.${group}` })
    const verdict = admitAll(checks)
    if (verdict.waitMs === 0) return { ok: true }
    const { tag, limit } = verdict as { waitMs: number; tag: string; limit: BucketLimit }
    const base = { client, bound: tag, perSecond: limit.perSecond, burst: limit.burst }
    if (!Number.isFinite(verdict.waitMs)) {
      return {
        ok: false,
        error: new ProxyError('SY_RATE_LIMITED', `Too many calls: a request of ${total} calls exceeds the burst of ${limit.burst} (${tag}.burst) of client "${client}": split it`, { ...base, calls: total }),
        retryAfterSeconds: undefined,
      }
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.waitMs / 1000))
    return {
      ok: false,
      error: new ProxyError('SY_RATE_LIMITED', `Too many requests: client "${client}" is over its limit of ${limit.perSecond}/s (burst ${limit.burst}, ${tag}); retry in ${retryAfterSeconds} s`, {
        ...base,
        retryAfterMs: verdict.waitMs,
      }),
      retryAfterSeconds,
    }
  }
}
