import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, test } from 'vitest'
import type { MethodClass } from '../chain-adapter.js'
import type { ClientConfig, MethodGroup } from '../config/schema.js'
import { type Client, ClientRegistry, decideAccess, decideMethod, keyDigest, methodGroupOf, presentedKeys } from './client-auth.js'

const KEY = 'wallet-key-0123456789'
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

describe('presentedKeys: Bearer, the basic-auth password, x-api-key', () => {
  test.each<[string, IncomingHttpHeaders, string[]]>([
    ['no credentials', {}, []],
    ['Bearer', { authorization: `Bearer ${KEY}` }, [KEY]],
    ['bearer, any case, extra spaces', { authorization: `  bearer   ${KEY} ` }, [KEY]],
    ['basic auth: the password (bitcoin-cli rpcuser/rpcpassword)', { authorization: basic('anyone', KEY) }, [KEY]],
    ['basic auth: a password with colons keeps them', { authorization: basic('u', 'a:b:c-0123456789') }, ['a:b:c-0123456789']],
    ['basic auth: empty user name', { authorization: basic('', KEY) }, [KEY]],
    ['basic auth: no password → nothing', { authorization: `Basic ${Buffer.from('justauser').toString('base64')}` }, []],
    ['basic auth: empty password → nothing', { authorization: basic('user', '') }, []],
    ['x-api-key', { 'x-api-key': KEY }, [KEY]],
    ['x-api-key sent twice: the first', { 'x-api-key': [KEY, 'other'] as unknown as string }, [KEY]],
    ['Authorization first, then x-api-key', { authorization: basic('u', 'node-style-password'), 'x-api-key': KEY }, ['node-style-password', KEY]],
    ['an unknown scheme is ignored', { authorization: `Token ${KEY}` }, []],
    ['an empty Bearer is ignored', { authorization: 'Bearer ' }, []],
  ])('%s', (_name, headers, expected) => {
    expect(presentedKeys(headers)).toEqual(expected)
  })
})

describe('methodGroupOf: the grant group of an adapter method class', () => {
  test.each<[MethodClass, MethodGroup | undefined]>([
    ['read', 'read'],
    ['local', 'read'],
    ['broadcast', 'broadcast'],
    ['forbidden', undefined],
  ])('%s → %s', (kind, group) => {
    expect(methodGroupOf(kind)).toBe(group)
  })
})

const config = (overrides: Partial<ClientConfig> & { name: string }): ClientConfig => ({ chains: ['*'], methods: ['read', 'broadcast', 'subscriptions'], ...overrides })

describe('ClientRegistry', () => {
  const registry = new ClientRegistry([
    config({ name: 'deposits', key: KEY, chains: ['eth'], methods: ['read'] }),
    config({ name: 'withdrawals', keyHash: keyDigest('withdrawals-key-0123').toUpperCase().replace('SHA256:', 'sha256:') }),
  ])

  test('a key names its client; a keyHash (any hex case) works without the key in the config', () => {
    expect(registry.enabled).toBe(true)
    expect(registry.identify([KEY])?.name).toBe('deposits')
    expect(registry.identify(['withdrawals-key-0123'])?.name).toBe('withdrawals')
  })

  test('the first presented key that is configured counts; unknown ones are skipped', () => {
    expect(registry.identify(['not-a-key', KEY])?.name).toBe('deposits')
    expect(registry.identify(['not-a-key'])).toBeUndefined()
    expect(registry.identify([])).toBeUndefined()
    // A key differing in one character, or a prefix of it, is another key.
    expect(registry.identify([`${KEY.slice(0, -1)}X`])).toBeUndefined()
    expect(registry.identify([KEY.slice(0, 8)])).toBeUndefined()
  })

  test('grants: "*" is every chain; groups as configured', () => {
    const deposits = registry.identify([KEY])!
    expect([...(deposits.chains ?? [])]).toEqual(['eth'])
    expect([...deposits.groups]).toEqual(['read'])
    expect(registry.identify(['withdrawals-key-0123'])!.chains).toBeUndefined()
  })

  test('no clients → not enabled', () => {
    expect(new ClientRegistry([]).enabled).toBe(false)
  })

  test('keyDigest is sha256:<hex> of the UTF-8 key', () => {
    expect(keyDigest('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})

describe('decideAccess (whole request) and decideMethod (per call)', () => {
  const ethReader: Client = { name: 'deposits', chains: new Set(['eth']), groups: new Set<MethodGroup>(['read']) }
  const anyChain: Client = { name: 'ops', chains: undefined, groups: new Set<MethodGroup>(['read', 'broadcast']) }

  test.each<[string, Client | undefined, string, string | undefined, number | undefined]>([
    ['no client → 401', undefined, 'eth', 'SY_UNAUTHORIZED', 401],
    ['granted chain → pass', ethReader, 'eth', undefined, undefined],
    ['chain outside the grant → 403', ethReader, 'btc', 'SY_FORBIDDEN', 403],
    ['"*" covers any chain, unknown ones too (the proxy answers 404 for those)', anyChain, 'nope', undefined, undefined],
  ])('%s', (_name, client, chain, code, status) => {
    const error = decideAccess(client, chain)
    expect(error?.code).toBe(code)
    expect(error?.httpStatus).toBe(status)
  })

  test('the 403 names client and chain, never a key', () => {
    const error = decideAccess(ethReader, 'btc')!
    expect(error.toJsonRpcError()).toEqual({ code: -32066, message: 'Forbidden: client "deposits" may not use chain "btc"', data: { code: 'SY_FORBIDDEN', client: 'deposits', chain: 'btc' } })
  })

  test.each<[string, Client, MethodGroup | undefined, string | undefined]>([
    ['a read for a reader', ethReader, 'read', undefined],
    ['a broadcast for a reader → 403', ethReader, 'broadcast', 'SY_FORBIDDEN'],
    ['subscriptions not granted → 403', anyChain, 'subscriptions', 'SY_FORBIDDEN'],
    ['a method off the allowlist has no group: not a grant question (-32601 follows)', ethReader, undefined, undefined],
  ])('%s', (_name, client, group, code) => {
    expect(decideMethod(client, 'eth_sendRawTransaction', group)?.code).toBe(code)
  })
})
