/**
 * The decisions of `server.workers` (node:cluster) as pure functions, so they are table-tested
 * apart from the processes: how many workers, when a dead one is forked again, what the primary
 * exits with, and the messages primary and workers exchange over the IPC channel.
 */

/** `server.workers` as a number of processes: 0 means one per core. */
export function workerCount(configured: number, cores: number): number {
  return configured === 0 ? Math.max(1, cores) : configured
}

/** A worker that dies again within this window of its last start counts as a crash loop, ms. */
export const CRASH_WINDOW_MS = 60_000
/** The longest wait before a crashed worker is forked again, ms. */
export const MAX_RESTART_DELAY_MS = 30_000

/**
 * Wait before forking a worker that died while serving, ms. The first crash is replaced at once
 * (the port keeps one worker fewer until then); a worker that keeps dying soon after its start
 * backs off 1 s, 2 s, 4 s … up to 30 s, so a poison request or a full disk does not turn into a
 * fork storm that starves the workers still serving.
 *
 * @param quickCrashes crashes in a row, each within CRASH_WINDOW_MS of that worker's start
 */
export function restartDelayMs(quickCrashes: number): number {
  if (quickCrashes <= 1) return 0
  return Math.min(MAX_RESTART_DELAY_MS, 1_000 * 2 ** (quickCrashes - 2))
}

/**
 * The primary's exit code from its workers' exit codes: 0 only when every worker drained cleanly;
 * otherwise the highest code (128+n of a forced exit outranks 1 of a cut drain).
 * A worker killed by a signal (no code) counts as 128 + that signal's number.
 */
export function clusterExitCode(exits: ReadonlyArray<{ code: number | null; signal: NodeJS.Signals | null }>): number {
  let worst = 0
  for (const exit of exits) worst = Math.max(worst, exitCodeOf(exit))
  return worst
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGABRT: 6 }

export function exitCodeOf(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.code !== null) return exit.code
  return 128 + (exit.signal === null ? 0 : (SIGNAL_NUMBERS[exit.signal] ?? 0))
}

/** An operator action taken on one worker that every other worker must take too (their health views are their own). */
export type ReplicatedAction =
  | { action: 'reload' }
  | { action: 'cordon'; chain: string; node: string; reason: string }
  | { action: 'uncordon'; chain: string; node: string }
  | { action: 'probe'; chain: string }

/** Worker → primary. */
export type WorkerMessage =
  | { type: 'switchyard:listening'; address: string }
  | { type: 'switchyard:replicate'; what: ReplicatedAction }
  | { type: 'switchyard:metrics-request'; id: number }

/** Primary → worker. */
export type PrimaryMessage =
  | { type: 'switchyard:shutdown'; signal: 'SIGTERM' | 'SIGINT' }
  | { type: 'switchyard:apply'; what: ReplicatedAction }
  | { type: 'switchyard:metrics-reply'; id: number; text?: string; contentType?: string; error?: string }

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const type = (message as { type?: unknown } | null)?.type
  return type === 'switchyard:listening' || type === 'switchyard:replicate' || type === 'switchyard:metrics-request'
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  const type = (message as { type?: unknown } | null)?.type
  return type === 'switchyard:shutdown' || type === 'switchyard:apply' || type === 'switchyard:metrics-reply'
}

/**
 * Cordons taken through any worker, replayed to a worker forked later (a restart after a crash):
 * a cordon lives in each worker's memory, and one worker routing to a node the operator took out
 * is the mistake a cordon exists to prevent. A reload needs no replay: a new worker reads the
 * config file, which is what the last reload applied.
 */
export class CordonLedger {
  readonly #cordons = new Map<string, Extract<ReplicatedAction, { action: 'cordon' }>>()

  record(what: ReplicatedAction): void {
    if (what.action === 'cordon') this.#cordons.set(`${what.chain}\u0000${what.node}`, what)
    else if (what.action === 'uncordon') this.#cordons.delete(`${what.chain}\u0000${what.node}`)
  }

  /** What a newly started worker must apply, oldest first. */
  replay(): ReplicatedAction[] {
    return [...this.#cordons.values()]
  }
}
