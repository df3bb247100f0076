/**
 * When each chain's periodic probe rounds start. Rounds of chains started together would all fall
 * in the same instant every interval: with many chains of many nodes, one burst of thousands of
 * probe calls and replies blocks the event loop while client calls wait behind it. Spreading the
 * chains' first periodic rounds over their interval keeps them apart afterwards (each prober
 * schedules its next round from the end of its own).
 */

/** Delay of each chain's first periodic round, ms: its interval, plus its share of that interval. */
export function firstRoundDelaysMs(intervalsMs: readonly number[]): number[] {
  const count = intervalsMs.length
  return intervalsMs.map((intervalMs, index) => intervalMs + Math.floor((index * intervalMs) / count))
}
