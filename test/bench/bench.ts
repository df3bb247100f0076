/**
 * `npm run bench`: the same load against a node directly and through switchyard, in one run,
 * reported as ratios (throughput, added latency at p50/p99) plus the proxy's memory.
 * The proxy runs as its own process (the CLI), as in production; the load generator (autocannon)
 * runs here. Everything listens on 127.0.0.1. Results: stdout and test-output/bench.json.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { Wallet } from 'ethers'
import { startAnvil } from '../../src/devnet/anvil.js'
import { startBcoin } from '../../src/devnet/bcoin.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'

const durationSec = Number(process.env.BENCH_SECONDS ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16)

interface Measured {
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  non2xx: number
}

async function load(url: string, body: string, headers: Record<string, string> = {}): Promise<Measured> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration: durationSec,
  })
  return { rps: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx }
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 102.4) / 10
}

async function startSwitchyard(config: object): Promise<{ url: string; process: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort()
  const file = join(tmpdir(), `switchyard-bench-${process.pid}.json`)
  writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port }, shutdown: { graceMs: 0 }, log: { level: 'warn' }, journal: { path: join(tmpdir(), `switchyard-bench-${process.pid}.sqlite`) }, ...config }))
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 20_000, what: 'switchyard ready' })
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

interface Row {
  case: string
  direct: Measured
  proxied: Measured
  rpsRatio: number
  addedP50Ms: number
  addedP99Ms: number
}

async function compare(name: string, directUrl: string, proxiedUrl: string, body: string, headers: Record<string, string>): Promise<Row> {
  // Warm both paths (keep-alive pools, JIT) before measuring; then measure back to back.
  await autocannon({ url: directUrl, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, connections, duration: 1 })
  await autocannon({ url: proxiedUrl, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: 1 })
  const direct = await load(directUrl, body, headers)
  const proxied = await load(proxiedUrl, body)
  return {
    case: name,
    direct,
    proxied,
    rpsRatio: Math.round((proxied.rps / direct.rps) * 1000) / 1000,
    addedP50Ms: Math.round((proxied.p50Ms - direct.p50Ms) * 100) / 100,
    addedP99Ms: Math.round((proxied.p99Ms - direct.p99Ms) * 100) / 100,
  }
}

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
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }) })
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
 * The cost of verified reads: the same read through a plain chain and through a chain whose
 * `verify.methods` lists it (agree 2), both over the same two nodes, measured back to back.
 */
async function compareVerified(plainUrl: string, verifiedUrl: string, body: string): Promise<Row> {
  await autocannon({ url: plainUrl, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: 1 })
  await autocannon({ url: verifiedUrl, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: 1 })
  const plain = await load(plainUrl, body)
  const verified = await load(verifiedUrl, body)
  return {
    case: 'verified eth_getBlockByNumber (agree 2) vs plain',
    direct: plain,
    proxied: verified,
    rpsRatio: Math.round((verified.rps / plain.rps) * 1000) / 1000,
    addedP50Ms: Math.round((verified.p50Ms - plain.p50Ms) * 100) / 100,
    addedP99Ms: Math.round((verified.p99Ms - plain.p99Ms) * 100) / 100,
  }
}

async function main(): Promise<void> {
  // Two anvils of one chain (shared genesis timestamp, deterministic mining): verified reads need two agreeing nodes.
  const anvil = await startAnvil({ id: 'bench-eth', noMining: true })
  const anvil2 = await startAnvil({ id: 'bench-eth-2', noMining: true })
  await Promise.all([anvil.mine(5), anvil2.mine(5)])
  const bcoin = await startBcoin({ id: 'bench-btc' })
  await bcoin.generate(5)
  const evmNodes = [
    { id: 'eth-a', url: anvil.url },
    { id: 'eth-b', url: anvil2.url },
  ]
  const proxy = await startSwitchyard({
    chains: {
      eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'eth-a', url: anvil.url }] },
      eth2: { family: 'evm', chainId: 31337, nodes: evmNodes },
      ethv: { family: 'evm', chainId: 31337, verify: { methods: ['eth_getBlockByNumber'] }, nodes: evmNodes },
      btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'btc-a', url: bcoin.url }] },
    },
  })
  try {
    const rssIdleMb = rssMb(proxy.process.pid!)
    const rows: Row[] = []
    // eth_blockNumber is answered from the pool's read head (monotonic reads): a local answer.
    rows.push(await compare('evm eth_blockNumber (read head)', anvil.url, `${proxy.url}/rpc/eth`, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }), {}))
    rows.push(
      await compare(
        'evm eth_getBalance latest (routed)',
        anvil.url,
        `${proxy.url}/rpc/eth`,
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] }),
        {},
      ),
    )
    rows.push(await compareVerified(`${proxy.url}/rpc/eth2`, `${proxy.url}/rpc/ethv`, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBlockByNumber', params: ['0x3', false] })))
    const btcUrl = new URL(bcoin.url)
    const auth = `Basic ${Buffer.from(`${decodeURIComponent(btcUrl.username)}:${decodeURIComponent(btcUrl.password)}`).toString('base64')}`
    btcUrl.username = ''
    btcUrl.password = ''
    rows.push(await compare('bitcoin getblockhash 3 (routed)', btcUrl.toString(), `${proxy.url}/rpc/btc`, JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'getblockhash', params: [3] }), { authorization: auth }))
    const rssLoadedMb = rssMb(proxy.process.pid!)
    const broadcast = await compareBroadcasts(anvil.url, `${proxy.url}/rpc/eth`)
    const report = { durationSec, connections, rssIdleMb, rssAfterLoadMb: rssLoadedMb, rows, broadcast }
    mkdirSync('test-output', { recursive: true })
    writeFileSync('test-output/bench.json', `${JSON.stringify(report, null, 2)}\n`)
    const line = (cells: Array<string | number>) => cells.map((cell) => String(cell).padEnd(30)).join('')
    process.stdout.write(`\n${durationSec} s per measurement, ${connections} connections, all on 127.0.0.1\n\n`)
    process.stdout.write(`${line(['case', 'direct rps / p50 / p99', 'switchyard rps / p50 / p99', 'rps ratio', 'added p50 / p99 ms'])}\n`)
    for (const row of rows) {
      process.stdout.write(
        `${line([
          row.case,
          `${Math.round(row.direct.rps)} / ${row.direct.p50Ms} / ${row.direct.p99Ms}`,
          `${Math.round(row.proxied.rps)} / ${row.proxied.p50Ms} / ${row.proxied.p99Ms}`,
          row.rpsRatio,
          `${row.addedP50Ms} / ${row.addedP99Ms}`,
        ])}\n`,
      )
      if (row.proxied.errors + row.proxied.non2xx > 0) process.stdout.write(`  ! switchyard: ${row.proxied.errors} errors, ${row.proxied.non2xx} non-2xx\n`)
    }
    process.stdout.write('(verified row: "direct" is the same read through a plain chain over the same two nodes)\n')
    process.stdout.write(`\nswitchyard RSS: ${rssIdleMb} MB idle, ${rssLoadedMb} MB after load\n`)
    process.stdout.write(
      `eth_sendRawTransaction, ${broadcast.count} sequential sends each: direct mean ${broadcast.directMeanMs} ms, ` +
        `through switchyard mean ${broadcast.proxiedMeanMs} ms (ratio ${broadcast.ratio}; includes the acceptance lookup and the fsync'd journal write)\n`,
    )
  } finally {
    await proxy.stop()
    await Promise.all([anvil.stop(), anvil2.stop(), bcoin.stop()])
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
})
