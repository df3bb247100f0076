import { describe, expect, test } from 'vitest'
import { pickByTwoChoices, scoreNode } from './scoring.js'

describe('scoreNode', () => {
  const base = { weight: 1, latencyMs: 10, inFlight: 0, errorRate: 0 }
  test.each<{ name: string; better: Partial<typeof base>; worse: Partial<typeof base> }>([
    { name: 'lower latency wins', better: { latencyMs: 5 }, worse: { latencyMs: 50 } },
    { name: 'fewer in flight wins', better: { inFlight: 0 }, worse: { inFlight: 4 } },
    { name: 'lower error rate wins', better: { errorRate: 0 }, worse: { errorRate: 0.2 } },
    { name: 'higher weight wins', better: { weight: 2 }, worse: { weight: 1 } },
  ])('$name', ({ better, worse }) => {
    expect(scoreNode({ ...base, ...better })).toBeGreaterThan(scoreNode({ ...base, ...worse }))
  })

  test('sub-millisecond latencies count as equal', () => {
    expect(scoreNode({ ...base, latencyMs: 0.1 })).toBe(scoreNode({ ...base, latencyMs: 0.9 }))
  })

  test('weight 0 scores 0', () => {
    expect(scoreNode({ ...base, weight: 0 })).toBe(0)
  })
})

describe('pickByTwoChoices', () => {
  const sequence = (...values: number[]) => {
    let index = 0
    return () => values[index++ % values.length] as number
  }

  test('empty → undefined, one → that one', () => {
    expect(pickByTwoChoices([], () => 1, Math.random)).toBeUndefined()
    expect(pickByTwoChoices(['a'], () => 1, Math.random)).toBe('a')
  })

  test('of the two sampled, the better score wins', () => {
    const scores: Record<string, number> = { a: 1, b: 5, c: 3 }
    // first index 0 (a), second index floor(0.6*2)=1 → shifted past 0 → 2 (c)
    expect(pickByTwoChoices(['a', 'b', 'c'], (n) => scores[n]!, sequence(0, 0.6))).toBe('c')
  })

  test('never samples the same candidate twice', () => {
    const scores: Record<string, number> = { a: 1, b: 2 }
    expect(pickByTwoChoices(['a', 'b'], (n) => scores[n]!, sequence(0, 0))).toBe('b')
  })

  test('zero-weight candidates only when nothing else remains', () => {
    const scores: Record<string, number> = { a: 0, b: 0.001 }
    for (let i = 0; i < 20; i++) expect(pickByTwoChoices(['a', 'b'], (n) => scores[n]!, Math.random)).toBe('b')
    expect(pickByTwoChoices(['a'], (n) => scores[n]!, Math.random)).toBe('a')
  })

  test('load spreads: a 10× slower node gets a small share, not none', () => {
    const scores: Record<string, number> = { fast1: 1, fast2: 1, slow: 0.1 }
    const counts: Record<string, number> = { fast1: 0, fast2: 0, slow: 0 }
    let seed = 42
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    for (let i = 0; i < 3_000; i++) counts[pickByTwoChoices(['fast1', 'fast2', 'slow'], (n) => scores[n]!, random)!]! += 1
    expect(counts.slow).toBe(0) // with 3 candidates p2c never picks the worst: it always loses its pair
    expect(counts.fast1).toBeGreaterThan(1_000)
    expect(counts.fast2).toBeGreaterThan(1_000)
  })
})
