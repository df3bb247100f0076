/**
 * A proxy plus its HTTP app on 127.0.0.1:0, for integration tests. Probing is not started:
 * tests call `probe()` (one round per chain) and drive health deterministically.
 */
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { createProxy } from '../../src/index.js'
import type { ProxyConfigInput } from '../../src/config/schema.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'

export interface TestProxy {
  proxy: Proxy
  app: FastifyInstance
  baseUrl: string
  /** One probe round on every chain. */
  probe(): Promise<void>
  /** POST a JSON-RPC body (object or raw string) to /rpc/:chain. */
  rpc(chain: string, body: unknown, headers?: Record<string, string>): Promise<RpcResponse>
  close(): Promise<void>
}

export interface RpcResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: any
  node: string | undefined
  attempts: number
}

export async function startTestProxy(config: ProxyConfigInput, options: { autoProbe?: boolean } = {}): Promise<TestProxy> {
  const proxy = createProxy({ journal: { path: ':memory:' }, ...config, log: { level: 'silent' } })
  if (options.autoProbe === true) await proxy.start()
  const app = buildApp(proxy)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const probe = async (): Promise<void> => {
    await Promise.all(proxy.chainNames().map((chain) => proxy.probe(chain)))
  }
  return {
    proxy,
    app,
    baseUrl: address,
    probe,
    rpc: async (chain, body, headers = {}) => {
      const response = await request(`${address}/rpc/${chain}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      })
      const text = await response.body.text()
      const json = jsonOrUndefined(text)
      const node = response.headers['x-switchyard-node']
      return {
        status: response.statusCode,
        headers: response.headers,
        text,
        json,
        node: typeof node === 'string' ? node : undefined,
        attempts: Number(response.headers['x-switchyard-attempts'] ?? 0),
      }
    },
    close: async () => {
      await app.close()
      await proxy.close()
    },
  }
}

/** A reply body as JSON; undefined when empty or not JSON (the test then looks at the text). */
export function jsonOrUndefined(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
