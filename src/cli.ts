#!/usr/bin/env node
/**
 * `switchyard --config FILE`        run the proxy server
 * `switchyard check --config FILE`  validate the config, probe every node once, print a table;
 *                                    exit 0 only if every chain has a routable node
 */
import { parseArgs } from 'node:util'
import { MemoryJournal } from './broadcast/broadcast-journal.js'
import { ConfigError, createProxy, loadConfigFile } from './index.js'
import type { ProxySnapshot } from './proxy.js'
import { buildApp } from './server/build-app.js'

const usage = `usage:
  switchyard [serve] --config FILE     run the proxy
  switchyard check --config FILE       probe every node once and print their health
options:
  -c, --config FILE   YAML (or JSON) config; default config/switchyard.yaml
  --json              (check) print the snapshot as JSON
  -h, --help`

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
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
  if (command === 'check') return await check(config, values.json === true)
  if (command === 'serve') return await serve(config)
  process.stderr.write(`unknown command "${command}"\n${usage}\n`)
  return 2
}

async function check(config: Awaited<ReturnType<typeof loadConfigFile>>, json: boolean): Promise<number> {
  // A one-off probe needs no journal on disk.
  const proxy = createProxy(config, { journal: new MemoryJournal() })
  await proxy.start()
  const snapshot = proxy.snapshot()
  await proxy.close()
  process.stdout.write(json ? `${JSON.stringify(snapshot, null, 2)}\n` : formatTable(snapshot))
  return snapshot.chains.every((chain) => chain.routable > 0) ? 0 : 1
}

export function formatTable(snapshot: ProxySnapshot): string {
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

async function serve(config: Awaited<ReturnType<typeof loadConfigFile>>): Promise<number> {
  const proxy = createProxy(config)
  const app = buildApp(proxy)
  await proxy.start()
  const address = await app.listen({ host: config.server.host, port: config.server.port })
  app.log.info(`switchyard listening on ${address}: chains ${proxy.chainNames().join(', ')}`)
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  app.log.info('shutting down: finishing in-flight requests')
  await app.close()
  await proxy.close()
  return 0
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
