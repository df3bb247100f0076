"""One python-bitcoinlib (Debian python3-bitcoinlib) RawProxy session against switchyard.

usage: python3 python-bitcoinlib-row.py SERVICE_URL reads TXID VOUT
       python3 python-bitcoinlib-row.py SERVICE_URL send RAW_TX_HEX
       python3 python-bitcoinlib-row.py SERVICE_URL confirm TXID
Prints one JSON object with what it read; any error ends it with a traceback and exit 1.
"""
import json
import sys

import bitcoin
import bitcoin.rpc

bitcoin.SelectParams('regtest')
service_url, command, *args = sys.argv[1:]
proxy = bitcoin.rpc.RawProxy(service_url=service_url)


def plain(value):
    return json.loads(json.dumps(value, default=str))


if command == 'reads':
    txid, vout = args[0], int(args[1])
    info = proxy.getblockchaininfo()
    count = proxy.getblockcount()
    block = proxy.getblock(proxy.getblockhash(1))
    utxo = proxy.gettxout(txid, vout)
    batch = proxy._batch([
        {'version': '1.1', 'method': 'getblockcount', 'params': [], 'id': 'a'},
        {'version': '1.1', 'method': 'getblockhash', 'params': [1], 'id': 'b'},
    ])
    print(json.dumps({'chain': info['chain'], 'blocks': count, 'block1': {'height': block['height'], 'hash': block['hash']},
                      'utxo': plain(utxo), 'batch': plain(batch)}))
elif command == 'send':
    print(json.dumps({'txid': proxy.sendrawtransaction(args[0])}))
elif command == 'confirm':
    print(json.dumps({'utxo': plain(proxy.gettxout(args[0], 0))}))
else:
    raise SystemExit('unknown command ' + command)
