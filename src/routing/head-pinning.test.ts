import { expect, test } from 'vitest'
import { type NodeStatus, initialHealth } from '../pool/node-health.js'
import { pinnableHeight } from './head-pinning.js'

const node = (height: number | undefined, status: NodeStatus = 'healthy') => ({ health: { ...initialHealth(0), status, height } })

test.each<[string, ReturnType<typeof node>[], number | undefined, number | undefined]>([
  ['a routable node has the read head', [node(10), node(9)], 10, 10],
  ['a routable node is above it', [node(11), node(9)], 10, 10],
  ['before the first probe round', [node(10)], undefined, undefined],
  ['the nodes holding it left routing: route as it came', [node(10, 'down'), node(9)], 10, undefined],
  ['no height known', [node(undefined)], 10, undefined],
])('%s', (_name, nodes, readHead, expected) => {
  expect(pinnableHeight(nodes, readHead)).toBe(expected)
})
