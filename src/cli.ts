#!/usr/bin/env node
/**
 * `switchyard --config FILE`        run the proxy server; SIGTERM/SIGINT shut it down gracefully
 *                                    (src/server/graceful-shutdown.ts), a second signal at once;
 *                                    SIGHUP re-reads FILE and applies it live (Proxy.reload);
 *                                    with server.workers > 1 this process is the cluster
 *                                    primary (src/server/cluster-primary.ts): signal it, not the workers
 * `switchyard check --config FILE`  validate the config, probe every node once, print a table;
 *                                    exit 0 only if every node answered and every chain has a
 *                                    routable node (`--allow-degraded`: only the latter)
 */
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { MemoryJournal } from './broadcast/broadcast-journal.js'
import { ConfigError, createProxy, loadConfigFile } from './index.js'
import type { ProxySnapshot } from './proxy.js'
import { buildApp } from './server/build-app.js'
import { startChainListeners } from './server/chain-listeners.js'
import { runClusterPrimary } from './server/cluster-primary.js'
import { type ReplicatedAction, workerCount } from './server/cluster-policy.js'
import { ClusterWorkerLink } from './server/cluster-worker.js'
import { applyHeapGrowth } from './runtime/heap-growth.js'
import { ConfigReloader } from './server/config-reloader.js'
import { GracefulShutdown, type ShutdownSignal, appShutdownSteps } from './server/graceful-shutdown.js'

const usage = `usage:
  switchyard [serve] --config FILE     run the proxy
  switchyard check --config FILE       probe every node once and print their health
options:
  -c, --config FILE   YAML (or JSON) config; default config/switchyard.yaml
  --json              (check) print the snapshot as JSON
  --allow-degraded    (check) exit 0 while some nodes are unreachable, as long as every
                      chain has a routable node
  -h, --help`

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, 'allow-degraded': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const command = positionals[0] ?? 'serve'
  const configPath = values.config ?? 'config/switchyard.yaml'
  let config
  try {
    config = await loadConfigFile(configPath)
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`)
    return 2
  }
  if (command === 'check') return await check(config, { json: values.json === true, allowDegraded: values['allow-degraded'] === true })
  if (command === 'serve') return await serve(config, configPath)
  process.stderr.write(`unknown command "${command}"\n${usage}\n`)
  return 2
}

async function check(config: Awaited<ReturnType<typeof loadConfigFile>>, options: { json: boolean; allowDegraded: boolean }): Promise<number> {
  // A one-off probe needs no journal on disk.
  const proxy = createProxy(config, { journal: new MemoryJournal() })
  await proxy.start()
  const snapshot = checkSnapshot(proxy.snapshot())
  await proxy.close()
  process.stdout.write(options.json ? `${JSON.stringify(snapshot, null, 2)}\n` : formatTable(snapshot))
  const unreachable = snapshot.chains.flatMap((chain) => chain.nodes.filter((node) => node.status === UNREACHABLE).map((node) => `${chain.name}/${node.id}`))
  const routable = snapshot.chains.every((chain) => chain.routable > 0)
  if (!routable) return 1
  if (unreachable.length > 0 && !options.allowDegraded) {
    // On stderr so that --json output stays one JSON document.
    process.stderr.write(`unreachable: ${unreachable.join(', ')} (--allow-degraded accepts this while every chain has a routable node)\n`)
    return 1
  }
  return 0
}

/** Status `check` shows for a node whose probe got no answer from it. */
const UNREACHABLE = 'unreachable'

/**
 * The snapshot as `check` shows it. After its one probe round a node that failed the probe is
 * still `starting` to the pool (admission needs several probes); to someone checking a config it
 * is unreachable (a typo'd host, port or path), and the probe's error is the reason.
 */
export function checkSnapshot(snapshot: ProxySnapshot): CheckSnapshot {
  return {
    ...snapshot,
    chains: snapshot.chains.map((chain) => ({
      ...chain,
      nodes: chain.nodes.map((node) => (node.status === 'starting' && node.lastError !== null ? { ...node, status: UNREACHABLE, reason: node.lastError } : node)),
    })),
  }
}

type SnapshotNode = ProxySnapshot['chains'][number]['nodes'][number]
export type CheckSnapshot = Omit<ProxySnapshot, 'chains'> & {
  chains: Array<Omit<ProxySnapshot['chains'][number], 'nodes'> & { nodes: Array<Omit<SnapshotNode, 'status'> & { status: SnapshotNode['status'] | typeof UNREACHABLE }> }>
}

export function formatTable(snapshot: CheckSnapshot): string {
  const rows: string[][] = [['chain', 'node', 'status', 'height', 'lag', 'latency', 'reason']]
  for (const chain of snapshot.chains) {
    for (const node of chain.nodes) {
      rows.push([
        chain.name,
        node.id,
        node.status,
        node.height === null ? '-' : String(node.height),
        node.lag === null ? '-' : String(node.lag),
        node.latencyMs === null ? '-' : `${node.latencyMs.toFixed(1)} ms`,
        node.reason,
      ])
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const lines = rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '))
  const summary = snapshot.chains.map((chain) => `${chain.name}: head ${chain.head ?? '-'}, ${chain.routable}/${chain.nodes.length} routable`)
  return `${lines.join('\n')}\n\n${summary.join('\n')}\n`
}

async function serve(config: Awaited<ReturnType<typeof loadConfigFile>>, configPath: string): Promise<number> {
  applyHeapGrowth(config.server.heapGrowingPercent)
  // server.workers > 1: this process forks the workers and runs none of the proxy itself.
  if (cluster.isPrimary && workerCount(config.server.workers, availableParallelism()) > 1) return await runClusterPrimary(config)
  const proxy = createProxy(config)
  const reloader = new ConfigReloader(proxy, () => loadConfigFile(configPath))
  // A cluster worker takes signals, reloads and other workers' operator actions from the primary.
  // One that comes before the shutdown sequence exists (the worker still starting) is kept for it.
  let early: ShutdownSignal | undefined
  let takeSignal = (signal: ShutdownSignal): void => {
    early ??= signal
  }
  const link = cluster.isWorker ? new ClusterWorkerLink({ shutdown: (signal) => takeSignal(signal), apply: (what) => apply(what) }) : undefined
  const app = buildApp(proxy, { reloader, ...(link === undefined ? {} : { cluster: link }) })
  const reload = (): void => {
    if (proxy.draining) return
    void reloader.reload().then((outcome) => {
      if (!outcome.ok) app.log.error({ event: 'config:refused', problems: outcome.problems }, `config reload refused; the running config stays:\n${outcome.problems.map((problem) => `  - ${problem}`).join('\n')}`)
    })
  }
  const apply = (what: ReplicatedAction): void => {
    try {
      if (what.action === 'reload') reload()
      else if (what.action === 'cordon') proxy.cordon(what.chain, what.node, what.reason)
      else if (what.action === 'uncordon') proxy.uncordon(what.chain, what.node)
      else void proxy.probe(what.chain).catch((error: unknown) => app.log.warn({ err: error }, `replicated probe of ${what.chain} failed`))
    } catch (error) {
      // A cordon replayed after a reload dropped its node, say: nothing to apply here either.
      app.log.warn({ action: what, err: error }, `replicated operator action ${what.action} not applied in this worker`)
    }
  }
  await proxy.start()
  const address = await app.listen({ host: config.server.host, port: config.server.port })
  app.log.info(`switchyard listening on ${address}: chains ${proxy.chainNames().join(', ')}${link === undefined ? '' : ` (worker ${link.index} of ${link.count})`}`)
  // chains.<name>.listen: each chain's own port, after the main one (a taken port fails the start).
  const listeners = await startChainListeners(proxy, { logger: app.log })
  for (const listener of listeners.listeners) app.log.info(`switchyard listening on ${listener.url}: chain ${listener.chain} at /`)
  link?.listening(address)
  const { graceMs, drainMs } = config.shutdown
  const shutdown = new GracefulShutdown(
    appShutdownSteps(app, proxy, listeners),
    {
      graceMs,
      drainMs,
      onPhase: (phase, sinceSignalMs) => {
        const at = Math.round(sinceSignalMs)
        if (phase === 'grace') app.log.info({ graceMs, drainMs }, `shutdown: draining; /readyz 503, listener closes in ${graceMs} ms`)
        if (phase === 'draining') app.log.info({ sinceSignalMs: at }, `shutdown: listener closed; finishing in-flight requests (up to ${drainMs} ms)`)
        if (phase === 'finishing') app.log.info({ sinceSignalMs: at }, 'shutdown: requests answered; finishing broadcasts and closing the journal')
      },
    },
  )
  takeSignal = (signal) => shutdown.signal(signal)
  if (early !== undefined) shutdown.signal(early)
  if (link === undefined) {
    process.on('SIGTERM', () => takeSignal('SIGTERM'))
    process.on('SIGINT', () => takeSignal('SIGINT'))
    // SIGHUP: re-read the config file and apply it live (the event log reports what changed).
    process.on('SIGHUP', reload)
  }
  const report = await shutdown.done
  const figures = { signal: report.signal, outcome: report.outcome, graceMs: round(report.graceMs), drainMs: round(report.drainMs), exitCode: report.exitCode }
  if (report.exitCode === 0) app.log.info(figures, `shutdown: done; drained in ${figures.drainMs} ms`)
  else app.log.error(figures, `shutdown: ${report.detail ?? report.outcome}`)
  // A forced exit leaves work running on purpose (the operator signalled twice): do not wait for it.
  if (report.outcome === 'forced') process.exit(report.exitCode)
  // The IPC channel to the primary would keep a drained worker alive.
  link?.close()
  return report.exitCode
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`switchyard: ${error instanceof Error ? error.message : String(error)}\n`)
    // A failed start (a taken port, say) leaves probes running, and a cluster worker its IPC
    // channel, either of which would keep the process alive. Nothing is lost by exiting: the
    // journal writes each accepted broadcast before answering.
    process.exit(1)
  },
)
