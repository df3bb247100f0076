/**
 * The journal stays bounded against real nodes (bcoin, anvil) and a real SQLite file, through the real proxy:
 * rejected junk leaves no raw bytes behind and expires after `journal.retentionDays` (by an injected
 * clock, pruned by the proxy's own timer); a client cannot hold more than `journal.maxOpenPerClient`
 * unconfirmed broadcasts (the next one is refused before any node sees it); a record a node keeps
 * losing gains outcomes every rebroadcast round but keeps only a bounded list.
 */
import { existsSync, statSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transaction as BitcoinTransaction } from 'bitcoinjs-lib'
import { Transaction, Wallet } from 'ethers'
import type { FastifyInstance } from 'fastify'
import { afterEach, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { createProxy } from '../../src/index.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'
import { type FundedUtxo, type TestKey, createTestKey, fundKey, p2pkhAddress, signSpend } from '../support/bitcoin-wallet.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const funded = [
  new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'),
  new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'),
]
const recipient = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const transfer = (wallet: Wallet, nonce: number, overrides: Record<string, unknown> = {}) =>
  wallet.signTransaction({ to: recipient, value: 1n, gasLimit: 21_000n, nonce, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2, ...overrides })
const hashOf = (raw: string) => Transaction.from(raw).hash!.toLowerCase()

let anvils: AnvilNode[] = []
let bcoins: BcoinNode[] = []
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await Promise.all([...anvils, ...bcoins].map((node) => node.stop()))
  anvils = []
  bcoins = []
})

async function startAnvils(count: number): Promise<AnvilNode[]> {
  anvils = await Promise.all(Array.from({ length: count }, (_, index) => startAnvil({ id: `eth-${index}`, noMining: true })))
  return anvils
}

const chainConfig = (nodes: AnvilNode[], extra: Record<string, unknown> = {}) => ({
  family: 'evm' as const,
  chainId: 31337,
  confirmations: 1,
  // Neither probes nor rebroadcasts come round by themselves: the test drives them.
  health: { intervalMs: 600_000 },
  broadcast: { fanout: nodes.length, rebroadcastIntervalMs: 600_000 },
  nodes: nodes.map((node, index) => ({ id: node.id, url: node.url, provider: `p${index}` })),
  ...extra,
})

async function journalPath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'switchyard-retention-')), 'journal.sqlite')
}

const walBytes = (path: string): number => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0)
/** The journal's bytes on disk: the file and its WAL. */
const onDisk = (path: string): number => statSync(path).size + walBytes(path)

test('400 rejected junk transactions of 100 kB each (bcoin) leave a small journal, and expire after retentionDays (injected clock)', { timeout: 180_000 }, async () => {
  // One node: the cost of junk is the node's (it answers, then is looked up 5 times), not the journal's.
  bcoins = [await startBcoin({ id: 'btc-a' })]
  const key = createTestKey(7)
  const coin = await fundKey(bcoins[0]!, key, 101)
  const path = await journalPath()
  // System time plus a jump the test makes: time still runs for the proxy, and 31 days pass at once.
  let offsetMs = 0
  const clock = { now: () => Date.now() + offsetMs }
  const proxy: Proxy = createProxy(
    {
      log: { level: 'silent' },
      journal: { path, retentionDays: 30, pruneIntervalMs: 50 },
      chains: {
        btc: {
          family: 'bitcoin',
          network: 'regtest',
          health: { intervalMs: 600_000 },
          broadcast: { fanout: 1, rebroadcastIntervalMs: 600_000 },
          nodes: bcoins.map((node, index) => ({ id: node.id, url: node.url, provider: `p${index}` })),
        },
      },
    },
    { clock },
  )
  await proxy.start()
  const app: FastifyInstance = buildApp(proxy)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(async () => {
    await app.close()
    await proxy.close()
  })
  const send = async (hex: string) =>
    (await (await fetch(`${base}/rpc/btc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sendrawtransaction', params: [hex] }) })).json()) as {
      result?: string
      error?: { code: number; message: string; data?: { code?: string } }
    }

  // One real withdrawal that stays open (in the mempool, never mined here) the whole time.
  const withdrawal = signSpend(coin, key, [{ address: p2pkhAddress(9), valueSats: coin.valueSats - 10_000 }])
  expect((await send(withdrawal.hex)).result).toBe(withdrawal.txid)
  const emptyBytes = onDisk(path)

  // Junk: 100 kB each, spending a real coin with a garbage signature. bcoin answers with the txid and
  // then drops it; no lookup finds it, so every one is rejected (SY_TX_NOT_ACCEPTED).
  const junk = Array.from({ length: 400 }, (_, index) => junkSpend(coin, key, index))
  const rawBytes = junk.reduce((sum, tx) => sum + tx.hex.length, 0)
  const answers: Array<Awaited<ReturnType<typeof send>>> = []
  for (let start = 0; start < junk.length; start += 16) answers.push(...(await Promise.all(junk.slice(start, start + 16).map((tx) => send(tx.hex)))))
  expect(answers.filter((answer) => answer.error?.data?.code !== 'SY_TX_NOT_ACCEPTED')).toEqual([])
  expect(await proxy.journal.count('btc', ['rejected'])).toBe(400)
  const sample = await proxy.journal.get('btc', junk[123]!.txid)
  expect(sample).toMatchObject({ status: 'rejected' })
  expect(sample!.raw).toBeUndefined()
  expect(sample!.outcomes.map((outcome) => [outcome.nodeId, outcome.outcome, outcome.lookup])).toEqual([['btc-a', 'accepted', 'absent']])

  const afterJunk = onDisk(path)
  recordFigure('journal.junk400.rawBytesSent', rawBytes)
  recordFigure('journal.junk400.bytesBefore', emptyBytes)
  recordFigure('journal.junk400.bytesAfter', afterJunk)
  recordFigure('journal.junk400.fileBytesAfter', statSync(path).size)
  recordFigure('journal.junk400.walBytesAfter', walBytes(path))
  // 80 MB of raw hex went through; the journal kept the verdicts, not the bytes. The file holds the
  // records; the WAL is reused in place and stays under SQLite's autocheckpoint (1,000 pages, ~4 MB)
  // whatever went through.
  expect(rawBytes).toBeGreaterThan(80_000_000)
  expect(statSync(path).size).toBeLessThan(2_000_000)
  expect(walBytes(path)).toBeLessThan(4_500_000)

  // 31 days later the proxy's own prune timer deletes the rejected records, never the open withdrawal.
  offsetMs = 31 * 86_400_000
  await waitFor(async () => (await proxy.journal.count('btc', ['rejected'])) === 0, { timeoutMs: 20_000, what: 'the expired junk to be pruned' })
  expect(await proxy.journal.get('btc', withdrawal.txid)).toMatchObject({ status: 'pending', raw: withdrawal.hex })
  const afterPrune = onDisk(path)
  recordFigure('journal.junk400.bytesAfterPrune', afterPrune)
  expect(afterPrune).toBeLessThan(afterJunk)
})

/**
 * A 100 kB transaction spending `coin`: one output whose script is 100,000 × OP_1 (non-standard)
 * and a signature that cannot verify; `index` makes each one distinct.
 */
function junkSpend(coin: FundedUtxo, key: TestKey, index: number): { hex: string; txid: string } {
  const tx = new BitcoinTransaction()
  tx.version = 1
  tx.addInput(Buffer.from(coin.txid, 'hex').reverse(), coin.vout, 0xffffffff)
  tx.addOutput(Buffer.alloc(100_000, 0x51), BigInt(1_000 + index))
  tx.setInputScript(0, Buffer.concat([Buffer.from([71]), Buffer.alloc(71, 0x30), Buffer.from([33]), Buffer.from(key.publicKey)]))
  return { hex: tx.toHex(), txid: tx.getId() }
}

test('maxOpenPerClient: one broadcast over the bound is refused with SY_TOO_MANY_OPEN before any node sees it; per client; anonymous clients share one bound', async () => {
  const nodes = await startAnvils(2)
  const test: TestProxy = await startTestProxy({ journal: { path: await journalPath(), maxOpenPerClient: 2 }, chains: { eth: chainConfig(nodes) } }, { autoProbe: true })
  cleanups.push(() => test.close())
  const send = (raw: string) => test.rpc('eth', { jsonrpc: '2.0', id: 7, method: 'eth_sendRawTransaction', params: [raw] })
  const everyNodeHas = async (hash: string) => (await Promise.all(nodes.map((node) => node.rpc('eth_getTransactionByHash', [hash])))).map((found) => found !== null)

  // No client keys: every HTTP broadcast is the anonymous client.
  const anonymous = await Promise.all([0, 1, 2].map((nonce) => transfer(funded[0]!, nonce)))
  expect((await send(anonymous[0]!)).json.result).toBe(hashOf(anonymous[0]!))
  expect((await send(anonymous[1]!)).json.result).toBe(hashOf(anonymous[1]!))
  const refused = await send(anonymous[2]!)
  expect(refused.status).toBe(429)
  expect(refused.json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32069, data: { code: 'SY_TOO_MANY_OPEN', chain: 'eth', open: 2, limit: 2, bound: 'journal.maxOpenPerClient' } } })
  expect(refused.json.error.message).toMatch(/anonymous clients .* 2 eth broadcasts not yet confirmed/)
  expect(await everyNodeHas(hashOf(anonymous[2]!))).toEqual([false, false])
  expect(await test.proxy.broadcastStatus('eth', hashOf(anonymous[2]!))).toBeUndefined()
  // A repeat of an open one adds no record: never refused.
  expect((await send(anonymous[0]!)).json.result).toBe(hashOf(anonymous[0]!))

  // A named client has its own bound, and its name is on the record.
  const alice = await Promise.all([0, 1, 2].map((nonce) => transfer(funded[1]!, nonce)))
  expect((await test.proxy.broadcast('eth', alice[0]!, { client: 'alice' })).txid).toBe(hashOf(alice[0]!))
  expect((await test.proxy.broadcast('eth', alice[1]!, { client: 'alice' })).txid).toBe(hashOf(alice[1]!))
  expect(await test.proxy.broadcastStatus('eth', hashOf(alice[0]!))).toMatchObject({ client: 'alice', status: 'pending' })
  await expect(test.proxy.broadcast('eth', alice[2]!, { client: 'alice' })).rejects.toMatchObject({ code: 'SY_TOO_MANY_OPEN', details: { client: 'alice', open: 2 } })
  expect(await everyNodeHas(hashOf(alice[2]!))).toEqual([false, false])

  // Once they confirm, there is room again.
  await Promise.all(nodes.map((node) => node.mine(1)))
  await test.probe()
  await test.proxy.rebroadcast('eth')
  expect(await test.proxy.journal.count('eth', ['pending', 'seen'])).toBe(0)
  expect(await test.proxy.journal.count('eth', ['confirmed'])).toBe(4)
  expect((await send(anonymous[2]!)).json.result).toBe(hashOf(anonymous[2]!))
  expect((await test.proxy.broadcast('eth', alice[2]!, { client: 'alice' })).txid).toBe(hashOf(alice[2]!))
  expect(await everyNodeHas(hashOf(alice[2]!))).toEqual([true, true])
})

test('a record one node keeps losing gains an outcome every rebroadcast round, but keeps only a bounded list', async () => {
  const nodes = await startAnvils(2)
  const test = await startTestProxy({ journal: { path: await journalPath(), outcomeHistory: 5 }, chains: { eth: chainConfig(nodes) } }, { autoProbe: true })
  cleanups.push(() => test.close())
  const raw = await transfer(funded[0]!, 0)
  const hash = hashOf(raw)
  expect((await test.rpc('eth', { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] })).json.result).toBe(hash)
  await test.proxy.drainBroadcasts('eth')
  const rounds = 60
  for (let round = 0; round < rounds; round++) {
    // eth-1 loses it every time (evicted, restarted): each round re-sends it there and records that.
    await nodes[1]!.rpc('anvil_dropTransaction', [hash])
    await test.proxy.rebroadcast('eth')
  }
  const record = (await test.proxy.broadcastStatus('eth', hash))!
  expect(record.rebroadcasts).toBe(rounds)
  expect(record.status).toBe('seen')
  recordFigure('journal.stuckRecord.rounds', rounds)
  recordFigure('journal.stuckRecord.outcomesKept', record.outcomes.length)
  // outcomeHistory 5, plus each node's first and latest (2 nodes).
  expect(record.outcomes.length).toBeLessThanOrEqual(5 + 2 * 2)
  // The first fan-out's verdicts are still there, and so is the last round.
  expect(record.outcomes.slice(0, 2).map((outcome) => [outcome.nodeId, outcome.outcome]).sort()).toEqual([
    ['eth-0', 'accepted'],
    ['eth-1', 'accepted'],
  ])
  expect(record.outcomes.at(-1)).toMatchObject({ nodeId: 'eth-1', outcome: 'rebroadcast: accepted', lookup: 'mempool' })
  expect(record.outcomes.filter((outcome) => outcome.outcome === 'rebroadcast: accepted')).toHaveLength(5)
})
