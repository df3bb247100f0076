/**
 * bitcoind's cookie authentication: at every start bitcoind writes `__cookie__:<random hex>` to
 * `<datadir>/.cookie`, and accepts it as basic-auth user:password. The file is read again on
 * every `authorization()` call: the node client asks before its first call and after a 401,
 * which is what a restarted bitcoind answers to the old cookie.
 */
import { readFile } from 'node:fs/promises'
import type { CredentialSource } from '../../src/chain-adapter.js'

/** A credential source reading `path`; `authorization()` throws when the file is unreadable or empty. */
export function cookieCredentials(path: string): CredentialSource {
  return {
    async authorization() {
      const cookie = (await readFile(path, 'utf8')).trim()
      // An empty file is bitcoind still starting (or a wrong path): sending "Basic " would earn a 401 anyway.
      if (cookie === '') throw new Error('the cookie file is empty')
      return `Basic ${Buffer.from(cookie).toString('base64')}`
    },
  }
}
