import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, test } from 'vitest'
import type { CredentialSource } from '../chain-adapter.js'
import { waitFor } from '../devnet/wait-for.js'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'
import { LARGE_REQUEST_BYTES, NodeClient, interpret, interpretBatch, stallThresholdMs } from './node-client.js'
import { CancelSignal } from '../util/call-signal.js'
import { ReplyBudget, ReplyHold } from './reply-budget.js'

describe('interpret (body first, status second)', () => {
  test.each<{ name: string; status: number; text: string; expected: unknown }>([
    { name: '2.0 result', status: 200, text: '{"jsonrpc":"2.0","id":7,"result":"0x1"}', expected: { ok: true, answer: { result: '0x1' } } },
    { name: 'node error with 200', status: 200, text: '{"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"execution reverted"}}', expected: { ok: true, answer: { error: { code: -32000, message: 'execution reverted' } } } },
    { name: 'bitcoind legacy error on HTTP 500 is an answer', status: 500, text: '{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":7}', expected: { ok: true, answer: { error: { code: -8, message: 'Block height out of range' } } } },
    { name: 'bitcoind legacy -32601 on HTTP 404 is an answer', status: 404, text: '{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":7}', expected: { ok: true, answer: { error: { code: -32601, message: 'Method not found' } } } },
    { name: 'id as string is accepted', status: 200, text: '{"result":1,"error":null,"id":"7"}', expected: { ok: true, answer: { result: 1 } } },
    { name: 'result null is a result', status: 200, text: '{"jsonrpc":"2.0","id":7,"result":null}', expected: { ok: true, answer: { result: null } } },
  ])('$name', ({ status, text, expected }) => {
    expect(interpret('n1', 7, status, text)).toEqual(expected)
  })

  test.each<{ name: string; status: number; text: string; kind: string }>([
    { name: '503 work queue (plain text)', status: 503, text: 'Work queue depth exceeded', kind: 'http-status' },
    { name: '429 even with a JSON-RPC body', status: 429, text: '{"jsonrpc":"2.0","id":7,"error":{"code":-32005,"message":"rate limited"}}', kind: 'http-status' },
    { name: '502 gateway', status: 502, text: '<html>bad gateway</html>', kind: 'http-status' },
    { name: '401 auth', status: 401, text: '', kind: 'http-status' },
    { name: '500 without JSON', status: 500, text: 'oops', kind: 'http-status' },
    { name: '200 garbage', status: 200, text: 'not json', kind: 'bad-response' },
    { name: '200 JSON but not JSON-RPC', status: 200, text: '{"hello":1}', kind: 'bad-response' },
    { name: 'wrong id', status: 200, text: '{"jsonrpc":"2.0","id":8,"result":1}', kind: 'bad-response' },
    { name: 'error object without code', status: 200, text: '{"jsonrpc":"2.0","id":7,"error":{"message":"x"}}', kind: 'bad-response' },
    { name: 'array reply to a single call', status: 200, text: '[{"jsonrpc":"2.0","id":7,"result":1}]', kind: 'bad-response' },
    { name: 'id null with an error: a verdict on the request (anvil on a huge body)', status: 200, text: '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}', kind: 'request-rejected' },
    { name: '413 without a JSON-RPC body', status: 413, text: 'request entity too large', kind: 'request-rejected' },
    { name: '400 without a JSON-RPC body', status: 400, text: '', kind: 'request-rejected' },
    { name: '414 / 431', status: 431, text: '<html>headers too large</html>', kind: 'request-rejected' },
    { name: 'id null with a result is still not ours', status: 200, text: '{"jsonrpc":"2.0","id":null,"result":1}', kind: 'bad-response' },
  ])('$name → $kind failure', ({ status, text, kind }) => {
    const outcome = interpret('n1', 7, status, text)
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.failure.kind).toBe(kind)
  })
})

describe('interpretBatch (a probe batch of 3 calls, ids 7–9)', () => {
  test('replies in any order, ids echoed as numbers or strings, node errors included, come back in call order', () => {
    const text = '[{"jsonrpc":"2.0","id":9,"result":false},{"jsonrpc":"2.0","id":"7","result":"0x7a69"},{"jsonrpc":"2.0","id":8,"error":{"code":-32000,"message":"x"}}]'
    expect(interpretBatch('n1', 7, 3, 200, text)).toEqual({ ok: true, answers: [{ result: '0x7a69' }, { error: { code: -32000, message: 'x' } }, { result: false }] })
  })

  test.each<{ name: string; status: number; text: string; kind: string; refused: boolean }>([
    { name: 'a single error object (batches not supported)', status: 200, text: '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch not supported"}}', kind: 'bad-response', refused: true },
    { name: 'HTTP 400 without JSON', status: 400, text: 'bad request', kind: 'http-status', refused: true },
    { name: 'HTTP 404 (a path that is not the node)', status: 404, text: 'not found', kind: 'http-status', refused: true },
    { name: 'HTTP 503 is the node unavailable, not a refusal', status: 503, text: 'busy', kind: 'http-status', refused: false },
    { name: 'HTTP 401', status: 401, text: '', kind: 'http-status', refused: false },
    { name: 'HTTP 500 with a JSON object', status: 500, text: '{"error":"boom"}', kind: 'http-status', refused: false },
    { name: 'garbage on 200', status: 200, text: '<html>', kind: 'bad-response', refused: false },
    { name: 'an array missing a reply', status: 200, text: '[{"jsonrpc":"2.0","id":7,"result":1},{"jsonrpc":"2.0","id":8,"result":2}]', kind: 'bad-response', refused: false },
    { name: 'an array with another id', status: 200, text: '[{"id":7,"result":1},{"id":8,"result":2},{"id":10,"result":3}]', kind: 'bad-response', refused: false },
  ])('$name → $kind failure, refused: $refused', ({ status, text, kind, refused }) => {
    const outcome = interpretBatch('n1', 7, 3, status, text)
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.failure.kind).toBe(kind)
    expect(outcome.refused === true).toBe(refused)
  })
})

describe('NodeClient against a real HTTP server', () => {
  let node: FakeNode | undefined
  afterEach(async () => {
    await node?.close()
    node = undefined
  })

  test('sends basic auth from the URL and never leaks the URL in failures', async () => {
    node = await startFakeNode()
    node.on('probe_auth', () => ({ result: 'ok' }))
    const client = new NodeClient({ nodeId: 'n1', url: `http://user:s3cret@127.0.0.1:${node.port}/path?key=APIKEY`, version: '2.0' })
    const outcome = await client.call({ method: 'probe_auth', params: [] }, { timeoutMs: 2_000 })
    expect(outcome).toMatchObject({ ok: true, answer: { result: 'ok' } })
    expect(node.authorizations[0]).toBe(`Basic ${Buffer.from('user:s3cret').toString('base64')}`)
    node.queue({ status: 503, body: 'Work queue depth exceeded' })
    const failed = await client.call({ method: 'x', params: [] }, { timeoutMs: 2_000 })
    expect(failed.ok).toBe(false)
    expect(JSON.stringify(failed)).not.toMatch(/s3cret|APIKEY|127\.0\.0\.1|path/)
    await client.close()
  })

  test('username/password fields become basic auth', async () => {
    node = await startFakeNode()
    node.on('ping', { result: 'pong' })
    const withFields = new NodeClient({ nodeId: 'n1', url: node.url, username: 'rpc', password: 'p#ss:w@rd', version: '1.0' })
    await withFields.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })
    expect(node.authorizations.at(-1)).toBe(`Basic ${Buffer.from('rpc:p#ss:w@rd').toString('base64')}`)
    await withFields.close()
  })

  test("a family's credential source is read before the first call and again after a 401", async () => {
    node = await startFakeNode()
    node.on('ping', { result: 'pong' })
    // Stands in for a bitcoind cookie file (chains/bitcoin/bitcoin-cookie.ts): a new value after a node restart.
    let current = 'Basic Zmlyc3Q='
    let reads = 0
    const credentials: CredentialSource = {
      authorization: async () => {
        reads += 1
        return current
      },
    }
    const client = new NodeClient({ nodeId: 'n2', url: node.url, credentials, version: '1.0' })
    await client.loadCredentials()
    await client.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })
    await client.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })
    expect(node.authorizations.slice(-2)).toEqual(['Basic Zmlyc3Q=', 'Basic Zmlyc3Q='])
    expect(reads).toBe(1)
    // The node restarted with new credentials: the 401 makes the client ask the source again.
    current = 'Basic c2Vjb25k'
    node.queue({ status: 401 })
    expect(await client.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: false, failure: { kind: 'http-status' } })
    await waitFor(
      async () => {
        const outcome = await client.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })
        return outcome.ok && node!.authorizations.at(-1) === 'Basic c2Vjb25k'
      },
      { what: 'the new credentials in use' },
    )
    expect(reads).toBe(2)
    await client.close()
  })

  test('a credential source that throws after a 401 leaves the client answering (the next 401 tries again)', async () => {
    node = await startFakeNode()
    node.on('ping', { result: 'pong' })
    let reads = 0
    const credentials: CredentialSource = {
      authorization: async () => {
        reads += 1
        if (reads > 1) throw new Error('cookie file unreadable')
        return 'Basic b2s='
      },
    }
    const client = new NodeClient({ nodeId: 'n3', url: node.url, credentials, version: '1.0' })
    await client.loadCredentials()
    node.queue({ status: 401 })
    expect((await client.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })).ok).toBe(false)
    await waitFor(() => reads === 2, { what: 'the failed re-read' })
    // The old value stays in use until a read succeeds.
    expect(await client.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: true })
    expect(node.authorizations.at(-1)).toBe('Basic b2s=')
    node.queue({ status: 401 })
    expect((await client.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })).ok).toBe(false)
    await waitFor(() => reads === 3, { what: 'another re-read after the next 401' })
    await client.close()
  })

  test('times out a hanging node', async () => {
    node = await startFakeNode()
    node.queue({ hang: true })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    const outcome = await client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 100 })
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'timeout', message: 'node n1 did not answer within 100 ms' } })
    await client.close()
  })

  test('connection refused is a connect failure naming only the node id', async () => {
    node = await startFakeNode()
    const port = node.port
    await node.close()
    node = undefined
    const client = new NodeClient({ nodeId: 'gone', url: `http://u:p@127.0.0.1:${port}/`, version: '1.0' })
    const outcome = await client.call({ method: 'getblockcount', params: [] }, { timeoutMs: 2_000 })
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'connect', message: 'node gone connection failed: ECONNREFUSED' } })
    await client.close()
  })

  test('a client opens its connection pool at its first call; one closed before any call sends nothing and fails like a closed pool', async () => {
    node = await startFakeNode()
    const unused = new NodeClient({ nodeId: 'lane', url: node.url, version: '2.0' })
    await unused.close()
    expect(await unused.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: false, failure: { kind: 'connect', message: 'node lane connection failed: UND_ERR_DESTROYED' } })
    expect(node.calls).toEqual([])
    const used = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    expect(await used.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: true })
    await used.close()
    expect(await used.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: false, failure: { kind: 'connect', message: 'node n1 connection failed: UND_ERR_DESTROYED' } })
    expect(node.calls).toEqual(['eth_blockNumber'])
  })

  test('an outer abort is reported as aborted, not as a node failure', async () => {
    node = await startFakeNode()
    node.queue({ hang: true })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    const controller = new AbortController()
    const pending = client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 5_000, signal: controller.signal })
    controller.abort()
    expect(await pending).toMatchObject({ ok: false, failure: { kind: 'aborted' } })
    await client.close()
  })
})

describe('what switchyard itself causes is not charged to the node', () => {
  let node: FakeNode | undefined
  let server: Server | undefined
  afterEach(async () => {
    await node?.close()
    node = undefined
    server?.closeAllConnections()
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())))
    server = undefined
  })

  test('a call waiting for a connection slot starts its timeout only when it gets one', async () => {
    node = await startFakeNode()
    node.queue({ hang: true })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0', connections: 1 })
    const first = client.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 300 })
    // Queued behind `first` for its whole 300 ms: a timer started now would fire long before.
    const second = client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 100 })
    expect(client.activeCalls).toBe(1)
    expect(await first).toMatchObject({ ok: false, failure: { kind: 'timeout' } })
    expect(await second).toMatchObject({ ok: true, answer: { result: '0x64' } })
    await client.close()
  })

  test('a call aborted while waiting for a slot never reaches the node', async () => {
    node = await startFakeNode()
    node.queue({ hang: true })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0', connections: 1 })
    const first = client.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 200 })
    const controller = new AbortController()
    const waiting = client.call({ method: 'eth_gasPrice', params: [] }, { timeoutMs: 5_000, signal: controller.signal })
    controller.abort()
    expect(await waiting).toMatchObject({ ok: false, failure: { kind: 'aborted' } })
    await first
    expect(node.calls).not.toContain('eth_gasPrice')
    await client.close()
  })

  test('a timer that fires late because the event loop was blocked reports a stalled timeout', async () => {
    node = await startFakeNode()
    node.queue({ hang: true })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    const pending = client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 50 })
    // Once the call is out (its 50 ms timer armed), block this thread well past the timer's due
    // time plus the stall threshold (100 ms). Timers run in due order, so this runs first.
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        const until = performance.now() + 400
        while (performance.now() < until) {
          // busy: this is the stall being simulated
        }
        resolve()
      }, 5),
    )
    expect(await pending).toMatchObject({ ok: false, failure: { kind: 'timeout', stalled: true } })
    await client.close()
  })

  test('a reply that arrived while the event loop was blocked is still read, not timed out', async () => {
    // The node runs in its own process, so it answers while this one is blocked.
    const child = spawn(process.execPath, ['-e', CHILD_NODE], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const lines = createInterface({ input: child.stdout! })
      const iterator = lines[Symbol.asyncIterator]()
      const port = Number((await iterator.next()).value)
      const client = new NodeClient({ nodeId: 'n1', url: `http://127.0.0.1:${port}/`, version: '2.0' })
      // Warm the connection so the timed call goes out at once.
      expect(await client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 5_000 })).toMatchObject({ ok: true })
      await iterator.next()
      const pending = client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 50 })
      // The node says it got the call (and answers 20 ms later); this process then stalls 600 ms.
      await iterator.next()
      const until = performance.now() + 600
      while (performance.now() < until) {
        // busy: the stall being simulated
      }
      expect(await pending).toMatchObject({ ok: true, answer: { result: '0x1' } })
      await client.close()
    } finally {
      child.kill()
    }
  })

  test('stallThresholdMs: 100 ms, or a tenth of longer timeouts', () => {
    expect(stallThresholdMs(300)).toBe(100)
    expect(stallThresholdMs(10_000)).toBe(1_000)
  })

  test('a reply declared larger than maxReplyBytes is refused before it is read', async () => {
    node = await startFakeNode()
    node.on('eth_getLogs', { result: 'x'.repeat(10_000) })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0', maxReplyBytes: 1_000 })
    expect(await client.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 2_000 })).toMatchObject({
      ok: false,
      failure: { kind: 'reply-too-large', message: 'node n1 reply of 10036+ bytes exceeds the limit of 1000 bytes' },
    })
    // The connection is usable afterwards.
    expect(await client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: true })
    await client.close()
  })

  test('a streamed (chunked) reply is cut at maxReplyBytes', async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"jsonrpc":"2.0","id":1,"result":"')
      response.write('y'.repeat(5_000))
      response.end('"}')
    })
    const port = await listen(server)
    const client = new NodeClient({ nodeId: 'n1', url: `http://127.0.0.1:${port}/`, version: '2.0', maxReplyBytes: 1_000 })
    expect(await client.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: false, failure: { kind: 'reply-too-large' } })
    await client.close()
  })

  test('the shared reply budget: a reply that does not fit is `overloaded`; bytes are released when calls end', async () => {
    node = await startFakeNode()
    node.on('eth_getLogs', { result: 'z'.repeat(3_000) })
    const budget = new ReplyBudget(5_000)
    const a = new NodeClient({ nodeId: 'a', url: node.url, version: '2.0', replyBudget: budget })
    const b = new NodeClient({ nodeId: 'b', url: node.url, version: '2.0', replyBudget: budget })
    // Hold 3 000 bytes of the budget as if a reply were being read.
    expect(budget.tryReserve(3_000)).toBe(true)
    expect(await a.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: false, failure: { kind: 'overloaded' } })
    budget.release(3_000)
    expect(await b.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: true })
    expect(budget.usedBytes).toBe(0)
    expect(budget.peakBytes).toBeGreaterThanOrEqual(3_036)
    await Promise.all([a.close(), b.close()])
  })

  test('with a ReplyHold on its request signal, reply bytes stay reserved until the hold is released', async () => {
    node = await startFakeNode()
    node.on('eth_getLogs', { result: 'z'.repeat(3_000) })
    const budget = new ReplyBudget(5_000)
    const client = new NodeClient({ nodeId: 'a', url: node.url, version: '2.0', replyBudget: budget })
    const hold = new ReplyHold()
    const request = { signal: new CancelSignal(hold) }
    expect(await client.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 2_000, signal: request.signal })).toMatchObject({ ok: true })
    const held = budget.usedBytes
    expect(held).toBeGreaterThanOrEqual(3_000)
    // The answer is still being written to the client: a second one does not fit yet.
    expect(await client.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 2_000 })).toMatchObject({ ok: false, failure: { kind: 'overloaded' } })
    hold.release()
    expect(budget.usedBytes).toBe(0)
    // Work that outlives its request (a background send) releases at once.
    expect(await client.call({ method: 'eth_getLogs', params: [] }, { timeoutMs: 2_000, signal: request.signal })).toMatchObject({ ok: true })
    expect(budget.usedBytes).toBe(0)
    await client.close()
  })

  test('a socket closed while a large request body is sent is a request rejection, not a dead node', async () => {
    // Reads a little of each request, then hangs up (anvil does this with bodies over ~1.5 MB).
    server = createServer((request) => {
      request.once('data', () => request.socket.destroy())
    })
    const port = await listen(server)
    const client = new NodeClient({ nodeId: 'n1', url: `http://127.0.0.1:${port}/`, version: '2.0' })
    const big = await client.call({ method: 'eth_call', params: [{ data: `0x${'ab'.repeat(LARGE_REQUEST_BYTES)}` }, 'latest'] }, { timeoutMs: 5_000 })
    expect(big).toMatchObject({ ok: false, failure: { kind: 'request-rejected' } })
    expect(!big.ok && big.failure.message).toMatch(/^node n1 closed the connection \((EPIPE|ECONNRESET|UND_ERR_SOCKET)\) on a \d+-byte request$/)
    const small = await client.call({ method: 'eth_call', params: [{ data: '0x' }, 'latest'] }, { timeoutMs: 5_000 })
    expect(small).toMatchObject({ ok: false, failure: { kind: 'connect' } })
    await client.close()
  })
})

describe('NodeClient: calls that may share a batch (routing.batch) over real HTTP', () => {
  let node: FakeNode | undefined
  afterEach(async () => {
    await node?.close()
    node = undefined
  })

  test('calls made in one turn reach the node as one batch request; each gets its own answer or node error', async () => {
    node = await startFakeNode()
    node.on('eth_getBalance', (_method, params) => {
      const address = (params as string[])[0]!
      return address.endsWith('bad') ? { error: { code: -32602, message: 'invalid address' } } : { result: `0x${address.slice(-2)}` }
    })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    const addresses = ['0x01', '0x02', '0xbad', '0x04']
    const outcomes = await Promise.all(addresses.map((address) => client.call({ method: 'eth_getBalance', params: [address, 'latest'] }, { timeoutMs: 2_000, batchUpTo: 20 })))
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.answer : outcome.failure))).toEqual([
      { result: '0x01' },
      { result: '0x02' },
      { error: { code: -32602, message: 'invalid address' } },
      { result: '0x04' },
    ])
    // One HTTP request carried the four calls.
    expect(node.authorizations.length).toBe(1)
    expect(client.batchStats).toEqual({ batches: 1, calls: 4, refused: false })
    // Without batchUpTo, each call is its own request (probes, broadcasts, the pending feed).
    await Promise.all(addresses.slice(0, 2).map((address) => client.call({ method: 'eth_getBalance', params: [address, 'latest'] }, { timeoutMs: 2_000 })))
    expect(node.authorizations.length).toBe(3)
    await client.close()
  })

  test('a node that does not take batches gets the calls again one by one, and single calls from then on', async () => {
    node = await startFakeNode({ batches: false })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    const call = () => client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 2_000, batchUpTo: 20 })
    expect((await Promise.all([call(), call()])).map((outcome) => outcome.ok && outcome.answer.result)).toEqual(['0x64', '0x64'])
    expect(node.calls).toEqual(['(batch)', 'eth_blockNumber', 'eth_blockNumber'])
    expect(client.batchStats).toEqual({ batches: 1, calls: 2, refused: true })
    await Promise.all([call(), call()])
    expect(node.calls.slice(3)).toEqual(['eth_blockNumber', 'eth_blockNumber'])
    await client.close()
  })

  test('a refusal met by a probe batch (callBatch) is remembered once for reads too: their batches are never tried', async () => {
    node = await startFakeNode({ batches: false })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    const probe = await client.callBatch(
      [
        { method: 'eth_chainId', params: [] },
        { method: 'eth_blockNumber', params: [] },
      ],
      { timeoutMs: 2_000 },
    )
    expect(probe).toMatchObject({ ok: false, refused: true })
    expect(client.refusesBatches).toBe(true)
    expect(client.batchStats).toEqual({ batches: 0, calls: 0, refused: true })
    const call = () => client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 2_000, batchUpTo: 20 })
    expect((await Promise.all([call(), call()])).map((outcome) => outcome.ok && outcome.answer.result)).toEqual(['0x64', '0x64'])
    expect(node.calls).toEqual(['(batch)', 'eth_blockNumber', 'eth_blockNumber'])
    expect(client.batchStats).toEqual({ batches: 0, calls: 0, refused: true })
    await client.close()
  })

  test('a batch that times out is every call’s timeout (each alone would have had it), and is not sent again', async () => {
    node = await startFakeNode()
    node.on('eth_blockNumber', { hang: true })
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0' })
    const outcomes = await Promise.all([1, 2].map(() => client.call({ method: 'eth_blockNumber', params: [] }, { timeoutMs: 200, batchUpTo: 20 })))
    expect(outcomes.map((outcome) => !outcome.ok && outcome.failure.kind)).toEqual(['timeout', 'timeout'])
    expect(node.calls).toEqual(['eth_blockNumber', 'eth_blockNumber'])
    await client.close()
  })

  test("a batch's reply bytes stay reserved until every client it answered has its reply", async () => {
    node = await startFakeNode()
    node.on('eth_getBalance', { result: `0x${'1'.repeat(1_000)}` })
    const budget = new ReplyBudget(100_000)
    const client = new NodeClient({ nodeId: 'n1', url: node.url, version: '2.0', replyBudget: budget })
    const holds = [new ReplyHold(), new ReplyHold()]
    const outcomes = await Promise.all(holds.map((hold) => client.call({ method: 'eth_getBalance', params: ['0x01', 'latest'] }, { timeoutMs: 2_000, signal: new CancelSignal(hold), batchUpTo: 20 })))
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true)
    expect(client.batchStats?.batches).toBe(1)
    expect(budget.usedBytes).toBeGreaterThan(2_000)
    holds[0]!.release()
    expect(budget.usedBytes).toBeGreaterThan(2_000)
    holds[1]!.release()
    expect(budget.usedBytes).toBe(0)
    await client.close()
  })
})

/** A JSON-RPC node in a child process: prints its port, then "got" for each call it answers 20 ms later. */
const CHILD_NODE = `
const http = require('node:http')
const server = http.createServer((req, res) => {
  let body = ''
  req.on('data', (c) => (body += c))
  req.on('end', () => {
    const id = JSON.parse(body).id
    console.log('got')
    setTimeout(() => res.end(JSON.stringify({ jsonrpc: '2.0', id, result: '0x1' })), 20)
  })
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}
