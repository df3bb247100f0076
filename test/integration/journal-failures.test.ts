/**
 * The journal failing after the fan-out: the client learns the transaction was sent but not
 * journaled (SY_TX_NOT_JOURNALED with the txid and the nodes holding it, never SY_INTERNAL),
 * /readyz turns 503 at once with a `journal:health` event, and both recover when the journal works
 * again. Real anvils take the transactions; the journal fails by injection (a full disk) or for
 * real (its directory deleted or replaced by a file, its files made immutable) while running.
 */
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet, keccak256 } from 'ethers'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { SqliteJournal } from '../../src/broadcast/sqlite-journal.js'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { createProxy } from '../../src/index.js'
import type { JournalHealthEvent } from '../../src/proxy-events.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'
import { FailingJournal } from '../support/failing-journal.js'
import { recordFigure } from '../support/figures.js'
import { skipImmutableFileTests } from '../support/immutable-files.js'

const wallet = new Wallet('0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6') // anvil dev key 3
let anvils: AnvilNode[] = []
let nonce = 0
let running: { proxy: Proxy; app: FastifyInstance } | undefined
const immutable: string[] = []

beforeAll(async () => {
  anvils = await Promise.all(['eth-0', 'eth-1'].map((id) => startAnvil({ id, noMining: true })))
})
afterEach(async () => {
  for (const path of immutable.splice(0)) execFileSync('chattr', ['-i', path])
  await running?.app.close()
  await running?.proxy.close()
  running = undefined
})
afterAll(async () => {
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

async function start(journalConfig: { path?: string; checkIntervalMs?: number }, journal?: FailingJournal): Promise<{ proxy: Proxy; app: FastifyInstance }> {
  const proxy = createProxy(
    {
      log: { level: 'silent' },
      journal: { path: ':memory:', ...journalConfig },
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          health: { intervalMs: 60_000 },
          broadcast: { fanout: 2, rebroadcastIntervalMs: 60_000 },
          nodes: anvils.map((anvil, index) => ({ id: anvil.id, url: anvil.url, provider: `p${index}` })),
        },
      },
    },
    journal === undefined ? {} : { journal },
  )
  const app = buildApp(proxy, { logger: false })
  await app.ready()
  await proxy.start()
  running = { proxy, app }
  return running
}

const send = async (app: FastifyInstance, raw: string) => {
  const response = await app.inject({ method: 'POST', url: '/rpc/eth', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }) })
  return { status: response.statusCode, json: response.json() }
}
const ready = async (app: FastifyInstance) => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode
const held = async (hash: string) => Promise.all(anvils.map(async (anvil) => (await anvil.rpc('eth_getTransactionByHash', [hash])) !== null))
const nextSigned = () => wallet.signTransaction({ to: wallet.address, value: 1n, gasLimit: 21_000n, nonce: nonce++, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
function nextHealthEvent(proxy: Proxy, state: JournalHealthEvent['state']): Promise<JournalHealthEvent> {
  return new Promise((resolve) => {
    const listener = (event: JournalHealthEvent): void => {
      if (event.state !== state) return
      proxy.events.off('journal:health', listener)
      resolve(event)
    }
    proxy.events.on('journal:health', listener)
  })
}

test('a journal write failing after the fan-out: SY_TX_NOT_JOURNALED with the txid and holders (again on retry), /readyz 503 and an event; recovery ends both', async () => {
  const journal = new FailingJournal()
  journal.silentUntilWritten = true
  const { proxy, app } = await start({ checkIntervalMs: 25 }, journal)
  expect(await ready(app)).toBe(200)
  const events: JournalHealthEvent[] = []
  proxy.events.on('journal:health', (event) => events.push(event))
  journal.failure = 'SQLITE_FULL: database or disk is full'
  const raw = await nextSigned()
  const hash = keccak256(raw)

  const first = await send(app, raw)
  expect(first.status).toBe(200)
  expect(first.json.error).toMatchObject({ code: -32064, data: { code: 'SY_TX_NOT_JOURNALED', chain: 'eth', txid: hash } })
  expect(first.json.error.message).toMatch(/was sent .* but the journal write failed: do not re-sign/)
  expect([...first.json.error.data.heldBy].sort()).toEqual(['eth-0', 'eth-1'])
  expect(await held(hash)).toEqual([true, true])
  expect(await ready(app)).toBe(503)
  expect(events).toEqual([expect.objectContaining({ state: 'failed', chain: 'eth', txid: hash, detail: expect.stringMatching(/disk is full/) })])

  // A wallet's retry gets the same specific answer, not a 500.
  const retry = await send(app, raw)
  expect(retry.json.error).toMatchObject({ data: { code: 'SY_TX_NOT_JOURNALED', txid: hash } })

  const recovered = nextHealthEvent(proxy, 'recovered')
  journal.failure = undefined
  await recovered
  expect(await ready(app)).toBe(200)
  const after = await send(app, raw)
  expect(after.json).toMatchObject({ result: hash })
  expect(await proxy.broadcastStatus('eth', hash)).toMatchObject({ status: 'pending' })
  expect(events.map((event) => event.state)).toEqual(['failed', 'recovered'])
  expect(journal.failedWrites).toBeGreaterThanOrEqual(2)
})

test('the journal directory deleted at run time: the next broadcast says not journaled at once, a check restores the file with that record, and it survives a restart', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'data')
  const path = join(dir, 'journal.sqlite')
  // Checks far apart: this test drives them, so the broadcast meets the deleted file first.
  const { proxy, app } = await start({ path, checkIntervalMs: 3_600_000 })
  const before = await send(app, await nextSigned())
  expect(before.json.result).toMatch(/^0x/)
  rmSync(dir, { recursive: true })

  const raw = await nextSigned()
  const during = await send(app, raw)
  expect(during.json.error).toMatchObject({ data: { code: 'SY_TX_NOT_JOURNALED', txid: keccak256(raw) } })
  expect(await ready(app)).toBe(503)
  const recovered = nextHealthEvent(proxy, 'recovered')
  expect(await proxy.journal.health()).toMatchObject({ ok: true })
  expect((await recovered).detail).toMatch(/is gone .*restored from the open connection/)
  expect(await ready(app)).toBe(200)

  await proxy.drainBroadcasts('eth')
  await running!.app.close()
  await running!.proxy.close()
  running = undefined
  const reopened = new SqliteJournal(path)
  const txids = (await reopened.list({})).map((record) => record.txid)
  await reopened.close()
  expect(txids.sort()).toEqual([before.json.result, keccak256(raw)].sort())
})

test('the journal directory replaced by a file (as root too): found by the periodic check without any write, 503 until it is usable again, then recovered', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'switchyard-journal-')), 'data')
  const { proxy, app } = await start({ path: join(dir, 'journal.sqlite'), checkIntervalMs: 25 })
  expect(await ready(app)).toBe(200)
  const failed = nextHealthEvent(proxy, 'failed')
  const brokenAt = performance.now()
  rmSync(dir, { recursive: true })
  writeFileSync(dir, 'not a directory')
  expect((await failed).detail).toMatch(/is gone \(ENOTDIR\)/)
  recordFigure('journal.vanishedDetectedMs', Math.round(performance.now() - brokenAt))
  expect(await ready(app)).toBe(503)
  const raw = await nextSigned()
  expect((await send(app, raw)).json.error).toMatchObject({ data: { code: 'SY_TX_NOT_JOURNALED', txid: keccak256(raw) } })

  const recovered = nextHealthEvent(proxy, 'recovered')
  rmSync(dir)
  await recovered
  expect(await ready(app)).toBe(200)
  expect(await proxy.broadcastStatus('eth', keccak256(raw))).toMatchObject({ status: 'pending' })
})

test.skipIf(skipImmutableFileTests)('journal files made unwritable while running (chattr +i): no crash (SIGBUS before), the client hears not journaled, 503 until writable again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-journal-'))
  const path = join(dir, 'journal.sqlite')
  const { proxy, app } = await start({ path, checkIntervalMs: 25 })
  expect((await send(app, await nextSigned())).json.result).toMatch(/^0x/)
  const failed = nextHealthEvent(proxy, 'failed')
  for (const file of [path, `${path}-wal`]) {
    execFileSync('chattr', ['+i', file])
    immutable.push(file)
  }
  const raw = await nextSigned()
  const response = await send(app, raw)
  expect(response.json.error).toMatchObject({ data: { code: 'SY_TX_NOT_JOURNALED', txid: keccak256(raw) } })
  await failed
  expect(await ready(app)).toBe(503)
  const recovered = nextHealthEvent(proxy, 'recovered')
  for (const file of immutable.splice(0)) execFileSync('chattr', ['-i', file])
  await recovered
  expect(await ready(app)).toBe(200)
  expect((await send(app, await nextSigned())).json.result).toMatch(/^0x/)
})
