import { describe, expect, test } from 'vitest'
import { exceedsDepth, parseBody, parseCall } from './parse.js'
import { shapeReply } from './reply.js'

const LIMITS = { maxBatchSize: 10, maxCallBytes: 1024, maxParamsDepth: 4 }

describe('parseBody', () => {
  test.each<{ text: string; code: string }>([
    { text: '{"jsonrpc":"2.0",', code: 'SY_PARSE_ERROR' },
    { text: '', code: 'SY_PARSE_ERROR' },
    { text: '[]', code: 'SY_INVALID_REQUEST' },
    { text: JSON.stringify(Array.from({ length: 4 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'm' }))), code: 'SY_BATCH_TOO_LARGE' },
  ])('$text → $code', ({ text, code }) => {
    const parsed = parseBody(text, { ...LIMITS, maxBatchSize: 3 })
    expect(parsed.kind).toBe('invalid')
    if (parsed.kind === 'invalid') expect(parsed.error.code).toBe(code)
  })

  test('a batch keeps its elements in order, invalid ones included', () => {
    const parsed = parseBody('[{"jsonrpc":"2.0","id":1,"method":"a"},1,{"jsonrpc":"2.0","method":"n"}]', LIMITS)
    expect(parsed.kind).toBe('batch')
    if (parsed.kind !== 'batch') return
    expect(parsed.entries.map((entry) => [entry.id, entry.call?.method, entry.error?.code, entry.notification])).toEqual([
      [1, 'a', undefined, false],
      [null, undefined, 'SY_INVALID_REQUEST', false],
      [null, 'n', undefined, true],
    ])
  })
})

describe('request limits checked before any node sees a call', () => {
  const call = (id: number, params: unknown) => ({ jsonrpc: '2.0', id, method: 'eth_call', params })

  test('a call over maxCallBytes gets SY_REQUEST_TOO_LARGE with the limit; the other batch entries proceed', () => {
    const big = call(1, [{ data: `0x${'ab'.repeat(600)}` }, 'latest'])
    const small = call(2, [{ data: '0x' }, 'latest'])
    const parsed = parseBody(JSON.stringify([big, small]), LIMITS)
    expect(parsed.kind).toBe('batch')
    if (parsed.kind !== 'batch') return
    const [first, second] = parsed.entries
    expect(first).toMatchObject({ id: 1, version: '2.0', notification: false })
    expect(first!.call).toBeUndefined()
    expect(first!.error?.code).toBe('SY_REQUEST_TOO_LARGE')
    expect(first!.error?.toJsonRpcError()).toMatchObject({ code: -32600, data: { code: 'SY_REQUEST_TOO_LARGE', limit: 1024, bound: 'server.maxCallBytes' } })
    expect(second).toMatchObject({ id: 2, call: { method: 'eth_call' } })
    expect(second!.error).toBeUndefined()
  })

  test('a single call over the limit keeps its id and version for the reply', () => {
    const parsed = parseBody(JSON.stringify({ id: 'x', method: 'getblock', params: ['a'.repeat(2000)] }), LIMITS)
    expect(parsed.kind).toBe('single')
    if (parsed.kind !== 'single') return
    expect(parsed.entry).toMatchObject({ id: 'x', version: '1.0' })
    expect(parsed.entry.error?.code).toBe('SY_REQUEST_TOO_LARGE')
  })

  test('a body under maxCallBytes is not measured; calls exactly at the limit pass', () => {
    const params = ['a'.repeat(1024 - 'm'.length - '[""]'.length)]
    const parsed = parseBody(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'm', params }), LIMITS)
    expect(parsed.kind === 'single' && parsed.entry.error).toBe(undefined)
  })

  test('multi-byte characters count as bytes, not characters', () => {
    const parsed = parseBody(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'm', params: ['é'.repeat(600)] }), LIMITS)
    expect(parsed.kind === 'single' && parsed.entry.error?.code).toBe('SY_REQUEST_TOO_LARGE')
  })

  test.each<{ name: string; params: unknown; tooDeep: boolean }>([
    { name: 'flat params', params: [1, 'a', null], tooDeep: false },
    { name: 'at the depth limit', params: [[[[1]]]], tooDeep: false },
    { name: 'one level over', params: [[[[[1]]]]], tooDeep: true },
    { name: 'objects count as levels', params: [{ a: { b: { c: {} } } }], tooDeep: true },
    { name: 'named params object', params: { a: [1, [2]] }, tooDeep: false },
  ])('params depth: $name → tooDeep $tooDeep', ({ params, tooDeep }) => {
    expect(exceedsDepth(params, LIMITS.maxParamsDepth)).toBe(tooDeep)
    const parsed = parseBody(JSON.stringify(call(1, params)), LIMITS)
    expect(parsed.kind === 'single' && parsed.entry.error?.code).toBe(tooDeep ? 'SY_REQUEST_TOO_LARGE' : undefined)
  })

  test('very deep nesting is judged without recursion', () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(exceedsDepth(deep, 32)).toBe(true)
  })
})

describe('parseCall', () => {
  test.each<{ name: string; request: unknown; version?: string; notification?: boolean; error?: boolean }>([
    { name: '2.0 with id', request: { jsonrpc: '2.0', id: 1, method: 'm' }, version: '2.0', notification: false },
    { name: '2.0 without id is a notification', request: { jsonrpc: '2.0', method: 'm' }, version: '2.0', notification: true },
    { name: '2.0 with id null is not a notification', request: { jsonrpc: '2.0', id: null, method: 'm' }, version: '2.0', notification: false },
    { name: 'no jsonrpc member is 1.0', request: { id: 'x', method: 'getblockcount', params: [] }, version: '1.0', notification: false },
    { name: '"1.0" is 1.0', request: { jsonrpc: '1.0', id: 1, method: 'm' }, version: '1.0' },
    { name: '1.0 without id still gets a reply', request: { method: 'getblockcount' }, version: '1.0', notification: false },
    { name: 'unknown jsonrpc version', request: { jsonrpc: '3.0', id: 1, method: 'm' }, error: true },
    { name: 'missing method', request: { jsonrpc: '2.0', id: 1 }, error: true },
    { name: 'numeric params', request: { jsonrpc: '2.0', id: 1, method: 'm', params: 5 }, error: true },
    { name: 'object id', request: { jsonrpc: '2.0', id: {}, method: 'm' }, error: true },
    { name: 'not an object', request: 'hello', error: true },
  ])('$name', ({ request, version, notification, error }) => {
    const parsed = parseCall(request)
    if (error === true) {
      expect(parsed.error?.code).toBe('SY_INVALID_REQUEST')
      return
    }
    expect(parsed.error).toBeUndefined()
    if (version !== undefined) expect(parsed.version).toBe(version)
    if (notification !== undefined) expect(parsed.notification).toBe(notification)
  })

  // JSON-RPC 2.0 §5: an invalid request is answered with -32600, its id if usable, else null; only
  // a valid request without an id is a notification (issue 8: `{"jsonrpc":"2.0"}` was a 204).
  test.each<{ name: string; request: unknown; id: string | number | null; version: '1.0' | '2.0' }>([
    { name: 'no method, no id (2.0)', request: { jsonrpc: '2.0' }, id: null, version: '2.0' },
    { name: 'numeric method, string params, no id (the spec example)', request: { jsonrpc: '2.0', method: 1, params: 'bar' }, id: null, version: '2.0' },
    { name: 'valid method, scalar params, no id', request: { jsonrpc: '2.0', method: 'm', params: 5 }, id: null, version: '2.0' },
    { name: 'empty method with an id keeps the id', request: { jsonrpc: '2.0', id: 'a', method: '' }, id: 'a', version: '2.0' },
    { name: 'unknown jsonrpc keeps a usable id, 2.0 shape', request: { jsonrpc: '3.0', id: 7, method: 'm' }, id: 7, version: '2.0' },
    { name: 'numeric jsonrpc without id', request: { jsonrpc: 2, method: 'm' }, id: null, version: '2.0' },
    { name: 'boolean id → null', request: { jsonrpc: '2.0', id: true, method: 'm' }, id: null, version: '2.0' },
    { name: 'array id → null', request: { jsonrpc: '2.0', id: [1], method: 'm' }, id: null, version: '2.0' },
    { name: 'id beyond a double (1e400 → Infinity) → null', request: JSON.parse('{"jsonrpc":"2.0","id":1e400,"method":"m"}'), id: null, version: '2.0' },
    { name: '1.0 without method or id', request: { params: [] }, id: null, version: '1.0' },
    { name: '1.0 without method keeps its id', request: { id: 'w', params: [] }, id: 'w', version: '1.0' },
  ])('invalid and answered: $name', ({ request, id, version }) => {
    const parsed = parseCall(request)
    expect(parsed).toMatchObject({ id, version, notification: false })
    expect(parsed.call).toBeUndefined()
    expect(parsed.error?.toJsonRpcError()).toMatchObject({ code: -32600, data: { code: 'SY_INVALID_REQUEST' } })
  })

  test('ids are echoed as parsed: fractions, negative numbers, large integers (as doubles), odd unicode', () => {
    for (const id of [1.5, -3, 0, 2 ** 53 + 2, 'é\u0000🦊', '']) {
      expect(parseCall({ jsonrpc: '2.0', id, method: 'm' })).toMatchObject({ id, notification: false, call: { method: 'm' } })
    }
  })

  test('prototype-pollution keys are plain members: no id, method or params comes from them', () => {
    const parsed = parseCall(JSON.parse('{"jsonrpc":"2.0","__proto__":{"id":1,"method":"m","params":[1]}}'))
    expect(parsed).toMatchObject({ id: null, notification: false, error: expect.objectContaining({ code: 'SY_INVALID_REQUEST' }) })
    const polluted = parseCall(JSON.parse('{"jsonrpc":"2.0","id":1,"method":"m","params":{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}}'))
    expect(polluted.call?.params).toEqual(JSON.parse('{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}'))
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })
})

describe('parseBody: JSON-RPC 2.0 batches', () => {
  test('[1,2,3] → three invalid entries, each answered with id null', () => {
    const parsed = parseBody('[1,2,3]', LIMITS)
    expect(parsed.kind === 'batch' && parsed.entries.map((entry) => [entry.id, entry.notification, entry.error?.code])).toEqual([
      [null, false, 'SY_INVALID_REQUEST'],
      [null, false, 'SY_INVALID_REQUEST'],
      [null, false, 'SY_INVALID_REQUEST'],
    ])
  })

  test('an invalid entry without an id is answered; a valid one without an id is a notification', () => {
    const parsed = parseBody('[{"jsonrpc":"2.0"},{"jsonrpc":"2.0","method":"m"},{"jsonrpc":"2.0","id":1,"method":"m"},{"jsonrpc":"2.0","id":1,"method":"m"}]', LIMITS)
    expect(parsed.kind === 'batch' && parsed.entries.map((entry) => [entry.id, entry.notification, entry.error?.code])).toEqual([
      [null, false, 'SY_INVALID_REQUEST'],
      [null, true, undefined],
      // Duplicate ids are the client's business: both are answered, in order.
      [1, false, undefined],
      [1, false, undefined],
    ])
  })

  test.each(['1', '"x"', 'null', 'true'])('a scalar body %s → one invalid request with id null', (text) => {
    const parsed = parseBody(text, LIMITS)
    expect(parsed.kind === 'single' && [parsed.entry.id, parsed.entry.notification, parsed.entry.error?.code]).toEqual([null, false, 'SY_INVALID_REQUEST'])
  })
})

describe('shapeReply', () => {
  test('2.0 has exactly one of result and error', () => {
    expect(shapeReply(1, '2.0', { result: '0x1' })).toEqual({ jsonrpc: '2.0', id: 1, result: '0x1' })
    expect(shapeReply(1, '2.0', { error: { code: -1, message: 'x' } })).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'x' } })
  })
  test('1.0 always has result, error and id', () => {
    expect(shapeReply('a', '1.0', { result: 5 })).toEqual({ result: 5, error: null, id: 'a' })
    expect(shapeReply('a', '1.0', { error: { code: -8, message: 'x' } })).toEqual({ result: null, error: { code: -8, message: 'x' }, id: 'a' })
  })
})
