/**
 * The Grafana dashboard (config/grafana/switchyard.json) parses, uses the importable
 * `${DS_PROMETHEUS}` datasource, and references only metrics that a scrape of `createMetrics`
 * actually exposes: renaming a metric without the dashboard (or the other way round) fails here.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { MemoryJournal } from '../broadcast/broadcast-journal.js'
import { createProxy } from '../index.js'
import type { Proxy } from '../proxy.js'
import { type Metrics, NODE_STATUSES, createMetrics } from './metrics.js'

const DASHBOARD_PATH = fileURLToPath(new URL('../../config/grafana/switchyard.json', import.meta.url))

interface Target {
  expr?: string
  datasource?: { type?: string; uid?: string }
  refId?: string
}
interface Panel {
  id: number
  type: string
  title: string
  datasource?: { type?: string; uid?: string }
  gridPos: { h: number; w: number; x: number; y: number }
  targets?: Target[]
  panels?: Panel[]
}
interface Dashboard {
  __inputs: Array<{ name: string; type: string; pluginId: string }>
  schemaVersion: number
  title: string
  uid: string
  panels: Panel[]
  templating: { list: Array<{ name: string; type: string; query?: string | { query?: string }; definition?: string; datasource?: { uid?: string } }> }
}

/** Words of PromQL that are not metric names when they appear outside label braces. */
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan'])

/** Metric names an expression selects (functions, aggregations, label names and strings removed). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, regexes)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
  const names: string[] = []
  for (const match of stripped.matchAll(/(?<![\w:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)) {
    const name = match[1]!
    if (!PROMQL_WORDS.has(name.toLowerCase())) names.push(name)
  }
  return names
}

/** Every panel, rows' nested panels included. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])])
}

/** Metric names a scrape exposes, from its # TYPE lines (histograms and summaries with their series suffixes). */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const line of text.split('\n')) {
    const match = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line)
    if (match === null) continue
    const [, name, type] = match as unknown as [string, string, string]
    names.add(name)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix)
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix)
  }
  return names
}

let proxy: Proxy
let metrics: Metrics
let dashboard: Dashboard
let exposed: Set<string>

beforeAll(async () => {
  dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard
  proxy = createProxy(
    {
      log: { level: 'silent' },
      alerts: { webhooks: [{ url: 'http://127.0.0.1:9/hook' }] },
      chains: { eth: { family: 'evm', chainId: 1, nodes: [{ id: 'a', url: 'http://127.0.0.1:9/' }] } },
    },
    { journal: new MemoryJournal() },
  )
  metrics = createMetrics(proxy)
  exposed = exposedNames(await metrics.render())
})

afterAll(async () => {
  metrics.close()
  await proxy.close()
})

describe('grafana dashboard', () => {
  test('the PromQL metric-name extractor', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, chain, method) (rate(switchyard_request_duration_seconds_bucket{chain=~"$chain"}[$__rate_interval])))')).toEqual([
      'switchyard_request_duration_seconds_bucket',
    ])
    expect(metricNames('max by (chain, node) (switchyard_node_status{status="healthy"} == 1) * 1\nor max by (chain, node) (switchyard_node_status{status="down"} == 1) * 4')).toEqual([
      'switchyard_node_status',
      'switchyard_node_status',
    ])
    expect(metricNames('sum(rate(a_total[5m])) / on (chain) group_left sum(b)')).toEqual(['a_total', 'b'])
  })

  test('parses, is importable (schemaVersion, ${DS_PROMETHEUS} input) and lays panels out without overlap', () => {
    expect(dashboard.title).toBe('switchyard')
    expect(dashboard.uid).toBe('switchyard')
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })])

    const panels = allPanels(dashboard.panels)
    const ids = panels.map((panel) => panel.id)
    expect(new Set(ids).size).toBe(ids.length)
    const cells = new Set<string>()
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos
      expect(x + w, panel.title).toBeLessThanOrEqual(24)
      for (let column = x; column < x + w; column++) {
        for (let row = y; row < y + h; row++) {
          const cell = `${column},${row}`
          expect(cells.has(cell), `${panel.title} overlaps another panel at ${cell}`).toBe(false)
          cells.add(cell)
        }
      }
      if (panel.type === 'row') continue
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}')
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}')
        expect(typeof target.expr, panel.title).toBe('string')
      }
    }
    for (const variable of dashboard.templating.list) if (variable.type === 'query') expect(variable.datasource?.uid).toBe('${DS_PROMETHEUS}')
  })

  test('every metric a panel or variable references exists in a scrape of createMetrics', () => {
    const referenced = new Map<string, string[]>()
    const note = (name: string, where: string): void => {
      referenced.set(name, [...(referenced.get(name) ?? []), where])
    }
    for (const panel of allPanels(dashboard.panels)) {
      for (const target of panel.targets ?? []) for (const name of metricNames(target.expr ?? '')) note(name, `panel "${panel.title}" ${target.refId ?? ''}`)
    }
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? variable.definition ?? '')
      const labelValues = /^label_values\(\s*(.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/.exec(query)
      for (const name of metricNames(labelValues === null ? query : labelValues[1]!)) note(name, `variable $${variable.name}`)
    }
    expect(referenced.size).toBeGreaterThan(10)
    const missing = [...referenced].filter(([name]) => !exposed.has(name)).map(([name, where]) => `${name} (${where.join('; ')})`)
    expect(missing).toEqual([])

    // And the other way round: every switchyard metric has a place on the dashboard.
    const referencedFamilies = new Set([...referenced.keys()].map((name) => name.replace(/_(bucket|sum|count)$/, '')))
    const unused = [...exposed].filter((name) => name.startsWith('switchyard_') && !/_(bucket|sum|count)$/.test(name) && !referencedFamilies.has(name))
    expect(unused).toEqual([])
    // Process figures are there too.
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total']) expect(referenced.has(name), name).toBe(true)
  })

  test('the status timeline shows every node status, each with its own value and name', () => {
    const timeline = allPanels(dashboard.panels).find((panel) => panel.type === 'state-timeline')
    expect(timeline).toBeDefined()
    const expr = timeline!.targets?.[0]?.expr ?? ''
    const mapped = (timeline as unknown as { fieldConfig: { defaults: { mappings: Array<{ options: Record<string, { text: string }> }> } } }).fieldConfig.defaults.mappings[0]!.options
    for (const status of NODE_STATUSES) {
      const entry = Object.entries(mapped).find(([, option]) => option.text === status)
      expect(entry, status).toBeDefined()
      expect(expr, status).toContain(`status="${status}"} == 1) * ${entry![0]}`)
    }
    expect(Object.keys(mapped).length).toBe(NODE_STATUSES.length)
  })
})
