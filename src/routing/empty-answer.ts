/**
 * Empty answers are confirmed: a "not found" (null receipt, transaction or block; bitcoin "Block
 * not found", "No such mempool or blockchain transaction") for data at or below the head is asked
 * of one more routable node before the client gets it. A node whose empty answer another node
 * contradicts, for data in a block it already had, is reported to the pool (`recordEmptyAnswer`),
 * which ejects repeat offenders. Which answers count as empty is the adapter's (`isEmptyAnswer`).
 */

export interface EmptyConfirmationInput {
  /** `routing.confirmEmptyAnswers`. */
  enabled: boolean
  /** The adapter calls the answer empty. */
  empty: boolean
  /** The block height the call names, if any. */
  requiredHeight: number | undefined
  /** The pool's read head; undefined before the first probe round. */
  readHead: number | undefined
}

/**
 * Confirm unless the call names a height above the read head: there, "not found" is the truth
 * (the chain has not got that far), and another node would only say it again.
 */
export function shouldConfirmEmpty(input: EmptyConfirmationInput): boolean {
  if (!input.enabled || !input.empty) return false
  return input.requiredHeight === undefined || input.readHead === undefined || input.requiredHeight <= input.readHead
}

/**
 * Whether an empty answer is held against the node that gave it: only when the other node's data
 * sat in a block at or below the first node's own height. A transaction mined a moment ago, above
 * that node's height, or one only in a mempool (no data height), is the node being a block late or
 * mempools differing, not the node hiding data.
 */
export function isEmptyAnswerEvidence(dataHeight: number | undefined, nodeHeight: number | undefined): boolean {
  return dataHeight !== undefined && nodeHeight !== undefined && dataHeight <= nodeHeight
}
