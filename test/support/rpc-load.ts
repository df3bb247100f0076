/**
 * A steady client load against a switchyard URL, as wallet services make it: concurrent readers
 * on kept-alive connections (an undici Pool), and a sender that broadcasts signed EVM transfers one
 * after another. Every request's outcome is recorded (never thrown), so a test can count what
 * failed and how, and look at the responses' `Connection` header.
 */
import { Wallet } from 'ethers'
import { type Dispatcher, Pool } from 'undici'

export interface RequestOutcome {
  /** performance.now() when the request was sent / settled. */
  startedAt: number
  endedAt: number
  ok: boolean
  status?: number
  /** The response's Connection header. */
  connection?: string
  /** Transport error code (UND_ERR_SOCKET, ECONNRESET, ECONNREFUSED, …) or the JSON-RPC error. */
  error?: string
  /** The JSON-RPC result (broadcasts: the txid). */
  result?: unknown
}

export interface Load {
  readonly outcomes: RequestOutcome[]
  /** Outcomes of requests sent at or after `since` (performance.now()). */
  since(since: number): RequestOutcome[]
  /** Stops sending; resolves when every request sent has settled. */
  stop(): Promise<void>
}

/** Sends one JSON-RPC call and records its outcome; never throws. */
export async function sendRpc(client: Dispatcher, path: string, call: { method: string; params: unknown[] }): Promise<RequestOutcome> {
  const startedAt = performance.now()
  try {
    const response = await client.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...call }) })
    const text = await response.body.text()
    const connection = typeof response.headers.connection === 'string' ? response.headers.connection : undefined
    let json: { result?: unknown; error?: { message?: string } } = {}
    try {
      json = JSON.parse(text)
    } catch {
      // a non-JSON body is a failure below
    }
    const ok = response.statusCode === 200 && json.result !== undefined && json.error === undefined
    return {
      startedAt,
      endedAt: performance.now(),
      ok,
      status: response.statusCode,
      connection,
      result: json.result,
      ...(ok ? {} : { error: json.error?.message ?? text.slice(0, 200) }),
    }
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error))
    return { startedAt, endedAt: performance.now(), ok: false, error: code }
  }
}

function load(run: (isStopped: () => boolean, record: (outcome: RequestOutcome) => void) => Promise<void>, workers: number, pool: Pool): Load {
  const outcomes: RequestOutcome[] = []
  let stopped = false
  const running = Promise.all(Array.from({ length: workers }, () => run(() => stopped, (outcome) => outcomes.push(outcome))))
  let closed: Promise<void> | undefined
  return {
    outcomes,
    since: (since) => outcomes.filter((outcome) => outcome.startedAt >= since),
    stop: async () => {
      stopped = true
      closed ??= running.then(async () => await pool.close())
      await closed
    },
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * `readers` concurrent loops of `eth_getBalance` (answered by a node, not locally) over one
 * keep-alive Pool, each waiting `pauseMs` between its calls (a steady rate, not a flood).
 */
export function startReaders(baseUrl: string, options: { readers: number; chain: string; pauseMs?: number }): Load {
  const pool = new Pool(baseUrl, { connections: options.readers })
  const pauseMs = options.pauseMs ?? 10
  return load(
    async (isStopped, record) => {
      while (!isStopped()) {
        record(await sendRpc(pool, `/rpc/${options.chain}`, { method: 'eth_getBalance', params: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', 'latest'] }))
        await pause(pauseMs)
      }
    },
    options.readers,
    pool,
  )
}

/** Anvil's funded account 0: the periodic sender's key. */
export const SENDER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

export async function signTransfer(key: string, nonce: number): Promise<string> {
  return await new Wallet(key).signTransaction({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 1n, gasLimit: 21_000n, nonce, chainId: 31337n, gasPrice: 2_000_000_000n, type: 0 })
}

/**
 * Broadcasts transfers with nonces 0, 1, 2, … one after another (`pauseMs` apart) on a keep-alive
 * connection; an outcome's `result` is the txid the proxy answered.
 */
export function startBroadcasts(baseUrl: string, options: { chain: string; key?: string; pauseMs?: number }): Load {
  const pool = new Pool(baseUrl, { connections: 1 })
  const pauseMs = options.pauseMs ?? 100
  let nonce = 0
  return load(
    async (isStopped, record) => {
      while (!isStopped()) {
        const raw = await signTransfer(options.key ?? SENDER_KEY, nonce)
        const outcome = await sendRpc(pool, `/rpc/${options.chain}`, { method: 'eth_sendRawTransaction', params: [raw] })
        record(outcome)
        // A failed send is retried with the same nonce (same bytes): a wallet never skips a nonce.
        if (outcome.ok) nonce += 1
        await pause(pauseMs)
      }
    },
    1,
    pool,
  )
}
