import { type IncomingMessage, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import type { HeadWatcher } from '../../src/chain-adapter.js'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { RECONNECT_BASE_MS, RECONNECT_CAP_MS, type ReconnectTimers, nextReconnectDelayMs, watchNewHeads } from './heads-subscription.js'

describe('nextReconnectDelayMs', () => {
  test.each<{ attempt: number; random: number; delayMs: number }>([
    { attempt: 0, random: 0, delayMs: 0 },
    { attempt: 0, random: 0.5, delayMs: 125 },
    { attempt: 0, random: 0.999, delayMs: 249 },
    { attempt: 1, random: 0.5, delayMs: 250 },
    { attempt: 2, random: 0.5, delayMs: 500 },
    { attempt: 3, random: 0.5, delayMs: 1_000 },
    { attempt: 6, random: 0.5, delayMs: 8_000 },
    // 250 × 2^7 = 32 s: capped at 30 s from here on.
    { attempt: 7, random: 0.5, delayMs: 15_000 },
    { attempt: 7, random: 0.999, delayMs: 29_970 },
    { attempt: 1_000, random: 0.999, delayMs: 29_970 },
    { attempt: Number.POSITIVE_INFINITY, random: 0.5, delayMs: 15_000 },
    // Out-of-range inputs are clamped, never a negative, NaN or over-cap delay.
    { attempt: -3, random: 0.5, delayMs: 125 },
    { attempt: Number.NaN, random: 0.5, delayMs: 125 },
    { attempt: 2.7, random: 0.5, delayMs: 500 },
    { attempt: 0, random: 1, delayMs: 249 },
    { attempt: 0, random: -1, delayMs: 0 },
  ])('attempt $attempt, random $random → $delayMs ms', ({ attempt, random, delayMs }) => {
    expect(nextReconnectDelayMs(attempt, random)).toBe(delayMs)
  })

  test('always within [0, min(cap, base × 2^attempt))', () => {
    for (let attempt = 0; attempt <= 40; attempt += 1) {
      const ceilingMs = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** attempt)
      for (const random of [0, 0.1, 0.5, 0.9, 0.999_999]) {
        const delayMs = nextReconnectDelayMs(attempt, random)
        expect(Number.isInteger(delayMs)).toBe(true)
        expect(delayMs).toBeGreaterThanOrEqual(0)
        expect(delayMs).toBeLessThan(ceilingMs)
      }
    }
  })
})

/**
 * The watcher's own timers, kept apart from every other timer in the process: `pending` holds the
 * handles it set and has not cleared (or that have not fired yet).
 */
function ownTimers(): ReconnectTimers & { pending: Set<NodeJS.Timeout>; created: number } {
  const pending = new Set<NodeJS.Timeout>()
  const timers = {
    pending,
    created: 0,
    setTimeout: (callback: () => void, delayMs: number) => {
      timers.created += 1
      const handle = setTimeout(() => {
        pending.delete(handle)
        callback()
      }, delayMs)
      pending.add(handle)
      return handle
    },
    clearTimeout: (handle: unknown) => {
      pending.delete(handle as NodeJS.Timeout)
      clearTimeout(handle as NodeJS.Timeout)
    },
  }
  return timers
}

describe('watchNewHeads against a real anvil', () => {
  let anvil: AnvilNode | undefined
  let watcher: HeadWatcher | undefined
  afterEach(async () => {
    watcher?.close()
    watcher = undefined
    await stopAll([anvil])
    anvil = undefined
  })

  const watch = (node: AnvilNode, random = 0.5, timers?: ReconnectTimers) => {
    const heights: number[] = []
    const statuses: string[] = []
    watcher = watchNewHeads(
      { nodeId: node.id, url: node.wsUrl, random: () => random, timers },
      {
        onHeight: (height) => heights.push(height),
        onStatus: (status, detail) => statuses.push(detail === undefined ? status : `${status}: ${detail}`),
      },
    )
    return { heights, statuses }
  }

  test('reports each mined block, and reconnects and resubscribes by itself after a restart', async () => {
    anvil = await startAnvil({ id: 'ws-a' })
    const { heights, statuses } = watch(anvil)
    await waitFor(() => statuses.includes('connected'), { what: 'subscription' })
    await anvil.mine(1)
    await anvil.mine(1)
    await waitFor(() => heights.includes(2), { what: 'height 2' })
    expect(heights).toEqual([1, 2])

    await anvil.restart() // same port, fresh chain
    await waitFor(() => statuses.filter((status) => status === 'connected').length === 2, { what: 'reconnection', timeoutMs: 15_000 })
    await anvil.mine(3)
    await waitFor(() => heights.at(-1) === 3, { what: 'height 3 after the restart' })

    expect(statuses).toHaveLength(3)
    expect(statuses[0]).toBe('connected')
    expect(statuses[1]).toMatch(/^disconnected: newHeads subscription to ws-a lost \(close code \d+\)$/)
    expect(statuses[2]).toBe('connected')
    expect(statuses.join('\n')).not.toContain(String(anvil.port))
  })

  test('close() while a reconnect is pending leaves no timer behind', async () => {
    anvil = await startAnvil({ id: 'ws-b' })
    const timers = ownTimers()
    const { statuses } = watch(anvil, 0.99, timers)
    await waitFor(() => statuses.includes('connected'), { what: 'subscription' })
    // Subscribed and idle: the watcher has no timer now.
    expect(timers.pending.size).toBe(0)
    await anvil.stop()
    // The node is gone: the watcher now waits out its backoff between refused reconnects.
    await waitFor(() => timers.pending.size === 1, { what: 'a pending reconnect' })
    const created = timers.created
    watcher?.close()
    expect(timers.pending.size).toBe(0)
    // Nothing re-arms after close, however long the test lingers.
    await new Promise((resolve) => setImmediate(resolve))
    expect(timers.created).toBe(created)
    expect(statuses).toEqual(['connected', expect.stringMatching(/^disconnected: /)])
  })
})

describe('watchNewHeads connection details', () => {
  test('credentials in the URL travel as basic auth, not in the URL; path and query are kept', async () => {
    const upgrades: IncomingMessage[] = []
    // Captures the WebSocket upgrade request and refuses it: the watcher never gets connected.
    const server = createServer()
    server.on('upgrade', (request: IncomingMessage, socket) => {
      upgrades.push(request)
      socket.destroy()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const statuses: string[] = []
    const watcher = watchNewHeads(
      { nodeId: 'secret', url: `ws://us%40er:p%3Ass@127.0.0.1:${port}/v1/key-123?x=1#frag` },
      { onHeight: () => undefined, onStatus: (status) => statuses.push(status) },
    )
    try {
      await waitFor(() => upgrades.length > 0, { what: 'upgrade request' })
      const request = upgrades[0]!
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`)
      expect(request.url).toBe('/v1/key-123?x=1')
      expect(request.headers.host).toBe(`127.0.0.1:${port}`)
      expect(statuses).toEqual([])
    } finally {
      watcher.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
