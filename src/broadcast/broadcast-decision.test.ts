import { describe, expect, test } from 'vitest'
import type { NodeOutcome } from './broadcast-journal.js'
import { type DecisionInput, type NodeEvidence, decideBroadcast, summarizeEvidence, summarizeOutcomes } from './broadcast-decision.js'

const FUNDS = { code: -32003, message: 'insufficient funds for gas * price + value' }
const KNOWN = { code: -32000, message: 'already known' }
const NONCE = { code: -32003, message: 'nonce too low' }
const FULL = { code: -32000, message: 'txpool is full' }
const UNDERPRICED = { code: -32000, message: 'replacement transaction underpriced' }

// Per-node evidence, named as the broadcaster sees it.
const acceptedVerified = (nodeId: string): NodeEvidence => ({ nodeId, verdict: 'accepted', lookup: 'mempool' })
const acceptedUnverified = (nodeId: string, lookup: NodeEvidence['lookup'] = 'absent'): NodeEvidence => ({ nodeId, verdict: 'accepted', lookup })
const knownVerified = (nodeId: string): NodeEvidence => ({ nodeId, verdict: 'already-known', error: KNOWN, lookup: 'mempool' })
const knownUnverified = (nodeId: string, lookup: NodeEvidence['lookup'] = 'absent'): NodeEvidence => ({ nodeId, verdict: 'already-known', error: KNOWN, lookup })
const ambiguous = (nodeId: string, lookup: NodeEvidence['lookup'], lookupDetail?: string): NodeEvidence => ({ nodeId, verdict: 'ambiguous', error: NONCE, lookup, lookupDetail })
const invalid = (nodeId: string): NodeEvidence => ({ nodeId, verdict: 'invalid', error: FUNDS })
const conflict = (nodeId: string): NodeEvidence => ({ nodeId, verdict: 'conflict', error: UNDERPRICED })
const nodeLocal = (nodeId: string): NodeEvidence => ({ nodeId, verdict: 'node-local', error: FULL })
const failed = (nodeId: string): NodeEvidence => ({ nodeId, verdict: 'failed', failure: 'timeout' })
const mismatch = (nodeId: string): NodeEvidence => ({ nodeId, verdict: 'id-mismatch', failure: 'returned 0xabab' })
const running = (nodeId: string): NodeEvidence => ({ nodeId, running: true })
const lookupOnly = (nodeId: string, lookup: NodeEvidence['lookup'], lookupDetail?: string): NodeEvidence => ({ nodeId, lookup, lookupDetail })

const input = (evidence: NodeEvidence[], extra: Partial<DecisionInput> = {}): DecisionInput => ({
  chain: 'eth',
  txid: '0xt',
  evidence,
  holdersNeeded: 2,
  settled: true,
  crossChecked: true,
  ...extra,
})

describe('decideBroadcast', () => {
  test.each<{ name: string; input: DecisionInput; kind: string; holders?: string[]; code?: string; nodeId?: string; status?: string | undefined }>([
    // Early answers (sends still running).
    { name: 'two verified acceptances answer before the third send', input: input([acceptedVerified('a'), acceptedVerified('b'), running('c')], { settled: false }), kind: 'success', holders: ['a', 'b'], status: 'pending' },
    { name: 'one verified acceptance waits for a second holder while sends run', input: input([acceptedVerified('a'), running('b'), running('c')], { settled: false }), kind: 'wait' },
    { name: 'one holder is enough when only one is needed (a repeat, a single at-head node)', input: input([lookupOnly('a', 'mempool'), running('b')], { settled: false, holdersNeeded: 1 }), kind: 'success', holders: ['a'] },
    { name: 'already-known verified counts like accepted', input: input([knownVerified('a'), acceptedVerified('b'), running('c')], { settled: false }), kind: 'success', holders: ['a', 'b'] },
    { name: 'a single holder next to a rejection waits even when one holder would do', input: input([acceptedVerified('a'), invalid('b'), running('c')], { settled: false, holdersNeeded: 1 }), kind: 'wait' },
    { name: 'two holders outweigh a rejection', input: input([acceptedVerified('a'), invalid('b'), knownVerified('c')], { settled: false }), kind: 'success', holders: ['a', 'c'] },
    { name: 'nothing decides early without holders', input: input([invalid('a'), invalid('b'), running('c')], { settled: false }), kind: 'wait' },

    // Every send settled.
    { name: 'one verified holder and no rejection: success once settled', input: input([acceptedVerified('a'), failed('b'), nodeLocal('c')]), kind: 'success', holders: ['a'] },
    { name: 'a "nonce too low" that lookups find in a block: success', input: input([ambiguous('a', 'confirmed'), ambiguous('b', 'confirmed')]), kind: 'success', holders: ['a', 'b'] },
    { name: 'liar "already known" (lookup absent) next to two honest "insufficient funds": the rejection', input: input([knownUnverified('liar'), invalid('a'), invalid('b')]), kind: 'node-error', nodeId: 'a', status: 'rejected' },
    { name: 'liar "already known" whose lookups fail (unknown) next to honest rejections: the rejection', input: input([knownUnverified('liar', 'unknown'), invalid('a'), invalid('b')]), kind: 'node-error', nodeId: 'a', status: 'rejected' },
    { name: 'liar returning the right txid then "unknown" lookups, next to honest rejections: the rejection', input: input([acceptedUnverified('liar', 'unknown'), invalid('a'), invalid('b')]), kind: 'node-error', nodeId: 'a', status: 'rejected' },
    { name: 'liar lying in its lookups too, against honest rejections: the rejection (one holder does not outweigh)', input: input([knownVerified('liar'), invalid('a'), invalid('b')]), kind: 'node-error', nodeId: 'a', status: 'rejected' },
    { name: 'liar alone with failed nodes: never a success', input: input([knownUnverified('liar'), failed('a'), failed('b'), lookupOnly('d', 'absent')]), kind: 'proxy-error', code: 'SY_TX_NOT_ACCEPTED', status: 'rejected' },
    { name: 'bcoin-style: every node answers the txid, no lookup finds it', input: input([acceptedUnverified('a'), acceptedUnverified('b'), acceptedUnverified('c')]), kind: 'proxy-error', code: 'SY_TX_NOT_ACCEPTED', status: 'rejected' },
    { name: 'replacement underpriced: conflict', input: input([conflict('a'), conflict('b')]), kind: 'proxy-error', code: 'SY_TX_CONFLICT', status: 'conflicted' },
    { name: 'nonce too low and a lookup shows the nonce used by another transaction: conflict', input: input([ambiguous('a', 'conflict', 'nonce 0 used by another'), ambiguous('b', 'absent')]), kind: 'proxy-error', code: 'SY_TX_CONFLICT', status: 'conflicted' },
    { name: 'nonce too low, nothing found anywhere: the node\'s own error', input: input([ambiguous('a', 'absent'), ambiguous('b', 'absent')]), kind: 'node-error', nodeId: 'a', status: 'rejected' },
    { name: 'every node rejects: the first rejection', input: input([invalid('a'), invalid('b')], { crossChecked: false }), kind: 'node-error', nodeId: 'a', status: 'rejected' },
    { name: 'every node full: the node-local refusal', input: input([nodeLocal('a'), nodeLocal('b')]), kind: 'node-error', nodeId: 'a', status: 'rejected' },
    { name: 'another txid returned: id mismatch', input: input([mismatch('a')]), kind: 'proxy-error', code: 'SY_TX_ID_MISMATCH', status: 'rejected' },
    { name: 'every send failed and no lookup finds it: all nodes failed', input: input([failed('a'), failed('b'), lookupOnly('c', 'absent')]), kind: 'proxy-error', code: 'SY_ALL_NODES_FAILED', status: 'rejected' },
    { name: 'every send failed but a cross-check lookup finds it: success', input: input([failed('a'), failed('b'), lookupOnly('c', 'mempool')]), kind: 'success', holders: ['c'] },
    { name: 'no at-head node: nothing sent, nothing recorded', input: input([]), kind: 'proxy-error', code: 'SY_NO_ROUTABLE_NODE', status: undefined },

    // When to ask other at-head nodes.
    { name: 'settled with one holder against a rejection: cross-check first', input: input([acceptedVerified('a'), invalid('b')], { crossChecked: false }), kind: 'cross-check' },
    { name: 'settled with only failures: cross-check first', input: input([failed('a'), failed('b')], { crossChecked: false }), kind: 'cross-check' },
    { name: 'settled with an unverified claim and no rejection: cross-check first', input: input([knownUnverified('liar'), failed('a')], { crossChecked: false }), kind: 'cross-check' },
    { name: 'a cross-check lookup that finds it outweighs the rejection', input: input([acceptedVerified('a'), invalid('b'), lookupOnly('c', 'mempool')]), kind: 'success', holders: ['a', 'c'] },

    // verifyAcceptance: false trusts replies.
    { name: 'trusted replies: "accepted" without lookup is a holder', input: input([{ nodeId: 'a', verdict: 'accepted' }, running('b')], { settled: false, holdersNeeded: 1, trustReplies: true }), kind: 'success', holders: ['a'] },
  ])('$name', (row) => {
    const decision = decideBroadcast(row.input)
    expect(decision.kind).toBe(row.kind)
    if (row.holders !== undefined) expect(decision).toMatchObject({ holders: row.holders })
    if (row.code !== undefined) expect(decision).toMatchObject({ code: row.code })
    if (row.nodeId !== undefined) expect(decision).toMatchObject({ nodeId: row.nodeId })
    if ('status' in row) expect((decision as { status?: string }).status).toBe(row.status)
  })

  test('a node\'s rejection goes to the client unchanged', () => {
    const decision = decideBroadcast(input([knownUnverified('liar'), invalid('a'), invalid('b')]))
    expect(decision).toEqual({ kind: 'node-error', nodeId: 'a', error: FUNDS, status: 'rejected' })
  })

  test('no combination of claims without a shown holder is ever a success', () => {
    const claims = [acceptedUnverified('a'), acceptedUnverified('a', 'unknown'), knownUnverified('a'), knownUnverified('a', 'unknown'), ambiguous('a', 'absent'), ambiguous('a', 'unknown')]
    const others = [invalid('b'), failed('b'), nodeLocal('b'), lookupOnly('b', 'absent'), lookupOnly('b', 'unknown'), acceptedUnverified('b'), knownUnverified('b', 'unknown')]
    for (const claim of claims) {
      for (const other of others) {
        for (const settled of [false, true]) {
          for (const crossChecked of [false, true]) {
            expect(decideBroadcast(input([claim, other], { settled, crossChecked })).kind).not.toBe('success')
          }
        }
      }
    }
  })
})

describe('summarizeEvidence', () => {
  test('lists only shown holders as accepted / already known; claims nobody confirmed are unverified; running sends pending', () => {
    const result = summarizeEvidence('0xt', [acceptedVerified('a'), knownVerified('b'), knownUnverified('liar'), invalid('c'), running('d'), lookupOnly('e', 'confirmed')])
    expect(result).toEqual({
      txid: '0xt',
      accepted: ['a'],
      alreadyKnown: ['b', 'e'],
      rejected: [
        { nodeId: 'liar', code: KNOWN.code, message: KNOWN.message },
        { nodeId: 'c', code: FUNDS.code, message: FUNDS.message },
      ],
      unverified: ['liar'],
      pending: ['d'],
    })
  })
})

describe('summarizeOutcomes', () => {
  test('each node\'s latest send or lookup in a record; entries from before lookups were recorded count as they said', () => {
    const now: NodeOutcome[] = [
      { nodeId: 'a', outcome: 'accepted', lookup: 'mempool', at: 1 },
      { nodeId: 'b', outcome: 'already-known', code: -27, message: 'already in utxo set', lookup: 'confirmed', at: 1 },
      { nodeId: 'c', outcome: 'rebroadcast: accepted', lookup: 'mempool', at: 2 },
      { nodeId: 'x', outcome: 'lookup: conflict', at: 2 },
    ]
    expect(summarizeOutcomes('t', now)).toMatchObject({ accepted: ['a', 'c'], alreadyKnown: ['b'], unverified: [], rejected: [] })
    const legacy: NodeOutcome[] = [
      { nodeId: 'a', outcome: 'accepted', at: 1 },
      { nodeId: 'b', outcome: 'already-known', code: -27, message: 'already in utxo set', at: 1 },
    ]
    expect(summarizeOutcomes('t', legacy)).toMatchObject({ accepted: ['a'], alreadyKnown: ['b'], unverified: [] })
  })
})
