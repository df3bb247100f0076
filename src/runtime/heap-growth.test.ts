import { describe, expect, test } from 'vitest'
import { applyHeapGrowth } from './heap-growth.js'

describe('applyHeapGrowth', () => {
  const run = (percent: number, execArgv: string[] = [], nodeOptions?: string) => {
    const set: string[] = []
    const flag = applyHeapGrowth(percent, { execArgv, env: nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions } }, (flags) => set.push(flags))
    return { flag, set }
  }

  test('sets V8 --heap-growing-percent to the configured percent', () => {
    expect(run(25)).toEqual({ flag: '--heap-growing-percent=25', set: ['--heap-growing-percent=25'] })
  })

  test('0 leaves V8 its own heuristic', () => {
    expect(run(0)).toEqual({ flag: undefined, set: [] })
  })

  test('a flag given to node itself, on the command line or in NODE_OPTIONS (either spelling), wins', () => {
    expect(run(25, ['--heap-growing-percent=60'])).toEqual({ flag: undefined, set: [] })
    expect(run(25, [], '--max-old-space-size=512 --heap_growing_percent=60')).toEqual({ flag: undefined, set: [] })
    expect(run(25, ['--max-old-space-size=512'], '--enable-source-maps').set).toEqual(['--heap-growing-percent=25'])
  })
})
