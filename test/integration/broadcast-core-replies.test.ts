/**
 * The broadcast engine against Bitcoin Core's exact replies, which bcoin never gives (it answers
 * the txid before validating). Scriptable fake nodes speak bitcoind's legacy JSON-RPC.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import type { BroadcastProgressEvent } from '../../src/proxy-events.js'
import { type FakeNode, type FakeReply, startFakeNode } from '../support/fake-node.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

// The first bitcoin transaction (block 170): a real, decodable signed transaction.
const RAW =
  '0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000'
const TXID = 'f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16'
const GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'

let nodes: Array<FakeNode & { setHeight(h: number): void }> = []
let harness: TestProxy | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
})

/** Nodes whose mempool holds the tx once they accepted it (as Core does); `firstSendFails`: the first send anywhere gets that reply. */
async function pool(count: number, fanout = 3, firstSendFails?: FakeReply): Promise<TestProxy> {
  nodes = await Promise.all(Array.from({ length: count }, () => startFakeNode({ version: '1.0', genesisHash: GENESIS, height: 200 })))
  let failed = firstSendFails === undefined
  for (const node of nodes) {
    let holds = false
    node.on('sendrawtransaction', () => {
      if (!failed) {
        failed = true
        return firstSendFails!
      }
      holds = true
      return { result: TXID }
    })
    node.on('getmempoolentry', () => (holds ? { result: { vsize: 250 } } : { error: { code: -5, message: 'Transaction not in mempool' } }))
    node.on('gettxout', { result: null })
  }
  harness = await startTestProxy(
    {
      chains: {
        btc: {
          family: 'bitcoin',
          network: 'regtest',
          health: { intervalMs: 60_000 },
          broadcast: { fanout, timeoutMs: 500 },
          nodes: nodes.map((node, index) => ({ id: `n${index}`, url: node.url, provider: `p${index}` })),
        },
      },
    },
    { autoProbe: true },
  )
  return harness
}

const send = (proxy: TestProxy) => proxy.rpc('btc', { jsonrpc: '1.0', id: 'w', method: 'sendrawtransaction', params: [RAW] })
const sends = (node: FakeNode) => node.calls.filter((method) => method === 'sendrawtransaction').length

describe('sendrawtransaction against Core replies', () => {
  test('accepted by the fan-out: txid answered in 1.0 shape, the locally computed one', async () => {
    const proxy = await pool(3)
    const response = await send(proxy)
    expect(response.json).toEqual({ result: TXID, error: null, id: 'w' })
    await proxy.proxy.drainBroadcasts('btc')
    expect(nodes.map(sends)).toEqual([1, 1, 1])
  })

  test.each<{ name: string; reply: FakeReply }>([
    { name: 'mempool full (-26)', reply: { error: { code: -26, message: 'mempool full' } } },
    { name: 'warming up (-28)', reply: { error: { code: -28, message: 'Loading block index…' } } },
    { name: 'work queue (HTTP 503, plain text)', reply: { status: 503, body: 'Work queue depth exceeded' } },
    { name: 'a hang (timeout)', reply: { hang: true } },
  ])('$name on the first target → the same bytes go to a spare node', async ({ reply }) => {
    const proxy = await pool(3, 1, reply)
    const response = await send(proxy)
    expect(response.json.result).toBe(TXID)
    // One refused, one more (a spare, not the same node) accepted.
    expect(nodes.map(sends).sort()).toEqual([0, 1, 1])
    expect(response.attempts).toBe(2)
    const health = proxy.proxy.snapshot().chains[0]!.nodes
    // A verdict never counts against a node; a transport failure does.
    const failures = health.map((node) => node.failures).reduce((sum, value) => sum + value, 0)
    expect(failures).toBe('status' in reply || 'hang' in reply ? 1 : 0)
  })

  test('already in the chain (-27, old and new spellings) is success, not failure, once lookups find it in a block', async () => {
    const proxy = await pool(2)
    nodes[0]!.on('sendrawtransaction', { error: { code: -27, message: 'Transaction outputs already in utxo set' } })
    nodes[1]!.on('sendrawtransaction', { error: { code: -27, message: 'transaction already in block chain' } })
    for (const node of nodes) {
      // Mined 3 blocks ago: an output of it is unspent at depth 3.
      node.on('gettxout', (_method, params) => ((params as unknown[])[0] === TXID ? { result: { confirmations: 3, value: 50 } } : { result: null }))
      node.on('getblockcount', { result: 200 })
    }
    const result = await proxy.proxy.broadcast('btc', RAW)
    // Answered after the first success (minAccepts 1); the other send finishes in the background.
    expect(result.accepted).toEqual([])
    expect([...result.alreadyKnown, ...result.pending].sort()).toEqual(['n0', 'n1'])
    await proxy.proxy.drainBroadcasts('btc')
    const record = await proxy.proxy.broadcastStatus('btc', TXID)
    expect(record?.outcomes.map((outcome) => [outcome.nodeId, outcome.outcome, outcome.lookup]).sort()).toEqual([
      ['n0', 'already-known', 'confirmed'],
      ['n1', 'already-known', 'confirmed'],
    ])
  })

  test('every node rejects (min relay fee) → the node\'s own error reaches the client; nodes stay healthy', async () => {
    const proxy = await pool(2)
    for (const node of nodes) node.on('sendrawtransaction', { error: { code: -26, message: 'min relay fee not met, 100 < 141' } })
    const response = await send(proxy)
    expect(response.status).toBe(500) // bitcoind's legacy status for an RPC error
    expect(response.json).toEqual({ result: null, error: { code: -26, message: 'min relay fee not met, 100 < 141' }, id: 'w' })
    expect(proxy.proxy.snapshot().chains[0]!.nodes.every((node) => node.status === 'healthy' && node.failures === 0)).toBe(true)
    expect(await proxy.proxy.broadcastStatus('btc', TXID)).toMatchObject({ status: 'rejected' })
  })

  test('missing inputs, and lookups find an input spent elsewhere → SY_TX_CONFLICT + event', async () => {
    const proxy = await pool(2)
    for (const node of nodes) node.on('sendrawtransaction', { error: { code: -25, message: 'bad-txns-inputs-missingorspent' } })
    const conflicts: BroadcastProgressEvent[] = []
    proxy.proxy.events.on('broadcast:conflict', (event) => conflicts.push(event))
    const response = await send(proxy)
    expect(response.json.error).toMatchObject({ code: -32060, data: { code: 'SY_TX_CONFLICT', txid: TXID } })
    expect(conflicts[0]?.detail).toMatch(/input 0437cd7f.*:0 is spent/)
  })

  test('missing inputs, but a node has it in its mempool → success', async () => {
    const proxy = await pool(2)
    for (const node of nodes) node.on('sendrawtransaction', { error: { code: -25, message: 'Missing inputs' } })
    nodes[1]!.on('getmempoolentry', { result: { vsize: 250 } })
    expect((await send(proxy)).json.result).toBe(TXID)
  })

  test('a node answering another txid is never a success', async () => {
    const proxy = await pool(1)
    nodes[0]!.on('sendrawtransaction', { result: 'ab'.repeat(32) })
    const response = await send(proxy)
    expect(response.json.error.data.code).toBe('SY_TX_ID_MISMATCH')
  })

  test('txid answered but the node does not hold it (bcoin-style silent drop) → not accepted', async () => {
    const proxy = await pool(1)
    nodes[0]!.on('getmempoolentry', { error: { code: -5, message: 'Transaction not in mempool' } })
    // Its input is still unspent: not a conflict, just not accepted (bad signature, say).
    nodes[0]!.on('gettxout', (_method, params) => ((params as unknown[])[0] === TXID ? { result: null } : { result: { confirmations: 50, value: 50 } }))
    const response = await send(proxy)
    expect(response.json.error).toMatchObject({ code: -32061, data: { code: 'SY_TX_NOT_ACCEPTED' } })
  })

  test('undecodable hex → -32602 with no node call', async () => {
    const proxy = await pool(2)
    const response = await proxy.rpc('btc', { jsonrpc: '1.0', id: 1, method: 'sendrawtransaction', params: ['00ff'] })
    expect(response.json.error).toMatchObject({ code: -32602, data: { code: 'SY_INVALID_PARAMS' } })
    expect(nodes.map(sends)).toEqual([0, 0])
  })

  test('a transaction that leaves every mempool and is refused on re-send is dropped after dropAfterRounds rounds, with an event', async () => {
    const proxy = await pool(2)
    expect((await send(proxy)).json.result).toBe(TXID)
    await proxy.proxy.drainBroadcasts('btc')
    // Every node lost it, its input is unspent, and re-sending gets a definitive refusal.
    for (const node of nodes) {
      node.on('getmempoolentry', { error: { code: -5, message: 'Transaction not in mempool' } })
      node.on('gettxout', (_method, params) => ((params as unknown[])[0] === TXID ? { result: null } : { result: { confirmations: 50, value: 50 } }))
      node.on('sendrawtransaction', { error: { code: -26, message: 'non-BIP68-final' } })
    }
    const dropped: BroadcastProgressEvent[] = []
    proxy.proxy.events.on('broadcast:dropped', (event) => dropped.push(event))
    // Default dropAfterRounds 3: two rounds count, the third drops it.
    for (const round of [1, 2]) {
      await proxy.proxy.rebroadcast('btc')
      expect(await proxy.proxy.broadcastStatus('btc', TXID)).toMatchObject({ status: 'pending', unheldRounds: round, rebroadcasts: round })
    }
    expect(dropped).toEqual([])
    await proxy.proxy.rebroadcast('btc')
    expect(dropped).toEqual([expect.objectContaining({ chain: 'btc', txid: TXID, detail: 'non-BIP68-final' })])
    const record = await proxy.proxy.broadcastStatus('btc', TXID)
    expect(record).toMatchObject({ status: 'dropped', rebroadcasts: 3, unheldRounds: 3 })
    expect(record!.outcomes.filter((outcome) => outcome.outcome === 'rebroadcast: invalid').map((outcome) => outcome.nodeId).sort()).toEqual(['n0', 'n0', 'n0', 'n1', 'n1', 'n1'])
    // Dropped records are no longer watched.
    await proxy.proxy.rebroadcast('btc')
    expect(dropped).toHaveLength(1)
  })

  test('a cookie-auth node gets its cookie on the broadcast lane too (no 401 on the first send)', async () => {
    nodes = [await startFakeNode({ version: '1.0', genesisHash: GENESIS, height: 200 })]
    const node = nodes[0]!
    node.on('sendrawtransaction', { result: TXID })
    node.on('getmempoolentry', { result: { vsize: 250 } })
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cookie-'))
    await writeFile(join(dir, '.cookie'), '__cookie__:c00kie\n')
    harness = await startTestProxy(
      { chains: { btc: { family: 'bitcoin', network: 'regtest', health: { intervalMs: 60_000 }, nodes: [{ id: 'core', url: node.url, cookieFile: join(dir, '.cookie') }] } } },
      { autoProbe: true },
    )
    expect((await send(harness)).json.result).toBe(TXID)
    const cookie = `Basic ${Buffer.from('__cookie__:c00kie').toString('base64')}`
    const sends = node.calls.flatMap((method, index) => (method === 'sendrawtransaction' ? [node.authorizations[index]] : []))
    expect(sends).toEqual([cookie])
  })
})
