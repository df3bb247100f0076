/**
 * Real anvil processes (from the `@foundry-rs/anvil` package) on 127.0.0.1 for tests and the demo.
 * anvil takes `--port 0` and prints the port it bound, so there is no port race.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { signalProcess, stopProcess } from './child-process.js'

export interface AnvilOptions {
  /** Node id used in configs and logs. Default `anvil-<port>`. */
  id?: string
  /** Chain id. Default 31337. */
  chainId?: number
  /** Fixed port (restart reuses the bound one). Default: any free port. */
  port?: number
  /** Keep sent transactions pending until mined explicitly. Default false (automine). */
  noMining?: boolean
  /** Mine a block every N seconds. Default: off. */
  blockTimeSec?: number
}

export interface AnvilNode {
  readonly id: string
  readonly url: string
  readonly wsUrl: string
  readonly port: number
  readonly chainId: number
  readonly pid: number
  /** JSON-RPC call; throws with the node's message on a JSON-RPC error. */
  rpc(method: string, params?: unknown[]): Promise<unknown>
  mine(blocks: number): Promise<void>
  blockNumber(): Promise<number>
  signal(signal: NodeJS.Signals): void
  stop(): Promise<void>
  /** Stops and starts again on the same port. The chain starts fresh (anvil keeps no state). */
  restart(): Promise<void>
}

export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const require = createRequire(import.meta.url)
  const manifest = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`)
  return join(dirname(manifest), 'bin', 'anvil')
}

async function spawnAnvil(options: AnvilOptions, port: number): Promise<{ child: ChildProcess; port: number }> {
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(options.chainId ?? 31337)]
  if (options.noMining === true) args.push('--no-mining')
  if (options.blockTimeSec !== undefined) args.push('--block-time', String(options.blockTimeSec))
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anvil did not start within 15 s: ${output.slice(-300)}`)), 15_000)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8')
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`anvil exited with ${code} before listening: ${output.slice(-300)}`))
    })
  })
  // Keep draining its output so a full pipe never blocks it; the banner is not needed.
  child.stdout?.removeAllListeners('data')
  child.stderr?.removeAllListeners('data')
  child.stdout?.resume()
  child.stderr?.resume()
  child.removeAllListeners('exit')
  return { child, port: bound }
}

let nextRequestId = 1

export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  let { child, port } = await spawnAnvil(options, options.port ?? 0)
  const chainId = options.chainId ?? 31337
  const id = options.id ?? `anvil-${port}`
  const url = `http://127.0.0.1:${port}`
  const rpc = async (method: string, params: unknown[] = []): Promise<unknown> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextRequestId++, method, params }),
    })
    const body = (await response.json()) as { result?: unknown; error?: { message: string } }
    if (body.error !== undefined) throw new Error(`anvil ${id} ${method}: ${body.error.message}`)
    return body.result
  }
  return {
    id,
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    chainId,
    get pid() {
      return child.pid ?? -1
    },
    rpc,
    mine: async (blocks) => {
      await rpc('anvil_mine', [`0x${blocks.toString(16)}`])
    },
    blockNumber: async () => Number.parseInt(String(await rpc('eth_blockNumber')), 16),
    signal: (signal) => signalProcess(child, signal),
    stop: () => stopProcess(child),
    restart: async () => {
      await stopProcess(child)
      ;({ child } = await spawnAnvil(options, port))
    },
  }
}
