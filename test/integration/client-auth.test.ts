/**
 * Client keys on /rpc against real nodes (two anvils, one bcoin regtest): 401 without a known
 * key, 403 outside a client's chains or method groups, each shaped for JSON-RPC 1.0 and 2.0
 * clients, single and batch; the three ways to present a key, including the basic-auth password
 * a bitcoind client (bcoin's own `bcurl` JSON-RPC client here) sends; per-client metrics; and no
 * key in any log line, metric or reply.
 */
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Wallet } from 'ethers'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { createProxy } from '../../src/index.js'
import type { Proxy } from '../../src/proxy.js'
import { buildApp } from '../../src/server/build-app.js'
import { keyDigest } from '../../src/server/client-auth.js'
import { ClientGate } from '../../src/server/client-gate.js'
import { recordFigure } from '../support/figures.js'

// bcoin's JSON-RPC client (a dependency of the bcoin devDependency): it sends what bitcoind
// clients send, `{ method, params, id }` with basic auth, and reads 401s and errors its own way.
const require = createRequire(import.meta.url)
const { Client: BcurlClient } = require('bcurl') as { Client: new (options: Record<string, unknown>) => { execute(path: string, method: string, params: unknown[]): Promise<unknown> } }

const DEPOSITS_KEY = 'deposits-key-9f8e7d6c5b4a'
const WITHDRAWALS_KEY = 'withdrawals-key-1a2b3c4d5e6f'
const BTC_KEY = 'btc-reader-key-0011223344'
const WRONG_KEY = 'not-a-configured-key-777'
const KEY_ENV = 'SWITCHYARD_TEST_DEPOSITS_KEY'

let anvils: AnvilNode[] = []
let bcoin: BcoinNode
let proxy: Proxy
let app: FastifyInstance
let baseUrl: string
const logLines: string[] = []
/** `request:complete` events: one per call that reached dispatch (none for a refused request). */
const completed: Array<{ method: string; client: string | undefined }> = []

beforeAll(async () => {
  ;[anvils, bcoin] = await Promise.all([Promise.all([startAnvil({ id: 'eth-a', noMining: true }), startAnvil({ id: 'eth-b', noMining: true })]), startBcoin({ id: 'btc-a' })])
  await bcoin.generate(3)
  // The deposits key comes from the environment, as `${ENV}` in a config file would bring it.
  process.env[KEY_ENV] = DEPOSITS_KEY
  try {
    proxy = createProxy({
      journal: { path: ':memory:' },
      log: { level: 'trace' },
      chains: {
        eth: { family: 'evm', chainId: 31337, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) },
        btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: bcoin.id, url: bcoin.url }] },
      },
      clients: [
        { name: 'deposits', key: `\${${KEY_ENV}}`, chains: ['eth', 'btc'], methods: ['read'] },
        { name: 'withdrawals', keyHash: keyDigest(WITHDRAWALS_KEY), methods: ['read', 'broadcast'] },
        { name: 'btc-reader', key: BTC_KEY, chains: ['btc'], methods: ['read'] },
      ],
    })
  } finally {
    delete process.env[KEY_ENV]
  }
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  app = buildApp(proxy, { logger: { level: 'trace', stream } })
  proxy.events.on('request:complete', (event) => completed.push({ method: event.method, client: event.client }))
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  await proxy.start()
}, 60_000)

afterAll(async () => {
  await app?.close()
  await proxy?.close()
  await Promise.all([...anvils.map((anvil) => anvil.stop()), bcoin?.stop()])
})

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: any
}

async function rpc(chain: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await request(`${baseUrl}/rpc/${chain}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: text === '' ? undefined : JSON.parse(text) }
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const basic = (user: string, key: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}` })
const call2 = (method: string, id: number | string = 1, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params })
const call1 = (method: string, id: number | string = 1, params: unknown[] = []) => ({ method, params, id })

function bcurl(key: string, user = 'bitcoinrpc') {
  const port = Number(new URL(baseUrl).port)
  return new BcurlClient({ host: '127.0.0.1', port, path: '/rpc/btc', username: user, password: key, timeout: 10_000 })
}

describe('401: clients are configured and the request has no known key', () => {
  test.each<[string, Record<string, string>]>([
    ['no credentials', {}],
    ['an unknown Bearer key', bearer(WRONG_KEY)],
    ['an unknown x-api-key', { 'x-api-key': WRONG_KEY }],
    ['an unknown basic-auth password', basic('bitcoinrpc', WRONG_KEY)],
  ])('%s → 401 with a JSON-RPC error for each client version; no node is asked', async (_name, headers) => {
    const before = completed.length
    const evm = await rpc('eth', call2('eth_blockNumber', 41), headers)
    expect(evm.status).toBe(401)
    expect(evm.headers['www-authenticate']).toEqual(['Bearer realm="switchyard"', 'Basic realm="switchyard", charset="UTF-8"'])
    expect(evm.headers['x-switchyard-node']).toBeUndefined()
    expect(evm.json).toEqual({ jsonrpc: '2.0', id: 41, error: { code: -32065, message: expect.stringMatching(/^Unauthorized: send a client key/), data: { code: 'SY_UNAUTHORIZED' } } })

    const legacy = await rpc('btc', call1('getblockcount', 'cli'), headers)
    expect(legacy.status).toBe(401)
    if (headers.authorization?.startsWith('Basic ') === true) {
      // A bitcoind client on a bitcoin chain gets Bitcoin Core's exact 401 (src/server/rpc-http.ts).
      expect(legacy.text).toBe('')
      expect(legacy.headers['www-authenticate']).toBe('Basic realm="jsonrpc"')
    } else {
      expect(legacy.json).toEqual({ result: null, error: expect.objectContaining({ code: -32065, data: { code: 'SY_UNAUTHORIZED' } }), id: 'cli' })
    }

    const batch = await rpc('eth', [call2('eth_blockNumber', 1), call2('eth_chainId', 2)], headers)
    expect(batch.status).toBe(401)
    expect(batch.json.map((reply: { id: number; error: { code: number } }) => [reply.id, reply.error.code])).toEqual([
      [1, -32065],
      [2, -32065],
    ])
    // An unknown chain is not revealed either.
    expect((await rpc('nope', call2('eth_blockNumber'), headers)).status).toBe(401)
    expect(completed.length).toBe(before)
  })

  test('a bitcoind-style client (bcurl, basic auth) with a wrong password reads it as bad credentials', async () => {
    await expect(bcurl(WRONG_KEY).execute('', 'getblockcount', [])).rejects.toThrow('Unauthorized (bad API key).')
  })
})

describe('a known key in any of its three forms reaches the real nodes', () => {
  test('Bearer and x-api-key on eth; the user name of basic auth is ignored', async () => {
    const height = `0x${(await anvils[0]!.blockNumber()).toString(16)}`
    for (const headers of [bearer(DEPOSITS_KEY), { 'x-api-key': DEPOSITS_KEY }, basic('anyone', DEPOSITS_KEY), basic('', WITHDRAWALS_KEY)]) {
      const reply = await rpc('eth', call2('eth_blockNumber', 'h'), headers)
      expect(reply.status).toBe(200)
      expect(reply.json).toEqual({ jsonrpc: '2.0', id: 'h', result: height })
      expect(anvils.map((anvil) => anvil.id)).toContain(reply.headers['x-switchyard-node'])
    }
  })

  test('bcurl (a bitcoind JSON-RPC client) with the key as its password reads bcoin through the proxy', async () => {
    expect(await bcurl(BTC_KEY).execute('', 'getblockcount', [])).toBe(await bcoin.height())
    expect(await bcurl(DEPOSITS_KEY, 'some-rpcuser').execute('', 'getblockhash', [0])).toBe(await bcoin.rpc('getblockhash', [0]))
  })

  test('calls carry the client name on request:complete (metrics, the journal), never the key', async () => {
    const before = completed.length
    await rpc('eth', call2('eth_blockNumber'), bearer(WITHDRAWALS_KEY))
    expect(completed.slice(before)).toEqual([{ method: 'eth_blockNumber', client: 'withdrawals' }])
  })
})

describe('403: outside the grant', () => {
  test('a chain the client may not use: the whole request, 2.0 and batch', async () => {
    const before = completed.length
    const single = await rpc('eth', call2('eth_blockNumber', 5), bearer(BTC_KEY))
    expect(single.status).toBe(403)
    expect(single.headers['www-authenticate']).toBeUndefined()
    expect(single.json).toEqual({ jsonrpc: '2.0', id: 5, error: { code: -32066, message: 'Forbidden: client "btc-reader" may not use chain "eth"', data: { code: 'SY_FORBIDDEN', client: 'btc-reader', chain: 'eth' } } })
    const batch = await rpc('eth', [call2('eth_blockNumber', 1), call2('eth_gasPrice', 2)], bearer(BTC_KEY))
    expect(batch.status).toBe(403)
    expect(batch.json).toHaveLength(2)
    expect(completed.length).toBe(before)
  })

  test('a broadcast by a read-only client: a single call is HTTP 403; 1.0 clients (bcurl) get the error with its code', async () => {
    const single = await rpc('eth', call2('eth_sendRawTransaction', 9, ['0x02']), bearer(DEPOSITS_KEY))
    expect(single.status).toBe(403)
    expect(single.json).toEqual({
      jsonrpc: '2.0',
      id: 9,
      error: { code: -32066, message: 'Forbidden: client "deposits" may not call broadcast methods (eth_sendRawTransaction)', data: { code: 'SY_FORBIDDEN', client: 'deposits', group: 'broadcast' } },
    })
    const legacy = await rpc('btc', call1('sendrawtransaction', 'tx', ['00']), basic('u', DEPOSITS_KEY))
    expect(legacy.status).toBe(403)
    expect(legacy.json).toEqual({ result: null, error: expect.objectContaining({ code: -32066, data: { code: 'SY_FORBIDDEN', client: 'deposits', group: 'broadcast' } }), id: 'tx' })
    await expect(bcurl(DEPOSITS_KEY).execute('', 'sendrawtransaction', ['00'])).rejects.toMatchObject({ code: -32066, message: expect.stringContaining('may not call broadcast methods') })
  })

  test('in a batch only the forbidden call gets 403; the others are answered by the nodes (HTTP 200)', async () => {
    const before = completed.length
    const reply = await rpc('eth', [call2('eth_blockNumber', 1), call2('eth_sendRawTransaction', 2, ['0x02']), call2('eth_chainId', 3)], bearer(DEPOSITS_KEY))
    expect(reply.status).toBe(200)
    expect(reply.json).toEqual([
      { jsonrpc: '2.0', id: 1, result: `0x${(await anvils[0]!.blockNumber()).toString(16)}` },
      { jsonrpc: '2.0', id: 2, error: expect.objectContaining({ code: -32066, data: expect.objectContaining({ code: 'SY_FORBIDDEN' }) }) },
      { jsonrpc: '2.0', id: 3, result: '0x7a69' },
    ])
    expect(completed.slice(before).map((event) => event.method).sort()).toEqual(['eth_blockNumber', 'eth_chainId'])
  })

  test('a client granted broadcasts passes the gate: an undecodable one is judged (-32602); a signed one is journaled under the client\'s name', async () => {
    const reply = await rpc('eth', call2('eth_sendRawTransaction', 1, ['0x02']), bearer(WITHDRAWALS_KEY))
    expect(reply.status).toBe(200)
    expect(reply.json.error).toMatchObject({ code: -32602, data: { code: 'SY_INVALID_PARAMS' } })

    // anvil's first dev account; the anvils keep it pending (no automining), so both hold it.
    const wallet = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
    const raw = await wallet.signTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 1n, gasLimit: 21_000n, nonce: 0, chainId: 31337n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, type: 2 })
    const sent = await rpc('eth', call2('eth_sendRawTransaction', 2, [raw]), bearer(WITHDRAWALS_KEY))
    expect(sent.status).toBe(200)
    expect(sent.json.result).toMatch(/^0x[0-9a-f]{64}$/)
    await proxy.drainBroadcasts('eth')
    const record = await proxy.broadcastStatus('eth', sent.json.result)
    expect(record?.client).toBe('withdrawals')
  })
})

describe('per-client metrics, and no key anywhere', () => {
  test('switchyard_client_requests_total and switchyard_client_refusals_total by client name', async () => {
    await rpc('btc', call1('getblockcount'), bearer(BTC_KEY))
    const text = await (await request(`${baseUrl}/metrics`)).body.text()
    const value = (series: string): number => {
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
      return line === undefined ? Number.NaN : Number(line.split(' ')[1])
    }
    expect(value('switchyard_client_requests_total{client="btc-reader",chain="btc",outcome="answer"}')).toBeGreaterThanOrEqual(2)
    expect(value('switchyard_client_requests_total{client="deposits",chain="eth",outcome="answer"}')).toBeGreaterThanOrEqual(3)
    expect(value('switchyard_client_requests_total{client="deposits",chain="eth",outcome="local"}')).toBeGreaterThanOrEqual(1)
    expect(value('switchyard_client_refusals_total{client="(unauthenticated)",reason="unauthorized"}')).toBeGreaterThanOrEqual(4 * 5)
    expect(value('switchyard_client_refusals_total{client="btc-reader",reason="forbidden"}')).toBe(3)
    expect(value('switchyard_client_refusals_total{client="deposits",reason="forbidden"}')).toBe(4)
    expect(value('switchyard_client_refusals_total{client="withdrawals",reason="rate-limited"}')).toBe(0)
    for (const key of [DEPOSITS_KEY, WITHDRAWALS_KEY, BTC_KEY, WRONG_KEY]) expect(text).not.toContain(key)
  })

  test('no key, in clear or in its basic-auth form, is in any log line (trace level) or reply', async () => {
    const replies: string[] = []
    for (const key of [DEPOSITS_KEY, WITHDRAWALS_KEY, BTC_KEY, WRONG_KEY]) {
      for (const headers of [bearer(key), { 'x-api-key': key }, basic('user', key)]) {
        replies.push((await rpc('eth', call2('eth_blockNumber'), headers)).text)
        replies.push((await rpc('btc', call1('getblockcount'), headers)).text)
        replies.push((await rpc('eth', '{not json', headers)).text)
        replies.push((await rpc('nope', call2('eth_blockNumber'), headers)).text)
      }
    }
    expect(logLines.length).toBeGreaterThan(0)
    const logged = logLines.join('\n')
    const answered = replies.join('\n')
    for (const key of [DEPOSITS_KEY, WITHDRAWALS_KEY, BTC_KEY, WRONG_KEY]) {
      for (const form of [key, Buffer.from(`user:${key}`).toString('base64'), keyDigest(key)]) {
        expect(logged).not.toContain(form)
        expect(answered).not.toContain(form)
      }
    }
    recordFigure('clients.logLinesCheckedForKeys', logLines.length)
  })
})

test('the gate costs little: key lookup + body parse per request, measured without HTTP', () => {
  const gate = new ClientGate(proxy)
  const body = JSON.stringify(call2('eth_getBalance', 1, ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest']))
  const rounds = 20_000
  let passed = 0
  const started = performance.now()
  for (let i = 0; i < rounds; i++) if (gate.admit(bearer(DEPOSITS_KEY), 'eth', body).pass) passed += 1
  const microsPerRequest = ((performance.now() - started) * 1000) / rounds
  expect(passed).toBe(rounds)
  recordFigure('clients.gateMicrosPerRequest', Math.round(microsPerRequest * 10) / 10)
})
