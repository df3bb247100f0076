/**
 * The processes `npm run bench` starts (switchyard, fast nodes, nginx, anvil, bcoin) and what it
 * reads from them in /proc. Every process is registered with one `BenchProcesses`, which stops them
 * all at the end, on an error and on Ctrl-C, and SIGKILLs any still running if the bench exits
 * without getting that far.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stopProcess } from '../../src/devnet/child-process.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'

export class BenchProcesses {
  /** Everything not stopped yet, oldest first; `pid` read when needed (anvil's and bcoin's change on restart). */
  readonly #owned: Array<{ stop(): Promise<void>; readonly pid?: number }> = []

  constructor() {
    // Last resort when the bench dies without stopping them (an uncaught error, process.exit()).
    process.once('exit', () => {
      for (const owned of this.#owned) {
        try {
          if (owned.pid !== undefined) process.kill(owned.pid, 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
    })
  }

  /** Registers a process (its `pid`, when it has one, is SIGKILLed if the bench exits before stopping it). */
  add<T extends { stop(): Promise<void>; readonly pid?: number }>(owned: T): T {
    this.#owned.push(owned)
    return owned
  }

  /** Stops the given ones now (a bench case done with its own processes). */
  async stop(...owned: Array<{ stop(): Promise<void> } | undefined>): Promise<void> {
    await Promise.all(owned.map(async (one) => {
      if (one === undefined) return
      await one.stop()
      const index = this.#owned.indexOf(one)
      if (index !== -1) this.#owned.splice(index, 1)
    }))
  }

  /** Stops everything registered, newest first (switchyard before its nodes); safe to call twice. */
  async stopAll(): Promise<void> {
    while (this.#owned.length > 0) {
      const owned = this.#owned.pop()!
      await owned.stop().catch(() => undefined)
    }
  }
}

export interface SwitchyardInstance {
  readonly url: string
  readonly pid: number
  /** From spawn to the first /readyz 200, ms. */
  readyAfterMs: number
  stop(): Promise<void>
}

/**
 * Compiles switchyard to `dist/` (`npm run build`), so the bench runs the JavaScript production
 * runs: under tsx the process also holds the TypeScript loader (about 50 MB more RSS idle).
 */
export function buildSwitchyard(): void {
  execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
}

/** switchyard's compiled CLI (`buildSwitchyard` first) as its own process, as in production, over `config` (server, log and journal filled in). */
export async function startSwitchyard(
  processes: BenchProcesses,
  config: object,
  options: {
    readyTimeoutMs?: number
    workers?: number
    /** server.heapGrowingPercent; default the config's. */
    heapGrowingPercent?: number
    /** Flags for switchyard's node process only (e.g. `--max-semi-space-size=2`). Default none. */
    nodeFlags?: readonly string[]
  } = {},
): Promise<SwitchyardInstance> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'))
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port, workers: options.workers ?? 1, ...(options.heapGrowingPercent === undefined ? {} : { heapGrowingPercent: options.heapGrowingPercent }) }, shutdown: { graceMs: 0 }, log: { level: 'warn' }, journal: { path: join(dir, 'journal.sqlite') }, ...config }))
  const started = performance.now()
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), 'dist/src/cli.js', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${port}`
  const instance: SwitchyardInstance = processes.add({
    url,
    pid: child.pid!,
    readyAfterMs: 0,
    stop: async () => {
      await stopProcess(child, 10_000)
      rmSync(dir, { recursive: true, force: true })
    },
  })
  const exited = new Promise<never>((_resolve, reject) => child.once('exit', (code) => reject(new Error(`switchyard exited with ${code} before it was ready`))))
  exited.catch(() => undefined)
  await Promise.race([waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: options.readyTimeoutMs ?? 20_000, what: 'switchyard ready' }), exited])
  instance.readyAfterMs = Math.round(performance.now() - started)
  return instance
}

/** `passthrough.ts` (the platform's floor: a bare node:http + undici forwarder) in front of `upstream`, with `workers` cluster workers. */
export async function startPassthrough(processes: BenchProcesses, upstream: string, workers = 1): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/passthrough.ts', upstream, '--workers', String(workers)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<string>((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const line = /^ready (\d+)\n/m.exec(text)
      if (line !== null) resolve(line[1]!)
    })
    child.once('exit', (code) => reject(new Error(`passthrough exited with ${code}`)))
  })
  return processes.add({ url: `http://127.0.0.1:${port}/`, pid: child.pid!, stop: () => stopProcess(child) })
}

export interface FastNodes {
  /** One URL a port, `http://127.0.0.1:<port>/`. */
  urls: string[]
  readonly pid: number
  /** Calls this process has served so far, over all its ports. */
  callCount(): Promise<number>
  stop(): Promise<void>
}

/** `count` fast nodes (`fast-node.ts`) served by one process. */
export async function startFastNodes(processes: BenchProcesses, count = 1): Promise<FastNodes> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/fast-node.ts', '--count', String(count)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const nodes: FastNodes = processes.add({
    urls: [],
    pid: child.pid!,
    callCount: async () => {
      const response = await fetch(nodes.urls[0]!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"bench_callCount"}' })
      return ((await response.json()) as { result: number }).result
    },
    stop: () => stopProcess(child),
  })
  const ports = await new Promise<string[]>((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const line = /^ready (\S+)\n/m.exec(text)
      if (line !== null) resolve(line[1]!.split(','))
    })
    child.once('exit', (code) => reject(new Error(`fast node exited with ${code}`)))
  })
  nodes.urls = ports.map((port) => `http://127.0.0.1:${port}/`)
  return nodes
}

/** A plain nginx reverse proxy (keep-alive upstream, one worker per core) in front of `upstream`; undefined without nginx. */
export async function startNginx(processes: BenchProcesses, upstream: string): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  const find = () => ['/usr/sbin/nginx', '/usr/bin/nginx'].find((candidate) => existsSync(candidate))
  if (find() === undefined && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    // The bench compares with nginx: install Debian's light build when we can, else skip the column.
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
  const nginx = processes.add({
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid!,
    stop: async () => {
      await stopProcess(child)
      rmSync(prefix, { recursive: true, force: true })
    },
  })
  await waitFor(
    async () => (await fetch(nginx.url, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}', headers: { 'content-type': 'application/json' } })).ok,
    { timeoutMs: 10_000, what: 'nginx' },
  )
  return nginx
}

const mb = (kb: number): number => Math.round(kb / 102.4) / 10

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
}

/** Resident memory now, MB. */
export const rssMb = (pid: number): number => mb(statusField(pid, 'VmRSS'))

/** The process and its children (a cluster primary and its workers), MB: resident now, and the sum of each one's high-water mark. */
export function treeRssMb(pid: number): { rssMb: number; peakRssMb: number; processes: number } {
  const pids = [pid, ...childPids(pid)]
  const sum = (field: 'VmRSS' | 'VmHWM') => mb(pids.reduce((total, each) => total + statusField(each, field), 0))
  return { rssMb: sum('VmRSS'), peakRssMb: sum('VmHWM'), processes: pids.length }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** The most resident memory the process has had since it started (the kernel's high-water mark), MB. */
export const peakRssMb = (pid: number): number => mb(statusField(pid, 'VmHWM'))

/** User + system CPU the process has used since it started, ms (from /proc/<pid>/stat and the clock tick). */
export function cpuMs(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond
}

/** The kernel's clock tick (`getconf CLK_TCK`), 100 on every common Linux. */
export function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
}
