import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { parseConfig } from '../../test/support/parse-test-config.js'
import { createBitcoinAdapter } from './bitcoin-adapter.js'
import { cookieCredentials } from './bitcoin-cookie.js'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})
async function cookieDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-cookie-'))
  dirs.push(dir)
  return dir
}
const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`

describe('cookieCredentials (bitcoind .cookie files)', () => {
  test('the file becomes basic auth, read again on every call (bitcoind writes a new cookie at each start)', async () => {
    const file = join(await cookieDir(), '.cookie')
    await writeFile(file, '__cookie__:0a1b2c\n')
    const source = cookieCredentials(file)
    expect(await source.authorization()).toBe(basic('__cookie__:0a1b2c'))
    await writeFile(file, '__cookie__:ffee99')
    expect(await source.authorization()).toBe(basic('__cookie__:ffee99'))
  })

  test('a missing, unreadable or empty file throws (the node client keeps what it had)', async () => {
    const dir = await cookieDir()
    await expect(cookieCredentials(join(dir, 'missing')).authorization()).rejects.toThrow(/ENOENT/)
    const empty = join(dir, 'empty')
    await writeFile(empty, '\n')
    await expect(cookieCredentials(empty).authorization()).rejects.toThrow('the cookie file is empty')
    if (process.getuid?.() !== 0) {
      // root reads any file: the permission case only means something for other users.
      const locked = join(dir, 'locked')
      await writeFile(locked, '__cookie__:00')
      await chmod(locked, 0o000)
      await expect(cookieCredentials(locked).authorization()).rejects.toThrow(/EACCES/)
    }
  })

  test('the bitcoin adapter gives a cookie source to nodes with a cookieFile, none to the others', async () => {
    const file = join(await cookieDir(), '.cookie')
    await writeFile(file, '__cookie__:abcd')
    const config = parseConfig({ chains: { btc: { family: 'bitcoin', network: 'regtest', nodes: [{ id: 'a', url: 'http://127.0.0.1:1', cookieFile: file }, { id: 'b', url: 'http://127.0.0.1:1', username: 'u', password: 'p' }] } } }, {})
    const chain = config.chains.btc!
    const adapter = createBitcoinAdapter(chain)
    expect(await adapter.credentials?.(chain.nodes[0]!)?.authorization()).toBe(basic('__cookie__:abcd'))
    expect(adapter.credentials?.(chain.nodes[1]!)).toBeUndefined()
  })
})
