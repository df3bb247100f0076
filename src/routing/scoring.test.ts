import { describe, expect, test } from 'vitest'
import { pickWeighted, scoreNode } from './scoring.js'

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

describe('pickWeighted', () => {
  const sequence = (...values: number[]) => {
    let index = 0
    return () => values[index++ % values.length] as number
  }
  const seeded = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)

  test('empty → undefined, one → that one', () => {
    expect(pickWeighted([], () => 1, Math.random)).toBeUndefined()
    expect(pickWeighted(['a'], () => 0, Math.random)).toBe('a')
  })

  test.each<{ point: number; picked: string }>([
    { point: 0, picked: 'a' },
    { point: 0.099, picked: 'a' },
    { point: 0.1, picked: 'b' },
    { point: 0.59, picked: 'b' },
    { point: 0.6, picked: 'c' },
    { point: 0.999_999, picked: 'c' },
  ])('random $point over scores 1:5:4 → $picked', ({ point, picked }) => {
    const scores: Record<string, number> = { a: 1, b: 5, c: 4 }
    expect(pickWeighted(['a', 'b', 'c'], (n) => scores[n]!, sequence(point))).toBe(picked)
  })

  test('zero-score candidates only when nothing else remains', () => {
    const scores: Record<string, number> = { a: 0, b: 0.001 }
    for (const point of [0, 0.5, 0.999]) expect(pickWeighted(['a', 'b'], (n) => scores[n]!, sequence(point))).toBe('b')
    expect(pickWeighted(['a', 'c'], () => 0, sequence(0.7))).toBe('c')
  })

  test('load spreads in proportion to score: a 10× slower node gets about 10× less', () => {
    const latency: Record<string, number> = { fast1: 2, fast2: 2, slow: 20 }
    const counts: Record<string, number> = { fast1: 0, fast2: 0, slow: 0 }
    const random = seeded(42)
    const score = (id: string) => scoreNode({ weight: 1, latencyMs: latency[id]!, inFlight: 0, errorRate: 0 })
    for (let i = 0; i < 21_000; i++) counts[pickWeighted(['fast1', 'fast2', 'slow'], score, random)!]! += 1
    // Expected shares 10:10:1 → 10000, 10000, 1000.
    expect(counts.slow).toBeGreaterThan(800)
    expect(counts.slow).toBeLessThan(1_200)
    expect(counts.fast1).toBeGreaterThan(9_500)
    expect(counts.fast2).toBeGreaterThan(9_500)
  })
})
