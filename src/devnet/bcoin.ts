/**
 * Real bcoin 1.0.2 nodes on 127.0.0.1 for tests and the demo (regtest by default, in memory).
 * bcoin cannot report a port it picked, so ports come from `freePort()` with a retry if taken.
 * Facts about bcoin that matter here: ../shared/reference/test-nodes.md.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { signalProcess, stopProcess } from './child-process.js'
import { freePort } from './free-port.js'
import { waitFor } from './wait-for.js'

/** A P2PKH address under bcoin's regtest prefix (0x3c) for hash160 = 20 × 0x42; nobody holds its key. */
export const BCOIN_REGTEST_BURN_ADDRESS = 'RFKY3vMH9ds7eSJ9g96VFrGnQh6DfKaqF7'

export interface BcoinOptions {
  /** Node id used in configs and logs. Default `bcoin-<httpPort>`. */
  id?: string
  /** bcoin network name. Default regtest. */
  network?: 'regtest' | 'testnet' | 'main' | 'simnet'
  /** P2P peers ('127.0.0.1:port'); none = isolated. */
  peers?: string[]
  /** RPC password (any user name is accepted). Default: a random one. */
  apiKey?: string
  /** Keep the chain on disk (leveldb) instead of in memory, so a restart keeps the blocks. Default false. */
  persistent?: boolean
}

export interface BcoinNode {
  readonly id: string
  /** RPC URL with credentials in it (http://x:<apiKey>@127.0.0.1:<port>/). */
  readonly url: string
  readonly httpPort: number
  readonly p2pPort: number
  readonly pid: number
  /** JSON-RPC call; throws with the node's message on a JSON-RPC error. */
  rpc(method: string, params?: unknown[]): Promise<unknown>
  height(): Promise<number>
  /** Mines `blocks` blocks to `address` (default: a burn address). */
  generate(blocks: number, address?: string): Promise<string[]>
  /**
   * Cuts the node off from its peers by restarting it without any (bcoin re-dials known and even
   * banned peers, so RPC alone cannot hold it back). Keeps its blocks only when `persistent`.
   */
  isolate(): Promise<void>
  /** Connects the node to its configured peers again; it then catches up by P2P. */
  reconnect(): Promise<void>
  signal(signal: NodeJS.Signals): void
  stop(): Promise<void>
  /** Stops and starts again on the same ports. The chain starts fresh (in-memory node). */
  restart(): Promise<void>
}

function bcoinEntry(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('bcoin/package.json')), 'bin', 'node')
}

async function spawnBcoin(
  options: BcoinOptions,
  ports: { http: number; p2p: number },
  apiKey: string,
  prefix: string,
  peers: readonly string[] = options.peers ?? [],
): Promise<ChildProcess> {
  const args = [
    bcoinEntry(),
    `--network=${options.network ?? 'regtest'}`,
    `--memory=${options.persistent === true ? 'false' : 'true'}`,
    `--prefix=${prefix}`,
    '--http-host=127.0.0.1',
    `--http-port=${ports.http}`,
    `--api-key=${apiKey}`,
    '--no-wallet',
    // bcoin only dials out when it listens too; it binds the P2P port on all interfaces, so
    // --public-host keeps what it advertises on loopback.
    '--listen=true',
    '--host=127.0.0.1',
    '--public-host=127.0.0.1',
    `--port=${ports.p2p}`,
    `--only=${peers.length > 0 ? peers.join(',') : '127.0.0.1:1'}`,
    '--workers=false',
    '--log-level=error',
  ]
  // Its native crypto addons do not build on Node 20: use the pure-JS backend.
  const child = spawn(process.execPath, args, { env: { ...process.env, NODE_BACKEND: 'js' }, stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr?.resume()
  return child
}

let nextRequestId = 1

async function call(url: string, apiKey: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`x:${apiKey}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ method, params, id: nextRequestId++ }),
  })
  const body = (await response.json()) as { result?: unknown; error?: { message: string } | null }
  if (body.error !== null && body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

export async function startBcoin(options: BcoinOptions = {}): Promise<BcoinNode> {
  const apiKey = options.apiKey ?? `key${Math.random().toString(36).slice(2, 12)}`
  let prefix = await mkdtemp(join(tmpdir(), 'switchyard-bcoin-'))
  let child: ChildProcess | undefined
  let ports = { http: 0, p2p: 0 }
  for (let attempt = 1; child === undefined; attempt++) {
    ports = { http: await freePort(), p2p: await freePort() }
    const candidate = await spawnBcoin(options, ports, apiKey, prefix)
    const exited = new Promise<'exited'>((resolve) => candidate.once('exit', () => resolve('exited')))
    const ready = waitFor(() => call(`http://127.0.0.1:${ports.http}/`, apiKey, 'getblockchaininfo', []).then(() => 'ready' as const), {
      timeoutMs: 20_000,
      everyMs: 50,
      what: 'bcoin to answer RPC',
    })
    const outcome = await Promise.race([ready, exited])
    if (outcome === 'ready') child = candidate
    else {
      // Most likely a port taken between freePort() and bind: try other ports.
      ready.catch(() => undefined)
      if (attempt >= 3) throw new Error('bcoin exited during start three times')
    }
  }
  let current: ChildProcess = child
  const { http, p2p } = ports
  const id = options.id ?? `bcoin-${http}`
  const rpcUrl = `http://127.0.0.1:${http}/`
  const rpc = (method: string, params: unknown[] = []): Promise<unknown> => call(rpcUrl, apiKey, method, params)
  const peers = options.peers ?? []
  return {
    id,
    url: `http://x:${apiKey}@127.0.0.1:${http}/`,
    httpPort: http,
    p2pPort: p2p,
    get pid() {
      return current.pid ?? -1
    },
    rpc,
    height: async () => Number(await rpc('getblockcount')),
    generate: async (blocks, address = BCOIN_REGTEST_BURN_ADDRESS) => (await rpc('generatetoaddress', [blocks, address])) as string[],
    isolate: async () => {
      await stopProcess(current)
      current = await spawnBcoin(options, { http, p2p }, apiKey, prefix, [])
      await waitFor(() => rpc('getblockchaininfo').then(() => true), { timeoutMs: 20_000, what: 'bcoin to answer RPC after isolation' })
    },
    reconnect: async () => {
      for (const peer of peers) await rpc('addnode', [peer, 'add'])
    },
    signal: (signal) => signalProcess(current, signal),
    stop: async () => {
      await stopProcess(current)
      await rm(prefix, { recursive: true, force: true })
    },
    restart: async () => {
      await stopProcess(current)
      await rm(prefix, { recursive: true, force: true })
      prefix = await mkdtemp(join(tmpdir(), 'switchyard-bcoin-'))
      current = await spawnBcoin(options, { http, p2p }, apiKey, prefix)
      await waitFor(() => rpc('getblockchaininfo').then(() => true), { timeoutMs: 20_000, what: 'bcoin to answer RPC after restart' })
    },
  }
}

/**
 * `count` regtest nodes, every node after the first peered to the first: blocks mined on the
 * first reach all. Resolves once every other node has a peer.
 */
export async function startPeeredBcoins(count: number, options: { ids?: string[]; persistent?: boolean } = {}): Promise<BcoinNode[]> {
  const first = await startBcoin({ id: options.ids?.[0], persistent: options.persistent })
  try {
    const rest = await Promise.all(
      Array.from({ length: count - 1 }, (_, index) =>
        startBcoin({ id: options.ids?.[index + 1], peers: [`127.0.0.1:${first.p2pPort}`], persistent: options.persistent }),
      ),
    )
    await Promise.all(rest.map((node) => waitFor(async () => ((await node.rpc('getpeerinfo')) as unknown[]).length > 0, { timeoutMs: 20_000, what: `${node.id} to connect` })))
    return [first, ...rest]
  } catch (error) {
    await first.stop()
    throw error
  }
}

/**
 * Copies blocks [fromHeight, toHeight] of `from` into each of `to` by submitblock: identical
 * chains without P2P links, so each test decides exactly which node has which block.
 */
export async function copyBlocks(from: BcoinNode, to: readonly BcoinNode[], fromHeight: number, toHeight: number): Promise<void> {
  for (let height = fromHeight; height <= toHeight; height++) {
    const hash = await from.rpc('getblockhash', [height])
    const raw = await from.rpc('getblock', [hash, false])
    for (const node of to) {
      const result = await node.rpc('submitblock', [raw])
      if (result !== null && result !== 'duplicate') throw new Error(`submitblock of block ${height} to ${node.id}: ${String(result)}`)
    }
  }
}

export async function waitForHeight(node: BcoinNode, height: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await node.height()) >= height, { timeoutMs, what: `${node.id} to reach height ${height}` })
}
