/**
 * A real Prometheus (Debian's package) scrapes switchyard's /metrics and answers a query over
 * them: the exposition is valid for the real consumer, not only for our own parser.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { startFakeNode } from '../support/fake-node.js'
import { startTestProxy } from '../support/test-proxy.js'

test('Prometheus scrapes /metrics and queries switchyard_chain_head and node status', async () => {
  const nodes = await Promise.all([0, 1].map(() => startFakeNode({ chainId: 1, height: 4242 })))
  const proxy = await startTestProxy(
    { chains: { eth: { family: 'evm', chainId: 1, health: { intervalMs: 60_000 }, nodes: nodes.map((node, index) => ({ id: `n${index}`, url: node.url })) } } },
    { autoProbe: true },
  )
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-prometheus-'))
  const port = await freePort()
  const target = new URL(proxy.baseUrl).host
  await writeFile(join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: switchyard\n    static_configs: [ { targets: ["${target}"] } ]\n`)
  const prometheus = spawn('/usr/bin/prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' })
  const exited = new Promise((resolve) => prometheus.once('exit', resolve))
  try {
    const query = async (expr: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`)
      return ((await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result
    }
    const head = await waitFor(async () => (await query('switchyard_chain_head'))[0], { timeoutMs: 30_000, everyMs: 250, what: 'a scrape' })
    expect(head.metric).toMatchObject({ chain: 'eth', job: 'switchyard' })
    expect(head.value[1]).toBe('4242')
    const healthy = await query('sum(switchyard_node_status{status="healthy"})')
    expect(healthy[0]?.value[1]).toBe('2')
    const targets = (await (await fetch(`http://127.0.0.1:${port}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string }> } }
    expect(targets.data.activeTargets).toEqual([expect.objectContaining({ health: 'up', lastError: '' })])
  } finally {
    prometheus.kill('SIGTERM')
    await exited
    await proxy.close()
    await Promise.all(nodes.map((node) => node.close()))
  }
}, 60_000)
