import { describe, expect, test } from 'vitest'
import { ReplyBudget } from './reply-budget.js'

describe('ReplyBudget', () => {
  test('reserves up to its capacity, refuses beyond it without reserving, and frees on release', () => {
    const budget = new ReplyBudget(100)
    expect(budget.tryReserve(60)).toBe(true)
    expect(budget.tryReserve(41)).toBe(false)
    expect(budget.usedBytes).toBe(60)
    expect(budget.tryReserve(40)).toBe(true)
    expect(budget.usedBytes).toBe(100)
    budget.release(100)
    expect(budget.usedBytes).toBe(0)
    expect(budget.peakBytes).toBe(100)
  })

  test('releasing more than held never goes below zero', () => {
    const budget = new ReplyBudget(10)
    budget.release(5)
    expect(budget.usedBytes).toBe(0)
    expect(budget.tryReserve(10)).toBe(true)
  })
})
