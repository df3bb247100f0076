import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { waitFor } from '../devnet/wait-for.js'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.js'
import { NodeClient, interpret } from './node-client.js'

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
  ])('$name → $kind failure', ({ status, text, kind }) => {
    const outcome = interpret('n1', 7, status, text)
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.failure.kind).toBe(kind)
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

  test('username/password fields and bitcoind cookie files become basic auth (cookie re-read after a 401)', async () => {
    node = await startFakeNode()
    node.on('ping', { result: 'pong' })
    const withFields = new NodeClient({ nodeId: 'n1', url: node.url, username: 'rpc', password: 'p#ss:w@rd', version: '1.0' })
    await withFields.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })
    expect(node.authorizations.at(-1)).toBe(`Basic ${Buffer.from('rpc:p#ss:w@rd').toString('base64')}`)
    await withFields.close()

    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cookie-'))
    const cookieFile = join(dir, '.cookie')
    await writeFile(cookieFile, '__cookie__:first\n')
    const withCookie = new NodeClient({ nodeId: 'n2', url: node.url, cookieFile, version: '1.0' })
    await withCookie.loadCredentials()
    await withCookie.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })
    expect(node.authorizations.at(-1)).toBe(`Basic ${Buffer.from('__cookie__:first').toString('base64')}`)
    // bitcoind restarted and wrote a new cookie: the 401 triggers a re-read for the next call.
    await writeFile(cookieFile, '__cookie__:second\n')
    node.queue({ status: 401 })
    expect((await withCookie.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })).ok).toBe(false)
    await waitFor(async () => {
      await withCookie.call({ method: 'ping', params: [] }, { timeoutMs: 2_000 })
      return node!.authorizations.at(-1) === `Basic ${Buffer.from('__cookie__:second').toString('base64')}`
    }, { what: 'the new cookie' })
    await withCookie.close()
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
