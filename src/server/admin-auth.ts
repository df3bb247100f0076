/**
 * Bearer tokens (admin and metrics): reading one from a request and comparing it with the
 * configured one in constant time. Who may do what with it is `admin-guard.ts`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

/** Constant-time comparison of a presented token with the configured one (hashing equalizes lengths). */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined
  const match = /^Bearer (.+)$/i.exec(header)
  return match === null ? undefined : match[1]
}

/** How a request's token compares with the configured one. */
export type PresentedToken = 'missing' | 'right' | 'wrong'

export function checkToken(header: string | string[] | undefined, expected: string): PresentedToken {
  const presented = bearerToken(header)
  if (presented === undefined) return 'missing'
  return tokenMatches(presented, expected) ? 'right' : 'wrong'
}
