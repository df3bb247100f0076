/**
 * `server.workers` > 1: the CLI's primary process. It serves nothing itself; it forks the workers
 * (each runs the whole proxy on the shared port: node:cluster hands each new connection to the
 * next worker), keeps their number up, and is the one place signals and operator actions enter:
 *
 * - SIGTERM / SIGINT: every worker drains (src/server/graceful-shutdown.ts); a second signal
 *   forces them, as in one process. Workers ignore these signals themselves and act on the
 *   primary's message only, so a Ctrl-C that reaches the whole process group counts once.
 * - SIGHUP: every worker re-reads the config file.
 * - A worker that dies while serving is forked again (back-off in cluster-policy.ts); one that
 *   dies before it first listened is a start failure: the others are stopped and the primary
 *   exits non-zero, as a single process would.
 * - Operator actions taken through one worker's admin API (reload, cordon, uncordon, probe) are
 *   applied by the others too; cordons are replayed to workers forked later.
 * - `/metrics` on any worker answers every worker's figures, aggregated here (prom-client's
 *   AggregatorRegistry: counters and histograms summed, each gauge by its own rule).
 *
 * Each worker keeps its own health view: every worker probes every node (N workers, N× the probe
 * load on the nodes) and decides by the same rules on the same evidence. What they share is the
 * broadcast journal (src/broadcast/create-journal.ts opens it for several processes).
 */
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import { pino, type Logger } from 'pino'
import { AggregatorRegistry } from 'prom-client'
import type { ProxyConfig } from '../config/schema.js'
import {
  CRASH_WINDOW_MS,
  CordonLedger,
  type PrimaryMessage,
  type ReplicatedAction,
  clusterExitCode,
  isWorkerMessage,
  restartDelayMs,
  workerCount,
} from './cluster-policy.js'

/** Environment of a worker: its slot (0-based) and how many there are. */
export const WORKER_INDEX_ENV = 'SWITCHYARD_WORKER_INDEX'
export const WORKER_COUNT_ENV = 'SWITCHYARD_WORKERS'

interface Slot {
  index: number
  worker: Worker | undefined
  /** Listened at least once since its last fork. */
  listening: boolean
  startedAt: number
  quickCrashes: number
  restartTimer: NodeJS.Timeout | undefined
}

export interface ClusterPrimaryOptions {
  /** Where log lines go; default: pino on stdout at the config's level. */
  log?: Logger
}

/** Runs the primary until every worker has exited; resolves with the process's exit code. */
export async function runClusterPrimary(config: ProxyConfig, options: ClusterPrimaryOptions = {}): Promise<number> {
  const log = options.log ?? pino({ level: config.log.level, base: { pid: process.pid, role: 'primary' } })
  const count = workerCount(config.server.workers, availableParallelism())
  const aggregator = new AggregatorRegistry()
  const ledger = new CordonLedger()
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({ index, worker: undefined, listening: false, startedAt: 0, quickCrashes: 0, restartTimer: undefined }))
  const exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = []
  let stopping: 'SIGTERM' | 'SIGINT' | undefined
  let startFailure: string | undefined
  let announced = false
  let resolveDone!: (code: number) => void
  const done = new Promise<number>((resolve) => (resolveDone = resolve))

  const send = (worker: Worker | undefined, message: PrimaryMessage): void => {
    if (worker === undefined || !worker.isConnected()) return
    try {
      worker.send(message)
    } catch {
      // The channel closed between the check and the send: its exit handler takes over.
    }
  }
  const live = (): Slot[] => slots.filter((slot) => slot.worker !== undefined)

  const finishIfDone = (): void => {
    if (live().length > 0 || slots.some((slot) => slot.restartTimer !== undefined)) return
    if (stopping === undefined && startFailure === undefined) return
    const code = startFailure === undefined ? clusterExitCode(exits) : Math.max(1, clusterExitCode(exits))
    resolveDone(code)
  }

  const stopAll = (signal: 'SIGTERM' | 'SIGINT'): void => {
    for (const slot of slots) {
      if (slot.restartTimer !== undefined) clearTimeout(slot.restartTimer)
      slot.restartTimer = undefined
      send(slot.worker, { type: 'switchyard:shutdown', signal })
    }
    finishIfDone()
  }

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined
    slot.listening = false
    slot.startedAt = performance.now()
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index), [WORKER_COUNT_ENV]: String(count) })
    slot.worker = worker
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return
      if (message.type === 'switchyard:listening') {
        const first = !slot.listening
        slot.listening = true
        if (first) for (const what of ledger.replay()) send(worker, { type: 'switchyard:apply', what })
        if (!announced && slots.every((each) => each.listening)) {
          announced = true
          log.info({ workers: count, pids: slots.map((each) => each.worker?.process.pid) }, `switchyard cluster: ${count} workers listening on ${message.address}`)
        }
      } else if (message.type === 'switchyard:replicate') {
        replicate(message.what, worker)
      } else {
        aggregator.clusterMetrics().then(
          (text) => send(worker, { type: 'switchyard:metrics-reply', id: message.id, text, contentType: aggregator.contentType }),
          (error: unknown) => send(worker, { type: 'switchyard:metrics-reply', id: message.id, error: error instanceof Error ? error.message : String(error) }),
        )
      }
    })
    worker.on('exit', (code, signal) => {
      slot.worker = undefined
      const exit = { code, signal: signal as NodeJS.Signals | null }
      if (stopping !== undefined || startFailure !== undefined) {
        exits.push(exit)
        finishIfDone()
        return
      }
      if (!slot.listening) {
        // Never served: the same failure will recur (a taken port, an unreadable journal); stop as one process would.
        startFailure = `worker ${slot.index} exited before it listened (code ${code ?? '-'}, signal ${signal ?? '-'}): see its log above`
        log.error({ worker: slot.index, code, signal }, `switchyard cluster: ${startFailure}; stopping the other workers`)
        exits.push(exit)
        stopAll('SIGTERM')
        return
      }
      const lived = performance.now() - slot.startedAt
      slot.quickCrashes = lived < CRASH_WINDOW_MS ? slot.quickCrashes + 1 : 1
      const delayMs = restartDelayMs(slot.quickCrashes)
      log.error({ worker: slot.index, code, signal, livedMs: Math.round(lived), restartInMs: delayMs }, `switchyard cluster: worker ${slot.index} died (code ${code ?? '-'}, signal ${signal ?? '-'}); forking it again in ${delayMs} ms`)
      slot.restartTimer = setTimeout(() => fork(slot), delayMs)
    })
  }

  const replicate = (what: ReplicatedAction, from?: Worker): void => {
    ledger.record(what)
    for (const slot of slots) if (slot.worker !== from && slot.listening) send(slot.worker, { type: 'switchyard:apply', what })
  }

  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => () => {
    if (stopping === undefined) log.info({ signal, workers: live().length }, `switchyard cluster: ${signal}; draining every worker`)
    else log.warn({ signal }, `switchyard cluster: second signal ${signal}; workers exit at once`)
    stopping ??= signal
    stopAll(signal)
  }
  const onTerm = onSignal('SIGTERM')
  const onInt = onSignal('SIGINT')
  // A reload through the primary reaches every worker; each logs what it applied or refused.
  const onHup = (): void => {
    if (stopping === undefined) replicate({ action: 'reload' })
  }
  process.on('SIGTERM', onTerm)
  process.on('SIGINT', onInt)
  process.on('SIGHUP', onHup)

  for (const slot of slots) fork(slot)
  const code = await done
  process.off('SIGTERM', onTerm)
  process.off('SIGINT', onInt)
  process.off('SIGHUP', onHup)
  if (startFailure === undefined) log.info({ exitCode: code }, `switchyard cluster: every worker exited; exit code ${code}`)
  return code
}
