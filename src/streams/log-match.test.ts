import { describe, expect, test } from 'vitest'
import type { LogsQuery } from './chain-streams.js'
import { inBlockRange, matchesLogsQuery, parseFilterCriteria } from './log-match.js'

const A = `0x${'aa'.repeat(20)}`
const B = `0x${'bb'.repeat(20)}`
const T1 = `0x${'11'.repeat(32)}`
const T2 = `0x${'22'.repeat(32)}`
const T3 = `0x${'33'.repeat(32)}`
const log = { address: A, topics: [T1, T2] }

describe('matchesLogsQuery', () => {
  test.each<[string, LogsQuery, boolean]>([
    ['no criteria', {}, true],
    ['its address', { address: A }, true],
    ['its address in upper case', { address: A.toUpperCase().replace('0X', '0x') }, true],
    ['another address', { address: B }, false],
    ['one of the addresses', { address: [B, A] }, true],
    ['an empty address list (no constraint)', { address: [] }, true],
    ['first topic', { topics: [T1] }, true],
    ['wrong first topic', { topics: [T2] }, false],
    ['wildcard then second topic', { topics: [null, T2] }, true],
    ['alternatives at a position', { topics: [[T3, T1]] }, true],
    ['no alternative matches', { topics: [[T3, T2]] }, false],
    ['an empty alternative list (anything)', { topics: [[], T2] }, true],
    ['more positions than the log has', { topics: [T1, T2, null] }, false],
    ['address and topics both', { address: A, topics: [T1, T2] }, true],
    ['address right, topic wrong', { address: A, topics: [T1, T3] }, false],
  ])('%s', (_name, query, expected) => {
    expect(matchesLogsQuery(query, log)).toBe(expected)
  })

  test('a log without topics or address matches only criteria that do not need them', () => {
    expect(matchesLogsQuery({}, {})).toBe(true)
    expect(matchesLogsQuery({ address: A }, {})).toBe(false)
    expect(matchesLogsQuery({ topics: [null] }, { topics: [] })).toBe(false)
  })
})

describe('parseFilterCriteria', () => {
  test.each<[string, unknown, unknown]>([
    ['absent', undefined, { query: {} }],
    ['empty object', {}, { query: { address: undefined, topics: undefined }, fromBlock: undefined, toBlock: undefined, blockHash: undefined }],
    [
      'a full filter',
      { fromBlock: '0x1', toBlock: 'latest', address: [A, B], topics: [T1, null, [T2, T3]] },
      { query: { address: [A, B], topics: [T1, null, [T2, T3]] }, fromBlock: '0x1', toBlock: 'latest', blockHash: undefined },
    ],
    ['[null] at a position is a wildcard', { topics: [[null, T1]] }, { query: { address: undefined, topics: [null] }, fromBlock: undefined, toBlock: undefined, blockHash: undefined }],
    ['by block hash', { blockHash: T1, address: A }, { query: { address: A, topics: undefined }, fromBlock: undefined, toBlock: undefined, blockHash: T1 }],
  ])('%s', (_name, value, expected) => {
    expect(parseFilterCriteria(value)).toEqual(expected)
  })

  test.each<[string, unknown, RegExp]>([
    ['not an object', 'x', /must be an object/],
    ['a list', [], /must be an object/],
    ['a decimal block', { fromBlock: '12' }, /fromBlock/],
    ['an unknown tag', { toBlock: 'newest' }, /toBlock/],
    ['a short address', { address: '0x12' }, /address/],
    ['an address list with a number', { address: [A, 1] }, /address/],
    ['five topic positions', { topics: [null, null, null, null, null] }, /at most 4/],
    ['a short topic', { topics: ['0x12'] }, /topic/],
    ['a nested list', { topics: [[[T1]]] }, /topic/],
    ['block hash with a range', { blockHash: T1, fromBlock: '0x1' }, /cannot be combined/],
    ['a bad block hash', { blockHash: '0x1' }, /blockHash/],
  ])('refuses %s', (_name, value, message) => {
    const parsed = parseFilterCriteria(value)
    expect(typeof parsed).toBe('string')
    expect(parsed).toMatch(message)
  })
})

describe('inBlockRange', () => {
  test.each<[number, string | undefined, string | undefined, boolean]>([
    [5, undefined, undefined, true],
    [5, '0x5', '0x5', true],
    [4, '0x5', undefined, false],
    [6, undefined, '0x5', false],
    [6, 'latest', 'latest', true],
    [6, 'earliest', 'pending', true],
    [6, undefined, 'earliest', false],
  ])('height %i in [%s, %s]: %s', (height, from, to, expected) => {
    expect(inBlockRange(height, from, to)).toBe(expected)
  })
})
