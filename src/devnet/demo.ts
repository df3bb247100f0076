/**
 * `npm run demo`: three anvil nodes and three peered bcoin regtest nodes with switchyard in
 * front. Blocks keep coming; every cycle one node of each chain is made to fall behind and then
 * catch up, so ejection and re-admission can be watched live. Ctrl-C stops everything started.
 *
 * Each chain is ONE chain, so the fork check sees honest nodes agree: eth-a mines (its pending
 * transactions included) and its blocks are copied, identical, to the other anvils; btc-a mines
 * and its blocks spread by P2P. A lagging node catches up with the same blocks.
 *
 * Admin actions need a token: a fresh random one per run goes into the config and is printed
 * once, next to the dashboard URL (it appears nowhere else on the terminal).
 *
 * The config it runs with (node URLs with their credentials, the admin token) is written to
 * DEMO_CONFIG (mode 0600, removed when the demo stops, as its nodes are gone then), so
 * `switchyard check --config <file>` and a hand-started `switchyard --config` can be tried on
 * the demo's nodes.
 *
 * SIGINT and SIGTERM stop every node it started (`npm run demo` passes npm's SIGTERM on through
 * tsx), also during startup.
 *
 * Environment: DEMO_PORT (default 8545, falls back to a free port), DEMO_CYCLE_MS (default
 * 60000: how often a node is made to lag), DEMO_LAG_MS (default 20000: how long it lags),
 * DEMO_CONFIG (default `.switchyard/demo.yaml`, relative to the working directory).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { stringify as toYaml } from 'yaml'
import { type ProxyConfigInput, createProxy } from '../index.js'
import { buildApp } from '../server/build-app.js'
import { type AnvilNode, copyAnvilBlocks, startAnvil } from './anvil.js'
import { type BcoinNode, startPeeredBcoins } from './bcoin.js'

const cycleMs = Number(process.env.DEMO_CYCLE_MS ?? 60_000)
const lagMs = Number(process.env.DEMO_LAG_MS ?? 20_000)
const evmBlockMs = 1_000
const bitcoinBlockMs = 3_000
const configPath = resolve(process.env.DEMO_CONFIG ?? '.switchyard/demo.yaml')

const say = (line: string): void => {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`)
}

async function main(): Promise<void> {
  const stoppers: Array<() => Promise<void>> = []
  const timers: NodeJS.Timeout[] = []
  let stopping = false
  let startup: Promise<void> = Promise.resolve()
  const stopAll = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    for (const timer of timers) clearInterval(timer)
    say('stopping: switchyard, then the nodes')
    // A signal during startup: let the step under way finish so that what it starts gets stopped too.
    await startup.catch(() => undefined)
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined)
    say('stopped everything the demo started')
  }
  // npm passes SIGTERM on (`npm run demo` stopped by a supervisor, `kill <npm pid>`): same as Ctrl-C.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopAll().then(() => process.exit(0)))
  const notStopping = (): void => {
    if (stopping) throw new Error('stopped during startup')
  }

  startup = (async () => {
    say('starting 3 anvil nodes (chain id 31337) and 3 peered bcoin regtest nodes…')
    // No automine: a transaction waits for eth-a's next block, which every node then gets as is.
    // allSettled: a node that started is stopped even when another one failed to.
    const anvilStarts = await Promise.allSettled(['eth-a', 'eth-b', 'eth-c'].map((id) => startAnvil({ id, noMining: true })))
    for (const start of anvilStarts) if (start.status === 'fulfilled') stoppers.push(() => start.value.stop())
    const anvils: AnvilNode[] = anvilStarts.map((start) => {
      if (start.status === 'rejected') throw start.reason
      return start.value
    })
    notStopping()
    const bcoins: BcoinNode[] = await startPeeredBcoins(3, { ids: ['btc-a', 'btc-b', 'btc-c'] })
    for (const bcoin of bcoins) stoppers.push(() => bcoin.stop())
    notStopping()

    // Admin actions (cordon, uncordon, probe) need a token; a fresh one per run, shown once below.
    const adminToken = randomBytes(18).toString('base64url')
    const config: ProxyConfigInput & { server: { host: string; port: number } } = {
      server: { host: '127.0.0.1', port: Number(process.env.DEMO_PORT ?? 8545) },
      log: { level: 'warn' },
      admin: { token: adminToken },
      // The demo's chains start fresh every run, so its broadcasts are not worth keeping.
      journal: { path: ':memory:' },
      chains: {
        eth: {
          family: 'evm',
          chainId: 31337,
          health: { intervalMs: 1_000, maxLagBlocks: 3 },
          // Deposit crediting reads must be confirmed by two nodes.
          verify: { methods: ['eth_getTransactionReceipt', 'eth_getLogs', 'eth_getBlockByNumber', 'eth_getBlockByHash'] },
          nodes: anvils.map((anvil, index) => ({ id: anvil.id, url: anvil.url, wsUrl: anvil.wsUrl, provider: `operator-${index + 1}`, region: 'local' })),
        },
        btc: {
          family: 'bitcoin',
          network: 'regtest',
          health: { intervalMs: 2_000, maxLagBlocks: 1 },
          verify: { methods: ['getrawtransaction', 'getblockhash', 'getblockheader'] },
          nodes: bcoins.map((bcoin, index) => ({ id: bcoin.id, url: bcoin.url, provider: `operator-${index + 1}`, region: 'local' })),
        },
      },
    }
    const proxy = createProxy(config)
    proxy.events.on('node:state', (event) => say(`${event.chain}/${event.nodeId}: ${event.from} → ${event.to} (${event.reason})`))
    proxy.events.on('chain:fork', (event) =>
      say(`${event.chain}: block hashes at ${event.height}: ${event.groups.map((group) => `${group.hash} (${group.nodes.join(', ')})`).join(' vs ')}${event.resolved ? '' : ' (no majority)'}`),
    )
    proxy.events.on('chain:reorg', (event) => say(`${event.chain}: reorg from height ${event.height}, depth ${event.depth}`))
    await proxy.start()
    const app = buildApp(proxy, { logger: false })
    stoppers.push(async () => {
      await app.close()
      await proxy.close()
    })
    notStopping()
    let address: string
    try {
      address = await app.listen({ host: '127.0.0.1', port: proxy.config.server.port })
    } catch {
      address = await app.listen({ host: '127.0.0.1', port: 0 })
    }
    await writeDemoConfig({ ...config, server: { ...config.server, port: Number(new URL(address).port) } })
    stoppers.unshift(() => rm(configPath, { force: true }))

    // Blocks: eth-a mines and every anvil not currently lagging gets the same block; bitcoin blocks
    // come from btc-a and spread by P2P.
    const lagging = new Set<string>()
    const [miner, ...followers] = anvils as [AnvilNode, ...AnvilNode[]]
    // One mining step at a time (a block, then its copies): a timer tick finding one running skips.
    let mining: Promise<void> | undefined
    const mineEvmBlock = async (count = 1, wait = false): Promise<void> => {
      while (mining !== undefined) {
        if (!wait) return
        await mining.catch(() => undefined)
      }
      mining = (async () => {
        await miner.mine(count)
        // Pending transactions a follower holds are dropped from its copy: eth-a's block decides.
        await Promise.all(followers.filter((anvil) => !lagging.has(anvil.id)).map((anvil) => copyAnvilBlocks(miner, anvil, { dropPending: true })))
      })().finally(() => {
        mining = undefined
      })
      await mining
    }
    timers.push(
      setInterval(() => void mineEvmBlock().catch(() => undefined), evmBlockMs),
      setInterval(() => void bcoins[0]!.generate(1).catch(() => undefined), bitcoinBlockMs),
    )

    // Every cycle, the next node of each chain falls behind for lagMs, then catches up. One node
    // at a time: with two of three behind, the quorum head would be theirs and the one in sync `ahead`.
    let turn = 0
    let lagInProgress = false
    const lagOne = async (): Promise<void> => {
      if (lagInProgress) return
      lagInProgress = true
      const anvil = anvils[1 + (turn % 2)]!
      const bcoin = bcoins[1 + (turn % 2)]!
      turn += 1
      say(`demo: ${anvil.id} stops mining and ${bcoin.id} is cut off from its peers for ${Math.round(lagMs / 1000)} s`)
      lagging.add(anvil.id)
      try {
        await bcoin.isolate()
        // Past maxLagBlocks at once (evm 3, bitcoin 1), whatever the block timers manage meanwhile.
        await Promise.all([mineEvmBlock(4, true), bcoins[0]!.generate(2)])
      } catch {
        // A busy node: the block timers still make it fall behind.
      }
      setTimeout(() => {
        void (async () => {
          // The blocks it missed, identical to eth-a's; the next mining tick copies on from there.
          await copyAnvilBlocks(miner, anvil, { dropPending: true })
          lagging.delete(anvil.id)
          await bcoin.reconnect()
          say(`demo: ${anvil.id} and ${bcoin.id} catch up`)
        })()
          .catch(() => undefined)
          .finally(() => {
            lagging.delete(anvil.id)
            lagInProgress = false
          })
      }, lagMs).unref()
    }
    timers.push(setInterval(() => void lagOne().catch(() => undefined), cycleMs))

    say(`switchyard is ready at ${address}`)
    say(`  EVM RPC:        ${address}/rpc/eth      (e.g. eth_blockNumber)`)
    say(`  Bitcoin RPC:    ${address}/rpc/btc      (e.g. getblockcount)`)
    say(`  dashboard:      ${address}/dashboard   (admin token: ${adminToken})`)
    say(`  node health:    ${address}/admin/api/chains   (header Authorization: Bearer <admin token>)`)
    say(`  metrics:        ${address}/metrics`)
    say(`  readiness:      ${address}/readyz`)
    say(`  config:         ${shownPath(configPath)}   (node URLs and the admin token; removed on stop)`)
    say(`  check it:       npx tsx src/cli.ts check --config ${shownPath(configPath)}`)
    say(`a node of each chain will fall behind every ${Math.round(cycleMs / 1000)} s; press Ctrl-C to stop`)
  })()
  try {
    await startup
  } catch (error) {
    if (stopping) return
    say(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
    await stopAll()
    process.exitCode = 1
  }
}

/** Written where only this user can read it: it holds node credentials and the admin token. */
async function writeDemoConfig(config: object): Promise<void> {
  await mkdir(dirname(configPath), { recursive: true })
  const header = '# Written by `npm run demo` for this run (removed when it stops): the nodes and admin token it started with.\n'
  await writeFile(configPath, header + toYaml(config), { mode: 0o600 })
}

function shownPath(path: string): string {
  const fromHere = relative(process.cwd(), path)
  return fromHere.startsWith('..') ? path : fromHere
}

void main()
