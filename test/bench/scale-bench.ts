/**
 * `npm run bench -- --scale`: what probing costs when one switchyard watches many nodes. One
 * process with 10 chains × 50 fast nodes, then 20 × 50 (500, then 1,000 nodes), probed every
 * second. For each: time to /readyz and to every node routable, switchyard's CPU share while only
 * probing (from /proc/<pid>/stat), the calls the nodes really served a second (so the probe rate
 * is shown, not assumed), RSS idle and after a light load, p50/p99 of cached calls at a light rate
 * while probing, and the size and time of one /metrics scrape. CPU per node at both sizes shows
 * whether the probing cost is linear in nodes. Results: stdout and test-output/bench-scale.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type BenchProcesses, type FastNodes, clockTicksPerSecond, cpuMs, peakRssMb, rssMb, startFastNodes, startSwitchyard } from './bench-processes.js'
import { type PacedLatency, pacedLatency, ratio } from './measure.js'

const NODES_PER_CHAIN = 50
/** Fast nodes one fake-node process serves: a few processes, not one per chain, on a 2-core machine. */
const NODES_PER_PROCESS = 250
const PROBE_INTERVAL_MS = 1_000
const LIGHT_RATE_PER_SECOND = 100

interface ScaleSettings {
  settleSeconds: number
  idleSeconds: number
  loadSeconds: number
}

interface ScaleResult {
  chains: number
  nodes: number
  readyAfterMs: number
  allRoutableAfterMs: number
  routableAtEnd: number
  idleSeconds: number
  /** switchyard CPU while only probing, % of one core. */
  idleCpuPercent: number
  /** The same per node: CPU ms a node costs a second of wall time. */
  cpuMsPerNodeSecond: number
  /** The fake nodes' processes together in the same window, % of one core (the machine they share with switchyard has 2). */
  fakeNodesCpuPercent: number
  /** Calls the fast nodes served a node a second while switchyard was idle: probes and fork checks. */
  nodeCallsPerNodeSecond: number
  rssIdleMb: number
  rssAfterLoadMb: number
  peakRssMb: number
  chainId: PacedLatency
  deepBlock: PacedLatency
  /**
   * The control: eth_chainId sent straight to one fake node at the same rate while switchyard
   * probes them all. What the machine itself adds when its two cores are shared by switchyard,
   * the fake nodes and the load generator: switchyard's p99 cannot be read below this.
   */
  directChainId: PacedLatency
  /** switchyard CPU during the light load (probing included), % of one core. */
  loadCpuPercent: number
  /**
   * The machine's 1-minute load average at the end of the idle window and of the light load: above
   * its 2 cores, other processes were competing and latency figures include waiting for a core.
   */
  loadAverage: [number, number]
  metricsBytes: number
  /** Median of SCRAPES_TIMED scrapes, and the slowest of them. */
  metricsScrapeMs: number
  metricsScrapeMaxMs: number
}

/** Sum of one gauge's samples in a Prometheus text page. */
function sumGauge(page: string, name: string): number {
  let sum = 0
  for (const line of page.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

/** Scrapes timed per size, 200 ms apart. */
const SCRAPES_TIMED = 7

async function scrape(url: string): Promise<{ page: string; ms: number }> {
  const started = performance.now()
  const response = await fetch(`${url}/metrics`)
  const page = await response.text()
  return { page, ms: Math.round((performance.now() - started) * 100) / 100 }
}

async function measureScale(processes: BenchProcesses, chainCount: number, settings: ScaleSettings, ticksPerSecond: number): Promise<ScaleResult> {
  const total = chainCount * NODES_PER_CHAIN
  const fakeNodes: FastNodes[] = []
  for (let served = 0; served < total; served += NODES_PER_PROCESS) fakeNodes.push(await startFastNodes(processes, Math.min(NODES_PER_PROCESS, total - served)))
  const urls = fakeNodes.flatMap((nodes) => nodes.urls)
  const chains = Object.fromEntries(
    Array.from({ length: chainCount }, (_, chain) => [
      `s${chain}`,
      {
        family: 'evm',
        chainId: 31337,
        health: { intervalMs: PROBE_INTERVAL_MS },
        nodes: urls.slice(chain * NODES_PER_CHAIN, (chain + 1) * NODES_PER_CHAIN).map((url, index) => ({ id: `s${chain}-n${index}`, url })),
      },
    ]),
  )
  const started = performance.now()
  const proxy = await startSwitchyard(processes, { chains }, { readyTimeoutMs: 120_000 })
  // Polled slowly: a scrape of this many nodes' series is itself work for switchyard.
  await waitFor(async () => sumGauge((await scrape(proxy.url)).page, 'switchyard_chain_routable_nodes') === total, { timeoutMs: 120_000, everyMs: 500, what: `all ${total} nodes routable` })
  const allRoutableAfterMs = Math.round(performance.now() - started)
  // Past the start-up transients (first connections, JIT) before the idle window.
  await new Promise((resolve) => setTimeout(resolve, settings.settleSeconds * 1000))

  const calls = async () => (await Promise.all(fakeNodes.map((nodes) => nodes.callCount()))).reduce((sum, count) => sum + count, 0)
  const cpuBefore = cpuMs(proxy.pid, ticksPerSecond)
  const fakeCpu = () => fakeNodes.reduce((sum, nodes) => sum + cpuMs(nodes.pid, ticksPerSecond), 0)
  const fakeCpuBefore = fakeCpu()
  const callsBefore = await calls()
  const idleStarted = performance.now()
  // The measurement window: switchyard does nothing but probe during it.
  await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000))
  const idleMs = performance.now() - idleStarted
  const cpuUsedMs = cpuMs(proxy.pid, ticksPerSecond) - cpuBefore
  const fakeCpuUsedMs = fakeCpu() - fakeCpuBefore
  const nodeCalls = (await calls()) - callsBefore
  const rssIdleMb = rssMb(proxy.pid)
  const loadAverageIdle = loadavg()[0]!

  const cpuBeforeLoad = cpuMs(proxy.pid, ticksPerSecond)
  const loadStarted = performance.now()
  const chainId = await pacedLatency(`${proxy.url}/rpc/s0`, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}', { ratePerSecond: LIGHT_RATE_PER_SECOND, seconds: settings.loadSeconds })
  const deepBlock = await pacedLatency(`${proxy.url}/rpc/s1`, '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x1",false]}', {
    ratePerSecond: LIGHT_RATE_PER_SECOND,
    seconds: settings.loadSeconds,
  })
  const loadCpuPercent = Math.round(((cpuMs(proxy.pid, ticksPerSecond) - cpuBeforeLoad) / (performance.now() - loadStarted)) * 1000) / 10
  const directChainId = await pacedLatency(urls[0]!, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}', { ratePerSecond: LIGHT_RATE_PER_SECOND, seconds: settings.loadSeconds })
  const loadAverageLoaded = loadavg()[0]!
  const rssAfterLoadMb = rssMb(proxy.pid)
  await scrape(proxy.url) // the first scrape registers label sets lazily; time later ones
  // One scrape's time swings 2-3× with what else the cores do: the median of several, and the slowest.
  const scrapes: Array<{ page: string; ms: number }> = []
  for (let index = 0; index < SCRAPES_TIMED; index++) {
    scrapes.push(await scrape(proxy.url))
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const metrics = scrapes[scrapes.length - 1]!
  const scrapeTimes = scrapes.map((one) => one.ms).sort((a, b) => a - b)
  const result: ScaleResult = {
    chains: chainCount,
    nodes: total,
    readyAfterMs: proxy.readyAfterMs,
    allRoutableAfterMs,
    routableAtEnd: sumGauge(metrics.page, 'switchyard_chain_routable_nodes'),
    idleSeconds: Math.round(idleMs / 100) / 10,
    idleCpuPercent: Math.round((cpuUsedMs / idleMs) * 1000) / 10,
    cpuMsPerNodeSecond: Math.round((cpuUsedMs / (idleMs / 1000) / total) * 1000) / 1000,
    fakeNodesCpuPercent: Math.round((fakeCpuUsedMs / idleMs) * 1000) / 10,
    nodeCallsPerNodeSecond: Math.round((nodeCalls / (idleMs / 1000) / total) * 100) / 100,
    rssIdleMb,
    rssAfterLoadMb,
    peakRssMb: peakRssMb(proxy.pid),
    chainId,
    deepBlock,
    directChainId,
    loadCpuPercent,
    loadAverage: [loadAverageIdle, loadAverageLoaded].map((value) => Math.round(value * 100) / 100) as [number, number],
    metricsBytes: Buffer.byteLength(metrics.page),
    metricsScrapeMs: scrapeTimes[Math.floor(scrapeTimes.length / 2)]!,
    metricsScrapeMaxMs: scrapeTimes[scrapeTimes.length - 1]!,
  }
  await processes.stop(proxy)
  await processes.stop(...fakeNodes)
  return result
}

export async function runScaleBench(processes: BenchProcesses, options: { quick: boolean }): Promise<void> {
  const settings: ScaleSettings = options.quick ? { settleSeconds: 3, idleSeconds: 10, loadSeconds: 5 } : { settleSeconds: 5, idleSeconds: 30, loadSeconds: 10 }
  const ticksPerSecond = clockTicksPerSecond()
  const results: ScaleResult[] = []
  for (const chainCount of [10, 20]) results.push(await measureScale(processes, chainCount, settings, ticksPerSecond))
  const [small, large] = results as [ScaleResult, ScaleResult]
  const report = {
    probeIntervalMs: PROBE_INTERVAL_MS,
    nodesPerChain: NODES_PER_CHAIN,
    lightRatePerSecond: LIGHT_RATE_PER_SECOND,
    ...settings,
    results,
    /** CPU per node at 1,000 nodes / at 500: 1 is linear, above 1 worse than linear. */
    cpuPerNodeLargeOverSmall: ratio(large.cpuMsPerNodeSecond, small.cpuMsPerNodeSecond),
  }
  mkdirSync('test-output', { recursive: true })
  writeFileSync('test-output/bench-scale.json', `${JSON.stringify(report, null, 2)}\n`)
  const latency = (paced: PacedLatency) => `${paced.p50Ms} / ${paced.p99Ms}${paced.failed > 0 ? ` (${paced.failed} failed)` : ''}`
  const rows: Array<[string, (result: ScaleResult) => string | number]> = [
    ['nodes (chains × 50)', (r) => `${r.nodes} (${r.chains} × ${NODES_PER_CHAIN})`],
    ['ready (/readyz 200), s', (r) => r.readyAfterMs / 1000],
    ['all nodes routable, s', (r) => r.allRoutableAfterMs / 1000],
    ['routable nodes at the end', (r) => r.routableAtEnd],
    [`CPU while probing (${settings.idleSeconds} s), % of a core`, (r) => r.idleCpuPercent],
    ['CPU ms per node per second', (r) => r.cpuMsPerNodeSecond],
    ['fake nodes\' CPU meanwhile, % of a core', (r) => r.fakeNodesCpuPercent],
    ['node calls per node per second', (r) => r.nodeCallsPerNodeSecond],
    ['RSS idle / after light load / peak, MB', (r) => `${r.rssIdleMb} / ${r.rssAfterLoadMb} / ${r.peakRssMb}`],
    [`eth_chainId at ${LIGHT_RATE_PER_SECOND}/s, p50 / p99 ms`, (r) => latency(r.chainId)],
    [`deep eth_getBlockByNumber at ${LIGHT_RATE_PER_SECOND}/s, p50 / p99 ms`, (r) => latency(r.deepBlock)],
    [`control: eth_chainId direct, p50 / p99 ms`, (r) => latency(r.directChainId)],
    ['CPU under the light load, % of a core', (r) => r.loadCpuPercent],
    ['machine load average (idle / loaded)', (r) => r.loadAverage.join(' / ')],
    [`/metrics scrape: KB / median ms / slowest ms of ${SCRAPES_TIMED}`, (r) => `${Math.round(r.metricsBytes / 1024)} / ${r.metricsScrapeMs} / ${r.metricsScrapeMaxMs}`],
  ]
  process.stdout.write(`\nScale: one switchyard, ${NODES_PER_CHAIN} fake nodes a chain, probes every ${PROBE_INTERVAL_MS} ms\n\n`)
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(52)}${results.map((result) => String(value(result)).padEnd(24)).join('')}\n`)
  process.stdout.write(`\nCPU per node, 1,000 nodes / 500 nodes: ${report.cpuPerNodeLargeOverSmall} (1 = linear)\nResults: test-output/bench-scale.json\n`)
}
