/**
 * The real-client matrix (issue 9): client libraries nobody here wrote, pointed at switchyard (a
 * real `switchyard --config` process) in front of real anvil and bcoin nodes, each row doing what a
 * wallet service does: chain id / chain info, block number, a block by number, a balance or UTXO
 * lookup, a batch, a signed send, waiting for its receipt / confirmation.
 *
 * Every row's outcome goes to test-output/client-matrix.json (row → "passes" / "fails: <why>"),
 * merged across the matrix's files, so a run's matrix can be quoted as it is.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify as toYaml } from 'yaml'
import { afterAll, test } from 'vitest'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { type SwitchyardProcess, startSwitchyard } from '../support/switchyard-process.js'

const matrixFile = join(process.cwd(), 'test-output', 'client-matrix.json')

/**
 * One vitest test per matrix row; its outcome is recorded under `name`. Call at module level of
 * a test file (it registers an afterAll that writes this file's rows).
 */
export function matrixRows(): (name: string, body: () => Promise<void>, timeoutMs?: number) => void {
  const outcomes = new Map<string, string>()
  afterAll(() => {
    if (outcomes.size > 0) recordRows(outcomes)
  })
  return (name, body, timeoutMs = 60_000) => {
    test(
      name,
      async () => {
        try {
          await body()
          outcomes.set(name, 'passes')
        } catch (error) {
          outcomes.set(name, `fails: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300)}`)
          throw error
        }
      },
      timeoutMs,
    )
  }
}

/** Read, merge and write in one synchronous step: files of the matrix finish in parallel workers. */
function recordRows(outcomes: Map<string, string>): void {
  mkdirSync(join(process.cwd(), 'test-output'), { recursive: true })
  let matrix: Record<string, string> = {}
  try {
    matrix = JSON.parse(readFileSync(matrixFile, 'utf8')) as Record<string, string>
  } catch {
    matrix = {}
  }
  for (const [name, outcome] of outcomes) matrix[name] = outcome
  writeFileSync(matrixFile, `${JSON.stringify(matrix, null, 2)}\n`)
}

export interface MatrixSwitchyard {
  /** `http://127.0.0.1:<port>` of the main listener. */
  readonly baseUrl: string
  readonly process: SwitchyardProcess
  /** eth_blockNumber / getblockcount through switchyard reaches `height` (its read head follows probe rounds). */
  waitForHead(chain: string, height: number): Promise<void>
  stop(): Promise<void>
}

/**
 * `switchyard --config <file>` as a user runs it, on a free port, probing every 100 ms so that a
 * block mined by the test is switchyard's head soon after. `config` is merged over that.
 */
export async function startMatrixSwitchyard(config: { chains: Record<string, unknown>; server?: Record<string, unknown> }): Promise<MatrixSwitchyard> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-clients-'))
  const port = await freePort()
  const file = join(dir, 'switchyard.yaml')
  await writeFile(
    file,
    toYaml({
      server: { host: '127.0.0.1', port, ...config.server },
      shutdown: { graceMs: 0, drainMs: 5_000 },
      log: { level: 'warn' },
      journal: { path: join(dir, 'journal.sqlite') },
      chains: config.chains,
    }),
  )
  const switchyard = startSwitchyard(file)
  const baseUrl = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    switchyard.child.kill('SIGTERM')
    await switchyard.exit
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(
      async () => {
        if (switchyard.child.exitCode !== null) throw new Error(`switchyard exited: ${switchyard.stderr().slice(-2_000)}`)
        return (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200
      },
      { timeoutMs: 30_000, what: 'switchyard /readyz' },
    )
  } catch (error) {
    await switchyard.kill()
    throw error
  }
  const head = async (chain: string): Promise<number> => {
    const family = (config.chains[chain] as { family: string }).family
    const body = family === 'evm' ? { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] } : { jsonrpc: '2.0', id: 1, method: 'getblockcount', params: [] }
    const reply = (await (await fetch(`${baseUrl}/rpc/${chain}`, { method: 'POST', body: JSON.stringify(body) })).json()) as { result: string | number }
    return typeof reply.result === 'string' ? Number.parseInt(reply.result, 16) : reply.result
  }
  return {
    baseUrl,
    process: switchyard,
    waitForHead: async (chain, height) => {
      await waitFor(async () => (await head(chain)) >= height, { timeoutMs: 20_000, what: `switchyard's ${chain} head at ${height}` })
    },
    stop,
  }
}

export const healthFast = { intervalMs: 100, timeoutMs: 2_000 }
