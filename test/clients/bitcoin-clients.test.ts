/**
 * Bitcoin rows of the real-client matrix: the `bitcoin-core` npm client (host `…/rpc/btc`, and a
 * per-chain port), python-bitcoinlib's RawProxy (Debian python3-bitcoinlib) and curl speaking
 * bitcoin-cli's JSON-RPC 1.0, against a real bcoin regtest node behind a real switchyard process.
 * Each row: chain info, block count, a block by height, a UTXO lookup (`gettxout`: bcoin has no
 * `scantxoutset`), a batch, a signed send, and its confirmation once a block is mined.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import BitcoinCore from 'bitcoin-core'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { freePort } from '../../src/devnet/free-port.js'
import { type TestKey, btcToSats, coinbaseUtxo, createTestKey, fundKey, p2pkhAddress, signSpend } from '../support/bitcoin-wallet.js'
import { type MatrixSwitchyard, healthFast, matrixRows, startMatrixSwitchyard } from './client-matrix.js'

const run = promisify(execFile)
const row = matrixRows()
// Debian's python3 (python3-bitcoinlib is a Debian package; a pyenv python on PATH would not see it).
const debianPython = '/usr/bin/python3'
const pythonBitcoinlibInstalled = existsSync('/usr/lib/python3/dist-packages/bitcoin/rpc.py')

let bcoin: BcoinNode
let switchyard: MatrixSwitchyard
let listenPort: number
const key: TestKey = createTestKey(7)
/** Coinbase heights not spent yet (each row spends one). */
const coins = [1, 2, 3, 4, 5]

beforeAll(async () => {
  bcoin = await startBcoin({ id: 'btc-a' })
  // Coinbases of heights 1..5 are mature at height 105.
  await fundKey(bcoin, key, 105)
  listenPort = await freePort()
  switchyard = await startMatrixSwitchyard({
    chains: {
      btc: { family: 'bitcoin', network: 'regtest', health: healthFast, listen: { host: '127.0.0.1', port: listenPort }, nodes: [{ id: 'btc-a', url: bcoin.url }] },
    },
  })
  await switchyard.waitForHead('btc', 105)
}, 90_000)

afterAll(async () => {
  await switchyard?.stop()
  await bcoin?.stop()
})

/** A mature coin for this row, as the node has it. */
async function nextCoin() {
  const height = coins.shift()
  if (height === undefined) throw new Error('out of funded coins: fund more blocks in beforeAll')
  return coinbaseUtxo(bcoin, key, height)
}

/** Mines one block on the node and waits until switchyard's head has it. */
async function mineOne(): Promise<void> {
  const height = Number(await bcoin.rpc('getblockcount'))
  await bcoin.generate(1)
  await switchyard.waitForHead('btc', height + 1)
}

interface TxOut {
  value: number
  confirmations: number
  scriptPubKey: { hex: string }
}

describe('bitcoin-core npm client', () => {
  async function bitcoinCoreRow(host: string): Promise<void> {
    const client = new BitcoinCore({ host, username: 'any', password: 'any', timeout: 10_000 })
    const info = (await client.command('getblockchaininfo')) as { chain: string; blocks: number }
    expect(info.chain).toBe('regtest')
    const count = (await client.command('getblockcount')) as number
    expect(count).toBeGreaterThanOrEqual(105)
    const hash = (await client.command('getblockhash', 1)) as string
    const block = (await client.command('getblock', hash)) as { height: number; hash: string }
    expect(block).toMatchObject({ height: 1, hash })

    const coin = await nextCoin()
    const utxo = (await client.command('gettxout', coin.txid, coin.vout)) as TxOut
    expect(btcToSats(utxo.value)).toBe(coin.valueSats)
    expect(utxo.scriptPubKey.hex).toBe(Buffer.from(key.outputScript).toString('hex'))

    // The client's batch: an array of { method, parameters } → an array of results in order.
    expect(await client.command([{ method: 'getblockcount' }, { method: 'getblockhash', parameters: [1] }])).toEqual([count, hash])

    const tx = signSpend(coin, key, [{ address: p2pkhAddress(9), valueSats: coin.valueSats - 10_000 }])
    expect(await client.command('sendrawtransaction', tx.hex)).toBe(tx.txid)
    await mineOne()
    const confirmed = (await client.command('gettxout', tx.txid, 0)) as TxOut
    expect(confirmed.confirmations).toBe(1)
    expect(btcToSats(confirmed.value)).toBe(coin.valueSats - 10_000)
  }

  // It always POSTs to `<host>/`: with host …/rpc/btc that is /rpc/btc/.
  row('bitcoin-core npm client, host …/rpc/btc (single, batch, send)', () => bitcoinCoreRow(`${switchyard.baseUrl}/rpc/btc`))
  row('bitcoin-core npm client, per-chain port chains.btc.listen (single, batch, send)', () => bitcoinCoreRow(`http://127.0.0.1:${listenPort}`))
})

describe.skipIf(!pythonBitcoinlibInstalled && process.env.CI !== 'true')('python-bitcoinlib (Debian python3-bitcoinlib)', () => {
  const script = join(import.meta.dirname, 'python-bitcoinlib-row.py')
  const python = async (...args: string[]): Promise<any> => {
    const { stdout } = await run(debianPython, [script, serviceUrl(), ...args], { timeout: 30_000 })
    return JSON.parse(stdout)
  }
  const serviceUrl = (): string => `http://any:any@${new URL(switchyard.baseUrl).host}/rpc/btc`

  row('python-bitcoinlib RawProxy (service_url …/rpc/btc)', async () => {
    const coin = await nextCoin()
    const count = Number(await bcoin.rpc('getblockcount'))
    const hash1 = String(await bcoin.rpc('getblockhash', [1]))
    const reads = await python('reads', coin.txid, String(coin.vout))
    expect(reads).toMatchObject({ chain: 'regtest', blocks: count, block1: { height: 1, hash: hash1 } })
    expect(btcToSats(Number(reads.utxo.value))).toBe(coin.valueSats)
    // JSON-RPC 1.1 requests ('version': '1.1'): each reply with result, error and id.
    expect(reads.batch).toEqual([
      { result: count, error: null, id: 'a' },
      { result: hash1, error: null, id: 'b' },
    ])

    const tx = signSpend(coin, key, [{ address: p2pkhAddress(9), valueSats: coin.valueSats - 10_000 }])
    expect(await python('send', tx.hex)).toEqual({ txid: tx.txid })
    await mineOne()
    const confirmed = await python('confirm', tx.txid)
    expect(confirmed.utxo.confirmations).toBe(1)
  })
})

describe('curl as bitcoin-cli speaks (JSON-RPC 1.0, text/plain, basic auth)', () => {
  /** The request bitcoin-cli's help shows: `curl --user … --data-binary '{"jsonrpc":"1.0",…}' -H 'content-type: text/plain;' …`. */
  const curl = async (body: unknown): Promise<{ status: number; json: any; contentType: string }> => {
    const { stdout } = await run(
      'curl',
      ['-s', '--user', 'any:any', '--data-binary', JSON.stringify(body), '-H', 'content-type: text/plain;', '-w', '\n%{http_code} %{content_type}', `${switchyard.baseUrl}/rpc/btc`],
      { timeout: 30_000 },
    )
    const lines = stdout.split('\n')
    const [status, contentType] = lines.pop()!.split(' ') as [string, string]
    return { status: Number(status), json: JSON.parse(lines.join('\n')), contentType }
  }
  const call = (method: string, params: unknown[] = []) => ({ jsonrpc: '1.0', id: 'curltest', method, params })

  row('curl, bitcoin-cli JSON-RPC 1.0 (…/rpc/btc)', async () => {
    const info = await curl(call('getblockchaininfo'))
    expect(info).toMatchObject({ status: 200, json: { result: { chain: 'regtest' }, error: null, id: 'curltest' } })
    expect(info.contentType).toMatch(/^application\/json/)
    const count = (await curl(call('getblockcount'))).json.result as number
    expect(count).toBeGreaterThanOrEqual(105)
    const hash = (await curl(call('getblockhash', [1]))).json.result as string
    expect((await curl(call('getblock', [hash]))).json.result).toMatchObject({ height: 1, hash })

    const coin = await nextCoin()
    const utxo = (await curl(call('gettxout', [coin.txid, coin.vout]))).json.result as TxOut
    expect(btcToSats(utxo.value)).toBe(coin.valueSats)

    const batch = await curl([call('getblockcount'), { ...call('getblockhash', [1]), id: 2 }])
    expect(batch).toMatchObject({ status: 200, json: [{ result: count, error: null, id: 'curltest' }, { result: hash, error: null, id: 2 }] })

    // An error, 1.0 style: Core's legacy HTTP status (404 for method not found) and the error in the body.
    const refused = await curl(call('stop'))
    expect(refused).toMatchObject({ status: 404, json: { result: null, error: { code: -32601 }, id: 'curltest' } })

    const tx = signSpend(coin, key, [{ address: p2pkhAddress(9), valueSats: coin.valueSats - 10_000 }])
    expect((await curl(call('sendrawtransaction', [tx.hex]))).json).toEqual({ result: tx.txid, error: null, id: 'curltest' })
    await mineOne()
    expect((await curl(call('gettxout', [tx.txid, 0]))).json.result).toMatchObject({ confirmations: 1 })
  })
})
