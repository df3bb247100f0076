/**
 * A fault-injecting TCP proxy (127.0.0.1:0) in front of a real node's port, for chaos tests: the
 * node stays real, and the network between switchyard and the node misbehaves on demand.
 *
 * | fault | new connections | existing connections (kept-alive sockets included) |
 * |---|---|---|
 * | `none` | forwarded both ways | forwarded; ones a fault left in an unknown HTTP state are closed |
 * | `latency(ms)` | every chunk, both ways, delayed by ms (order kept) | the same, from the next chunk |
 * | `blackhole` | accepted and read, nothing forwarded or answered | stall: bytes either way are swallowed |
 * | `reset` | reset (RST) at once | reset (RST) at once |
 * | `garbage` | every request answered by a broken reply (see `GARBAGE`), then closed | the same; a late node reply is replaced too |
 * | `slow-drip` | requests forwarded; replies `bytes` at a time, `pauseMs` apart | the same, rest of a reply included |
 *
 * An unreachable node (killed) shows as a reset of the client's connection, as a dead host behind
 * a load balancer does. `close()` destroys every socket it holds.
 */
import { randomBytes } from 'node:crypto'
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net'

export type Fault =
  | { kind: 'none' }
  | { kind: 'latency'; ms: number }
  | { kind: 'blackhole' }
  | { kind: 'reset' }
  | { kind: 'garbage' }
  | { kind: 'slow-drip'; bytes: number; pauseMs: number }

export const faults = {
  none: { kind: 'none' } as Fault,
  latency: (ms: number): Fault => ({ kind: 'latency', ms }),
  blackhole: { kind: 'blackhole' } as Fault,
  reset: { kind: 'reset' } as Fault,
  garbage: { kind: 'garbage' } as Fault,
  /** Default: 4 bytes every 50 ms (a 300-byte reply takes almost 4 s). */
  slowDrip: (options: { bytes?: number; pauseMs?: number } = {}): Fault => ({ kind: 'slow-drip', bytes: options.bytes ?? 4, pauseMs: options.pauseMs ?? 50 }),
}

/** What the proxy did, for tests to wait on instead of sleeping. */
export interface FaultStats {
  /** Client connections accepted so far. */
  accepted: number
  /** Chunks swallowed by a blackhole (either direction). */
  swallowed: number
  /** Broken replies sent (garbage). */
  garbageReplies: number
  /** Connections reset (RST) by the proxy, including those reset because the node was unreachable. */
  resets: number
  /** Writes of a slow drip (each one `bytes` or fewer). */
  dripWrites: number
}

export interface FaultProxy {
  readonly port: number
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly target: { host: string; port: number }
  readonly fault: Fault
  readonly stats: Readonly<FaultStats>
  /** Client connections open now. */
  readonly openConnections: number
  /** Switches the fault for new and existing connections alike. */
  setFault(fault: Fault): void
  close(): Promise<void>
}

/**
 * Broken replies, used in turn so every kind shows up: bytes that are not HTTP; a reply cut short
 * of its Content-Length; a well-formed HTTP reply whose body is not JSON; a status line and
 * headers that do not parse; JSON that is not a JSON-RPC reply to the request (wrong id).
 */
export const GARBAGE: ReadonlyArray<() => Buffer> = [
  () => randomBytes(64),
  () => Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"jsonrpc":"2.0","id":1,"res'),
  () => {
    const body = `<html><body>502 upstream ${randomBytes(8).toString('hex')}</body></html>`
    return Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  },
  () => Buffer.concat([Buffer.from('HTTP/1.1 2\x00\x7f OK\r\n'), randomBytes(24), Buffer.from('\r\n\r\n')]),
  () => {
    const body = '{"jsonrpc":"2.0","id":"not-your-request","result":"0xdeadbeef"}'
    return Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
  },
]

interface Chunk {
  data: Buffer
  at: number
}

/** One direction of one connection: chunks wait here until the current fault lets them through. */
class Lane {
  readonly #queue: Chunk[] = []
  #timer: NodeJS.Timeout | undefined
  #sourceEnded = false

  constructor(
    readonly link: Link,
    readonly toClient: boolean,
  ) {}

  push(data: Buffer): void {
    this.#queue.push({ data, at: performance.now() })
    this.pump()
  }

  /** The source half-closed: end the target once everything queued got through. */
  end(): void {
    this.#sourceEnded = true
    this.pump()
  }

  /** Re-judges what waits under the (possibly new) fault. */
  refresh(): void {
    this.stop()
    this.pump()
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  pump(): void {
    if (this.#timer !== undefined || this.link.closed) return
    while (this.#queue.length > 0) {
      const fault = this.link.owner.fault
      const chunk = this.#queue[0]!
      switch (fault.kind) {
        case 'none':
          this.#write(chunk.data)
          this.#queue.shift()
          break
        case 'latency': {
          const waitMs = chunk.at + fault.ms - performance.now()
          if (waitMs > 0) {
            this.#later(waitMs)
            return
          }
          this.#write(chunk.data)
          this.#queue.shift()
          break
        }
        case 'slow-drip':
          if (!this.toClient) {
            this.#write(chunk.data)
            this.#queue.shift()
            break
          }
          this.#write(chunk.data.subarray(0, fault.bytes))
          this.link.owner.stats.dripWrites += 1
          if (chunk.data.length > fault.bytes) chunk.data = chunk.data.subarray(fault.bytes)
          else this.#queue.shift()
          if (this.#queue.length > 0) {
            this.#later(fault.pauseMs)
            return
          }
          break
        case 'blackhole':
          this.link.owner.stats.swallowed += this.#queue.length
          this.#queue.length = 0
          this.link.tainted = true
          return
        case 'garbage':
          this.#queue.length = 0
          this.link.answerGarbage()
          return
        case 'reset':
          this.#queue.length = 0
          this.link.reset()
          return
      }
    }
    // A blackhole passes on no end either: the other side just hangs.
    if (this.#sourceEnded && this.link.owner.fault.kind !== 'blackhole') this.link.endTarget(this.toClient)
  }

  #later(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.pump()
    }, ms)
  }

  #write(data: Buffer): void {
    if (this.toClient) this.link.client.write(data)
    else this.link.upstream().write(data)
  }
}

/** One client connection and, once something must reach the node, its connection to the node. */
class Link {
  #upstream: Socket | undefined
  /** A fault swallowed or replaced bytes: the HTTP exchange on it can no longer be trusted. */
  tainted = false
  closed = false
  readonly toUpstream = new Lane(this, false)
  readonly toClient = new Lane(this, true)

  constructor(
    readonly owner: FaultProxyImpl,
    readonly client: Socket,
  ) {
    client.on('error', () => undefined)
    client.on('data', (data: Buffer) => this.toUpstream.push(data))
    client.on('end', () => this.toUpstream.end())
    client.on('close', () => this.close())
  }

  /** Connected on first use: a blackholed or garbage connection never reaches the node. */
  upstream(): Socket {
    if (this.#upstream !== undefined) return this.#upstream
    const upstream = connect({ host: this.owner.target.host, port: this.owner.target.port, allowHalfOpen: true })
    this.#upstream = upstream
    upstream.on('error', () => undefined)
    upstream.on('data', (data: Buffer) => this.toClient.push(data))
    upstream.on('end', () => this.toClient.end())
    upstream.on('close', (hadError) => {
      if (this.closed) return
      // A blackholed connection keeps hanging whatever the node does.
      if (this.owner.fault.kind === 'blackhole') {
        this.tainted = true
        return
      }
      // The node refused or reset: the client sees a reset too, not a clean end.
      if (hadError) this.reset()
    })
    return upstream
  }

  endTarget(toClient: boolean): void {
    if (toClient) this.client.end()
    else this.#upstream?.end()
  }

  answerGarbage(): void {
    // One broken reply per connection: it is closed right after.
    if (this.closed || this.client.writableEnded) return
    this.tainted = true
    const make = GARBAGE[this.owner.stats.garbageReplies % GARBAGE.length]!
    this.owner.stats.garbageReplies += 1
    this.client.end(make())
    this.#upstream?.destroy()
  }

  reset(): void {
    if (this.closed) return
    this.owner.stats.resets += 1
    for (const socket of [this.client, this.#upstream]) {
      if (socket === undefined || socket.destroyed) continue
      try {
        socket.resetAndDestroy()
      } catch {
        socket.destroy()
      }
    }
    this.close()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.toUpstream.stop()
    this.toClient.stop()
    this.client.destroy()
    this.#upstream?.destroy()
    this.owner.links.delete(this)
  }
}

class FaultProxyImpl implements FaultProxy {
  readonly links = new Set<Link>()
  readonly stats: FaultStats = { accepted: 0, swallowed: 0, garbageReplies: 0, resets: 0, dripWrites: 0 }
  fault: Fault = faults.none
  port = 0

  constructor(
    readonly server: Server,
    readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => {
      this.stats.accepted += 1
      const link = new Link(this, client)
      this.links.add(link)
      if (this.fault.kind === 'reset') link.reset()
    })
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get openConnections(): number {
    return this.links.size
  }

  setFault(fault: Fault): void {
    this.fault = fault
    for (const link of [...this.links]) {
      if (fault.kind === 'reset') link.reset()
      else if (fault.kind === 'none' && link.tainted) link.close()
      else {
        link.toUpstream.refresh()
        link.toClient.refresh()
      }
    }
  }

  async close(): Promise<void> {
    for (const link of [...this.links]) link.close()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const server = createServer({ allowHalfOpen: true })
  const proxy = new FaultProxyImpl(server, { host: target.host ?? '127.0.0.1', port: target.port })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  proxy.port = (server.address() as AddressInfo).port
  return proxy
}
