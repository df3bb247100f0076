import { describe, expect, test } from 'vitest'
import { type RpcAnswer, type RpcCall, rawResultOf, withRawResult } from '../jsonrpc/types.js'
import { AnswerCache, type CacheRules, cacheHeight, callKey, isEmptyResult } from './answer-cache.js'

const config = { enabled: true, maxBytes: 10_000, maxEntryBytes: 1_000, finalityDepth: 10 }
const block = (height: number): RpcCall => ({ method: 'getBlock', params: [height] })
/** A family whose answers carry their height, as `{ height }`. */
const rules: CacheRules = { answerHeight: (_call, answer) => (answer.result as { height?: number } | null)?.height }
const HEAD = 100

describe('callKey', () => {
  test('object keys in any order give one key; values, methods and params shapes tell calls apart', () => {
    const a = callKey({ method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x2', topics: [null, '0xab'] }] })
    expect(callKey({ method: 'eth_getLogs', params: [{ topics: [null, '0xab'], toBlock: '0x2', fromBlock: '0x1' }] })).toBe(a)
    expect(callKey({ method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x3', topics: [null, '0xab'] }] })).not.toBe(a)
    expect(callKey({ method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x2', topics: ['0xab', null] }] })).not.toBe(a)
    expect(callKey({ method: 'getblockhash', params: [1] })).not.toBe(callKey({ method: 'getblockhash', params: ['1'] }))
    expect(callKey({ method: 'getblockhash', params: [1] })).not.toBe(callKey({ method: 'getblockcount', params: [1] }))
    expect(callKey({ method: 'net_version', params: undefined })).not.toBe(callKey({ method: 'net_version', params: [] }))
  })
})

describe('cacheHeight: what may be stored, at which height', () => {
  const ok = (result: unknown): RpcAnswer => ({ result })
  test.each<[string, Parameters<typeof cacheHeight>[0], RpcAnswer, number | undefined, number | 'constant' | undefined]>([
    ['a constant', 'constant', ok('0x1'), HEAD, 'constant'],
    ['a named block exactly finalityDepth below the read head', HEAD - 10, ok({ n: 1 }), HEAD, 90],
    ['a named block one above that', HEAD - 9, ok({ n: 1 }), HEAD, undefined],
    ['a by-answer block deep enough', 'by-answer', ok({ height: 50 }), HEAD, 50],
    ['a by-answer answer that names no block', 'by-answer', ok({ pending: true }), HEAD, undefined],
    ['no read head', 5, ok({ n: 1 }), undefined, undefined],
    ['never', 'never', ok({ height: 1 }), HEAD, undefined],
    ['an error', 5, { error: { code: -32000, message: 'boom' } }, HEAD, undefined],
    ['null', 5, ok(null), HEAD, undefined],
    ['an empty list', 5, ok([]), HEAD, undefined],
    ['an empty object', 'constant', ok({}), HEAD, undefined],
  ])('%s', (_name, policy, answer, readHead, expected) => {
    expect(cacheHeight(policy, answer, () => rules.answerHeight?.(block(0), answer), readHead, 10)).toBe(expected)
  })

  test('empty results', () => {
    expect([null, undefined, [], {}].every(isEmptyResult)).toBe(true)
    expect([0, '', '0x0', false, [0], { a: 1 }].some(isEmptyResult)).toBe(false)
  })
})

describe('AnswerCache', () => {
  test('a stored answer is served, frozen; hits, misses and stores are counted', () => {
    const cache = new AnswerCache(config)
    const call = block(5)
    const key = callKey(call)
    expect(cache.lookup(key, call, rules, HEAD)).toBeUndefined()
    const answer = { result: { height: 5, txs: ['a'] } }
    expect(cache.offer(key, call, 5, answer, rules, HEAD)).toBe(true)
    const hit = cache.lookup(key, call, rules, HEAD)
    expect(hit).toEqual({ result: { height: 5, txs: ['a'] } })
    expect(Object.isFrozen(hit) && Object.isFrozen((hit?.result as { txs: string[] }).txs)).toBe(true)
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, stores: 1, evictions: 0, entries: 1 })
    expect(cache.stats.bytes).toBe(Buffer.byteLength(JSON.stringify(answer.result)) + key.length)
  })

  test('without a read head nothing is served', () => {
    const cache = new AnswerCache(config)
    const call = block(5)
    cache.offer(callKey(call), call, 5, { result: { height: 5 } }, rules, HEAD)
    expect(cache.lookup(callKey(call), call, rules, undefined)).toBeUndefined()
    expect(cache.stats).toMatchObject({ hits: 0, misses: 1 })
  })

  test('answers from blocks that are not final yet, and empty answers, are not stored', () => {
    const cache = new AnswerCache(config)
    expect(cache.offer('a', block(95), 95, { result: { height: 95 } }, rules, HEAD)).toBe(false)
    expect(cache.offer('b', block(5), 5, { result: null }, rules, HEAD)).toBe(false)
    expect(cache.offer('c', block(5), 'by-answer', { result: { height: 95 } }, rules, HEAD)).toBe(false)
    expect(cache.stats).toMatchObject({ stores: 0, entries: 0 })
  })

  test('an answer larger than maxEntryBytes is not stored', () => {
    const cache = new AnswerCache(config)
    expect(cache.offer('big', block(5), 5, { result: { height: 5, data: 'x'.repeat(1_000) } }, rules, HEAD)).toBe(false)
    expect(cache.stats.entries).toBe(0)
  })

  test("an answer's size is the node's own text of its result when the client kept it (no second serialisation)", () => {
    const cache = new AnswerCache(config)
    // The node's text with its whitespace is over maxEntryBytes, the compact JSON is not: the node's bytes count.
    const spaced = withRawResult({ result: { height: 5 } }, `{ "height": 5${' '.repeat(1_000)}}`)
    expect(cache.offer('spaced', block(5), 5, spaced, rules, HEAD)).toBe(false)
    const kept = withRawResult({ result: { height: 6 } }, '{"height":6}')
    expect(cache.offer('kept', block(6), 6, kept, rules, HEAD)).toBe(true)
    // A hit still carries the node's text, so the reply splices it instead of serialising.
    expect(rawResultOf(cache.lookup('kept', block(6), rules, HEAD)!)).toBe('{"height":6}')
  })

  test('past maxBytes the least recently used entries are evicted, and counted', () => {
    const cache = new AnswerCache({ ...config, maxBytes: 1_000 })
    const answer = (height: number) => ({ result: { height, data: 'x'.repeat(300) } })
    for (const height of [1, 2, 3]) cache.offer(`k${height}`, block(height), height, answer(height), rules, HEAD)
    expect(cache.lookup('k1', block(1), rules, HEAD)).toBeDefined()
    cache.offer('k4', block(4), 4, answer(4), rules, HEAD)
    expect(cache.stats).toMatchObject({ evictions: 1, entries: 3 })
    expect(cache.stats.bytes).toBeLessThanOrEqual(1_000)
    expect(cache.lookup('k2', block(2), rules, HEAD)).toBeUndefined()
    expect(cache.lookup('k1', block(1), rules, HEAD)).toBeDefined()
  })

  test('dropAbove removes entries at or above the fork point; constants and lower blocks stay; not evictions', () => {
    const cache = new AnswerCache(config)
    for (const height of [40, 49, 50, 60]) cache.offer(`k${height}`, block(height), height, { result: { height } }, rules, HEAD)
    cache.offer('id', { method: 'net_version', params: [] }, 'constant', { result: '1' }, rules, HEAD)
    expect(cache.dropAbove(50)).toBe(2)
    expect(['k40', 'k49', 'k50', 'k60', 'id'].map((key) => cache.lookup(key, block(0), rules, HEAD) !== undefined)).toEqual([true, true, false, false, true])
    expect(cache.stats).toMatchObject({ entries: 3, evictions: 0 })
  })

  test("the family's cachedAnswer shapes what is served, with the entry's height and the read head", () => {
    const cache = new AnswerCache(config)
    const recount: CacheRules = { ...rules, cachedAnswer: (_call, answer, height, readHead) => ({ result: { ...(answer.result as object), depth: readHead - height } }) }
    cache.offer('k', block(5), 5, { result: { height: 5 } }, recount, HEAD)
    expect(cache.lookup('k', block(5), recount, 120)).toEqual({ result: { height: 5, depth: 115 } })
  })

  test('fits: only the same cache options', () => {
    const cache = new AnswerCache(config)
    expect(cache.fits({ ...config })).toBe(true)
    expect(cache.fits({ ...config, finalityDepth: 11 })).toBe(false)
    expect(cache.fits({ ...config, maxBytes: 1 })).toBe(false)
    expect(cache.fits({ ...config, enabled: false })).toBe(false)
  })
})
