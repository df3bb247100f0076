/** A broadcast journal record for store tests: pending on chain btc, one verified holder. */
import type { BroadcastRecord } from '../../src/broadcast/broadcast-journal.js'

export const journalRecord = (txid: string, extra: Partial<BroadcastRecord> = {}): BroadcastRecord => ({
  chain: 'btc',
  txid,
  raw: `raw-${txid}`,
  status: 'pending',
  firstSeenAt: 1_000,
  updatedAt: 1_000,
  confirmations: 0,
  rebroadcasts: 0,
  outcomes: [{ nodeId: 'a', outcome: 'accepted', lookup: 'mempool', at: 1_000 }],
  ...extra,
})
