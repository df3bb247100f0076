#!/usr/bin/env node
/**
 * `switchyard --config FILE`        run the proxy server; SIGTERM/SIGINT shut it down gracefully
 *                                    (src/server/graceful-shutdown.ts), a second signal at once;
 *                                    SIGHUP re-reads FILE and applies it live (Proxy.reload)
 * `switchyard check --config FILE`  validate the config, probe every node once, print a table;
 *                                    exit 0 only if every node answered and every chain has a
 *                                    routable node (`--allow-degraded`: only the latter)
 */
import { parseArgs } from 'node:util'
import { MemoryJournal } from './broadcast/broadcast-journal.js'
import { ConfigError, createProxy, loadConfigFile } from './index.js'
import type { ProxySnapshot } from './proxy.js'
import { buildApp } from './server/build-app.js'
import { startChainListeners } from './server/chain-listeners.js'
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
  const proxy = createProxy(config)
  const reloader = new ConfigReloader(proxy, () => loadConfigFile(configPath))
  const app = buildApp(proxy, { reloader })
  await proxy.start()
  const address = await app.listen({ host: config.server.host, port: config.server.port })
  app.log.info(`switchyard listening on ${address}: chains ${proxy.chainNames().join(', ')}`)
  // chains.<name>.listen: each chain's own port, after the main one (a taken port fails the start).
  const listeners = await startChainListeners(proxy, { logger: app.log })
  for (const listener of listeners.listeners) app.log.info(`switchyard listening on ${listener.url}: chain ${listener.chain} at /`)
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
  const onSignal = (signal: ShutdownSignal) => () => shutdown.signal(signal)
  process.on('SIGTERM', onSignal('SIGTERM'))
  process.on('SIGINT', onSignal('SIGINT'))
  // SIGHUP: re-read the config file and apply it live (the event log reports what changed).
  process.on('SIGHUP', () => {
    if (proxy.draining) return
    void reloader.reload().then((outcome) => {
      if (!outcome.ok) app.log.error({ event: 'config:refused', problems: outcome.problems }, `config reload refused; the running config stays:\n${outcome.problems.map((problem) => `  - ${problem}`).join('\n')}`)
    })
  })
  const report = await shutdown.done
  const figures = { signal: report.signal, outcome: report.outcome, graceMs: round(report.graceMs), drainMs: round(report.drainMs), exitCode: report.exitCode }
  if (report.exitCode === 0) app.log.info(figures, `shutdown: done; drained in ${figures.drainMs} ms`)
  else app.log.error(figures, `shutdown: ${report.detail ?? report.outcome}`)
  // A forced exit leaves work running on purpose (the operator signalled twice): do not wait for it.
  if (report.outcome === 'forced') process.exit(report.exitCode)
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
    process.exitCode = 1
  },
)
