/**
 * The WebSocket endpoint `ws://…/rpc/<chain>` against real anvils (one chain: same genesis,
 * deterministic `mine()`), with the `ws` client and ethers v6 `WebSocketProvider`: calls, batches
 * and a broadcast over one socket; keys, grants and rate limits shared with HTTP; subscriptions
 * (newHeads, logs, switchyard_subscribe blocks) and their bound; a client that stops reading; a
 * peer that does not answer pings; draining; and every head delivered in order while the node
 * serving them is killed.
 */
import { type Socket, createConnection } from 'node:net'
import { Wallet, WebSocketProvider } from 'ethers'
import WebSocket from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { startBcoin } from '../../src/devnet/bcoin.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import type { ProxyConfigInput } from '../../src/config/schema.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' // anvil dev account 0
const recipient = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const call = (method: string, id: number | string, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params })
const hex = (n: number): string => `0x${n.toString(16)}`

/** A raw WebSocket client that keeps every frame and lets a test wait for one. */
class RpcSocket {
  readonly frames: any[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  #waiters: Array<() => void> = []

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()))
      for (const wake of this.#waiters.splice(0)) wake()
    })
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    void this.closed.then(() => {
      for (const wake of this.#waiters.splice(0)) wake()
    })
  }

  static open(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<RpcSocket> {
    const socket = new WebSocket(url, { headers, ...options })
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new RpcSocket(socket)))
      socket.once('unexpected-response', (_request, response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk.toString()))
        response.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode, headers: response.headers, body: body === '' ? undefined : JSON.parse(body) })))
      })
      socket.once('error', reject)
    })
  }

  send(body: unknown): void {
    this.socket.send(typeof body === 'string' ? body : JSON.stringify(body))
  }

  /** The first frame (from now or already received) matching `match`. */
  async next(match: (frame: any) => boolean): Promise<any> {
    for (;;) {
      const found = this.frames.find(match)
      if (found !== undefined) return found
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting for a frame')
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  async call(method: string, params: unknown[] = [], id: number | string = `${method}-${this.frames.length}-${Math.random()}`): Promise<any> {
    this.send(call(method, id, params))
    return this.next((frame) => !Array.isArray(frame) && frame.id === id)
  }

  notifications(subscription: string): any[] {
    return this.frames.filter((frame) => frame.params?.subscription === subscription).map((frame) => frame.params.result)
  }

  close(): void {
    this.socket.terminate()
  }
}

/** The upgrade's refusal (status and JSON-RPC body), or throws if the upgrade succeeded. */
async function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  try {
    const socket = await RpcSocket.open(url, headers)
    socket.close()
  } catch (error) {
    const refusal = error as { status?: number; headers: Record<string, unknown>; body: any }
    if (refusal.status !== undefined) return refusal as { status: number; headers: Record<string, unknown>; body: any }
    throw error
  }
  throw new Error('the upgrade was accepted')
}

let anvils: AnvilNode[] = []
let harness: TestProxy | undefined
const sockets: RpcSocket[] = []
const providers: WebSocketProvider[] = []

beforeAll(async () => {
  anvils = await Promise.all(['ws-a', 'ws-b', 'ws-c'].map((id) => startAnvil({ id, noMining: true })))
})
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close()
  await Promise.all(providers.splice(0).map((provider) => provider.destroy()))
  await harness?.close()
  harness = undefined
})
afterAll(async () => {
  await Promise.all(anvils.map((anvil) => anvil.stop()))
})

const evmChain = (nodes: AnvilNode[] = anvils) => ({ family: 'evm' as const, chainId: 31337, nodes: nodes.map((anvil) => ({ id: anvil.id, url: anvil.url })) })

async function start(config: Partial<ProxyConfigInput> = {}, autoProbe = false): Promise<{ harness: TestProxy; wsUrl: (chain?: string) => string }> {
  harness = await startTestProxy({ chains: { eth: evmChain() }, ...config } as ProxyConfigInput, { autoProbe })
  if (!autoProbe) await harness.probe()
  const base = harness.baseUrl.replace(/^http/, 'ws')
  return { harness, wsUrl: (chain = 'eth') => `${base}/rpc/${chain}` }
}

async function open(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<RpcSocket> {
  const socket = await RpcSocket.open(url, headers, options)
  sockets.push(socket)
  return socket
}

/** Mines `blocks` on every live anvil (identical blocks: one chain). */
async function mine(blocks: number, nodes: AnvilNode[] = anvils): Promise<void> {
  await Promise.all(nodes.map((anvil) => anvil.mine(blocks)))
}

describe('calls over one socket', () => {
  test('single calls, batches (notifications unanswered, invalid entries answered), forbidden methods, and a broadcast through the broadcast path', async () => {
    const { harness, wsUrl } = await start()
    const socket = await open(wsUrl())
    const height = await anvils[0]!.blockNumber()

    expect(await socket.call('eth_blockNumber', [], 1)).toEqual({ jsonrpc: '2.0', id: 1, result: hex(height) })
    expect(await socket.call('eth_chainId', [], 'c')).toEqual({ jsonrpc: '2.0', id: 'c', result: '0x7a69' })
    const forbidden = await socket.call('anvil_mine', [1], 2)
    expect(forbidden.error.code).toBe(-32601)

    socket.send([call('eth_blockNumber', 10), { jsonrpc: '2.0', method: 'eth_blockNumber' }, { jsonrpc: '2.0', id: 11 }, call('eth_getBlockByNumber', 12, ['0x0', false])])
    const batch = await socket.next((frame) => Array.isArray(frame))
    expect(batch.map((reply: any) => reply.id)).toEqual([10, 11, 12])
    expect(batch[0].result).toBe(hex(height))
    expect(batch[1].error.code).toBe(-32600)
    expect(batch[2].result.number).toBe('0x0')

    socket.send('{not json')
    expect((await socket.next((frame) => frame.error?.code === -32700)).id).toBeNull()

    // A broadcast goes through the broadcast path: journaled, and sent to every node.
    const raw = await new Wallet(DEV_KEY).signTransaction({ to: recipient, value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
    const sent = await socket.call('eth_sendRawTransaction', [raw], 'tx')
    expect(sent.result).toMatch(/^0x[0-9a-f]{64}$/)
    const record = await harness.proxy.broadcastStatus('eth', sent.result)
    expect(record?.txid).toBe(sent.result)
    for (const anvil of anvils) expect(await anvil.rpc('eth_getTransactionByHash', [sent.result])).toMatchObject({ hash: sent.result })
    await mine(1)

    // A plain GET on the WebSocket path says what to do instead of "unknown chain".
    const get = await fetch(`${harness.baseUrl}/rpc/eth`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect(((await get.json()) as any).error.data.code).not.toBe('SY_UNKNOWN_CHAIN')
  })

  test('an unknown chain is refused at the upgrade with 404 SY_UNKNOWN_CHAIN', async () => {
    const { wsUrl } = await start()
    const refusal = await refusedUpgrade(wsUrl('nope'))
    expect(refusal.status).toBe(404)
    expect(refusal.body.error.data.code).toBe('SY_UNKNOWN_CHAIN')
  })
})

describe('client keys, grants and rate limits, as on HTTP', () => {
  const READER = 'reader-key-aaaaaaaaaaaaa'
  const FULL = 'full-key-bbbbbbbbbbbbbbbb'
  const OTHER = 'other-key-cccccccccccccc'
  const LIMITED = 'limited-key-dddddddddddd'

  test('the upgrade is refused 401 without a known key, 403 for a chain outside the grant; method groups are checked per message', async () => {
    const { wsUrl } = await start({
      chains: { eth: evmChain(), eth2: evmChain([anvils[0]!]) },
      clients: [
        { name: 'reader', key: READER, methods: ['read'] },
        { name: 'full', key: FULL },
        { name: 'other', key: OTHER, chains: ['eth2'] },
      ],
    })
    const missing = await refusedUpgrade(wsUrl())
    expect(missing.status).toBe(401)
    expect(missing.headers['www-authenticate']).toBeDefined()
    expect(missing.body.error.data.code).toBe('SY_UNAUTHORIZED')
    expect((await refusedUpgrade(wsUrl(), { authorization: 'Bearer wrong-key-xxxxxxxxxxxx' })).status).toBe(401)
    const outside = await refusedUpgrade(wsUrl(), { 'x-api-key': OTHER })
    expect(outside.status).toBe(403)
    expect(outside.body.error.data.code).toBe('SY_FORBIDDEN')

    // Basic auth (the password is the key) works as on HTTP.
    const basic = await open(wsUrl('eth2'), { authorization: `Basic ${Buffer.from(`any:${OTHER}`).toString('base64')}` })
    expect((await basic.call('eth_chainId', [], 1)).result).toBe('0x7a69')

    const reader = await open(wsUrl(), { authorization: `Bearer ${READER}` })
    expect((await reader.call('eth_blockNumber', [], 1)).result).toMatch(/^0x/)
    const subscribe = await reader.call('eth_subscribe', ['newHeads'], 2)
    expect(subscribe.error.data).toMatchObject({ code: 'SY_FORBIDDEN', group: 'subscriptions' })
    const blocks = await reader.call('switchyard_subscribe', ['blocks'], 3)
    expect(blocks.error.data).toMatchObject({ code: 'SY_FORBIDDEN', group: 'subscriptions' })
    const send = await reader.call('eth_sendRawTransaction', ['0x00'], 4)
    expect(send.error.data).toMatchObject({ code: 'SY_FORBIDDEN', group: 'broadcast' })
    // A refused call does not end the connection.
    expect((await reader.call('eth_chainId', [], 5)).result).toBe('0x7a69')

    const full = await open(wsUrl(), { 'x-api-key': FULL })
    expect((await full.call('eth_subscribe', ['newHeads'], 1)).result).toMatch(/^0x[0-9a-f]{32}$/)
  })

  test('HTTP and WebSocket calls of one client draw from the same rate-limit bucket', async () => {
    const { harness, wsUrl } = await start({ clients: [{ name: 'limited', key: LIMITED, rateLimit: { perSecond: 0.001, burst: 3 } }] })
    const headers = { authorization: `Bearer ${LIMITED}` }
    expect((await harness.rpc('eth', call('eth_blockNumber', 1), headers)).status).toBe(200)
    const socket = await open(wsUrl(), headers)
    expect((await socket.call('eth_blockNumber', [], 2)).result).toMatch(/^0x/)
    expect((await socket.call('eth_blockNumber', [], 3)).result).toMatch(/^0x/)
    const over = await socket.call('eth_blockNumber', [], 4)
    expect(over.error.data.code).toBe('SY_RATE_LIMITED')
    expect((await harness.rpc('eth', call('eth_blockNumber', 5), headers)).status).toBe(429)
    expect(socket.socket.readyState).toBe(WebSocket.OPEN)
  })
})

describe('subscriptions', () => {
  test('newHeads delivers each new header once; ids are unguessable; the per-connection bound holds; unsubscribe frees a slot; logs and blocks subscribe; newPendingTransactions with full transactions is refused clearly', async () => {
    const { harness, wsUrl } = await start({ server: { ws: { maxSubscriptionsPerConnection: 2 } } })
    const socket = await open(wsUrl())
    const first = await socket.call('eth_subscribe', ['newHeads'], 1)
    const second = await socket.call('eth_subscribe', ['newHeads'], 2)
    expect(first.result).toMatch(/^0x[0-9a-f]{32}$/)
    expect(second.result).toMatch(/^0x[0-9a-f]{32}$/)
    expect(second.result).not.toBe(first.result)
    const third = await socket.call('eth_subscribe', ['newHeads'], 3)
    expect(third.error).toMatchObject({ code: -32075, data: { code: 'SY_TOO_MANY_SUBSCRIPTIONS', limit: 2 } })

    const before = await anvils[0]!.blockNumber()
    await mine(2)
    await harness.probe()
    const expected = [before + 1, before + 2]
    await waitFor(() => socket.notifications(first.result).length >= 2 && socket.notifications(second.result).length >= 2, { what: 'two heads on both subscriptions' })
    for (const id of [first.result, second.result]) {
      const heads = socket.notifications(id)
      expect(heads.map((header: any) => Number(header.number))).toEqual(expected)
      for (const header of heads) expect(header.hash).toBe(((await anvils[1]!.rpc('eth_getBlockByNumber', [header.number, false])) as { hash: string }).hash)
    }
    const notification = socket.frames.find((frame) => frame.params?.subscription === first.result)
    expect(notification).toMatchObject({ jsonrpc: '2.0', method: 'eth_subscription' })
    expect(notification.id).toBeUndefined()

    expect((await socket.call('eth_unsubscribe', [first.result], 4)).result).toBe(true)
    expect((await socket.call('eth_unsubscribe', [first.result], 5)).result).toBe(false)
    const logs = await socket.call('eth_subscribe', ['logs', { address: recipient }], 6)
    expect(logs.result).toMatch(/^0x[0-9a-f]{32}$/)
    expect((await socket.call('eth_unsubscribe', [logs.result], 7)).result).toBe(true)
    const pending = await socket.call('eth_subscribe', ['newPendingTransactions', true], 8)
    expect(pending.error.code).toBe(-32602)
    expect(pending.error.message).toMatch(/only transaction hashes are served/)
    expect((await socket.call('eth_subscribe', ['syncing'], 9)).error.code).toBe(-32602)
    const blocks = await socket.call('switchyard_subscribe', ['blocks'], 10)
    expect(blocks.result).toMatch(/^0x[0-9a-f]{32}$/)

    // After the unsubscribe, only the second subscription and the blocks one get the next head.
    const frames = socket.frames.length
    await mine(1)
    await harness.probe()
    await waitFor(() => socket.notifications(second.result).length >= 3 && socket.notifications(blocks.result).length >= 1, { what: 'the next head' })
    expect(socket.notifications(first.result)).toHaveLength(2)
    const block = socket.notifications(blocks.result)[0]
    expect(block).toMatchObject({ type: 'block', height: before + 3 })
    expect(block.hash).toBe(socket.notifications(second.result)[2].hash)
    expect(socket.frames.length).toBeGreaterThan(frames)
  })
})

describe('bounds', () => {
  test('a client that stops reading is closed with 1008 "slow consumer" once its unread bytes pass server.ws.maxBufferedBytes', async () => {
    const maxBufferedBytes = 256 * 1024
    const { harness, wsUrl } = await start({ server: { ws: { maxBufferedBytes } } })
    // A block holding a transaction with 100 kB of calldata (gas: the EIP-7623 floor, 40 per byte): each read of it is a ~200 kB reply.
    const wallet = new Wallet(DEV_KEY)
    const nonce = Number(await anvils[0]!.rpc('eth_getTransactionCount', [wallet.address, 'latest']))
    const raw = await wallet.signTransaction({ to: recipient, data: `0x${'ab'.repeat(100_000)}`, gasLimit: 5_000_000n, nonce, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
    await Promise.all(anvils.map((anvil) => anvil.rpc('eth_sendRawTransaction', [raw])))
    await mine(1)
    await harness.probe()
    const big = hex(await anvils[0]!.blockNumber())
    expect(((await anvils[0]!.rpc('eth_getBlockByNumber', [big, true])) as { transactions: unknown[] }).transactions).toHaveLength(1)

    const socket = await open(wsUrl())
    let completed = 0
    harness.proxy.events.on('request:complete', () => (completed += 1))
    const serverSide = [...harness.app.websocketServer.clients][0]!
    socket.socket.pause() // the client stops reading; the kernel buffers fill, then switchyard's
    let sent = 0
    while (serverSide.readyState === WebSocket.OPEN) {
      if (sent >= 2_000) throw new Error(`never cut after ${sent} large replies`)
      const done = completed
      socket.send(call('eth_getBlockByNumber', sent, [big, true]))
      sent += 1
      await waitFor(() => completed > done || serverSide.readyState !== WebSocket.OPEN, { what: 'the call answered' })
    }
    socket.socket.resume()
    const closed = await socket.closed
    expect(closed.code).toBe(1008)
    expect(closed.reason).toMatch(/slow consumer/)
    const answered = socket.frames.filter((frame) => typeof frame.id === 'number').length
    expect(answered).toBeLessThan(sent)
    recordFigure('ws.slowConsumer.callsSentBeforeCut', sent)
    recordFigure('ws.slowConsumer.repliesReadAfterResume', answered)
    // The server stays up for everyone else.
    const other = await open(wsUrl())
    expect((await other.call('eth_chainId', [], 1)).result).toBe('0x7a69')
  })

  test('a peer that does not answer pings is closed with 1008 "no pong"; one that answers stays', async () => {
    const { wsUrl } = await start({ server: { ws: { pingIntervalMs: 300 } } })
    const silent = await open(wsUrl(), {}, { autoPong: false })
    const answering = await open(wsUrl())
    let pings = 0
    answering.socket.on('ping', () => (pings += 1))
    const closed = await silent.closed
    expect(closed).toEqual({ code: 1008, reason: expect.stringMatching(/no pong/) })
    await waitFor(() => pings >= 3, { timeoutMs: 30_000, what: 'three pings answered' })
    expect(answering.socket.readyState).toBe(WebSocket.OPEN)
    expect((await answering.call('eth_chainId', [], 1)).result).toBe('0x7a69')
  })

  test('upgrades past server.ws.maxConnections are refused 503 SY_OVERLOADED; a closed one frees its slot', async () => {
    const { wsUrl } = await start({ server: { ws: { maxConnections: 2 } } })
    const a = await open(wsUrl())
    await open(wsUrl())
    const refusal = await refusedUpgrade(wsUrl())
    expect(refusal.status).toBe(503)
    expect(refusal.body.error.data.code).toBe('SY_OVERLOADED')
    a.close()
    await a.closed
    await waitFor(async () => {
      try {
        await open(wsUrl())
        return true
      } catch {
        return false
      }
    }, { what: 'a slot after a close' })
  })
})

describe('connection slots', () => {
  test('an open WebSocket is never evicted for a new connection at server.maxConnections: silent sockets are', async () => {
    const { harness, wsUrl } = await start({ server: { maxConnections: 2 } })
    const socket = await open(wsUrl())
    const { port } = new URL(harness.baseUrl)
    const connect = () =>
      new Promise<Socket>((resolve, reject) => {
        const raw = createConnection({ host: '127.0.0.1', port: Number(port) }, () => resolve(raw))
        raw.once('error', reject)
      })
    const silent = await connect()
    const silentClosed = new Promise((resolve) => silent.once('close', resolve))
    const newer = await connect() // at the cap: takes a slot from a socket doing nothing, not from the WebSocket
    await silentClosed
    expect((await socket.call('eth_chainId', [], 1)).result).toBe('0x7a69')
    newer.destroy()
  })
})

describe('bitcoin: switchyard_subscribe blocks', () => {
  test('each new block of the pool head as { type: "block", height, hash, parentHash, header }; eth_subscribe is not a bitcoin method', async () => {
    const node = await startBcoin({ id: 'ws-btc' })
    try {
      harness = await startTestProxy({ chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: node.id, url: node.url }] } } })
      await harness.probe()
      const socket = await open(`${harness.baseUrl.replace(/^http/, 'ws')}/rpc/btc`)
      expect((await socket.call('eth_subscribe', ['newHeads'], 1)).error.code).toBe(-32601)
      const subscription = (await socket.call('switchyard_subscribe', ['blocks'], 2)).result
      expect(subscription).toMatch(/^0x[0-9a-f]{32}$/)
      const before = Number(await node.rpc('getblockcount'))
      await node.generate(2)
      await harness.probe()
      await waitFor(() => socket.notifications(subscription).length >= 2, { what: 'two blocks' })
      const blocks = socket.notifications(subscription)
      expect(blocks.map((block: any) => block.height)).toEqual([before + 1, before + 2])
      for (const block of blocks) {
        expect(block.type).toBe('block')
        expect(block.hash).toBe(await node.rpc('getblockhash', [block.height]))
      }
      expect(blocks[1].parentHash).toBe(blocks[0].hash)
      expect(socket.frames.find((frame) => frame.params?.subscription === subscription).method).toBe('switchyard_subscription')
      expect((await socket.call('switchyard_unsubscribe', [subscription], 3)).result).toBe(true)
    } finally {
      await harness?.close()
      harness = undefined
      await node.stop()
    }
  })
})

describe('draining', () => {
  test('while draining new upgrades get 503 and open sockets keep working; at listener close they get 1001 "server shutting down" after their calls are answered', async () => {
    const { harness, wsUrl } = await start()
    const socket = await open(wsUrl())
    harness.proxy.beginDrain()
    const refusal = await refusedUpgrade(wsUrl())
    expect(refusal.status).toBe(503)
    expect(refusal.body.error.data.code).toBe('SY_SHUTTING_DOWN')
    expect((await socket.call('eth_chainId', [], 1)).result).toBe('0x7a69')

    // A call held in flight (its nodes frozen) while the listener closes: answered, then 1001.
    for (const anvil of anvils) anvil.signal('SIGSTOP')
    let closing: Promise<void> | undefined
    try {
      socket.send(call('eth_getBlockByNumber', 2, ['0x0', false]))
      // In flight (nodes frozen), or, should the server have answered already, answered.
      await waitFor(() => harness.app.switchyardWebSocket!.stats().inFlight > 0 || socket.frames.some((frame) => frame.id === 2), { what: 'the call received' })
      recordFigure('ws.drain.callInFlightAtClose', String(harness.app.switchyardWebSocket!.stats().inFlight > 0))
      closing = harness.app.close()
    } finally {
      for (const anvil of anvils) anvil.signal('SIGCONT')
    }
    const closed = await socket.closed
    await closing
    expect(closed).toEqual({ code: 1001, reason: 'server shutting down' })
    expect(socket.frames.find((frame) => frame.id === 2)).toMatchObject({ id: 2, result: { number: '0x0' } })
    expect(harness.app.switchyardWebSocket!.stats().open).toBe(0)
  })
})

describe('ethers v6 WebSocketProvider', () => {
  test("provider.on('block') delivers every head in order while the node serving them is killed", async () => {
    // Nodes of their own: one is killed.
    const own = await Promise.all(['ethers-a', 'ethers-b', 'ethers-c'].map((id) => startAnvil({ id, noMining: true })))
    try {
      harness = await startTestProxy({ chains: { eth: { ...evmChain(own), health: { intervalMs: 100 } } } } as ProxyConfigInput, { autoProbe: true })
      const provider = new WebSocketProvider(`${harness.baseUrl.replace(/^http/, 'ws')}/rpc/eth`, 31337, { staticNetwork: true })
      providers.push(provider)
      const seen: number[] = []
      await provider.on('block', (height: number) => seen.push(height))
      const start = await own[0]!.blockNumber()
      // The subscription is in place once a mined block arrives.
      await mine(1, own)
      await waitFor(() => seen.includes(start + 1), { timeoutMs: 30_000, what: 'the first head' })

      let live = own
      for (let round = 0; round < 3; round += 1) await step()
      // The node the router picks for reads now (the streams' header fetches go through the router).
      const served = await harness.rpc('eth', call('eth_getBlockByNumber', 1, ['latest', false]))
      const victim = own.find((anvil) => anvil.id === served.node)!
      expect(victim).toBeDefined()
      victim.signal('SIGKILL')
      live = own.filter((anvil) => anvil !== victim)
      for (let round = 0; round < 5; round += 1) await step()
      const last = await live[0]!.blockNumber()
      await waitFor(() => seen.includes(last), { timeoutMs: 30_000, what: `head ${last}` })
      const expected = Array.from({ length: last - start }, (_, i) => start + 1 + i)
      expect(seen).toEqual(expected)
      recordFigure('ws.ethers.headsDeliveredAcrossKill', seen.length)

      async function step(): Promise<void> {
        await mine(2, live)
      }
    } finally {
      await Promise.all(own.map((anvil) => anvil.stop()))
    }
  })
})
