/**
 * Hedged reads (`routing.hedge`, off by default): when the node asked first has not answered after
 * its observed p95 latency (at least `afterMs`), the router sends the same read to a second node;
 * the first answer wins and the other attempt is cancelled through its own signal. Pure
 * decisions here; the router does the sending and cancelling.
 *
 * Which calls: reads only (the adapter's `read` class). Never broadcasts (`eth_sendRawTransaction`,
 * `sendrawtransaction`, which also take the broadcaster), never a route asking for at-head nodes
 * only (broadcast-grade), never verified reads: those already ask `agree` nodes at once through
 * concurrent routes sharing one `exclude` set, and a hedge would spend a node a later round may need
 * to reach agreement while the cancelled node's answer is lost. The router knows a verified read by
 * its options: an `exclude` set with `unverifiedOk` (no other caller passes both).
 *
 * What wins: the first attempt the blame table answers with (`answer`); a loser is aborted and its
 * outcome ignored: no blame and no latency sample (it did not fail, and the winner's time is not
 * its own). An attempt that settles first with `try-next` (the table's verdict applies as ever)
 * leaves the other attempt running: the router waits for it before asking a third node, so at most
 * two attempts of one call are ever in flight.
 */
import type { MethodClass } from '../chain-adapter.js'

export interface HedgeSettings {
  enabled: boolean
  /** Least wait before the hedge, ms. */
  afterMs: number
  /** Most hedges in flight at once on the chain. */
  maxInFlight: number
}

export interface HedgeCall {
  /** adapter.classifyMethod of the call. */
  methodClass: MethodClass
  /** The route wants at-head nodes only (broadcast-grade freshness). */
  atHeadOnly: boolean
  /** One of the concurrent routes of a verified read. */
  verifiedRead: boolean
}

/** Whether a call may be hedged at all (then the router races its attempts). */
export function isHedgeable(settings: Pick<HedgeSettings, 'enabled'>, call: HedgeCall): boolean {
  return settings.enabled && call.methodClass === 'read' && !call.atHeadOnly && !call.verifiedRead
}

/** How long the first attempt may run before the hedge is due: the node's p95, at least `afterMs`. */
export function hedgeDelayMs(afterMs: number, p95Ms: number | undefined): number {
  return p95Ms === undefined || p95Ms < afterMs ? afterMs : p95Ms
}

export interface HedgeFacts {
  /** Hedges in flight on the chain now. */
  hedgesInFlight: number
  maxInFlight: number
  /** Attempts of this call so far, and routing.maxAttempts. */
  attempts: number
  maxAttempts: number
  /** Nodes a hedge could go to: routable, not tried by this call, below their in-flight bound, within quota. */
  others: number
  /** Time left until the call's deadline, ms. */
  remainingMs: number
  /** Time until the hedge is due, ms (0 once due). */
  waitMs: number
}

export type HedgeVerdict = 'hedge' | 'no-other-node' | 'hedges-at-bound' | 'attempts-spent' | 'no-time'

/**
 * Whether to hedge: asked when the first attempt starts (no timer is armed unless it says `hedge`)
 * and again when the hedge is due, with the figures of that moment.
 */
export function hedgeVerdict(facts: HedgeFacts): HedgeVerdict {
  if (facts.others <= 0) return 'no-other-node'
  if (facts.attempts >= facts.maxAttempts) return 'attempts-spent'
  if (facts.hedgesInFlight >= facts.maxInFlight) return 'hedges-at-bound'
  if (facts.remainingMs <= facts.waitMs) return 'no-time'
  return 'hedge'
}

/** Calls `onDue` after `delayMs`; returns the cancel. Injected so tests decide when a hedge is due. */
export type HedgeTimer = (onDue: () => void, delayMs: number) => () => void

export const realHedgeTimer: HedgeTimer = (onDue, delayMs) => {
  const timer = setTimeout(onDue, delayMs)
  return () => clearTimeout(timer)
}

/** Per chain, since the router was built (a reload that rebuilds the chain starts them over). */
export interface HedgeStats {
  /** Hedges sent: second attempts of a read started because the first was slow. */
  sent: number
  /** Hedges whose answer was the one returned (they beat the first attempt). */
  won: number
  /** Hedges in flight now (bounded by routing.hedge.maxInFlight). */
  inFlight: number
}
