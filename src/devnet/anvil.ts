/**
 * Real anvil processes (from the `@foundry-rs/anvil` package) on 127.0.0.1 for tests and the demo.
 * Nothing is registered globally: whoever starts a node stops it (`stop()` / `stopAll()`).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { signalProcess, stopProcess } from './child-process.js'
import { freePort } from './free-port.js'
import { waitFor } from './wait-for.js'

export interface AnvilOptions {
  /** Node id used in configs and logs. Default `anvil-<port>`. */
  id?: string
  /** Chain id. Default 31337. */
  chainId?: number
  /** Fixed port; fails if it is taken. Default: a free port (another one is tried if it gets taken). */
  port?: number
  /** Keep sent transactions pending until mined explicitly. Default false (automine). */
  noMining?: boolean
  /** Mine a block every N seconds. Default: off. */
  blockTimeSec?: number
}

export interface AnvilNode {
  readonly id: string
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** `ws://127.0.0.1:<port>`: anvil serves WebSocket on the HTTP port. */
  readonly wsUrl: string
  readonly port: number
  readonly chainId: number
  /** Pid of the current process (changes on `restart()`). */
  readonly pid: number
  /** JSON-RPC call; throws with the node's message on a JSON-RPC error. */
  rpc(method: string, params?: unknown[]): Promise<unknown>
  /** Mines `blocks` blocks at once (`anvil_mine`). */
  mine(blocks: number): Promise<void>
  blockNumber(): Promise<number>
  /** Sends a signal to the process (SIGSTOP freezes it, SIGCONT resumes, SIGKILL crashes it). */
  signal(signal: NodeJS.Signals): void
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>
  /**
   * Stops the process and starts a new one on the same port with the same options. anvil keeps no
   * state on disk: the chain starts fresh at block 0 (same genesis), and the pid changes.
   */
  restart(): Promise<void>
}

const READY_TIMEOUT_MS = 15_000
const RPC_TIMEOUT_MS = 10_000
/** Free ports tried when one is taken between `freePort()` and anvil binding it. */
const PORT_ATTEMPTS = 5

/**
 * Path of the anvil executable: the platform package's native binary, else `node_modules/.bin/anvil`.
 * The latter is a Node wrapper that forwards only SIGINT/SIGTERM, so `signal()` would not reach
 * anvil through it.
 */
export function anvilBinary(): string {
  const name = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  try {
    return createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/${name}`)
  } catch {
    // Not installed for this platform: look for the wrapper.
  }
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', '.bin', name)
    if (existsSync(candidate)) return candidate
    if (dirname(dir) === dir) throw new Error('anvil not found: install the @foundry-rs/anvil dev dependency')
  }
}

/** Starts anvil and resolves once it answers `eth_chainId`. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const chainId = options.chainId ?? 31337
  let { child, port } = await launch(options, chainId, options.port)
  let restarting: Promise<void> | undefined
  const id = options.id ?? `anvil-${port}`
  const url = `http://127.0.0.1:${port}`
  const rpc = async (method: string, params: unknown[] = []): Promise<unknown> => {
    try {
      return await jsonRpc(url, method, params)
    } catch (error) {
      throw new Error(`anvil ${id} ${method}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return {
    id,
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    chainId,
    get pid() {
      return child.pid ?? -1
    },
    rpc,
    mine: async (blocks) => {
      await rpc('anvil_mine', [`0x${blocks.toString(16)}`])
    },
    blockNumber: async () => Number.parseInt(String(await rpc('eth_blockNumber')), 16),
    signal: (signal) => signalProcess(child, signal),
    stop: async () => {
      // A stop during a restart must end the process the restart is starting.
      await restarting?.catch(() => undefined)
      await stopProcess(child)
    },
    restart: () => {
      restarting = (async () => {
        await stopProcess(child)
        ;({ child } = await launch(options, chainId, port))
      })()
      return restarting
    },
  }
}

/** Stops every node given (skipping `undefined`, e.g. from a half-finished `beforeAll`). */
export async function stopAll(nodes: Iterable<AnvilNode | undefined>): Promise<void> {
  await Promise.all(Array.from(nodes, (node) => node?.stop()))
}

type SpawnOutcome = { ok: true; child: ChildProcess } | { ok: false; message: string; portTaken: boolean }

async function launch(options: AnvilOptions, chainId: number, fixedPort: number | undefined): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = fixedPort ?? (await freePort())
    const outcome = await spawnOnPort(options, chainId, port)
    if (outcome.ok) return { child: outcome.child, port }
    if (!outcome.portTaken || fixedPort !== undefined || attempt >= PORT_ATTEMPTS) throw new Error(outcome.message)
  }
}

async function spawnOnPort(options: AnvilOptions, chainId: number, port: number): Promise<SpawnOutcome> {
  // anvil writes --config-out only after binding its port: the file proves the port is ours.
  // Without it, a node that took the port in the race after freePort() could answer our readiness
  // check while ours dies. (Not /dev/stdout: Node's stdio "pipes" are sockets, which anvil cannot open.)
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-anvil-'))
  const configOut = join(dir, 'config.json')
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent', '--config-out', configOut]
  if (options.noMining === true) args.push('--no-mining')
  if (options.blockTimeSec !== undefined) args.push('--block-time', String(options.blockTimeSec))
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  let ended: string | undefined
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2_000)
  })
  child.on('error', (error: NodeJS.ErrnoException) => {
    ended ??= `could not be started (${error.code ?? error.message})`
  })
  child.once('exit', (code, signal) => {
    ended ??= `exited with ${signal ?? `code ${code}`}`
  })
  const url = `http://127.0.0.1:${port}`
  let state: 'ready' | 'ended'
  try {
    state = await waitFor(
      async () => {
        if (ended !== undefined) return 'ended' as const
        if (!existsSync(configOut)) return false
        await jsonRpc(url, 'eth_chainId', [])
        return 'ready' as const
      },
      { timeoutMs: READY_TIMEOUT_MS, what: `anvil on port ${port} to answer eth_chainId` },
    )
  } catch (error) {
    await stopProcess(child)
    return { ok: false, message: `${error instanceof Error ? error.message : String(error)}${describe(stderr)}`, portTaken: false }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  if (state === 'ready') return { ok: true, child }
  return { ok: false, message: `anvil on port ${port} ${ended ?? 'ended'}${describe(stderr)}`, portTaken: /address already in use/i.test(stderr) }
}

function describe(stderr: string): string {
  const text = stderr.trim()
  return text === '' ? '' : `: ${text}`
}

async function jsonRpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
  })
  const body = (await response.json()) as { result?: unknown; error?: { code?: number; message?: string } }
  if (body.error !== undefined) throw new Error(body.error.message ?? `error ${body.error.code}`)
  return body.result
}
