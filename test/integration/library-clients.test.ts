/**
 * The library integrations against real nodes, in-process (no HTTP): the ethers v6 provider and the
 * viem transport through a proxy of three anvils that are one chain (same genesis, no automine,
 * identical mining), and the typed bitcoin RPC through a proxy of two bcoin regtest nodes with
 * the same chain. The proxy comes from `src/core.ts` with the family passed in, as a user of
 * `switchyard/core` builds it.
 */
import { Contract, HDNodeWallet, Interface, Transaction, type TransactionRequest, Wallet, getCreateAddress, isError, parseEther, parseUnits } from 'ethers'
import { BaseError, ContractFunctionRevertedError, MethodNotFoundRpcError, RpcRequestError, createPublicClient, createWalletClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { BitcoinRpcError, bitcoinFamily, bitcoinRpc, bitcoinRpcErrorCodes } from '../../chains/bitcoin/index.js'
import { ethersProvider, evmFamily } from '../../chains/evm/index.js'
import { viemTransport } from '../../chains/evm/viem-transport.js'
import { type AnvilNode, startAnvil, stopAll } from '../../src/devnet/anvil.js'
import { type BcoinNode, copyBlocks, startBcoin } from '../../src/devnet/bcoin.js'
import { waitFor } from '../../src/devnet/wait-for.js'
import { NodeRpcError, type Proxy, ProxyError, type RequestEvent, createProxy } from '../../src/core.js'
import { type FundedUtxo, type TestKey, btcToSats, createTestKey, fundKey, p2pkhAddress, signSpend } from '../support/bitcoin-wallet.js'
import { recordFigure } from '../support/figures.js'

/** anvil's default accounts (its default mnemonic): one sender per test, so no two tests share a nonce. */
const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'
const account = (index: number): HDNodeWallet => HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`)
const RECIPIENT = '0x000000000000000000000000000000000000dEaD'

/** A contract whose every call reverts with `InsufficientLiquidity(5)`, to see revert data decoded by each client. */
const reverterAbi = new Interface(['function quote(uint256 amount) view returns (uint256)', 'error InsufficientLiquidity(uint256 available)'])
const REVERT_DATA = reverterAbi.encodeErrorResult('InsufficientLiquidity', [5n])

/** Init code: returns a runtime that copies the revert data from its own code and reverts with it. */
function reverterInitCode(): string {
  const byte = (value: number) => value.toString(16).padStart(2, '0')
  const data = REVERT_DATA.slice(2)
  // CODECOPY(0, 12, len) REVERT(0, len): 12 bytes of code, then the data.
  const runtime = `60${byte(data.length / 2)}600c60003960${byte(data.length / 2)}6000fd${data}`
  // CODECOPY(0, 12, len) RETURN(0, len): 12 bytes of code, then the runtime.
  return `0x60${byte(runtime.length / 2)}600c60003960${byte(runtime.length / 2)}6000f3${runtime}`
}

/** A transfer signed offline with every field set (nothing asked of a node). */
function signedTransfer(wallet: Wallet | HDNodeWallet, fields: TransactionRequest): Promise<string> {
  return wallet.signTransaction({ chainId: 31337, type: 2, gasLimit: 21_000n, maxFeePerGas: parseUnits('100', 'gwei'), maxPriorityFeePerGas: parseUnits('1', 'gwei'), to: RECIPIENT, value: 1n, nonce: 0, ...fields })
}

describe('evm: ethers provider and viem transport through three anvils', () => {
  let anvils: AnvilNode[] = []
  let proxy: Proxy
  let reverter: string
  const requests: RequestEvent[] = []

  /** Once every running node holds `hash` (the fan-out), mines one identical block on each and lets the proxy see it. */
  async function mine(hash: string, nodes: AnvilNode[] = anvils): Promise<void> {
    await waitFor(async () => (await Promise.all(nodes.map((anvil) => anvil.rpc('eth_getTransactionByHash', [hash])))).every((tx) => tx !== null), { timeoutMs: 10_000, what: `${hash} in every pool` })
    await Promise.all(nodes.map((anvil) => anvil.mine(1)))
    await proxy.probe('eth')
  }

  beforeAll(async () => {
    anvils = await Promise.all(['lib-a', 'lib-b', 'lib-c'].map((id) => startAnvil({ id, noMining: true })))
    // The reverting contract, deployed straight to every node (block 1), then block 2.
    const deployer = account(9)
    const deploy = await deployer.signTransaction({ chainId: 31337, type: 2, nonce: 0, gasLimit: 200_000n, maxFeePerGas: parseUnits('100', 'gwei'), maxPriorityFeePerGas: parseUnits('1', 'gwei'), data: reverterInitCode() })
    await Promise.all(anvils.map((anvil) => anvil.rpc('eth_sendRawTransaction', [deploy])))
    await Promise.all(anvils.map((anvil) => anvil.mine(2)))
    reverter = getCreateAddress({ from: deployer.address, nonce: 0 })
    for (const anvil of anvils) expect(await anvil.rpc('eth_getCode', [reverter, 'latest'])).not.toBe('0x')
    proxy = createProxy(
      {
        journal: { path: ':memory:' },
        chains: {
          // Probes only when a test asks (proxy.probe): routing facts change only by what a test does.
          // finalityDepth 1: block 1 is cacheable from the start, to see cached answers reach the clients.
          eth: { family: 'evm', chainId: 31337, health: { intervalMs: 600_000 }, broadcast: { fanout: 3 }, cache: { finalityDepth: 1 }, nodes: anvils.map((anvil) => ({ id: anvil.id, url: anvil.url })) },
        },
      },
      { adapters: { evm: evmFamily } },
    )
    proxy.events.on('request:complete', (event) => requests.push(event))
    await proxy.start()
    expect(proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'healthy', 'healthy'])
  }, 60_000)

  afterAll(async () => {
    await proxy?.close()
    await stopAll(anvils)
  })

  test('ethers: network from the config (no eth_chainId asked), block number, a block, balances, concurrent calls', async () => {
    const provider = ethersProvider(proxy, 'eth')
    try {
      requests.length = 0
      expect((await provider.getNetwork()).chainId).toBe(31337n)
      expect(await provider.getBlockNumber()).toBe(2)
      const block = await provider.getBlock(1)
      expect(block?.hash).toBe(((await anvils[0]!.rpc('eth_getBlockByNumber', ['0x1', false])) as { hash: string }).hash)
      const sender = account(1).address
      expect(await provider.getBalance(sender)).toBe(BigInt(String(await anvils[1]!.rpc('eth_getBalance', [sender, 'latest']))))
      const [count, code, nonce] = await Promise.all([provider.getBlockNumber(), provider.getCode(reverter), provider.getTransactionCount(account(9).address)])
      expect([count, code.length > 2, nonce]).toEqual([2, true, 1])
      expect(requests.map((event) => event.method)).not.toContain('eth_chainId')
      expect(requests.every((event) => event.outcome === 'answer')).toBe(true)
      // An answer from the proxy's cache is shared and frozen: ethers gets a copy it may change.
      await provider.send('eth_getBlockByHash', [block!.hash, false])
      expect((await proxy.call('eth', { method: 'eth_getBlockByHash', params: [block!.hash, false] })).cached).toBe(true)
      expect(Object.isFrozen(await provider.send('eth_getBlockByHash', [block!.hash, false]))).toBe(false)
      expect(() => ethersProvider(proxy, 'nope')).toThrow(expect.objectContaining({ code: 'SY_UNKNOWN_CHAIN' }))
      expect(() => viemTransport(proxy, 'nope')).toThrow(expect.objectContaining({ code: 'SY_UNKNOWN_CHAIN' }))
    } finally {
      provider.destroy()
    }
  })

  test('ethers: wallet.sendTransaction goes through the broadcast engine (fan-out to every node, journaled), then confirms', async () => {
    const provider = ethersProvider(proxy, 'eth', { pollingInterval: 100 })
    try {
      const wallet = new Wallet(account(1).privateKey, provider)
      const before = await provider.getBalance(RECIPIENT)
      const tx = await wallet.sendTransaction({ to: RECIPIENT, value: parseEther('0.5') })
      await proxy.drainBroadcasts('eth')
      const record = await proxy.broadcastStatus('eth', tx.hash)
      expect(record).toMatchObject({ chain: 'eth', txid: tx.hash, status: 'pending', sender: account(1).address.toLowerCase(), nonce: 0 })
      expect(record!.outcomes.map((outcome) => [outcome.nodeId, outcome.outcome]).sort()).toEqual([
        ['lib-a', 'accepted'],
        ['lib-b', 'accepted'],
        ['lib-c', 'accepted'],
      ])
      await mine(tx.hash)
      const receipt = await tx.wait()
      expect(receipt?.status).toBe(1)
      expect(await provider.getBalance(RECIPIENT, receipt!.blockNumber)).toBe(before + parseEther('0.5'))
    } finally {
      provider.destroy()
    }
  })

  test("ethers: a revert's custom error decoded from the node's data; a node's refusal mapped (INSUFFICIENT_FUNDS); switchyard's errors keep their code", async () => {
    const provider = ethersProvider(proxy, 'eth')
    try {
      const reverted = await new Contract(reverter, reverterAbi, provider).getFunction('quote')(10n).catch((error: unknown) => error)
      expect(isError(reverted, 'CALL_EXCEPTION')).toBe(true)
      const callException = reverted as { revert: { name: string; args: unknown[] } }
      expect(callException.revert.name).toBe('InsufficientLiquidity')
      expect([...callException.revert.args]).toEqual([5n])
      // Below the Contract, the provider's error holds the node's JSON-RPC error untouched: anvil's code 3 and the revert data.
      const fromProvider = await provider.call({ to: reverter, data: reverterAbi.encodeFunctionData('quote', [10n]) }).catch((error: unknown) => error)
      expect(isError(fromProvider, 'CALL_EXCEPTION')).toBe(true)
      expect((fromProvider as { data: string }).data).toBe(REVERT_DATA)
      expect((fromProvider as { info: { error: unknown } }).info.error).toMatchObject({ code: 3, data: REVERT_DATA, message: expect.stringMatching(/revert/) })

      // Signed by an empty account: the node refuses it; the broadcast is journaled as rejected.
      const poor = Wallet.createRandom()
      const raw = await signedTransfer(poor, {})
      const refused = await provider.broadcastTransaction(raw).catch((error: unknown) => error)
      expect(isError(refused, 'INSUFFICIENT_FUNDS')).toBe(true)
      expect((refused as { info: { error: { code: number; message: string } } }).info.error).toMatchObject({ code: -32003, message: expect.stringMatching(/insufficient funds/i) })
      expect(await proxy.broadcastStatus('eth', Transaction.from(raw).hash!)).toMatchObject({ status: 'rejected' })

      // A method switchyard refuses: ethers' generic error, with the ProxyError and its JSON-RPC form.
      const forbidden = await provider.send('eth_accounts', []).catch((error: unknown) => error)
      expect(isError(forbidden, 'UNKNOWN_ERROR')).toBe(true)
      const forbiddenInfo = (forbidden as { error: { code: number; data: { code: string } }; info?: { proxyError?: ProxyError } })
      expect(forbiddenInfo.error).toMatchObject({ code: -32601, data: { code: 'SY_METHOD_NOT_ALLOWED' } })
      expect(forbiddenInfo.info?.proxyError?.code).toBe('SY_METHOD_NOT_ALLOWED')

      // No routable node (HTTP would say 503): SERVER_ERROR, as ethers reports a 503 over HTTP.
      for (const anvil of anvils) proxy.cordon('eth', anvil.id, 'library test')
      try {
        const unavailable = await provider.send('eth_blockNumber', []).catch((error: unknown) => error)
        expect(isError(unavailable, 'SERVER_ERROR')).toBe(true)
        expect((unavailable as { info: { proxyError: ProxyError } }).info.proxyError.code).toBe('SY_NO_ROUTABLE_NODE')
      } finally {
        for (const anvil of anvils) proxy.uncordon('eth', anvil.id)
        await proxy.probe('eth')
      }
      expect(await provider.send('eth_blockNumber', [])).toMatch(/^0x/)
    } finally {
      provider.destroy()
    }
  })

  test('viem: reads, sendRawTransaction through the broadcast engine (journaled, confirmed), revert and refusals as viem errors, no retry of its own', async () => {
    const transport = viemTransport(proxy, 'eth')
    const client = createPublicClient({ chain: foundry, transport, pollingInterval: 100 })
    expect(await client.getChainId()).toBe(31337)
    const height = await client.getBlockNumber({ cacheTime: 0 })
    expect(height).toBe(BigInt(await anvils[0]!.blockNumber()))
    const sender = privateKeyToAccount(account(2).privateKey as `0x${string}`)
    expect(await client.getBalance({ address: sender.address })).toBe(BigInt(String(await anvils[2]!.rpc('eth_getBalance', [sender.address, 'latest']))))

    const wallet = createWalletClient({ account: sender, chain: foundry, transport })
    const request = await wallet.prepareTransactionRequest({ to: RECIPIENT, value: 10n ** 17n })
    const serializedTransaction = await wallet.signTransaction(request)
    const hash = await client.sendRawTransaction({ serializedTransaction })
    await proxy.drainBroadcasts('eth')
    const record = await proxy.broadcastStatus('eth', hash)
    expect(record?.status).toBe('pending')
    expect(record!.outcomes.map((outcome) => outcome.nodeId).sort()).toEqual(['lib-a', 'lib-b', 'lib-c'])
    await mine(hash)
    expect((await client.waitForTransactionReceipt({ hash, pollingInterval: 100 })).status).toBe('success')

    // Revert data decoded against the ABI, as over viem's http transport.
    const reverted = await client.readContract({ address: reverter as `0x${string}`, abi: [{ type: 'function', name: 'quote', stateMutability: 'view', inputs: [{ name: 'amount', type: 'uint256' }], outputs: [{ type: 'uint256' }] }, { type: 'error', name: 'InsufficientLiquidity', inputs: [{ name: 'available', type: 'uint256' }] }], functionName: 'quote', args: [10n] }).catch((error: unknown) => error)
    const revert = (reverted as BaseError).walk((error) => error instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null
    expect(revert?.data).toMatchObject({ errorName: 'InsufficientLiquidity', args: [5n] })

    // The node's refusal: viem's typed error (-32003), the node's message in RpcRequestError.
    const refused = await client.sendRawTransaction({ serializedTransaction: (await signedTransfer(Wallet.createRandom(), {})) as `0x${string}` }).catch((error: unknown) => error)
    const refusal = (refused as BaseError).walk((error) => error instanceof RpcRequestError) as RpcRequestError | null
    expect(refusal).toMatchObject({ code: -32003, details: expect.stringMatching(/insufficient funds/i), url: 'switchyard:eth' })

    // switchyard's refusal of a method: viem's MethodNotFoundRpcError, the SY code in data.
    const forbidden = await client.request({ method: 'eth_coinbase' }).catch((error: unknown) => error)
    expect(forbidden).toBeInstanceOf(MethodNotFoundRpcError)
    expect(((forbidden as BaseError).walk((error) => error instanceof RpcRequestError) as RpcRequestError).data).toMatchObject({ code: 'SY_METHOD_NOT_ALLOWED' })

    // No routable node: one call, not viem's retries on top of switchyard's.
    for (const anvil of anvils) proxy.cordon('eth', anvil.id, 'library test')
    try {
      requests.length = 0
      const unavailable = await client.getBlockNumber({ cacheTime: 0 }).catch((error: unknown) => error)
      const rpcError = (unavailable as BaseError).walk((error) => error instanceof RpcRequestError) as RpcRequestError
      expect(rpcError).toMatchObject({ code: -32050, status: 503, data: { code: 'SY_NO_ROUTABLE_NODE' } })
      expect(requests.filter((event) => event.method === 'eth_blockNumber')).toHaveLength(1)
    } finally {
      for (const anvil of anvils) proxy.uncordon('eth', anvil.id)
      await proxy.probe('eth')
    }
  })

  // Last: it stops a node.
  test('failover: with one anvil stopped, ethers and viem calls keep succeeding on the others, and a send still reaches both', async () => {
    const provider = ethersProvider(proxy, 'eth')
    const client = createPublicClient({ chain: foundry, transport: viemTransport(proxy, 'eth') })
    const [a, b, c] = anvils as [AnvilNode, AnvilNode, AnvilNode]
    try {
      await c.stop()
      // Nothing told the proxy yet (no probe): c is still routable, so some call is sent to it,
      // fails, and is answered by another node. Call until one such retry shows.
      const height = BigInt(await a.blockNumber())
      requests.length = 0
      let calls = 0
      const retried = () => requests.find((event) => event.attempts >= 2)
      while (retried() === undefined && calls < 300) {
        calls += 1
        const answered = calls % 2 === 0 ? await provider.send('eth_blockNumber', []).then((hex: string) => BigInt(hex)) : await client.getBlockNumber({ cacheTime: 0 })
        expect(answered).toBe(height)
      }
      expect(retried(), `no call was retried on another node in ${calls} calls`).toMatchObject({ outcome: 'answer', nodeId: expect.stringMatching(/^lib-[ab]$/) })
      expect(requests.every((event) => event.outcome === 'answer')).toBe(true)
      recordFigure('library clients: calls until one was sent to the stopped anvil and failed over', calls)

      const wallet = new Wallet(account(3).privateKey, provider)
      const tx = await wallet.sendTransaction({ to: RECIPIENT, value: parseEther('0.1') })
      await proxy.drainBroadcasts('eth')
      const outcomes = Object.fromEntries((await proxy.broadcastStatus('eth', tx.hash))!.outcomes.map((outcome) => [outcome.nodeId, outcome.outcome]))
      expect([outcomes['lib-a'], outcomes['lib-b']]).toEqual(['accepted', 'accepted'])
      expect(outcomes['lib-c']).not.toBe('accepted')
      await mine(tx.hash, [a, b])
      expect((await tx.wait())?.status).toBe(1)
    } finally {
      provider.destroy()
    }
  })
})

describe('bitcoin: typed RPC through two bcoin regtest nodes', () => {
  let nodes: BcoinNode[] = []
  let proxy: Proxy
  let key: TestKey
  let coin: FundedUtxo

  beforeAll(async () => {
    nodes = await Promise.all(['btc-a', 'btc-b'].map((id) => startBcoin({ id })))
    key = createTestKey(31)
    coin = await fundKey(nodes[0]!, key, 101)
    await copyBlocks(nodes[0]!, [nodes[1]!], 1, 101)
    proxy = createProxy(
      {
        journal: { path: ':memory:' },
        chains: { btc: { family: 'bitcoin', network: 'regtest', health: { intervalMs: 600_000 }, broadcast: { fanout: 2 }, nodes: nodes.map((node) => ({ id: node.id, url: node.url })) } },
      },
      { adapters: { bitcoin: bitcoinFamily } },
    )
    await proxy.start()
    expect(proxy.snapshot().chains[0]!.nodes.map((node) => node.status)).toEqual(['healthy', 'healthy'])
  }, 60_000)

  afterAll(async () => {
    await proxy?.close()
    await Promise.all(nodes.map((node) => node.stop()))
  })

  test('chain reads: blockchain info, count, best hash, block by height in every verbosity bcoin has, header, fee estimate, unspent output', async () => {
    const rpc = bitcoinRpc(proxy, 'btc')
    const best = String(await nodes[0]!.rpc('getbestblockhash'))
    expect(await rpc.getblockchaininfo()).toMatchObject({ chain: 'regtest', blocks: 101, bestblockhash: best })
    expect(await rpc.getblockcount()).toBe(101)
    expect(await rpc.getbestblockhash()).toBe(best)
    expect(await rpc.getblockhash(101)).toBe(best)
    expect(await rpc.getblock(best, 0)).toBe(await nodes[1]!.rpc('getblock', [best, false]))
    const block = await rpc.getblock(best)
    expect(block).toMatchObject({ hash: best, height: 101, confirmations: 1, previousblockhash: await rpc.getblockhash(100) })
    expect(block.tx).toHaveLength(1)
    expect(await rpc.getblock(best, 1)).toEqual(block)
    expect(await rpc.getblockheader(best)).toMatchObject({ hash: best, height: 101, merkleroot: block.merkleroot })
    expect(await rpc.getblockheader(best, false)).toMatch(/^[0-9a-f]{160}$/)
    // bcoin answers the pre-0.17 shape ({ fee: -1, blocks }); Core's `feerate`/`errors` are optional in the type.
    expect(await rpc.estimatesmartfee(6)).toMatchObject({ blocks: 6 })
    expect(await rpc.gettxout(coin.txid, coin.vout)).toMatchObject({ bestblock: best, confirmations: 101, value: coin.valueSats / 1e8, coinbase: true })
    expect(await rpc.gettxout('00'.repeat(32), 0)).toBeNull()
  })

  test('sendrawtransaction goes through the broadcast engine (both mempools, journaled); mempool reads see it', async () => {
    const rpc = bitcoinRpc(proxy, 'btc')
    expect((await rpc.getmempoolinfo()).size).toBe(0)
    const signed = signSpend(coin, key, [{ address: p2pkhAddress(32), valueSats: coin.valueSats - 10_000 }])
    expect(await rpc.sendrawtransaction(signed.hex)).toBe(signed.txid)
    await proxy.drainBroadcasts('btc')
    const record = await proxy.broadcastStatus('btc', signed.txid)
    expect(record?.status).toBe('pending')
    expect(record!.outcomes.map((outcome) => outcome.nodeId).sort()).toEqual(['btc-a', 'btc-b'])
    for (const node of nodes) expect(await node.rpc('getrawmempool')).toContain(signed.txid)
    expect(await rpc.getrawmempool()).toEqual([signed.txid])
    expect((await rpc.getmempoolinfo()).size).toBe(1)
    // bcoin answers the pre-0.19 entry (size, fee) where Core has vsize, fees: fields both have.
    expect(await rpc.getmempoolentry(signed.txid)).toMatchObject({ height: 101, time: expect.any(Number), depends: [] })
    expect(await rpc.getrawtransaction(signed.txid)).toBe(signed.hex)
    const decoded = await rpc.getrawtransaction(signed.txid, true)
    expect(decoded.txid).toBe(signed.txid)
    expect(decoded.vin[0]).toMatchObject({ txid: coin.txid, vout: coin.vout })
    expect(btcToSats(decoded.vout[0]!.value)).toBe(coin.valueSats - 10_000)
  })

  test("a node's error is a BitcoinRpcError (a NodeRpcError) with Core's code; switchyard's own is a ProxyError", async () => {
    const rpc = bitcoinRpc(proxy, 'btc')
    const outOfRange = await rpc.getblockhash(10_000).catch((error: unknown) => error)
    expect(outOfRange).toBeInstanceOf(BitcoinRpcError)
    expect(outOfRange).toBeInstanceOf(NodeRpcError)
    expect(outOfRange).toMatchObject({ name: 'BitcoinRpcError', code: bitcoinRpcErrorCodes.INVALID_PARAMETER, message: expect.stringMatching(/^Block height out of range/), method: 'getblockhash', nodeId: expect.stringMatching(/^btc-[ab]$/) })
    const notInMempool = await rpc.getmempoolentry('11'.repeat(32)).catch((error: unknown) => error)
    expect(notInMempool).toBeInstanceOf(BitcoinRpcError)
    expect((notInMempool as BitcoinRpcError).message).toMatch(/not in mempool/i)
    // Core's verbosity 2 is a node error on bcoin, which takes only booleans there (Core's shape: bitcoin-rpc.test.ts).
    const verbosity2 = await rpc.getblock(await rpc.getbestblockhash(), 2).catch((error: unknown) => error)
    expect(verbosity2).toMatchObject({ name: 'BitcoinRpcError', code: bitcoinRpcErrorCodes.TYPE_ERROR })

    const wallet = await rpc.call('getbalance').catch((error: unknown) => error)
    expect(wallet).toBeInstanceOf(ProxyError)
    expect((wallet as ProxyError).code).toBe('SY_METHOD_NOT_ALLOWED')
    const garbage = await rpc.sendrawtransaction('00ff').catch((error: unknown) => error)
    expect((garbage as ProxyError).code).toBe('SY_INVALID_PARAMS')
    expect(() => bitcoinRpc(proxy, 'nope')).toThrow(expect.objectContaining({ code: 'SY_UNKNOWN_CHAIN' }))
    expect(() => ethersProvider(proxy, 'btc')).toThrow('chain btc (family bitcoin) has no chainId: an ethers provider needs an EVM chain')
  })
})
