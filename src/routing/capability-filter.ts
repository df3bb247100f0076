/**
 * Capability routing: which nodes can serve a read that needs more than the head (old EVM state,
 * unpruned bitcoin blocks, a -txindex), as preference tiers over the router's candidates. Pure:
 * node capabilities in (probed by the pool, or learned from "missing state" answers), a filter out.
 *
 * | requirement | tiers (first with a candidate wins; none → no filter) |
 * |---|---|
 * | EVM state at h, h < head − 128 | archive nodes that have state at h · nodes that have state at h |
 * | EVM state at h, recent | nodes that have state at h (`stateMissingBelow` unset or ≤ h) |
 * | bitcoin block data at h | nodes not pruned, or pruned with `pruneHeight` ≤ h |
 * | bitcoin tx by txid alone | nodes with `txindex` true |
 * After a node answered "I lack it" (`missingCapability`), the retry goes to:
 * | lacks | tiers |
 * |---|---|
 * | state | as for the requirement above |
 * | pruned | nodes not known to be pruned |
 * | txindex | nodes with `txindex` true · nodes not known to lack it |
 * "No filter" when no tier has a candidate: capabilities are learned or probed and may be stale or
 * unknown, and a node asked anyway answers the truth for itself.
 */
import type { MissingCapability, ReadRequirement } from '../chain-adapter.js'
import { isRoutable } from '../pool/node-health.js'
import type { PoolNode } from '../pool/node-pool.js'

/** State older than this many blocks below the head goes to archive nodes first (geth keeps 128 recent states). */
export const ARCHIVE_DEPTH_BLOCKS = 128

type Node = Pick<PoolNode, 'health' | 'capabilities'>
type Predicate = (node: Node) => boolean

const hasStateAt =
  (height: number): Predicate =>
  (node) =>
    node.capabilities.stateMissingBelow === undefined || height >= node.capabilities.stateMissingBelow

const hasBlockAt =
  (height: number): Predicate =>
  (node) =>
    node.capabilities.pruned !== true || (node.capabilities.pruneHeight !== undefined && height >= node.capabilities.pruneHeight)

function requirementTiers(requirement: ReadRequirement | undefined, head: number | undefined): Predicate[] {
  if (requirement === undefined) return []
  switch (requirement.kind) {
    case 'state': {
      const hasState = hasStateAt(requirement.height)
      const old = head !== undefined && requirement.height < head - ARCHIVE_DEPTH_BLOCKS
      return old ? [(node) => node.capabilities.archive === true && hasState(node), hasState] : [hasState]
    }
    case 'block':
      return [hasBlockAt(requirement.height)]
    case 'txindex':
      return [(node) => node.capabilities.txindex === true]
  }
}

function retryTiers(missing: MissingCapability, requirement: ReadRequirement | undefined, head: number | undefined): Predicate[] {
  switch (missing) {
    case 'state':
      return requirement?.kind === 'state' ? requirementTiers(requirement, head) : []
    case 'pruned':
      return [(node) => node.capabilities.pruned !== true]
    case 'txindex':
      return [(node) => node.capabilities.txindex === true, (node) => node.capabilities.txindex !== false]
  }
}

/** The first tier that leaves a routable, not yet asked node; undefined when none does (no filter). */
export function firstTierWithCandidates<T extends Node>(nodes: readonly T[], exclude: ReadonlySet<T>, tiers: readonly Predicate[]): ((node: T) => boolean) | undefined {
  for (const tier of tiers) {
    if (nodes.some((node) => isRoutable(node.health) && !exclude.has(node) && tier(node))) return tier
  }
  return undefined
}

/** The router filter for a call's requirement (see the table above); undefined: no preference. */
export function capabilityFilter<T extends Node>(
  requirement: ReadRequirement | undefined,
  nodes: readonly T[],
  exclude: ReadonlySet<T>,
  head: number | undefined,
): ((node: T) => boolean) | undefined {
  return firstTierWithCandidates(nodes, exclude, requirementTiers(requirement, head))
}

/** The router filter for asking again after a node said it lacks `missing`; undefined: any other node. */
export function retryFilter<T extends Node>(
  missing: MissingCapability,
  requirement: ReadRequirement | undefined,
  nodes: readonly T[],
  exclude: ReadonlySet<T>,
  head: number | undefined,
): ((node: T) => boolean) | undefined {
  return firstTierWithCandidates(nodes, exclude, retryTiers(missing, requirement, head))
}

/** Routable nodes not yet asked (and passing `filter`, if any). */
export function remainingCandidates<T extends Node>(nodes: readonly T[], exclude: ReadonlySet<T>, filter?: (node: T) => boolean): number {
  return nodes.filter((node) => isRoutable(node.health) && !exclude.has(node) && (filter === undefined || filter(node))).length
}
