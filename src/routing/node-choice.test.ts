import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import type { PoolNode } from '../pool/node-pool.js'
import { type CandidateRules, type ChoiceLimits, NodeChooser, reportedHeight, selectCandidates } from './node-choice.js'
import { pickWeighted } from './scoring.js'

describe('selectCandidates with verified heights', () => {
  const node = (id: string, height: number) => ({ config: { id }, health: { status: 'healthy', height } }) as unknown as PoolNode
  const a = node('a', 12)
  const c = node('c', 12) // has block 12, but its hash there was never verified
  const b = node('b', 9)
  const servable = new Map([
    [a, 12],
    [c, 10],
    [b, 9],
  ])
  const heightOf = (candidate: PoolNode) => servable.get(candidate)!
  const ids = (nodes: PoolNode[]) => nodes.map((candidate) => candidate.config.id)

  test.each<{ name: string; head: number | undefined; minHeight: number | undefined; tried: PoolNode[]; expected: string[] }>([
    { name: 'a read at 12: only the node verified there', head: 12, minHeight: 12, tried: [], expected: ['a'] },
    { name: 'that node tried: the unverified holder is still not asked; the node below it answers "not yet"', head: 12, minHeight: 12, tried: [a], expected: ['b'] },
    { name: 'a read at 10: both nodes verified there', head: 12, minHeight: 10, tried: [], expected: ['a', 'c'] },
    { name: 'no height: nodes verified at the head first', head: 12, minHeight: undefined, tried: [], expected: ['a'] },
  ])('$name', ({ head, minHeight, tried, expected }) => {
    expect(ids(selectCandidates([a, c, b], { head, minHeight, tried: new Set(tried), heightOf }))).toEqual(expected)
  })

  test('without heightOf (pools that do not verify forks), reported heights decide as before', () => {
    expect(ids(selectCandidates([a, c, b], { head: 12, minHeight: 12 }))).toEqual(['a', 'c'])
  })

  test('at head only: nodes below the head are never candidates, even when no node is at it', () => {
    expect(ids(selectCandidates([a, c, b], { head: 12, atHeadOnly: true }))).toEqual(['a', 'c'])
    expect(ids(selectCandidates([b], { head: 12, atHeadOnly: true }))).toEqual([])
  })
})

/**
 * The router's choice as it was made before the one-pass chooser: three arrays and `pickWeighted`.
 * Kept here as the oracle the chooser must match, draw for draw.
 */
function referenceChoice(nodes: readonly PoolNode[], rules: CandidateRules, limits: ChoiceLimits, random: () => number) {
  const routable = nodes.filter(
    (node) =>
      node.health.status === 'healthy' &&
      !rules.tried.has(node) &&
      (rules.filter === undefined || rules.filter(node)) &&
      (rules.minHeight === undefined || rules.heightOf(node) >= rules.minHeight || reportedHeight(node) < rules.minHeight),
  )
  const atHead = rules.head === undefined ? routable : routable.filter((node) => rules.heightOf(node) >= rules.head!)
  let candidates = atHead.length > 0 ? atHead : routable
  if (rules.atHeadOnly) candidates = atHead
  else if (rules.minHeight !== undefined) {
    const high = routable.filter((node) => rules.heightOf(node) >= rules.minHeight!)
    if (high.length > 0) candidates = high
  }
  const free = candidates.filter((node) => node.inFlight < limits.maxInFlight)
  const allowed = limits.allows === undefined ? free : free.filter((node) => limits.allows!(node))
  return { candidates: candidates.length, free: free.map(id), allowed: allowed.length, picked: pickWeighted(allowed, limits.score, random) }
}

const id = (node: PoolNode | undefined) => node?.config.id

interface NodeSpec {
  healthy: boolean
  height: number | undefined
  servable: number
  inFlight: number
  quota: boolean
  score: number
  filtered: boolean
  tried: boolean
}

const nodeSpec: fc.Arbitrary<NodeSpec> = fc.record({
  healthy: fc.boolean(),
  height: fc.option(fc.integer({ min: 95, max: 105 }), { nil: undefined }),
  servable: fc.integer({ min: 93, max: 105 }),
  inFlight: fc.integer({ min: 0, max: 3 }),
  quota: fc.boolean(),
  // Zero scores (weight 0) and ties are where a picker goes wrong.
  score: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0.001, max: 10, noNaN: true })),
  filtered: fc.boolean(),
  tried: fc.boolean(),
})

describe('NodeChooser', () => {
  test('chooses exactly as the array pipeline did (same tier, counts, busy and over-quota nodes, and pick for the same draw)', () => {
    const chooser = new NodeChooser()
    fc.assert(
      fc.property(
        fc.array(nodeSpec, { minLength: 0, maxLength: 8 }),
        fc.record({
          head: fc.option(fc.integer({ min: 95, max: 105 }), { nil: undefined }),
          minHeight: fc.option(fc.integer({ min: 93, max: 107 }), { nil: undefined }),
          atHeadOnly: fc.boolean(),
          useFilter: fc.boolean(),
          verified: fc.boolean(),
          quotas: fc.boolean(),
          maxInFlight: fc.integer({ min: 1, max: 3 }),
        }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (specs, options, draw) => {
          const nodes = specs.map(
            (spec, index) => ({ config: { id: `n${index}` }, health: { status: spec.healthy ? 'healthy' : 'lagging', height: spec.height }, inFlight: spec.inFlight }) as unknown as PoolNode,
          )
          const spec = new Map(nodes.map((node, index) => [node, specs[index]!]))
          const rules: CandidateRules = {
            head: options.head,
            minHeight: options.minHeight,
            tried: new Set(nodes.filter((node) => spec.get(node)!.tried)),
            atHeadOnly: options.atHeadOnly,
            filter: options.useFilter ? (node) => !spec.get(node)!.filtered : undefined,
            // Verifying pools serve no higher than where a node's hash was verified.
            heightOf: options.verified ? (node) => Math.min(reportedHeight(node), spec.get(node)!.servable) : reportedHeight,
          }
          const limits: ChoiceLimits = {
            maxInFlight: options.maxInFlight,
            allows: options.quotas ? (node) => spec.get(node)!.quota : undefined,
            score: (node) => spec.get(node)!.score,
          }
          let draws = 0
          const random = () => {
            draws += 1
            return draw
          }
          const expected = referenceChoice(nodes, rules, limits, random)
          const expectedDraws = draws
          draws = 0
          chooser.survey(nodes, rules, limits)
          expect({ candidates: chooser.candidates, free: chooser.freeNodes().map(id), allowed: chooser.allowed, picked: chooser.pick(random) }).toEqual(expected)
          expect(chooser.free).toBe(expected.free.length)
          expect(draws).toBe(expectedDraws)
          expect(id(expected.picked)).toBe(id(chooser.pick(() => draw)))
        },
      ),
      { numRuns: 3_000 },
    )
  })

  test('spreads traffic by score: a node scoring a tenth gets about a tenth of the picks', () => {
    const nodes = ['fast', 'slow'].map((name) => ({ config: { id: name }, health: { status: 'healthy', height: 10 }, inFlight: 0 }) as unknown as PoolNode)
    const chooser = new NodeChooser()
    const rules: CandidateRules = { head: 10, minHeight: undefined, tried: new Set(), atHeadOnly: false, filter: undefined, heightOf: reportedHeight }
    const limits: ChoiceLimits = { maxInFlight: 10, allows: undefined, score: (node) => (node.config.id === 'fast' ? 10 : 1) }
    let slow = 0
    for (let draw = 0; draw < 1_100; draw++) {
      chooser.survey(nodes, rules, limits)
      if (chooser.pick(() => draw / 1_100)!.config.id === 'slow') slow += 1
    }
    expect(slow).toBe(100)
  })

  test('a pick after a survey that found nothing allowed is undefined, and draws nothing', () => {
    const busy = { config: { id: 'busy' }, health: { status: 'healthy', height: 10 }, inFlight: 5 } as unknown as PoolNode
    const chooser = new NodeChooser()
    chooser.survey([busy], { head: 10, minHeight: undefined, tried: new Set(), atHeadOnly: false, filter: undefined, heightOf: reportedHeight }, { maxInFlight: 5, allows: undefined, score: () => 1 })
    expect([chooser.candidates, chooser.free, chooser.allowed]).toEqual([1, 0, 0])
    expect(chooser.pick(() => expect.unreachable('no draw'))).toBeUndefined()
  })
})
