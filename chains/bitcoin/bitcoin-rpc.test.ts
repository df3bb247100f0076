/**
 * The typed bitcoin RPC against Bitcoin Core's exact parameters and replies, where bcoin differs
 * (getblock verbosity 2, estimatesmartfee's shape, sendrawtransaction rejections): scriptable fake
 * nodes speaking bitcoind's legacy JSON-RPC. Against real bcoin nodes:
 * test/integration/library-clients.test.ts.
 */
import { afterEach, expect, test } from 'vitest'
import { createProxy } from '../../src/core.js'
import type { Proxy } from '../../src/proxy.js'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'
import { type BlockWithTransactions, BitcoinRpcError, bitcoinRpc, bitcoinRpcErrorCodes } from './bitcoin-rpc.js'
import { bitcoinFamily } from './index.js'

const GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'
// The first bitcoin transaction (block 170): a real, decodable signed transaction.
const RAW =
  '0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000'
const TXID = 'f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16'
const BLOCK = '00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee'

let nodes: FakeNode[] = []
let proxy: Proxy | undefined

afterEach(async () => {
  await proxy?.close()
  proxy = undefined
  await Promise.all(nodes.map((node) => node.close()))
  nodes = []
})

/** `count` fake Core nodes behind a proxy; `params` collects every call's params by method. */
async function corePool(count: number): Promise<{ proxy: Proxy; params: Map<string, unknown[]> }> {
  nodes = await Promise.all(Array.from({ length: count }, () => startFakeNode({ version: '1.0', genesisHash: GENESIS, height: 200 })))
  const params = new Map<string, unknown[]>()
  const record = (method: string, value: unknown) => params.set(method, [...(params.get(method) ?? []), value])
  for (const node of nodes) {
    node.on('getblock', (method, value) => {
      record(method, value)
      return { result: (value as unknown[])[1] === 2 ? coreBlock() : 'not asked' }
    })
    node.on('getrawtransaction', (method, value) => (record(method, value), { result: RAW }))
    node.on('gettxout', (method, value) => (record(method, value), { result: null }))
    node.on('estimatesmartfee', (method, value) => (record(method, value), { result: { feerate: 0.00012, blocks: 6 } }))
  }
  proxy = createProxy(
    {
      journal: { path: ':memory:' },
      // No answer cache: every call must reach a node, so each one's params are seen there.
      chains: { btc: { family: 'bitcoin', network: 'regtest', health: { intervalMs: 600_000 }, cache: { enabled: false }, broadcast: { timeoutMs: 500 }, nodes: nodes.map((node, index) => ({ id: `n${index}`, url: node.url, provider: `p${index}` })) } },
    },
    { adapters: { bitcoin: bitcoinFamily } },
  )
  await proxy.start()
  return { proxy, params }
}

/** `getblock <hash> 2` as Core 27 prints it (one transaction, abridged scripts). */
function coreBlock(): BlockWithTransactions {
  return {
    hash: BLOCK,
    confirmations: 30,
    height: 170,
    version: 1,
    versionHex: '00000001',
    merkleroot: '7dac2c5666815c17a3b36427de37bb9d2e2c5ccec3f8633eb91a4205cb4c10ff',
    time: 1231731025,
    mediantime: 1231716245,
    nonce: 1889418792,
    bits: '1d00ffff',
    difficulty: 1,
    chainwork: '000000000000000000000000000000000000000000000000000000ab00ab00ab',
    nTx: 1,
    previousblockhash: '000000002a22cfee1f2c846adbd12b3e183d4f97683f85dad08a79780a84bd55',
    size: 490,
    strippedsize: 490,
    weight: 1960,
    tx: [
      {
        txid: TXID,
        hash: TXID,
        version: 1,
        size: 275,
        vsize: 275,
        weight: 1100,
        locktime: 0,
        vin: [{ txid: '0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9', vout: 0, scriptSig: { asm: '…', hex: '…' }, sequence: 4294967295 }],
        vout: [{ value: 10, n: 0, scriptPubKey: { asm: '…', hex: '4104ae1a…ac', type: 'pubkey' } }],
        fee: 0,
        hex: RAW,
      },
    ],
  }
}

test("Core's parameters exactly: verbosity 2 sent as given and typed, left-out arguments never sent, a blockhash after the verbose flag", async () => {
  const { proxy, params } = await corePool(1)
  const rpc = bitcoinRpc(proxy, 'btc')
  const block = await rpc.getblock(BLOCK, 2)
  expect(block.tx[0]!.vout[0]!.value).toBe(10)
  expect(block.tx[0]!.fee).toBe(0)
  await rpc.getblock(BLOCK)
  expect(params.get('getblock')).toEqual([
    [BLOCK, 2],
    [BLOCK],
  ])
  expect(await rpc.getrawtransaction(TXID)).toBe(RAW)
  await rpc.getrawtransaction(TXID, true, BLOCK)
  await rpc.getrawtransaction(TXID, undefined, BLOCK)
  expect(params.get('getrawtransaction')).toEqual([[TXID], [TXID, true, BLOCK], [TXID, false, BLOCK]])
  expect(await rpc.gettxout(TXID, 1)).toBeNull()
  await rpc.gettxout(TXID, 1, false)
  expect(params.get('gettxout')).toEqual([
    [TXID, 1],
    [TXID, 1, false],
  ])
  expect(await rpc.estimatesmartfee(6, 'conservative')).toEqual({ feerate: 0.00012, blocks: 6 })
  expect(params.get('estimatesmartfee')).toEqual([[6, 'conservative']])
})

test("Core's rejection on every node (min relay fee, -26) → BitcoinRpcError with Core's code and the node; journaled as rejected", async () => {
  const { proxy } = await corePool(2)
  for (const node of nodes) node.on('sendrawtransaction', { error: { code: -26, message: 'min relay fee not met, 100 < 141' } })
  const rejected = await bitcoinRpc(proxy, 'btc').sendrawtransaction(RAW).catch((error: unknown) => error)
  expect(rejected).toBeInstanceOf(BitcoinRpcError)
  expect(rejected).toMatchObject({ code: bitcoinRpcErrorCodes.VERIFY_REJECTED, message: 'min relay fee not met, 100 < 141', method: 'sendrawtransaction', nodeId: expect.stringMatching(/^n[01]$/) })
  expect(await proxy.broadcastStatus('btc', TXID)).toMatchObject({ status: 'rejected' })
})

test('an accepted broadcast resolves with the locally computed txid once a node holds it, sent to every node as the transaction alone', async () => {
  const { proxy } = await corePool(2)
  const sent: unknown[] = []
  for (const node of nodes) {
    let holds = false
    node.on('sendrawtransaction', (_method, value) => {
      sent.push(value)
      holds = true
      return { result: TXID }
    })
    node.on('getmempoolentry', () => (holds ? { result: { vsize: 275 } } : { error: { code: -5, message: 'Transaction not in mempool' } }))
  }
  expect(await bitcoinRpc(proxy, 'btc', { client: 'sweeper' }).sendrawtransaction(RAW)).toBe(TXID)
  await proxy.drainBroadcasts('btc')
  expect(await proxy.broadcastStatus('btc', TXID)).toMatchObject({ status: 'pending', client: 'sweeper' })
  expect(sent).toEqual([[RAW], [RAW]])
})
