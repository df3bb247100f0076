import { expect, test } from 'vitest'
import { computeHead } from './pool-head.js'

test.each<{ heights: number[]; quorum: number; head: number | undefined }>([
  { heights: [], quorum: 2, head: undefined },
  { heights: [100], quorum: 1, head: 100 },
  { heights: [100], quorum: 2, head: 100 },
  { heights: [100, 100, 100], quorum: 2, head: 100 },
  { heights: [100, 102, 101], quorum: 2, head: 101 },
  { heights: [1_000_000, 100, 100], quorum: 2, head: 100 },
  { heights: [1_000_000, 100, 100], quorum: 1, head: 1_000_000 },
  { heights: [110, 110, 100], quorum: 2, head: 110 },
  { heights: [110, 100, 100], quorum: 2, head: 100 },
  { heights: [5, 9, 7, 8], quorum: 3, head: 7 },
])('head of $heights with quorum $quorum is $head', ({ heights, quorum, head }) => {
  expect(computeHead(heights, quorum)).toBe(head)
})
