/**
 * `GET /admin/api/events` (Server-Sent Events) for every open dashboard at once: one timer for
 * all streams, the snapshot serialised once per tick and the same bytes written to each stream,
 * each timeline entry serialised once. Streams are capped in total and per client address.
 *
 * A stream whose reader does not keep up gets no new snapshot until its socket drains (the next
 * one supersedes it anyway); one that still holds more than `maxBufferedBytes` unsent is closed,
 * so a client that opens streams and never reads cannot make the server buffer without bound.
 */
import type { ServerResponse } from 'node:http'
import type { Proxy } from '../proxy.js'
import type { Timeline } from '../observability/timeline.js'
import { clientKey } from './client-address.js'

export interface EventStreamLimits {
  /** Open streams across all clients. */
  maxStreams: number
  /** Open streams per client address. */
  maxStreamsPerClient: number
}

export interface EventStreamsOptions {
  /** Snapshot period, ms. Default 1000. */
  intervalMs?: number
  /** Unsent bytes a stream may hold before it is closed. Default 8 MiB. */
  maxBufferedBytes?: number
  /** Read per stream opened, so a reloaded config applies to new streams. */
  limits: () => EventStreamLimits
}

/** Why a stream was not opened: the caller answers with this status and Retry-After. */
export type StreamRefusal = { status: 429 | 503; error: string; retryAfterS: number }

interface Stream {
  raw: ServerResponse
  client: string
}

export class EventStreams {
  readonly #proxy: Pick<Proxy, 'snapshot'>
  readonly #timeline: Pick<Timeline, 'subscribe'>
  readonly #intervalMs: number
  readonly #maxBufferedBytes: number
  readonly #limits: () => EventStreamLimits
  readonly #streams = new Set<Stream>()
  readonly #perClient = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined
  #serialisations = 0

  constructor(proxy: Pick<Proxy, 'snapshot'>, timeline: Pick<Timeline, 'subscribe'>, options: EventStreamsOptions) {
    this.#proxy = proxy
    this.#timeline = timeline
    this.#intervalMs = options.intervalMs ?? 1_000
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024
    this.#limits = options.limits
  }

  /** Open streams now. */
  get size(): number {
    return this.#streams.size
  }

  /** Snapshots serialised so far (one per tick, whatever the number of streams). */
  get serialisations(): number {
    return this.#serialisations
  }

  /** Whether `address` may open one more stream now; undefined = yes. */
  refusal(address: string): StreamRefusal | undefined {
    const limits = this.#limits()
    if (this.#streams.size >= limits.maxStreams) return { status: 503, error: `at most ${limits.maxStreams} event streams at once (admin.maxStreams)`, retryAfterS: 5 }
    if ((this.#perClient.get(clientKey(address)) ?? 0) >= limits.maxStreamsPerClient) {
      return { status: 429, error: `at most ${limits.maxStreamsPerClient} event streams per client (admin.maxStreamsPerClient)`, retryAfterS: 5 }
    }
    return undefined
  }

  /** Starts a stream on a response the caller took over (headers not yet written); check `refusal` first. */
  open(raw: ServerResponse, address: string, headers: Record<string, string>): void {
    const stream: Stream = { raw, client: clientKey(address) }
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers })
    this.#streams.add(stream)
    this.#perClient.set(stream.client, (this.#perClient.get(stream.client) ?? 0) + 1)
    raw.once('close', () => this.#remove(stream))
    this.#write(stream, this.#snapshotFrame())
    this.#ensureRunning()
  }

  /** One tick: the snapshot to every stream, serialised once (it also keeps idle proxies from closing them). */
  tick(): void {
    if (this.#streams.size === 0) return
    const frame = this.#snapshotFrame()
    for (const stream of this.#streams) {
      // A stream still sending the previous snapshot skips this one: the next supersedes it.
      if (!stream.raw.writableNeedDrain) this.#write(stream, frame)
    }
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    for (const stream of [...this.#streams]) stream.raw.end()
    this.#stop()
  }

  /** Encoded once too: writing a string would encode it again for every stream. */
  #snapshotFrame(): Buffer {
    this.#serialisations += 1
    return Buffer.from(`event: snapshot\ndata: ${JSON.stringify(this.#proxy.snapshot())}\n\n`)
  }

  #write(stream: Stream, frame: Buffer): void {
    if (stream.raw.destroyed) return
    stream.raw.write(frame)
    if (stream.raw.writableLength > this.#maxBufferedBytes) stream.raw.destroy()
  }

  #ensureRunning(): void {
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.tick(), this.#intervalMs)
      this.#timer.unref()
    }
    this.#unsubscribe ??= this.#timeline.subscribe((entry) => {
      const frame = Buffer.from(`event: timeline\ndata: ${JSON.stringify(entry)}\n\n`)
      for (const stream of this.#streams) this.#write(stream, frame)
    })
  }

  #stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  #remove(stream: Stream): void {
    if (!this.#streams.delete(stream)) return
    const count = (this.#perClient.get(stream.client) ?? 1) - 1
    if (count <= 0) this.#perClient.delete(stream.client)
    else this.#perClient.set(stream.client, count)
    if (this.#streams.size === 0) this.#stop()
  }
}
