/**
 * The Dockerfile and .dockerignore, checked as files (no Docker engine runs here): a build stage
 * with the toolchain and a production stage without it, a non-root user, tini forwarding signals to
 * the CLI, a health check on /healthz that works, the configured port exposed, a default config
 * from the repo that validates, a build context that holds what the Dockerfile copies and nothing
 * of the host's dependencies or state, and the miner compile line really compiling the miner.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { loadConfigFile } from '../../src/index.js'
import { type HealthzStub, startHealthzStub } from '../support/healthz-stub.js'
import type { ProxyConfig } from '../../src/config/schema.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../../', import.meta.url))
const inRepo = (path: string): string => join(repo, path)

interface Instruction {
  keyword: string
  args: string
}
interface Stage {
  base: string
  name: string | undefined
  instructions: Instruction[]
}

/** Instructions by stage: continuation lines joined, comments and parser directives dropped. */
function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = []
  let pending = ''
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed.startsWith('#') || (trimmed === '' && pending === '')) continue
    const continued = trimmed.endsWith('\\')
    pending += `${continued ? trimmed.slice(0, -1) : trimmed} `
    if (continued) continue
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(pending.trim()) as unknown as [string, string, string]
    instructions.push({ keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ').trim() })
    pending = ''
  }
  const args: Instruction[] = []
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [, base, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) as unknown as [string, string, string | undefined]
      stages.push({ base, name, instructions: [] })
    } else if (stages.length === 0) args.push(instruction)
    else stages.at(-1)!.instructions.push(instruction)
  }
  return { args, stages }
}

const execForm = (args: string): string[] => JSON.parse(args) as string[]
const all = (stage: Stage, keyword: string): string[] => stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args)
const last = (stage: Stage, keyword: string): string | undefined => all(stage, keyword).at(-1)
/** `COPY [--from=x] [--chown=y] src... dest` → its options, sources and destination. */
function copyOf(args: string): { from: string | undefined; sources: string[]; destination: string } {
  const words = args.split(' ')
  const options = words.filter((word) => word.startsWith('--'))
  const paths = words.filter((word) => !word.startsWith('--'))
  return { from: options.find((option) => option.startsWith('--from='))?.slice('--from='.length), sources: paths.slice(0, -1), destination: paths.at(-1)! }
}

/** .dockerignore semantics for the patterns used: globs (`*`, `?`, `**`), a match on a directory covers what is inside, `!` re-includes. */
function dockerIgnored(path: string, patterns: readonly string[]): boolean {
  let ignored = false
  const parts = path.split('/')
  for (const raw of patterns) {
    const negate = raw.startsWith('!')
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '')
    const source = pattern
      .split(/(\*\*\/|\*\*|\*|\?)/)
      .map((piece) => (piece === '**/' ? '(?:.*/)?' : piece === '**' ? '.*' : piece === '*' ? '[^/]*' : piece === '?' ? '[^/]' : piece.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')
    const regex = new RegExp(`^${source}$`)
    if (parts.some((_, index) => regex.test(parts.slice(0, index + 1).join('/')))) ignored = !negate
  }
  return ignored
}

const dockerfile = parseDockerfile(readFileSync(inRepo('Dockerfile'), 'utf8'))
const build = dockerfile.stages[0]!
const production = dockerfile.stages.at(-1)!
const dockerignore = readFileSync(inRepo('.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
const compose = parse(readFileSync(inRepo('docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { ports?: string[] }> }

/** The image's default config, as the CMD names it, loaded from the repo file copied there. */
let imageConfig: ProxyConfig
let imageConfigSource: string

beforeAll(async () => {
  const cmd = execForm(last(production, 'CMD')!)
  const path = cmd[cmd.indexOf('--config') + 1]!
  const copy = all(production, 'COPY')
    .map(copyOf)
    .find((entry) => entry.from === undefined && entry.destination === path)
  if (copy === undefined) throw new Error(`no COPY of a repo file to the CMD's config ${path}`)
  imageConfigSource = copy.sources[0]!
  imageConfig = await loadConfigFile(inRepo(imageConfigSource), { SWITCHYARD_ADMIN_TOKEN: 'dockerfile-test-admin-token', BITCOIND_RPC_USER: 'u', BITCOIND_RPC_PASSWORD: 'p' })
})

describe('stages', () => {
  test('a build stage with the toolchain and every dependency, then a production stage without either', () => {
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['build', 'production'])
    // One Node base for both stages: the 20 line package.json's engines asks for, slim.
    for (const stage of dockerfile.stages) expect(stage.base).toBe('${NODE_IMAGE}')
    expect(dockerfile.args.map((instruction) => instruction.args)).toEqual([expect.stringMatching(/^NODE_IMAGE=node:20(\.\d+)*-bookworm-slim$/)])
    expect(JSON.parse(readFileSync(inRepo('package.json'), 'utf8')).engines.node).toMatch(/^>=20\./)

    const buildRuns = all(build, 'RUN').join('\n')
    expect(buildRuns).toMatch(/apt-get install -y --no-install-recommends python3 make g\+\+/)
    expect(buildRuns).toMatch(/npm ci /)
    expect(buildRuns).toMatch(/npm_config_build_from_source=true npm rebuild better-sqlite3/)
    expect(buildRuns).toMatch(/npm run build/)
    expect(buildRuns).toMatch(/npm prune --omit=dev --omit=optional/)

    const productionRuns = all(production, 'RUN').join('\n')
    expect(productionRuns).not.toMatch(/python3|make|g\+\+|npm (ci|install)/)
    const fromBuild = all(production, 'COPY').map(copyOf).filter((copy) => copy.from === 'build')
    expect(fromBuild.map((copy) => copy.sources[0]).sort()).toEqual(['/app/dist', '/app/node_modules', '/app/package.json'])
    // The rest of production comes from the repo's config only.
    for (const copy of all(production, 'COPY').map(copyOf).filter((entry) => entry.from === undefined)) for (const source of copy.sources) expect(source).toMatch(/^config(\/|$)/)
  })

  test('production runs as the node image\'s unprivileged user, writing only the journal\'s directory', () => {
    const user = last(production, 'USER')
    expect(user).toBe('node')
    // USER comes after every RUN that needs root, and is not switched back.
    const keywords = production.instructions.map((instruction) => instruction.keyword)
    expect(keywords.lastIndexOf('RUN')).toBeLessThan(keywords.lastIndexOf('USER'))
    const chowns = all(production, 'RUN').flatMap((command) => [...command.matchAll(/chown (\S+) (\S+)/g)].map((match) => ({ owner: match[1], path: match[2] })))
    expect(chowns).toEqual([{ owner: 'node:node', path: posix.dirname(imageConfig.journal.path) }])
  })
})

describe('runtime', () => {
  let stub: HealthzStub
  let base: string
  beforeAll(async () => {
    stub = await startHealthzStub()
    base = stub.base
  })
  afterAll(async () => {
    await stub.close()
  })

  test('HEALTHCHECK asks /healthz on the configured port with node itself: healthy on 200, not on another status or no answer', async () => {
    const healthcheck = last(production, 'HEALTHCHECK')!
    const [, options, command] = /^((?:--\S+ )*)CMD (.*)$/.exec(healthcheck) as unknown as [string, string, string]
    expect(options).toMatch(/--interval=\d+s/)
    expect(options).toMatch(/--timeout=\d+s/)
    const [binary, flag, script] = execForm(command) as [string, string, string]
    expect([binary, flag]).toEqual(['node', '-e'])
    expect(script).toContain('process.env.SWITCHYARD_HEALTHCHECK_URL')
    const env = all(production, 'ENV').find((entry) => entry.startsWith('SWITCHYARD_HEALTHCHECK_URL='))
    const url = new URL(env!.slice('SWITCHYARD_HEALTHCHECK_URL='.length))
    expect(url.pathname).toBe('/healthz')
    expect(url.hostname).toBe('127.0.0.1')
    expect(Number(url.port)).toBe(imageConfig.server.port)

    const exitCode = async (checkUrl: string): Promise<number> => {
      try {
        await run(process.execPath, ['-e', script], { env: { ...process.env, SWITCHYARD_HEALTHCHECK_URL: checkUrl }, timeout: 10_000 })
        return 0
      } catch (error) {
        return (error as { code?: number }).code ?? -1
      }
    }
    expect(await exitCode(`${base}/healthz`)).toBe(0)
    expect(await exitCode(`${base}/readyz`)).toBe(1)
    expect(await exitCode('http://127.0.0.1:1/healthz')).toBe(1)
  })

  test('EXPOSE is the configured port, the one compose publishes', () => {
    expect(all(production, 'EXPOSE')).toEqual([String(imageConfig.server.port)])
    expect(imageConfig.server.host).toBe('0.0.0.0')
    expect(compose.services.switchyard?.ports).toEqual([`127.0.0.1:${imageConfig.server.port}:${imageConfig.server.port}`])
  })

  test('tini (from Debian) is PID 1 and hands signals, SIGHUP included, to the CLI alone; SIGTERM stops; CMD names a config from the repo that validates', () => {
    const entrypoint = execForm(last(production, 'ENTRYPOINT')!)
    expect(entrypoint).toEqual(['/usr/bin/tini', '--', 'node', '/app/dist/src/cli.js'])
    // Not -g (the whole process group): with server.workers > 1 only the primary takes signals.
    expect(entrypoint).not.toContain('-g')
    expect(all(production, 'RUN').join('\n')).toMatch(/apt-get install -y --no-install-recommends tini/)
    expect(last(production, 'STOPSIGNAL')).toBe('SIGTERM')
    expect(last(production, 'WORKDIR')).toBe('/app')
    expect(`/app/${JSON.parse(readFileSync(inRepo('package.json'), 'utf8')).bin.switchyard}`).toBe(entrypoint[3])
    expect(execForm(last(production, 'CMD')!)).toEqual(['--config', '/etc/switchyard/switchyard.yaml'])
    expect(imageConfigSource).toBe('config/docker.yaml')
    expect(imageConfig.chains.btc?.nodes.length).toBeGreaterThan(0)
  })
})

describe('build context', () => {
  test('.dockerignore keeps dependencies, git, build output and local state out', () => {
    for (const path of ['node_modules/yaml/package.json', 'chains/evm/node_modules/x', '.git/HEAD', 'dist/src/cli.js', 'test-output/vitest.json', '.switchyard/journal.sqlite', 'coverage/index.html', 'test/deploy/compose.test.ts', 'src/devnet/evm-chain-miner.test.ts', '.env']) {
      expect(dockerIgnored(path, dockerignore), path).toBe(true)
    }
  })

  test('every file the Dockerfile copies from the context exists and is not ignored', () => {
    const copied = dockerfile.stages.flatMap((stage) => all(stage, 'COPY').map(copyOf).filter((copy) => copy.from === undefined)).flatMap((copy) => copy.sources)
    expect(copied.length).toBeGreaterThan(5)
    for (const source of copied) {
      expect(existsSync(inRepo(source)), source).toBe(true)
      expect(dockerIgnored(source, dockerignore), source).toBe(false)
    }
    // What the build needs inside the copied directories is in the context too.
    for (const path of ['src/cli.ts', 'src/dashboard', 'src/devnet/evm-chain-miner.ts', 'chains/evm/index.ts', 'config/docker.yaml']) {
      expect(existsSync(inRepo(path)), path).toBe(true)
      expect(dockerIgnored(path, dockerignore), path).toBe(false)
    }
    expect(statSync(inRepo('src/dashboard')).isDirectory()).toBe(true)
  })

  test('the miner compile line emits dist/src/devnet/evm-chain-miner.js, a working command', async () => {
    const line = all(build, 'RUN').flatMap((command) => command.split(' && ')).find((part) => part.includes('src/devnet/evm-chain-miner.ts'))
    expect(line).toBeDefined()
    const words = line!.trim().split(' ')
    expect(words.slice(0, 2)).toEqual(['npx', 'tsc'])
    const outDir = words.indexOf('--outDir')
    expect(words[outDir + 1]).toBe('dist')
    const out = await mkdtemp(join(tmpdir(), 'switchyard-miner-build-'))
    try {
      const args = words.slice(2)
      args[outDir - 1] = out
      await run(inRepo('node_modules/.bin/tsc'), args, { cwd: repo, timeout: 120_000 })
      // As in the image, where /app/package.json makes dist/ ES modules.
      await writeFile(join(out, 'package.json'), '{ "type": "module" }\n')
      const compiled = join(out, 'src/devnet/evm-chain-miner.js')
      expect(existsSync(compiled)).toBe(true)
      const { stdout } = await run(process.execPath, [compiled, '--help'], { timeout: 10_000 })
      expect(stdout).toMatch(/^usage: evm-chain-miner --node ID=URL/)
    } finally {
      await rm(out, { recursive: true, force: true })
    }
  })
})
