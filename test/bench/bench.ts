/**
 * `npm run bench`: the same load against a node directly, through a plain nginx reverse proxy
 * (when Debian's nginx is installed: `apt-get install nginx-light`; the column is left out
 * otherwise) and through switchyard, in one run, reported as ratios (throughput, added latency at
 * p50/p99) plus the proxy's memory. Upstreams: anvil, bcoin, and a minimal in-memory JSON-RPC node
 * (`fast-node.ts`) that isolates the proxy's own cost. The proxy runs as its own process (the
 * CLI), as in production; the load generator (autocannon) runs here. Everything listens on
 * 127.0.0.1. Results: stdout and test-output/bench.json. `--scale` runs `scale-bench.ts` instead.
 *
 * Flags: `--quick` (one 1 s round a path, 3 s of RSS load), `--only <case,…>` (see CASES),
 * `--scale`. Env: BENCH_ROUNDS (default 3), BENCH_ROUND_SECONDS (default 1).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { Wallet } from 'ethers'
import { startAnvil } from '../../src/devnet/anvil.js'
import { startBcoin } from '../../src/devnet/bcoin.js'
import { BenchProcesses, buildSwitchyard, peakRssMb, rssMb, startFastNodes, startNginx, startPassthrough, startSwitchyard, treeRssMb } from './bench-processes.js'
import { type Alternated, DISTINCT, type Measured, type RoundPlan, type Target, alternate, load, pacedLatency, ratio } from './measure.js'
import { runScaleBench } from './scale-bench.js'

const CASES = ['latency', 'blocknumber', 'balance', 'balance-distinct', 'chainid', 'deep-block', 'batch', 'workers', 'cache', 'bcoin-getblock', 'verified', 'getblockhash', 'broadcast', 'rss'] as const
type CaseKey = (typeof CASES)[number]

interface Options {
  scale: boolean
  quick: boolean
  plan: RoundPlan
  /** Seconds of load for the 3 chains × 5 nodes RSS case. */
  rssLoadSeconds: number
  runs(key: CaseKey): boolean
}

function parseOptions(argv: readonly string[]): Options {
  const quick = argv.includes('--quick')
  const onlyAt = argv.indexOf('--only')
  const only = onlyAt === -1 ? undefined : new Set((argv[onlyAt + 1] ?? '').split(','))
  for (const key of only ?? []) if (!(CASES as readonly string[]).includes(key)) throw new Error(`--only: unknown case "${key}" (cases: ${CASES.join(', ')})`)
  return {
    scale: argv.includes('--scale'),
    quick,
    plan: quick ? { rounds: 1, roundSeconds: 1 } : { rounds: Number(process.env.BENCH_ROUNDS ?? 3), roundSeconds: Number(process.env.BENCH_ROUND_SECONDS ?? 1) },
    rssLoadSeconds: quick ? 3 : 10,
    runs: (key) => only === undefined || only.has(key),
  }
}

const rpc = (method: string, params: unknown[] = [], id = 1) => ({ jsonrpc: '2.0', id, method, params })
/** The light rate of the added-latency case: a request every 5 ms, so they rarely overlap. */
const LATENCY_RATE_PER_SECOND = 200
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const CALLS = {
  blockNumber: JSON.stringify(rpc('eth_blockNumber')),
  balance: JSON.stringify(rpc('eth_getBalance', [ADDRESS, 'latest'])),
  // A different address on every request: nothing to coalesce or cache, every call reaches the node.
  balanceDistinct: JSON.stringify(rpc('eth_getBalance', [`0x${DISTINCT}`, 'latest'])),
  chainId: JSON.stringify(rpc('eth_chainId')),
  // Block 1 of ≥ 100: deeper than the default finalityDepth (64), so cacheable once the cache is there.
  deepBlock: JSON.stringify(rpc('eth_getBlockByNumber', ['0x1', false])),
  batch: JSON.stringify(
    [
      ['eth_blockNumber', []],
      ['eth_chainId', []],
      ['eth_getBalance', [ADDRESS, 'latest']],
      ['eth_blockNumber', []],
      ['eth_getBlockByNumber', ['0x1', false]],
      ['eth_blockNumber', []],
      ['eth_getBalance', ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', 'latest']],
      ['eth_getBlockByNumber', ['0x2', false]],
      ['eth_chainId', []],
      ['eth_blockNumber', []],
    ].map(([method, params], index) => rpc(method as string, params as unknown[], index + 1)),
  ),
}
const CONNECTIONS = [1, 32]

/** A measured case with its ratios (path a / path b throughput) and, where there is a direct path, switchyard's added p50. */
interface Row extends Alternated {
  ratios: Record<string, number | undefined>
  addedP50Ms?: number
}

function withRatios(measured: Alternated, ratios: Record<string, [string, string]>): Row {
  const rps = (path: string) => measured.paths[path]?.rps
  const { direct, switchyard } = measured.paths
  return {
    ...measured,
    ratios: Object.fromEntries(Object.entries(ratios).map(([label, [a, b]]) => [label, ratio(rps(a), rps(b))])),
    ...(direct !== undefined && switchyard !== undefined ? { addedP50Ms: Math.round((switchyard.p50Ms - direct.p50Ms) * 100) / 100 } : {}),
  }
}

const THREE_WAY_RATIOS: Record<string, [string, string]> = {
  'sy/direct': ['switchyard', 'direct'],
  'sy/nginx': ['switchyard', 'nginx'],
  'floor/nginx': ['floor', 'nginx'],
  'sy/floor': ['switchyard', 'floor'],
}
const WORKER_RATIOS: Record<string, [string, string]> = {
  'sy/nginx': ['switchyard', 'nginx'],
  'sy×2/nginx': ['sy 2 workers', 'nginx'],
  'sy×2/sy': ['sy 2 workers', 'switchyard'],
  'floor×2/nginx': ['floor 2 workers', 'nginx'],
  'sy×2/floor×2': ['sy 2 workers', 'floor 2 workers'],
}
const CACHE_RATIOS: Record<string, [string, string]> = { 'sy/direct': ['switchyard', 'direct'], 'cache on/off': ['switchyard', 'sy cache off'] }

/** Mean latency of signed transfers sent one at a time straight to anvil and through switchyard. */
async function compareBroadcasts(directUrl: string, proxiedUrl: string): Promise<{ count: number; directMeanMs: number; proxiedMeanMs: number; ratio: number }> {
  const count = 50
  const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
  const signed: string[] = []
  for (let nonce = 0; nonce < count * 2; nonce++) {
    signed.push(await wallet.signTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, gasLimit: 21_000n, nonce, chainId: 31337n, gasPrice: 2_000_000_000n, type: 0 }))
  }
  const send = async (url: string, raw: string): Promise<number> => {
    const started = performance.now()
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rpc('eth_sendRawTransaction', [raw])) })
    const body = (await response.json()) as { result?: string; error?: { message: string } }
    if (body.result === undefined) throw new Error(`send failed: ${body.error?.message}`)
    return performance.now() - started
  }
  let direct = 0
  let proxied = 0
  // Interleaved, so both paths see the same node state; nonces stay in order.
  for (let index = 0; index < count * 2; index += 2) {
    direct += await send(directUrl, signed[index]!)
    proxied += await send(proxiedUrl, signed[index + 1]!)
  }
  const directMeanMs = Math.round((direct / count) * 100) / 100
  const proxiedMeanMs = Math.round((proxied / count) * 100) / 100
  return { count, directMeanMs, proxiedMeanMs, ratio: Math.round((proxiedMeanMs / directMeanMs) * 10) / 10 }
}

/**
 * Peak memory of a switchyard with 3 chains × 5 fast nodes under 32 connections of mixed load
 * (routed reads on one chain, cacheable deep blocks on another, batches of 10 on the third), from
 * the kernel's high-water mark: nothing can be missed between samples.
 */
async function peakRssUnderLoad(processes: BenchProcesses, seconds: number, memory: { heapGrowingPercent?: number; nodeFlags?: readonly string[] } = {}) {
  const { heapGrowingPercent, nodeFlags } = memory
  const nodes = await startFastNodes(processes, 15)
  const chainNames = ['r1', 'r2', 'r3']
  const chains = Object.fromEntries(
    chainNames.map((name, chain) => [name, { family: 'evm', chainId: 31337, nodes: nodes.urls.slice(chain * 5, chain * 5 + 5).map((url, index) => ({ id: `${name}-n${index}`, url })) }]),
  )
  const proxy = await startSwitchyard(processes, { chains }, { heapGrowingPercent, nodeFlags })
  const rssIdleMb = rssMb(proxy.pid)
  const loads = await Promise.all([
    load({ url: `${proxy.url}/rpc/r1` }, CALLS.balance, 11, seconds),
    load({ url: `${proxy.url}/rpc/r2` }, CALLS.deepBlock, 11, seconds),
    load({ url: `${proxy.url}/rpc/r3` }, CALLS.batch, 10, seconds),
  ])
  const report = {
    chains: 3,
    nodesPerChain: 5,
    heapGrowingPercent: heapGrowingPercent ?? 'default',
    nodeFlags: nodeFlags ?? [],
    connections: 32,
    seconds,
    rssIdleMb,
    peakRssMb: peakRssMb(proxy.pid),
    rssAfterMb: rssMb(proxy.pid),
    rps: Math.round(loads.reduce((sum, measured) => sum + measured.rps, 0)),
    failed: loads.reduce((sum, measured) => sum + measured.errors + measured.non2xx, 0),
  }
  await processes.stop(proxy, nodes)
  return report
}

function printSection(title: string, rows: readonly Row[]): void {
  if (rows.length === 0) return
  const cell = (m: Measured | undefined) => (m === undefined ? '—' : `${Math.round(m.rps)} / ${m.p50Ms} / ${m.p99Ms}`)
  const paths = [...new Set(rows.flatMap((row) => Object.keys(row.paths)))]
  const ratios = [...new Set(rows.flatMap((row) => Object.keys(row.ratios)))]
  const wide = (cells: Array<string | number>) => `${cells.map((value, index) => String(value).padEnd(index === 0 ? 52 : index === 1 ? 7 : 22)).join('')}\n`
  process.stdout.write(`\n${title} (rps / p50 ms / p99 ms)\n${wide(['case', 'conns', ...paths, ...ratios, 'added p50 ms'])}`)
  for (const row of rows) {
    process.stdout.write(wide([row.case, row.connections, ...paths.map((path) => cell(row.paths[path])), ...ratios.map((label) => row.ratios[label] ?? '—'), row.addedP50Ms ?? '—']))
    if (row.answers !== 'ok') process.stdout.write(`  ! answers: ${row.answers}\n`)
    for (const [path, m] of Object.entries(row.paths)) if (m.errors + m.non2xx > 0) process.stdout.write(`  ! ${path}: ${m.errors} errors, ${m.non2xx} non-2xx a round\n`)
  }
}

async function runBench(processes: BenchProcesses, options: Options): Promise<void> {
  const { plan } = options
  // Two anvils of one chain (shared genesis timestamp, deterministic mining): verified reads need
  // two agreeing nodes. 100 blocks so that block 1 is final for the cache (finalityDepth 64).
  const anvil = processes.add(await startAnvil({ id: 'bench-eth', noMining: true }))
  const anvil2 = processes.add(await startAnvil({ id: 'bench-eth-2', noMining: true }))
  await Promise.all([anvil.mine(100), anvil2.mine(100)])
  // 20 blocks: block 2 is deeper than bitcoin's finalityDepth (6).
  const bcoin = processes.add(await startBcoin({ id: 'bench-btc' }))
  await bcoin.generate(20)
  const deepHash = (await bcoin.rpc('getblockhash', [2])) as string
  const fast = await startFastNodes(processes)
  const fastUrl = fast.urls[0]!
  const nginxFast = await startNginx(processes, fastUrl)
  const nginxAnvil = await startNginx(processes, anvil.url)
  const evmNodes = [
    { id: 'eth-a', url: anvil.url },
    { id: 'eth-b', url: anvil2.url },
  ]
  const proxy = await startSwitchyard(processes, {
    chains: {
      eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'eth-a', url: anvil.url }] },
      // The same node with the answer cache off: switchyard's own uncached path, in the same process.
      'eth-nocache': { family: 'evm', chainId: 31337, cache: { enabled: false }, nodes: [{ id: 'eth-a-nocache', url: anvil.url }] },
      fast: { family: 'evm', chainId: 31337, nodes: [{ id: 'fast-a', url: fastUrl }] },
      eth2: { family: 'evm', chainId: 31337, nodes: evmNodes },
      ethv: { family: 'evm', chainId: 31337, verify: { methods: ['eth_getBlockByNumber'] }, nodes: evmNodes },
      btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'btc-a', url: bcoin.url }] },
      'btc-nocache': { family: 'bitcoin', network: 'regtest', cache: { enabled: false }, nodes: [{ id: 'btc-a-nocache', url: bcoin.url }] },
    },
  })
  const via = (chain: string): Target => ({ url: `${proxy.url}/rpc/${chain}` })
  const rssIdleMb = rssMb(proxy.pid)
  const threeWay: Row[] = []
  // The platform's floor in one process, a column of its own: a bare node:http + undici forwarder
  // (passthrough.ts) costs what Node's HTTP stack costs and nothing of switchyard's features.
  const floorFast = await startPassthrough(processes, fastUrl)
  const floorAnvil = await startPassthrough(processes, anvil.url)
  const upstreams = [
    { name: 'fast node', direct: { url: fastUrl }, nginx: nginxFast, floor: { url: floorFast.url }, chain: 'fast' },
    { name: 'anvil', direct: { url: anvil.url }, nginx: nginxAnvil, floor: { url: floorAnvil.url }, chain: 'eth' },
  ]
  const threeWayCases: Array<{ key: CaseKey; label: string; body: string; upstreams: string[] }> = [
    { key: 'blocknumber', label: 'eth_blockNumber', body: CALLS.blockNumber, upstreams: ['fast node', 'anvil'] },
    { key: 'balance', label: 'eth_getBalance latest', body: CALLS.balance, upstreams: ['fast node'] },
    { key: 'balance-distinct', label: 'eth_getBalance latest, distinct addresses', body: CALLS.balanceDistinct, upstreams: ['fast node', 'anvil'] },
    { key: 'chainid', label: 'eth_chainId (cacheable)', body: CALLS.chainId, upstreams: ['fast node', 'anvil'] },
    { key: 'deep-block', label: 'eth_getBlockByNumber 0x1 (cacheable)', body: CALLS.deepBlock, upstreams: ['fast node', 'anvil'] },
    { key: 'batch', label: 'batch of 10 (mixed)', body: CALLS.batch, upstreams: ['fast node', 'anvil'] },
  ]
  for (const at of CONNECTIONS) {
    for (const { key, label, body, upstreams: names } of threeWayCases) {
      if (!options.runs(key)) continue
      for (const upstream of upstreams.filter((candidate) => names.includes(candidate.name))) {
        const targets = { direct: upstream.direct, nginx: upstream.nginx, floor: upstream.floor, switchyard: via(upstream.chain) }
        threeWay.push(withRatios(await alternate(`${upstream.name} ${label}`, targets, body, at, plan), THREE_WAY_RATIOS))
      }
    }
  }
  const rssAfterThreeWayMb = rssMb(proxy.pid)

  // server.workers: 2 (node:cluster) against one process, over the same nodes, in alternating rounds.
  const workers: Row[] = []
  let workersRss: ReturnType<typeof treeRssMb> | undefined
  if (options.runs('workers')) {
    const clustered = await startSwitchyard(processes, { chains: { fast: { family: 'evm', chainId: 31337, nodes: [{ id: 'fast-a', url: fastUrl }] }, eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'eth-a', url: anvil.url }] } } }, { workers: 2 })
    const viaCluster = (chain: string): Target => ({ url: `${clustered.url}/rpc/${chain}` })
    // The platform's floor, also on two workers: a bare node:http + undici forwarder (passthrough.ts).
    const floors = new Map<string, Awaited<ReturnType<typeof startPassthrough>>>()
    for (const upstream of upstreams) floors.set(upstream.name, await startPassthrough(processes, upstream.direct.url, 2))
    for (const { label, body } of [
      { label: 'eth_getBalance latest, distinct addresses', body: CALLS.balanceDistinct },
      { label: 'eth_blockNumber', body: CALLS.blockNumber },
    ]) {
      for (const upstream of upstreams) {
        const targets = { nginx: upstream.nginx, 'floor 2 workers': { url: floors.get(upstream.name)!.url }, switchyard: via(upstream.chain), 'sy 2 workers': viaCluster(upstream.chain) }
        workers.push(withRatios(await alternate(`${upstream.name} ${label}`, targets, body, 32, plan), WORKER_RATIOS))
      }
    }
    workersRss = treeRssMb(clustered.pid)
    await processes.stop(clustered, ...floors.values())
  }

  const btcUrl = new URL(bcoin.url)
  const btcDirect: Target = { url: '', headers: { authorization: `Basic ${Buffer.from(`${decodeURIComponent(btcUrl.username)}:${decodeURIComponent(btcUrl.password)}`).toString('base64')}` } }
  btcUrl.username = ''
  btcUrl.password = ''
  btcDirect.url = btcUrl.toString()
  const cached: Row[] = []
  for (const at of CONNECTIONS) {
    if (options.runs('cache')) {
      const targets = { direct: { url: anvil.url }, switchyard: via('eth'), 'sy cache off': via('eth-nocache') }
      cached.push(withRatios(await alternate('anvil eth_getBlockByNumber 0x1', targets, CALLS.deepBlock, at, plan), CACHE_RATIOS))
    }
    if (options.runs('bcoin-getblock')) {
      const targets = { direct: btcDirect, switchyard: via('btc'), 'sy cache off': via('btc-nocache') }
      cached.push(withRatios(await alternate('bcoin getblock <deep hash> 1', targets, JSON.stringify({ ...rpc('getblock', [deepHash, 1]), jsonrpc: '1.0' }), at, plan), CACHE_RATIOS))
    }
  }

  const verified: Row[] = []
  if (options.runs('verified')) {
    const targets = { plain: via('eth2'), verified: via('ethv') }
    verified.push(withRatios(await alternate('verified (agree 2) vs plain, getBlockByNumber 0x3', targets, JSON.stringify(rpc('eth_getBlockByNumber', ['0x3', false])), 32, plan), { 'verified/plain': ['verified', 'plain'] }))
  }
  const routed: Row[] = []
  if (options.runs('getblockhash')) {
    const body = JSON.stringify({ ...rpc('getblockhash', [3]), jsonrpc: '1.0' })
    routed.push(withRatios(await alternate('bitcoin getblockhash 3 (routed)', { direct: btcDirect, switchyard: via('btc') }, body, 32, plan), { 'sy/direct': ['switchyard', 'direct'] }))
  }
  // Added latency with sub-ms resolution: a light paced load (requests rarely overlap, nothing to
  // coalesce), direct vs nginx vs switchyard in alternating rounds; p50 of each round, then the median round.
  const latency: Array<{ case: string; p50Ms: Record<string, number>; addedP50Ms: Record<string, number> }> = []
  if (options.runs('latency')) {
    // The floor (passthrough.ts, one process) adds what Node's HTTP stack costs.
    const cases = [
      { label: 'fast node eth_getBalance latest', body: CALLS.balance, paths: { direct: fastUrl, nginx: nginxFast?.url, floor: floorFast.url, switchyard: via('fast').url } },
      { label: 'anvil eth_blockNumber', body: CALLS.blockNumber, paths: { direct: anvil.url, nginx: nginxAnvil?.url, floor: floorAnvil.url, switchyard: via('eth').url } },
    ]
    for (const { label, body, paths } of cases) {
      const rounds: Record<string, number[]> = {}
      for (let round = 0; round < Math.max(2, plan.rounds); round++) {
        for (const [path, url] of Object.entries(paths)) {
          if (url === undefined) continue
          const paced = await pacedLatency(url, body, { ratePerSecond: LATENCY_RATE_PER_SECOND, seconds: plan.roundSeconds * 2 })
          ;(rounds[path] ??= []).push(paced.p50Ms)
        }
      }
      const p50Ms = Object.fromEntries(Object.entries(rounds).map(([path, values]) => [path, median(values)]))
      const addedP50Ms = Object.fromEntries(Object.entries(p50Ms).filter(([path]) => path !== 'direct').map(([path, value]) => [path, Math.round((value - p50Ms.direct!) * 1000) / 1000]))
      latency.push({ case: label, p50Ms, addedP50Ms })
    }
  }
  await processes.stop(floorFast, floorAnvil)
  const rssAfterLoadMb = rssMb(proxy.pid)
  const mainPeakRssMb = peakRssMb(proxy.pid)
  const broadcast = options.runs('broadcast') ? await compareBroadcasts(anvil.url, via('eth').url) : undefined
  const rss3x5 = options.runs('rss') ? await peakRssUnderLoad(processes, options.rssLoadSeconds) : undefined
  // The same with V8's own heap growth (server.heapGrowingPercent: 0), to show what the setting saves.
  const rss3x5V8 = options.runs('rss') ? await peakRssUnderLoad(processes, options.rssLoadSeconds, { heapGrowingPercent: 0 }) : undefined
  // And with a small young generation, an operator's option (README): less memory, fewer requests per second.
  const rss3x5SmallYoung = options.runs('rss') ? await peakRssUnderLoad(processes, options.rssLoadSeconds, { nodeFlags: ['--max-semi-space-size=2'] }) : undefined

  // Above the machine's cores, other processes competed with the bench: read the figures with that in mind.
  const report = { loadAverage1m: Math.round(loadavg()[0]! * 100) / 100, plan, connections: CONNECTIONS, nginx: nginxFast !== undefined, rssIdleMb, rssAfterThreeWayMb, rssAfterLoadMb, peakRssMb: mainPeakRssMb, threeWay, workers, workersRss, cached, verified, routed, latency, broadcast, rss3x5, rss3x5V8, rss3x5SmallYoung }
  mkdirSync('test-output', { recursive: true })
  writeFileSync('test-output/bench.json', `${JSON.stringify(report, null, 2)}\n`)
  const perPath = `${plan.rounds} × ${plan.roundSeconds} s per path in alternating rounds, all on 127.0.0.1`
  printSection(`Direct vs nginx vs switchyard, ${perPath}${nginxFast === undefined ? ' — nginx not installed: apt-get install nginx-light' : ''}`, threeWay)
  printSection('server.workers: 2 (node:cluster) vs one process, 32 connections', workers)
  if (workersRss !== undefined) process.stdout.write(`  2-worker cluster RSS after its cases (primary + workers, ${workersRss.processes} processes): ${workersRss.rssMb} MB, sum of peaks ${workersRss.peakRssMb} MB\n`)
  printSection('Cached answers: direct vs switchyard with the cache on and off over the same node', cached)
  printSection('Verified reads (both over the same two anvils)', verified)
  printSection('Bitcoin routed read', routed)
  if (latency.length > 0) {
    process.stdout.write(`\nAdded latency at ${LATENCY_RATE_PER_SECOND} requests/s, one at a time (paced client, sub-ms): p50 ms, median of the rounds\n`)
    for (const row of latency) {
      const paths = Object.entries(row.p50Ms).map(([path, value]) => `${path} ${value}`).join(', ')
      const added = Object.entries(row.addedP50Ms).map(([path, value]) => `${path} +${value}`).join(', ')
      process.stdout.write(`${row.case}: ${paths}; added: ${added}\n`)
    }
  }
  process.stdout.write(`\nswitchyard RSS: ${rssIdleMb} MB idle, ${rssAfterThreeWayMb} MB after the three-way cases, ${rssAfterLoadMb} MB at the end; peak ${mainPeakRssMb} MB\n`)
  for (const [run, heap] of [
    [rss3x5, 'server.heapGrowingPercent default'],
    [rss3x5V8, "heapGrowingPercent 0 (V8's own)"],
    [rss3x5SmallYoung, 'heapGrowingPercent default, node --max-semi-space-size=2'],
  ] as const) {
    if (run === undefined) continue
    process.stdout.write(
      `3 chains × 5 fast nodes, ${heap}, ${run.connections} connections of mixed load for ${run.seconds} s (${run.rps} req/s, ${run.failed} failed): ` +
        `RSS ${run.rssIdleMb} MB idle, peak ${run.peakRssMb} MB, ${run.rssAfterMb} MB after\n`,
    )
  }
  if (broadcast !== undefined) {
    process.stdout.write(
      `eth_sendRawTransaction, ${broadcast.count} sequential sends each: direct mean ${broadcast.directMeanMs} ms, ` +
        `through switchyard mean ${broadcast.proxiedMeanMs} ms (ratio ${broadcast.ratio}; includes the acceptance lookup and the fsync'd journal write)\n`,
    )
  }
  process.stdout.write(`Machine load average (1 min) at the end: ${report.loadAverage1m}\nResults: test-output/bench.json\n`)
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const processes = new BenchProcesses()
  const interrupted = async (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the bench's processes\n`)
    await processes.stopAll()
    process.exit(130)
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    buildSwitchyard()
    if (options.scale) await runScaleBench(processes, { quick: options.quick })
    else await runBench(processes, options)
  } finally {
    await processes.stopAll()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
})
