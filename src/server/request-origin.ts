/**
 * Where a browser request comes from and which name it used, for the admin API's defences:
 * the `Host` it was sent to (DNS rebinding: an attacker's name resolving to us) and whether
 * another origin's page sent it (`Sec-Fetch-Site`, `Origin`). Pure functions over header values.
 */
import { isIP } from 'node:net'

/** The host name of a `Host` header value (port and IPv6 brackets removed), lowercase; undefined if malformed. */
export function hostName(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined
  const lower = host.toLowerCase()
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']')
    if (end === -1) return undefined
    const address = lower.slice(1, end)
    return isIP(address) === 6 ? address : undefined
  }
  const name = lower.split(':')[0]!.replace(/\.$/, '')
  return name === '' ? undefined : name
}

/**
 * A rebinding page reaches us under the attacker's own DNS name, never under an IP literal or
 * `localhost` (browsers resolve that themselves), so those are always ours. Other names must be
 * `server.host` or listed in `server.names`.
 */
export function hostAllowed(host: string | undefined, names: readonly string[], listenHost: string): boolean {
  const name = hostName(host)
  if (name === undefined) return false
  if (isIP(name) !== 0 || name === 'localhost') return true
  return name === listenHost.toLowerCase() || names.includes(name)
}

/** `host[:port]`, lowercase, without an explicit :80 or :443 (the `Origin` side never has its scheme's default port). */
function authority(host: string): string {
  return host.toLowerCase().replace(/:(80|443)$/, '')
}

/**
 * Did a page of another origin send this? `Sec-Fetch-Site` (set by the browser itself, never by
 * page scripts; every current browser) decides alone: only `same-origin` and `none` (typed by the
 * user) are ours; `same-site` is not (another port on 127.0.0.1 is same-site). It is the browser's
 * own view, so it stays right behind a reverse proxy that rewrites `Host` (nginx's default). Older
 * browsers send only `Origin`, which must then name the host the request was sent to. Neither
 * header: not a browser (curl, scripts), which the token check covers.
 */
export function crossOrigin(headers: { secFetchSite?: string; origin?: string; host?: string }): boolean {
  const site = headers.secFetchSite?.toLowerCase()
  if (site !== undefined) return site !== 'same-origin' && site !== 'none'
  if (headers.origin === undefined) return false
  let origin: URL
  try {
    origin = new URL(headers.origin)
  } catch {
    return true // "null" (sandboxed frames, file:) and garbage
  }
  if (headers.host === undefined) return true
  // Behind a TLS front the scheme differs (https outside, http here): compare host and port only.
  return authority(origin.host) !== authority(headers.host)
}

/** `application/json`, with or without parameters (charset). */
export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json'
}
