/**
 * Stopping local node processes (anvil, bcoin) for tests and the demo: SIGTERM, then SIGKILL if
 * the process has not exited after `graceMs`. Resolves once it has exited; safe to call twice.
 */
import type { ChildProcess } from 'node:child_process'

export async function stopProcess(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // A stopped (SIGSTOP) process cannot act on SIGTERM until it is continued.
  child.kill('SIGCONT')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Sends a signal; ignores a process that is already gone. */
export function signalProcess(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal)
}
