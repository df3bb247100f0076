/**
 * The Bitcoin Core reply table (README "Bitcoin Core's HTTP, as switchyard answers it"): every row
 * sent to real bcoin regtest nodes behind switchyard and compared, byte for byte where clients
 * care (status, Content-Type, members present), with what Core answers the same request
 * (src/httprpc.cpp, doc/JSON-RPC-interface.md; see ../shared/reference/broadcast-rpc-health.md §3.2).
 * Where bcoin differs from Core, switchyard follows Core except for 2.0 reply shapes, which follow
 * the nodes behind the chain (`replyStyle`). One fake node stands in for Core 28 (`getnetworkinfo`
 * version 280000), which no real node here runs.
 */
import { connect } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { type FakeNode, startFakeNode } from '../support/fake-node.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, jsonOrUndefined, startTestProxy } from '../support/test-proxy.js'

const KEY = 'core-http-client-key-0123456789'
/** bitcoin-cli's `-rpcuser=any -rpcpassword=<key>`. */
const BASIC = `Basic ${Buffer.from(`wallet:${KEY}`).toString('base64')}`
const HEIGHT = 3
const BITCOIN_REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'

let bcoins: BcoinNode[] = []
let core28: FakeNode
let sy: TestProxy

beforeAll(async () => {
  bcoins = await Promise.all(['core-a', 'core-b'].map((id) => startBcoin({ id })))
  const hashes = await bcoins[0]!.generate(HEIGHT)
  for (const hash of hashes) {
    const raw = await bcoins[0]!.rpc('getblock', [hash, false])
    await bcoins[1]!.rpc('submitblock', [raw])
  }
  core28 = await startFakeNode({ genesisHash: BITCOIN_REGTEST_GENESIS, height: HEIGHT, version: '1.0' })
  core28.on('getnetworkinfo', { result: { version: 280000, subversion: '/Satoshi:28.0.0/' } })
  core28.on('getblockcount', { result: HEIGHT })
  const nodes = bcoins.map((node) => ({ id: node.id, url: node.url }))
  sy = await startTestProxy({
    chains: {
      btc: { family: 'bitcoin', network: 'regtest', nodes },
      strict: { family: 'bitcoin', network: 'regtest', replyStyle: 'strict', nodes },
      core28: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'core28', url: core28.url }] },
    },
    clients: [{ name: 'wallet', key: KEY }],
  })
  await sy.probe()
}, 60_000)

afterAll(async () => {
  await sy?.close()
  await core28?.close()
  await Promise.all(bcoins.map((node) => node.stop()))
})

interface Sent {
  status: number
  contentType: string | undefined
  text: string
  json: unknown
  headers: Record<string, string | string[] | undefined>
}

async function post(path: string, body: string, authorization: string | null = BASIC): Promise<Sent> {
  const response = await request(`${sy.baseUrl}${path}`, {
    method: 'POST',
    // bitcoin-cli sends no Content-Type worth trusting (text/plain from some clients): it must not matter.
    headers: { 'content-type': 'text/plain', ...(authorization === null ? {} : { authorization }) },
    body,
  })
  const text = await response.body.text()
  const json = jsonOrUndefined(text)
  const contentType = response.headers['content-type']
  return { status: response.statusCode, contentType: typeof contentType === 'string' ? contentType : undefined, text, json, headers: response.headers }
}

const anyError = (code: number) => expect.objectContaining({ code, message: expect.any(String) })
const notFound = anyError(-32601)

/**
 * The table. `core` is what Bitcoin Core answers (status, body); switchyard must give the same
 * status and the same members. Legacy = what Core before 28 and bcoin send; 2.0 rows on `btc`
 * (bcoin pool, replyStyle auto) get the legacy shape, on `strict` / `core28` strict 2.0.
 */
const rows: Array<{ name: string; path: string; body: string; status: number; reply: unknown }> = [
  { name: '1.0: no jsonrpc, number id → result, error: null, id', path: '/rpc/btc', body: '{"method":"getblockcount","params":[],"id":1}', status: 200, reply: { result: HEIGHT, error: null, id: 1 } },
  { name: '"jsonrpc": "1.0", string id (bitcoin-cli)', path: '/rpc/btc', body: '{"jsonrpc":"1.0","id":"curltest","method":"getblockcount","params":[]}', status: 200, reply: { result: HEIGHT, error: null, id: 'curltest' } },
  { name: '"jsonrpc": "1.1", id null', path: '/rpc/btc', body: '{"jsonrpc":"1.1","id":null,"method":"getblockcount"}', status: 200, reply: { result: HEIGHT, error: null, id: null } },
  { name: '1.0 without id → answered, id null (no notifications in 1.0)', path: '/rpc/btc', body: '{"method":"getblockcount","params":[]}', status: 200, reply: { result: HEIGHT, error: null, id: null } },
  { name: '1.0 method not found → 404', path: '/rpc/btc', body: '{"method":"stop","params":[],"id":2}', status: 404, reply: { result: null, error: notFound, id: 2 } },
  { name: '1.0 node error (height out of range) → 500', path: '/rpc/btc', body: '{"method":"getblockhash","params":[99999],"id":3}', status: 500, reply: { result: null, error: anyError(-8), id: 3 } },
  { name: '1.0 invalid request (method not a string) → 400', path: '/rpc/btc', body: '{"method":7,"id":4}', status: 400, reply: { result: null, error: anyError(-32600), id: 4 } },
  { name: '2.0 on a pre-28 pool (bcoin) → legacy shape, 200', path: '/rpc/btc', body: '{"jsonrpc":"2.0","method":"getblockcount","id":5}', status: 200, reply: { result: HEIGHT, error: null, id: 5 } },
  { name: '2.0 error on a pre-28 pool → legacy shape, 200', path: '/rpc/btc', body: '{"jsonrpc":"2.0","method":"stop","id":6}', status: 200, reply: { result: null, error: notFound, id: 6 } },
  { name: '2.0 strict → only result, 200', path: '/rpc/strict', body: '{"jsonrpc":"2.0","method":"getblockcount","id":"s"}', status: 200, reply: { jsonrpc: '2.0', result: HEIGHT, id: 's' } },
  { name: '2.0 strict method not found → 200 with error (Core 28+)', path: '/rpc/strict', body: '{"jsonrpc":"2.0","method":"stop","id":7}', status: 200, reply: { jsonrpc: '2.0', error: notFound, id: 7 } },
  { name: '2.0 strict node error → 200 with error (Core 28+)', path: '/rpc/strict', body: '{"jsonrpc":"2.0","method":"getblockhash","params":[99999],"id":8}', status: 200, reply: { jsonrpc: '2.0', error: anyError(-8), id: 8 } },
  { name: '2.0 auto over a Core 28 node → strict', path: '/rpc/core28', body: '{"jsonrpc":"2.0","method":"getblockcount","id":9}', status: 200, reply: { jsonrpc: '2.0', result: HEIGHT, id: 9 } },
  {
    name: 'batch mixing 1.0 and 2.0 (strict): each reply in its own version, notification omitted, 200',
    path: '/rpc/strict',
    body: '[{"method":"getblockcount","id":1},{"jsonrpc":"2.0","method":"getblockcount","id":"b"},{"jsonrpc":"2.0","method":"getblockcount"},{"method":"stop","id":2}]',
    status: 200,
    reply: [
      { result: HEIGHT, error: null, id: 1 },
      { jsonrpc: '2.0', result: HEIGHT, id: 'b' },
      { result: null, error: notFound, id: 2 },
    ],
  },
  {
    name: "python-bitcoinrpc batch_ (2.0 entries) over bcoin nodes: every reply carries `error`",
    path: '/rpc/btc',
    body: '[{"jsonrpc":"2.0","method":"getblockcount","params":[],"id":1},{"jsonrpc":"2.0","method":"getblockhash","params":[0],"id":2}]',
    status: 200,
    reply: [
      { result: HEIGHT, error: null, id: 1 },
      { result: BITCOIN_REGTEST_GENESIS, error: null, id: 2 },
    ],
  },
  { name: 'only notifications → 204, empty body', path: '/rpc/strict', body: '[{"jsonrpc":"2.0","method":"getblockcount"}]', status: 204, reply: undefined },
  { name: 'trailing slash (bitcoin-core npm client) is the chain', path: '/rpc/btc/', body: '{"method":"getblockcount","params":[],"id":10}', status: 200, reply: { result: HEIGHT, error: null, id: 10 } },
  { name: '1.0 to /wallet/<name> → -18, 500 (wallet RPC not served)', path: '/rpc/btc/wallet/hot', body: '{"method":"getbalance","params":[],"id":11}', status: 500, reply: { result: null, error: anyError(-18), id: 11 } },
  { name: '2.0 to /wallet/<name> (strict) → -18, 200', path: '/rpc/strict/wallet/hot', body: '{"jsonrpc":"2.0","method":"getblockcount","id":12}', status: 200, reply: { jsonrpc: '2.0', error: anyError(-18), id: 12 } },
]

describe('Bitcoin Core reply table, against bcoin nodes behind switchyard', () => {
  test.each(rows)('$name', async ({ path, body, status, reply }) => {
    const sent = await post(path, body)
    expect(sent.status).toBe(status)
    if (reply === undefined) {
      expect(sent.text).toBe('')
      return
    }
    // Exactly Core's header: python-bitcoinrpc compares it with `!=`.
    expect(sent.contentType).toBe('application/json')
    expect(sent.json).toStrictEqual(reply)
  })

  test('the learned styles: bcoin nodes are legacy, a Core 28 node strict', () => {
    expect(sy.proxy.replyStyle('btc')).toBe('legacy')
    expect(sy.proxy.replyStyle('strict')).toBe('strict')
    expect(sy.proxy.replyStyle('core28')).toBe('strict')
    recordFigure('core-http.tableRows', rows.length)
  })

  test('python-bitcoinrpc batch_ reads every reply as it does (error is not None → raise; else result)', async () => {
    // Its AuthServiceProxy.batch_, step by step: 2.0 entries, Content-Type must be application/json, then
    // `response['error']` of each (KeyError when missing), then `'result' in response`.
    const sent = await post('/rpc/btc', JSON.stringify([{ jsonrpc: '2.0', method: 'getblockcount', params: [], id: 1 }, { jsonrpc: '2.0', method: 'getbestblockhash', params: [], id: 2 }]))
    expect(sent.contentType).toBe('application/json')
    const results = (sent.json as Array<Record<string, unknown>>).map((response) => {
      if (!Object.hasOwn(response, 'error')) throw new Error("KeyError: 'error'")
      if (response.error !== null) throw new Error(`JSONRPCException ${JSON.stringify(response.error)}`)
      if (!Object.hasOwn(response, 'result')) throw new Error('missing JSON-RPC result')
      return response.result
    })
    expect(results).toEqual([HEIGHT, await bcoins[0]!.rpc('getbestblockhash')])
  })
})

describe('authorization, as Core answers it', () => {
  test.each([
    { name: 'wrong rpcpassword (basic auth) → 401, empty body, WWW-Authenticate: Basic realm="jsonrpc"', authorization: `Basic ${Buffer.from('wallet:wrong-password-000000000').toString('base64')}` },
    { name: 'basic auth without a password → same', authorization: `Basic ${Buffer.from('wallet:').toString('base64')}` },
  ])('$name', async ({ authorization }) => {
    const sent = await post('/rpc/btc', '{"method":"getblockcount","params":[],"id":1}', authorization)
    expect(sent.status).toBe(401)
    expect(sent.text).toBe('')
    expect(sent.headers['www-authenticate']).toBe('Basic realm="jsonrpc"')
  })

  test('no Authorization at all → 401 with a JSON-RPC error naming the schemes (not Core: it says what to send)', async () => {
    const sent = await post('/rpc/btc', '{"method":"getblockcount","params":[],"id":1}', null)
    expect(sent.status).toBe(401)
    expect(sent.json).toStrictEqual({ result: null, error: anyError(-32065), id: 1 })
    expect(sent.headers['www-authenticate']).toEqual(['Bearer realm="switchyard"', 'Basic realm="switchyard", charset="UTF-8"'])
  })

  test('the wallet path checks the key first, as Core does', async () => {
    const sent = await post('/rpc/btc/wallet/hot', '{"method":"getbalance","params":[],"id":1}', `Basic ${Buffer.from('x:nope-nope-nope-nope').toString('base64')}`)
    expect(sent.status).toBe(401)
    expect(sent.text).toBe('')
  })
})

describe('paths that are not POST /rpc/<chain>', () => {
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await request(`${sy.baseUrl}${path}`, { method: 'GET', headers })
    return { status: response.statusCode, allow: response.headers.allow, json: (await response.body.json()) as { error: { code: number; message: string } } }
  }

  test('GET on an existing chain → 405 with Allow: POST (never unknown chain)', async () => {
    const answer = await get('/rpc/btc')
    expect(answer.status).toBe(405)
    expect(answer.allow).toContain('POST')
    expect(answer.json.error.message).toContain('POST')
    expect(answer.json.error.code).not.toBe(-32053)
  })

  test('GET below a chain → 405, Allow: POST, Core\'s "handles only POST requests"', async () => {
    const answer = await get('/rpc/btc/wallet/hot')
    expect(answer.status).toBe(405)
    expect(answer.allow).toBe('POST')
    expect(answer.json.error.message).toContain('JSON-RPC server handles only POST requests')
  })

  test('a WebSocket upgrade on a POST-only path says where WebSocket is served', async () => {
    const { status, headers, body } = await rawRequest(sy.baseUrl, [
      'GET /rpc/btc/wallet/hot HTTP/1.1',
      'Host: 127.0.0.1',
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ])
    expect(status).toBe(405)
    expect(headers.allow).toBe('POST')
    expect(JSON.parse(body).error.message).toMatch(/WebSocket is not served at \/rpc\/btc\/wallet\/hot: connect to \/rpc\/btc/)
  })

  test('a chain that does not exist is still SY_UNKNOWN_CHAIN', async () => {
    const sent = await post('/rpc/nope', '{"method":"getblockcount","id":1}')
    expect(sent.status).toBe(404)
    expect((sent.json as { error: { code: number } }).error.code).toBe(-32053)
  })
})

/** One raw HTTP/1.1 request (undici refuses Upgrade headers), read until the server closes or the body is complete. */
async function rawRequest(baseUrl: string, lines: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(baseUrl)
  const socket = connect(Number(port), hostname)
  socket.write(`${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`)
  let text = ''
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve())
    socket.once('error', reject)
  })
  const [head = '', body = ''] = text.split('\r\n\r\n')
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}
