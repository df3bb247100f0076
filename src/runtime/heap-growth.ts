/**
 * `server.heapGrowingPercent`: how far V8 lets the old generation grow past the live heap before
 * its next full collection. Set once by the CLI before it serves; an application embedding the
 * library owns its process and its V8 flags.
 */
import { setFlagsFromString } from 'node:v8'

const FLAG = /--heap[-_]growing[-_]percent\b/

/**
 * Applies `percent` (0: V8's own heuristic, nothing set). A `--heap-growing-percent` given to node
 * itself (command line or NODE_OPTIONS) wins: the operator chose it for this process.
 * Returns the flag set, or undefined.
 */
export function applyHeapGrowth(
  percent: number,
  process: { execArgv: readonly string[]; env: Readonly<Record<string, string | undefined>> } = globalThis.process,
  set: (flags: string) => void = setFlagsFromString,
): string | undefined {
  if (percent === 0) return undefined
  if (process.execArgv.some((arg) => FLAG.test(arg)) || FLAG.test(process.env.NODE_OPTIONS ?? '')) return undefined
  const flag = `--heap-growing-percent=${percent}`
  set(flag)
  return flag
}
