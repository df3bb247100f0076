/**
 * Fork quarantine: each probe round compares block hashes at one recent common height across the
 * nodes that answered, and names the canonical chain. Pure decisions (`forkCheckHeight`,
 * `judgeForks`) plus `ForkWatch`, which does the round's hash look-ups through an injected
 * `hashAt` and remembers the canonical hash per height to see reorgs.
 *
 * - The height: the lowest height among nodes within `maxLagBlocks` of the pool head (so every
 *   in-sync node has that block), asked of every node at or above it, including nodes `ahead`.
 * - A strict majority of the nodes that gave a hash is canonical; the rest are forked. Without a
 *   majority, bitcoin nodes' `chainwork` may decide (the group with strictly the most work) at the
 *   lowest compared height when every node asked there answered, never at the head; else
 *   the dispute stays unresolved: nobody is ejected, reads from that height need agreeing nodes.
 * - When the pool head is above that height and at least 2 nodes are at it, the head is compared
 *   too, among the nodes at or above it: the read head may only reach a height whose block was
 *   compared (see `NodePool.readHead`), so without this a single lagging node would hold every
 *   read one block behind. A node forked at either height is forked.
 * - A node that could not tell (error, timeout, no such block) is in no group and keeps its state,
 *   but is not verified at that height (`ForkRound.verified`); with fewer than 2 hashes there is
 *   nothing to compare and the round changes nothing.
 * - Reorg: the canonical hash at a height remembered from an earlier round changed. The lowest
 *   remembered height whose hash changed is reported (the proxy cannot know blocks it never saw).
 *   Heights the chain passed between two rounds are filled in from the canonical nodes (at most
 *   `GAP_FILL_LIMIT` per round), so the reported height is the fork point, not the next compared one.
 * - A candidate's `headHash` (the hash its probe reported with its height, e.g. getblockchaininfo's
 *   bestblockhash) stands for the look-up at its own height: with every node at the head, a round
 *   needs no look-up at all. At any other height the node is asked.
 */

/** Heights below the compared one whose hashes are fetched per round to close a gap in memory. */
export const GAP_FILL_LIMIT = 32

export interface ForkCandidate {
  nodeId: string
  height: number
  /** Bitcoin: the node's tip chainwork (hex), for a dispute without a majority. */
  chainwork?: string | undefined
  /** The hash of its block at `height`, as its probe reported it; undefined: look it up. */
  headHash?: string | undefined
}

/** The height to compare this round and the nodes to ask; undefined when fewer than 2 can be compared. */
export function forkCheckHeight(
  candidates: readonly ForkCandidate[],
  head: number | undefined,
  maxLagBlocks: number,
): { height: number; nodeIds: string[] } | undefined {
  if (head === undefined) return undefined
  const inRange = candidates.filter((candidate) => Math.abs(candidate.height - head) <= maxLagBlocks)
  if (inRange.length === 0) return undefined
  const height = Math.min(...inRange.map((candidate) => candidate.height))
  const nodeIds = candidates.filter((candidate) => candidate.height >= height).map((candidate) => candidate.nodeId)
  return nodeIds.length >= 2 ? { height, nodeIds } : undefined
}

/**
 * The nodes to compare at the pool head as well, when it is above the lowest compared height and at
 * least 2 nodes have it; undefined otherwise.
 */
export function headCheckNodes(candidates: readonly ForkCandidate[], head: number | undefined, compared: number): string[] | undefined {
  if (head === undefined || head <= compared) return undefined
  const nodeIds = candidates.filter((candidate) => candidate.height >= head).map((candidate) => candidate.nodeId)
  return nodeIds.length >= 2 ? nodeIds : undefined
}

export interface HashReport {
  nodeId: string
  /** undefined: the node could not tell. */
  hash: string | undefined
  chainwork?: string | undefined
}

export interface ForkGroup {
  hash: string
  nodes: string[]
}

export interface ForkVerdict {
  height: number
  /** Nodes by the hash they gave, largest group first (ties: by hash). */
  groups: ForkGroup[]
  /** The canonical group's hash; undefined when nobody could decide. */
  canonical: string | undefined
  /** How `canonical` was decided: every node agreed, a strict majority, or bitcoin's most work. */
  decidedBy: 'unanimous' | 'majority' | 'chainwork' | undefined
  /** Nodes off the canonical chain, with the reason for people. Empty when unresolved. */
  forked: Map<string, string>
  /** Nodes on the canonical chain (they agree again if they were forked). */
  agreeing: string[]
  /** Nodes that gave no hash. */
  unknown: string[]
}

/**
 * `chainwork: false`: a dispute without a majority stays unresolved whatever the nodes' work. Tip
 * chainwork compares whole chains, so it only settles a split when every node asked answered: with
 * a node silent (its look-up timed out) a node that is merely ahead, or mining alone on a
 * partition, would out-work one the silent majority would have backed.
 */
export function judgeForks(height: number, reports: readonly HashReport[], options: { chainwork?: boolean } = {}): ForkVerdict {
  const byHash = new Map<string, ForkGroup & { work: bigint | undefined; workKnown: boolean }>()
  const unknown: string[] = []
  for (const report of reports) {
    if (report.hash === undefined) {
      unknown.push(report.nodeId)
      continue
    }
    const hash = report.hash.toLowerCase()
    const group = byHash.get(hash) ?? { hash, nodes: [], work: undefined, workKnown: false }
    group.nodes.push(report.nodeId)
    const work = parseWork(report.chainwork)
    if (work !== undefined) {
      group.workKnown = true
      if (group.work === undefined || work > group.work) group.work = work
    }
    byHash.set(hash, group)
  }
  const all = [...byHash.values()].sort((a, b) => b.nodes.length - a.nodes.length || (a.hash < b.hash ? -1 : 1))
  const groups = all.map(({ hash, nodes }) => ({ hash, nodes }))
  const answered = all.reduce((sum, group) => sum + group.nodes.length, 0)
  const base = { height, groups, unknown }
  if (all.length === 0) return { ...base, canonical: undefined, decidedBy: undefined, forked: new Map(), agreeing: [] }
  if (all.length === 1) return { ...base, canonical: all[0]!.hash, decidedBy: 'unanimous', forked: new Map(), agreeing: [...all[0]!.nodes] }

  let canonical: (typeof all)[number] | undefined
  let decidedBy: ForkVerdict['decidedBy']
  let basis: string
  if (all[0]!.nodes.length * 2 > answered) {
    canonical = all[0]
    decidedBy = 'majority'
    basis = `the majority (${canonical!.nodes.length} of ${answered} nodes)`
  } else if (options.chainwork !== false && unknown.length === 0 && all.every((group) => group.workKnown)) {
    const byWork = [...all].sort((a, b) => (a.work! > b.work! ? -1 : a.work! < b.work! ? 1 : 0))
    if (byWork[0]!.work! > byWork[1]!.work!) {
      canonical = byWork[0]
      decidedBy = 'chainwork'
      basis = `the chain with the most work (${canonical!.nodes.join(', ')})`
    }
  }
  if (canonical === undefined) return { ...base, canonical: undefined, decidedBy: undefined, forked: new Map(), agreeing: [] }
  const forked = new Map<string, string>()
  for (const group of all) {
    if (group === canonical) continue
    for (const nodeId of group.nodes) forked.set(nodeId, `block ${height} is ${shortHash(group.hash)} here, ${shortHash(canonical.hash)} on ${basis!}`)
  }
  return { ...base, canonical: canonical.hash, decidedBy, forked, agreeing: [...canonical.nodes] }
}

export interface Reorg {
  /** Lowest remembered height whose canonical hash changed. */
  height: number
  oldHash: string
  newHash: string
}

export interface ForkRound {
  verdict: ForkVerdict
  reorg: Reorg | undefined
  /**
   * Unresolved disputes only: the highest remembered canonical height below the disputed one at
   * which every node that answered still has the remembered block. The branches split above it,
   * so reads up to it are safe and reads above it need agreeing nodes. undefined: not known
   * (nothing remembered, or the nodes differ there too: the split is deeper).
   */
  agreedAt?: number | undefined
  /**
   * Per node, the highest height compared this round where its hash was the canonical one. A node
   * absent here (no hash, or forked) was not verified this round.
   */
  verified?: ReadonlyMap<string, number> | undefined
}

export interface ForkCheckInput {
  head: number | undefined
  maxLagBlocks: number
  /** Nodes that answered this round's probe (wrong-chain and cordoned nodes left out). */
  candidates: readonly ForkCandidate[]
  /** Block hash at `height` on the node; undefined when it cannot tell. Never throws. */
  hashAt(nodeId: string, height: number): Promise<string | undefined>
}

/** Remembers the canonical hash of the last `limit` compared heights of one chain. */
export class ForkWatch {
  readonly #memory = new Map<number, string>()
  readonly #limit: number

  constructor(limit = 128) {
    this.#limit = limit
  }

  /** One round: compare, decide, and look for a reorg of the canonical chain. undefined: nothing to compare. */
  async check(input: ForkCheckInput): Promise<ForkRound | undefined> {
    const plan = forkCheckHeight(input.candidates, input.head, input.maxLagBlocks)
    if (plan === undefined) return undefined
    const probed = new Map(input.candidates.map((candidate) => [candidate.nodeId, candidate]))
    const hashAt = (nodeId: string, height: number): Promise<string | undefined> => {
      const candidate = probed.get(nodeId)
      return candidate?.headHash !== undefined && candidate.height === height ? Promise.resolve(candidate.headHash) : input.hashAt(nodeId, height)
    }
    const atHead = headCheckNodes(input.candidates, input.head, plan.height)
    const work = new Map(input.candidates.map((candidate) => [candidate.nodeId, candidate.chainwork]))
    const reportsAt = (height: number, nodeIds: readonly string[]) =>
      Promise.all(nodeIds.map(async (nodeId) => ({ nodeId, hash: normalize(await hashAt(nodeId, height)), chainwork: work.get(nodeId) })))
    const [reports, headReports] = await Promise.all([reportsAt(plan.height, plan.nodeIds), atHead === undefined ? undefined : reportsAt(input.head!, atHead)])
    // One node's word is no comparison: it neither clears its own fork nor starts a dispute.
    if (answered(reports) < 2) return undefined
    const verdict = judgeForks(plan.height, reports)
    if (verdict.canonical === undefined) {
      return { verdict, reorg: undefined, agreedAt: await this.#agreedBelow(plan.height, reports, hashAt), verified: new Map() }
    }
    const reorg = await this.#findReorg(plan.height, verdict.canonical, verdict.agreeing, hashAt)
    await this.#fillGap(plan.height, verdict.agreeing, hashAt)
    this.#remember(plan.height, verdict.canonical)
    const verified = new Map(verdict.agreeing.map((nodeId) => [nodeId, plan.height]))
    if (headReports === undefined || answered(headReports) < 2) return { verdict, reorg, verified }
    // Only the nodes at the head are asked there: work against the ones below it is no evidence.
    const headVerdict = judgeForks(input.head!, headReports, { chainwork: false })
    if (headVerdict.canonical === undefined) {
      // Agreed below, disputed at the head: the dispute is the news (when the lower height was
      // unanimous), and reads above the agreed height need agreeing nodes.
      if (verdict.groups.length > 1) return { verdict, reorg, verified }
      return { verdict: headVerdict, reorg, agreedAt: await this.#agreedBelow(input.head!, headReports, hashAt), verified }
    }
    await this.#fillGap(input.head!, headVerdict.agreeing, hashAt)
    this.#remember(input.head!, headVerdict.canonical)
    for (const nodeId of headVerdict.agreeing) if (!verdict.forked.has(nodeId)) verified.set(nodeId, input.head!)
    if (headVerdict.forked.size === 0) return { verdict, reorg, verified }
    // Forked at the head: forked, whatever it said lower down.
    const forked = new Map([...verdict.forked, ...headVerdict.forked])
    for (const nodeId of headVerdict.forked.keys()) verified.delete(nodeId)
    const primary = verdict.forked.size > 0 ? verdict : headVerdict
    return { verdict: { ...primary, forked, agreeing: primary.agreeing.filter((nodeId) => !forked.has(nodeId)) }, reorg, verified }
  }

  /** The highest remembered height below `height` where every node that answered has the remembered block. */
  async #agreedBelow(height: number, reports: readonly HashReport[], hashAt: ForkCheckInput['hashAt']): Promise<number | undefined> {
    const below = [...this.#memory.keys()].filter((remembered) => remembered < height)
    if (below.length === 0) return undefined
    const at = Math.max(...below)
    const nodes = reports.filter((report) => report.hash !== undefined).map((report) => report.nodeId)
    const hashes = await Promise.all(nodes.map(async (nodeId) => normalize(await hashAt(nodeId, at))))
    return hashes.every((hash) => hash === this.#memory.get(at)) ? at : undefined
  }

  /** Remembered canonical hash at `height`, if any (for tests). */
  remembered(height: number): string | undefined {
    return this.#memory.get(height)
  }

  async #findReorg(height: number, canonical: string, nodes: readonly string[], hashAt: ForkCheckInput['hashAt']): Promise<Reorg | undefined> {
    const before = this.#memory.get(height)
    if (before === canonical) return undefined
    let reorg: Reorg | undefined = before === undefined ? undefined : { height, oldHash: before, newHash: canonical }
    // Walk down the remembered heights while the canonical nodes' hash there changed too.
    const lower = [...this.#memory.keys()].filter((remembered) => remembered < height).sort((a, b) => b - a)
    for (const remembered of lower) {
      const now = agreed(await Promise.all(nodes.map(async (nodeId) => normalize(await hashAt(nodeId, remembered)))))
      const old = this.#memory.get(remembered)!
      if (now === undefined || now === old) break
      reorg = { height: remembered, oldHash: old, newHash: now }
      this.#memory.set(remembered, now)
    }
    return reorg
  }

  /** Remembers the canonical hashes of heights between the highest remembered one and `height`. */
  async #fillGap(height: number, nodes: readonly string[], hashAt: ForkCheckInput['hashAt']): Promise<void> {
    const below = [...this.#memory.keys()].filter((remembered) => remembered < height)
    if (below.length === 0) return
    const from = Math.max(Math.max(...below) + 1, height - GAP_FILL_LIMIT)
    const heights = Array.from({ length: Math.max(0, height - from) }, (_, index) => from + index)
    const hashes = await Promise.all(heights.map(async (gap) => agreed(await Promise.all(nodes.map(async (nodeId) => normalize(await hashAt(nodeId, gap)))))))
    heights.forEach((gap, index) => {
      const hash = hashes[index]
      if (hash !== undefined) this.#memory.set(gap, hash)
    })
  }

  #remember(height: number, hash: string): void {
    this.#memory.set(height, hash)
    if (this.#memory.size <= this.#limit) return
    const oldest = [...this.#memory.keys()].sort((a, b) => a - b).slice(0, this.#memory.size - this.#limit)
    for (const key of oldest) this.#memory.delete(key)
  }
}

function answered(reports: readonly HashReport[]): number {
  return reports.filter((report) => report.hash !== undefined).length
}

/** The one hash every node that answered gave; undefined if none answered or they differ. */
function agreed(hashes: ReadonlyArray<string | undefined>): string | undefined {
  const known = new Set(hashes.filter((hash): hash is string => hash !== undefined))
  return known.size === 1 ? [...known][0] : undefined
}

function normalize(hash: string | undefined): string | undefined {
  return hash === undefined ? undefined : hash.toLowerCase()
}

function parseWork(chainwork: string | undefined): bigint | undefined {
  if (chainwork === undefined || !/^(0x)?[0-9a-fA-F]+$/.test(chainwork)) return undefined
  return BigInt(chainwork.startsWith('0x') ? chainwork : `0x${chainwork}`)
}

/** Enough of a block hash for people: bitcoin hashes start with zeros, so both ends are shown. */
export function shortHash(hash: string): string {
  const hex = hash.startsWith('0x') ? hash.slice(2) : hash
  const prefix = hash.startsWith('0x') ? '0x' : ''
  return hex.length <= 16 ? hash : `${prefix}${hex.slice(0, 8)}…${hex.slice(-8)}`
}
