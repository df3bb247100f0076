/**
 * The broadcaster's background write (sends still running when the client got its answer) and a
 * rebroadcast round on the same record, interleaved on purpose in both orders: neither's outcomes
 * nor the status change is lost. Three real anvils; the third sits behind a front that holds its
 * sends until the test releases them (what no real node does on demand).
 */
import { Wallet } from 'ethers'
import { afterEach, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { recordFigure } from '../support/figures.js'
import { type NodeFront, gate, startNodeFront } from '../support/node-front.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const wallet = new Wallet('0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a') // anvil dev key 4
let anvils: AnvilNode[] = []
let front: NodeFront | undefined
let harness: TestProxy | undefined
let lost = 0
let races = 0

afterEach(async () => {
  await harness?.close()
  await front?.close()
  await Promise.all(anvils.map((anvil) => anvil.stop()))
  harness = undefined
  front = undefined
  anvils = []
  recordFigure('broadcast.journalRace.interleavings', races)
  recordFigure('broadcast.journalRace.outcomesLost', lost)
})

test.each(['the background write lands first', 'the rebroadcast round lands first'])('%s: every outcome and the seen status survive', async (order) => {
  anvils = await Promise.all(['eth-0', 'eth-1', 'eth-2'].map((id) => startAnvil({ id, noMining: true })))
  // eth-2's sends wait: the first (the broadcast's) on `fanOut`, the second (the round's re-send) on `rebroadcast`.
  const fanOut = gate()
  const rebroadcast = gate()
  const gates = [fanOut, rebroadcast]
  front = await startNodeFront(anvils[2]!.url)
  front.on('eth_sendRawTransaction', async (_params, forward) => {
    const held = gates.shift()
    if (held === undefined) return undefined
    held.arrive()
    await held.wait
    return await forward()
  })
  harness = await startTestProxy(
    {
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          health: { intervalMs: 60_000 },
          broadcast: { fanout: 3, timeoutMs: 30_000, rebroadcastIntervalMs: 60_000 },
          nodes: [
            { id: 'eth-0', url: anvils[0]!.url, provider: 'p0' },
            { id: 'eth-1', url: anvils[1]!.url, provider: 'p1' },
            { id: 'eth-2', url: front.url, provider: 'p2' },
          ],
        },
      },
    },
    { autoProbe: true },
  )
  const proxy = harness.proxy
  const raw = await wallet.signTransaction({ to: wallet.address, value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 31337n, gasPrice: 2_000_000_000n, type: 0 })

  // Answered by eth-0 and eth-1 while eth-2's send is held: the record has their two outcomes.
  const answer = await proxy.broadcast('eth', raw)
  expect(answer.pending).toEqual(['eth-2'])
  const hash = answer.txid
  await fanOut.reached
  expect((await proxy.broadcastStatus('eth', hash))!.outcomes.map((outcome) => outcome.nodeId).sort()).toEqual(['eth-0', 'eth-1'])

  // A round reads the record (pending), finds eth-2 lacking it and re-sends: held too.
  const round = proxy.rebroadcast('eth')
  await rebroadcast.reached
  if (order === 'the background write lands first') {
    fanOut.release()
    await proxy.drainBroadcasts('eth')
    rebroadcast.release()
    await round
  } else {
    rebroadcast.release()
    await round
    fanOut.release()
    await proxy.drainBroadcasts('eth')
  }
  races += 1

  const record = (await proxy.broadcastStatus('eth', hash))!
  const entries = record.outcomes.map((outcome) => [outcome.nodeId, outcome.outcome, outcome.lookup])
  // The fan-out's three sends and the round's one re-send; the later of eth-2's two sends finds it there already.
  const expected =
    order === 'the background write lands first'
      ? [
          ['eth-0', 'accepted', 'mempool'],
          ['eth-1', 'accepted', 'mempool'],
          ['eth-2', 'accepted', 'mempool'],
          ['eth-2', 'rebroadcast: already-known', 'mempool'],
        ]
      : [
          ['eth-0', 'accepted', 'mempool'],
          ['eth-1', 'accepted', 'mempool'],
          ['eth-2', 'already-known', 'mempool'],
          ['eth-2', 'rebroadcast: accepted', 'mempool'],
        ]
  lost += expected.filter((entry) => !entries.some((actual) => JSON.stringify(actual) === JSON.stringify(entry))).length
  expect(entries.sort()).toEqual(expected.sort())
  // The round's status change (pending → seen, eth-2 holding it) and its rebroadcast count survive.
  expect(record).toMatchObject({ status: 'seen', rebroadcasts: 1 })
  expect(await anvils[2]!.rpc('eth_getTransactionByHash', [hash])).not.toBeNull()
})
