/**
 * The chaos suite's harness: real nodes of one chain, each behind a fault proxy
 * (`test/support/fault-proxy.ts`), switchyard in process in front of them, a steady load of reads
 * and broadcasts, and the accounting every scenario is judged by.
 *
 * A chain's nodes, reads and transactions come from a `ChainDriver` (`evm-cluster.ts`,
 * `bitcoin-cluster.ts`); everything here is family-agnostic:
 * - `startLoad()`: concurrent readers on kept-alive connections, each call's answer checked (a
 *   wrong answer is a failure too), and a broadcaster sending the driver's transactions one after
 *   another, the same bytes again after a failure (a wallet never skips a nonce or an input);
 * - the victim's status from `node:state` events (and the snapshot after each probe round, so
 *   nodes added or removed by a reload are followed), counted in probe rounds (`probe:complete`);
 * - `finish()`: reads sent and failed (by error code), failures while at least one node was
 *   healthy, broadcasts sent, accepted and lost (an accepted txid missing on a node that is healthy
 *   at the end, looked up on each node directly, after switchyard had time to rebroadcast), then
 *   the figures to `test-output/chaos.json` (merged by scenario name) and `recordFigure`.
 *
 * `runNodeScenario()` is one node fault from start to recovery; other scenarios (a rolling
 * restart, a hot reload) use `window()`, `startLoad()` and `finish()` around their own steps.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { type Dispatcher, Pool } from 'undici'
import { expect } from 'vitest'
import type { ChainConfigInput, ProxyConfigInput } from '../../src/config/schema.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { createProxy } from '../../src/index.js'
import type { NodeStatus } from '../../src/pool/node-health.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'
import type { FaultProxy } from '../support/fault-proxy.js'
import { recordFigure } from '../support/figures.js'

// ---------------------------------------------------------------------------------------------
// What a chain family provides

/** A real node as the chaos suite sees it. */
/** Ejection bounds in probe rounds, by how a fault shows. */
export const EJECTION_ROUNDS = {
  /** failuresToDown (3): each probe round fails on the node, besides the reads that fail on it. */
  failing: 3,
  /** One more for a node that hangs: a timeout that fired late because switchyard's own loop stalled is not held against the node. */
  hanging: 4,
  /** A round already running when the blocks came may miss them; the next one sees the heights (or hashes) apart. */
  height: 2,
} as const

export interface ChaosNode {
  readonly id: string
  /** What switchyard is configured with: the fault proxy's address (with the node's credentials). */
  readonly url: string
  /** The fault proxy between switchyard and the node. */
  readonly faults: FaultProxy
  /** JSON-RPC straight to the node, never through switchyard or the fault proxy. */
  rpc(method: string, params?: unknown[]): Promise<unknown>
}

/** One read of the steady load and how to judge its answer. */
export interface ReadCall {
  method: string
  params: unknown[]
  /** undefined: a right answer; 'later' when only `ChainDriver.judgeLater` can tell, at the end; else what is wrong with it. */
  check(result: unknown, reader: ReaderState): string | undefined
  /** A node's own JSON-RPC error (no SY_ code): 'ok' when it is a true answer, 'later', or what is wrong. */
  checkError?(error: { code?: number; message?: string }, timing: { startedAt: number; endedAt: number }): 'ok' | 'later' | string
}

/** An answer left for `ChainDriver.judgeLater`. */
export interface LaterRead {
  method: string
  params: unknown[]
  startedAt: number
  endedAt: number
  /** The result, or the node's error. */
  answer: { result: unknown } | { error: { code?: number; message?: string } }
}

/** Per-reader memory: calls made (to rotate methods) and the last height seen (heights never go backwards). */
export interface ReaderState {
  index: number
  calls: number
  lastHeight: number
  /**
   * switchyard's head when the call is made: a wallet asks for blocks up to the height switchyard
   * announced; above it, "not found" is switchyard's true answer (its reads follow its read head).
   */
  head: number
}

export interface SignedTx {
  raw: string
  txid: string
}

export interface ChainDriver {
  /** Chain name in switchyard's config (the `/rpc/<chain>` path). */
  readonly chain: string
  /** eth_sendRawTransaction or sendrawtransaction. */
  readonly broadcastMethod: string
  /** The nodes in the chain now (a reload may change them). */
  readonly nodes: readonly ChaosNode[]
  /** switchyard's config of the chain, nodes through their fault proxies. */
  chainConfig(nodes?: readonly ChaosNode[]): ChainConfigInput
  nextRead(reader: ReaderState): ReadCall
  /** The transaction to broadcast next: the same one until `accepted` is called. */
  nextTransaction(): Promise<SignedTx>
  accepted(tx: SignedTx, at: number): void
  /** Txids switchyard accepted so far (all scenarios). */
  acceptedTxids(): string[]
  /** Which of `txids` the node holds (mempool, pool or chain), asked of the node directly. */
  holds(node: ChaosNode, txids: readonly string[]): Promise<Set<string>>
  /** Judges the answers left for later: what is wrong with each ('' when right), in order. */
  judgeLater(items: readonly LaterRead[]): Promise<string[]>
  /** After a scenario (load stopped, broadcasts everywhere): confirm what is pending, so the next one starts clean. */
  settle(proxy: Proxy): Promise<void>
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Load

export interface ReadOutcome {
  startedAt: number
  endedAt: number
  method: string
  /** Answered right. */
  ok: boolean
  /** The answer was wrong (never excused). */
  wrong: boolean
  /** SY_ code, transport error code, WRONG, or NODE_ERROR. */
  code?: string
  detail?: string
  /** x-switchyard-node of the answer. */
  nodeId?: string
}

export interface BroadcastOutcome {
  startedAt: number
  endedAt: number
  ok: boolean
  txid: string
  code?: string
  detail?: string
}

export interface LoadOptions {
  /** Where the load goes: default the in-process switchyard (a balancer's URL for a rolling restart). */
  baseUrl?: string
  /** switchyard's head (set by the harness). */
  head?: () => number
  /** Concurrent readers. Default 4. */
  readers?: number
  /** Pause of each reader between its calls, ms. Default 15. */
  readPauseMs?: number
  /** Pause between broadcasts, ms. Default 150. */
  broadcastPauseMs?: number
}

export class Load {
  readonly reads: ReadOutcome[] = []
  readonly broadcasts: BroadcastOutcome[] = []
  /** Answers only `judgeLater` can judge. */
  readonly later: Array<LaterRead & { outcome: ReadOutcome }> = []
  readonly #pool: Pool
  readonly #path: string
  readonly #driver: ChainDriver
  readonly #head: () => number
  #stopped = false
  #paused = false
  #resume: (() => void) | undefined
  #parked: (() => void) | undefined
  readonly #running: Promise<void>
  #crash: unknown

  constructor(driver: ChainDriver, baseUrl: string, options: LoadOptions) {
    this.#driver = driver
    this.#head = options.head ?? (() => Number.MAX_SAFE_INTEGER)
    const readers = options.readers ?? 4
    this.#pool = new Pool(baseUrl, { connections: readers + 1, headersTimeout: 60_000, bodyTimeout: 60_000 })
    this.#path = `/rpc/${driver.chain}`
    const readerLoops = Array.from({ length: readers }, (_, index) => this.#reader({ index, calls: 0, lastHeight: -1, head: 0 }, options.readPauseMs ?? 15))
    // A loop that throws (a driver bug) is reported by stop(), not as an unhandled rejection.
    this.#running = Promise.all([...readerLoops, this.#broadcaster(options.broadcastPauseMs ?? 150)]).then(
      () => undefined,
      (error: unknown) => {
        this.#crash = error
        this.#stopped = true
        this.#parked?.()
      },
    )
  }

  /** Resolves once `reads` answers and `broadcasts` accepted broadcasts came back since `since`. */
  async warm(since: number, counts: { reads?: number; broadcasts?: number } = {}): Promise<void> {
    await waitFor(
      () =>
        this.reads.filter((read) => read.startedAt >= since && read.ok).length >= (counts.reads ?? 20) &&
        this.broadcasts.filter((sent) => sent.startedAt >= since && sent.ok).length >= (counts.broadcasts ?? 1),
      { timeoutMs: 30_000, what: 'the load to get going' },
    )
  }

  /** Stops broadcasting once the transaction being sent is accepted; reads go on. */
  async pauseBroadcasts(): Promise<void> {
    this.#paused = true
    await new Promise<void>((resolve) => (this.#parked = resolve))
  }

  resumeBroadcasts(): void {
    this.#paused = false
    this.#resume?.()
    this.#resume = undefined
  }

  /** Stops reading; the broadcaster stops once its transaction is accepted (a few retries at most). */
  async stop(): Promise<void> {
    this.#stopped = true
    this.resumeBroadcasts()
    await this.#running
    await this.#pool.close()
    if (this.#crash !== undefined) throw this.#crash
  }

  async #reader(state: ReaderState, pauseMs: number): Promise<void> {
    while (!this.#stopped) {
      state.head = this.#head()
      const call = this.#driver.nextRead(state)
      const startedAt = performance.now()
      const reply = await post(this.#pool, this.#path, call.method, call.params)
      const endedAt = performance.now()
      const outcome: ReadOutcome = { startedAt, endedAt, method: call.method, ok: false, wrong: false, nodeId: reply.nodeId }
      if (reply.transport !== undefined) {
        outcome.code = reply.transport
      } else if (reply.syCode !== undefined) {
        outcome.code = reply.syCode
        outcome.detail = reply.message
      } else if (reply.error !== undefined) {
        const verdict = call.checkError?.(reply.error, { startedAt, endedAt }) ?? `node error ${reply.error.code} ${reply.error.message}`
        if (verdict === 'ok') outcome.ok = true
        else if (verdict === 'later') {
          outcome.ok = true
          this.later.push({ method: call.method, params: call.params, startedAt, endedAt, answer: { error: reply.error }, outcome })
        } else {
          outcome.wrong = true
          outcome.code = 'WRONG'
          outcome.detail = verdict
        }
      } else if (reply.hasResult) {
        const wrong = call.check(reply.result, state)
        if (wrong === undefined) outcome.ok = true
        else if (wrong === 'later') {
          outcome.ok = true
          this.later.push({ method: call.method, params: call.params, startedAt, endedAt, answer: { result: reply.result }, outcome })
        } else {
          outcome.wrong = true
          outcome.code = 'WRONG'
          outcome.detail = wrong
        }
      } else {
        outcome.code = `HTTP_${reply.status}`
        outcome.detail = reply.message
      }
      this.reads.push(outcome)
      await pause(pauseMs)
    }
  }

  async #broadcaster(pauseMs: number): Promise<void> {
    // After a stop, the transaction in hand gets this many more tries: a sent-but-unanswered one
    // would otherwise sit in some pools and make them differ.
    let triesAfterStop = 20
    for (;;) {
      if (this.#stopped) {
        this.#parked?.()
        return
      }
      if (this.#paused) {
        this.#parked?.()
        this.#parked = undefined
        await new Promise<void>((resolve) => (this.#resume = resolve))
        continue
      }
      const tx = await this.#driver.nextTransaction()
      for (;;) {
        const startedAt = performance.now()
        const reply = await post(this.#pool, this.#path, this.#driver.broadcastMethod, [tx.raw])
        const outcome: BroadcastOutcome = { startedAt, endedAt: performance.now(), ok: false, txid: tx.txid }
        if (reply.hasResult && typeof reply.result === 'string' && reply.result.toLowerCase().replace(/^0x/, '') === tx.txid.toLowerCase().replace(/^0x/, '')) {
          outcome.ok = true
        } else if (reply.hasResult) {
          outcome.code = 'WRONG'
          outcome.detail = `answered ${JSON.stringify(reply.result)}, the txid is ${tx.txid}`
        } else {
          outcome.code = reply.transport ?? reply.syCode ?? (reply.error !== undefined ? 'NODE_ERROR' : `HTTP_${reply.status}`)
          outcome.detail = reply.message
        }
        this.broadcasts.push(outcome)
        await pause(pauseMs)
        if (outcome.ok) {
          this.#driver.accepted(tx, outcome.endedAt)
          break
        }
        if (this.#stopped && --triesAfterStop <= 0) return
      }
    }
  }
}

interface PostReply {
  status?: number
  hasResult: boolean
  result?: unknown
  error?: { code?: number; message?: string; data?: { code?: string } }
  syCode?: string
  message?: string
  transport?: string
  nodeId?: string
}

async function post(pool: Dispatcher, path: string, method: string, params: unknown[]): Promise<PostReply> {
  try {
    const response = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
    const text = await response.body.text()
    const node = response.headers['x-switchyard-node']
    const nodeId = typeof node === 'string' ? node : undefined
    let json: { result?: unknown; error?: PostReply['error'] }
    try {
      json = JSON.parse(text)
    } catch {
      return { status: response.statusCode, hasResult: false, message: text.slice(0, 200), nodeId }
    }
    if (json.error !== undefined && json.error !== null) {
      const syCode = typeof json.error.data?.code === 'string' && json.error.data.code.startsWith('SY_') ? json.error.data.code : undefined
      return { status: response.statusCode, hasResult: false, error: json.error, syCode, message: json.error.message, nodeId }
    }
    return { status: response.statusCode, hasResult: 'result' in json, result: json.result, nodeId }
  } catch (error) {
    return { hasResult: false, transport: (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error)) }
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Node status over time, and probe rounds

/** Each node's status over time (performance.now()), from events, re-read from the snapshot after every probe round. */
class StatusTimeline {
  readonly #changes = new Map<string, Array<{ at: number; status: string }>>()
  readonly #proxy: Proxy
  readonly #chain: string

  constructor(proxy: Proxy, chain: string) {
    this.#proxy = proxy
    this.#chain = chain
    this.refresh()
  }

  record(nodeId: string, status: string, at = performance.now()): void {
    const changes = this.#changes.get(nodeId) ?? []
    if (changes.at(-1)?.status !== status) changes.push({ at, status })
    this.#changes.set(nodeId, changes)
  }

  /** Nodes added by a reload appear, removed ones become 'removed'. */
  refresh(): void {
    const chain = this.#proxy.snapshot().chains.find((candidate) => candidate.name === this.#chain)
    const present = new Set<string>()
    for (const node of chain?.nodes ?? []) {
      present.add(node.id)
      this.record(node.id, node.status)
    }
    for (const nodeId of this.#changes.keys()) if (!present.has(nodeId)) this.record(nodeId, 'removed')
  }

  status(nodeId: string): string | undefined {
    return this.#changes.get(nodeId)?.at(-1)?.status
  }

  healthyNow(): string[] {
    return [...this.#changes.keys()].filter((nodeId) => this.status(nodeId) === 'healthy')
  }

  #healthyAt(at: number): number {
    let count = 0
    for (const changes of this.#changes.values()) {
      let status: string | undefined
      for (const change of changes) {
        if (change.at > at) break
        status = change.status
      }
      if (status === 'healthy') count += 1
    }
    return count
  }

  /** Fewest healthy nodes at any moment of [from, to]. */
  minHealthy(from: number, to: number): number {
    let min = this.#healthyAt(from)
    for (const changes of this.#changes.values()) {
      for (const change of changes) if (change.at > from && change.at <= to) min = Math.min(min, this.#healthyAt(change.at))
    }
    return min
  }

  /** Milliseconds of [from, to] with no healthy node. */
  noneHealthyMs(from: number, to: number): number {
    const points = [from, ...[...this.#changes.values()].flatMap((changes) => changes.map((change) => change.at)).filter((at) => at > from && at < to).sort((x, y) => x - y), to]
    let total = 0
    for (let i = 0; i < points.length - 1; i++) if (this.#healthyAt(points[i]!) === 0) total += points[i + 1]! - points[i]!
    return total
  }
}

export interface Transition {
  /** Probe rounds completed between the reference point and the change. */
  rounds: number
  /** ms from the reference point to the change. */
  ms: number
  status: string
  reason: string
}

// ---------------------------------------------------------------------------------------------
// Scenarios

export interface NodeScenario {
  /** Unique across the suite: the key in test-output/chaos.json, e.g. `evm.kill-9`. */
  name: string
  victim: string
  /** Applies the fault; resolves once it is in place. `load` is the scenario's (to pause broadcasts around mining). */
  fault(context: { load: Load }): Promise<void>
  /** Ends the fault (the node restarted and caught up, the proxy back to none…); resolves once done. */
  restore(context: { load: Load }): Promise<void>
  /** The victim must reach one of these within `ejectWithinRounds` probe rounds after `fault()` resolved. Default: any status but healthy. */
  ejectedAs?: readonly NodeStatus[]
  ejectWithinRounds: number
  /**
   * Probe rounds after `restore()` resolved within which the victim must be healthy again. Default
   * 10: successesToRecover (2) good probes, plus the back-off of a node that flaps (ejected again
   * within flapWindowMs of its last re-admission), capped at readmitBackoffMaxMs (5 rounds here).
   */
  recoverWithinRounds?: number
  /** Probe rounds the fault is held after the ejection, under load. Default 5. */
  holdRounds?: number
}

export interface ScenarioResult {
  scenario: string
  victim?: string
  durationMs: number
  reads: {
    sent: number
    failed: number
    /** Failures while at least one node was healthy: must be 0. */
    failedWhileHealthy: number
    /** Failures without a healthy node that were not a switchyard error (SY_): must be 0. */
    notSwitchyardErrors: number
    wrong: number
    /** Answers only the end could judge (bitcoin: best block hashes, "not found" of a transaction mined meanwhile). */
    judgedLater: number
    byCode: Record<string, number>
    /** A few of the failures that count (while a node was healthy, wrong, not SY_), for the assertion message. */
    examples: string[]
    /** Reads the victim answered after it was healthy again. */
    servedByVictimAfterRecovery?: number
  }
  broadcasts: {
    sent: number
    accepted: number
    failed: number
    failedWhileHealthy: number
    byCode: Record<string, number>
    /** A few of the failures while a node was healthy. */
    examples: string[]
    /** Accepted txids (all so far) missing on a node healthy at the end. */
    lost: number
    lostExamples: string[]
    /** From the end of the load until every healthy node held every accepted txid, ms. */
    convergeMs: number
  }
  /** Time with no healthy node, ms. */
  noHealthyNodeMs: number
  ejection?: Transition & { leftHealthyAs?: string }
  recovery?: Transition
  extra?: Record<string, number | string>
}

export interface HarnessOptions {
  /** Extra top-level config (server, routing…) for the in-process switchyard. */
  config?: Partial<ProxyConfigInput>
}

export class ChaosHarness {
  readonly proxy: Proxy
  readonly app: FastifyInstance
  readonly baseUrl: string
  readonly driver: ChainDriver
  readonly #timeline: StatusTimeline
  #rounds = 0
  /** The highest pool head switchyard reported (its read head). */
  #head = 0
  readonly #roundWaiters: Array<{ at: number; resolve: () => void }> = []
  readonly #loads = new Set<Load>()
  readonly #unsubscribe: () => void
  /** The chain's head, fork and reorg events and each probe round's read head (bounded), for the failure record. */
  readonly #chainLog: Array<{ at: number; event: string; detail: unknown }> = []

  private constructor(driver: ChainDriver, proxy: Proxy, app: FastifyInstance, baseUrl: string) {
    this.driver = driver
    this.proxy = proxy
    this.app = app
    this.baseUrl = baseUrl
    this.#timeline = new StatusTimeline(proxy, driver.chain)
    this.#head = proxy.snapshot().chains.find((chain) => chain.name === driver.chain)?.head ?? 0
    const log = (event: string, detail: unknown): void => {
      this.#chainLog.push({ at: performance.now(), event, detail })
      if (this.#chainLog.length > CHAIN_LOG_LIMIT) this.#chainLog.splice(0, this.#chainLog.length - CHAIN_LOG_LIMIT)
    }
    this.#unsubscribe = proxy.events.subscribe({
      'chain:head': (event) => {
        if (event.chain !== driver.chain) return
        this.#head = Math.max(this.#head, event.head)
        log('chain:head', event)
      },
      'chain:fork': (event) => {
        if (event.chain === driver.chain) log('chain:fork', event)
      },
      'chain:reorg': (event) => {
        if (event.chain === driver.chain) log('chain:reorg', event)
      },
      'node:state': (event) => {
        if (event.chain === driver.chain) this.#timeline.record(event.nodeId, event.to)
      },
      'probe:complete': (event) => {
        if (event.chain !== driver.chain) return
        const chain = proxy.snapshot().chains.find((candidate) => candidate.name === driver.chain)
        log('probe:complete', { head: chain?.head, readHead: chain?.readHead, nodes: chain?.nodes.map((node) => `${node.id}:${node.status}@${node.height}`) })
        this.#timeline.refresh()
        this.#rounds += 1
        for (const waiter of [...this.#roundWaiters]) {
          if (this.#rounds >= waiter.at) {
            this.#roundWaiters.splice(this.#roundWaiters.indexOf(waiter), 1)
            waiter.resolve()
          }
        }
      },
    })
  }

  /** switchyard's whole config for the driver's chain (and `nodes`, default the driver's). */
  static config(driver: ChainDriver, options: HarnessOptions = {}, nodes?: readonly ChaosNode[]): ProxyConfigInput {
    return { journal: { path: ':memory:' }, ...options.config, log: { level: 'silent' }, chains: { [driver.chain]: driver.chainConfig(nodes) } } as ProxyConfigInput
  }

  /** switchyard in process (probing, rebroadcasting, HTTP on 127.0.0.1:0) in front of the driver's nodes. */
  static async start(driver: ChainDriver, options: HarnessOptions = {}): Promise<ChaosHarness> {
    const proxy = createProxy(ChaosHarness.config(driver, options))
    const app = buildApp(proxy)
    let baseUrl: string
    try {
      await proxy.start()
      baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
    } catch (error) {
      await app.close()
      await proxy.close()
      throw error
    }
    const harness = new ChaosHarness(driver, proxy, app, baseUrl)
    try {
      await harness.waitHealthy(driver.nodes.map((node) => node.id))
    } catch (error) {
      await harness.close()
      throw error
    }
    return harness
  }

  get rounds(): number {
    return this.#rounds
  }

  status(nodeId: string): string | undefined {
    return this.#timeline.status(nodeId)
  }

  /** Resolves after `count` more probe rounds of the chain. */
  waitRounds(count: number): Promise<void> {
    const at = this.#rounds + count
    return new Promise((resolve) => this.#roundWaiters.push({ at, resolve }))
  }

  async waitHealthy(nodeIds: readonly string[], timeoutMs = 30_000): Promise<void> {
    await waitFor(() => nodeIds.every((nodeId) => this.status(nodeId) === 'healthy'), { timeoutMs, what: `${nodeIds.join(', ')} healthy` })
  }

  /**
   * Resolves on the node's first status change (after now) that `match` accepts, with the probe
   * rounds and ms since `reference()` (read when the change happens, so it can be set later);
   * undefined if none came within `timeoutMs` (the scenario still finishes, and its check fails).
   */
  watch(nodeId: string, match: (status: string) => boolean, reference: () => { rounds: number; at: number }, timeoutMs = 30_000): Promise<Transition | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe()
        resolve(undefined)
      }, timeoutMs)
      const unsubscribe = this.proxy.events.subscribe({
        'node:state': (event) => {
          if (event.chain !== this.driver.chain || event.nodeId !== nodeId || !match(event.to)) return
          clearTimeout(timer)
          unsubscribe()
          const from = reference()
          resolve({ rounds: Math.max(0, this.#rounds - from.rounds), ms: Math.round(performance.now() - from.at), status: event.to, reason: event.reason })
        },
      })
    })
  }

  /** Starts a steady load (stopped by `finish()` or `close()`). */
  startLoad(options: LoadOptions = {}): Load {
    const load = new Load(this.driver, options.baseUrl ?? this.baseUrl, { head: () => this.#head, ...options })
    this.#loads.add(load)
    return load
  }

  /** Marks a scenario's start. */
  window(name: string): { name: string; startedAt: number } {
    return { name, startedAt: performance.now() }
  }

  /**
   * Ends a scenario: stops the load, waits until every node healthy now holds every accepted
   * txid (switchyard rebroadcasts to the ones that lack them), counts, writes the figures, and
   * settles the chain for the next scenario.
   */
  async finish(
    window: { name: string; startedAt: number },
    load: Load,
    details: Pick<ScenarioResult, 'victim' | 'ejection' | 'recovery' | 'extra'> & { victimBackAt?: number } = {},
  ): Promise<ScenarioResult> {
    await load.stop()
    this.#loads.delete(load)
    const endedAt = performance.now()
    const txids = this.driver.acceptedTxids()
    const holders = this.#timeline.healthyNow()
    const missing = async (): Promise<string[]> => {
      const gaps: string[] = []
      for (const node of this.driver.nodes.filter((candidate) => holders.includes(candidate.id))) {
        const held = await this.driver.holds(node, txids)
        for (const txid of txids) if (!held.has(txid)) gaps.push(`${txid} on ${node.id}`)
      }
      return gaps
    }
    let lost: string[] = ['not looked up']
    try {
      // Rebroadcast rounds run every rebroadcastIntervalMs: a node that came back gets what it lacks.
      await waitFor(
        async () => {
          try {
            lost = await missing()
          } catch (error) {
            lost = [`look-up failed: ${error instanceof Error ? error.message : String(error)}`]
          }
          return lost.length === 0
        },
        { timeoutMs: 20_000, everyMs: 250, what: 'every accepted broadcast on every healthy node' },
      )
    } catch {
      // `lost` keeps what was still missing: the scenario's assertion reports it.
    }
    const convergeMs = Math.round(performance.now() - endedAt)
    const laterWrong = await this.driver.judgeLater(load.later)
    load.later.forEach((item, index) => {
      const wrong = laterWrong[index]
      if (wrong === undefined || wrong === '') return
      item.outcome.ok = false
      item.outcome.wrong = true
      item.outcome.code = 'WRONG'
      item.outcome.detail = wrong
    })

    const reads = load.reads.filter((read) => read.startedAt >= window.startedAt)
    const failedReads = reads.filter((read) => !read.ok)
    const healthyDuring = (item: { startedAt: number; endedAt: number }) => this.#timeline.minHealthy(item.startedAt, item.endedAt) >= 1
    const readsWhileHealthy = failedReads.filter((read) => read.wrong || healthyDuring(read))
    const notSwitchyard = failedReads.filter((read) => !read.wrong && !healthyDuring(read) && !(read.code ?? '').startsWith('SY_'))
    const broadcasts = load.broadcasts.filter((sent) => sent.startedAt >= window.startedAt)
    const failedBroadcasts = broadcasts.filter((sent) => !sent.ok)
    const counted = [...readsWhileHealthy, ...notSwitchyard]
    const failedWhileHealthy = failedBroadcasts.filter((sent) => sent.code === 'WRONG' || healthyDuring(sent))
    const backAt = details.victimBackAt
    const victimAfter = backAt === undefined || details.victim === undefined ? undefined : reads.filter((read) => read.ok && read.nodeId === details.victim && read.startedAt >= backAt).length
    const result: ScenarioResult = {
      scenario: window.name,
      ...(details.victim === undefined ? {} : { victim: details.victim }),
      durationMs: Math.round(endedAt - window.startedAt),
      reads: {
        sent: reads.length,
        failed: failedReads.length,
        failedWhileHealthy: readsWhileHealthy.length,
        notSwitchyardErrors: notSwitchyard.length,
        wrong: reads.filter((read) => read.wrong).length,
        judgedLater: load.later.length,
        byCode: countBy(failedReads.map((read) => read.code ?? 'unknown')),
        examples: counted.slice(0, 5).map((read) => `${read.method} (answered by ${read.nodeId ?? 'none'}): ${read.code} ${read.detail ?? ''}`.trim()),
        ...(victimAfter === undefined ? {} : { servedByVictimAfterRecovery: victimAfter }),
      },
      broadcasts: {
        sent: broadcasts.length,
        accepted: broadcasts.filter((sent) => sent.ok).length,
        failed: failedBroadcasts.length,
        failedWhileHealthy: failedWhileHealthy.length,
        byCode: countBy(failedBroadcasts.map((sent) => sent.code ?? 'unknown')),
        examples: failedWhileHealthy.slice(0, 5).map((sent) => `${sent.code} ${sent.detail ?? ''}`.trim()),
        lost: lost.length,
        lostExamples: lost.slice(0, 5),
        convergeMs,
      },
      noHealthyNodeMs: Math.round(this.#timeline.noneHealthyMs(window.startedAt, endedAt)),
      ...(details.ejection === undefined ? {} : { ejection: details.ejection }),
      ...(details.recovery === undefined ? {} : { recovery: details.recovery }),
      ...(details.extra === undefined ? {} : { extra: details.extra }),
    }
    writeChaosFigures(result)
    if (counted.length > 0 || result.reads.wrong > 0 || failedWhileHealthy.length > 0 || lost.length > 0) {
      // A rare failure is diagnosed from this or not at all: every read and event of the window, in order.
      const since = (at: number) => Math.round(at - window.startedAt)
      writeFailureRecord(window.name, {
        result,
        reads: reads.map((read) => ({ startMs: since(read.startedAt), endMs: since(read.endedAt), method: read.method, nodeId: read.nodeId, ok: read.ok, code: read.code, detail: read.detail })),
        chain: this.#chainLog.filter((entry) => entry.at >= window.startedAt).map((entry) => ({ atMs: since(entry.at), event: entry.event, detail: entry.detail })),
      })
    }
    if (lost.length === 0) await this.driver.settle(this.proxy)
    return result
  }

  /** One node fault under load, from the fault to the node's recovery. */
  async runNodeScenario(spec: NodeScenario): Promise<ScenarioResult> {
    // The previous scenario left every node healthy (it waited for its victim, and settling mined on all).
    await this.waitHealthy(this.driver.nodes.map((node) => node.id))
    const window = this.window(spec.name)
    const load = this.startLoad()
    await load.warm(window.startedAt)

    const ejectedAs = spec.ejectedAs
    const faultStart = { rounds: this.#rounds, at: performance.now() }
    let applied = faultStart
    const leftHealthy = this.watch(spec.victim, (status) => status !== 'healthy', () => faultStart, 20_000)
    // Rounds count from when fault() resolved (a change while it ran: 0); ms from the fault's start.
    const ejection = this.watch(spec.victim, (status) => (ejectedAs === undefined ? status !== 'healthy' : ejectedAs.includes(status as NodeStatus)), () =>
      applied === faultStart ? { rounds: this.#rounds, at: faultStart.at } : applied,
      20_000,
    )
    let restored = false
    const extra: Record<string, string> = {}
    try {
      await spec.fault({ load })
      applied = { rounds: this.#rounds, at: faultStart.at }
      const ejected = await ejection
      const left = await leftHealthy
      if (ejected === undefined) extra.notEjected = `${spec.victim} stayed ${this.status(spec.victim)}`
      await this.waitRounds(spec.holdRounds ?? 5)

      const restoreStart = { rounds: 0, at: 0 }
      const recovery = this.watch(spec.victim, (status) => status === 'healthy', () => restoreStart, 30_000)
      restored = true
      await spec.restore({ load })
      restoreStart.rounds = this.#rounds
      restoreStart.at = performance.now()
      const recovered = await recovery
      if (recovered === undefined) extra.notRecovered = `${spec.victim} stayed ${this.status(spec.victim)}`
      else {
        // Traffic comes back to the node (counted in the result; not found in time: the count says 0).
        await waitFor(() => load.reads.some((read) => read.ok && read.nodeId === spec.victim && read.startedAt >= restoreStart.at), { timeoutMs: 20_000 }).catch(() => undefined)
      }
      return await this.finish(window, load, {
        victim: spec.victim,
        ...(ejected === undefined ? {} : { ejection: { ...ejected, ...(left === undefined ? {} : { leftHealthyAs: left.status }) } }),
        ...(recovered === undefined ? {} : { recovery: recovered }),
        // A read sent just before the re-admission may be routed just after it.
        victimBackAt: restoreStart.at,
        extra,
      })
    } catch (error) {
      // The next scenario needs the node back whatever went wrong here.
      if (!restored) await spec.restore({ load }).catch(() => undefined)
      await load.stop().catch(() => undefined)
      throw error
    }
  }

  async close(): Promise<void> {
    this.#unsubscribe()
    await Promise.all([...this.#loads].map((load) => load.stop().catch(() => undefined)))
    await this.app.close()
    await this.proxy.close()
  }
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

// ---------------------------------------------------------------------------------------------
// Assertions and figures

/** The suite's rules for every scenario (the bounds of node scenarios come from their spec). */
export function expectCleanScenario(result: ScenarioResult, bounds: { ejectWithinRounds?: number; recoverWithinRounds?: number } = {}): void {
  const name = result.scenario
  expect(result.reads.sent, `${name}: reads sent`).toBeGreaterThan(0)
  expect(result.reads.examples, `${name}: failed reads that count`).toEqual([])
  expect(result.reads.failedWhileHealthy, `${name}: reads failed while a node was healthy`).toBe(0)
  expect(result.reads.wrong, `${name}: wrong answers`).toBe(0)
  expect(result.reads.notSwitchyardErrors, `${name}: failures without a healthy node that were not SY_ errors`).toBe(0)
  expect(result.broadcasts.accepted, `${name}: broadcasts accepted`).toBeGreaterThan(0)
  expect(result.broadcasts.examples, `${name}: broadcasts failed while a node was healthy`).toEqual([])
  expect(result.broadcasts.failedWhileHealthy, `${name}: broadcasts failed while a node was healthy`).toBe(0)
  expect(result.broadcasts.lostExamples, `${name}: lost broadcasts`).toEqual([])
  expect(result.broadcasts.lost, `${name}: lost broadcasts`).toBe(0)
  if (bounds.ejectWithinRounds !== undefined) {
    expect(result.ejection, `${name}: ejection (${result.extra?.notEjected ?? ''})`).toBeDefined()
    expect(result.ejection!.rounds, `${name}: probe rounds to eject (${result.ejection!.status}: ${result.ejection!.reason})`).toBeLessThanOrEqual(bounds.ejectWithinRounds)
  }
  if (bounds.recoverWithinRounds !== undefined) {
    expect(result.recovery, `${name}: recovery (${result.extra?.notRecovered ?? ''})`).toBeDefined()
    expect(result.recovery!.rounds, `${name}: probe rounds to recover (${result.recovery!.reason})`).toBeLessThanOrEqual(bounds.recoverWithinRounds)
    expect(result.reads.servedByVictimAfterRecovery, `${name}: reads served by the recovered node`).toBeGreaterThan(0)
  }
}

/** Runs a node scenario and asserts the suite's rules with the scenario's own bounds. */
export async function runAndCheck(harness: ChaosHarness, spec: NodeScenario): Promise<ScenarioResult> {
  const result = await harness.runNodeScenario(spec)
  expectCleanScenario(result, { ejectWithinRounds: spec.ejectWithinRounds, recoverWithinRounds: spec.recoverWithinRounds ?? 10 })
  return result
}

const OUTPUT_DIR = join(process.cwd(), 'test-output')
/** Chain events kept for a failure record. */
const CHAIN_LOG_LIMIT = 20_000

/** test-output/chaos-failures/<scenario>.json: what a failed scenario saw, read by read. */
function writeFailureRecord(scenario: string, record: unknown): void {
  const dir = join(OUTPUT_DIR, 'chaos-failures')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${scenario.replace(/[^a-z0-9.-]/gi, '_')}.json`)
  writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`)
  process.stderr.write(`chaos: ${scenario} failed; every read and chain event of the scenario: ${file}\n`)
}
const CHAOS_FILE = join(OUTPUT_DIR, 'chaos.json')

/** Merges one scenario's figures into test-output/chaos.json (test files run in parallel: under a lock file) and into figures.json. */
export function writeChaosFigures(result: ScenarioResult): void {
  mkdirSync(OUTPUT_DIR, { recursive: true })
  withLock(`${CHAOS_FILE}.lock`, () => {
    let all: Record<string, unknown> = {}
    try {
      all = JSON.parse(readFileSync(CHAOS_FILE, 'utf8'))
    } catch {
      all = {}
    }
    all[result.scenario] = { ...result, recordedAt: new Date().toISOString() }
    const temporary = `${CHAOS_FILE}.${process.pid}.tmp`
    writeFileSync(temporary, `${JSON.stringify(all, null, 2)}\n`)
    renameSync(temporary, CHAOS_FILE)
  })
  const prefix = `chaos.${result.scenario}`
  withLock(join(OUTPUT_DIR, 'figures.json.lock'), () => {
    recordFigure(`${prefix}.readsSent`, result.reads.sent)
    recordFigure(`${prefix}.readsFailed`, result.reads.failed)
    recordFigure(`${prefix}.broadcastsSent`, result.broadcasts.sent)
    recordFigure(`${prefix}.broadcastsLost`, result.broadcasts.lost)
    if (result.ejection !== undefined) {
      recordFigure(`${prefix}.ejectionRounds`, result.ejection.rounds)
      recordFigure(`${prefix}.ejectionMs`, result.ejection.ms)
    }
    if (result.recovery !== undefined) {
      recordFigure(`${prefix}.recoveryRounds`, result.recovery.rounds)
      recordFigure(`${prefix}.recoveryMs`, result.recovery.ms)
    }
  })
}

function withLock(lockFile: string, run: () => void): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  let fd: number | undefined
  // A lock left by a crashed run is taken over after about 2 s.
  for (let attempt = 0; attempt < 200 && fd === undefined; attempt++) {
    try {
      fd = openSync(lockFile, 'wx')
    } catch {
      Atomics.wait(sleeper, 0, 0, 10)
    }
  }
  try {
    run()
  } finally {
    if (fd !== undefined) closeSync(fd)
    rmSync(lockFile, { force: true })
  }
}
