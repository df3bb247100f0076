import { expect, test } from 'vitest'
import { firstRoundDelaysMs } from './probe-schedule.js'

test.each([
  { intervals: [], delays: [] },
  { intervals: [1_000], delays: [1_000] },
  { intervals: [1_000, 1_000], delays: [1_000, 1_500] },
  { intervals: [1_000, 1_000, 1_000, 1_000], delays: [1_000, 1_250, 1_500, 1_750] },
  // Each chain within its own interval: a 2 s bitcoin chain beside a 1 s evm one.
  { intervals: [2_000, 1_000], delays: [2_000, 1_500] },
])('intervals $intervals → first rounds after $delays ms', ({ intervals, delays }) => {
  expect(firstRoundDelaysMs(intervals)).toEqual(delays)
})

test('20 chains of 1 s: first rounds 50 ms apart, all within one interval after the first', () => {
  const delays = firstRoundDelaysMs(Array(20).fill(1_000))
  expect(new Set(delays).size).toBe(20)
  expect(delays.slice(1).map((delay, index) => delay - delays[index]!)).toEqual(Array(19).fill(50))
  expect(Math.max(...delays)).toBeLessThan(2_000)
})
