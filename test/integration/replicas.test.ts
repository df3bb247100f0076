/**
 * Two switchyard replicas (the CLI, real processes) on one PostgreSQL journal in front of one
 * anvil that does not mine on its own. Each replica reaches the node through its own counting
 * front, so every send and lookup of a transaction is attributed to the replica that made it.
 *
 * - While both live, the record replica A accepted (and claimed) is rebroadcast by A alone: the
 *   node loses it three times and only A's front sees it sent again; B never even looks it up.
 * - A is killed with SIGKILL (once right after answering a second broadcast): B takes A's records
 *   over only once A's lease ran out, re-sends them to the node that lost them, and follows them
 *   to `confirmed` when blocks are mined.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transaction, Wallet } from 'ethers'
import pg from 'pg'
import { afterAll, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { stopProcess } from '../../src/devnet/child-process.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { recordFigure } from '../support/figures.js'
import { type NodeFront, startNodeFront } from '../support/node-front.js'
import { type PostgresServer, startPostgres } from '../support/postgres.js'

const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
/** Lease of a replica's claims, ms: 30 rebroadcast rounds, so a busy machine never lets a live owner's claim run out. */
const LEASE_MS = 6_000

let postgres: PostgresServer | undefined
let anvil: AnvilNode | undefined
let dir: string | undefined
const fronts: NodeFront[] = []
const children: ChildProcess[] = []
let db: pg.Client | undefined

afterAll(async () => {
  await Promise.all(children.map((child) => stopProcess(child, 0)))
  await db?.end()
  await Promise.all(fronts.map((front) => front.close()))
  await anvil?.stop()
  await postgres?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** What one replica's front saw of each transaction: sends (with the time of each) and lookups. */
interface Seen {
  sends: Map<string, number[]>
  lookups: Map<string, number>
}

async function countingFront(target: string): Promise<{ front: NodeFront; seen: Seen }> {
  const front = await startNodeFront(target)
  const seen: Seen = { sends: new Map(), lookups: new Map() }
  front.on('eth_sendRawTransaction', (params) => {
    const hash = Transaction.from((params as string[])[0]!).hash!.toLowerCase()
    seen.sends.set(hash, [...(seen.sends.get(hash) ?? []), Date.now()])
    return undefined
  })
  front.on('eth_getTransactionByHash', (params) => {
    const hash = String((params as string[])[0]).toLowerCase()
    seen.lookups.set(hash, (seen.lookups.get(hash) ?? 0) + 1)
    return undefined
  })
  fronts.push(front)
  return { front, seen }
}

interface Replica {
  name: string
  child: ChildProcess
  base: string
  /** Its claim owner id starts with this (host name and pid). */
  ownerPrefix: string
  exited: Promise<void>
}

async function startReplica(name: string, nodeUrl: string, journalUrl: string): Promise<Replica> {
  const port = await freePort()
  const configFile = join(dir!, `${name}.yaml`)
  await writeFile(
    configFile,
    `server: { port: ${port} }
log: { level: silent }
journal:
  store: postgres
  postgres: { url: "\${SWITCHYARD_JOURNAL_URL}", poolSize: 2 }
  claimLeaseMs: ${LEASE_MS}
shutdown: { graceMs: 0 }
chains:
  eth:
    family: evm
    chainId: 31337
    confirmations: 2
    health: { intervalMs: 200 }
    broadcast: { rebroadcastIntervalMs: 200 }
    nodes:
      - { id: eth-0, url: "${nodeUrl}" }
`,
  )
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SWITCHYARD_JOURNAL_URL: journalUrl },
  })
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const base = `http://127.0.0.1:${port}`
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`replica ${name} exited ${child.exitCode}: ${stderr.slice(-2_000)}`)
      return (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200
    },
    { timeoutMs: 30_000, what: `replica ${name} ready` },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; stderr: ${stderr.slice(-2_000)}`)
  })
  return { name, child, base, ownerPrefix: `${hostname()}:${child.pid}:`, exited }
}

async function broadcast(replica: Replica, raw: string): Promise<string> {
  const response = await fetch(`${replica.base}/rpc/eth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }) })
  const body = (await response.json()) as { result?: string; error?: unknown }
  if (body.result === undefined) throw new Error(`broadcast through ${replica.name} failed: ${JSON.stringify(body.error)}`)
  return body.result.toLowerCase()
}

/** The claim columns of a record, read straight from the journal's table. */
async function lease(txid: string): Promise<{ owner: string | null; until: number }> {
  const { rows } = await db!.query<{ lease_owner: string | null; lease_until: string }>('SELECT lease_owner, lease_until FROM switchyard_broadcasts WHERE chain = $1 AND txid = $2', ['eth', txid])
  if (rows[0] === undefined) throw new Error(`${txid} is not in the journal`)
  return { owner: rows[0].lease_owner, until: Number(rows[0].lease_until) }
}

const sign = (nonce: number): Promise<string> =>
  wallet.signTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, gasLimit: 21_000n, nonce, chainId: 31337n, gasPrice: 2_000_000_000n, type: 0 })

test('two replicas on one PostgreSQL journal: one rebroadcasts a record while its owner lives, the other takes it over after a kill -9 once the lease ran out, and follows it to confirmed', async () => {
  postgres = await startPostgres()
  const journalUrl = await postgres.createDatabase()
  db = new pg.Client({ connectionString: journalUrl })
  await db.connect()
  dir = await mkdtemp(join(tmpdir(), 'switchyard-replicas-'))
  anvil = await startAnvil({ id: 'eth-0', noMining: true })
  const [fa, fb] = await Promise.all([countingFront(anvil.url), countingFront(anvil.url)])
  const inNode = async (hash: string): Promise<boolean> => (await anvil!.rpc('eth_getTransactionByHash', [hash])) !== null

  // A alone first: it accepts tx1 and its rebroadcaster claims the record.
  const a = await startReplica('a', fa.front.url, journalUrl)
  const tx1 = await broadcast(a, await sign(0))
  await waitFor(async () => (await lease(tx1)).owner?.startsWith(a.ownerPrefix), { what: 'A to claim tx1' })
  const b = await startReplica('b', fb.front.url, journalUrl)

  // Both live: the node loses tx1 three times; each time A's round sends it again, B does nothing with it.
  const sentByA = (): number => fa.seen.sends.get(tx1)?.length ?? 0
  for (let drop = 1; drop <= 3; drop++) {
    const before = sentByA()
    await anvil.rpc('anvil_dropTransaction', [tx1])
    await waitFor(async () => sentByA() > before && (await inNode(tx1)), { what: `A to rebroadcast tx1 after drop ${drop}` })
  }
  // B runs rounds all along (it probes and claims), it just has nothing it may rebroadcast: after
  // more than 3 of its probe rounds (the drops can be over sooner on a quiet machine), still nothing.
  await waitFor(() => fb.front.calls.filter((method) => method === 'eth_blockNumber').length > 3, { what: 'B to run more than 3 probe rounds' })
  expect(fb.seen.sends.get(tx1) ?? []).toEqual([])
  expect(fb.seen.lookups.get(tx1) ?? 0).toBe(0)
  expect((await lease(tx1)).owner).toMatch(new RegExp(`^${a.ownerPrefix.replaceAll('.', '\\.')}`))
  recordFigure('replicas.liveRebroadcasts.a', sentByA() - 1)
  recordFigure('replicas.liveRebroadcasts.b', fb.seen.sends.get(tx1)?.length ?? 0)

  // tx2 accepted by A, and A killed right after answering: then the node loses both.
  const tx2 = await broadcast(a, await sign(1))
  a.child.kill('SIGKILL')
  await a.exited
  const leases = new Map([
    [tx1, await lease(tx1)],
    [tx2, await lease(tx2)],
  ])
  await waitFor(() => inNode(tx2), { what: 'the node to hold tx2 (A answered after checking it)' })
  for (const hash of [tx1, tx2]) await anvil.rpc('anvil_dropTransaction', [hash])
  expect(await inNode(tx1)).toBe(false)
  expect(await inNode(tx2)).toBe(false)

  // B takes both over and sends them again; a record A held only once A's lease ran out.
  for (const hash of [tx1, tx2]) {
    await waitFor(async () => (fb.seen.sends.get(hash)?.length ?? 0) > 0 && (await inNode(hash)), { timeoutMs: LEASE_MS + 15_000, what: `B to rebroadcast ${hash}` })
    const held = leases.get(hash)!
    if (held.owner?.startsWith(a.ownerPrefix) === true) expect(fb.seen.sends.get(hash)![0]!).toBeGreaterThanOrEqual(held.until)
    expect((await lease(hash)).owner).toMatch(new RegExp(`^${b.ownerPrefix.replaceAll('.', '\\.')}`))
  }
  recordFigure('replicas.takeoverAfterLeaseMs', fb.seen.sends.get(tx1)![0]! - leases.get(tx1)!.until)

  // Blocks: B follows both records to confirmed (depth 2), through its admin API.
  await anvil.mine(3)
  const status = async (hash: string) => (await (await fetch(`${b.base}/admin/api/broadcasts/eth/${hash}`)).json()) as { status: string; confirmations: number; rebroadcasts: number }
  for (const hash of [tx1, tx2]) {
    await waitFor(async () => (await status(hash)).status === 'confirmed', { timeoutMs: 15_000, what: `${hash} confirmed through B` })
    expect((await status(hash)).rebroadcasts).toBeGreaterThanOrEqual(1)
  }
  await stopProcess(b.child)
  // Two CLI processes, a PostgreSQL server and a node start here: slower on a loaded machine than one test's default.
}, 90_000)
