import { describe, expect, test } from 'vitest'
import { interpret } from '../upstream/node-client.js'
import { replyText, shapeReply } from './reply.js'
import { type RpcAnswer, rawResultOf } from './types.js'

/** A block-like result large enough for the node client to keep its text. */
const block = { number: '0x10', hash: `0x${'ab'.repeat(32)}`, transactions: Array.from({ length: 12 }, (_, index) => `0x${index.toString(16).padStart(64, '0')}`), note: 'quote " and \\ and "result":' }

function answerOf(text: string): RpcAnswer {
  const outcome = interpret('n1', 7, 200, text)
  if (!outcome.ok) throw new Error(outcome.failure.message)
  return outcome.answer
}

describe('the node\'s text of a result is spliced into the client\'s reply', () => {
  const layouts: Array<[string, string]> = [
    ['geth and every EVM client: {"jsonrpc","id","result"}', JSON.stringify({ jsonrpc: '2.0', id: 7, result: block })],
    ['pretty-printed, with a trailing newline', `${JSON.stringify({ jsonrpc: '2.0', id: 7, result: block }, null, 2)}\n`],
    ['bitcoind before 28 and bcoin: {"result","error":null,"id"}', `${JSON.stringify({ result: block, error: null, id: 7 })}\n`],
    ['bitcoind layout with the id first in the tail', JSON.stringify({ result: block, id: '7', error: null })],
  ]
  test.each(layouts)('%s', (_name, text) => {
    const answer = answerOf(text)
    const raw = rawResultOf(answer)
    expect(raw).toBeDefined()
    expect(JSON.parse(raw!)).toEqual(block)
    // The node's bytes, exactly: the slice starts and ends where its result does.
    expect(text).toContain(raw!)
    for (const [version, style] of [['2.0', 'strict'], ['2.0', 'legacy'], ['1.0', 'strict']] as const) {
      const reply = shapeReply('client-id', version, answer, style)
      const spliced = replyText(reply, answer)
      expect(JSON.parse(spliced)).toEqual(JSON.parse(JSON.stringify(reply)))
      expect(Object.keys(JSON.parse(spliced))).toEqual(Object.keys(reply))
    }
  })

  test('a small reply, an error, or another layout keeps no text (serialised again)', () => {
    expect(rawResultOf(answerOf(JSON.stringify({ jsonrpc: '2.0', id: 7, result: '0x10' })))).toBeUndefined()
    expect(rawResultOf(answerOf(JSON.stringify({ jsonrpc: '2.0', result: block, id: 7 })))).toBeUndefined()
    expect(rawResultOf(answerOf(JSON.stringify({ jsonrpc: '2.0', id: 7, result: block, error: null })))).toBeUndefined()
    expect(rawResultOf(answerOf(JSON.stringify({ result: block, error: null, id: 7, extra: 1 })))).toBeUndefined()
    const error = answerOf(JSON.stringify({ jsonrpc: '2.0', id: 7, error: { code: -32000, message: 'x'.repeat(600) } }))
    expect(rawResultOf(error)).toBeUndefined()
  })

  test('a copied or rebuilt answer never carries the text (it could differ from its result)', () => {
    const answer = answerOf(JSON.stringify({ jsonrpc: '2.0', id: 7, result: block }))
    expect(rawResultOf(answer)).toBeDefined()
    expect(rawResultOf({ ...answer })).toBeUndefined()
    expect(JSON.stringify(answer)).toBe(JSON.stringify({ result: block }))
    const rebuilt: RpcAnswer = { ...answer, result: { ...block, number: '0x11' } } as RpcAnswer
    expect(JSON.parse(replyText(shapeReply(1, '2.0', rebuilt), rebuilt)).result.number).toBe('0x11')
    expect(rawResultOf(rebuilt)).toBeUndefined()
  })
})
