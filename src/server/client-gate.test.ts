/**
 * The /rpc gate on its own (no HTTP): which requests pass, and the exact shape of each refusal for
 * JSON-RPC 1.0 and 2.0 clients, single and batch. test/integration/client-auth.test.ts and
 * rate-limits.test.ts run the same rules over HTTP against real nodes.
 */
import { describe, expect, test } from 'vitest'
import { classifyEvmMethod } from '../../chains/evm/evm-methods.js'
import type { ClientConfig } from '../config/schema.js'
import type { ParsedBody } from '../jsonrpc/parse.js'
import { ManualClock } from '../util/clock.js'
import { ClientGate, type GateResult, type RefusalReason, listensBeyondLoopback } from './client-gate.js'

const READER_KEY = 'reader-key-0123456789'
const SENDER_KEY = 'sender-key-0123456789'
const SERVER = { maxBatchSize: 100, maxCallBytes: 1024 * 1024, maxParamsDepth: 32 }

const reader: ClientConfig = { name: 'reader', key: READER_KEY, chains: ['eth'], methods: ['read'], rateLimit: { perSecond: 1, burst: 3 } }
const sender: ClientConfig = { name: 'sender', key: SENDER_KEY, chains: ['*'], methods: ['read', 'broadcast'] }

function setup(clients: ClientConfig[] = [reader, sender]) {
  const refusals: Array<[string | undefined, RefusalReason, number]> = []
  const context = { config: { clients, server: SERVER }, methodClass: (chain: string, method: string) => (chain === 'eth' ? classifyEvmMethod(method) : undefined) }
  const clock = new ManualClock(0)
  const gate = new ClientGate(context, { now: () => clock.now(), onRefusal: (client, reason, calls) => refusals.push([client, reason, calls]) })
  return { gate, refusals, context, clock }
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const call = (method: string, id: unknown = 1, version: '1.0' | '2.0' = '2.0') =>
  version === '2.0' ? { jsonrpc: '2.0', id, method, params: [] } : { method, params: [], id }
const body = (value: unknown): string => JSON.stringify(value)

function refused(result: GateResult) {
  expect(result.pass).toBe(false)
  if (result.pass) throw new Error('expected a refusal')
  return { ...result, json: JSON.parse(result.body) }
}
function passed(result: GateResult) {
  expect(result.pass).toBe(true)
  if (!result.pass) throw new Error(`expected a pass, got ${result.status} ${result.body}`)
  return result
}

describe('no clients configured: /rpc stays open', () => {
  test('the body passes as it came (not even parsed), with no client', () => {
    const { gate } = setup([])
    expect(gate.enabled).toBe(false)
    expect(gate.admit({}, 'eth', 'not even json')).toEqual({ pass: true, body: 'not even json', client: undefined })
  })
})

describe('401: no known key', () => {
  test.each<[string, Record<string, string>]>([
    ['no credentials', {}],
    ['an unknown Bearer key', bearer('unknown-key-0123456789')],
    ['an unknown basic-auth password', { authorization: `Basic ${Buffer.from('user:nope').toString('base64')}` }],
  ])('%s → 401, a JSON-RPC 2.0 error with the id, WWW-Authenticate for Bearer and Basic', (_name, headers) => {
    const { gate, refusals } = setup()
    const result = refused(gate.admit(headers, 'eth', body(call('eth_blockNumber', 7))))
    expect(result.status).toBe(401)
    expect(result.headers['www-authenticate']).toEqual(['Bearer realm="switchyard"', 'Basic realm="switchyard", charset="UTF-8"'])
    expect(result.json).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32065, message: expect.stringContaining('Unauthorized'), data: { code: 'SY_UNAUTHORIZED' } } })
    expect(refusals).toEqual([[undefined, 'unauthorized', 1]])
  })

  test('a JSON-RPC 1.0 (bitcoind) client gets result null, the error and its id', () => {
    const { gate } = setup()
    const result = refused(gate.admit({}, 'btc', body(call('getblockcount', 'cli', '1.0'))))
    expect(result.status).toBe(401)
    expect(result.json).toEqual({ result: null, error: expect.objectContaining({ code: -32065 }), id: 'cli' })
  })

  test('a batch gets one error per call that has an id, in order (notifications get none)', () => {
    const { gate, refusals } = setup()
    const batch = [call('eth_blockNumber', 1), { jsonrpc: '2.0', method: 'eth_blockNumber' }, call('getblockcount', 'x', '1.0')]
    const result = refused(gate.admit({}, 'eth', body(batch)))
    expect(result.status).toBe(401)
    expect(result.json).toEqual([
      { jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: -32065 }) },
      { result: null, error: expect.objectContaining({ code: -32065 }), id: 'x' },
    ])
    expect(refusals).toEqual([[undefined, 'unauthorized', 3]])
  })

  test('an unparsable body, or a batch of notifications only, gets one error with id null', () => {
    const { gate } = setup()
    expect(refused(gate.admit({}, 'eth', '{oops')).json).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32065 }) })
    expect(refused(gate.admit({}, 'eth', body([{ jsonrpc: '2.0', method: 'eth_blockNumber' }]))).json).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32065 }) })
  })
})

describe('403', () => {
  test('a chain outside the grant: the whole request, named by client and chain', () => {
    const { gate, refusals } = setup()
    const result = refused(gate.admit(bearer(READER_KEY), 'btc', body(call('getblockcount', 1, '1.0'))))
    expect(result.status).toBe(403)
    expect(result.headers).toEqual({})
    expect(result.json).toEqual({ result: null, error: { code: -32066, message: 'Forbidden: client "reader" may not use chain "btc"', data: { code: 'SY_FORBIDDEN', client: 'reader', chain: 'btc' } }, id: 1 })
    expect(refusals).toEqual([['reader', 'forbidden', 1]])
  })

  test('a method group outside the grant: only that call is refused; the rest pass parsed', () => {
    const { gate, refusals } = setup()
    const batch = [call('eth_blockNumber', 1), call('eth_sendRawTransaction', 2), call('eth_chainId', 3)]
    const result = passed(gate.admit(bearer(READER_KEY), 'eth', body(batch)))
    expect(result.client).toBe('reader')
    const parsed = result.body as ParsedBody
    expect(parsed.kind).toBe('batch')
    if (parsed.kind !== 'batch') return
    expect(parsed.entries.map((entry) => [entry.id, entry.call?.method, entry.error?.code])).toEqual([
      [1, 'eth_blockNumber', undefined],
      [2, undefined, 'SY_FORBIDDEN'],
      [3, 'eth_chainId', undefined],
    ])
    expect(parsed.entries[1]!.error!.toJsonRpcError()).toEqual({ code: -32066, message: 'Forbidden: client "reader" may not call broadcast methods (eth_sendRawTransaction)', data: { code: 'SY_FORBIDDEN', client: 'reader', group: 'broadcast' } })
    expect(refusals).toEqual([['reader', 'forbidden', 1]])
  })

  test('a granted group passes; a method off the allowlist is left to the proxy (-32601 for everyone)', () => {
    const { gate } = setup()
    const sent = passed(gate.admit(bearer(SENDER_KEY), 'eth', body(call('eth_sendRawTransaction')))).body as ParsedBody
    expect(sent.kind === 'single' && sent.entry.call?.method).toBe('eth_sendRawTransaction')
    const offList = passed(gate.admit(bearer(READER_KEY), 'eth', body(call('admin_peers')))).body as ParsedBody
    expect(offList.kind === 'single' && offList.entry.call?.method).toBe('admin_peers')
  })
})

describe('429: over the rate limit', () => {
  test('the burst passes; then the whole request is refused with Retry-After, shaped like the request', () => {
    const { gate, refusals, clock } = setup()
    for (let i = 0; i < 3; i++) passed(gate.admit(bearer(READER_KEY), 'eth', body(call('eth_blockNumber', i))))
    const single = refused(gate.admit(bearer(READER_KEY), 'eth', body(call('eth_blockNumber', 'late'))))
    expect(single.status).toBe(429)
    expect(single.headers).toEqual({ 'retry-after': '1' })
    expect(single.json).toEqual({
      jsonrpc: '2.0',
      id: 'late',
      error: { code: -32067, message: expect.stringMatching(/client "reader" is over its limit of 1\/s \(burst 3/), data: { code: 'SY_RATE_LIMITED', client: 'reader', bound: 'clients[].rateLimit', perSecond: 1, burst: 3, retryAfterMs: 1000 } },
    })
    const batch = refused(gate.admit(bearer(READER_KEY), 'eth', body([call('eth_blockNumber', 'a'), call('eth_gasPrice', 'b')])))
    expect(batch.status).toBe(429)
    expect(batch.json.map((reply: { id: unknown; error: { code: number } }) => [reply.id, reply.error.code])).toEqual([
      ['a', -32067],
      ['b', -32067],
    ])
    expect(refusals).toEqual([
      ['reader', 'rate-limited', 1],
      ['reader', 'rate-limited', 2],
    ])
    clock.advance(1000)
    passed(gate.admit(bearer(READER_KEY), 'eth', body(call('eth_blockNumber'))))
  })

  test('calls refused by the grant do not count against the limit', () => {
    const { gate } = setup()
    for (let i = 0; i < 10; i++) passed(gate.admit(bearer(READER_KEY), 'eth', body(call('eth_sendRawTransaction', i))))
    for (let i = 0; i < 3; i++) passed(gate.admit(bearer(READER_KEY), 'eth', body(call('eth_blockNumber', i))))
  })
})

test('a reloaded config (a new clients list) is followed at the next request', () => {
  const { gate, context } = setup([reader])
  refused(gate.admit(bearer(SENDER_KEY), 'eth', body(call('eth_blockNumber'))))
  context.config = { ...context.config, clients: [reader, sender] }
  expect(passed(gate.admit(bearer(SENDER_KEY), 'eth', body(call('eth_blockNumber')))).client).toBe('sender')
  context.config = { ...context.config, clients: [] }
  expect(gate.admit(bearer(SENDER_KEY), 'eth', 'raw')).toEqual({ pass: true, body: 'raw', client: undefined })
})

test('listensBeyondLoopback', () => {
  expect(listensBeyondLoopback({ address: '127.0.0.1' })).toBe(false)
  expect(listensBeyondLoopback({ address: '::1' })).toBe(false)
  expect(listensBeyondLoopback({ address: '0.0.0.0' })).toBe(true)
  expect(listensBeyondLoopback({ address: '::' })).toBe(true)
  expect(listensBeyondLoopback({ address: '10.1.2.3' })).toBe(true)
  expect(listensBeyondLoopback('/tmp/switchyard.sock')).toBe(false)
  expect(listensBeyondLoopback(null)).toBe(false)
})

test('an unauthenticated body over 64 KiB is not parsed: one 401 with id null', () => {
  const { gate, refusals } = setup()
  const big = JSON.stringify(Array.from({ length: 3000 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] })))
  expect(big.length).toBeGreaterThan(64 * 1024)
  const result = refused(gate.admit({}, 'eth', big))
  expect(result.status).toBe(401)
  expect(result.json).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32065 }) })
  expect(refusals).toEqual([[undefined, 'unauthorized', 1]])
  // With a known key the same body is parsed and judged as usual (here: over the default batch size).
  const known = gate.admit(bearer(SENDER_KEY), 'eth', big)
  expect(known.pass && typeof known.body !== 'string' && known.body.kind).toBe('invalid')
})
