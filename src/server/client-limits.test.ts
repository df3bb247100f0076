import { describe, expect, test } from 'vitest'
import type { ClientConfig, MethodGroup } from '../config/schema.js'
import { ManualClock } from '../util/clock.js'
import { ClientLimits } from './client-limits.js'

const client = (name: string, rateLimit: ClientConfig['rateLimit']): ClientConfig => ({ name, key: `${name}-key-0123456789`, chains: ['*'], methods: ['read', 'broadcast'], rateLimit })
const calls = (entries: Partial<Record<MethodGroup, number>>): Map<MethodGroup, number> => new Map(Object.entries(entries) as Array<[MethodGroup, number]>)

function setup(clients: ClientConfig[]) {
  const clock = new ManualClock(0)
  return { clock, limits: new ClientLimits(clients, () => clock.now()) }
}

describe('ClientLimits', () => {
  test('a client without rateLimit is never limited', () => {
    const { limits } = setup([client('free', undefined)])
    for (let i = 0; i < 1000; i++) expect(limits.admit('free', calls({ read: 100 })).ok).toBe(true)
  })

  test('overall bucket: the burst passes, then 429 with the wait in whole seconds (at least 1) and in ms', () => {
    const { clock, limits } = setup([client('w', { perSecond: 2, burst: 4 })])
    for (let i = 0; i < 4; i++) expect(limits.admit('w', calls({ read: 1 })).ok).toBe(true)
    const refused = limits.admit('w', calls({ read: 1 }))
    expect(refused.ok).toBe(false)
    if (refused.ok) return
    expect(refused.retryAfterSeconds).toBe(1)
    expect(refused.error.code).toBe('SY_RATE_LIMITED')
    expect(refused.error.httpStatus).toBe(429)
    expect(refused.error.details).toEqual({ client: 'w', bound: 'clients[].rateLimit', perSecond: 2, burst: 4, retryAfterMs: 500 })
    clock.advance(500)
    expect(limits.admit('w', calls({ read: 1 })).ok).toBe(true)
  })

  test('each call of a batch counts; a batch that does not fit takes nothing', () => {
    const { limits } = setup([client('w', { perSecond: 1, burst: 10 })])
    expect(limits.admit('w', calls({ read: 6 })).ok).toBe(true)
    expect(limits.admit('w', calls({ read: 5 })).ok).toBe(false)
    // The refused batch took nothing: the 4 left still pass.
    expect(limits.admit('w', calls({ read: 4 })).ok).toBe(true)
    expect(limits.admit('w', calls({ read: 1 })).ok).toBe(false)
  })

  test('a batch larger than the burst can never pass: told to split it, no Retry-After', () => {
    const { limits } = setup([client('w', { perSecond: 100, burst: 10 })])
    const refused = limits.admit('w', calls({ read: 11 }))
    expect(refused.ok).toBe(false)
    if (refused.ok) return
    expect(refused.retryAfterSeconds).toBeUndefined()
    expect(refused.error.message).toMatch(/a request of 11 calls exceeds the burst of 10 .* split it/)
    expect(refused.error.details).toMatchObject({ calls: 11, burst: 10 })
  })

  test('per-group bucket on top of the overall one: broadcasts run out, reads go on', () => {
    const { clock, limits } = setup([client('w', { perSecond: 100, burst: 100, perGroup: { broadcast: { perSecond: 0.5, burst: 2 } } })])
    expect(limits.admit('w', calls({ broadcast: 2, read: 3 })).ok).toBe(true)
    const refused = limits.admit('w', calls({ broadcast: 1 }))
    expect(refused.ok).toBe(false)
    if (!refused.ok) {
      expect(refused.error.details).toMatchObject({ bound: 'clients[].rateLimit.perGroup.broadcast', retryAfterMs: 2000 })
      expect(refused.retryAfterSeconds).toBe(2)
    }
    expect(limits.admit('w', calls({ read: 50 })).ok).toBe(true)
    // A batch mixing a read with a broadcast that does not fit: neither runs, neither is charged.
    expect(limits.admit('w', calls({ read: 1, broadcast: 1 })).ok).toBe(false)
    clock.advance(2000)
    expect(limits.admit('w', calls({ broadcast: 1 })).ok).toBe(true)
  })

  test('a group limit alone (no overall perSecond)', () => {
    const { limits } = setup([client('w', { perGroup: { broadcast: { perSecond: 1 } } })])
    for (let i = 0; i < 50; i++) expect(limits.admit('w', calls({ read: 10 })).ok).toBe(true)
    expect(limits.admit('w', calls({ broadcast: 1 })).ok).toBe(true)
    expect(limits.admit('w', calls({ broadcast: 1 })).ok).toBe(false)
  })

  test('clients have their own buckets', () => {
    const { limits } = setup([client('a', { perSecond: 1, burst: 1 }), client('b', { perSecond: 1, burst: 1 })])
    expect(limits.admit('a', calls({ read: 1 })).ok).toBe(true)
    expect(limits.admit('a', calls({ read: 1 })).ok).toBe(false)
    expect(limits.admit('b', calls({ read: 1 })).ok).toBe(true)
  })

  test('update: unchanged limits keep their tokens, changed ones start full, removed ones are gone', () => {
    const { limits } = setup([client('a', { perSecond: 1, burst: 1 }), client('b', { perSecond: 1, burst: 1 })])
    limits.admit('a', calls({ read: 1 }))
    limits.admit('b', calls({ read: 1 }))
    limits.update([client('a', { perSecond: 1, burst: 1 }), client('b', { perSecond: 1, burst: 5 })])
    expect(limits.admit('a', calls({ read: 1 })).ok).toBe(false)
    expect(limits.admit('b', calls({ read: 5 })).ok).toBe(true)
    limits.update([client('b', undefined)])
    expect(limits.admit('b', calls({ read: 500 })).ok).toBe(true)
  })
})
