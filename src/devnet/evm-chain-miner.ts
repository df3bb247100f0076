#!/usr/bin/env node
/**
 * Keeps several anvil nodes reached over HTTP ONE chain (the docker-compose stack's EVM nodes),
 * so switchyard's fork check sees honest nodes agree. anvil has no peer-to-peer sync, and nodes
 * that mine on their own (automine, `--block-time`) stamp blocks with their own clock: different
 * blocks under one chain id, which is a fork. So the nodes run `--no-mining` with the same
 * `--chain-id` and `--timestamp` (an identical genesis block), and this process is the chain's
 * only miner. One round:
 *
 * 1. reads every node's head; a node that does not answer is skipped and caught up in a later round;
 * 2. picks the source: the highest node (the first listed among equals). Longest chain wins, so
 *    a restarted anvil (it keeps no state: back at genesis) never drags the others back;
 * 3. sends the source the transactions pending on the other nodes, so a transaction sent to any
 *    node gets mined;
 * 4. mines one block on the source, stamped with the wall clock (at least its parent's + 1 s);
 * 5. rolls every other node back to the last block it shares with the source (`anvil_rollback`)
 *    and gives it the source's blocks above that: the same raw transactions, timestamp and base
 *    fee, mined one block at a time and checked hash by hash;
 * 6. re-sends the source's still-pending transactions to the others, so every node answers a
 *    lookup of a sent transaction alike.
 *
 * A transaction that reaches a node only (not the source) between steps 3 and 5 is dropped
 * there; switchyard's rebroadcast sends it again. Node URLs never appear in logs or errors:
 * nodes are named by id.
 *
 *   node dist/src/devnet/evm-chain-miner.js --node anvil-a=http://anvil-a:8545 --node anvil-b=http://anvil-b:8545
 *
 * Self-contained (Node built-ins only): the Dockerfile compiles this one file into the image.
 */
import { realpathSync } from 'node:fs'
import { utimes, writeFile } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

export interface MinerNode {
  /** Name used in logs and reports. */
  readonly id: string
  /** HTTP JSON-RPC endpoint of the anvil node. */
  readonly url: string
}

export interface EvmChainMinerOptions {
  /** Nodes of the chain, in order of preference for the source among equally high ones. At least one. */
  readonly nodes: readonly MinerNode[]
  /** Timeout of one JSON-RPC call, ms. Default 5000. */
  readonly rpcTimeoutMs?: number
  /** Wall clock, ms since the epoch (block timestamps). Default `Date.now`. */
  readonly nowMs?: () => number
}

export interface RoundReport {
  /** Node the block was mined on; undefined when no node answered. */
  readonly source: string | undefined
  /** The source's head after the round. */
  readonly height: number | undefined
  readonly hash: string | undefined
  /** Nodes at the source's head with the same hash after the round, the source included. */
  readonly inSync: readonly string[]
  /** Nodes that did not answer their head query. */
  readonly unreachable: readonly string[]
  /** Nodes that answered but could not be brought to the source's head, and why. */
  readonly failed: ReadonlyArray<{ readonly node: string; readonly error: string }>
  /** Nodes whose chain was changed other than by the round's one new block: blocks rolled back and copied. */
  readonly repaired: ReadonlyArray<{ readonly node: string; readonly rolledBack: number; readonly copied: number }>
}

interface Block {
  number: string
  hash: string
  timestamp: string
  baseFeePerGas?: string
  transactions: string[]
}

interface TxPool {
  pending?: Record<string, Record<string, { hash: string }>>
  queued?: Record<string, Record<string, { hash: string }>>
}

/** Tries per copied block: a send reaching the node during the copy puts an extra transaction in it. */
const COPY_ATTEMPTS = 3
const DEFAULT_RPC_TIMEOUT_MS = 5_000

class Rpc {
  constructor(
    readonly id: string,
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    let response: Response
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (error) {
      // undici's cause names the address it tried: only its code goes into the message.
      throw new Error(`${this.id} ${method}: ${transportCode(error)}`)
    }
    const body = (await response.json().catch(() => undefined)) as { result?: T; error?: { message?: string; code?: number } } | undefined
    if (body === undefined) throw new Error(`${this.id} ${method}: HTTP ${response.status}, not JSON-RPC`)
    if (body.error !== undefined) throw new Error(`${this.id} ${method}: ${body.error.message ?? `error ${body.error.code}`}`)
    return body.result as T
  }
}

function transportCode(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out'
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  return typeof cause?.code === 'string' ? cause.code : 'unreachable'
}

const hex = (value: number): string => `0x${value.toString(16)}`
const int = (value: string): number => Number.parseInt(value, 16)
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class EvmChainMiner {
  private readonly nodes: readonly Rpc[]
  private readonly nowMs: () => number

  constructor(options: EvmChainMinerOptions) {
    if (options.nodes.length === 0) throw new Error('evm-chain-miner: at least one node')
    const ids = new Set(options.nodes.map((node) => node.id))
    if (ids.size !== options.nodes.length) throw new Error('evm-chain-miner: node ids must be unique')
    this.nodes = options.nodes.map((node) => new Rpc(node.id, node.url, options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS))
    this.nowMs = options.nowMs ?? Date.now
  }

  /** One round: the new block is on the source and, unless reported otherwise, on every node. */
  async round(): Promise<RoundReport> {
    const heads = await Promise.all(
      this.nodes.map(async (node) => {
        try {
          // A node restarted without --no-mining would automine sent transactions: its own chain.
          if ((await node.call<boolean>('anvil_getAutomine')) === true) await node.call('evm_setAutomine', [false])
          return { node, head: await node.call<Block>('eth_getBlockByNumber', ['latest', false]) }
        } catch {
          return { node, head: undefined }
        }
      }),
    )
    const unreachable = heads.filter((entry) => entry.head === undefined).map((entry) => entry.node.id)
    const live = heads.flatMap((entry) => (entry.head === undefined ? [] : [{ node: entry.node, height: int(entry.head.number) }]))
    const top = live.reduce<(typeof live)[number] | undefined>((best, entry) => (best === undefined || entry.height > best.height ? entry : best), undefined)
    if (top === undefined) return { source: undefined, height: undefined, hash: undefined, inSync: [], unreachable, failed: [], repaired: [] }
    const source = top.node
    const targets = live.filter((entry) => entry.node !== source)

    await Promise.all(targets.map((target) => this.forwardPending(target.node, [source])))
    const mined = await this.mineOn(source)
    const blocks = new SourceBlocks(source)
    blocks.remember(mined)

    const failed: Array<{ node: string; error: string }> = []
    const repaired: Array<{ node: string; rolledBack: number; copied: number }> = []
    const inSync = [source.id]
    await Promise.all(
      targets.map(async (target) => {
        try {
          const outcome = await this.align(target.node, target.height, int(mined.number), blocks)
          inSync.push(target.node.id)
          if (outcome.rolledBack > 0 || outcome.copied > 1) repaired.push({ node: target.node.id, ...outcome })
        } catch (error) {
          failed.push({ node: target.node.id, error: message(error) })
        }
      }),
    )
    await this.forwardPending(
      source,
      targets.filter((target) => inSync.includes(target.node.id)).map((target) => target.node),
    )
    const order = (id: string): number => this.nodes.findIndex((node) => node.id === id)
    inSync.sort((a, b) => order(a) - order(b))
    return { source: source.id, height: int(mined.number), hash: mined.hash, inSync, unreachable, failed, repaired }
  }

  /** Mines one block on `node` stamped with the wall clock, never at or before its parent's time. */
  private async mineOn(node: Rpc): Promise<Block> {
    const parent = await node.call<Block>('eth_getBlockByNumber', ['latest', false])
    const timestamp = Math.max(Math.floor(this.nowMs() / 1_000), int(parent.timestamp) + 1)
    await node.call('evm_setNextBlockTimestamp', [timestamp])
    await node.call('anvil_mine', ['0x1'])
    const block = await node.call<Block>('eth_getBlockByNumber', [hex(int(parent.number) + 1), false])
    if (block === null) throw new Error(`${node.id}: block ${int(parent.number) + 1} missing right after mining it`)
    return block
  }

  /** Rolls `target` back to the last block it shares with the source, then copies the source's blocks above it. */
  private async align(target: Rpc, targetHeight: number, sourceHeight: number, blocks: SourceBlocks): Promise<{ rolledBack: number; copied: number }> {
    const common = await this.commonHeight(target, Math.min(targetHeight, sourceHeight), blocks)
    const rolledBack = targetHeight - common
    if (rolledBack > 0) await target.call('anvil_rollback', [rolledBack])
    for (let height = common + 1; height <= sourceHeight; height++) await this.copyBlock(target, await blocks.at(height), blocks)
    return { rolledBack, copied: sourceHeight - common }
  }

  /** The highest height at which `target` holds the source's block (chains that share a block share all below it). */
  private async commonHeight(target: Rpc, highest: number, blocks: SourceBlocks): Promise<number> {
    const same = async (height: number): Promise<boolean> => {
      const block = await target.call<Block | null>('eth_getBlockByNumber', [hex(height), false])
      return block !== null && block.hash === (await blocks.at(height)).hash
    }
    if (await same(highest)) return highest
    if (!(await same(0))) throw new Error(`${target.id}: another genesis block than the source's: start every anvil with the same --chain-id and --timestamp`)
    let low = 0
    let high = highest
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2)
      if (await same(middle)) low = middle
      else high = middle
    }
    return low
  }

  private async copyBlock(target: Rpc, block: Block, blocks: SourceBlocks): Promise<void> {
    const raws = await blocks.rawTransactions(block)
    for (let attempt = 1; ; attempt++) {
      // Only the block's transactions may go into the copy; the others are pending on the source too.
      await target.call('anvil_dropAllTransactions')
      for (const raw of raws) await sendRaw(target, raw)
      await target.call('evm_setNextBlockTimestamp', [int(block.timestamp)])
      // After a rollback anvil keeps the base fee the undone block set: pin the source's.
      if (block.baseFeePerGas !== undefined) await target.call('anvil_setNextBlockBaseFeePerGas', [block.baseFeePerGas])
      await target.call('anvil_mine', ['0x1'])
      const copy = await target.call<Block>('eth_getBlockByNumber', [block.number, false])
      if (copy.hash === block.hash) return
      const detail = `${target.id}: copy of block ${int(block.number)} is ${copy.hash} (${copy.transactions.length} txs), not the source's ${block.hash} (${block.transactions.length} txs)`
      if (attempt >= COPY_ATTEMPTS) throw new Error(detail)
      // A send that reached the node between the drop and the mining: take the block back, again.
      await target.call('anvil_rollback', [1])
    }
  }

  /** Sends the raw transactions pending on `from` to each of `to`; refusals (already known, nonce too low) are expected. */
  private async forwardPending(from: Rpc, to: readonly Rpc[]): Promise<void> {
    if (to.length === 0) return
    let raws: string[]
    try {
      const pool = await from.call<TxPool>('txpool_content')
      const hashes = [pool.pending, pool.queued].flatMap((bySender) => Object.values(bySender ?? {}).flatMap((byNonce) => Object.values(byNonce).map((tx) => tx.hash)))
      raws = (await Promise.all(hashes.map((hash) => from.call<string | null>('eth_getRawTransactionByHash', [hash])))).filter((raw): raw is string => raw !== null)
    } catch {
      return
    }
    for (const node of to) for (const raw of raws) await sendRaw(node, raw).catch(() => undefined)
  }
}

async function sendRaw(node: Rpc, raw: string): Promise<void> {
  try {
    await node.call('eth_sendRawTransaction', [raw])
  } catch (error) {
    if (!/already (imported|known)/i.test(message(error))) throw error
  }
}

/** The source's blocks and their raw transactions, read once per round whatever the number of targets. */
class SourceBlocks {
  private readonly byHeight = new Map<number, Promise<Block>>()
  private readonly raws = new Map<string, Promise<string[]>>()

  constructor(private readonly source: Rpc) {}

  remember(block: Block): void {
    this.byHeight.set(int(block.number), Promise.resolve(block))
  }

  at(height: number): Promise<Block> {
    let block = this.byHeight.get(height)
    if (block === undefined) {
      block = this.source.call<Block | null>('eth_getBlockByNumber', [hex(height), false]).then((found) => {
        if (found === null) throw new Error(`${this.source.id}: no block ${height}`)
        return found
      })
      this.byHeight.set(height, block)
    }
    return block
  }

  rawTransactions(block: Block): Promise<string[]> {
    let raws = this.raws.get(block.hash)
    if (raws === undefined) {
      raws = Promise.all(block.transactions.map((hash) => this.source.call<string>('eth_getRawTransactionByHash', [hash])))
      this.raws.set(block.hash, raws)
    }
    return raws
  }
}

export interface RunOptions {
  /** Time from the start of one round to the start of the next, ms. */
  readonly intervalMs: number
  /** Stops the loop (after the round in progress). */
  readonly signal: AbortSignal
  /** Called after every round (its report, or the error that ended it). */
  readonly onRound?: (outcome: { report: RoundReport } | { error: unknown }) => void | Promise<void>
}

/** Runs rounds every `intervalMs` until `signal` aborts; resolves then. */
export async function runMiner(miner: EvmChainMiner, options: RunOptions): Promise<void> {
  while (!options.signal.aborted) {
    const startedAt = Date.now()
    let outcome: { report: RoundReport } | { error: unknown }
    try {
      outcome = { report: await miner.round() }
    } catch (error) {
      outcome = { error }
    }
    await options.onRound?.(outcome)
    const waitMs = Math.max(0, options.intervalMs - (Date.now() - startedAt))
    await delay(waitMs, undefined, { signal: options.signal }).catch(() => undefined)
  }
}

const usage = `usage: evm-chain-miner --node ID=URL [--node ID=URL ...] [options]
Mines one block every interval on the highest anvil node and copies it to the others, so the
nodes stay ONE chain. Start every anvil with --no-mining and the same --chain-id and --timestamp.
options:
  --node ID=URL            an anvil node (repeat; a bare URL takes its host name as id)
  --interval-ms N          time between blocks, ms (default 2000)
  --rpc-timeout-ms N       timeout of one call to a node, ms (default 5000)
  --heartbeat-file PATH    touched after every round in which every answering node got the block
                           (a container health check reads its age); default none
  -h, --help`

/** Parses `--node` values: `id=url`, or a bare URL named by its host. */
export function parseNodeArgs(values: readonly string[]): MinerNode[] {
  return values.map((value) => {
    const at = value.indexOf('=')
    const [id, url] = at > 0 && !value.slice(0, at).includes('/') ? [value.slice(0, at), value.slice(at + 1)] : [undefined, value]
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new Error(`--node ${id ?? '?'}: not a URL`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--node ${id ?? parsed.hostname}: must be an http(s) URL`)
    return { id: id ?? parsed.hostname, url }
  })
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name}: must be a positive whole number of ms`)
  return parsed
}

async function touch(path: string): Promise<void> {
  const now = new Date()
  try {
    await utimes(path, now, now)
  } catch {
    await writeFile(path, '')
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: { nodes: MinerNode[]; intervalMs: number; rpcTimeoutMs: number; heartbeatFile: string | undefined }
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        node: { type: 'string', multiple: true },
        'interval-ms': { type: 'string' },
        'rpc-timeout-ms': { type: 'string' },
        'heartbeat-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
    if (values.help === true) {
      process.stdout.write(`${usage}\n`)
      return 0
    }
    const nodes = parseNodeArgs(values.node ?? [])
    if (nodes.length === 0) throw new Error('give at least one --node')
    options = {
      nodes,
      intervalMs: positiveInt('--interval-ms', values['interval-ms'], 2_000),
      rpcTimeoutMs: positiveInt('--rpc-timeout-ms', values['rpc-timeout-ms'], DEFAULT_RPC_TIMEOUT_MS),
      heartbeatFile: values['heartbeat-file'],
    }
  } catch (error) {
    process.stderr.write(`evm-chain-miner: ${message(error)}\n${usage}\n`)
    return 2
  }
  const miner = new EvmChainMiner(options)
  const say = (line: string): void => void process.stdout.write(`evm-chain-miner: ${line}\n`)
  const stop = new AbortController()
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort())
  say(`mining every ${options.intervalMs} ms for ${options.nodes.map((node) => node.id).join(', ')}`)
  // Logged when it changes, not every round: a line per block would bury everything else.
  let lastProblems = ''
  let firstBlock = true
  await runMiner(miner, {
    intervalMs: options.intervalMs,
    signal: stop.signal,
    onRound: async (outcome) => {
      if ('error' in outcome) {
        say(`round failed: ${message(outcome.error)}`)
        return
      }
      const { report } = outcome
      for (const repair of report.repaired) say(`${repair.node}: rolled back ${repair.rolledBack} block(s), copied ${repair.copied} from ${report.source}`)
      const problems = [...report.unreachable.map((id) => `${id} unreachable`), ...report.failed.map((failure) => failure.error)].join('; ')
      if (problems !== lastProblems) say(problems === '' ? `all nodes in sync at ${report.height}` : problems)
      lastProblems = problems
      if (report.source !== undefined && firstBlock) say(`block ${report.height} mined on ${report.source}, on ${report.inSync.join(', ')}`)
      if (report.source !== undefined) firstBlock = false
      if (report.source !== undefined && report.failed.length === 0 && options.heartbeatFile !== undefined) await touch(options.heartbeatFile)
    },
  })
  say('stopped')
  return 0
}

function invokedAsScript(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (invokedAsScript()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`evm-chain-miner: ${message(error)}\n`)
      process.exitCode = 1
    },
  )
}
