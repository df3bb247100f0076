/**
 * A metric with one series per node (or several), written straight into the exposition text.
 *
 * prom-client keeps every series in a map keyed by a hash of its label object, and formats each
 * series at every scrape (label escaping, shared-label flattening, a string per part). At 1,000
 * nodes the per-node metrics were ~23,000 series and a scrape held the event loop for 100+ ms,
 * ~70 % of it in that bookkeeping and formatting. Here the values are read at scrape time from
 * the caller's own state (the proxy snapshot, plain counters), and each label set's text is
 * escaped once and kept (the label values are chain and node names from the config).
 *
 * The object is registered in the prom-client registry like any metric: `get()` gives prom-client's
 * JSON shape, so the cluster primary's AggregatorRegistry merges it as before, and `text()` gives
 * the same lines prom-client would print (a test compares them).
 */
import type { Registry } from 'prom-client'

type Aggregator = 'sum' | 'max' | 'min' | 'average' | 'first' | 'omit'

/** Puts one series: its label values, in `labelNames` order, and its value. */
export type PutSeries = (labelValues: readonly string[], value: number) => void

export interface SeriesMetricOptions {
  name: string
  help: string
  type: 'gauge' | 'counter'
  labelNames: readonly string[]
  aggregator: Aggregator
  /** Called at each scrape: puts every series of the metric, in the order they are shown. */
  collect(put: PutSeries): void
  registers: readonly Registry[]
}

export class SeriesMetric {
  readonly name: string
  readonly help: string
  readonly type: 'gauge' | 'counter'
  readonly aggregator: Aggregator
  readonly labelNames: readonly string[]
  readonly #collect: (put: PutSeries) => void
  /** Label values (joined by NUL, which no name holds) → `{a="…",b="…"}`; rebuilt if it grows past its bound. */
  #labelText = new Map<string, string>()
  readonly #header: string

  constructor(options: SeriesMetricOptions) {
    this.name = options.name
    this.help = options.help
    this.type = options.type
    this.aggregator = options.aggregator
    this.labelNames = options.labelNames
    this.#collect = options.collect
    this.#header = `# HELP ${this.name} ${escapeText(this.help)}\n# TYPE ${this.name} ${this.type}`
    for (const registry of options.registers) registry.registerMetric(this as never)
  }

  /** prom-client's JSON form of the metric (AggregatorRegistry and getMetricsAsJSON read it). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: Aggregator; values: Array<{ labels: Record<string, string>; value: number }> }> {
    const values: Array<{ labels: Record<string, string>; value: number }> = []
    this.#collect((labelValues, value) => {
      const labels: Record<string, string> = {}
      this.labelNames.forEach((labelName, index) => (labels[labelName] = labelValues[index]!))
      values.push({ labels, value })
    })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** The metric in the text exposition format, as prom-client's registry prints it (no trailing newline). */
  text(): string {
    let text = this.#header
    // Names from a reload that dropped them would otherwise stay forever.
    if (this.#labelText.size > 100_000) this.#labelText = new Map()
    this.#collect((labelValues, value) => {
      const key = labelValues.length === 1 ? labelValues[0]! : labelValues.join('\u0000')
      let labels = this.#labelText.get(key)
      if (labels === undefined) {
        labels = `{${this.labelNames.map((labelName, index) => `${labelName}="${escapeLabelValue(labelValues[index]!)}"`).join(',')}}`
        this.#labelText.set(key, labels)
      }
      text += `\n${this.name}${labels} ${valueText(value)}`
    })
    return text
  }

  /** prom-client's registry calls this on `resetMetrics()`; the values are read at scrape time. */
  reset(): void {}
}

/** The registry's text, with SeriesMetrics written by themselves (same format as `registry.metrics()`). */
export async function renderRegistry(registry: Registry): Promise<string> {
  const metrics: readonly unknown[] = registry.getMetricsAsArray()
  const parts = await Promise.all(metrics.map((metric) => (metric instanceof SeriesMetric ? metric.text() : registry.getSingleMetricAsString((metric as { name: string }).name))))
  return `${parts.join('\n\n')}\n`
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function escapeLabelValue(value: string): string {
  return escapeText(value).replace(/"/g, '\\"')
}

/** As prom-client prints values. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf'
  return `${value}`
}
