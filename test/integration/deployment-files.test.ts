/**
 * config/example.yaml is the documented config: it loads, and it names every option of the schema.
 * (docker-compose.yml and the Dockerfile are checked in test/deploy/.)
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { expect, test } from 'vitest'
import { parse } from 'yaml'
import { loadConfigFile, testFamilies } from '../support/parse-test-config.js'
import { configSchemaFor } from '../../src/config/schema.js'

test('config/example.yaml documents a config that loads', async () => {
  const config = await loadConfigFile('config/example.yaml', {
    ETH_B_API_KEY: 'k',
    BTC_A_PASS: 'a',
    BTC_B_PASS: 'b',
    SWITCHYARD_ADMIN_TOKEN: 'a-token-of-sixteen-chars',
    ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
  })
  expect(Object.keys(config.chains)).toEqual(['eth', 'btc'])
  expect(config.alerts.webhooks[0]?.format).toBe('slack')
})

test('config/example.yaml names every option of the schema', () => {
  const text = readFileSync('config/example.yaml', 'utf8')
  const missing: string[] = []
  let visited = 0
  const walk = (schema: unknown, path: string): void => {
    // zod v4: unwrap optional/default/prefault wrappers to reach objects, arrays and records.
    let current = schema as { def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown; options?: unknown[] } }
    while (current.def?.innerType !== undefined) current = current.def.innerType as typeof current
    const def = current.def
    if (def?.type === 'object' && def.shape !== undefined) {
      for (const [key, child] of Object.entries(def.shape)) {
        visited += 1
        if (!new RegExp(`(^|\\s|#\\s*)${key}:`, 'm').test(text)) missing.push(`${path}${key}`)
        walk(child, `${path}${key}.`)
      }
    } else if (def?.type === 'array') walk(def.element, path)
    else if (def?.type === 'record') walk(def.valueType, `${path}<name>.`)
    // A chain is one of its families' schemas: each family's own options are walked too.
    else if (def?.type === 'union') for (const option of def.options ?? []) walk(option, path)
  }
  walk(configSchemaFor(testFamilies), '')
  // The walk really reached the nested options (server, health, routing, verify, nodes…).
  expect(visited).toBeGreaterThan(60)
  expect(missing).toEqual([])
})
