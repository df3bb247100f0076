/**
 * The `switchyard` CLI as a real process (`node --import tsx src/cli.ts --config FILE`), with its
 * JSON log lines parsed as they arrive so a test can wait for a step of its shutdown.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { stopProcess } from '../../src/devnet/child-process.js'

export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

export interface SwitchyardProcess {
  readonly child: ChildProcess
  /** Exit code (null if killed by a signal). */
  readonly exit: Promise<number | null>
  readonly logs: LogLine[]
  /** stderr so far (startup failures, uncaught errors). */
  stderr(): string
  /** Resolves with the first log line (already seen or still to come) whose message matches. */
  waitForLog(message: RegExp): Promise<LogLine>
  /** SIGKILL if still running (test cleanup). */
  kill(): Promise<void>
}

export function startSwitchyard(configFile: string): SwitchyardProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: LogLine[] = []
  const waiters: Array<{ message: RegExp; resolve: (line: LogLine) => void }> = []
  let stderr = ''
  let partial = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n')
    partial = lines.pop() ?? ''
    for (const text of lines) {
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        continue
      }
      logs.push(line)
      for (const waiter of [...waiters]) {
        if (waiter.message.test(line.msg)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  })
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    exit,
    logs,
    stderr: () => stderr,
    waitForLog: (message) => {
      const seen = logs.find((line) => message.test(line.msg))
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ message, resolve })
        void exit.then(() => reject(new Error(`switchyard exited before logging ${message}; stderr: ${stderr.slice(-2_000)}`)))
      })
    },
    kill: async () => stopProcess(child, 0),
  }
}
