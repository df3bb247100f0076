/**
 * Property-based fuzzing of `POST /rpc/:chain` (issue 8), with fast-check, against a proxy whose
 * nodes are real: two anvils (one chain) and two bcoin regtest nodes. Inputs: bytes and text that
 * are not JSON, corrupted requests, JSON values of every type, request objects with wrong types,
 * huge numbers (1e400, 2^64), odd unicode, prototype-pollution keys, missing and duplicate ids,
 * notifications, batches up to 10,000 entries, deep nesting, invalid raw transactions.
 *
 * Every answer is checked against the JSON-RPC 2.0 rules written out independently here (`expectedFor`):
 * a notification gets nothing, every other entry exactly one reply with its own id (null when
 * the request's id was unusable), in order, shaped for its version, with proxy errors carrying
 * their catalog status. At the end: the process still answers, no node's health changed,
 * Object.prototype is untouched, nothing reached the broadcast journal, and memory is recorded.
 *
 * The WebSocket endpoint gets the same inputs as frames over one long-lived socket per chain
 * (text and binary frames, subscribe/unsubscribe with fuzzed params): each frame gets its reply
 * frame by the same rules (none for notifications), and the sockets stay open throughout.
 *
 * The seed is fixed, so every CI run checks the same 10,000+ cases and a failure reproduces;
 * `FUZZ_SEED=random npx vitest run test/fuzz` explores new ones, `FUZZ_SEED=<n>` replays a run
 * (fast-check prints the seed and the shrunk counterexample of a failure). Blame can land after
 * the case that caused it (a node that crashed fails the next call): the failure message lists
 * every node state change seen so far.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { Pool } from 'undici'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type AnvilNode, startAnvil } from '../../src/devnet/anvil.js'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { ProxyError } from '../../src/errors/proxy-error.js'
import { recordFigure } from '../support/figures.js'
import { type TestProxy, startTestProxy } from '../support/test-proxy.js'

// ---------------------------------------------------------------------------------------------
// The nodes and the proxies under test
// ---------------------------------------------------------------------------------------------

/** The CI seed: any fixed number would do; FUZZ_SEED=random explores (see the header). */
const FIXED_SEED = 20_261_130
const LIMITS = { bodyLimitBytes: 5 * 1024 * 1024, maxBatchSize: 100, maxCallBytes: 1024 * 1024, maxParamsDepth: 32 }
/** The second proxy takes 10,000-entry batches, to fuzz what a batch that size does inside. */
const WIDE_BATCH = 10_000

type Family = 'evm' | 'bitcoin'
interface Target {
  proxy: TestProxy
  pool: Pool
  limits: typeof LIMITS
}

let anvils: AnvilNode[] = []
let bcoins: BcoinNode[] = []
let main: Target
let wide: Target
/** Real values the nodes hold, so some fuzzed calls find data. */
const known = { evmBlockHashes: [] as string[], btcBlockHashes: [] as string[], btcTxids: [] as string[] }
let healthBefore: string
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort()
let memoryBefore: { rss: number; heapUsed: number }
let casesRun = 0
/** Replies seen: results, nodes' own errors, switchyard's errors (by code), no reply (notifications). */
const tally: Record<string, number> = {}
const count = (key: string): void => {
  tally[key] = (tally[key] ?? 0) + 1
}
/** Node state changes seen (none expected), for the failure message: blame can land after the case that caused it. */
const stateChanges: string[] = []
const suiteStarted = performance.now()

const gc = ((): (() => void) => {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
})()

function memory(): { rss: number; heapUsed: number } {
  gc()
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heapUsed }
}

async function target(batch: number): Promise<Target> {
  const limits = { ...LIMITS, maxBatchSize: batch }
  const proxy = await startTestProxy({
    server: limits,
    chains: {
      // Generous timeouts: a call slowed by this busy machine must not look like a failing node.
      eth: {
        family: 'evm',
        chainId: 31337,
        requestTimeoutMs: 20_000,
        routing: { deadlineMs: 30_000 },
        health: { intervalMs: 600_000 },
        nodes: anvils.map((node) => ({ id: node.id, url: node.url })),
      },
      btc: {
        family: 'bitcoin',
        network: 'regtest',
        // The oracle checks JSON-RPC 2.0's rules; bcoin nodes would make `auto` answer 2.0 in their legacy shape.
        replyStyle: 'strict',
        requestTimeoutMs: 20_000,
        routing: { deadlineMs: 30_000 },
        health: { intervalMs: 600_000 },
        nodes: bcoins.map((node) => ({ id: node.id, url: node.url })),
      },
    },
  })
  await proxy.probe()
  return { proxy, pool: new Pool(proxy.baseUrl, { connections: 4 }), limits }
}

/** Status, failure count and ejections of every node of both proxies. */
function health(): string {
  return JSON.stringify(
    [main, wide].flatMap(({ proxy }) =>
      proxy.proxy.snapshot().chains.flatMap((chain) => chain.nodes.map((node) => ({ chain: chain.name, id: node.id, status: node.status, failures: node.failures, ejections: node.ejections }))),
    ),
  )
}

beforeAll(async () => {
  anvils = await Promise.all(['eth-a', 'eth-b'].map((id) => startAnvil({ id, noMining: true })))
  await Promise.all(anvils.map((node) => node.mine(3)))
  bcoins = await Promise.all(['btc-a', 'btc-b'].map((id) => startBcoin({ id })))
  await bcoins[0]!.generate(3)
  await copyBlocks(bcoins[0]!, [bcoins[1]!], 1, 3)
  for (let height = 0; height <= 3; height++) {
    known.evmBlockHashes.push(((await anvils[0]!.rpc('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { hash: string }).hash)
    const hash = (await bcoins[0]!.rpc('getblockhash', [height])) as string
    known.btcBlockHashes.push(hash)
    known.btcTxids.push(...((await bcoins[0]!.rpc('getblock', [hash, 1])) as { tx: string[] }).tx)
  }
  main = await target(LIMITS.maxBatchSize)
  wide = await target(WIDE_BATCH)
  healthBefore = health()
  for (const { proxy } of [main, wide]) proxy.proxy.events.on('node:state', (event) => stateChanges.push(`${event.chain}/${event.nodeId} ${event.from} → ${event.to}: ${event.reason}`))
  expect(JSON.parse(healthBefore).every((node: { status: string }) => node.status === 'healthy')).toBe(true)
  memoryBefore = memory()
}, 120_000)

afterAll(async () => {
  for (const each of [main, wide]) {
    await each?.pool.close()
    await each?.proxy.close()
  }
  await Promise.all([...anvils, ...bcoins].map((node) => node.stop()))
})

// ---------------------------------------------------------------------------------------------
// Rendering: JSON text with literal numbers JavaScript cannot hold and duplicate keys
// ---------------------------------------------------------------------------------------------

/** A JSON fragment written as is (1e400, 2^64, deep nesting). */
class Raw {
  constructor(readonly text: string) {}
}
/** An object as ordered members, duplicates allowed (the last one wins in JSON.parse). */
class Members {
  constructor(readonly members: ReadonlyArray<readonly [string, unknown]>) {}
}
const ABSENT = Symbol('absent')

function render(value: unknown): string {
  if (value instanceof Raw) return value.text
  if (value instanceof Members) return `{${value.members.map(([key, member]) => `${JSON.stringify(key)}:${render(member)}`).join(',')}}`
  if (Array.isArray(value)) return `[${value.map(render).join(',')}]`
  if (typeof value === 'object' && value !== null) return render(new Members(Object.entries(value)))
  return JSON.stringify(value) ?? 'null'
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const ODD = ['', '\u0000', '\u202e', '\ufeff', '💥', '\ud800', '\udfff', 'a\u0301', '\\', '"', '\n', '𝕏'.repeat(64), '0x', 'null', 'undefined', 'NaN', '<script>']
const oddString = fc.oneof(fc.string({ unit: 'binary', maxLength: 24 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom(...ODD))
const hugeNumber = fc
  .constantFrom('1e400', '-1e400', '123456789012345678901234567890', '18446744073709551616', '9007199254740993', '-0', '0.1e-400', '1E+2', '1e308', '-9223372036854775808', '5e-324')
  .map((text) => new Raw(text))
const number = fc.oneof(fc.integer(), fc.nat(300), fc.double({ noNaN: true, noDefaultInfinity: true }), hugeNumber)
const hexOf = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength }).map((bytes) => `0x${Buffer.from(bytes).toString('hex')}`)
const blockTag = fc.oneof(fc.constantFrom('latest', 'pending', 'earliest', 'safe', 'finalized', '0x0', '0x1', '0x3', '0x4', '0xffffffff', '0x', '0X1', 'LATEST', '-0x1'), fc.nat(10).map((n) => `0x${n.toString(16)}`))
const hexish = fc.oneof(hexOf(0, 40), hexOf(20, 20), hexOf(32, 32), fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('hex')), fc.constantFrom('0xzz', '0x0g', '0x' + 'f'.repeat(65)))
const knownValue = fc.constant(null).chain(() => fc.constantFrom('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', ...known.evmBlockHashes, ...known.btcBlockHashes, ...known.btcTxids))
const protoKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then', 'toJSON')
const memberName = fc.oneof(protoKey, fc.constantFrom('to', 'from', 'data', 'input', 'value', 'gas', 'fromBlock', 'toBlock', 'address', 'topics', 'blockHash', 'verbose', 'blockhash', 'height'), oddString)
const scalar = fc.oneof(oddString, number, fc.boolean(), fc.constant(null), hexish, blockTag, knownValue)

const { value: jsonish } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { weight: 4, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(memberName, tie('value')), { maxLength: 4 }).map((members) => new Members(members)) },
  ),
}))

/** Nesting far past server.maxParamsDepth, written as text (no recursion anywhere). */
const deep = fc
  .record({ depth: fc.integer({ min: 1, max: 100_000 }), object: fc.boolean() })
  .map(({ depth, object }) => new Raw(object ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`))

const METHODS: Record<Family, { allowed: string[]; forbidden: string[] }> = {
  evm: {
    allowed: ['eth_blockNumber', 'eth_chainId', 'net_version', 'web3_clientVersion', 'eth_syncing', 'eth_gasPrice', 'eth_getBalance', 'eth_getCode', 'eth_getStorageAt', 'eth_getTransactionCount', 'eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_getBlockReceipts', 'eth_getTransactionByHash', 'eth_getTransactionReceipt', 'eth_call', 'eth_estimateGas', 'eth_getLogs', 'eth_feeHistory', 'eth_getProof', 'eth_maxPriorityFeePerGas', 'eth_getBlockTransactionCountByNumber', 'eth_sendRawTransaction'],
    forbidden: ['eth_sendTransaction', 'eth_sign', 'personal_unlockAccount', 'debug_traceTransaction', 'admin_peers', 'miner_start', 'anvil_mine', 'anvil_setBalance', 'evm_setNextBlockTimestamp', 'txpool_content', 'eth_newfilter', 'Eth_blockNumber', 'eth_blockNumber '],
  },
  bitcoin: {
    allowed: ['getblockcount', 'getbestblockhash', 'getblockhash', 'getblock', 'getblockheader', 'getblockchaininfo', 'getrawtransaction', 'gettxout', 'getrawmempool', 'getmempoolinfo', 'getmempoolentry', 'estimatesmartfee', 'decoderawtransaction', 'decodescript', 'validateaddress', 'getnetworkinfo', 'getchaintips', 'getdifficulty', 'gettxoutproof', 'sendrawtransaction'],
    forbidden: ['stop', 'generatetoaddress', 'generate', 'walletpassphrase', 'dumpprivkey', 'importprivkey', 'setban', 'submitblock', 'addnode', 'invalidateblock', 'GetBlockCount'],
  },
}

/** Params shaped like what the method takes, with fuzzed values. */
function plausibleParams(family: Family, method: string): fc.Arbitrary<unknown> {
  const address = fc.oneof(fc.constant('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'), hexOf(20, 20), scalar)
  const hash = fc.oneof(knownValue, hexOf(32, 32), scalar)
  if (family === 'evm') {
    switch (method) {
      case 'eth_getBalance':
      case 'eth_getCode':
      case 'eth_getTransactionCount':
        return fc.tuple(address, blockTag)
      case 'eth_getStorageAt':
        return fc.tuple(address, hexish, blockTag)
      case 'eth_getBlockByNumber':
        return fc.tuple(blockTag, fc.oneof(fc.boolean(), scalar))
      case 'eth_getBlockByHash':
        return fc.tuple(hash, fc.boolean())
      case 'eth_call':
      case 'eth_estimateGas':
        return fc.tuple(fc.record({ to: address, data: hexish, from: address }, { requiredKeys: [] }), blockTag)
      case 'eth_getLogs':
        return fc.tuple(fc.record({ fromBlock: blockTag, toBlock: blockTag, address, topics: fc.array(fc.oneof(hash, fc.constant(null)), { maxLength: 3 }), blockHash: hash }, { requiredKeys: [] }))
      case 'eth_feeHistory':
        return fc.tuple(fc.oneof(fc.nat(2000), hexish, number), blockTag, fc.array(fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), scalar), { maxLength: 4 }))
      case 'eth_sendRawTransaction':
        return fc.tuple(fc.oneof(hexish, hexOf(80, 200), scalar))
      default:
        return fc.array(scalar, { maxLength: 3 })
    }
  }
  switch (method) {
    case 'getblockhash':
      return fc.tuple(fc.oneof(fc.nat(10), number, scalar))
    case 'getblock':
    case 'getblockheader':
      return fc.tuple(hash, fc.oneof(fc.nat(3), fc.boolean(), scalar))
    case 'getrawtransaction':
      return fc.oneof(fc.tuple(hash), fc.tuple(hash, fc.oneof(fc.boolean(), fc.nat(2))), fc.tuple(hash, fc.boolean(), hash))
    case 'gettxout':
      return fc.tuple(hash, fc.oneof(fc.nat(3), number), fc.boolean())
    case 'estimatesmartfee':
      return fc.tuple(fc.oneof(fc.nat(1100), number, scalar))
    case 'sendrawtransaction':
    case 'decoderawtransaction':
      return fc.tuple(fc.oneof(hexish, hexOf(60, 200).map((hex) => hex.slice(2)), scalar))
    default:
      return fc.array(scalar, { maxLength: 3 })
  }
}

/** A request object: each member may be absent, of the wrong type, duplicated, or beside prototype-pollution keys. */
function requestArb(family: Family): fc.Arbitrary<Members> {
  const { allowed, forbidden } = METHODS[family]
  const version = fc.oneof({ weight: 8, arbitrary: fc.constant<unknown>('2.0') }, { weight: 2, arbitrary: fc.constantFrom<unknown>('1.0', '1.1', '3.0', '', '2', 2, null, new Raw('2.0')) })
  const id = fc.oneof({ weight: 4, arbitrary: fc.nat(5) }, { weight: 2, arbitrary: fc.integer() }, { weight: 2, arbitrary: oddString }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: hugeNumber }, {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(true, [], [1], new Members([]), 1.5, -7),
  })
  const method = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...allowed) },
    { weight: 2, arbitrary: fc.constantFrom(...forbidden) },
    { weight: 1, arbitrary: protoKey },
    { weight: 1, arbitrary: oddString },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 1, [], new Members([['method', 'eth_blockNumber']]), true) },
  )
  return fc
    .record({
      jsonrpc: fc.option(version, { nil: ABSENT, freq: 8 }),
      id: fc.option(id, { nil: ABSENT, freq: 5 }),
      method: fc.option(method, { nil: ABSENT, freq: 12 }),
      extra: fc.array(fc.tuple(memberName, jsonish), { maxLength: 2 }),
      secondId: fc.option(id, { nil: ABSENT, freq: 1 }),
      reversed: fc.boolean(),
      paramsKind: fc.constantFrom('plausible', 'plausible', 'plausible', 'random', 'object', 'scalar', 'absent', 'null', 'deep'),
    })
    .chain((shape) => {
      const name = typeof shape.method === 'string' ? shape.method : 'eth_blockNumber'
      const params: fc.Arbitrary<unknown> = {
        plausible: plausibleParams(family, name),
        random: fc.array(jsonish, { maxLength: 4 }),
        object: fc.array(fc.tuple(memberName, jsonish), { maxLength: 3 }).map((members) => new Members(members)),
        scalar,
        absent: fc.constant(ABSENT),
        null: fc.constant(null),
        deep,
      }[shape.paramsKind]!
      return params.map((value) => {
        const members: Array<readonly [string, unknown]> = []
        if (shape.jsonrpc !== ABSENT) members.push(['jsonrpc', shape.jsonrpc])
        if (shape.id !== ABSENT) members.push(['id', shape.id])
        if (shape.method !== ABSENT) members.push(['method', shape.method])
        if (value !== ABSENT) members.push(['params', value])
        members.push(...shape.extra)
        if (shape.secondId !== ABSENT) members.push(['id', shape.secondId])
        return new Members(shape.reversed ? members.reverse() : members)
      })
    })
}

const familyOf = (chain: string): Family => (chain === 'btc' ? 'bitcoin' : 'evm')
const chainArb = fc.constantFrom('eth', 'btc')

// ---------------------------------------------------------------------------------------------
// The oracle: JSON-RPC 2.0 (and bitcoind 1.0) rules, written independently of src/jsonrpc
// ---------------------------------------------------------------------------------------------

type Id = string | number | null
interface ExpectedReply {
  id: Id
  version: '1.0' | '2.0'
  /** Set when the proxy itself must refuse the entry: the JSON-RPC code and the allowed `data.code`s. */
  refusal?: { code: number; sy: string }
}
type Expected = { kind: 'nothing' } | { kind: 'one'; reply: ExpectedReply } | { kind: 'batch'; replies: ExpectedReply[] }

const own = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key)

function depthOf(value: unknown): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (typeof current !== 'object' || current === null) continue
    deepest = Math.max(deepest, depth)
    for (const child of Object.values(current)) stack.push([child, depth + 1])
  }
  return deepest
}

function expectedEntry(entry: unknown, limits: typeof LIMITS): ExpectedReply | undefined {
  const invalid = (id: Id, version: '1.0' | '2.0'): ExpectedReply => ({ id, version, refusal: { code: -32600, sy: 'SY_INVALID_REQUEST' } })
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return invalid(null, '2.0')
  const request = entry as Record<string, unknown>
  const rawId = own(request, 'id') ? request.id : undefined
  const usable = rawId === null || typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId))
  const id = usable ? (JSON.parse(JSON.stringify(rawId)) as Id) : null
  const jsonrpc = own(request, 'jsonrpc') ? request.jsonrpc : undefined
  const version = jsonrpc === '2.0' ? '2.0' : jsonrpc === undefined || jsonrpc === '1.0' || jsonrpc === '1.1' ? '1.0' : undefined
  if (version === undefined) return invalid(id, '2.0')
  if (own(request, 'id') && !usable) return invalid(null, version)
  const method = own(request, 'method') ? request.method : undefined
  if (typeof method !== 'string' || method === '') return invalid(id, version)
  const params = own(request, 'params') ? request.params : undefined
  if (params !== undefined && params !== null && typeof params !== 'object') return invalid(id, version)
  // A valid 2.0 request without an id is a notification: never answered, whatever happens to it.
  if (version === '2.0' && !own(request, 'id')) return undefined
  const tooLarge = depthOf(params) > limits.maxParamsDepth || Buffer.byteLength(method) + Buffer.byteLength(JSON.stringify(params ?? [])) > limits.maxCallBytes
  return { id, version, ...(tooLarge ? { refusal: { code: -32600, sy: 'SY_REQUEST_TOO_LARGE' } } : {}) }
}

function expectedFor(body: Buffer, limits: typeof LIMITS): Expected {
  const whole = (code: number, sy: string): Expected => ({ kind: 'one', reply: { id: null, version: '2.0', refusal: { code, sy } } })
  if (body.length > limits.bodyLimitBytes) return whole(-32600, 'SY_BODY_TOO_LARGE')
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return whole(-32700, 'SY_PARSE_ERROR')
  }
  if (!Array.isArray(parsed)) {
    const reply = expectedEntry(parsed, limits)
    return reply === undefined ? { kind: 'nothing' } : { kind: 'one', reply }
  }
  if (parsed.length === 0) return whole(-32600, 'SY_INVALID_REQUEST')
  if (parsed.length > limits.maxBatchSize) return whole(-32600, 'SY_BATCH_TOO_LARGE')
  const replies = parsed.map((entry) => expectedEntry(entry, limits)).filter((reply): reply is ExpectedReply => reply !== undefined)
  return replies.length === 0 ? { kind: 'nothing' } : { kind: 'batch', replies }
}

/** One reply object against what the rules say it must be. */
function checkReply(reply: unknown, expected: ExpectedReply): { error: { code: number; data?: { code?: string } } | undefined } {
  expect(typeof reply === 'object' && reply !== null && !Array.isArray(reply)).toBe(true)
  const object = reply as Record<string, unknown>
  expect(object.id).toEqual(expected.id)
  let error: unknown
  if (expected.version === '2.0') {
    expect(object.jsonrpc).toBe('2.0')
    expect(own(object, 'result') !== own(object, 'error')).toBe(true)
    expect(Object.keys(object).sort()).toEqual(['id', 'jsonrpc', own(object, 'error') ? 'error' : 'result'].sort())
    error = object.error
  } else {
    // bitcoind's 1.0 shape: result, error and id always present, the unused one null.
    expect(Object.keys(object).sort()).toEqual(['error', 'id', 'result'])
    error = object.error === null ? undefined : object.error
    if (error !== undefined) expect(object.result).toBeNull()
  }
  if (error !== undefined) {
    const { code, message } = error as { code: unknown; message: unknown }
    expect(Number.isInteger(code)).toBe(true)
    expect(typeof message).toBe('string')
  }
  const typed = error as { code: number; data?: { code?: string } } | undefined
  count(typed === undefined ? 'result' : typeof typed.data?.code === 'string' && typed.data.code.startsWith('SY_') ? typed.data.code : 'node error')
  // SY_INTERNAL is a bug in switchyard, whatever the input.
  expect(typed?.data?.code).not.toBe('SY_INTERNAL')
  if (expected.refusal !== undefined) {
    expect(typed?.code).toBe(expected.refusal.code)
    expect(typed?.data?.code).toBe(expected.refusal.sy)
  }
  return { error: typed }
}

/** HTTP status of a single reply (README: proxy errors use their catalog status; bitcoind 1.0 clients get Core's legacy ones). */
function statusOfSingle(error: { code: number; data?: { code?: string } } | undefined, version: '1.0' | '2.0', family: Family): number {
  if (error === undefined) return 200
  const sy = error.data?.code
  if (typeof sy === 'string' && sy.startsWith('SY_')) {
    const status = ProxyError.statusOf(sy)
    if (status !== 200) return status
  }
  if (version !== '1.0' || family !== 'bitcoin') return 200
  if (error.code === -32601) return 404
  if (error.code === -32600) return 400
  return 500
}

interface Answer {
  status: number
  contentType: string | undefined
  text: string
}

async function post(into: Target, chain: string, body: Buffer): Promise<Answer> {
  casesRun += 1
  const response = await into.pool.request({ path: `/rpc/${chain}`, method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const text = await response.body.text()
  const contentType = response.headers['content-type']
  return { status: response.statusCode, contentType: typeof contentType === 'string' ? contentType : undefined, text }
}

/** Sends one body and checks the whole answer against the rules; returns the parsed replies. */
async function check(into: Target, chain: string, body: Buffer | string): Promise<unknown[]> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const expected = expectedFor(bytes, into.limits)
  const answer = await post(into, chain, bytes)
  if (expected.kind === 'nothing') {
    count('204 no content')
    expect(answer.status).toBe(204)
    expect(answer.text).toBe('')
    return []
  }
  expect(answer.contentType).toMatch(/^application\/json/)
  const parsed: unknown = JSON.parse(answer.text)
  const family = familyOf(chain)
  if (expected.kind === 'one') {
    expect(Array.isArray(parsed)).toBe(false)
    const { error } = checkReply(parsed, expected.reply)
    expect(answer.status).toBe(statusOfSingle(error, expected.reply.version, family))
    return [parsed]
  }
  expect(Array.isArray(parsed)).toBe(true)
  const replies = parsed as unknown[]
  expect(replies).toHaveLength(expected.replies.length)
  replies.forEach((reply, index) => checkReply(reply, expected.replies[index]!))
  expect(answer.status).toBe(200)
  return replies
}

/** Runs a property with `numRuns` cases and records how many and how long. */
async function fuzz<T>(name: string, numRuns: number, arbitrary: fc.Arbitrary<T>, run: (input: T) => Promise<void>): Promise<void> {
  const started = performance.now()
  const before = casesRun
  const seed = process.env.FUZZ_SEED === 'random' ? undefined : Number(process.env.FUZZ_SEED ?? FIXED_SEED)
  // Health is checked after every case, so a failure shrinks to the input that blamed a node.
  const property = fc.asyncProperty(arbitrary, async (input) => {
    const before = health()
    await run(input)
    expect(health(), `node state changes so far: ${stateChanges.join('; ')}`).toBe(before)
  })
  await fc.assert(property, { numRuns, ...(seed === undefined ? {} : { seed }) })
  recordFigure(`fuzz.${name}`, `${casesRun - before} cases in ${Math.round(performance.now() - started)} ms`)
  const { heapUsed, rss } = memory()
  recordFigure(`fuzz.${name}.afterGcMiB`, `heap ${Math.round(heapUsed / 1048576)}, rss ${Math.round(rss / 1048576)}`)
}

// ---------------------------------------------------------------------------------------------
// The WebSocket endpoint: the same rules over one long-lived socket per chain
// ---------------------------------------------------------------------------------------------

/** One socket, its frames in arrival order, and a way to wait for the next one. */
class FrameSocket {
  readonly frames: string[] = []
  #wake: (() => void) | undefined
  closed: { code: number; reason: string } | undefined

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(data.toString())
      this.#wake?.()
    })
    socket.once('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.#wake?.()
    })
  }

  async nextFrame(): Promise<string> {
    while (this.frames.length === 0) {
      if (this.closed !== undefined) throw new Error(`socket closed: ${this.closed.code} ${this.closed.reason}`)
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
    return this.frames.shift()!
  }
}

async function openSocket(into: Target, chain: string): Promise<FrameSocket> {
  const socket = new WebSocket(`${into.proxy.baseUrl.replace(/^http/, 'ws')}/rpc/${chain}`)
  await new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  return new FrameSocket(socket)
}

/**
 * Sends one frame and checks its answer against the same rules as HTTP: one frame per body that
 * needs a reply, none for notifications only (checked with a sentinel call behind it, once the
 * server has nothing of the frame in flight). Binary frames are read as UTF-8 like text ones.
 */
async function checkFrame(into: Target, socket: FrameSocket, bytes: Buffer, binary: boolean): Promise<unknown[]> {
  casesRun += 1
  const expected = expectedFor(bytes, into.limits)
  socket.socket.send(bytes, { binary })
  if (expected.kind === 'nothing') {
    count('ws no reply')
    socket.socket.send(JSON.stringify({ jsonrpc: '2.0', id: 'sentinel', method: 'eth_chainId' }))
    expect(JSON.parse(await socket.nextFrame())).toMatchObject({ id: 'sentinel' })
    await waitFor(() => into.proxy.app.switchyardWebSocket!.stats().inFlight === 0, { what: 'the frame done' })
    expect(socket.frames).toEqual([])
    return []
  }
  const parsed: unknown = JSON.parse(await socket.nextFrame())
  if (expected.kind === 'one') {
    expect(Array.isArray(parsed)).toBe(false)
    checkReply(parsed, expected.reply)
    return [parsed]
  }
  expect(Array.isArray(parsed)).toBe(true)
  const replies = parsed as unknown[]
  expect(replies).toHaveLength(expected.replies.length)
  replies.forEach((reply, index) => checkReply(reply, expected.replies[index]!))
  return replies
}

describe('ws://…/rpc/:chain under fuzzed input', () => {
  const sockets: Partial<Record<string, FrameSocket>> = {}
  const socketFor = async (chain: string): Promise<FrameSocket> => (sockets[chain] ??= await openSocket(main, chain))
  afterAll(() => {
    for (const socket of Object.values(sockets)) socket?.socket.terminate()
  })

  test('bytes, corrupted requests, JSON values, request objects and batches, over one socket per chain', async () => {
    const frame = chainArb.chain((chain) =>
      fc.tuple(
        fc.constant(chain),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ bytes: Buffer.from(bytes), binary: true })),
          requestArb(familyOf(chain)).map((request) => render(request)).chain((text) =>
            fc.tuple(fc.nat(), fc.constantFrom('keep', 'delete', 'replace')).map(([at, how]) => {
              const index = at % (text.length + 1)
              return how === 'keep' ? text : how === 'delete' ? text.slice(0, index) + text.slice(index + 1) : text.slice(0, index) + '}' + text.slice(index + 1)
            }),
          ).map((text) => ({ bytes: Buffer.from(text, 'utf8'), binary: false })),
          fc.oneof(jsonish, fc.jsonValue({ maxDepth: 4 })).map((value) => ({ bytes: Buffer.from(render(value), 'utf8'), binary: false })),
          fc.array(fc.oneof({ weight: 6, arbitrary: requestArb(familyOf(chain)) }, { weight: 1, arbitrary: jsonish }), { maxLength: 12 }).map((entries) => ({ bytes: Buffer.from(render(entries), 'utf8'), binary: false })),
        ),
      ),
    )
    await fuzz('ws.frames', 400, frame, async ([chain, { bytes, binary }]) => {
      await checkFrame(main, await socketFor(chain), bytes, binary)
    })
  }, 600_000)

  test('subscribe and unsubscribe calls with fuzzed params: always an answer, bounded per connection', async () => {
    const input = fc.tuple(
      fc.constantFrom('eth_subscribe', 'eth_unsubscribe', 'switchyard_subscribe', 'switchyard_unsubscribe'),
      fc.oneof(fc.tuple(fc.constantFrom('newHeads', 'logs', 'blocks', 'newPendingTransactions', 'syncing'), fc.oneof(jsonish, fc.record({ address: fc.oneof(hexOf(20, 20), scalar), topics: fc.array(fc.oneof(hexOf(32, 32), fc.constant(null), scalar), { maxLength: 3 }) }, { requiredKeys: [] }))), fc.array(jsonish, { maxLength: 3 })),
      fc.nat(5),
      chainArb,
    )
    /** Subscription ids each chain's socket holds. */
    const ids: Record<string, string[]> = { eth: [], btc: [] }
    await fuzz('ws.subscriptions', 200, input, async ([method, params, id, chain]) => {
      const socket = await socketFor(chain)
      const held = ids[chain]!
      // Half the unsubscribes name a subscription this socket holds (served where its subscribe was: eth_* on evm, switchyard_* anywhere).
      const served = method === 'switchyard_unsubscribe' || chain === 'eth'
      const unsubscribeKnown = served && method.endsWith('unsubscribe') && held.length > 0 && id % 2 === 0
      const body = { jsonrpc: '2.0', id, method, params: unsubscribeKnown ? [held.pop()] : params }
      const [reply] = (await checkFrame(main, socket, Buffer.from(JSON.stringify(body)), false)) as Array<{ result?: unknown; error?: { data?: { code?: string } } }>
      if (method.endsWith('_subscribe') && typeof reply?.result === 'string') held.push(reply.result)
      if (unsubscribeKnown) expect(reply?.result).toBe(true)
    })
    // Never past the bound, however many were asked for.
    expect(main.proxy.app.switchyardWebSocket!.stats().subscriptions).toBeLessThanOrEqual(main.proxy.proxy.config.server.ws.maxSubscriptionsPerConnection * 2)
  }, 300_000)

  test('afterwards the sockets are still open and answer', async () => {
    for (const chain of ['eth', 'btc']) {
      const socket = await socketFor(chain)
      expect(socket.closed).toBeUndefined()
      socket.socket.send(JSON.stringify({ jsonrpc: '2.0', id: 'last', method: chain === 'btc' ? 'getblockcount' : 'eth_blockNumber' }))
      expect(JSON.parse(await socket.nextFrame())).toMatchObject({ id: 'last', result: expect.anything() })
    }
    expect(main.proxy.app.switchyardWebSocket!.stats().open).toBe(2)
  })
})

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('POST /rpc/:chain under fuzzed input', () => {
  test('bytes and text that are not JSON → one -32700 with id null', async () => {
    const body = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)), oddString.map((text) => Buffer.from(text, 'utf8')))
    await fuzz('notJson', 1_000, fc.tuple(chainArb, body), async ([chain, bytes]) => {
      await check(main, chain, bytes)
    })
  }, 300_000)

  test('corrupted requests: a character deleted, inserted or replaced', async () => {
    const corrupted = fc.tuple(chainArb, fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 })).chain(([chain, at, how, char]) =>
      requestArb(familyOf(chain)).map((request) => {
        const text = render(request)
        const index = at % (text.length + 1)
        const mutated = how === 'delete' ? text.slice(0, index) + text.slice(index + 1) : how === 'insert' ? text.slice(0, index) + char + text.slice(index) : text.slice(0, index) + char + text.slice(index + 1)
        return [chain, mutated] as const
      }),
    )
    await fuzz('corrupted', 1_000, corrupted, async ([chain, text]) => {
      await check(main, chain, text)
    })
  }, 300_000)

  test('JSON values of every type that are not request objects', async () => {
    await fuzz('jsonValues', 1_000, fc.tuple(chainArb, fc.oneof(jsonish, fc.jsonValue({ maxDepth: 4 }))), async ([chain, value]) => {
      await check(main, chain, render(value))
    })
  }, 300_000)

  test('request objects: wrong types, missing and duplicate members, huge numbers, odd unicode, prototype keys', async () => {
    const input = chainArb.chain((chain) => requestArb(familyOf(chain)).map((request) => [chain, render(request)] as const))
    await fuzz('requests', 4_000, input, async ([chain, text]) => {
      await check(main, chain, text)
    })
  }, 600_000)

  test('batches: invalid entries, notifications, missing and duplicate ids, in order', async () => {
    const input = chainArb.chain((chain) =>
      fc.array(fc.oneof({ weight: 6, arbitrary: requestArb(familyOf(chain)) }, { weight: 1, arbitrary: jsonish }), { maxLength: 20 }).map((entries) => [chain, render(entries)] as const),
    )
    await fuzz('batches', 1_800, input, async ([chain, text]) => {
      await check(main, chain, text)
    })
  }, 600_000)

  test('deep nesting in params, as the request and as a batch entry', async () => {
    const input = fc.tuple(chainArb, fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('params', 'body', 'entry', 'id', 'notification')).map(([chain, depth, where]) => {
      const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`
      const method = chain === 'btc' ? 'getblockcount' : 'eth_blockNumber'
      const text = {
        params: `{"jsonrpc":"2.0","id":1,"method":"${method}","params":${nested}}`,
        notification: `{"jsonrpc":"2.0","method":"${method}","params":${nested}}`,
        body: nested,
        entry: `[{"jsonrpc":"2.0","id":1,"method":"${method}"},${nested}]`,
        id: `{"jsonrpc":"2.0","id":${nested},"method":"${method}"}`,
      }[where]!
      return [chain, text] as const
    })
    await fuzz('deepNesting', 400, input, async ([chain, text]) => {
      await check(main, chain, text)
    })
  }, 300_000)

  test('invalid raw transactions are refused with an error, as calls and in batches', async () => {
    const input = chainArb.chain((chain) => {
      const method = chain === 'btc' ? 'sendrawtransaction' : 'eth_sendRawTransaction'
      const raw = fc.oneof(hexish, hexOf(1, 300), hexOf(1, 300).map((hex) => hex.slice(2)), scalar, fc.constantFrom('0x02', '0xf86c', '0x01000000', '02000000000100'))
      return fc.tuple(fc.array(raw, { minLength: 1, maxLength: 3 }), fc.nat(5)).map(([raws, id]) => [chain, raws.map((value, index) => ({ jsonrpc: '2.0', id: id + index, method, params: [value] }))] as const)
    })
    await fuzz('invalidTransactions', 1_000, input, async ([chain, calls]) => {
      const replies = await check(main, chain, render(calls.length === 1 ? calls[0] : calls))
      for (const reply of replies) expect((reply as { error?: unknown }).error).toBeDefined()
    })
  }, 300_000)

  test('10,000-entry batches: refused whole over server.maxBatchSize, each entry answered where allowed', async () => {
    const entry = (chain: string) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(chain === 'btc' ? 'getblockcount' : 'eth_chainId', chain === 'btc' ? 'getbestblockhash' : 'eth_blockNumber').map((method) => ({ method })) },
        { weight: 2, arbitrary: fc.constantFrom<unknown>(1, null, {}, { jsonrpc: '2.0' }, 'x', []) },
        { weight: 1, arbitrary: fc.constant({ method: chain === 'btc' ? 'getblockhash' : 'eth_getBalance', params: chain === 'btc' ? [1] : ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] }) },
      )
    const input = chainArb.chain((chain) =>
      fc.tuple(fc.array(entry(chain), { minLength: 10_000, maxLength: 10_000 }), fc.boolean()).map(([entries, notifications]) => {
        const body = entries.map((value, id) => (typeof value === 'object' && value !== null && 'method' in value ? { jsonrpc: '2.0', ...(notifications && id % 2 === 0 ? {} : { id }), ...value } : value))
        return [chain, render(body)] as const
      }),
    )
    await fuzz('batches10k', 12, input, async ([chain, text]) => {
      await check(main, chain, text)
      await check(wide, chain, text)
    })
  }, 600_000)

  test('bodies over server.bodyLimitBytes → 413 SY_BODY_TOO_LARGE', async () => {
    const input = fc.tuple(chainArb, fc.integer({ min: 1, max: 1024 * 1024 })).map(([chain, extra]) => [chain, `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["${'a'.repeat(LIMITS.bodyLimitBytes + extra)}"]}`] as const)
    await fuzz('overLimit', 10, input, async ([chain, text]) => {
      await check(main, chain, text)
    })
  }, 300_000)

  test('afterwards: the process answers, no node changed health, Object.prototype is untouched, nothing was journaled, memory recorded', async () => {
    for (const { proxy } of [main, wide]) {
      const response = await fetch(`${proxy.baseUrl}/healthz`)
      expect(response.status).toBe(200)
      expect(await proxy.proxy.listBroadcasts({})).toEqual([])
    }
    expect(health()).toBe(healthBefore)
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore)
    expect(({} as Record<string, unknown>).a).toBeUndefined()
    // The nodes still agree and answer: the fuzz changed nothing they hold.
    expect(await anvils[0]!.rpc('eth_blockNumber')).toBe(await anvils[1]!.rpc('eth_blockNumber'))
    expect(await anvils[0]!.rpc('txpool_status')).toEqual({ pending: '0x0', queued: '0x0' })
    expect(await bcoins[0]!.rpc('getrawmempool')).toEqual([])
    const after = memory()
    const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024)
    recordFigure('fuzz.cases', casesRun)
    recordFigure('fuzz.replies', Object.entries(tally).sort(([, a], [, b]) => b - a).map(([key, n]) => `${key} ${n}`).join(', '))
    recordFigure('fuzz.durationMs', Math.round(performance.now() - suiteStarted))
    recordFigure('fuzz.rssMiB (before → after)', `${mib(memoryBefore.rss)} → ${mib(after.rss)}`)
    recordFigure('fuzz.heapUsedAfterGcMiB (before → after)', `${mib(memoryBefore.heapUsed)} → ${mib(after.heapUsed)}`)
    expect(casesRun).toBeGreaterThanOrEqual(10_000)
    // Bounded: what the cases left behind after a full GC (caches, history, pools) is small next to
    // what they pushed through (several hundred MiB of bodies and replies).
    expect(after.heapUsed - memoryBefore.heapUsed).toBeLessThan(64 * 1024 * 1024)
  }, 120_000)
})
