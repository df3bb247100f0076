import { describe, expect, test } from 'vitest'
import { ConfigError, parseConfig } from '../../test/support/parse-test-config.js'
import { checkingIntervalMs, clientErrorResponse, evictionTier, fileLimitWarning } from './connection-limits.js'

describe('evictionTier: which socket gives up its slot to a new connection', () => {
  test.each<{ name: string; socket: Parameters<typeof evictionTier>[0]; tier: number | undefined }>([
    { name: 'answered 413, lingering', socket: { lingering: true, served: 0, active: 1, receivingBody: true }, tier: 0 },
    { name: 'silent or partial headers, never served', socket: { lingering: false, served: 0, active: 0, receivingBody: false }, tier: 1 },
    { name: 'idle keep-alive (served before)', socket: { lingering: false, served: 3, active: 0, receivingBody: false }, tier: 2 },
    { name: 'a body still arriving', socket: { lingering: false, served: 0, active: 1, receivingBody: true }, tier: 3 },
    { name: 'a request being handled', socket: { lingering: false, served: 0, active: 1, receivingBody: false }, tier: undefined },
    { name: 'a response being written after earlier ones', socket: { lingering: false, served: 5, active: 1, receivingBody: false }, tier: undefined },
  ])('$name → $tier', ({ socket, tier }) => {
    expect(evictionTier(socket)).toBe(tier)
  })
})

describe('clientErrorResponse: HTTP-level refusals as JSON-RPC errors', () => {
  test.each<{ code: string | undefined; status?: number; error?: string }>([
    { code: 'ERR_HTTP_REQUEST_TIMEOUT', status: 408, error: 'SY_REQUEST_TIMEOUT' },
    { code: 'HPE_HEADER_OVERFLOW', status: 431, error: 'SY_HEADERS_TOO_LARGE' },
    { code: 'HPE_INVALID_METHOD', status: 400, error: 'SY_INVALID_REQUEST' },
    { code: undefined, status: 400, error: 'SY_INVALID_REQUEST' },
    { code: 'ECONNRESET' },
    { code: 'EPIPE' },
  ])('$code → $status $error', ({ code, status, error }) => {
    const answer = clientErrorResponse(code)
    if (status === undefined) return expect(answer).toBeUndefined()
    expect(answer?.status).toBe(status)
    expect(answer?.error.code).toBe(error)
    expect(answer?.error.toJsonRpcError()).toMatchObject({ code: -32600, data: { code: error } })
  })
})

test.each<{ headersTimeoutMs: number; interval: number }>([
  { headersTimeoutMs: 10_000, interval: 1_000 },
  { headersTimeoutMs: 1_000, interval: 500 },
  { headersTimeoutMs: 5, interval: 10 },
])('timeouts are checked every $interval ms when headersTimeoutMs is $headersTimeoutMs', ({ headersTimeoutMs, interval }) => {
  expect(checkingIntervalMs({ headersTimeoutMs })).toBe(interval)
})

describe('fileLimitWarning', () => {
  test.each<{ name: string; maxConnections: number; upstream: number; limit: number | undefined; warns: boolean }>([
    { name: 'room to spare', maxConnections: 1_000, upstream: 438, limit: 20_000, warns: false },
    { name: 'exactly fits', maxConnections: 900, upstream: 92, limit: 1_024, warns: false },
    { name: 'the default cap under a 1024 limit with six nodes', maxConnections: 1_000, upstream: 438, limit: 1_024, warns: true },
    { name: 'limit unknown (not Linux)', maxConnections: 1_000_000, upstream: 0, limit: undefined, warns: false },
  ])('$name → warns $warns', ({ maxConnections, upstream, limit, warns }) => {
    const warning = fileLimitWarning(maxConnections, upstream, limit)
    expect(warning !== undefined).toBe(warns)
    if (warning !== undefined) expect(warning).toContain(`open-file limit (${limit})`)
  })
})

test('server.headersTimeoutMs above server.requestTimeoutMs is refused at load (Node would throw when listening)', () => {
  const chains = { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:8545' }] } }
  expect(() => parseConfig({ server: { headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 }, chains })).toThrow(ConfigError)
  expect(() => parseConfig({ server: { headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 }, chains })).toThrow(/server\.headersTimeoutMs/)
  expect(parseConfig({ chains }).server).toMatchObject({ maxConnections: 1_000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 })
})
