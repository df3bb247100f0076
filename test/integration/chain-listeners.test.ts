/**
 * Per-chain listeners (`chains.<name>.listen`) and `server.defaultChain`, over real sockets in
 * front of a real bcoin node: a host:port client (bitcoin-cli, the `bitcoin-core` npm client)
 * needs only the port; the listener has the main app's keys, shapes, drain and close; the CLI
 * opens it after the main port and closes it on SIGTERM.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { createProxy } from '../../src/index.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'
import { type ChainListeners, startChainListeners } from '../../src/server/chain-listeners.js'
import { appShutdownSteps } from '../../src/server/graceful-shutdown.js'
import { recordFigure } from '../support/figures.js'
import { type SwitchyardProcess, startSwitchyard } from '../support/switchyard-process.js'

const KEY = 'listener-client-key-0123456789ab'
const basic = (password: string): string => `Basic ${Buffer.from(`rpcuser:${password}`).toString('base64')}`

let bcoin: BcoinNode
let height: number

beforeAll(async () => {
  bcoin = await startBcoin({ id: 'listener-btc' })
  await bcoin.generate(2)
  height = await bcoin.height()
}, 60_000)

afterAll(async () => {
  await bcoin?.stop()
})

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: text === '' ? undefined : (JSON.parse(text) as unknown) }
}

describe('in process: a listener beside the main app', () => {
  let proxy: Proxy
  let app: FastifyInstance
  let listeners: ChainListeners
  let main: string
  let own: string

  beforeAll(async () => {
    proxy = createProxy({
      log: { level: 'silent' },
      journal: { path: ':memory:' },
      server: { defaultChain: 'btc' },
      chains: {
        btc: { family: 'bitcoin', network: 'regtest', listen: { host: '127.0.0.1', port: 0 }, nodes: [{ id: bcoin.id, url: bcoin.url }] },
      },
      clients: [{ name: 'wallet', key: KEY }],
    })
    await proxy.probe('btc')
    app = buildApp(proxy)
    main = await app.listen({ host: '127.0.0.1', port: 0 })
    listeners = await startChainListeners(proxy)
    own = listeners.urlOf('btc')!
  })

  afterAll(async () => {
    await app?.close()
    await listeners?.close()
    await proxy?.close()
  })

  test('the listener serves the chain at / with the client key as rpcpassword, as bitcoind does', async () => {
    expect(own).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(own).not.toBe(main)
    const sent = await post(`${own}/`, '{"jsonrpc":"1.0","id":"cli","method":"getblockcount","params":[]}', { authorization: basic(KEY) })
    expect(sent.status).toBe(200)
    expect(sent.headers['content-type']).toBe('application/json')
    expect(sent.headers['x-switchyard-node']).toBe(bcoin.id)
    expect(sent.json).toStrictEqual({ result: height, error: null, id: 'cli' })
  })

  test('the listener takes WebSocket JSON-RPC at / too, with the same key', async () => {
    const socket = new WebSocket(`${own.replace('http', 'ws')}/`, { headers: { authorization: basic(KEY) } })
    const answer = new Promise<string>((resolve, reject) => {
      socket.once('message', (data) => resolve(data.toString()))
      socket.once('error', reject)
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    socket.send('{"jsonrpc":"2.0","id":7,"method":"getblockcount","params":[]}')
    expect(JSON.parse(await answer)).toMatchObject({ result: height, id: 7 })
    socket.close()
    // Without the key the upgrade is refused before any WebSocket exists.
    const refused = new WebSocket(`${own.replace('http', 'ws')}/`)
    const status = await new Promise<number | undefined>((resolve) => refused.once('unexpected-response', (_request, response) => resolve(response.statusCode)))
    expect(status).toBe(401)
    refused.on('error', () => undefined)
    refused.terminate()
  })

  test('a wrong rpcpassword gets Core\'s 401 on the listener too', async () => {
    const sent = await post(`${own}/`, '{"method":"getblockcount","params":[],"id":1}', { authorization: basic('not-the-key-000000') })
    expect(sent.status).toBe(401)
    expect(sent.text).toBe('')
    expect(sent.headers['www-authenticate']).toBe('Basic realm="jsonrpc"')
  })

  test('/wallet/<name> on the listener → -18, HTTP 500 for a 1.0 client', async () => {
    const sent = await post(`${own}/wallet/hot`, '{"method":"getbalance","params":[],"id":2}', { authorization: basic(KEY) })
    expect(sent.status).toBe(500)
    expect(sent.json).toStrictEqual({ result: null, error: expect.objectContaining({ code: -18, message: expect.stringContaining('wallet RPC is not served') }), id: 2 })
  })

  test('GET on the listener → 405 Allow: POST; another POST path → 404 naming /', async () => {
    const got = await request(`${own}/`, { method: 'GET' })
    expect(got.statusCode).toBe(405)
    expect(got.headers.allow).toBe('POST')
    expect(((await got.body.json()) as { error: { message: string } }).error.message).toContain('JSON-RPC server handles only POST requests')
    const elsewhere = await post(`${own}/rpc/btc`, '{"method":"getblockcount","id":3}', { authorization: basic(KEY) })
    expect(elsewhere.status).toBe(404)
    expect((elsewhere.json as { error: { message: string } }).error.message).toContain('served at POST /')
  })

  test('server.defaultChain answers POST / on the main port', async () => {
    const sent = await post(`${main}/`, '{"method":"getblockcount","params":[],"id":4}', { authorization: basic(KEY) })
    expect(sent.status).toBe(200)
    expect(sent.json).toStrictEqual({ result: height, error: null, id: 4 })
  })

  test('draining: the listener says Connection: close, then closes with the main app', async () => {
    const steps = appShutdownSteps(app, proxy, listeners)
    steps.beginDrain()
    const during = await post(`${own}/`, '{"method":"getblockcount","params":[],"id":5}', { authorization: basic(KEY) })
    expect(during.status).toBe(200)
    expect(during.headers.connection).toBe('close')
    await steps.closeListener()
    expect(await connectOutcome(own)).toBe('ECONNREFUSED')
    expect(await connectOutcome(main)).toBe('ECONNREFUSED')
  })
})

describe('the CLI', () => {
  let instance: SwitchyardProcess | undefined

  afterAll(async () => {
    await instance?.kill()
  })

  test('opens chains.<name>.listen after the main port, serves bitcoind clients there, and closes it on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-listeners-'))
    const configFile = join(dir, 'switchyard.yaml')
    await writeFile(
      configFile,
      `server: { port: 0 }
log: { level: info }
journal: { path: "${join(dir, 'journal.sqlite')}" }
shutdown: { graceMs: 0, drainMs: 5000 }
chains:
  btc:
    family: bitcoin
    network: regtest
    listen: { port: 0 }
    nodes:
      - { id: ${bcoin.id}, url: "${bcoin.url}" }
`,
    )
    instance = startSwitchyard(configFile)
    const line = await instance.waitForLog(/chain btc at \//)
    const url = /on (http:\/\/[^:]+:\d+)/.exec(line.msg)![1]!
    // No clients configured: the listener is open, like the main port.
    let answered = 0
    for (const id of [1, 2, 3]) {
      const sent = await post(`${url}/`, `{"method":"getblockcount","params":[],"id":${id}}`)
      expect(sent.json).toStrictEqual({ result: height, error: null, id })
      answered += 1
    }
    recordFigure('chain-listeners.cliCallsAnswered', answered)
    instance.child.kill('SIGTERM')
    expect(await instance.exit).toBe(0)
    expect(await connectOutcome(url)).toBe('ECONNREFUSED')
  }, 60_000)
})

/** A fresh TCP connection to `url` (no pooled socket): 'connected' or the error code. */
async function connectOutcome(url: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => {
      socket.destroy()
      resolve('connected')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

describe('config', () => {
  const chain = (listen?: { port: number }) => ({ family: 'bitcoin', network: 'regtest', ...(listen === undefined ? {} : { listen }), nodes: [{ id: 'a', url: 'http://127.0.0.1:1' }] })
  test.each([
    { name: 'a defaultChain that is not a chain', config: { server: { defaultChain: 'ltc' }, chains: { btc: chain() } }, problem: /server\.defaultChain: no chain named "ltc"/ },
    { name: 'a listener on the main port', config: { server: { port: 8545 }, chains: { btc: chain({ port: 8545 }) } }, problem: /chains\.btc\.listen\.port: port 8545 is already server\.port's/ },
    { name: 'two listeners on one port', config: { chains: { btc: chain({ port: 18332 }), tbtc: chain({ port: 18332 }) } }, problem: /chains\.tbtc\.listen\.port: port 18332 is already chains\.btc\.listen's/ },
  ])('refused: $name', ({ config, problem }) => {
    expect(() => createProxy({ journal: { path: ':memory:' }, ...config } as never)).toThrow(problem)
  })
})
