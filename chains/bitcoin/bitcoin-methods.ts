/**
 * Bitcoin-family method policy (Core, Litecoin, Dogecoin, BCH nodes). Allowlist from the
 * reliability reference §4.1: chain, mempool and fee reads a wallet service needs. Wallet, mining,
 * node-control, P2P and heavy scan methods never pass (they spend funds, change the node's view of
 * the chain, or take it down).
 */
import type { MethodClass } from '../../src/chain-adapter.js'
import type { RpcCall } from '../../src/jsonrpc/types.js'

const READS = new Set([
  'getblockchaininfo',
  'getblockcount',
  'getbestblockhash',
  'getblockhash',
  'getblockheader',
  'getblock',
  'getchaintips',
  'getdifficulty',
  'getblockstats', // one block per call; §4.1's worry is clients looping it over ranges (rate limits, not the allowlist)
  'getrawtransaction',
  'gettxout',
  'gettxoutproof',
  'verifytxoutproof',
  'getmempoolinfo',
  'getmempoolentry',
  'getmempoolancestors',
  'getmempooldescendants',
  'getrawmempool',
  'testmempoolaccept',
  'estimatesmartfee',
  'estimatefee', // older Litecoin/Dogecoin nodes
  'decoderawtransaction',
  'decodescript',
  'validateaddress',
  'getnetworkinfo',
  'getconnectioncount',
  'getindexinfo',
  'uptime',
  'getinfo', // Dogecoin 1.14
])

/** `read` for the allowlist, `broadcast` for sendrawtransaction, `forbidden` for everything else (case-sensitive, like Core). */
export function classifyBitcoinMethod(method: string): MethodClass {
  if (method === 'sendrawtransaction') return 'broadcast'
  return READS.has(method) ? 'read' : 'forbidden'
}

/**
 * getblockhash N and getblockstats N need a node that has block N. Positional or named params
 * (Core's names: `height`, `hash_or_height`); a block hash or malformed height gives undefined.
 */
export function requiredBitcoinHeight(call: RpcCall): number | undefined {
  if (call.method !== 'getblockhash' && call.method !== 'getblockstats') return undefined
  const params = call.params
  const value = Array.isArray(params) ? params[0] : params?.[call.method === 'getblockhash' ? 'height' : 'hash_or_height']
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined
}
