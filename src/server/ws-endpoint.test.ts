import { describe, expect, test } from 'vitest'
import { ProxyError } from '../errors/proxy-error.js'
import { decideUpgrade } from './ws-endpoint.js'

describe('decideUpgrade', () => {
  const unauthorized = new ProxyError('SY_UNAUTHORIZED', 'no key')
  const base = { draining: false, chainKnown: true, chain: 'eth', access: undefined, open: 0, maxConnections: 2 }
  test.each([
    ['accepted', base, undefined],
    ['draining comes first', { ...base, draining: true, chainKnown: false, access: unauthorized, open: 5 }, 'SY_SHUTTING_DOWN'],
    ['unknown chain before keys', { ...base, chainKnown: false, access: unauthorized }, 'SY_UNKNOWN_CHAIN'],
    ['keys before the connection cap', { ...base, access: unauthorized, open: 2 }, 'SY_UNAUTHORIZED'],
    ['at the cap', { ...base, open: 2 }, 'SY_OVERLOADED'],
    ['one below the cap', { ...base, open: 1 }, undefined],
  ] as const)('%s', (_name, input, code) => {
    expect(decideUpgrade(input)?.code).toBe(code)
  })

  test('refusals carry their HTTP status for the upgrade answer', () => {
    expect(decideUpgrade({ ...base, draining: true })?.httpStatus).toBe(503)
    expect(decideUpgrade({ ...base, chainKnown: false })?.httpStatus).toBe(404)
    expect(decideUpgrade({ ...base, open: 2 })?.httpStatus).toBe(503)
  })
})
