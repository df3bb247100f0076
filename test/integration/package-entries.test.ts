/**
 * The package as a user imports it: child processes run code that imports `switchyard/...`
 * specifiers, resolved through package.json `exports` to the sources the build compiles
 * (test/support/package-entry-hooks.mjs), and log every module they load. The README's three
 * library-integration examples run exactly as written, against real nodes (two anvils as one
 * chain with chain id 1, two bcoin regtest nodes with the same chain), and each entry's module
 * graph is checked: ethers / viem / bitcoinjs-lib load only where their entry is imported.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import { type FundedUtxo, type TestKey, coinbaseUtxo, createTestKey, fundKey, p2pkhAddress, signSpend } from '../support/bitcoin-wallet.js'
import { recordFigure } from '../support/figures.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const tsxLoader = createRequire(import.meta.url).resolve('tsx')
const trace = join(root, 'test', 'support', 'package-entry-trace.mjs')
/** anvil's funded dev keys 0 and 1. */
const DEV_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const DEV_KEY_1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
/** A child's bound (compiling the sources with tsx takes seconds, more on a loaded 2-core machine); the test's is longer, so the child's output is reported. */
const RUN_TIMEOUT_MS = 90_000
const TEST_TIMEOUT_MS = 120_000

/** Scripts go under test-output/ so bare specifiers (ethers, viem) resolve from the project's node_modules. */
const scripts = join(root, 'test-output', 'package-entries', randomUUID())
const workDirs: string[] = []

interface UserRun {
  stdout: string
  /** Every module URL the process resolved or required. */
  modules: string[]
}

/**
 * Runs `code` as a user's TypeScript file in a child process (cwd: an empty temp dir, so a default
 * journal path lands there), with `env` added; fails the test with its output when it exits non-zero.
 */
async function runAsUser(name: string, code: string, env: Record<string, string> = {}): Promise<UserRun> {
  await mkdir(scripts, { recursive: true })
  const file = join(scripts, `${name}.ts`)
  await writeFile(file, code)
  const cwd = await mkdtemp(join(tmpdir(), 'switchyard-user-'))
  workDirs.push(cwd)
  const log = join(cwd, 'modules.log')
  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', tsxLoader, '--import', trace, file],
      { cwd, env: { ...process.env, ...env, SWITCHYARD_MODULE_LOG: log }, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, out, err) => resolve({ exitCode: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout: String(out), stderr: String(err) }),
    )
  })
  if (exitCode !== 0) throw new Error(`${name} exited with ${exitCode ?? 'a signal (timeout?)'}\nstdout:\n${stdout}\nstderr:\n${stderr}`)
  const modules = existsSync(log) ? (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '') : []
  return { stdout, modules: [...new Set(modules)] }
}

/** Whether any loaded module belongs to the npm package `name`. */
const loads = (run: UserRun, name: string): boolean => run.modules.some((url) => url.includes(`/node_modules/${name}/`))

/** The line of stdout that starts with `label`, split on spaces (without the label). */
function line(run: UserRun, label: string): string[] {
  const found = run.stdout.split('\n').find((text) => text.startsWith(`${label} `))
  if (found === undefined) throw new Error(`no "${label}" line in:\n${run.stdout}`)
  return found.split(' ').slice(1)
}

/** The ```ts blocks of the README's "Library integrations" section, by the integration entry each imports. */
function readmeExamples(): Record<'ethers' | 'viem' | 'bitcoin', string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('\n### Library integrations\n')
  if (start < 0) throw new Error('README.md has no "### Library integrations" section')
  const end = readme.indexOf('\n### ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)
  const pick = (entry: string): string => {
    const found = blocks.filter((block) => block.includes(`from '${entry}'`))
    if (found.length !== 1) throw new Error(`expected one README example importing ${entry}, found ${found.length}`)
    return found[0]!
  }
  return { ethers: pick('switchyard/chains/evm/ethers'), viem: pick('switchyard/chains/evm/viem'), bitcoin: pick('switchyard/chains/bitcoin/rpc') }
}

afterAll(async () => {
  await rm(scripts, { recursive: true, force: true })
  await Promise.all(workDirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

test('every export of package.json is a file the build emits from a source that exists, with its declarations beside it', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }>; devDependencies: Record<string, string> }
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { include: string[]; exclude: string[] }
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    const source = /^\.\/dist\/(.+)\.js$/.exec(entry.default)?.[1]
    expect(source, subpath).toBeDefined()
    expect(existsSync(join(root, `${source}.ts`)), `${subpath}: ${source}.ts`).toBe(true)
    expect(entry.types, subpath).toBe(entry.default.replace(/\.js$/, '.d.ts'))
    expect(build.include.some((dir) => source!.startsWith(`${dir}/`)), `${subpath} is under a directory tsconfig.build.json compiles`).toBe(true)
  }
  expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './core', './chains/evm', './chains/evm/ethers', './chains/evm/viem', './chains/bitcoin', './chains/bitcoin/rpc']))
  // viem: an optional peer (only its own entry loads it), and a dev dependency for the tests.
  expect(pkg.peerDependencies?.viem).toBeDefined()
  expect(pkg.peerDependenciesMeta?.viem?.optional).toBe(true)
  expect(pkg.devDependencies.viem).toBeDefined()
})

test('the root entry loads both chain families: ethers and bitcoinjs-lib (the control for the checks below)', async () => {
  const run = await runAsUser('root-entry', "import { builtinFamilies } from 'switchyard'\nconsole.log('families', Object.keys(builtinFamilies).join(' '))\n")
  expect(line(run, 'families')).toEqual(['evm', 'bitcoin'])
  expect(loads(run, 'ethers')).toBe(true)
  expect(loads(run, 'bitcoinjs-lib')).toBe(true)
  expect(loads(run, 'viem')).toBe(false)
  // What a proxy on the default SQLite journal never uses stays unloaded (memory): pg, and every
  // part of ethers but its transaction decoding (the ethers provider has its own entry).
  expect(loads(run, 'pg')).toBe(false)
  expect(run.modules.filter((url) => /\/node_modules\/ethers\/lib\.esm\/(providers|contract|wallet|abi)\//.test(url))).toEqual([])
  recordFigure('package entries: modules loaded by `switchyard` (root)', run.modules.length)
}, TEST_TIMEOUT_MS)

describe('README library examples, run as written', () => {
  const examples = readmeExamples()
  let anvils: AnvilNode[] = []
  let bcoins: BcoinNode[] = []
  let key: TestKey
  let coin: FundedUtxo

  beforeAll(async () => {
    // Two processes, one chain (same genesis, no automine): a broadcast must reach both to be in both pools.
    anvils = await Promise.all(['geth-a', 'reth-b'].map((id) => startAnvil({ id, chainId: 1, noMining: true })))
    bcoins = await Promise.all(['core-a', 'core-b'].map((id) => startBcoin({ id })))
    key = createTestKey(21)
    await fundKey(bcoins[0]!, key, 102)
    // Block 2's coinbase: spendable in the mempool at height 102 (100-block maturity).
    coin = await coinbaseUtxo(bcoins[0]!, key, 2)
    await copyBlocks(bcoins[0]!, [bcoins[1]!], 1, 102)
  }, 90_000)

  afterAll(async () => {
    await stopAll(anvils)
    await Promise.all(bcoins.map((node) => node.stop()))
  })

  const evmEnv = (key: string) => ({ GETH_A_URL: anvils[0]!.url, RETH_B_URL: anvils[1]!.url, HOT_WALLET_KEY: key })
  const heldByBoth = async (hash: string) => (await Promise.all(anvils.map((anvil) => anvil.rpc('eth_getTransactionByHash', [hash])))).every((tx) => tx !== null)

  test('ethers: height, a transfer fanned out to both nodes and journaled, insufficient funds mapped by ethers; loads ethers, not bitcoinjs-lib nor viem', async () => {
    const run = await runAsUser('readme-ethers', examples.ethers, evmEnv(DEV_KEY_0))
    expect(line(run, 'height')).toEqual(['0'])
    const [hash, status] = line(run, 'broadcast')
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(status).toBe('pending')
    // proxy.close() let the fan-out finish: both nodes hold it.
    expect(await heldByBoth(hash!)).toBe(true)
    expect(line(run, 'refused')).toEqual(['INSUFFICIENT_FUNDS'])
    expect(loads(run, 'ethers')).toBe(true)
    expect(loads(run, 'bitcoinjs-lib')).toBe(false)
    expect(loads(run, 'viem')).toBe(false)
    recordFigure('package entries: modules loaded by core + chains/evm + chains/evm/ethers', run.modules.length)
  }, TEST_TIMEOUT_MS)

  test('viem: height, balance, a transfer fanned out to both nodes and journaled; loads viem, not bitcoinjs-lib', async () => {
    const run = await runAsUser('readme-viem', examples.viem, evmEnv(DEV_KEY_1))
    // console.log prints bigints with their `n`.
    expect(line(run, 'height')).toEqual(['0n'])
    expect(line(run, 'balance')).toEqual([`${10n ** 22n}n`]) // 10000 ETH: anvil's dev account 1, untouched by the ethers example (key 0)
    const [hash, status] = line(run, 'broadcast')
    expect(status).toBe('pending')
    expect(await heldByBoth(hash!)).toBe(true)
    expect(loads(run, 'viem')).toBe(true)
    expect(loads(run, 'bitcoinjs-lib')).toBe(false)
    recordFigure('package entries: modules loaded by core + chains/evm + chains/evm/viem', run.modules.length)
  }, TEST_TIMEOUT_MS)

  test('bitcoin: typed tip and block, a node error as BitcoinRpcError, a broadcast to both mempools and journaled; loads bitcoinjs-lib, not ethers nor viem', async () => {
    const signed = signSpend(coin, key, [{ address: p2pkhAddress(22), valueSats: coin.valueSats - 10_000 }])
    const run = await runAsUser('readme-bitcoin', examples.bitcoin, { BITCOIND_A_URL: bcoins[0]!.url, BITCOIND_B_URL: bcoins[1]!.url, SIGNED_TX_HEX: signed.hex })
    expect(line(run, 'tip')).toEqual(['102', String(await bcoins[0]!.rpc('getbestblockhash')), '1'])
    expect(line(run, 'node')).toEqual(['error', '-8', 'Block', 'height', 'out', 'of', 'range.'])
    expect(line(run, 'broadcast')).toEqual([signed.txid, 'pending'])
    for (const node of bcoins) expect(await node.rpc('getrawmempool')).toContain(signed.txid)
    expect(loads(run, 'bitcoinjs-lib')).toBe(true)
    expect(loads(run, 'ethers')).toBe(false)
    expect(loads(run, 'viem')).toBe(false)
    recordFigure('package entries: modules loaded by core + chains/bitcoin + chains/bitcoin/rpc', run.modules.length)
  }, TEST_TIMEOUT_MS)
})
