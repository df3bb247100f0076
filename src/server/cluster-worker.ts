/**
 * A worker's side of `server.workers` > 1 (cluster-primary.ts has the other side): it tells the
 * primary when it listens, asks it for the aggregated metrics, hands it operator actions to
 * replicate, and takes shutdown, reload and replicated actions from it.
 */
import cluster from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'
import type { Metrics } from '../observability/metrics.js'
import { type PrimaryMessage, type ReplicatedAction, type WorkerMessage, isPrimaryMessage } from './cluster-policy.js'
import { WORKER_COUNT_ENV, WORKER_INDEX_ENV } from './cluster-primary.js'

/** How long /metrics waits for the primary's aggregate, ms (prom-client gives each worker 5 s). */
const METRICS_TIMEOUT_MS = 10_000

export interface ClusterWorkerHandlers {
  /** The primary asked for a shutdown (a signal it got, or it is gone: then SIGTERM). */
  shutdown(signal: 'SIGTERM' | 'SIGINT'): void
  /** Another worker (or the primary's SIGHUP) took an operator action. */
  apply(what: ReplicatedAction): void
}

export class ClusterWorkerLink {
  /** This worker's slot, 0-based, and the number of workers. */
  readonly index: number
  readonly count: number
  readonly #pending = new Map<number, { resolve(reply: { text: string; contentType: string }): void; reject(error: Error): void; timer: NodeJS.Timeout }>()
  #nextId = 1
  readonly #handlers: ClusterWorkerHandlers
  readonly #onDisconnect = (): void => this.#handlers.shutdown('SIGTERM')

  constructor(handlers: ClusterWorkerHandlers) {
    if (!cluster.isWorker) throw new Error('ClusterWorkerLink needs a cluster worker process')
    this.index = Number(process.env[WORKER_INDEX_ENV] ?? 0)
    this.count = Number(process.env[WORKER_COUNT_ENV] ?? 1)
    process.on('message', (message: unknown) => {
      if (!isPrimaryMessage(message)) return
      this.#receive(message, handlers)
    })
    // The primary is gone (killed): no new connections reach this worker; drain what it has and
    // exit. Node's cluster would exit the worker at once on that disconnect, cutting requests in
    // flight, unless the disconnect counts as expected.
    cluster.worker!.exitedAfterDisconnect = true
    process.once('disconnect', this.#onDisconnect)
    this.#handlers = handlers
    // Signals are the primary's to count (a terminal's Ctrl-C reaches the whole process group):
    // without these handlers a signal would kill the worker mid-request.
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined)
  }

  /** Drained: lets go of the primary (an open IPC channel keeps the process alive). */
  close(): void {
    process.off('disconnect', this.#onDisconnect)
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer)
      pending.reject(new Error('the worker is closing'))
      this.#pending.delete(id)
    }
    if (process.connected) process.disconnect()
  }

  /** The worker serves `address` now; the primary replays cordons to a worker forked after they were taken. */
  listening(address: string): void {
    this.#send({ type: 'switchyard:listening', address })
  }

  /** Has the other workers take `what` (this worker took it already). */
  replicate(what: ReplicatedAction): void {
    this.#send({ type: 'switchyard:replicate', what })
  }

  /** `metrics`, but rendering every worker's figures: the primary collects them from each worker's registry. */
  metricsOf(metrics: Pick<Metrics, 'registry' | 'contentType'>): Pick<Metrics, 'render' | 'contentType'> {
    AggregatorRegistry.setRegistries([metrics.registry as Registry])
    // prom-client answers the primary's requests only once an AggregatorRegistry exists in the worker.
    new AggregatorRegistry()
    return {
      contentType: metrics.contentType,
      render: async () => (await this.#aggregate()).text,
    }
  }

  #aggregate(): Promise<{ text: string; contentType: string }> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`the cluster primary did not answer a metrics request in ${METRICS_TIMEOUT_MS} ms`))
      }, METRICS_TIMEOUT_MS)
      this.#pending.set(id, { resolve, reject, timer })
      if (!this.#send({ type: 'switchyard:metrics-request', id })) {
        clearTimeout(timer)
        this.#pending.delete(id)
        reject(new Error('the cluster primary is gone'))
      }
    })
  }

  #receive(message: PrimaryMessage, handlers: ClusterWorkerHandlers): void {
    if (message.type === 'switchyard:shutdown') handlers.shutdown(message.signal)
    else if (message.type === 'switchyard:apply') handlers.apply(message.what)
    else {
      const pending = this.#pending.get(message.id)
      if (pending === undefined) return
      this.#pending.delete(message.id)
      clearTimeout(pending.timer)
      if (message.text !== undefined) pending.resolve({ text: message.text, contentType: message.contentType ?? 'text/plain' })
      else pending.reject(new Error(`metrics aggregation failed: ${message.error ?? 'no reason given'}`))
    }
  }

  #send(message: WorkerMessage): boolean {
    if (process.send === undefined || !process.connected) return false
    try {
      process.send(message)
      return true
    } catch {
      return false
    }
  }
}
