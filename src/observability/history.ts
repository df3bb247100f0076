/**
 * The last `windowMs` of node heights, lag, latency and status, sampled every `intervalMs`, kept
 * in memory for the dashboard's charts (a restart starts a fresh window; Prometheus keeps the long view).
 */
import type { Proxy } from '../proxy.js'

export interface HistorySample {
  /** ms since epoch */
  at: number
  chains: Record<string, { head: number | null; nodes: Record<string, { height: number | null; lag: number | null; latencyMs: number | null; status: string }> }>
}

export class History {
  readonly intervalMs: number
  readonly #windowMs: number
  readonly #samples: HistorySample[] = []
  readonly #proxy: Proxy
  readonly #timer: NodeJS.Timeout

  constructor(proxy: Proxy, options: { intervalMs?: number; windowMs?: number } = {}) {
    this.#proxy = proxy
    this.intervalMs = options.intervalMs ?? 5_000
    this.#windowMs = options.windowMs ?? 15 * 60_000
    this.#timer = setInterval(() => this.sample(), this.intervalMs)
    this.#timer.unref()
  }

  sample(now = Date.now()): void {
    const chains: HistorySample['chains'] = {}
    for (const chain of this.#proxy.snapshot().chains) {
      const nodes: HistorySample['chains'][string]['nodes'] = {}
      for (const node of chain.nodes) nodes[node.id] = { height: node.height, lag: node.lag, latencyMs: node.latencyMs, status: node.status }
      chains[chain.name] = { head: chain.head, nodes }
    }
    this.#samples.push({ at: now, chains })
    while (this.#samples.length > 0 && this.#samples[0]!.at < now - this.#windowMs) this.#samples.shift()
  }

  samples(): HistorySample[] {
    return [...this.#samples]
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
