import { describe, expect, test } from 'vitest'
import { isCallSpecificInternalError, isProviderRefusal } from './provider-refusals.js'

describe('isProviderRefusal', () => {
  test.each<{ code: number; message: string; refusal: boolean }>([
    { code: -32005, message: 'daily request count exceeded, request rate limited', refusal: true },
    { code: -32005, message: 'limit exceeded', refusal: true },
    { code: -32000, message: 'Too Many Requests', refusal: true },
    { code: 429, message: 'Your app has exceeded its compute units per second capacity', refusal: true },
    { code: -32000, message: 'Exceeded the quota usage', refusal: true },
    { code: -32000, message: 'You have reached the free tier limit', refusal: true },
    { code: -32000, message: 'upstream request timeout', refusal: true },
    { code: -32000, message: 'request timed out', refusal: true },
    { code: -32603, message: 'Internal error', refusal: true },
    { code: -32603, message: '', refusal: true },
    // -32603 in the node's own words may be about the call: judged like a request error instead.
    { code: -32603, message: 'something broke', refusal: false },
    { code: -32603, message: 'Too many confirmations for estimate.', refusal: false },
    { code: -32000, message: 'Internal Server Error', refusal: true },
    // Verdicts on the call are never refusals, whatever the code.
    { code: -32603, message: 'EVM error OutOfGas', refusal: false },
    { code: -32603, message: 'VM Exception while processing transaction: revert', refusal: false },
    { code: -32005, message: 'Transaction gas limit exceeds block gas limit', refusal: false },
    { code: -32000, message: 'execution reverted', refusal: false },
    { code: -32000, message: 'insufficient funds for gas * price + value', refusal: false },
    // Plain answers.
    { code: -32602, message: 'invalid argument 0: hex string without 0x prefix', refusal: false },
    { code: -32000, message: 'header not found', refusal: false },
  ])('$code "$message" → $refusal', ({ code, message, refusal }) => {
    expect(isProviderRefusal({ code, message })).toBe(refusal)
  })
})

describe('isCallSpecificInternalError', () => {
  test.each<{ code: number; message: string; specific: boolean }>([
    { code: -32603, message: 'Too many confirmations for estimate.', specific: true }, // bcoin estimatesmartfee 127
    { code: -32603, message: 'failed to fetch', specific: true },
    { code: -32603, message: 'Internal error', specific: false },
    { code: -32603, message: 'INTERNAL_ERROR: header of block 5 missing', specific: true }, // Erigon's prefix before words of its own
    { code: -32603, message: '  ', specific: false },
    { code: -32603, message: 'rate limit exceeded', specific: false },
    { code: -32603, message: 'EVM error OutOfGas', specific: false },
    { code: -32000, message: 'Too many confirmations for estimate.', specific: false },
  ])('$code "$message" → $specific', ({ code, message, specific }) => {
    expect(isCallSpecificInternalError({ code, message })).toBe(specific)
  })
})
