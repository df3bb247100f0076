import { describe, expect, test } from 'vitest'
import { classifyBitcoinMethod, requiredBitcoinHeight } from './bitcoin-methods.js'

describe('classifyBitcoinMethod', () => {
  test.each([
    'getblockchaininfo', 'getblockcount', 'getbestblockhash', 'getblockhash', 'getblockheader', 'getblock', 'getchaintips',
    'getrawtransaction', 'gettxout', 'getmempoolinfo', 'getmempoolentry', 'getrawmempool', 'estimatesmartfee',
    'decoderawtransaction', 'decodescript', 'validateaddress', 'getnetworkinfo', 'getdifficulty', 'getblockstats',
    'gettxoutproof', 'verifytxoutproof', 'getmempoolancestors', 'getmempooldescendants', 'testmempoolaccept', 'getindexinfo',
    'uptime', 'getconnectioncount', 'estimatefee', 'getinfo',
  ])('%s is a read', (method) => expect(classifyBitcoinMethod(method)).toBe('read'))

  test('sendrawtransaction takes the broadcast path', () => expect(classifyBitcoinMethod('sendrawtransaction')).toBe('broadcast'))

  test.each([
    // node control
    'stop', 'logging', 'setmocktime',
    // chain state manipulation
    'invalidateblock', 'reconsiderblock', 'preciousblock', 'pruneblockchain',
    // heavy or file-writing
    'gettxoutsetinfo', 'scantxoutset', 'scanblocks', 'verifychain', 'dumptxoutset', 'savemempool', 'importmempool',
    // P2P manipulation
    'setban', 'clearbanned', 'addnode', 'disconnectnode', 'setnetworkactive',
    // mining
    'generatetoaddress', 'generatetodescriptor', 'generateblock', 'generate', 'submitblock', 'submitheader', 'prioritisetransaction', 'getblocktemplate',
    // wallet
    'sendtoaddress', 'sendmany', 'send', 'sendall', 'bumpfee', 'walletpassphrase', 'walletlock', 'encryptwallet', 'dumpprivkey',
    'dumpwallet', 'importprivkey', 'importwallet', 'importdescriptors', 'backupwallet', 'createwallet', 'loadwallet', 'settxfee',
    'abandontransaction', 'signrawtransactionwithwallet', 'signmessage', 'listdescriptors', 'listunspent', 'getbalance',
    // unknown, and names only a case-insensitive match would accept (Core's lookup is exact)
    'unknownmethod', '', 'GETBLOCKCOUNT', 'getblockcount ', '__proto__',
  ])('"%s" is forbidden', (method) => expect(classifyBitcoinMethod(method)).toBe('forbidden'))
})

describe('requiredBitcoinHeight', () => {
  test.each<{ method: string; params: unknown[] | Record<string, unknown> | undefined; height: number | undefined }>([
    { method: 'getblockhash', params: [5], height: 5 },
    { method: 'getblockhash', params: [0], height: 0 },
    { method: 'getblockhash', params: { height: 7 }, height: 7 },
    { method: 'getblockstats', params: [9], height: 9 },
    { method: 'getblockstats', params: [9, ['height']], height: 9 },
    { method: 'getblockstats', params: { hash_or_height: 3 }, height: 3 },
    { method: 'getblockstats', params: ['00'.repeat(32)], height: undefined },
    { method: 'getblockhash', params: ['5'], height: undefined },
    { method: 'getblockhash', params: [-1], height: undefined },
    { method: 'getblockhash', params: [1.5], height: undefined },
    { method: 'getblockhash', params: [null], height: undefined },
    { method: 'getblockhash', params: [], height: undefined },
    { method: 'getblockhash', params: {}, height: undefined },
    { method: 'getblockhash', params: { index: 5 }, height: undefined },
    { method: 'getblockhash', params: undefined, height: undefined },
    { method: 'getblock', params: ['00'.repeat(32)], height: undefined },
    { method: 'getblockcount', params: [], height: undefined },
  ])('$method $params → $height', ({ method, params, height }) => {
    expect(requiredBitcoinHeight({ method, params })).toBe(height)
  })
})
