/**
 * `npm run demo` as a new user runs it: nodes start, switchyard answers, a node of each chain is
 * ejected and re-admitted (never seen as forked: each chain is one chain), and Ctrl-C (SIGINT)
 * stops every process the demo started; so does SIGTERM to npm. The config file it writes works
 * with the `switchyard check` command it prints.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { waitFor } from '../../src/devnet/wait-for.js'

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** Every process below `pid` (npm → sh → tsx → node → the nodes). */
function descendants(pid: number): number[] {
  return childPids(pid).flatMap((child) => [child, ...descendants(child)])
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('the demo shows ejection and re-admission on both chains and stops everything on Ctrl-C', async () => {
  const demo = spawn(process.execPath, ['--import', 'tsx', 'src/devnet/demo.ts'], {
    env: { ...process.env, DEMO_PORT: '0', DEMO_CYCLE_MS: '4000', DEMO_LAG_MS: '6000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)))
  try {
    // The ready block is several writes; a pipe may hand them over in separate chunks, so wait
    // for its last line before reading any of it.
    await waitFor(() => output.includes('press Ctrl-C to stop'), { timeoutMs: 30_000, what: 'demo ready' })
    const url = /switchyard is ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
    expect(url).toBeDefined()
    // Admin actions need a token: the demo makes one per run and shows it next to the dashboard URL, once.
    const token = /dashboard: +\S+\/dashboard +\(admin token: ([A-Za-z0-9_-]{16,})\)/.exec(output)?.[1]
    expect(token).toBeDefined()
    expect(output.split(token!).length - 1).toBe(1)
    const auth = { authorization: `Bearer ${token}` }
    expect((await fetch(`${url}/admin/api/chains`)).status).toBe(401)
    const snapshot = (await (await fetch(`${url}/admin/api/chains`, { headers: auth })).json()) as { chains: Array<{ name: string; nodes: unknown[] }> }
    expect(snapshot.chains.map((chain) => [chain.name, chain.nodes.length])).toEqual([['eth', 3], ['btc', 3]])
    const probe = await fetch(`${url}/admin/api/chains/eth/probe`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })
    expect(await probe.json()).toEqual({ ok: true })
    for (const line of ['eth/eth-b: healthy → lagging', 'btc/btc-b: healthy → lagging', 'eth/eth-b: lagging → healthy', 'btc/btc-b: lagging → healthy']) {
      try {
        await waitFor(() => output.includes(line), { timeoutMs: 30_000, what: line })
      } catch (error) {
        throw new Error(`${error instanceof Error ? error.message : String(error)}; demo output:\n${output.slice(-3_000)}`)
      }
    }
    // Each chain is one chain: the fork check never flagged an honest node, lagging or not.
    expect(output).not.toMatch(/→ forked|block hashes at|reorg from height/)
    // Node processes are children of the demo (next to tsx's esbuild service); remember them to
    // check they are gone afterwards.
    const nodes = childPids(demo.pid!).filter((pid) => /anvil|bcoin/.test(commandLine(pid)))
    expect(nodes.length).toBe(6)
    demo.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(output).toContain('stopped everything the demo started')
    // The token never showed up again (no log line carries it).
    expect(output.split(token!).length - 1).toBe(1)
    expect(nodes.filter(alive)).toEqual([])
  } finally {
    if (demo.exitCode === null) {
      // Children first: once the demo is gone they are re-parented and can no longer be found.
      for (const pid of childPids(demo.pid!)) process.kill(pid, 'SIGKILL')
      demo.kill('SIGKILL')
    }
  }
}, 90_000)

test('npm run demo: writes its config for the check command it prints, and SIGTERM to npm stops every node', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-demo-'))
  const configFile = join(dir, 'demo.yaml')
  // detached: its own process group, so the cleanup below can reach npm's whole tree.
  const npm = spawn('npm', ['run', 'demo'], {
    env: { ...process.env, DEMO_PORT: '0', DEMO_CONFIG: configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)))
  try {
    await waitFor(() => output.includes('press Ctrl-C to stop'), { timeoutMs: 60_000, what: 'demo ready' })
    const token = /\(admin token: ([A-Za-z0-9_-]{16,})\)/.exec(output)?.[1]
    expect(output).toContain(`config:         ${configFile}   (node URLs and the admin token; removed on stop)`)
    const command = /check it: +(.+)$/m.exec(output)?.[1]
    expect(command).toBe(`npx tsx src/cli.ts check --config ${configFile}`)
    // Node credentials and the admin token are in it: readable by this user only.
    expect(statSync(configFile).mode & 0o777).toBe(0o600)
    const text = readFileSync(configFile, 'utf8')
    expect(text).toContain(token!)
    for (const id of ['eth-a', 'eth-b', 'eth-c', 'btc-a', 'btc-b', 'btc-c']) expect(text).toContain(`id: ${id}`)

    // The printed command, as a user pastes it.
    const [bin, ...args] = command!.split(' ') as [string, ...string[]]
    const check = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let checkOutput = ''
    check.stdout.on('data', (chunk: Buffer) => (checkOutput += chunk.toString()))
    check.stderr.on('data', (chunk: Buffer) => (checkOutput += chunk.toString()))
    expect(await new Promise<number | null>((resolve) => check.once('exit', (code) => resolve(code)))).toBe(0)
    for (const id of ['eth-a', 'eth-b', 'eth-c']) expect(checkOutput).toMatch(new RegExp(`^eth\\s+${id}\\s+(healthy|lagging)\\s`, 'm'))
    for (const id of ['btc-a', 'btc-b', 'btc-c']) expect(checkOutput).toMatch(new RegExp(`^btc\\s+${id}\\s+(healthy|lagging)\\s`, 'm'))
    expect(checkOutput).not.toContain(token!)

    const nodes = descendants(npm.pid!).filter((pid) => /anvil|bcoin/.test(commandLine(pid)))
    expect(nodes.length).toBe(6)
    npm.kill('SIGTERM')
    // npm waits for the script it forwarded the signal to, and takes its exit code.
    expect(await exited).toBe(0)
    expect(output).toContain('stopped everything the demo started')
    await waitFor(() => nodes.filter(alive).length === 0, { timeoutMs: 20_000, what: 'the demo\'s nodes to exit' })
    expect(existsSync(configFile)).toBe(false)
  } finally {
    // Whatever is left of npm's process group (its own, by detached), e.g. a demo npm left behind.
    try {
      process.kill(-npm.pid!, 'SIGKILL')
    } catch {
      // Nothing left.
    }
    await rm(dir, { recursive: true, force: true })
  }
}, 120_000)
