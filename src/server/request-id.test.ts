import { describe, expect, test } from 'vitest'
import { nextRequestId } from './request-id.js'

describe('nextRequestId', () => {
  test('36 characters in a UUID shape; one process prefix; every id distinct', () => {
    const ids = Array.from({ length: 1_000 }, () => nextRequestId())
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(new Set(ids).size).toBe(ids.length)
    expect(new Set(ids.map((id) => id.slice(0, 24))).size).toBe(1)
  })
})
