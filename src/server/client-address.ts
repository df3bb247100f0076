/**
 * Who is asking, by network address. Fastify resolves `request.ip` through `server.trustProxy`
 * (@fastify/proxy-addr: `X-Forwarded-For` is walked back from the socket only through trusted
 * proxies); this module adds what the admin API needs on top: loopback, "came through a proxy",
 * and a key for per-client limits that one IPv6 host cannot dodge by changing addresses.
 */
import { isIPv6 } from 'node:net'
import type { IncomingHttpHeaders } from 'node:http'

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain)
}

/** Headers a reverse proxy adds; their presence means the socket's peer is not the client. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host'] as const

export function forwardedByProxy(headers: IncomingHttpHeaders): boolean {
  return FORWARDING_HEADERS.some((name) => headers[name] !== undefined)
}

/**
 * A loopback client in the sense of "someone on this machine": the socket is loopback and nothing
 * says it relays someone else. A same-host reverse proxy connects from 127.0.0.1 for every client
 * on the internet, so a forwarded request is never local, whatever its socket.
 */
export function isLocalClient(socketAddress: string | undefined, headers: IncomingHttpHeaders): boolean {
  return isLoopback(socketAddress) && !forwardedByProxy(headers)
}

/**
 * The key per-client limits count under: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its
 * /64 (one host usually owns a whole /64 and could otherwise take a fresh address per attempt).
 */
export function clientKey(address: string): string {
  const plain = address.startsWith('::ffff:') && !isIPv6(address.slice('::ffff:'.length)) ? address.slice('::ffff:'.length) : address
  if (!isIPv6(plain)) return plain
  return `${expandIPv6(plain).slice(0, 4).join(':')}::/64`
}

/** The eight hextets of an IPv6 address (zone id dropped), lowercase without leading zeros. */
function expandIPv6(address: string): string[] {
  const bare = address.split('%')[0]!.toLowerCase()
  const [head, tail] = bare.includes('::') ? (bare.split('::') as [string, string]) : [bare, undefined]
  const parse = (part: string): string[] => (part === '' ? [] : part.split(':'))
  let groups = parse(head)
  let rest = tail === undefined ? [] : parse(tail)
  // An embedded IPv4 tail (::ffff:1.2.3.4 style) is two hextets.
  const toHextets = (list: string[]): string[] =>
    list.flatMap((group) => {
      if (!group.includes('.')) return [group]
      const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number]
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
    })
  groups = toHextets(groups)
  rest = toHextets(rest)
  const missing = tail === undefined ? 0 : 8 - groups.length - rest.length
  return [...groups, ...Array.from({ length: missing }, () => '0'), ...rest].map((group) => Number.parseInt(group, 16).toString(16))
}
