/**
 * Which nodes may serve a call, and which one serves the next attempt. One rule set for two uses:
 * `selectCandidates` lists the candidates (broadcasts, rebroadcasts, tests), and `NodeChooser` picks
 * the router's node for an attempt in one pass over the pool, with nothing allocated per attempt
 * (the hot path: every request's every attempt). Before, an attempt built the candidate list, then
 * filtered it for free in-flight slots and for provider quota, then scored it: three arrays and a
 * score array per attempt.
 *
 * Candidates come in preference tiers:
 * - explicit height N: routable nodes at or above N; if none has N yet, the at-head nodes (their
 *   "not yet" is the truth, a lagging node's would not be);
 * - otherwise: routable nodes at the pool head, else any routable node (all are within maxLagBlocks).
 * `heightOf` is the height a node may serve up to (`pool.servableHeight`: no higher than where its
 * block hash was verified); a node that holds height N but is not verified there is never asked
 * for N, in any tier: its block there may be another branch's.
 * The tier is chosen before in-flight slots and quota are looked at: a busy or over-quota best tier
 * is an overload or quota answer, not a reason to ask a node below it.
 */
import { isRoutable } from '../pool/node-health.js'
import type { PoolNode } from '../pool/node-pool.js'

export interface CandidateRules {
  head: number | undefined
  minHeight: number | undefined
  /** Nodes already asked for this call. */
  tried: ReadonlySet<PoolNode>
  /** Only nodes at the head (broadcast-grade freshness). */
  atHeadOnly: boolean
  filter: ((node: PoolNode) => boolean) | undefined
  heightOf: (node: PoolNode) => number
}

/** Tier bits of a candidate: every candidate is ANY; AT_HEAD and HIGH as in the header. */
const ANY = 1
const AT_HEAD = 2
const HIGH = 4
const TIERS = 3
const TALLY_WIDTH = 4
/** Where a tier bit's counts start in the survey's tally. */
const tallyAt = (tier: number): number => Math.log2(tier) * TALLY_WIDTH
/** Adds one candidate to the tier whose counts start at `at`. */
function count(tally: Float64Array, at: number, free: boolean, allowed: boolean, score: number): void {
  tally[at]! += 1
  if (free) tally[at + 1]! += 1
  if (!allowed) return
  tally[at + 2]! += 1
  tally[at + 3]! += score
}
/** Survey bits: below the in-flight bound; and also allowed by its quota. */
const FREE = 8
const ALLOWED = 16

/** The height a node reports, -1 when unknown. */
export function reportedHeight(node: PoolNode): number {
  return node.health.height ?? -1
}

/** The tiers `node` is a candidate in; 0 when it is none. */
function candidateTiers(node: PoolNode, rules: CandidateRules): number {
  if (!isRoutable(node.health) || rules.tried.has(node) || (rules.filter !== undefined && !rules.filter(node))) return 0
  const { head, minHeight } = rules
  const height = rules.heightOf(node)
  if (minHeight !== undefined && height < minHeight && reportedHeight(node) >= minHeight) return 0
  let tiers = ANY
  if (head === undefined || height >= head) tiers |= AT_HEAD
  if (minHeight !== undefined && height >= minHeight) tiers |= HIGH
  return tiers
}

/** The tier that serves, from how many candidates the higher tiers have. */
function servingTier(rules: CandidateRules, atHead: number, high: number): number {
  if (rules.atHeadOnly) return AT_HEAD
  if (rules.minHeight !== undefined && high > 0) return HIGH
  return atHead > 0 ? AT_HEAD : ANY
}

/** The candidates of the serving tier, in pool order. Defaults: any height, none tried, any tier, reported heights. */
export function selectCandidates(nodes: readonly PoolNode[], given: Partial<CandidateRules> & Pick<CandidateRules, 'head'>): PoolNode[] {
  const rules: CandidateRules = { minHeight: undefined, tried: new Set(), atHeadOnly: false, filter: undefined, heightOf: reportedHeight, ...given }
  const tiers = nodes.map((node) => candidateTiers(node, rules))
  const count = (bit: number) => tiers.filter((mask) => (mask & bit) !== 0).length
  const tier = servingTier(rules, count(AT_HEAD), count(HIGH))
  return nodes.filter((_, index) => ((tiers[index] as number) & tier) !== 0)
}

export interface ChoiceLimits {
  /** A node with this many calls in flight is skipped (routing.maxInFlightPerNode). */
  maxInFlight: number
  /** The node's provider quota allows one more call; undefined: no node has a quota. */
  allows: ((node: PoolNode) => boolean) | undefined
  /** The node's routing score (higher: more traffic). */
  score: (node: PoolNode) => number
}

/**
 * One router's node choice: `survey()` walks the pool once and counts the serving tier's
 * candidates, free ones and allowed ones; `pick()` then chooses among the allowed ones in
 * proportion to their scores (as `pickWeighted` does over the same list, random draws included).
 * The scratch it keeps between the two is the chooser's own, so `pick()` must follow its
 * `survey()` with no await between (the router does both in one synchronous step).
 */
export class NodeChooser {
  /** Per pool index: tier and survey bits of the last survey. */
  readonly #marks: number[] = []
  /** Per pool index: score of each allowed node of the last survey (0 for the others). */
  readonly #scores: number[] = []
  /** Per tier (ANY, AT_HEAD, HIGH): candidates, free, allowed, and the allowed nodes' score sum. */
  readonly #tally = new Float64Array(TIERS * TALLY_WIDTH)
  #nodes: readonly PoolNode[] = []
  #tier = ANY
  #candidates = 0
  #free = 0
  #allowed = 0
  #scoreSum = 0

  /** Candidates in the serving tier (busy or not). */
  get candidates(): number {
    return this.#candidates
  }

  /** Of those, below the in-flight bound. */
  get free(): number {
    return this.#free
  }

  /** Of those, also allowed by their quota: the nodes `pick()` chooses from. */
  get allowed(): number {
    return this.#allowed
  }

  /** Counts the candidates for an attempt; read the counts, then `pick()`. */
  survey(nodes: readonly PoolNode[], rules: CandidateRules, limits: ChoiceLimits): void {
    const marks = this.#marks
    const scores = this.#scores
    const tally = this.#tally
    tally.fill(0)
    for (let index = 0; index < nodes.length; index++) {
      const node = nodes[index] as PoolNode
      let mark = candidateTiers(node, rules)
      let score = 0
      if (mark !== 0) {
        const free = node.inFlight < limits.maxInFlight
        const allowed = free && (limits.allows === undefined || limits.allows(node))
        if (free) mark |= FREE
        if (allowed) {
          mark |= ALLOWED
          score = Math.max(0, limits.score(node))
        }
        // Every tier the node is in counts it, so one pass serves whichever tier is chosen.
        count(tally, 0, free, allowed, score)
        if ((mark & AT_HEAD) !== 0) count(tally, TALLY_WIDTH, free, allowed, score)
        if ((mark & HIGH) !== 0) count(tally, 2 * TALLY_WIDTH, free, allowed, score)
      }
      marks[index] = mark
      scores[index] = score
    }
    this.#nodes = nodes
    this.#tier = servingTier(rules, tally[tallyAt(AT_HEAD)] as number, tally[tallyAt(HIGH)] as number)
    const at = tallyAt(this.#tier)
    this.#candidates = tally[at] as number
    this.#free = tally[at + 1] as number
    this.#allowed = tally[at + 2] as number
    this.#scoreSum = tally[at + 3] as number
  }

  /**
   * One of the allowed nodes of the last survey, at random in proportion to its score (a node
   * scoring 0 only when every one does); undefined when none is allowed. Draws `random` as
   * `pickWeighted` does: not at all for one node, once otherwise.
   */
  pick(random: () => number): PoolNode | undefined {
    const count = this.#allowed
    if (count === 0) return undefined
    const wanted = this.#tier | ALLOWED
    const marks = this.#marks
    const scores = this.#scores
    const nodes = this.#nodes
    if (count === 1) return this.#nth(0)
    if (this.#scoreSum === 0) return this.#nth(Math.floor(random() * count))
    let point = random() * this.#scoreSum
    let lastPositive = -1
    for (let index = 0; index < nodes.length; index++) {
      if (((marks[index] as number) & wanted) !== wanted) continue
      const score = scores[index] as number
      point -= score
      if (point < 0 && score > 0) return nodes[index]
      if (score > 0) lastPositive = index
    }
    // Floating-point leftovers: the last candidate with a positive score.
    return lastPositive >= 0 ? nodes[lastPositive] : this.#nth(0)
  }

  /** The serving tier's free nodes of the last survey (all of them over quota when none is allowed). */
  freeNodes(): PoolNode[] {
    const wanted = this.#tier | FREE
    return this.#nodes.filter((_, index) => ((this.#marks[index] as number) & wanted) === wanted)
  }

  /** The `n`-th allowed node of the last survey, in pool order. */
  #nth(n: number): PoolNode | undefined {
    const wanted = this.#tier | ALLOWED
    let seen = 0
    for (let index = 0; index < this.#nodes.length; index++) {
      if (((this.#marks[index] as number) & wanted) !== wanted) continue
      if (seen === n) return this.#nodes[index]
      seen += 1
    }
    return undefined
  }
}
