import { describe, expect, test } from 'vitest'
import { agreementNeeded, answerHash, canonicalJson, tallyAnswers } from './verified-read.js'

describe('canonicalJson', () => {
  test('object keys are sorted at every level; arrays keep their order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}')
  })
  test('undefined members are left out, as JSON does', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}')
    expect(canonicalJson([undefined])).toBe('[null]')
  })
  test('same answer in another key order → same hash; another value → another hash', () => {
    expect(answerHash({ result: { status: '0x1', blockNumber: '0x2' } })).toBe(answerHash({ result: { blockNumber: '0x2', status: '0x1' } }))
    expect(answerHash({ result: { status: '0x1' } })).not.toBe(answerHash({ result: { status: '0x0' } }))
    expect(answerHash({ result: null })).toMatch(/^[0-9a-f]{16}$/)
  })
  test('a result and an error never share a hash; equal errors do', () => {
    expect(answerHash({ error: { code: -5, message: 'x' } })).toBe(answerHash({ error: { message: 'x', code: -5 } }))
    expect(answerHash({ error: { code: -5, message: 'x' } })).not.toBe(answerHash({ result: { code: -5, message: 'x' } }))
  })
})

describe('tallyAnswers', () => {
  const a = (nodeId: string, hash: string) => ({ nodeId, hash })
  test.each<[string, ReturnType<typeof a>[], number, unknown]>([
    ['two equal answers, agree 2', [a('n1', 'h'), a('n2', 'h')], 2, { kind: 'agreed', hash: 'h', minority: [] }],
    ['two different answers: one more needed', [a('n1', 'h'), a('n2', 'x')], 2, { kind: 'undecided', missing: 1, distinct: 2 }],
    ['2 of 3 agree: the third is the minority', [a('n1', 'h'), a('n2', 'x'), a('n3', 'h')], 2, { kind: 'agreed', hash: 'h', minority: ['n2'] }],
    ['agree 3, two so far', [a('n1', 'h'), a('n2', 'h')], 3, { kind: 'undecided', missing: 1, distinct: 1 }],
    ['nothing yet', [], 2, { kind: 'undecided', missing: 2, distinct: 0 }],
    ['three different answers', [a('n1', 'h'), a('n2', 'x'), a('n3', 'y')], 2, { kind: 'undecided', missing: 1, distinct: 3 }],
  ])('%s', (_name, answers, agree, expected) => {
    expect(tallyAnswers(answers, agree)).toEqual(expected)
  })
})

describe('agreementNeeded', () => {
  const verify = { methods: ['eth_getTransactionReceipt'], agree: 3 }
  test.each<[string, Parameters<typeof agreementNeeded>[0], number | undefined]>([
    ['a listed method: the configured agree', { verify, method: 'eth_getTransactionReceipt', height: undefined, agreementRequiredFrom: undefined }, 3],
    ['an unlisted method', { verify, method: 'eth_getBalance', height: 5, agreementRequiredFrom: undefined }, undefined],
    ['forked pool, a read at the disputed height: 2 whatever the config', { verify: { methods: [], agree: 2 }, method: 'eth_getBlockByNumber', height: 7, agreementRequiredFrom: 7 }, 2],
    ['forked pool, a read above it', { verify: { methods: [], agree: 2 }, method: 'eth_getBalance', height: 9, agreementRequiredFrom: 7 }, 2],
    ['forked pool, a read below it', { verify: { methods: [], agree: 2 }, method: 'eth_getBalance', height: 6, agreementRequiredFrom: 7 }, undefined],
    ['forked pool, a read without a height', { verify: { methods: [], agree: 2 }, method: 'eth_getTransactionReceipt', height: undefined, agreementRequiredFrom: 7 }, undefined],
    ['forked pool, a listed method keeps its agree', { verify, method: 'eth_getTransactionReceipt', height: 9, agreementRequiredFrom: 7 }, 3],
  ])('%s', (_name, input, expected) => {
    expect(agreementNeeded(input)).toBe(expected)
  })
})
