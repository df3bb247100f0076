/**
 * `npm run bench`: the same load against a node directly, through a plain nginx reverse proxy
 * (when Debian's nginx is installed: `apt-get install nginx-light`; the column is left out
 * otherwise) and through switchyard, in one run, reported as ratios (throughput, added latency at
 * p50/p99) plus the proxy's memory. Upstreams: anvil, and a minimal in-memory JSON-RPC node
 * (`fast-node.ts`) that isolates the proxy's own cost. The proxy runs as its own process (the
 * CLI), as in production; the load generator (autocannon) runs here. Everything listens on
 * 127.0.0.1. Results: stdout and test-output/bench.json.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

async function load(url: string, body: string, headers: Record<string, string> = {}, at = connections, seconds = durationSec): Promise<Measured> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections: at,
    duration: seconds,
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

/** The minimal JSON-RPC node (`fast-node.ts`) as its own process. */
async function startFastNode(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/fast-node.ts', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`fast node exited with ${code}`)))
  })
  return { url: `http://127.0.0.1:${port}/`, stop: () => stopChild(child) }
}

/** A plain nginx reverse proxy (keep-alive upstream, one worker per core) in front of `upstream`; undefined without nginx. */
async function startNginx(upstream: string): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  const find = () => ['/usr/sbin/nginx', '/usr/bin/nginx'].find((candidate) => existsSync(candidate))
  if (find() === undefined && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    // The issue's bench compares with nginx: install Debian's light build when we can, else skip the column.
    try {
      execFileSync('apt-get', ['install', '-y', '-qq', 'nginx-light'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    } catch {
      // No package index or no network: the nginx column is left out.
    }
  }
  const binary = find()
  if (binary === undefined) return undefined
  const port = await freePort()
  const prefix = mkdtempSync(join(tmpdir(), 'switchyard-bench-nginx-'))
  const target = new URL(upstream)
  const conf = `worker_processes auto;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream node { server ${target.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://node${target.pathname};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
  writeFileSync(join(prefix, 'nginx.conf'), conf)
  execFileSync(binary, ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'ignore' })
  const child = spawn(binary, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}/`
  await waitFor(async () => (await fetch(url, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}', headers: { 'content-type': 'application/json' } })).ok, { timeoutMs: 10_000, what: 'nginx' })
  return {
    url,
    stop: async () => {
      await stopChild(child)
      rmSync(prefix, { recursive: true, force: true })
    },
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

interface ThreeWay {
  case: string
  connections: number
  direct: Measured
  nginx: Measured | undefined
  switchyard: Measured
  /** switchyard rps / direct rps. */
  vsDirect: number
  /** switchyard rps / nginx rps. */
  vsNginx: number | undefined
  /** switchyard p50 − direct p50, ms. */
  addedP50Ms: number
}

/**
 * Direct, nginx and switchyard on the same upstream and call, in alternating rounds (each path
 * measured `rounds` times for durationSec / rounds), so drift on a shared machine hits all three
 * alike; figures are the round averages.
 */
async function threeWay(name: string, urls: { direct: string; nginx: string | undefined; switchyard: string }, body: string, at: number, rounds = 3): Promise<ThreeWay> {
  const paths = (['direct', 'nginx', 'switchyard'] as const).filter((path) => urls[path] !== undefined)
  const seconds = Math.max(1, Math.round(durationSec / rounds))
  for (const path of paths) await load(urls[path]!, body, {}, at, 1) // warm: keep-alive pools, JIT
  const samples = new Map<string, Measured[]>(paths.map((path) => [path, []]))
  for (let round = 0; round < rounds; round++) for (const path of paths) samples.get(path)!.push(await load(urls[path]!, body, {}, at, seconds))
  const mean = (path: string): Measured | undefined => {
    const list = samples.get(path)
    if (list === undefined) return undefined
    const avg = (pick: (m: Measured) => number) => Math.round((list.reduce((sum, m) => sum + pick(m), 0) / list.length) * 100) / 100
    return { rps: avg((m) => m.rps), p50Ms: avg((m) => m.p50Ms), p99Ms: avg((m) => m.p99Ms), errors: avg((m) => m.errors), non2xx: avg((m) => m.non2xx) }
  }
  const direct = mean('direct')!
  const nginx = mean('nginx')
  const switchyard = mean('switchyard')!
  return {
    case: name,
    connections: at,
    direct,
    nginx,
    switchyard,
    vsDirect: Math.round((switchyard.rps / direct.rps) * 1000) / 1000,
    vsNginx: nginx === undefined ? undefined : Math.round((switchyard.rps / nginx.rps) * 1000) / 1000,
    addedP50Ms: Math.round((switchyard.p50Ms - direct.p50Ms) * 100) / 100,
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
  const fast = await startFastNode()
  const nginxFast = await startNginx(fast.url)
  const nginxAnvil = await startNginx(anvil.url)
  const evmNodes = [
    { id: 'eth-a', url: anvil.url },
    { id: 'eth-b', url: anvil2.url },
  ]
  const proxy = await startSwitchyard({
    chains: {
      eth: { family: 'evm', chainId: 31337, nodes: [{ id: 'eth-a', url: anvil.url }] },
      fast: { family: 'evm', chainId: 31337, nodes: [{ id: 'fast-a', url: fast.url }] },
      eth2: { family: 'evm', chainId: 31337, nodes: evmNodes },
      ethv: { family: 'evm', chainId: 31337, verify: { methods: ['eth_getBlockByNumber'] }, nodes: evmNodes },
      btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'btc-a', url: bcoin.url }] },
    },
  })
  try {
    const rssIdleMb = rssMb(proxy.process.pid!)
    const threeWays: ThreeWay[] = []
    const blockNumber = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] })
    const balance = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] })
    for (const at of [1, 32]) {
      threeWays.push(await threeWay('fast node eth_blockNumber', { direct: fast.url, nginx: nginxFast?.url, switchyard: `${proxy.url}/rpc/fast` }, blockNumber, at))
      threeWays.push(await threeWay('fast node eth_getBalance latest', { direct: fast.url, nginx: nginxFast?.url, switchyard: `${proxy.url}/rpc/fast` }, balance, at))
      threeWays.push(await threeWay('anvil eth_blockNumber', { direct: anvil.url, nginx: nginxAnvil?.url, switchyard: `${proxy.url}/rpc/eth` }, blockNumber, at))
    }
    const rssPeakMb = rssMb(proxy.process.pid!)
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
    const report = { durationSec, connections, rssIdleMb, rssAfterThreeWayMb: rssPeakMb, rssAfterLoadMb: rssLoadedMb, threeWay: threeWays, rows, broadcast }
    mkdirSync('test-output', { recursive: true })
    writeFileSync('test-output/bench.json', `${JSON.stringify(report, null, 2)}\n`)
    const line = (cells: Array<string | number>) => cells.map((cell) => String(cell).padEnd(30)).join('')
    const cell = (m: Measured | undefined) => (m === undefined ? '—' : `${Math.round(m.rps)} / ${m.p50Ms} / ${m.p99Ms}`)
    process.stdout.write(`\nDirect vs nginx vs switchyard (rps / p50 ms / p99 ms; ${durationSec} s per path in alternating rounds)${nginxFast === undefined ? ' — nginx not installed: apt-get install nginx-light' : ''}\n\n`)
    const wide = (cells: Array<string | number>) => cells.map((value, index) => String(value).padEnd(index === 0 ? 36 : 24)).join('')
    process.stdout.write(`${wide(['case', 'conns', 'direct', 'nginx', 'switchyard', 'sy/direct', 'sy/nginx', 'added p50 ms'])}\n`)
    for (const row of threeWays) process.stdout.write(`${wide([row.case, row.connections, cell(row.direct), cell(row.nginx), cell(row.switchyard), row.vsDirect, row.vsNginx ?? '—', row.addedP50Ms])}\n`)
    process.stdout.write(`switchyard RSS after these: ${rssPeakMb} MB\n`)
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
    await Promise.all([anvil.stop(), anvil2.stop(), bcoin.stop(), fast.stop(), nginxFast?.stop(), nginxAnvil?.stop()])
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
})
