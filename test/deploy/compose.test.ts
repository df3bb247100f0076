/**
 * docker-compose.yml and the files it mounts, checked as files (no Docker engine runs here): every
 * service is supervised and health-checked, only switchyard, Prometheus and Grafana publish ports
 * (on loopback), switchyard's config validates with the environment compose gives it and names
 * the compose nodes at their RPC ports with their credentials, bitcoind nodes are peered, the
 * miners target the nodes, Prometheus scrapes switchyard, Grafana gets a datasource and a dashboard
 * whose datasource input is resolved, the health-check one-liners work, and Debian's docker-compose
 * (v1) accepts the file.
 */
import { execFile, spawnSync } from 'node:child_process'
import { readFileSync, existsSync } from 'node:fs'
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ECPairFactory } from 'ecpair'
import { address as bitcoinAddress, networks, payments } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { loadConfigFile } from '../../src/index.js'
import { type HealthzStub, startHealthzStub } from '../support/healthz-stub.js'
import type { ProxyConfig } from '../../src/config/schema.js'
import { parseNodeArgs } from '../../src/devnet/evm-chain-miner.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../../', import.meta.url))
const inRepo = (path: string): string => join(repo, path)

interface Healthcheck {
  test?: string[] | string
  interval?: string
}
interface Service {
  image?: string
  build?: { context?: string; target?: string } | string
  restart?: string
  init?: boolean
  entrypoint?: string[]
  command?: string[] | string
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  depends_on?: Record<string, { condition?: string }>
  healthcheck?: Healthcheck
  stop_grace_period?: string
}
interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

const composeText = readFileSync(inRepo('docker-compose.yml'), 'utf8')
const compose = parse(composeText, { merge: true }) as Compose
const services = compose.services
const service = (name: string): Service => {
  const found = services[name]
  if (found === undefined) throw new Error(`docker-compose.yml has no service ${name}`)
  return found
}

/** An admin token of the length the config schema asks for; the one variable compose requires. */
const ADMIN_TOKEN = 'compose-test-admin-token'

/**
 * Compose's interpolation of one string: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}` (an error when unset), `$VAR`, and `$$` for a literal `$`.
 */
function interpolate(value: string, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, name?: string, colon?: string, kind?: string, operand?: string, bare?: string) => {
    if (match === '$$') return '$'
    const variable = (name ?? bare) as string
    const found = env[variable]
    const unset = found === undefined || (colon === ':' && found === '')
    if (!unset) return found
    if (kind === '-') return operand ?? ''
    if (kind === '?') throw new Error(`${variable}: ${operand}`)
    return ''
  })
}
const composeEnv = { SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN }
const resolved = (value: string): string => interpolate(value, composeEnv)
const list = (value: string[] | string | undefined): string[] => (value === undefined ? [] : typeof value === 'string' ? [value] : value)

/** `-name=value` (bitcoind) or `--name=value` / `--name value` (anvil, the miner) from an argument list. */
function flagValues(args: readonly string[], name: string): string[] {
  const values: string[] = []
  args.forEach((arg, index) => {
    if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1))
    else if (arg === name && index + 1 < args.length && !args[index + 1]!.startsWith('-')) values.push(args[index + 1]!)
  })
  return values
}

/** A short-syntax volume `source:target[:mode]`: source, target and whether the source is a path in the repo. */
function volumeMounts(svc: Service): Array<{ source: string; target: string; bind: boolean }> {
  return (svc.volumes ?? []).map((spec) => {
    const [source, target] = spec.split(':') as [string, string]
    return { source, target, bind: source.startsWith('./') || source.startsWith('/') }
  })
}
const mountedFrom = (svc: Service, target: string): string | undefined => volumeMounts(svc).find((mount) => mount.target === target && mount.bind)?.source

const bitcoinds = Object.keys(services).filter((name) => list(service(name).command)[0] === 'bitcoind')
const anvils = Object.keys(services).filter((name) => list(service(name).entrypoint)[0] === 'anvil')

let config: ProxyConfig
let switchyardEnv: Record<string, string>
let configPath: string

beforeAll(async () => {
  const switchyard = service('switchyard')
  switchyardEnv = Object.fromEntries(Object.entries(switchyard.environment ?? {}).map(([key, value]) => [key, resolved(String(value))]))
  const command = list(switchyard.command)
  configPath = command[command.indexOf('--config') + 1] ?? ''
  const source = mountedFrom(switchyard, configPath)
  if (source === undefined) throw new Error(`switchyard's --config ${configPath} is not a file mounted from the repo`)
  config = await loadConfigFile(inRepo(source), switchyardEnv)
})

describe('services', () => {
  test('the stack: three peered bitcoind, their miner, three anvils, their miner, switchyard, Prometheus, Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['anvil-a', 'anvil-b', 'anvil-c', 'bitcoind-a', 'bitcoind-b', 'bitcoind-c', 'btc-miner', 'evm-miner', 'grafana', 'prometheus', 'switchyard'])
    expect(bitcoinds.sort()).toEqual(['bitcoind-a', 'bitcoind-b', 'bitcoind-c'])
    expect(anvils.sort()).toEqual(['anvil-a', 'anvil-b', 'anvil-c'])
  })

  test.each(Object.keys(services))('%s: an image or a build, a pinned tag, a restart policy and a health check', (name) => {
    const svc = service(name)
    expect(svc.image ?? svc.build, 'image or build').toBeDefined()
    if (svc.build === undefined) {
      const image = resolved(svc.image!)
      // A tag that names a release, never a moving one.
      expect(image, 'pinned image tag').toMatch(/:v?\d+(\.\d+)+$/)
    }
    expect(svc.restart).toBe('unless-stopped')
    const check = list(svc.healthcheck?.test)
    expect(check.length, 'healthcheck.test').toBeGreaterThan(1)
    expect(['CMD', 'CMD-SHELL']).toContain(check[0])
  })

  test('depends_on names existing services, waits for health only on services that have a health check, and has no cycle', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [target, dependency] of Object.entries(svc.depends_on ?? {})) {
        expect(services[target], `${name} depends on ${target}`).toBeDefined()
        expect(['service_started', 'service_healthy'], `${name} → ${target}`).toContain(dependency.condition)
        if (dependency.condition === 'service_healthy') expect(service(target).healthcheck, `${target} health check`).toBeDefined()
      }
    }
    const visiting = new Set<string>()
    const done = new Set<string>()
    const visit = (name: string, path: string[]): void => {
      if (done.has(name)) return
      expect(visiting.has(name), `cycle ${[...path, name].join(' → ')}`).toBe(false)
      visiting.add(name)
      for (const target of Object.keys(service(name).depends_on ?? {})) visit(target, [...path, name])
      visiting.delete(name)
      done.add(name)
    }
    for (const name of Object.keys(services)) visit(name, [])
    // switchyard starts once every node answers.
    expect(Object.entries(service('switchyard').depends_on ?? {}).filter(([, dependency]) => dependency.condition === 'service_healthy').map(([target]) => target).sort()).toEqual([...bitcoinds, ...anvils].sort())
  })

  test('only switchyard, Prometheus and Grafana publish ports, all on 127.0.0.1; switchyard publishes its configured port', () => {
    const published = Object.fromEntries(Object.entries(services).filter(([, svc]) => (svc.ports ?? []).length > 0).map(([name, svc]) => [name, svc.ports!.map(resolved)]))
    expect(Object.keys(published).sort()).toEqual(['grafana', 'prometheus', 'switchyard'])
    for (const [name, ports] of Object.entries(published)) for (const port of ports) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/)
    expect(published.switchyard).toEqual([`127.0.0.1:${config.server.port}:${config.server.port}`])
    expect(published.prometheus).toEqual(['127.0.0.1:9090:9090'])
    expect(published.grafana).toEqual(['127.0.0.1:3000:3000'])
    // Named volumes are declared.
    for (const svc of Object.values(services)) for (const mount of volumeMounts(svc)) if (!mount.bind) expect(compose.volumes, mount.source).toHaveProperty(mount.source)
  })

  test('every secret variable has one default across the file', () => {
    const defaults = new Map<string, Set<string>>()
    for (const match of composeText.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) {
      const [, name, fallback] = match as unknown as [string, string, string]
      defaults.set(name, (defaults.get(name) ?? new Set()).add(fallback))
    }
    for (const [name, fallbacks] of defaults) expect([...fallbacks], name).toHaveLength(1)
    expect(defaults.has('BITCOIND_RPC_PASSWORD')).toBe(true)
  })
})

describe('switchyard', () => {
  test('is built from the Dockerfile\'s production stage; its config is a repo file that validates with the environment compose gives it', () => {
    const switchyard = service('switchyard')
    expect(switchyard.build).toEqual({ context: '.', target: 'production' })
    expect(readFileSync(inRepo('Dockerfile'), 'utf8')).toMatch(/^FROM \S+ AS production$/m)
    expect(mountedFrom(switchyard, configPath)).toBe('./config/docker.yaml')
    expect(existsSync(inRepo('config/docker.yaml'))).toBe(true)
    expect(config.server.host).toBe('0.0.0.0')
    expect(config.admin.token).toBe(ADMIN_TOKEN)
    // The admin token has no default: compose refuses to start without it.
    expect(() => interpolate(String(switchyard.environment?.SWITCHYARD_ADMIN_TOKEN), {})).toThrow(/SWITCHYARD_ADMIN_TOKEN/)
  })

  test('the journal stays on SQLite in a named volume; the stop grace period covers graceMs + drainMs', () => {
    const switchyard = service('switchyard')
    const journalDir = posix.dirname(config.journal.path)
    const volume = volumeMounts(switchyard).find((mount) => !mount.bind && mount.target === journalDir)
    expect(volume, `a named volume at ${journalDir}`).toBeDefined()
    expect(config.journal.path).toMatch(/\.sqlite$/)
    const grace = /^(\d+)s$/.exec(switchyard.stop_grace_period ?? '')
    expect(grace).not.toBeNull()
    expect(Number(grace![1]) * 1000).toBeGreaterThan(config.shutdown.graceMs + config.shutdown.drainMs)
  })

  test('every bitcoin node is a bitcoind service at its regtest RPC port with that service\'s credentials', () => {
    const btc = config.chains.btc!
    expect(btc.family).toBe('bitcoin')
    expect(btc.nodes.map((node) => new URL(node.url).hostname).sort()).toEqual(bitcoinds.sort())
    for (const node of btc.nodes) {
      const url = new URL(node.url)
      const args = list(service(url.hostname).command).map(resolved)
      expect(args, url.hostname).toContain('-regtest=1')
      expect(args).toContain('-rpcbind=0.0.0.0')
      expect(url.port).toBe(flagValues(args, '-rpcport')[0] ?? '18443')
      expect(node.id).toBe(url.hostname)
      expect(node.username).toBe(flagValues(args, '-rpcuser')[0])
      expect(node.password).toBe(flagValues(args, '-rpcpassword')[0])
      expect(node.password).not.toBe('')
      // The service's health check logs in as switchyard does.
      const check = list(service(url.hostname).healthcheck?.test).map(resolved)
      expect(flagValues(check, '-rpcuser')).toEqual([node.username])
      expect(flagValues(check, '-rpcpassword')).toEqual([node.password])
    }
  })

  test('every EVM node is an anvil service at its port, the chain id the anvils run', () => {
    const eth = config.chains.eth!
    expect(eth.family).toBe('evm')
    expect(eth.nodes.map((node) => new URL(node.url).hostname).sort()).toEqual(anvils.sort())
    for (const node of eth.nodes) {
      const url = new URL(node.url)
      const args = list(service(url.hostname).entrypoint)
      expect(url.port, url.hostname).toBe(flagValues(args, '--port')[0])
      expect(flagValues(args, '--host')).toEqual(['0.0.0.0'])
      expect(node.id).toBe(url.hostname)
      expect((node as { wsUrl?: string }).wsUrl).toBe(`ws://${url.host}`)
      expect(String((eth as { chainId?: number }).chainId)).toBe(flagValues(args, '--chain-id')[0])
    }
  })
})

describe('one chain per family', () => {
  test('the bitcoind nodes are peered: each -addnode is another bitcoind at the regtest P2P port, and the peer graph connects them all', () => {
    const reached = new Set<string>([bitcoinds[0]!])
    const edges: Array<[string, string]> = []
    for (const name of bitcoinds) {
      const peers = [...flagValues(list(service(name).command), '-addnode'), ...flagValues(list(service(name).command), '-connect')]
      expect(peers.length, `${name} peers`).toBeGreaterThan(0)
      for (const peer of peers) {
        const [host, port] = peer.split(':')
        expect(bitcoinds, `${name} → ${peer}`).toContain(host)
        expect(host, `${name} peers with itself`).not.toBe(name)
        expect(port).toBe('18444')
        edges.push([name, host!])
      }
    }
    for (let grew = true; grew; ) {
      grew = false
      for (const [from, to] of edges) {
        if (reached.has(from) !== reached.has(to)) {
          reached.add(from).add(to)
          grew = true
        }
      }
    }
    expect([...reached].sort()).toEqual(bitcoinds.sort())
  })

  test('btc-miner mines on a bitcoind it waits for, with its credentials, to a valid regtest address (private key 1\'s, as the comment says)', () => {
    const miner = service('btc-miner')
    const env = Object.fromEntries(Object.entries(miner.environment ?? {}).map(([key, value]) => [key, resolved(String(value))]))
    const target = env.MINE_ON!
    expect(bitcoinds).toContain(target)
    expect(miner.depends_on?.[target]?.condition).toBe('service_healthy')
    const targetArgs = list(service(target).command).map(resolved)
    expect(env.BITCOIND_RPC_USER).toBe(flagValues(targetArgs, '-rpcuser')[0])
    expect(env.BITCOIND_RPC_PASSWORD).toBe(flagValues(targetArgs, '-rpcpassword')[0])
    expect(Number(env.BTC_BLOCK_INTERVAL_SEC)).toBeGreaterThan(0)
    const script = list(miner.command).join('\n')
    expect(script).toMatch(/-rpcconnect="\$\$MINE_ON" -rpcport=18443/)
    expect(script).toMatch(/generatetoaddress 1 "\$\$BTC_MINER_ADDRESS"/)
    expect(() => bitcoinAddress.toOutputScript(env.BTC_MINER_ADDRESS!, networks.regtest)).not.toThrow()
    const keyOne = ECPairFactory(ecc).fromPrivateKey(Buffer.from(`${'00'.repeat(31)}01`, 'hex'))
    expect(payments.p2wpkh({ pubkey: Buffer.from(keyOne.publicKey), network: networks.regtest }).address).toBe(env.BTC_MINER_ADDRESS)
  })

  test('the anvils start alike (one genesis block) with --no-mining, and evm-miner keeps every anvil of the config one chain', () => {
    const entrypoints = anvils.map((name) => JSON.stringify(service(name).entrypoint))
    expect(new Set(entrypoints).size).toBe(1)
    const args = list(service(anvils[0]!).entrypoint)
    expect(args).toContain('--no-mining')
    expect(flagValues(args, '--timestamp')[0]).toMatch(/^\d+$/)
    expect(args.some((arg) => arg.startsWith('--block-time'))).toBe(false)

    const miner = service('evm-miner')
    expect(miner.build).toEqual(service('switchyard').build)
    expect(miner.image).toBe(service('switchyard').image)
    // The script the Dockerfile compiles into the image, run by the image's tini and node.
    expect(list(miner.entrypoint)).toEqual(['/usr/bin/tini', '--', 'node', '/app/dist/src/devnet/evm-chain-miner.js'])
    expect(readFileSync(inRepo('Dockerfile'), 'utf8')).toMatch(/--rootDir \. --outDir dist src\/devnet\/evm-chain-miner\.ts/)
    const command = list(miner.command).map(resolved)
    const nodes = parseNodeArgs(flagValues(command, '--node'))
    expect(nodes).toEqual(config.chains.eth!.nodes.map((node) => ({ id: node.id, url: node.url })))
    for (const node of nodes) expect(miner.depends_on?.[node.id]?.condition).toBe('service_healthy')
    expect(Number(flagValues(command, '--interval-ms')[0])).toBeGreaterThan(0)
  })
})

describe('health checks', () => {
  let stub: HealthzStub
  let base: string
  beforeAll(async () => {
    stub = await startHealthzStub()
    base = stub.base
  })
  afterAll(async () => {
    await stub.close()
  })

  const nodeScript = (name: string): string => {
    const check = list(service(name).healthcheck?.test)
    expect(check.slice(0, 3), name).toEqual(['CMD', 'node', '-e'])
    return check[3]!
  }
  const exitCode = async (script: string): Promise<number> => {
    try {
      await run(process.execPath, ['-e', script], { timeout: 10_000 })
      return 0
    } catch (error) {
      return (error as { code?: number }).code ?? -1
    }
  }

  test('switchyard\'s asks /healthz on its port: healthy on 200, not on another status or no answer', async () => {
    const script = nodeScript('switchyard')
    const url = `http://127.0.0.1:${config.server.port}/healthz`
    expect(script).toContain(`'${url}'`)
    expect(await exitCode(script.replace(url, `${base}/healthz`))).toBe(0)
    expect(await exitCode(script.replace(url, `${base}/readyz`))).toBe(1)
    expect(await exitCode(script.replace(url, `http://127.0.0.1:1/healthz`))).toBe(1)
  })

  test('evm-miner\'s reads its heartbeat file: healthy while it is fresh, not when stale or missing', async () => {
    const script = nodeScript('evm-miner')
    const heartbeat = flagValues(list(service('evm-miner').command), '--heartbeat-file')[0]!
    expect(script).toContain(`'${heartbeat}'`)
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-compose-'))
    try {
      const file = join(dir, 'heartbeat')
      const local = script.replace(heartbeat, file)
      expect(await exitCode(local)).toBe(1)
      await writeFile(file, '')
      expect(await exitCode(local)).toBe(0)
      const stale = new Date(Date.now() - 60_000)
      await utimes(file, stale, stale)
      expect(await exitCode(local)).toBe(1)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('btc-miner\'s shell check reads the heartbeat its loop touches', () => {
    const script = list(service('btc-miner').command).join('\n')
    const check = list(service('btc-miner').healthcheck?.test)
    expect(check[0]).toBe('CMD-SHELL')
    const file = /touch ([^\s;]+)/.exec(script)?.[1]
    expect(file).toBeDefined()
    expect(check[1]).toContain(`stat -c %Y ${file}`)
    const shell = (command: string) => spawnSync('/bin/sh', ['-c', command.replaceAll('$$', '$')], { encoding: 'utf8' }).status
    const local = join(tmpdir(), `switchyard-btc-heartbeat-${process.pid}`)
    try {
      expect(shell(check[1]!.replace(file!, local))).not.toBe(0)
      spawnSync('touch', [local])
      expect(shell(check[1]!.replace(file!, local))).toBe(0)
      spawnSync('touch', ['-d', '2 minutes ago', local])
      expect(shell(check[1]!.replace(file!, local))).not.toBe(0)
    } finally {
      spawnSync('rm', ['-f', local])
    }
  })
})

describe('Prometheus and Grafana', () => {
  test('Prometheus scrapes switchyard\'s /metrics at its service port; promtool accepts the file', async () => {
    const prometheus = service('prometheus')
    const source = mountedFrom(prometheus, '/etc/prometheus/prometheus.yml')
    expect(source).toBe('./config/prometheus/prometheus.yml')
    expect(list(prometheus.command)).toContain('--config.file=/etc/prometheus/prometheus.yml')
    const file = parse(readFileSync(inRepo(source!), 'utf8')) as { scrape_configs: Array<{ job_name: string; metrics_path?: string; scheme?: string; static_configs: Array<{ targets: string[] }> }> }
    const job = file.scrape_configs.find((entry) => entry.job_name === 'switchyard')
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics')
    expect(job?.scheme ?? 'http').toBe('http')
    expect(job?.static_configs.flatMap((entry) => entry.targets)).toEqual([`switchyard:${config.server.port}`])
    // No metrics.token in the config, so the job needs no credentials.
    expect(config.metrics.token).toBeUndefined()
    const promtool = spawnSync('promtool', ['check', 'config', inRepo(source!)], { encoding: 'utf8' })
    if (promtool.error !== undefined) throw new Error(`promtool not found (Debian package prometheus, which .ci/run installs): ${promtool.error.message}`)
    expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0)
  })

  test('Grafana gets the Prometheus datasource and the switchyard dashboard with its ${DS_PROMETHEUS} input resolved to that datasource', async () => {
    const grafana = service('grafana')
    const provisioning = mountedFrom(grafana, '/etc/grafana/provisioning')
    expect(provisioning).toBe('./config/grafana/provisioning')
    const datasources = parse(readFileSync(inRepo(`${provisioning}/datasources/prometheus.yaml`), 'utf8')) as { datasources: Array<{ uid: string; type: string; url: string; isDefault?: boolean }> }
    expect(datasources.datasources).toHaveLength(1)
    const datasource = datasources.datasources[0]!
    expect(datasource).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true })
    const providers = parse(readFileSync(inRepo(`${provisioning}/dashboards/switchyard.yaml`), 'utf8')) as { providers: Array<{ type: string; options: { path: string } }> }
    expect(providers.providers).toHaveLength(1)
    const folder = providers.providers[0]!.options.path

    // The command writes the mounted dashboard into the provider's folder through sed.
    const script = resolved(list(grafana.command).join(' '))
    const sed = /sed '([^']+)' (\S+) > (\S+) && exec \/run\.sh$/.exec(script)
    expect(sed, script).not.toBeNull()
    const [, expression, input, output] = sed as unknown as [string, string, string, string]
    expect(mountedFrom(grafana, input)).toBe('./config/grafana/switchyard.json')
    expect(posix.dirname(output)).toBe(folder)
    expect(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(output)
    expect(expression).toContain(`/${datasource.uid}/`)

    const { stdout } = await run('sed', [expression, inRepo('config/grafana/switchyard.json')], { maxBuffer: 16 * 1024 * 1024 })
    expect(stdout).not.toContain('${DS_PROMETHEUS}')
    const dashboard = JSON.parse(stdout) as { uid: string; panels: unknown[] }
    expect(dashboard.uid).toBe('switchyard')
    const uids = new Set<string>()
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk)
      else if (typeof value === 'object' && value !== null) {
        const ref = (value as { datasource?: { type?: string; uid?: string } }).datasource
        if (ref?.type === 'prometheus' && ref.uid !== undefined) uids.add(ref.uid)
        Object.values(value).forEach(walk)
      }
    }
    walk(dashboard)
    expect([...uids]).toEqual([datasource.uid])
  })
})

test('Debian\'s docker-compose (v1) accepts the file, and refuses it without SWITCHYARD_ADMIN_TOKEN', () => {
  const composeBin = spawnSync('docker-compose', ['version'], { encoding: 'utf8' })
  if (composeBin.error !== undefined) throw new Error(`docker-compose not found: install Debian's docker-compose package (apt-get install docker-compose): ${composeBin.error.message}`)
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (/^(SWITCHYARD_|BITCOIND_|BTC_|EVM_|GRAFANA_|COMPOSE_)/.test(name)) delete env[name]
  const valid = spawnSync('docker-compose', ['-f', inRepo('docker-compose.yml'), 'config', '-q'], { encoding: 'utf8', env: { ...env, SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN }, cwd: repo })
  expect(valid.status, valid.stdout + valid.stderr).toBe(0)
  const missing = spawnSync('docker-compose', ['-f', inRepo('docker-compose.yml'), 'config', '-q'], { encoding: 'utf8', env, cwd: repo })
  expect(missing.status).not.toBe(0)
  expect(missing.stderr).toMatch(/SWITCHYARD_ADMIN_TOKEN/)
})
