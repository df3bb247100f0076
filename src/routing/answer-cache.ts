/**
 * A chain's answers that can never change, kept in memory so a repeated read costs no node call:
 * what may be cached is the chain family's knowledge (`ChainAdapter.cachePolicy`: constants, calls
 * naming a block, look-ups by hash), when is decided here: only answers from blocks at least
 * `cache.finalityDepth` below the read head, and never errors, `null` or empty answers (a node
 * that had not seen the data yet would otherwise be believed forever).
 *
 * Bounded in bytes (lru-cache, `cache.maxBytes`; an entry's size is its JSON text plus its key;
 * larger than `cache.maxEntryBytes` → not kept). Every entry remembers the block its answer
 * depends on, so a reorg drops exactly the entries at or above its fork point (`dropAbove`).
 * Cached answers are frozen: every client gets the same object.
 */
import { LRUCache } from 'lru-cache'
import type { CachePolicy, ChainAdapter } from '../chain-adapter.js'
import type { CacheConfig } from '../config/schema.js'
import { type RpcAnswer, type RpcCall, rawResultOf } from '../jsonrpc/types.js'
import { deepFreeze } from '../util/deep-freeze.js'

/** The adapter's part in serving cached answers. */
export type CacheRules = Pick<ChainAdapter, 'answerHeight' | 'cachedAnswer'>

export interface CacheStats {
  /** Calls answered from the cache. */
  hits: number
  /** Calls that could have been cached but were not there (or the chain had no read head). */
  misses: number
  /** Answers stored. */
  stores: number
  /** Entries dropped to make room (not those a reorg dropped). */
  evictions: number
  /** Size of what is stored, bytes (JSON text of the answers plus keys). */
  bytes: number
  entries: number
}

interface Entry {
  answer: RpcAnswer
  /** The block the answer depends on; undefined for constants (no reorg drops them). */
  height: number | undefined
}

/**
 * The key of a call (method and params), the same for calls a node cannot tell apart: object keys
 * sorted, so `{ fromBlock, toBlock }` and `{ toBlock, fromBlock }` meet.
 */
export function callKey(call: RpcCall): string {
  return call.params === undefined ? call.method : `${call.method}:${canonicalJson(call.params)}`
}

function canonicalJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const record = value as Record<string, unknown>
  const fields: string[] = []
  for (const key of Object.keys(record).sort()) {
    if (record[key] !== undefined) fields.push(`${JSON.stringify(key)}:${canonicalJson(record[key])}`)
  }
  return `{${fields.join(',')}}`
}

/** `null`, `[]` and `{}`: "not found" (or nothing yet) for every cached method; never kept. */
export function isEmptyResult(result: unknown): boolean {
  if (result === null || result === undefined) return true
  if (Array.isArray(result)) return result.length === 0
  return typeof result === 'object' && Object.keys(result).length === 0
}

/**
 * The height an answer is cached for: undefined → not cached; `'constant'` → cached with no height.
 * A block is final once it is `finalityDepth` or more below the read head.
 */
export function cacheHeight(
  policy: CachePolicy,
  answer: RpcAnswer,
  heightInAnswer: () => number | undefined,
  readHead: number | undefined,
  finalityDepth: number,
): number | 'constant' | undefined {
  if (policy === 'never' || answer.error !== undefined || isEmptyResult(answer.result)) return undefined
  if (policy === 'constant') return 'constant'
  const height = policy === 'by-answer' ? heightInAnswer() : policy
  if (height === undefined || readHead === undefined || height > readHead - finalityDepth) return undefined
  return height
}

export class AnswerCache {
  readonly #entries: LRUCache<string, Entry>
  readonly #config: Readonly<CacheConfig>
  #hits = 0
  #misses = 0
  #stores = 0
  #evictions = 0

  constructor(config: Readonly<CacheConfig>) {
    this.#config = config
    this.#entries = new LRUCache<string, Entry>({
      maxSize: config.maxBytes,
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') this.#evictions += 1
      },
    })
  }

  /** Whether a chain configured with `config` may go on with this cache (a reload keeps it only then). */
  fits(config: Readonly<CacheConfig>): boolean {
    const own = this.#config
    return config.enabled && own.maxBytes === config.maxBytes && own.maxEntryBytes === config.maxEntryBytes && own.finalityDepth === config.finalityDepth
  }

  /**
   * The answer to serve for `key`, or undefined (a miss). Without a read head nothing is served:
   * the chain has no node to vouch for where its tip is, and its other reads fail closed too.
   */
  lookup(key: string, call: RpcCall, rules: CacheRules, readHead: number | undefined): RpcAnswer | undefined {
    const entry = readHead === undefined ? undefined : this.#entries.get(key)
    if (entry === undefined || readHead === undefined) {
      this.#misses += 1
      return undefined
    }
    this.#hits += 1
    if (entry.height === undefined || rules.cachedAnswer === undefined) return entry.answer
    return rules.cachedAnswer(call, entry.answer, entry.height, readHead)
  }

  /** Stores a routed answer when `policy` and its block's depth allow; true when stored. */
  offer(key: string, call: RpcCall, policy: CachePolicy, answer: RpcAnswer, rules: CacheRules, readHead: number | undefined): boolean {
    const height = cacheHeight(policy, answer, () => rules.answerHeight?.(call, answer), readHead, this.#config.finalityDepth)
    if (height === undefined) return false
    // The node's own text of the result when the client kept it (large replies): no second serialisation.
    const size = Buffer.byteLength(rawResultOf(answer) ?? JSON.stringify(answer.result)) + key.length
    if (size > this.#config.maxEntryBytes) return false
    this.#entries.set(key, { answer: deepFreeze(answer), height: height === 'constant' ? undefined : height }, { size })
    this.#stores += 1
    return true
  }

  /** Drops every entry whose answer depends on a block at or above `height` (a reorg's fork point). */
  dropAbove(height: number): number {
    const doomed: string[] = []
    for (const [key, entry] of this.#entries.entries()) if (entry.height !== undefined && entry.height >= height) doomed.push(key)
    for (const key of doomed) this.#entries.delete(key)
    return doomed.length
  }

  get stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, stores: this.#stores, evictions: this.#evictions, bytes: this.#entries.calculatedSize, entries: this.#entries.size }
  }
}
