import { describe, expect, test } from 'vitest'
import type { MissingCapability, ReadRequirement } from '../chain-adapter.js'
import { type NodeStatus, initialHealth } from '../pool/node-health.js'
import type { NodeCapabilities, PoolNode } from '../pool/node-pool.js'
import { capabilityFilter, remainingCandidates, retryFilter } from './capability-filter.js'

type TestNode = Pick<PoolNode, 'health' | 'capabilities'> & { id: string }

function node(id: string, capabilities: Partial<NodeCapabilities> = {}, status: NodeStatus = 'healthy', height = 1_000): TestNode {
  return {
    id,
    health: { ...initialHealth(0), status, height },
    capabilities: { pruned: undefined, pruneHeight: undefined, txindex: undefined, archive: undefined, stateMissingBelow: undefined, ...capabilities },
  }
}

const HEAD = 1_000
const ids = (nodes: TestNode[], filter: ((node: TestNode) => boolean) | undefined): string[] | 'any' =>
  filter === undefined ? 'any' : nodes.filter(filter).map((entry) => entry.id)

describe('capabilityFilter', () => {
  const full = node('full')
  const recent = node('recent', { archive: false, stateMissingBelow: 900 })
  const archive = node('archive', { archive: true })
  const prunedAt500 = node('pruned-500', { pruned: true, pruneHeight: 500 })
  const prunedUnknown = node('pruned-?', { pruned: true })
  const unpruned = node('unpruned', { pruned: false })
  const txindex = node('txindex', { txindex: true })
  const noIndex = node('no-index', { txindex: false })
  const downArchive = node('down-archive', { archive: true }, 'down')

  test.each<[string, ReadRequirement | undefined, TestNode[], string[] | 'any']>([
    ['no requirement: no preference', undefined, [full, recent], 'any'],
    ['recent state: nodes that keep it', { kind: 'state', height: 950 }, [full, recent, archive], ['full', 'recent', 'archive']],
    ['state below a node’s floor avoids it', { kind: 'state', height: 899 }, [full, recent], ['full']],
    ['state at the floor is served', { kind: 'state', height: 900 }, [recent], ['recent']],
    ['state older than 128 blocks: archive first', { kind: 'state', height: 850 }, [full, recent, archive], ['archive']],
    ['old state, no archive node: any that has it', { kind: 'state', height: 850 }, [full, recent], ['full']],
    ['old state, the archive node is down: others', { kind: 'state', height: 850 }, [full, downArchive], ['full', 'down-archive']],
    ['nobody has that state: no preference (they answer for themselves)', { kind: 'state', height: 10 }, [recent], 'any'],
    ['block above the prune height', { kind: 'block', height: 600 }, [prunedAt500, unpruned, full], ['pruned-500', 'unpruned', 'full']],
    ['block below the prune height', { kind: 'block', height: 499 }, [prunedAt500, unpruned, full, prunedUnknown], ['unpruned', 'full']],
    ['pruned with an unknown prune height cannot be trusted with old blocks', { kind: 'block', height: 999 }, [prunedUnknown, full], ['full']],
    ['every node pruned below: no preference', { kind: 'block', height: 1 }, [prunedAt500], 'any'],
    ['txindex nodes when any', { kind: 'txindex' }, [txindex, noIndex, full], ['txindex']],
    ['no txindex node: any', { kind: 'txindex' }, [noIndex, full], 'any'],
  ])('%s', (_name, requirement, nodes, expected) => {
    expect(ids(nodes, capabilityFilter(requirement, nodes, new Set(), HEAD))).toEqual(expected)
  })

  test('nodes already asked do not count as candidates for a tier', () => {
    const nodes = [txindex, noIndex]
    expect(ids(nodes, capabilityFilter({ kind: 'txindex' }, nodes, new Set([txindex]), HEAD))).toBe('any')
  })

  test('before the first probe round (no head) state is never "old"', () => {
    const nodes = [full, archive]
    expect(ids(nodes, capabilityFilter({ kind: 'state', height: 1 }, nodes, new Set(), undefined))).toEqual(['full', 'archive'])
  })
})

describe('retryFilter after a node said it lacks a capability', () => {
  const pruned = node('pruned', { pruned: true, pruneHeight: 500 })
  const unknown = node('unknown')
  const unpruned = node('unpruned', { pruned: false })
  const txindex = node('txindex', { txindex: true })
  const noIndex = node('no-index', { txindex: false })
  const recent = node('recent', { stateMissingBelow: 900 })

  test.each<[string, MissingCapability, ReadRequirement | undefined, TestNode[], string[] | 'any']>([
    ['pruned: nodes not known to be pruned', 'pruned', undefined, [pruned, unknown, unpruned], ['unknown', 'unpruned']],
    ['txindex: txindex nodes first', 'txindex', { kind: 'txindex' }, [txindex, noIndex, unknown], ['txindex']],
    ['txindex: else nodes not known to lack it', 'txindex', { kind: 'txindex' }, [noIndex, unknown], ['unknown']],
    ['state: nodes that keep state there', 'state', { kind: 'state', height: 10 }, [recent, unknown], ['unknown']],
    ['state without a known height: any other', 'state', undefined, [recent, unknown], 'any'],
  ])('%s', (_name, missing, requirement, nodes, expected) => {
    expect(ids(nodes, retryFilter(missing, requirement, nodes, new Set(), HEAD))).toEqual(expected)
  })
})

test('remainingCandidates counts routable nodes not yet asked', () => {
  const a = node('a')
  const b = node('b')
  const c = node('c', {}, 'lagging')
  expect(remainingCandidates([a, b, c], new Set([a]))).toBe(1)
  expect(remainingCandidates([a, b, c], new Set(), (entry) => entry.id === 'a')).toBe(1)
})
