/**
 * Measured figures (delays, counts) written by tests to test-output/figures.json, so a run's
 * numbers can be quoted (closing notes, README) without timing assertions in the tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const file = join(process.cwd(), 'test-output', 'figures.json')

export function recordFigure(name: string, value: number | string): void {
  mkdirSync(join(process.cwd(), 'test-output'), { recursive: true })
  let figures: Record<string, number | string> = {}
  try {
    figures = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    figures = {}
  }
  figures[name] = value
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`)
}
