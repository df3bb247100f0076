/**
 * Real anvil processes (from the `@foundry-rs/anvil` package) on 127.0.0.1 for tests and the demo.
 * Nothing is registered globally: whoever starts a node stops it (`stop()` / `stopAll()`).
 *
 * Several anvils model ONE chain, as a fork detector needs honest nodes to agree: every node starts
 * with the same genesis timestamp (`GENESIS_TIMESTAMP`, so the same genesis block), and `mine()`
 * gives each block a timestamp that depends only on the chain (`t0 + 12·height`), so the same
 * mining on several processes makes identical blocks. Automined blocks (a transaction sent with
 * automine on) take the process's clock instead and differ between processes: two automining
 * anvils are two chains under one chain id. `copyAnvilBlocks` brings a node to another's blocks.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, existsSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
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
  /** Mine a block every N seconds (wall-clock timestamps: not identical across nodes). Default: off. */
  blockTimeSec?: number
  /** Genesis block timestamp, s. Default `GENESIS_TIMESTAMP`, the same for every node, so they share a genesis. */
  timestamp?: number
  /** More anvil flags (e.g. `--prune-history`), after the ones above. */
  extraArgs?: readonly string[]
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
  /** Genesis timestamp, s. */
  readonly genesisTimestamp: number
  /**
   * Mines `blocks` blocks at once with chain-determined timestamps (`t0 + 12·height`, or 12 s
   * after the parent when an automined block is later than that): the same call on nodes with the
   * same chain and pending transactions makes identical blocks.
   */
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

/** Genesis timestamp every node starts with unless told otherwise (2023-11-14T22:13:20Z). */
export const GENESIS_TIMESTAMP = 1_700_000_000
/** Seconds between blocks made by `mine()`. */
export const BLOCK_INTERVAL_SEC = 12

const READY_TIMEOUT_MS = 15_000
const RPC_TIMEOUT_MS = 10_000
/** Free ports tried when one is taken between `freePort()` and anvil binding it. */
const PORT_ATTEMPTS = 5

/** Where `anvilBinary` looks; injectable so each fallback can be tested without uninstalling anything. */
export interface AnvilLookup {
  /** Resolves a package file (`createRequire().resolve`); undefined when the package is not installed. */
  resolvePackageFile(specifier: string): string | undefined
  /** The executable `name` in a directory of PATH, first match; undefined when there is none. */
  findOnPath(name: string): string | undefined
  /** The `node_modules/.bin/<name>` nearest to this file upwards; undefined when there is none. */
  findNodeModulesBin(name: string): string | undefined
}

/**
 * Path of the anvil executable: the platform package's native binary (Linux x64 is the one the
 * project depends on); else `anvil` on PATH, so Foundry users on other platforms (macOS/ARM, where
 * that package does not install) use their own foundryup install; else `node_modules/.bin/anvil`,
 * last because it is a Node wrapper that forwards only SIGINT/SIGTERM, so `signal()` would not
 * reach anvil through it.
 */
export function anvilBinary(lookup: AnvilLookup = defaultAnvilLookup): string {
  const name = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const found = lookup.resolvePackageFile(`@foundry-rs/anvil-${process.platform}-${arch}/bin/${name}`) ?? lookup.findOnPath(name) ?? lookup.findNodeModulesBin(name)
  if (found === undefined) throw new Error(`anvil not found: install the @foundry-rs/anvil-${process.platform}-${arch} dev dependency, or Foundry (anvil on PATH)`)
  return found
}

export const defaultAnvilLookup: AnvilLookup = {
  resolvePackageFile: (specifier) => {
    try {
      return createRequire(import.meta.url).resolve(specifier)
    } catch {
      return undefined
    }
  },
  findOnPath: (name) => findExecutableOnPath(name),
  findNodeModulesBin: (name) => {
    for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', '.bin', name)
      if (existsSync(candidate)) return candidate
      if (dirname(dir) === dir) return undefined
    }
  },
}

/** The first executable file `name` in the directories of `path` (PATH syntax), as a shell would find it. */
export function findExecutableOnPath(name: string, path: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // Not here (or not executable): the next PATH entry.
    }
  }
  return undefined
}

/** Starts anvil and resolves once it answers `eth_chainId`. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const chainId = options.chainId ?? 31337
  const genesisTimestamp = options.timestamp ?? GENESIS_TIMESTAMP
  let { child, port } = await launch(options, chainId, options.port, genesisTimestamp)
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
    genesisTimestamp,
    rpc,
    mine: async (blocks) => {
      if (blocks <= 0) return
      const parent = (await rpc('eth_getBlockByNumber', ['latest', false])) as { number: string; timestamp: string }
      const height = Number.parseInt(parent.number, 16)
      const parentTimestamp = Number.parseInt(parent.timestamp, 16)
      const next = Math.max(genesisTimestamp + BLOCK_INTERVAL_SEC * (height + 1), parentTimestamp + BLOCK_INTERVAL_SEC)
      await mineBlocksAt(rpc, next, blocks)
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
        ;({ child } = await launch(options, chainId, port, genesisTimestamp))
      })()
      return restarting
    },
  }
}

interface BlockHeader {
  number: string
  hash: string
  stateRoot: string
  timestamp: string
  baseFeePerGas?: string
  transactions: string[]
}

/**
 * Mines `blocks` blocks, the first with timestamp `timestamp` (s) and each next one
 * `BLOCK_INTERVAL_SEC` after its parent, whatever the wall clock does meanwhile. `anvil_mine`'s own
 * interval argument is not enough: it advances anvil's clock offset, so the blocks after the first
 * still drift with wall time (measured: of 2,000 blocks mined in one call, block 1,000 came out
 * 1 s late), and two processes mining "the same" blocks across a second boundary made different
 * blocks, which a fork check rightly calls a fork. A timestamp interval set for the call pins every
 * block to its parent; it is removed afterwards so automined blocks keep wall-clock time.
 */
export async function mineBlocksAt(rpc: (method: string, params?: unknown[]) => Promise<unknown>, timestamp: number, blocks: number): Promise<void> {
  if (blocks <= 0) return
  await rpc('anvil_setBlockTimestampInterval', [BLOCK_INTERVAL_SEC])
  try {
    await rpc('evm_setNextBlockTimestamp', [timestamp])
    await rpc('anvil_mine', [`0x${blocks.toString(16)}`])
  } finally {
    await rpc('anvil_removeBlockTimestampInterval')
  }
}

/** Tries per block before copyAnvilBlocks gives up (only with `dropPending`, the case a stray send can disturb). */
const COPY_ATTEMPTS = 3

async function copyOneBlock(from: AnvilNode, to: AnvilNode, block: BlockHeader, dropPending: boolean): Promise<BlockHeader> {
  if (dropPending) await to.rpc('anvil_dropAllTransactions')
  for (const hash of block.transactions) {
    const raw = await from.rpc('eth_getRawTransactionByHash', [hash])
    try {
      await to.rpc('eth_sendRawTransaction', [raw])
    } catch (error) {
      // Already in its pool (sent to it as well): it goes into the block all the same.
      if (!/already (imported|known)/i.test(error instanceof Error ? error.message : '')) throw error
    }
  }
  await to.rpc('evm_setNextBlockTimestamp', [Number.parseInt(block.timestamp, 16)])
  // A revert or rollback leaves anvil's next base fee where the undone block set it: pin the source's.
  if (block.baseFeePerGas !== undefined) await to.rpc('anvil_setNextBlockBaseFeePerGas', [block.baseFeePerGas])
  await to.rpc('anvil_mine', ['0x1'])
  return (await to.rpc('eth_getBlockByNumber', [block.number, false])) as BlockHeader
}

/**
 * Makes `to` hold the blocks `from` has above `to`'s height, identical (same hashes): for each
 * block, the same raw transactions go into `to`'s pool (automine paused) and a block is mined with
 * the source block's timestamp. Works for automined source blocks too. `to` must share `from`'s
 * chain up to its own height (same genesis timestamp and blocks). `to`'s own pending transactions
 * would end up in the copies: `dropPending` drops them first (they stay wherever else they were
 * sent); without it `to` should have none.
 * @throws Error when a copied block's hash differs from the source's.
 */
export async function copyAnvilBlocks(from: AnvilNode, to: AnvilNode, options: { dropPending?: boolean } = {}): Promise<number> {
  const target = await from.blockNumber()
  let height = await to.blockNumber()
  if (height >= target) return 0
  const automine = (await to.rpc('anvil_getAutomine')) === true
  if (automine) await to.rpc('evm_setAutomine', [false])
  let copied = 0
  try {
    for (height += 1; height <= target; height++) {
      const block = (await from.rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as BlockHeader
      for (let attempt = 1; ; attempt++) {
        const snapshot = await to.rpc('evm_snapshot')
        const copy = await copyOneBlock(from, to, block, options.dropPending === true)
        if (copy.hash === block.hash) break
        // A send reaching `to` between the drop and the mining (a rebroadcast under load) puts an
        // extra transaction in the copy: take the block back and copy it again.
        const detail = `copy of block ${height} to ${to.id} is ${copy.hash} (${copy.transactions.length} txs, state ${copy.stateRoot}), not ${block.hash} (${block.transactions.length} txs, state ${block.stateRoot}) as on ${from.id}`
        if (attempt >= COPY_ATTEMPTS || options.dropPending !== true) throw new Error(detail)
        await to.rpc('evm_revert', [snapshot])
      }
      copied += 1
    }
  } finally {
    if (automine) await to.rpc('evm_setAutomine', [true])
  }
  return copied
}

/** Stops every node given (skipping `undefined`, e.g. from a half-finished `beforeAll`). */
export async function stopAll(nodes: Iterable<AnvilNode | undefined>): Promise<void> {
  await Promise.all(Array.from(nodes, (node) => node?.stop()))
}

type SpawnOutcome = { ok: true; child: ChildProcess } | { ok: false; message: string; portTaken: boolean }

async function launch(options: AnvilOptions, chainId: number, fixedPort: number | undefined, genesisTimestamp: number): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = fixedPort ?? (await freePort())
    const outcome = await spawnOnPort(options, chainId, port, genesisTimestamp)
    if (outcome.ok) return { child: outcome.child, port }
    if (!outcome.portTaken || fixedPort !== undefined || attempt >= PORT_ATTEMPTS) throw new Error(outcome.message)
  }
}

async function spawnOnPort(options: AnvilOptions, chainId: number, port: number, genesisTimestamp: number): Promise<SpawnOutcome> {
  // anvil writes --config-out only after binding its port: the file proves the port is ours.
  // Without it, a node that took the port in the race after freePort() could answer our readiness
  // check while ours dies. (Not /dev/stdout: Node's stdio "pipes" are sockets, which anvil cannot open.)
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-anvil-'))
  const configOut = join(dir, 'config.json')
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--timestamp', String(genesisTimestamp), '--silent', '--config-out', configOut]
  if (options.noMining === true) args.push('--no-mining')
  if (options.blockTimeSec !== undefined) args.push('--block-time', String(options.blockTimeSec))
  if (options.extraArgs !== undefined) args.push(...options.extraArgs)
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
