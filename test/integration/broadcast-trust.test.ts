/**
 * A lying node next to honest ones never turns a rejected transaction into a success. EVM: real
 * anvils reject a transaction from an unfunded key ("insufficient funds"); the liar is a real anvil
 * behind a scripted front that answers sends with "already known" (or the right hash) and lookups
 * as scripted. Bitcoin: Core's exact replies from scripted nodes (bcoin never rejects with them).
 */
import { Wallet, keccak256 } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import type { BroadcastAcceptedEvent, BroadcastProgressEvent } from '../../src/proxy-events.js'
import { type FakeNode, type FakeReply, startFakeNode } from '../support/fake-node.js'
import { recordFigure } from '../support/figures.js'
import { type NodeFront, startNodeFront } from '../support/node-front.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const recipient = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const signFrom = (wallet: Wallet, nonce = 0) =>
  wallet.signTransaction({ to: recipient, value: 1n, gasLimit: 21_000n, nonce, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
const statuses = (proxy: TestProxy) => proxy.proxy.snapshot().chains[0]!.nodes.map((node) => [node.id, node.status, node.failures])

let wrongSuccesses = 0
let lyingBroadcasts = 0
afterAll(() => {
  recordFigure('broadcast.lyingNode.broadcasts', lyingBroadcasts)
  recordFigure('broadcast.lyingNode.wrongSuccesses', wrongSuccesses)
})

describe('EVM: honest anvils reject, a lying node claims to have it', () => {
  let honest: AnvilNode[] = []
  let spare: AnvilNode
  let liar: NodeFront
  let harness: TestProxy | undefined

  beforeAll(async () => {
    const started = await Promise.all(['liar-backend', 'eth-0', 'eth-1'].map((id) => startAnvil({ id, noMining: true })))
    spare = started[0]!
    honest = started.slice(1)
  })
  afterEach(async () => {
    await harness?.close()
    harness = undefined
    await liar?.close()
  })
  afterAll(async () => {
    await Promise.all([spare, ...honest].map((anvil) => anvil?.stop()))
  })

  async function proxyWithLiar(script: (front: NodeFront) => void): Promise<TestProxy> {
    liar = await startNodeFront(spare.url)
    script(liar)
    harness = await startTestProxy(
      {
        chains: {
          eth: {
            family: 'evm',
            chainId: 31337,
            health: { intervalMs: 60_000 },
            broadcast: { fanout: 3, rebroadcastIntervalMs: 60_000 },
            nodes: [...honest.map((node, index) => ({ id: node.id, url: node.url, provider: `p${index}` })), { id: 'liar', url: liar.url, provider: 'p-liar' }],
          },
        },
      },
      { autoProbe: true },
    )
    expect(statuses(harness)).toEqual([
      ['eth-0', 'healthy', 0],
      ['eth-1', 'healthy', 0],
      ['liar', 'healthy', 0],
    ])
    return harness
  }

  test.each<{ name: string; script: (front: NodeFront) => void; liarOutcome: string; liarLookup: string }>([
    {
      name: '"already known", lookups find nothing',
      script: (front) => front.on('eth_sendRawTransaction', () => ({ error: { code: -32000, message: 'already known' } })),
      liarOutcome: 'already-known',
      liarLookup: 'absent',
    },
    {
      name: 'the right hash, then every lookup fails ("unknown")',
      script: (front) => {
        front.on('eth_sendRawTransaction', (params) => ({ result: keccak256((params as string[])[0]!) }))
        for (const method of ['eth_getTransactionByHash', 'eth_getTransactionCount']) front.on(method, () => ({ error: { code: -32603, message: 'internal error' } }))
      },
      liarOutcome: 'accepted',
      liarLookup: 'unknown',
    },
  ])('liar answers $name → the honest rejection reaches the client, the record is rejected, no node is blamed', async ({ script, liarOutcome, liarLookup }) => {
    const proxy = await proxyWithLiar(script)
    const unfunded = Wallet.createRandom()
    const raw = await signFrom(new Wallet(unfunded.privateKey))
    const hash = keccak256(raw)
    const accepted: BroadcastAcceptedEvent[] = []
    proxy.proxy.events.on('broadcast:accepted', (event) => accepted.push(event))

    const response = await proxy.rpc('eth', { jsonrpc: '2.0', id: 7, method: 'eth_sendRawTransaction', params: [raw] })
    lyingBroadcasts += 1
    if (response.json.result !== undefined) wrongSuccesses += 1
    expect(response.json.result).toBeUndefined()
    expect(response.json.error.message).toMatch(/insufficient funds/i)
    expect(['eth-0', 'eth-1']).toContain(response.node)
    expect(accepted).toEqual([])
    // The liar did get the send and said what it was scripted to say.
    expect(liar.calls).toContain('eth_sendRawTransaction')

    await proxy.proxy.drainBroadcasts('eth')
    const record = await proxy.proxy.broadcastStatus('eth', hash)
    expect(record?.status).toBe('rejected')
    expect(record!.outcomes).toContainEqual(expect.objectContaining({ nodeId: 'liar', outcome: liarOutcome, lookup: liarLookup }))
    expect(record!.outcomes.filter((outcome) => outcome.outcome === 'invalid').map((outcome) => outcome.nodeId).sort()).toEqual(['eth-0', 'eth-1'])
    // A rejected record is not watched: a rebroadcast round leaves it so.
    await proxy.proxy.rebroadcast('eth')
    expect((await proxy.proxy.broadcastStatus('eth', hash))?.status).toBe('rejected')
    // Verdicts are answers, not failures: nobody's health moved.
    expect(statuses(proxy)).toEqual([
      ['eth-0', 'healthy', 0],
      ['eth-1', 'healthy', 0],
      ['liar', 'healthy', 0],
    ])
    // Nothing is pending anywhere.
    for (const node of [...honest, spare]) expect(await node.rpc('eth_getTransactionByHash', [hash])).toBeNull()
  })

  test('a pending transaction every honest node lost and now refuses is never kept "seen" by the liar\'s "already known": dropped after dropAfterRounds', async () => {
    const proxy = await proxyWithLiar((front) => front.on('eth_sendRawTransaction', () => ({ error: { code: -32000, message: 'already known' } })))
    const sender = new Wallet('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a') // anvil dev key 2
    const raw = await signFrom(sender, 0)
    const response = await proxy.rpc('eth', { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] })
    lyingBroadcasts += 1
    const hash = response.json.result as string
    expect(hash).toBe(keccak256(raw))
    await proxy.proxy.drainBroadcasts('eth')
    // Both honest nodes lose it and can no longer take it (the sender's funds are gone).
    for (const node of honest) {
      await node.rpc('anvil_dropTransaction', [hash])
      await node.rpc('anvil_setBalance', [sender.address, '0x0'])
    }
    const dropped: BroadcastProgressEvent[] = []
    proxy.proxy.events.on('broadcast:dropped', (event) => dropped.push(event))
    for (const round of [1, 2]) {
      await proxy.proxy.rebroadcast('eth')
      const record = await proxy.proxy.broadcastStatus('eth', hash)
      expect(record).toMatchObject({ status: 'pending', unheldRounds: round })
      expect(record!.outcomes).toContainEqual(expect.objectContaining({ nodeId: 'liar', outcome: 'rebroadcast: already-known', lookup: 'absent' }))
    }
    await proxy.proxy.rebroadcast('eth')
    expect(dropped).toEqual([expect.objectContaining({ txid: hash, detail: expect.stringMatching(/insufficient funds/i) })])
    expect(await proxy.proxy.broadcastStatus('eth', hash)).toMatchObject({ status: 'dropped', unheldRounds: 3, rebroadcasts: 3 })
    expect(statuses(proxy)).toEqual([
      ['eth-0', 'healthy', 0],
      ['eth-1', 'healthy', 0],
      ['liar', 'healthy', 0],
    ])
  })
})

describe('Bitcoin Core replies: two honest rejections, one lying node', () => {
  // The first bitcoin transaction (block 170): a real, decodable signed transaction.
  const RAW =
    '0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000'
  const TXID = 'f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16'
  const GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'
  const REJECTION = { code: -26, message: 'bad-txns-in-belowout, value in (0.01) < value out (50)' }
  let nodes: FakeNode[] = []
  let harness: TestProxy | undefined

  afterEach(async () => {
    await harness?.close()
    harness = undefined
    await Promise.all(nodes.map((node) => node.close()))
    nodes = []
  })

  /** Nodes that do not hold the transaction; its input is an unspent coin (so lookups say absent, not conflict). */
  async function pool(liarSend: FakeReply, liarLookups?: FakeReply): Promise<TestProxy> {
    nodes = await Promise.all([0, 1, 2].map(() => startFakeNode({ version: '1.0', genesisHash: GENESIS, height: 200 })))
    for (const node of nodes) {
      node.on('sendrawtransaction', { error: REJECTION })
      node.on('getmempoolentry', { error: { code: -5, message: 'Transaction not in mempool' } })
      node.on('gettxout', (_method, params) => ((params as unknown[])[0] === TXID ? { result: null } : { result: { confirmations: 50, value: 0.01 } }))
    }
    const liar = nodes[2]!
    liar.on('sendrawtransaction', liarSend)
    if (liarLookups !== undefined) for (const method of ['getmempoolentry', 'gettxout']) liar.on(method, liarLookups)
    harness = await startTestProxy(
      {
        chains: {
          btc: {
            family: 'bitcoin',
            network: 'regtest',
            health: { intervalMs: 60_000 },
            broadcast: { fanout: 3, timeoutMs: 1_000 },
            nodes: nodes.map((node, index) => ({ id: index === 2 ? 'liar' : `core-${index}`, url: node.url, provider: `p${index}` })),
          },
        },
      },
      { autoProbe: true },
    )
    return harness
  }

  test.each<{ name: string; send: FakeReply; lookups?: FakeReply }>([
    { name: '-27 "Transaction outputs already in utxo set", lookups find nothing', send: { error: { code: -27, message: 'Transaction outputs already in utxo set' } } },
    { name: '"txn-already-in-mempool", lookups find nothing', send: { error: { code: -26, message: 'txn-already-in-mempool' } } },
    { name: 'the txid, then lookups that fail (HTTP 503)', send: { result: TXID }, lookups: { status: 503, body: 'Work queue depth exceeded' } },
  ])('liar answers $name → the client gets the honest -26', async ({ send, lookups }) => {
    const proxy = await pool(send, lookups)
    const accepted: BroadcastAcceptedEvent[] = []
    proxy.proxy.events.on('broadcast:accepted', (event) => accepted.push(event))
    const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: 'w', method: 'sendrawtransaction', params: [RAW] })
    lyingBroadcasts += 1
    if (response.json.result !== null && response.json.result !== undefined) wrongSuccesses += 1
    expect(response.json).toEqual({ result: null, error: REJECTION, id: 'w' })
    expect(accepted).toEqual([])
    expect(await proxy.proxy.broadcastStatus('btc', TXID)).toMatchObject({ status: 'rejected' })
    expect(proxy.proxy.snapshot().chains[0]!.nodes.map((node) => [node.id, node.status, node.failures])).toEqual([
      ['core-0', 'healthy', 0],
      ['core-1', 'healthy', 0],
      ['liar', 'healthy', 0],
    ])
  })
})
