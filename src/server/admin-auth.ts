/**
 * Who may use /admin: with `admin.token`, requests carrying `Authorization: Bearer <token>`
 * (compared in constant time); without one, loopback clients only. Failures reveal nothing else.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (LOOPBACK.has(address) || address.startsWith('127.'))
}

/** Constant-time comparison of a presented token with the configured one (hashing equalizes lengths). */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

export function adminAuthHook(token: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (token === undefined) {
      if (!isLoopback(request.socket.remoteAddress)) await reply.code(403).send({ error: 'forbidden' })
      return
    }
    const header = request.headers.authorization
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined
    if (presented === undefined || !tokenMatches(presented, token)) await reply.code(401).send({ error: 'unauthorized' })
  }
}
