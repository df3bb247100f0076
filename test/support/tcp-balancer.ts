/**
 * A small TCP load balancer on 127.0.0.1:0, as a rolling deploy has one in front (HAProxy, an
 * ELB, a Kubernetes Service): round-robin over the backends whose `GET /readyz` answered 200 at
 * the last health check; a backend is out as soon as a check gets a non-200 or its port refuses.
 * A client connection whose backend refuses the connect is moved to the next backend (no byte was
 * sent, so that is safe); once connected, bytes are piped both ways untouched, so keep-alive,
 * `Connection: close` and resets reach the client exactly as the backend made them. With no
 * backend marked healthy, every backend is tried in turn (as nginx does), so a slow health check
 * on a busy machine cannot make the balancer refuse what a backend would serve.
 */
import { request } from 'node:http'
import { type Server, type Socket, connect, createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface BalancerBackend {
  readonly port: number
  /** At the last health check: /readyz 200. */
  healthy: boolean
  /** Client connections handed to this backend so far. */
  connections: number
}

export interface TcpBalancer {
  readonly port: number
  readonly url: string
  readonly backends: readonly BalancerBackend[]
  /** Client connections the balancer could not give to any backend (it closed them). */
  readonly unplaced: number
  /** Connects that a backend refused and the balancer moved to the next one. */
  readonly movedOnRefusal: number
  close(): Promise<void>
}

export interface TcpBalancerOptions {
  /** Health check period per backend, ms. Default 50. */
  checkIntervalMs?: number
  /** Timeout of one health check, ms; a timeout counts as unhealthy. Default 2000. */
  checkTimeoutMs?: number
}

export async function startTcpBalancer(backendPorts: readonly number[], options: TcpBalancerOptions = {}): Promise<TcpBalancer> {
  const checkIntervalMs = options.checkIntervalMs ?? 50
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000
  const backends: BalancerBackend[] = backendPorts.map((port) => ({ port, healthy: false, connections: 0 }))
  const sockets = new Set<Socket>()
  let next = 0
  let unplaced = 0
  let movedOnRefusal = 0
  let closed = false

  /** Healthy backends in round-robin order, then (only if none is healthy) all of them. */
  const candidates = (): BalancerBackend[] => {
    const healthy = backends.filter((backend) => backend.healthy)
    const pool = healthy.length > 0 ? healthy : backends
    const start = next++ % pool.length
    return [...pool.slice(start), ...pool.slice(0, start)]
  }

  const place = (client: Socket, order: BalancerBackend[]): void => {
    const backend = order.shift()
    if (backend === undefined || client.destroyed) {
      unplaced += 1
      client.destroy()
      return
    }
    const upstream = connect({ port: backend.port, host: '127.0.0.1', allowHalfOpen: true })
    sockets.add(upstream)
    upstream.once('close', () => sockets.delete(upstream))
    let connected = false
    upstream.once('connect', () => {
      connected = true
      backend.connections += 1
      // Data the client sent while we connected waited in its (paused) socket.
      client.pipe(upstream)
      upstream.pipe(client)
    })
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) {
        if (error.code === 'ECONNREFUSED') {
          backend.healthy = false
          movedOnRefusal += 1
        }
        place(client, order)
        return
      }
      client.destroy()
    })
    // A reset (not a clean end) from the backend is passed on as one.
    upstream.once('close', (hadError) => {
      if (connected && hadError) client.destroy()
    })
    client.once('close', (hadError) => {
      if (hadError) upstream.destroy()
    })
  }

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    sockets.add(client)
    client.once('close', () => sockets.delete(client))
    client.on('error', () => client.destroy())
    place(client, candidates())
  })

  const check = (backend: BalancerBackend): Promise<boolean> =>
    new Promise((resolve) => {
      // A fresh connection per check, as balancers do: a kept-alive one would hide a closed listener.
      const probe = request({ host: '127.0.0.1', port: backend.port, path: '/readyz', agent: false, timeout: checkTimeoutMs, headers: { connection: 'close' } }, (response) => {
        response.resume()
        resolve(response.statusCode === 200)
      })
      probe.once('timeout', () => probe.destroy(new Error('health check timed out')))
      probe.once('error', () => resolve(false))
      probe.end()
    })

  const timers = backends.map((backend) => {
    let timer: NodeJS.Timeout | undefined
    const loop = async (): Promise<void> => {
      const healthy = await check(backend)
      if (closed) return
      backend.healthy = healthy
      timer = setTimeout(() => void loop(), checkIntervalMs)
    }
    void loop()
    return () => clearTimeout(timer)
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    backends,
    get unplaced() {
      return unplaced
    },
    get movedOnRefusal() {
      return movedOnRefusal
    },
    close: async () => {
      closed = true
      for (const stop of timers) stop()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
