import { expect, test } from 'vitest'
import type { JsonRpcVersion } from '../../src/jsonrpc/types.js'
import { parseConfig } from '../../test/support/parse-test-config.js'
import { createBitcoinAdapter } from './bitcoin-adapter.js'
import { bitcoinLegacyHttpStatus } from './bitcoin-legacy-status.js'

// Bitcoin Core src/httprpc.cpp JSONErrorReply (reference: broadcast-rpc-health.md §3.2).
test.each<{ name: string; code: number; version: JsonRpcVersion; status: number | undefined }>([
  { name: 'method not found, legacy', code: -32601, version: '1.0', status: 404 },
  { name: 'invalid request, legacy', code: -32600, version: '1.0', status: 400 },
  { name: 'parse error, legacy', code: -32700, version: '1.0', status: 500 },
  { name: 'invalid params, legacy', code: -32602, version: '1.0', status: 500 },
  { name: 'internal error, legacy', code: -32603, version: '1.0', status: 500 },
  { name: 'Core application error (-8 out of range), legacy', code: -8, version: '1.0', status: 500 },
  { name: 'Core -26 rejected transaction, legacy', code: -26, version: '1.0', status: 500 },
  { name: 'a switchyard error code, legacy', code: -32060, version: '1.0', status: 500 },
  { name: 'method not found, 2.0', code: -32601, version: '2.0', status: undefined },
  { name: 'invalid request, 2.0', code: -32600, version: '2.0', status: undefined },
  { name: 'Core application error, 2.0', code: -8, version: '2.0', status: undefined },
])('$name → $status', ({ code, version, status }) => {
  expect(bitcoinLegacyHttpStatus({ code, message: 'x' }, version)).toBe(status)
})

test('the bitcoin adapter carries the mapping', () => {
  const config = parseConfig({ chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] } } }, {})
  const adapter = createBitcoinAdapter(config.chains.btc!)
  expect(adapter.legacyHttpStatus?.({ code: -32601, message: 'Method not found' }, '1.0')).toBe(404)
})
