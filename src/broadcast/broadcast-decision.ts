/**
 * The per-transaction broadcast decision: from what each node answered to the send and what lookups
 * showed, the client's answer and the journal record's status. Pure; the broadcaster does the I/O
 * (sends, lookups, journal, events) and asks after every new piece of evidence.
 *
 * A node's reply is a claim; only a lookup that finds the transaction (in a mempool or a block) shows
 * that a node holds it. Nodes lie or are wrong on demand: bcoin answers the txid before validating,
 * a broken or hostile node says "already known" for anything, and a node can return the right txid
 * and then know nothing of it. So:
 * - success needs a holder shown by lookup ("accepted" and "already known" are verified alike);
 *   before every send has settled, it needs `holdersNeeded` holders (the broadcaster asks for 2 when
 *   two at-head nodes exist, so no single node's word answers the client) and no honest rejection
 *   unless two nodes hold it;
 * - a definitive rejection (`invalid`) from a node outweighs a single holder that no second node
 *   confirms: the rejection goes to the client;
 * - a transaction no node is shown to hold is never a success.
 */
import type { JsonRpcErrorObject } from '../jsonrpc/types.js'
import type { BroadcastStatus, LookupState, NodeOutcome } from './broadcast-journal.js'

/** A send's verdict: the adapter's reply classes plus what the transport and the id check add. */
export type SendVerdict = 'accepted' | 'already-known' | 'ambiguous' | 'conflict' | 'invalid' | 'node-local' | 'failed' | 'id-mismatch'

/** What one node contributed: its reply to the send (if it was sent to) and the lookup on it (if made). */
export interface NodeEvidence {
  nodeId: string
  /** undefined: only looked up (a cross-check, or a repeat that found it there). */
  verdict?: SendVerdict | undefined
  /** The send has not answered yet. */
  running?: boolean | undefined
  /** The node's own JSON-RPC error, for `invalid`, `ambiguous`, `conflict`, `node-local`. */
  error?: JsonRpcErrorObject | undefined
  /** Transport failure or id mismatch, for people. */
  failure?: string | undefined
  /** The last lookup on this node; undefined: not looked up. */
  lookup?: LookupState | undefined
  /** Why a lookup says `conflict` (input spent elsewhere, nonce used by another transaction). */
  lookupDetail?: string | undefined
}

export interface DecisionInput {
  chain: string
  txid: string
  evidence: readonly NodeEvidence[]
  /** Holders that answer the client while sends are still running. */
  holdersNeeded: number
  /** Every send (and spare send) has answered or failed. */
  settled: boolean
  /** Lookups on other at-head nodes were made (or there were none to ask). */
  crossChecked: boolean
  /** `broadcast.verifyAcceptance: false`: "accepted" / "already known" count without a lookup. */
  trustReplies?: boolean | undefined
}

export type ProxyErrorDecision = {
  kind: 'proxy-error'
  code: 'SY_TX_CONFLICT' | 'SY_TX_NOT_ACCEPTED' | 'SY_TX_ID_MISMATCH' | 'SY_ALL_NODES_FAILED' | 'SY_NO_ROUTABLE_NODE'
  message: string
  /** Conflict detail (for the event), causes of failures. */
  detail?: string | undefined
  causes?: string[] | undefined
  /** The record's status; undefined: nothing was sent, nothing to record. */
  status: 'conflicted' | 'rejected' | undefined
}

export type BroadcastDecision =
  /** Sends are still running and the evidence is not enough yet. */
  | { kind: 'wait' }
  /** Every send settled without enough holders: look it up on other at-head nodes, then decide again. */
  | { kind: 'cross-check' }
  | { kind: 'success'; holders: string[]; status: 'pending' }
  /** A node's own rejection goes to the client unchanged. */
  | { kind: 'node-error'; nodeId: string; error: JsonRpcErrorObject; status: 'rejected' }
  | ProxyErrorDecision

const CLAIMS: ReadonlySet<SendVerdict> = new Set(['accepted', 'already-known'])

/** The lookup shows the node holds it. */
export function shown(lookup: LookupState | undefined): boolean {
  return lookup === 'mempool' || lookup === 'confirmed'
}

function holds(entry: NodeEvidence, trustReplies: boolean): boolean {
  return shown(entry.lookup) || (trustReplies && entry.verdict !== undefined && CLAIMS.has(entry.verdict))
}

export function decideBroadcast(input: DecisionInput): BroadcastDecision {
  const { chain, txid, evidence, settled } = input
  const trust = input.trustReplies === true
  if (evidence.length === 0) {
    return { kind: 'proxy-error', code: 'SY_NO_ROUTABLE_NODE', message: `no healthy ${chain} node at the pool head to broadcast to`, status: undefined }
  }
  const holders = unique(evidence.filter((entry) => holds(entry, trust)).map((entry) => entry.nodeId))
  // A rejection from a node that is shown to hold it anyway is not one.
  const rejections = evidence.filter((entry) => entry.verdict === 'invalid' && !holds(entry, trust))

  const outweighs = rejections.length === 0 || holders.length >= 2
  if (holders.length >= Math.max(1, input.holdersNeeded) && outweighs) return { kind: 'success', holders, status: 'pending' }
  if (!settled) return { kind: 'wait' }
  if (holders.length >= 1 && outweighs) return { kind: 'success', holders, status: 'pending' }

  const definitive = evidence.every((entry) => entry.verdict === 'invalid' || entry.verdict === 'conflict')
  // Another at-head node may hold it (a second holder outweighs a rejection) or show a conflict;
  // nothing to ask when every node answered with a verdict on the transaction itself.
  if (!input.crossChecked && !definitive) return { kind: 'cross-check' }

  // One holder against honest rejections, or none: the rejection (or the reason nobody holds it) answers.
  if (holders.length === 0) {
    const conflict = evidence.find((entry) => entry.verdict === 'conflict') ?? evidence.find((entry) => entry.lookup === 'conflict')
    if (conflict !== undefined) {
      const detail = conflict.verdict === 'conflict' ? (conflict.error?.message ?? 'conflict') : (conflict.lookupDetail ?? 'conflict')
      return { kind: 'proxy-error', code: 'SY_TX_CONFLICT', message: `transaction ${txid} conflicts with another transaction: ${detail}`, detail, status: 'conflicted' }
    }
  }
  // The most informative node answer: a definitive rejection, else the ambiguous one, else a node-local refusal.
  for (const verdict of ['invalid', 'ambiguous', 'node-local'] as const) {
    const answered = evidence.find((entry) => entry.verdict === verdict && entry.error !== undefined && !holds(entry, trust))
    if (answered?.error !== undefined) return { kind: 'node-error', nodeId: answered.nodeId, error: answered.error, status: 'rejected' }
  }
  const mismatch = evidence.find((entry) => entry.verdict === 'id-mismatch')
  if (mismatch !== undefined) {
    return { kind: 'proxy-error', code: 'SY_TX_ID_MISMATCH', message: `node ${mismatch.nodeId} returned another transaction id than ${txid}`, status: 'rejected' }
  }
  const claims = evidence.filter((entry) => entry.verdict !== undefined && (CLAIMS.has(entry.verdict) || entry.verdict === 'ambiguous'))
  if (claims.length > 0) {
    const said = claims.map((entry) => `${entry.nodeId}: ${entry.verdict}, lookup ${entry.lookup ?? 'not made'}`)
    return {
      kind: 'proxy-error',
      code: 'SY_TX_NOT_ACCEPTED',
      message: `no node can be shown to hold transaction ${txid} after sending it (${said.join('; ')}): a reply no lookup confirms is not a success (e.g. dropped without an error, invalid signature)`,
      status: 'rejected',
    }
  }
  const causes = evidence.map((entry) => `${entry.nodeId}: ${entry.failure ?? entry.verdict ?? `lookup ${entry.lookup ?? 'not made'}`}`)
  return { kind: 'proxy-error', code: 'SY_ALL_NODES_FAILED', message: `no ${chain} node took transaction ${txid} (${causes.join(', ')})`, causes, status: 'rejected' }
}

/** What the client (and the library's `broadcast()`) gets on success: each node's part. */
export interface BroadcastResult {
  txid: string
  /** Nodes that accepted it now and are shown by lookup to hold it. */
  accepted: string[]
  /** Nodes shown to hold it already: "already known", a resolved "nonce too low"/"missing inputs", or found by lookup. */
  alreadyKnown: string[]
  /** Nodes that refused it, with their own error. */
  rejected: Array<{ nodeId: string; code: number; message: string }>
  /** Nodes that said "accepted"/"already known" but where no lookup found it: not counted. */
  unverified: string[]
  /** Sends still running when the answer was given. */
  pending: string[]
}

export function summarizeEvidence(txid: string, evidence: readonly NodeEvidence[], trustReplies = false): BroadcastResult {
  const ids = (match: (entry: NodeEvidence) => boolean) => unique(evidence.filter(match).map((entry) => entry.nodeId))
  return {
    txid,
    accepted: ids((entry) => entry.verdict === 'accepted' && holds(entry, trustReplies)),
    alreadyKnown: ids((entry) => entry.verdict !== 'accepted' && holds(entry, trustReplies)),
    rejected: evidence
      .filter((entry) => entry.error !== undefined && !holds(entry, trustReplies))
      .map((entry) => ({ nodeId: entry.nodeId, code: entry.error!.code, message: entry.error!.message })),
    unverified: ids((entry) => entry.verdict !== undefined && CLAIMS.has(entry.verdict) && !holds(entry, trustReplies)),
    pending: ids((entry) => entry.running === true),
  }
}

/**
 * The per-node result of a journaled broadcast (a confirmed one answered from the journal): each
 * node's latest send or lookup. Entries written before lookups were recorded count as they said.
 */
export function summarizeOutcomes(txid: string, outcomes: readonly NodeOutcome[]): BroadcastResult {
  const latest = new Map<string, NodeEvidence>()
  for (const outcome of outcomes) {
    const verdict = outcome.outcome.replace(/^(repeat|rebroadcast): /, '')
    const known = SEND_VERDICT_NAMES.has(verdict)
    if (!known && verdict !== 'lookup') continue
    latest.set(outcome.nodeId, {
      nodeId: outcome.nodeId,
      verdict: known ? (verdict as SendVerdict) : undefined,
      error: outcome.code === undefined ? undefined : { code: outcome.code, message: outcome.message ?? '' },
      lookup: outcome.lookup,
    })
  }
  return summarizeEvidence(txid, [...latest.values()], outcomes.every((outcome) => outcome.lookup === undefined))
}

const SEND_VERDICT_NAMES: ReadonlySet<string> = new Set<SendVerdict>(['accepted', 'already-known', 'ambiguous', 'conflict', 'invalid', 'node-local', 'failed', 'id-mismatch'])

/** The record's next status for a decision that ends a broadcast; undefined: nothing to record. */
export function recordStatus(decision: BroadcastDecision): BroadcastStatus | undefined {
  return decision.kind === 'wait' || decision.kind === 'cross-check' ? undefined : decision.status
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}
