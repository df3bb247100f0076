/**
 * Latency percentiles: exact over the window once re-sorted, and a bounded number of samples stale
 * in between (the hot path reads p95 without sorting 256 samples each time).
 */
import { describe, expect, test } from 'vitest'
import { LatencyTracker } from './latency-tracker.js'

function fed(samples: readonly number[]): LatencyTracker {
  const tracker = new LatencyTracker()
  samples.forEach((sample, index) => tracker.observeLatency(sample, index))
  return tracker
}

describe('percentile', () => {
  test('undefined before any sample', () => {
    expect(new LatencyTracker().percentile(0.95)).toBeUndefined()
  })

  test.each<{ name: string; samples: number[]; q: number; expected: number }>([
    { name: 'one sample is every percentile', samples: [7], q: 0.95, expected: 7 },
    { name: 'p50 of 1..4 (unsorted input)', samples: [4, 1, 3, 2], q: 0.5, expected: 3 },
    { name: 'p95 of 1..100', samples: Array.from({ length: 100 }, (_, index) => 100 - index), q: 0.95, expected: 96 },
    { name: 'p95 of the last 256 of 300 samples (the window)', samples: Array.from({ length: 300 }, (_, index) => (index < 44 ? 10_000 : index)), q: 0.95, expected: 287 },
  ])('$name', ({ samples, q, expected }) => {
    expect(fed(samples).percentile(q)).toBe(expected)
  })

  test('read on every sample, it is never more than 15 samples stale, and exact again at the next re-sort', () => {
    const tracker = fed(Array.from({ length: 256 }, () => 10))
    expect(tracker.percentile(0.95)).toBe(10)
    // The node slows down: every new sample is 1,000 ms. The p95 moves within 16 samples.
    const seen: number[] = []
    for (let sample = 0; sample < 16; sample++) {
      tracker.observeLatency(1_000, 300 + sample)
      seen.push(tracker.percentile(0.95)!)
    }
    expect(seen.slice(0, 15)).toEqual(Array.from({ length: 15 }, () => 10))
    // 16 of 256 samples at 1,000 ms: the top 6.25% of the window, p95 included.
    expect(seen[15]).toBe(1_000)
  })

  test('while the window is young it re-sorts after 1, 2, 4, 8 and 16 samples', () => {
    const tracker = new LatencyTracker()
    const seen: number[] = []
    for (let sample = 1; sample <= 16; sample++) {
      tracker.observeLatency(sample, sample)
      seen.push(tracker.percentile(1)!)
    }
    expect(seen).toEqual([1, 2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 16])
  })
})
