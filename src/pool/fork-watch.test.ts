import { describe, expect, test } from 'vitest'
import { type ForkCandidate, ForkWatch, type HashReport, forkCheckHeight, headCheckNodes, judgeForks, shortHash } from './fork-watch.js'

const c = (nodeId: string, height: number, chainwork?: string): ForkCandidate => ({ nodeId, height, chainwork })

describe('forkCheckHeight', () => {
  test.each<{ name: string; candidates: ForkCandidate[]; head: number | undefined; maxLag: number; expected: { height: number; nodeIds: string[] } | undefined }>([
    { name: 'all at the head', candidates: [c('a', 10), c('b', 10), c('c', 10)], head: 10, maxLag: 1, expected: { height: 10, nodeIds: ['a', 'b', 'c'] } },
    { name: 'lowest in-sync height', candidates: [c('a', 10), c('b', 9), c('c', 10)], head: 10, maxLag: 1, expected: { height: 9, nodeIds: ['a', 'b', 'c'] } },
    { name: 'a lagging node is left out', candidates: [c('a', 10), c('b', 10), c('c', 5)], head: 10, maxLag: 1, expected: { height: 10, nodeIds: ['a', 'b'] } },
    { name: 'a node far ahead is asked at the common height', candidates: [c('a', 3), c('b', 3), c('x', 10_000_000)], head: 3, maxLag: 3, expected: { height: 3, nodeIds: ['a', 'b', 'x'] } },
    { name: 'within maxLag above the head counts as in sync', candidates: [c('a', 12), c('b', 10)], head: 10, maxLag: 3, expected: { height: 10, nodeIds: ['a', 'b'] } },
    { name: 'one node only: nothing to compare', candidates: [c('a', 10), c('b', 2)], head: 10, maxLag: 1, expected: undefined },
    { name: 'no head yet', candidates: [c('a', 10), c('b', 10)], head: undefined, maxLag: 1, expected: undefined },
    { name: 'nobody answered', candidates: [], head: 10, maxLag: 1, expected: undefined },
  ])('$name', ({ candidates, head, maxLag, expected }) => {
    expect(forkCheckHeight(candidates, head, maxLag)).toEqual(expected)
  })
})

describe('headCheckNodes', () => {
  test.each<{ name: string; candidates: ForkCandidate[]; head: number | undefined; compared: number; expected: string[] | undefined }>([
    { name: 'head is the compared height: nothing more', candidates: [c('a', 10), c('b', 10)], head: 10, compared: 10, expected: undefined },
    { name: 'two nodes at the head above a lagging one', candidates: [c('a', 10), c('b', 11), c('c', 9)], head: 10, compared: 9, expected: ['a', 'b'] },
    { name: 'one node at the head: no comparison there', candidates: [c('a', 10), c('b', 9)], head: 10, compared: 9, expected: undefined },
    { name: 'no head', candidates: [c('a', 10), c('b', 10)], head: undefined, compared: 9, expected: undefined },
  ])('$name', ({ candidates, head, compared, expected }) => {
    expect(headCheckNodes(candidates, head, compared)).toEqual(expected)
  })
})

const r = (nodeId: string, hash: string | undefined, chainwork?: string): HashReport => ({ nodeId, hash, chainwork })
const H = (char: string): string => `0x${char.repeat(64)}`

describe('judgeForks', () => {
  test.each<{ name: string; reports: HashReport[]; canonical: string | undefined; decidedBy: string | undefined; forked: string[]; agreeing: string[]; unknown?: string[] }>([
    { name: 'everyone agrees', reports: [r('a', H('a')), r('b', H('a')), r('c', H('a'))], canonical: H('a'), decidedBy: 'unanimous', forked: [], agreeing: ['a', 'b', 'c'] },
    { name: 'a minority of one is forked', reports: [r('a', H('a')), r('b', H('a')), r('c', H('b'))], canonical: H('a'), decidedBy: 'majority', forked: ['c'], agreeing: ['a', 'b'] },
    { name: 'hash case does not matter', reports: [r('a', H('a')), r('b', H('A'))], canonical: H('a'), decidedBy: 'unanimous', forked: [], agreeing: ['a', 'b'] },
    { name: 'two against two: no majority, nobody forked', reports: [r('a', H('a')), r('b', H('a')), r('c', H('b')), r('d', H('b'))], canonical: undefined, decidedBy: undefined, forked: [], agreeing: [] },
    { name: 'one against one: no majority', reports: [r('a', H('a')), r('b', H('b'))], canonical: undefined, decidedBy: undefined, forked: [], agreeing: [] },
    {
      name: 'no majority: the most chainwork decides (bitcoin)',
      reports: [r('a', 'aa'.repeat(32), '00ff'), r('b', 'bb'.repeat(32), '0100')],
      canonical: 'bb'.repeat(32),
      decidedBy: 'chainwork',
      forked: ['a'],
      agreeing: ['b'],
    },
    { name: 'equal chainwork decides nothing', reports: [r('a', 'aa'.repeat(32), '0100'), r('b', 'bb'.repeat(32), '0100')], canonical: undefined, decidedBy: undefined, forked: [], agreeing: [] },
    { name: 'a group without chainwork cannot be weighed', reports: [r('a', 'aa'.repeat(32), '0100'), r('b', 'bb'.repeat(32))], canonical: undefined, decidedBy: undefined, forked: [], agreeing: [] },
    {
      name: 'a majority wins over more chainwork (self-reported work cannot outvote)',
      reports: [r('a', 'aa'.repeat(32), '01'), r('b', 'aa'.repeat(32), '01'), r('c', 'bb'.repeat(32), 'ffff')],
      canonical: 'aa'.repeat(32),
      decidedBy: 'majority',
      forked: ['c'],
      agreeing: ['a', 'b'],
    },
    {
      name: 'nodes that cannot tell are in no group and do not count for the majority',
      reports: [r('a', H('a')), r('b', undefined), r('c', H('a')), r('d', H('b'))],
      canonical: H('a'),
      decidedBy: 'majority',
      forked: ['d'],
      agreeing: ['a', 'c'],
      unknown: ['b'],
    },
    { name: 'nobody could tell', reports: [r('a', undefined), r('b', undefined)], canonical: undefined, decidedBy: undefined, forked: [], agreeing: [], unknown: ['a', 'b'] },
  ])('$name', ({ reports, canonical, decidedBy, forked, agreeing, unknown = [] }) => {
    const verdict = judgeForks(7, reports)
    expect(verdict.canonical).toBe(canonical)
    expect(verdict.decidedBy).toBe(decidedBy)
    expect([...verdict.forked.keys()]).toEqual(forked)
    expect(verdict.agreeing).toEqual(agreeing)
    expect(verdict.unknown).toEqual(unknown)
  })

  test('the reason names the height and both hashes, shortened', () => {
    const verdict = judgeForks(12, [r('a', H('a')), r('b', H('a')), r('c', H('b'))])
    expect(verdict.forked.get('c')).toBe('block 12 is 0xbbbbbbbb…bbbbbbbb here, 0xaaaaaaaa…aaaaaaaa on the majority (2 of 3 nodes)')
    expect(verdict.groups).toEqual([
      { hash: H('a'), nodes: ['a', 'b'] },
      { hash: H('b'), nodes: ['c'] },
    ])
  })

  test('chainwork reason says which nodes carry the most work', () => {
    const verdict = judgeForks(5, [r('a', 'aa'.repeat(32), '10'), r('b', 'bb'.repeat(32), '20')])
    expect(verdict.forked.get('a')).toBe(`block 5 is aaaaaaaa…aaaaaaaa here, bbbbbbbb…bbbbbbbb on the chain with the most work (b)`)
  })

  test('shortHash keeps short strings whole', () => {
    expect(shortHash('0xabc')).toBe('0xabc')
  })
})

/** A scripted chain view: hashes per node per height; `calls` counts look-ups. */
function chains(initial: Record<string, Record<number, string>>) {
  const byNode = new Map(Object.entries(initial).map(([nodeId, hashes]) => [nodeId, new Map(Object.entries(hashes).map(([h, hash]) => [Number(h), hash]))]))
  const calls: Array<[string, number]> = []
  return {
    calls,
    set(nodeId: string, height: number, hash: string) {
      byNode.get(nodeId)!.set(height, hash)
    },
    hashAt: async (nodeId: string, height: number) => {
      calls.push([nodeId, height])
      return byNode.get(nodeId)?.get(height)
    },
  }
}

describe('ForkWatch', () => {
  test("a probe's head hash stands for the look-up at the node's own height only; other heights are asked", async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 9: 'x9', 10: 'x10' }, b: { 9: 'x9', 10: 'x10' }, c: { 9: 'x9' } })
    // Steady state: every node at the head with its hash from the probe: no look-up.
    const steady = await watch.check({ head: 10, maxLagBlocks: 1, candidates: [{ nodeId: 'a', height: 10, headHash: 'x10' }, { nodeId: 'b', height: 10, headHash: 'x10' }], hashAt: view.hashAt })
    expect(steady?.verdict).toMatchObject({ height: 10, canonical: 'x10', forked: new Map() })
    expect(view.calls).toEqual([])
    // c lags one block: the common height 9 is looked up on a and b; the head's hashes come from the probes.
    const lagging = await watch.check({
      head: 10,
      maxLagBlocks: 1,
      candidates: [{ nodeId: 'a', height: 10, headHash: 'x10' }, { nodeId: 'b', height: 10, headHash: 'x10' }, { nodeId: 'c', height: 9, headHash: 'x9' }],
      hashAt: view.hashAt,
    })
    expect(lagging?.verified).toEqual(new Map([['a', 10], ['b', 10], ['c', 9]]))
    expect(view.calls.sort()).toEqual([['a', 9], ['b', 9]])
    // A probe hash that differs is evidence like a looked-up one: the node is forked.
    const forked = await watch.check({ head: 10, maxLagBlocks: 1, candidates: [{ nodeId: 'a', height: 10, headHash: 'x10' }, { nodeId: 'b', height: 10, headHash: 'x10' }, { nodeId: 'c', height: 10, headHash: 'y10' }], hashAt: view.hashAt })
    expect([...(forked?.verdict.forked.keys() ?? [])]).toEqual(['c'])
  })

  test('remembers the canonical hash; a change at a remembered height is a reorg with the lowest changed height', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 8: 'x8', 9: 'x9', 10: 'x10' }, b: { 8: 'x8', 9: 'x9', 10: 'x10' } })
    const at = (height: number) => ({ head: height, maxLagBlocks: 1, candidates: [c('a', height), c('b', height)], hashAt: view.hashAt })
    expect((await watch.check(at(8)))?.reorg).toBeUndefined()
    expect((await watch.check(at(9)))?.reorg).toBeUndefined()
    expect((await watch.check(at(10)))?.reorg).toBeUndefined()
    expect(watch.remembered(9)).toBe('x9')
    // Both nodes move to another branch from height 9 on.
    for (const node of ['a', 'b']) {
      view.set(node, 9, 'y9')
      view.set(node, 10, 'y10')
      view.set(node, 11, 'y11')
    }
    const round = await watch.check(at(11))
    expect(round?.reorg).toEqual({ height: 9, oldHash: 'x9', newHash: 'y9' })
    expect(watch.remembered(10)).toBe('y10')
    expect(watch.remembered(8)).toBe('x8')
    // The next round sees no new reorg.
    expect((await watch.check(at(11)))?.reorg).toBeUndefined()
  })

  test('heights passed between two rounds are filled in, so a reorg reports its fork point', async () => {
    const watch = new ForkWatch()
    const main = Object.fromEntries(Array.from({ length: 10 }, (_, h) => [h, `x${h}`]))
    const view = chains({ a: { ...main }, b: { ...main } })
    const at = (height: number) => ({ head: height, maxLagBlocks: 0, candidates: [c('a', height), c('b', height)], hashAt: view.hashAt })
    await watch.check(at(5))
    await watch.check(at(8))
    expect([6, 7].map((height) => watch.remembered(height))).toEqual(['x6', 'x7'])
    for (const node of ['a', 'b']) for (let h = 6; h <= 9; h++) view.set(node, h, `y${h}`)
    expect((await watch.check(at(9)))?.reorg).toEqual({ height: 6, oldHash: 'x6', newHash: 'y6' })
  })

  test('steady state costs one look-up per node plus one anchor check per canonical node', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 1: 'h1', 2: 'h2' }, b: { 1: 'h1', 2: 'h2' } })
    await watch.check({ head: 1, maxLagBlocks: 1, candidates: [c('a', 1), c('b', 1)], hashAt: view.hashAt })
    view.calls.length = 0
    await watch.check({ head: 2, maxLagBlocks: 1, candidates: [c('a', 2), c('b', 2)], hashAt: view.hashAt })
    expect(view.calls.sort()).toEqual([['a', 1], ['a', 2], ['b', 1], ['b', 2]])
  })

  test('the majority switching branches is a reorg; the old majority node is then forked', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 5: 'x' }, b: { 5: 'x' }, c: { 5: 'y' } })
    const round = { head: 5, maxLagBlocks: 1, candidates: [c('a', 5), c('b', 5), c('c', 5)], hashAt: view.hashAt }
    const first = await watch.check(round)
    expect([...first!.verdict.forked.keys()]).toEqual(['c'])
    view.set('b', 5, 'y')
    const second = await watch.check(round)
    expect([...second!.verdict.forked.keys()]).toEqual(['a'])
    expect(second!.reorg).toEqual({ height: 5, oldHash: 'x', newHash: 'y' })
  })

  test('an unresolved dispute remembers nothing and reports no reorg', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 5: 'x' }, b: { 5: 'y' } })
    const round = await watch.check({ head: 5, maxLagBlocks: 1, candidates: [c('a', 5), c('b', 5)], hashAt: view.hashAt })
    expect(round?.verdict.canonical).toBeUndefined()
    expect(watch.remembered(5)).toBeUndefined()
  })

  test('an unresolved dispute says where the disputing nodes last agreed, checked on them, not assumed', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 10: 'x10', 11: 'x11', 12: 'x12' }, b: { 10: 'x10', 11: 'y11', 12: 'y12' } })
    const round = (head: number) => watch.check({ head, maxLagBlocks: 1, candidates: [c('a', head), c('b', head)], hashAt: view.hashAt })
    // Both agree at 10 (remembered); b mines its own 11 and 12: the dispute at 12 split above 10.
    view.set('b', 10, 'x10')
    expect((await round(10))?.verdict.canonical).toBe('x10')
    const disputed = await round(12)
    expect(disputed?.verdict.canonical).toBeUndefined()
    expect(disputed?.agreedAt).toBe(10)
    // When the nodes differ at the remembered height too, the split is deeper than anything known.
    view.set('b', 10, 'y10')
    expect((await round(12))?.agreedAt).toBeUndefined()
    // Nothing remembered: not known.
    const fresh = new ForkWatch()
    expect((await fresh.check({ head: 12, maxLagBlocks: 1, candidates: [c('a', 12), c('b', 12)], hashAt: view.hashAt }))?.agreedAt).toBeUndefined()
  })

  test('fewer than 2 hashes: nothing compared, nothing decided (one node cannot vouch for itself)', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 5: 'x' }, b: {}, c: {} })
    expect(await watch.check({ head: 5, maxLagBlocks: 1, candidates: [c('a', 5), c('b', 5), c('c', 5)], hashAt: view.hashAt })).toBeUndefined()
    expect(watch.remembered(5)).toBeUndefined()
  })

  test('the head is compared too when a node lags within range: every node is verified where its hash matched', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 11: 'x11', 12: 'x12' }, b: { 11: 'x11', 12: 'x12' }, c: { 11: 'x11' } })
    const round = await watch.check({ head: 12, maxLagBlocks: 2, candidates: [c('a', 12), c('b', 12), c('c', 11)], hashAt: view.hashAt })
    expect(round?.verdict).toMatchObject({ height: 11, canonical: 'x11' })
    expect(round?.verified).toEqual(new Map([['a', 12], ['b', 12], ['c', 11]]))
    expect(watch.remembered(12)).toBe('x12')
  })

  test('forked at the head but not below: forked, and the head verdict is the one reported', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 11: 'x11', 12: 'x12' }, b: { 11: 'x11', 12: 'x12' }, c: { 11: 'x11', 12: 'y12' }, d: { 11: 'x11' } })
    const round = await watch.check({ head: 12, maxLagBlocks: 2, candidates: [c('a', 12), c('b', 12), c('c', 12), c('d', 11)], hashAt: view.hashAt })
    expect([...round!.verdict.forked.keys()]).toEqual(['c'])
    expect(round?.verdict).toMatchObject({ height: 12, canonical: 'x12', agreeing: ['a', 'b'] })
    expect(round?.verified).toEqual(new Map([['a', 12], ['b', 12], ['d', 11]]))
  })

  test('disputed at the head with no majority: the dispute is reported, agreed just below', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 11: 'x11', 12: 'x12' }, b: { 11: 'x11', 12: 'y12' }, c: { 11: 'x11' } })
    const round = await watch.check({ head: 12, maxLagBlocks: 2, candidates: [c('a', 12), c('b', 12), c('c', 11)], hashAt: view.hashAt })
    expect(round?.verdict).toMatchObject({ height: 12, canonical: undefined })
    expect(round?.agreedAt).toBe(11)
    expect(round?.verified).toEqual(new Map([['a', 11], ['b', 11], ['c', 11]]))
  })

  test('chainwork settles a split only when every node asked answered, and never at the head', async () => {
    // c mined alone and is a block ahead (more work); a's look-up at the compared height timed out.
    const view = chains({ a: {}, b: { 11: 'x11' }, c: { 11: 'y11', 12: 'y12' } })
    const candidates = [c('a', 11, '0a'), c('b', 11, '0a'), c('c', 12, '0b')]
    const silent = await new ForkWatch().check({ head: 11, maxLagBlocks: 2, candidates, hashAt: view.hashAt })
    expect(silent?.verdict).toMatchObject({ canonical: undefined, forked: new Map() })
    view.set('a', 11, 'x11')
    const heard = await new ForkWatch().check({ head: 11, maxLagBlocks: 2, candidates, hashAt: view.hashAt })
    expect(heard?.verdict).toMatchObject({ canonical: 'x11', decidedBy: 'majority' })
    // At the head only the nodes there are asked: one against one stays unresolved, work or not.
    const atHead = chains({ a: { 11: 'x11', 12: 'x12' }, b: { 11: 'x11' }, c: { 11: 'x11', 12: 'y12' } })
    const head = await new ForkWatch().check({ head: 12, maxLagBlocks: 2, candidates: [c('a', 12, '0a'), c('b', 11, '09'), c('c', 12, '0b')], hashAt: atHead.hashAt })
    expect(head?.verdict).toMatchObject({ height: 12, canonical: undefined })
  })

  test('a node that could not tell its hash is not verified; the others are', async () => {
    const watch = new ForkWatch()
    const view = chains({ a: { 12: 'x12' }, b: { 12: 'x12' }, c: {} })
    const round = await watch.check({ head: 12, maxLagBlocks: 1, candidates: [c('a', 12), c('b', 12), c('c', 12)], hashAt: view.hashAt })
    expect(round?.verdict.unknown).toEqual(['c'])
    expect(round?.verified).toEqual(new Map([['a', 12], ['b', 12]]))
  })

  test('memory is bounded to the most recent heights', async () => {
    const watch = new ForkWatch(3)
    const hashes = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [i, `h${i}`]))
    const view = chains({ a: hashes, b: hashes })
    for (let height = 0; height < 6; height++) await watch.check({ head: height, maxLagBlocks: 0, candidates: [c('a', height), c('b', height)], hashAt: view.hashAt })
    expect([0, 1, 2].map((height) => watch.remembered(height))).toEqual([undefined, undefined, undefined])
    expect([3, 4, 5].map((height) => watch.remembered(height))).toEqual(['h3', 'h4', 'h5'])
  })
})
