/**
 * Several anvil processes that are ONE chain (test-nodes.md): the same `--timestamp` (identical
 * genesis), `--no-mining`, and deterministic mining (`mineBlocksAt`: block h at `t0 + 12·h`
 * whatever the wall clock does), so the same transactions mined the same way give identical blocks on
 * every process and a fork check sees honest nodes agree. Extra command-line flags (e.g.
 * `--prune-history`) are allowed, which `startAnvil` does not offer; built from the devnet blocks,
 * with `startAnvil`'s genesis time and block interval, so these and `startAnvil` nodes are one chain.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { BLOCK_INTERVAL_SEC, GENESIS_TIMESTAMP, anvilBinary, mineBlocksAt } from '../../src/devnet/anvil.js'
import { stopProcess } from '../../src/devnet/child-process.js'
import { freePort } from '../../src/devnet/free-port.js'
import { waitFor } from '../../src/devnet/wait-for.js'

const PORT_ATTEMPTS = 5

export interface ChainAnvil {
  readonly id: string
  readonly url: string
  rpc(method: string, params?: unknown[]): Promise<unknown>
  height(): Promise<number>
  /** Mines `blocks` blocks with deterministic timestamps (identical on every chain anvil at the same height). */
  mine(blocks: number): Promise<void>
  stop(): Promise<void>
}

/** `genesisTimestamp` other than the default makes a different chain (a fork from block 0). */
export async function startChainAnvil(id: string, extraArgs: readonly string[] = [], genesisTimestamp = GENESIS_TIMESTAMP): Promise<ChainAnvil> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort()
    const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337', '--silent', '--no-mining', '--timestamp', String(genesisTimestamp), ...extraArgs]
    const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let exited = false
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2_000)
    })
    child.once('exit', () => {
      exited = true
    })
    const url = `http://127.0.0.1:${port}`
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(`anvil ${id} exited: ${stderr.trim()}`)
          return (await rpc(url, 'eth_chainId')) === '0x7a69'
        },
        { timeoutMs: 15_000, what: `anvil ${id} on port ${port}` },
      )
      return handle(id, url, child, genesisTimestamp)
    } catch (error) {
      await stopProcess(child)
      if (attempt >= PORT_ATTEMPTS || !/address already in use/i.test(stderr)) throw error
    }
  }
}

function handle(id: string, url: string, child: ChildProcess, genesisTimestamp: number): ChainAnvil {
  const call = (method: string, params: unknown[] = []) => rpc(url, method, params)
  const height = async () => Number.parseInt(String(await call('eth_blockNumber')), 16)
  return {
    id,
    url,
    rpc: call,
    height,
    mine: async (blocks) => {
      const next = (await height()) + 1
      await mineBlocksAt(call, genesisTimestamp + BLOCK_INTERVAL_SEC * next, blocks)
    },
    stop: () => stopProcess(child),
  }
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } }
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message ?? 'error'}`)
  return body.result
}

/** Mines `blocks` on each anvil given (identical blocks when they were at the same height with the same pool). */
export async function mineAll(anvils: readonly ChainAnvil[], blocks: number): Promise<void> {
  await Promise.all(anvils.map((anvil) => anvil.mine(blocks)))
}

/** Sends the same signed transaction to every anvil (each keeps it pending until mined). */
export async function sendToAll(anvils: readonly ChainAnvil[], raw: string): Promise<string> {
  const hashes = await Promise.all(anvils.map((anvil) => anvil.rpc('eth_sendRawTransaction', [raw])))
  return String(hashes[0])
}
