/**
 * Real bcoin 1.0.2 nodes on 127.0.0.1 for tests and the demo (regtest and in memory by default).
 *
 * bcoin facts these helpers depend on:
 * - It needs `NODE_BACKEND=js` (its native crypto addons do not build on Node 20).
 * - It cannot report a port it picked, so ports come from `freePort()`, retried if taken.
 * - RPC is HTTP basic auth with any user name and the API key as password. A wrong key gets 401,
 *   which tells our node from any other server that took its port before it bound it.
 * - It keeps re-dialling its `--only` peers, even banned ones, so RPC cannot hold a node apart.
 *   Links between nodes therefore go through small TCP relays in this process (`Link`), which
 *   `isolate()` cuts and `reconnect()` restores while the node keeps running and serving RPC.
 * - Its regtest address prefixes differ from Bitcoin Core's (`bcoinRegtestNetwork`).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { type Server, type Socket, connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { type Network, payments } from 'bitcoinjs-lib'
import { signalProcess, stopProcess } from './child-process.js'
import { freePort } from './free-port.js'
import { waitFor } from './wait-for.js'

/** bcoin's regtest prefixes for bitcoinjs-lib; bip32 versions are Core testnet's. */
export const bcoinRegtestNetwork: Network = {
  messagePrefix: '\x18Bitcoin Signed Message:\n',
  bech32: 'rb',
  bip32: { public: 0x043587cf, private: 0x04358394 },
  pubKeyHash: 0x3c,
  scriptHash: 0x26,
  wif: 0xef,
}

/**
 * Where `generate` pays by default: P2PKH of an all-zero hash160 under bcoin's regtest prefix.
 * P2PKH because segwit is not active at low regtest heights; nobody holds a key for it.
 */
export const BCOIN_REGTEST_BURN_ADDRESS: string = burnAddress()

function burnAddress(): string {
  const { address } = payments.p2pkh({ hash: new Uint8Array(20), network: bcoinRegtestNetwork })
  if (address === undefined) throw new Error('bitcoinjs-lib gave no P2PKH address')
  return address
}

export type BcoinNetwork = 'regtest' | 'testnet' | 'main' | 'simnet'

export interface BcoinOptions {
  /** Node id used in configs and logs. Default `bcoin-<httpPort>`. */
  id?: string
  /** bcoin network name. Default regtest. */
  network?: BcoinNetwork
  /** P2P peers to dial ('127.0.0.1:port'). None: the node is isolated (`--only=127.0.0.1:1`). */
  peers?: string[]
  /** RPC password (any user name is accepted). Default: a random one. */
  apiKey?: string
  /** Keep the chain on disk in the temp dir instead of in memory, so `restart()` keeps blocks. Default false. */
  persistent?: boolean
}

export interface BcoinNode {
  readonly id: string
  /** RPC URL with the credentials in it (`http://x:<apiKey>@127.0.0.1:<httpPort>/`), ready for a node config. */
  readonly url: string
  readonly httpPort: number
  readonly p2pPort: number
  readonly pid: number
  /** JSON-RPC call; throws with the node's message on a JSON-RPC error. */
  rpc(method: string, params?: unknown[]): Promise<unknown>
  height(): Promise<number>
  /** Mines `blocks` blocks to `address` (default `BCOIN_REGTEST_BURN_ADDRESS`); returns their hashes. */
  generate(blocks: number, address?: string): Promise<string[]>
  /**
   * Cuts every P2P link to and from this node (the relays of this module); the node keeps running
   * and answering RPC, it just stops getting blocks. Resolves once it has no peers left.
   */
  isolate(): Promise<void>
  /** Restores the links `isolate()` cut and resolves once connected; the node then catches up by P2P. */
  reconnect(): Promise<void>
  signal(signal: NodeJS.Signals): void
  /** SIGTERM, SIGKILL after 2 s; removes the temp dir and this node's relays. Safe to call twice. */
  stop(): Promise<void>
  /**
   * Stops and starts again on the same ports and links. An in-memory node (the default) comes back
   * with only the genesis block; a `persistent` one keeps its chain.
   */
  restart(): Promise<void>
}

const READY_TIMEOUT_MS = 20_000
const RPC_TIMEOUT_MS = 10_000
const START_ATTEMPTS = 3

/** Children still running, killed if this process exits without stopping them (a crashed test run). */
const running = new Set<ChildProcess>()
let exitHookInstalled = false

function track(child: ChildProcess): void {
  running.add(child)
  child.once('exit', () => running.delete(child))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const leftover of running) leftover.kill('SIGKILL')
  })
}

function bcoinEntry(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('bcoin/package.json')), 'bin', 'node')
}

interface Ports {
  http: number
  p2p: number
}

interface LaunchSpec {
  network: BcoinNetwork
  apiKey: string
  prefix: string
  persistent: boolean
  /** `--only` addresses: the node dials these and nothing else. */
  only: string[]
}

function spawnBcoin(spec: LaunchSpec, ports: Ports): { child: ChildProcess; output: () => string } {
  const args = [
    bcoinEntry(),
    `--network=${spec.network}`,
    `--memory=${String(!spec.persistent)}`,
    `--prefix=${spec.prefix}`,
    '--http-host=127.0.0.1',
    `--http-port=${ports.http}`,
    `--api-key=${spec.apiKey}`,
    '--no-wallet',
    '--listen=true',
    // Without --host bcoin binds P2P on every interface.
    '--host=127.0.0.1',
    `--port=${ports.p2p}`,
    `--only=${spec.only.join(',')}`,
    '--workers=false',
    '--log-level=error',
  ]
  const child = spawn(process.execPath, args, { env: { ...process.env, NODE_BACKEND: 'js' }, stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  // Drained so a full pipe never blocks the node; the tail explains a failed start.
  let tail = ''
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-2_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  // Stops are signals (SIGTERM, SIGKILL); an exit with an error code is bcoin failing on its own
  // (a crash seen once under the fuzz suite's load): say so, with what it printed, or nobody learns why.
  child.once('exit', (code, signal) => {
    if (signal === null && code !== 0) process.stderr.write(`bcoin on port ${ports.http} exited on its own with code ${code}; its last output: ${tail.trim() || '(none)'}\n`)
  })
  return { child, output: () => tail.trim() }
}

/**
 * Spawns bcoin and waits until getblockchaininfo answers. Without fixed `ports`, picks free ones
 * and retries with others if bcoin exits (most likely a port taken between freePort() and bind).
 */
async function launch(spec: LaunchSpec, label: string, fixed?: Ports): Promise<{ child: ChildProcess; ports: Ports }> {
  for (let attempt = 1; ; attempt++) {
    const ports = fixed ?? { http: await freePort(), p2p: await freePort() }
    const { child, output } = spawnBcoin(spec, ports)
    let outcome: 'ready' | 'exited'
    try {
      outcome = await waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) return 'exited' as const
          await call(ports.http, spec.apiKey, label, 'getblockchaininfo', [], 1_000)
          // Another process may have taken the port between freePort() and bcoin binding it; only
          // a bcoin with our key refuses a wrong one. Not ours: keep waiting until ours exits.
          if (!(await refusesWrongKey(ports.http))) return false
          // bcoin answers RPC before it binds its P2P port, and exits if another process took that
          // port meanwhile: ready once its pool listens (networkactive), so such an exit is retried.
          const network = (await call(ports.http, spec.apiKey, label, 'getnetworkinfo', [], 1_000)) as { networkactive?: unknown }
          if (network.networkactive !== true) return false
          return 'ready' as const
        },
        { timeoutMs: READY_TIMEOUT_MS, everyMs: 50, what: `bcoin ${label} to answer RPC and listen for peers` },
      )
    } catch (error) {
      await stopProcess(child)
      throw new Error(`${error instanceof Error ? error.message : String(error)}; output: ${output() || '(none)'}`)
    }
    if (outcome === 'ready') return { child, ports }
    if (fixed !== undefined || attempt >= START_ATTEMPTS) {
      throw new Error(`bcoin ${label} exited during start (${child.exitCode ?? child.signalCode}); output: ${output() || '(none)'}`)
    }
  }
}

let nextRequestId = 1

async function refusesWrongKey(httpPort: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('x:not-the-key').toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'getblockcount', params: [], id: 0 }),
    signal: AbortSignal.timeout(1_000),
  })
  await response.arrayBuffer()
  return response.status === 401
}

async function call(httpPort: number, apiKey: string, label: string, method: string, params: unknown[], timeoutMs = RPC_TIMEOUT_MS): Promise<unknown> {
  // fetch refuses URLs with credentials, so the basic-auth header is built here.
  const response = await fetch(`http://127.0.0.1:${httpPort}/`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`x:${apiKey}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ method, params, id: nextRequestId++ }),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await response.text()
  let body: { result?: unknown; error?: { code?: number; message?: string } | null }
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    throw new Error(`bcoin ${label} ${method}: HTTP ${response.status} ${text.slice(0, 200)}`)
  }
  if (body.error !== null && body.error !== undefined) throw new Error(`bcoin ${label} ${method}: ${body.error.message ?? 'error'} (${body.error.code})`)
  return body.result
}

/**
 * One directed P2P link (a node dialling one peer address) through a TCP relay in this process:
 * the node's `--only` names the relay, and the relay forwards to the peer while the link is up.
 */
class Link {
  readonly #sockets = new Set<Socket>()
  #up = true
  /** Makes the dialling node connect now instead of on bcoin's 3-second refill timer. */
  dialNow: () => Promise<void> = async () => undefined

  private constructor(
    readonly server: Server,
    readonly port: number,
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  static async open(target: { host: string; port: number }): Promise<Link> {
    const server = createServer()
    // Our own listener: port 0 is race-free, unlike the ports bcoin binds.
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('relay has no port'))
      })
    })
    const link = new Link(server, port, target.host, target.port)
    server.on('connection', (socket) => link.#relay(socket))
    links.add(link)
    return link
  }

  #relay(inbound: Socket): void {
    if (!this.#up) {
      inbound.destroy()
      return
    }
    const outbound = connect(this.targetPort, this.targetHost)
    for (const socket of [inbound, outbound]) {
      this.#sockets.add(socket)
      socket.on('error', () => undefined)
      socket.on('close', () => {
        this.#sockets.delete(socket)
        inbound.destroy()
        outbound.destroy()
      })
    }
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  }

  cut(): void {
    this.#up = false
    for (const socket of this.#sockets) socket.destroy()
  }

  restore(): void {
    this.#up = true
  }

  async close(): Promise<void> {
    links.delete(this)
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

function parsePeer(peer: string): { host: string; port: number } {
  const separator = peer.lastIndexOf(':')
  const port = Number(peer.slice(separator + 1))
  if (separator <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error(`peer "${peer}" is not host:port`)
  return { host: peer.slice(0, separator), port }
}

/** Every open link, so a node can find the links that lead to it (another node's relays). */
const links = new Set<Link>()

interface PeerInfo {
  version?: number
}

async function handshakenPeers(rpc: BcoinNode['rpc']): Promise<number> {
  const peers = (await rpc('getpeerinfo')) as PeerInfo[]
  // version is -1 until the peer's version message arrived.
  return peers.filter((peer) => (peer.version ?? -1) > 0).length
}

export async function startBcoin(options: BcoinOptions = {}): Promise<BcoinNode> {
  const apiKey = options.apiKey ?? randomBytes(12).toString('hex')
  const persistent = options.persistent === true
  const targets = (options.peers ?? []).map(parsePeer)
  const ownLinks = await Promise.all(targets.map((target) => Link.open(target)))
  const spec: LaunchSpec = {
    network: options.network ?? 'regtest',
    apiKey,
    persistent,
    prefix: await mkdtemp(join(tmpdir(), 'switchyard-bcoin-')),
    // Port 1 never answers: bcoin gets a peer list it can never use instead of the network's seeds.
    only: ownLinks.length > 0 ? ownLinks.map((link) => `127.0.0.1:${link.port}`) : ['127.0.0.1:1'],
  }
  let launched: { child: ChildProcess; ports: Ports }
  try {
    launched = await launch(spec, options.id ?? 'bcoin')
  } catch (error) {
    await Promise.all(ownLinks.map((link) => link.close()))
    await rm(spec.prefix, { recursive: true, force: true })
    throw error
  }
  let child = launched.child
  const { http, p2p } = launched.ports
  const id = options.id ?? `bcoin-${http}`
  const rpc = (method: string, params: unknown[] = []): Promise<unknown> => call(http, apiKey, id, method, params)
  for (const link of ownLinks) {
    link.dialNow = async () => {
      await rpc('addnode', [`127.0.0.1:${link.port}`, 'onetry'])
    }
  }
  const myLinks = (): Link[] => [...links].filter((link) => ownLinks.includes(link) || (link.targetPort === p2p && link.targetHost === '127.0.0.1'))
  let stopping: Promise<void> | undefined

  return {
    id,
    url: `http://x:${apiKey}@127.0.0.1:${http}/`,
    httpPort: http,
    p2pPort: p2p,
    get pid() {
      return child.pid ?? -1
    },
    rpc,
    height: async () => {
      const count = await rpc('getblockcount')
      if (typeof count !== 'number') throw new Error(`bcoin ${id} getblockcount: not a number`)
      return count
    },
    generate: async (blocks, address = BCOIN_REGTEST_BURN_ADDRESS) => (await rpc('generatetoaddress', [blocks, address])) as string[],
    isolate: async () => {
      for (const link of myLinks()) link.cut()
      await waitFor(async () => (await handshakenPeers(rpc)) === 0, { timeoutMs: 10_000, what: `${id} to lose its peers` })
    },
    reconnect: async () => {
      const restored = myLinks()
      for (const link of restored) link.restore()
      await Promise.all(restored.map((link) => link.dialNow()))
      if (restored.length === 0) return
      await waitFor(async () => (await handshakenPeers(rpc)) > 0, { timeoutMs: 10_000, what: `${id} to reconnect` })
    },
    signal: (signal) => signalProcess(child, signal),
    stop: () =>
      (stopping ??= (async () => {
        await stopProcess(child)
        await Promise.all(ownLinks.map((link) => link.close()))
        await rm(spec.prefix, { recursive: true, force: true })
      })()),
    restart: async () => {
      await stopProcess(child)
      if (!persistent) {
        await rm(spec.prefix, { recursive: true, force: true })
        spec.prefix = await mkdtemp(join(tmpdir(), 'switchyard-bcoin-'))
      }
      ;({ child } = await launch(spec, id, { http, p2p }))
    },
  }
}

/**
 * `count` nodes, every node after the first peered to the first, so blocks mined on any reach all.
 * Resolves once every link has completed the P2P handshake on both ends.
 */
export async function startPeeredBcoins(
  count: number,
  options: { ids?: string[]; network?: BcoinNetwork; persistent?: boolean } = {},
): Promise<BcoinNode[]> {
  const base = { network: options.network, persistent: options.persistent }
  const hub = await startBcoin({ ...base, id: options.ids?.[0] })
  const started = await Promise.allSettled(
    Array.from({ length: count - 1 }, (_, index) => startBcoin({ ...base, id: options.ids?.[index + 1], peers: [`127.0.0.1:${hub.p2pPort}`] })),
  )
  const nodes = [hub, ...started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))]
  try {
    const failed = started.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    await connectPeers(nodes.slice(1), hub)
    return nodes
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()))
    throw error
  }
}

/**
 * Waits until each of `nodes` (started with `peers` including `hub`) has a handshaken peer and the
 * hub has one per node; asks them to dial at once rather than after bcoin's first refill.
 */
export async function connectPeers(nodes: readonly BcoinNode[], hub: BcoinNode, timeoutMs = 20_000): Promise<void> {
  await Promise.all(nodes.map((node) => node.reconnect()))
  await waitFor(async () => (await handshakenPeers(hub.rpc)) >= nodes.length, { timeoutMs, what: `${hub.id} to see ${nodes.length} peers` })
}

/** Whether bcoin's submitblock reply means the node has the block (Core says `duplicate`, bcoin `rejected: duplicate`). */
function accepted(reply: unknown): boolean {
  return reply === null || reply === 'duplicate' || reply === 'rejected: duplicate'
}

/**
 * Copies blocks `fromHeight`..`toHeight` of `from` into each of `to` by submitblock: identical
 * chains without P2P, so a test decides exactly which node has which block.
 */
export async function copyBlocks(from: BcoinNode, to: readonly BcoinNode[], fromHeight: number, toHeight: number): Promise<void> {
  for (let height = fromHeight; height <= toHeight; height++) {
    const hash = await from.rpc('getblockhash', [height])
    const raw = await from.rpc('getblock', [hash, false])
    for (const node of to) {
      const reply = await node.rpc('submitblock', [raw])
      if (!accepted(reply)) throw new Error(`submitblock of block ${height} to ${node.id}: ${String(reply)}`)
    }
  }
}

/** The highest height at which both nodes have the same block (0 at worst: regtest genesis is shared). */
export async function forkPoint(a: BcoinNode, b: BcoinNode): Promise<number> {
  for (let height = Math.min(await a.height(), await b.height()); height > 0; height--) {
    if ((await a.rpc('getblockhash', [height])) === (await b.rpc('getblockhash', [height]))) return height
  }
  return 0
}

/**
 * Gives each of `to` the chain of `from` by submitblock: the blocks above the fork point. A node
 * on a branch with less work reorgs onto it, as it would on hearing the blocks from a peer.
 */
export async function copyChain(from: BcoinNode, to: readonly BcoinNode[]): Promise<void> {
  const top = await from.height()
  for (const node of to) await copyBlocks(from, [node], (await forkPoint(from, node)) + 1, top)
}

/** Waits until `node` has at least `height` blocks. */
export async function waitForHeight(node: BcoinNode, height: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await node.height()) >= height, { timeoutMs, what: `${node.id} to reach height ${height}` })
}
