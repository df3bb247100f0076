import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load-config.js'
import { type BcoinNode, startBcoin } from '../../src/devnet/bcoin.js'
import { NodeClient } from '../../src/upstream/node-client.js'
import { startFakeNode } from '../../test/support/fake-node.js'
import { createBitcoinAdapter } from './bitcoin-adapter.js'

const adapter = createBitcoinAdapter(parseConfig({ chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'x', url: 'http://127.0.0.1:1' }] } } }, {}).chains.btc!)
const context = { timeoutMs: 1_000, maxLagBlocks: 1 }

describe('probe against real bcoin', () => {
  let regtest: BcoinNode
  let testnet: BcoinNode
  const clients: NodeClient[] = []
  const client = (nodeId: string, url: string) => {
    const created = new NodeClient({ nodeId, url, version: '1.0' })
    clients.push(created)
    return created
  }
  beforeAll(async () => {
    ;[regtest, testnet] = await Promise.all([startBcoin({ id: 'r' }), startBcoin({ id: 't', network: 'testnet' })])
  })
  afterAll(async () => {
    await Promise.all(clients.map((created) => created.close()))
    await Promise.all([regtest.stop(), testnet.stop()])
  })

  test('ok with the height after generating blocks', async () => {
    await regtest.generate(4)
    expect(await adapter.probe(client('r', regtest.url), context)).toMatchObject({ kind: 'ok', height: 4, syncing: false })
  })

  test('a testnet node is wrong-chain for a regtest config', async () => {
    expect(await adapter.probe(client('t', testnet.url), context)).toMatchObject({
      kind: 'wrong-chain',
      reason: 'genesis 000000000933…4943 (testnet3) is not regtest (0f9188f13cb7…2206)',
    })
  })

  test('wrong credentials are a node failure (HTTP 401), not a chain verdict', async () => {
    const url = new URL(regtest.url)
    url.password = 'wrong'
    expect(await adapter.probe(client('r', url.toString()), context)).toMatchObject({ kind: 'failed', failure: { kind: 'http-status', httpStatus: 401 } })
  })

  test('a stopped process times out', async () => {
    regtest.signal('SIGSTOP')
    try {
      expect(await adapter.probe(client('r', regtest.url), { ...context, timeoutMs: 150 })).toMatchObject({ kind: 'failed', failure: { kind: 'timeout' } })
    } finally {
      regtest.signal('SIGCONT')
    }
  })
})

describe('probe replies bcoin cannot give', () => {
  test('Core warm-up (-28) is a failed probe with the node message', async () => {
    const fake = await startFakeNode({ version: '1.0', genesisHash: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206' })
    fake.on('getblockchaininfo', { error: { code: -28, message: 'Loading block index…' } })
    const client = new NodeClient({ nodeId: 'core', url: fake.url, version: '1.0' })
    try {
      expect(await adapter.probe(client, context)).toMatchObject({
        kind: 'failed',
        failure: { kind: 'bad-response', message: 'node core answered getblockchaininfo with error -28: Loading block index…' },
      })
      fake.on('getblockchaininfo', { result: { blocks: 800, headers: 900_000, initialblockdownload: true } })
      expect(await adapter.probe(client, context)).toMatchObject({ kind: 'ok', height: 800, syncing: true, syncingReason: 'initial block download' })
    } finally {
      await client.close()
      await fake.close()
    }
  })
})
