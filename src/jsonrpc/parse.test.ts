import { describe, expect, test } from 'vitest'
import { parseBody, parseCall } from './parse.js'
import { shapeReply } from './reply.js'

describe('parseBody', () => {
  test.each<{ text: string; code: string }>([
    { text: '{"jsonrpc":"2.0",', code: 'SY_PARSE_ERROR' },
    { text: '', code: 'SY_PARSE_ERROR' },
    { text: '[]', code: 'SY_INVALID_REQUEST' },
    { text: JSON.stringify(Array.from({ length: 4 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'm' }))), code: 'SY_BATCH_TOO_LARGE' },
  ])('$text → $code', ({ text, code }) => {
    const parsed = parseBody(text, 3)
    expect(parsed.kind).toBe('invalid')
    if (parsed.kind === 'invalid') expect(parsed.error.code).toBe(code)
  })

  test('a batch keeps its elements in order, invalid ones included', () => {
    const parsed = parseBody('[{"jsonrpc":"2.0","id":1,"method":"a"},1,{"jsonrpc":"2.0","method":"n"}]', 10)
    expect(parsed.kind).toBe('batch')
    if (parsed.kind !== 'batch') return
    expect(parsed.entries.map((entry) => [entry.id, entry.call?.method, entry.error?.code, entry.notification])).toEqual([
      [1, 'a', undefined, false],
      [null, undefined, 'SY_INVALID_REQUEST', false],
      [null, 'n', undefined, true],
    ])
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
