import { describe, expect, test } from 'vitest'
import { classifyBitcoinMethod, isBitcoinNodeBehindAnswer, requiredBitcoinHeight } from './bitcoin-methods.js'

describe('classifyBitcoinMethod', () => {
  test.each([
    'getblockchaininfo', 'getblockcount', 'getbestblockhash', 'getblockhash', 'getblockheader', 'getblock', 'getchaintips',
    'getrawtransaction', 'gettxout', 'getmempoolinfo', 'getmempoolentry', 'getrawmempool', 'estimatesmartfee',
    'decoderawtransaction', 'decodescript', 'validateaddress', 'getnetworkinfo', 'testmempoolaccept', 'getblockstats',
  ])('%s is a read', (method) => expect(classifyBitcoinMethod(method)).toBe('read'))

  test('sendrawtransaction takes the broadcast path', () => expect(classifyBitcoinMethod('sendrawtransaction')).toBe('broadcast'))

  test.each([
    // node control, chain manipulation, heavy/file-writing, P2P, mining, wallet (§4.1)
    'stop', 'logging', 'setmocktime', 'invalidateblock', 'reconsiderblock', 'preciousblock', 'pruneblockchain',
    'gettxoutsetinfo', 'scantxoutset', 'scanblocks', 'verifychain', 'dumptxoutset', 'savemempool', 'importmempool',
    'setban', 'clearbanned', 'addnode', 'disconnectnode', 'setnetworkactive',
    'generatetoaddress', 'generatetodescriptor', 'generateblock', 'submitblock', 'submitheader', 'prioritisetransaction', 'getblocktemplate',
    'sendtoaddress', 'sendmany', 'send', 'sendall', 'bumpfee', 'walletpassphrase', 'walletlock', 'encryptwallet', 'dumpprivkey',
    'dumpwallet', 'importprivkey', 'importwallet', 'importdescriptors', 'backupwallet', 'createwallet', 'loadwallet', 'settxfee',
    'abandontransaction', 'signrawtransactionwithwallet', 'signmessage', 'listdescriptors', 'listunspent', 'getbalance',
    'unknownmethod', 'GETBLOCKCOUNT',
  ])('%s is forbidden', (method) => expect(classifyBitcoinMethod(method)).toBe('forbidden'))
})

describe('requiredBitcoinHeight', () => {
  test.each<{ method: string; params: unknown; height: number | undefined }>([
    { method: 'getblockhash', params: [5], height: 5 },
    { method: 'getblockhash', params: [0], height: 0 },
    { method: 'getblockhash', params: { height: 7 }, height: 7 },
    { method: 'getblockstats', params: [9], height: 9 },
    { method: 'getblockstats', params: ['00'.repeat(32)], height: undefined },
    { method: 'getblockstats', params: { hash_or_height: 3 }, height: 3 },
    { method: 'getblockhash', params: ['5'], height: undefined },
    { method: 'getblockhash', params: [-1], height: undefined },
    { method: 'getblockhash', params: [1.5], height: undefined },
    { method: 'getblockhash', params: [], height: undefined },
    { method: 'getblockhash', params: undefined, height: undefined },
    { method: 'getblock', params: ['00'.repeat(32)], height: undefined },
    { method: 'getblockcount', params: [], height: undefined },
  ])('$method $params → $height', ({ method, params, height }) => {
    expect(requiredBitcoinHeight({ method, params: params as never })).toBe(height)
  })
})

describe('isBitcoinNodeBehindAnswer', () => {
  test.each<{ method: string; code: number; message: string; behind: boolean }>([
    { method: 'getblockhash', code: -8, message: 'Block height out of range', behind: true },
    { method: 'getblockhash', code: -8, message: 'Block height out of range.', behind: true },
    { method: 'getblockstats', code: -8, message: 'Target block height 500 after current tip 100', behind: false },
    { method: 'getblockhash', code: -1, message: 'JSON value is not an integer as expected', behind: false },
    { method: 'getblock', code: -5, message: 'Block not found', behind: false },
  ])('$method "$message" → $behind', ({ method, code, message, behind }) => {
    expect(isBitcoinNodeBehindAnswer({ method, params: [] }, { code, message })).toBe(behind)
  })
})
