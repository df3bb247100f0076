import { describe, expect, test } from 'vitest'
import { type EmptyConfirmationInput, isEmptyAnswerEvidence, shouldConfirmEmpty } from './empty-answer.js'

describe('shouldConfirmEmpty', () => {
  const base: EmptyConfirmationInput = { enabled: true, empty: true, requiredHeight: undefined, readHead: 100 }
  test.each<[string, Partial<EmptyConfirmationInput>, boolean]>([
    ['an empty hash lookup (receipt, transaction, block by hash)', {}, true],
    ['an empty block at a height below the head', { requiredHeight: 90 }, true],
    ['an empty block at the head', { requiredHeight: 100 }, true],
    ['above the head "not found" is the truth', { requiredHeight: 101 }, false],
    ['before the first probe round', { readHead: undefined, requiredHeight: 5 }, true],
    ['a non-empty answer', { empty: false }, false],
    ['routing.confirmEmptyAnswers off', { enabled: false }, false],
  ])('%s', (_name, change, expected) => {
    expect(shouldConfirmEmpty({ ...base, ...change })).toBe(expected)
  })
})

describe('isEmptyAnswerEvidence', () => {
  test.each<[string, number | undefined, number | undefined, boolean]>([
    ['data in a block the node had', 50, 60, true],
    ['data in the node’s own head block', 60, 60, true],
    ['data mined above the node’s height (it was a block late)', 61, 60, false],
    ['data only in a mempool', undefined, 60, false],
    ['node height unknown', 50, undefined, false],
  ])('%s', (_name, dataHeight, nodeHeight, expected) => {
    expect(isEmptyAnswerEvidence(dataHeight, nodeHeight)).toBe(expected)
  })
})
