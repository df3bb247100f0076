/**
 * docker-compose.yml and its switchyard config are written for real use; no Docker engine runs
 * here, so they are checked as files: structure, loopback-only ports, and a config that loads.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { expect, test } from 'vitest'
import { parse } from 'yaml'
import { loadConfigFile, testFamilies } from '../support/parse-test-config.js'
import { configSchemaFor } from '../../src/config/schema.js'

interface Compose {
  services: Record<string, { image?: string; command?: unknown; ports?: string[]; depends_on?: Record<string, unknown>; environment?: Record<string, string>; healthcheck?: unknown; stop_grace_period?: string }>
  volumes?: Record<string, unknown>
}

test('docker-compose.yml: nodes and switchyard, ports on loopback only, a config that loads and names the compose services', async () => {
  const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true }) as Compose
  expect(Object.keys(compose.services).sort()).toEqual(['anvil-a', 'anvil-b', 'bitcoind-a', 'bitcoind-b', 'switchyard'])
  for (const [name, service] of Object.entries(compose.services)) {
    expect(service.image, name).toMatch(/\S/)
    for (const port of service.ports ?? []) expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:/)
  }
  const switchyard = compose.services.switchyard!
  expect(Object.keys(switchyard.depends_on ?? {}).sort()).toEqual(['anvil-a', 'anvil-b', 'bitcoind-a', 'bitcoind-b'])
  expect(JSON.stringify(switchyard.command)).toContain('--config config/docker.yaml')
  expect(switchyard.healthcheck).toBeDefined()

  const config = await loadConfigFile('config/docker.yaml', { SWITCHYARD_ADMIN_TOKEN: 'a-token-of-sixteen-chars', BITCOIND_RPC_PASSWORD: 'pw' })
  const nodeHosts = Object.values(config.chains).flatMap((chain) => chain.nodes.map((node) => new URL(node.url).hostname))
  expect(nodeHosts.sort()).toEqual(['anvil-a', 'anvil-b', 'bitcoind-a', 'bitcoind-b'])
  expect(config.chains.btc?.nodes.every((node) => node.password === 'pw')).toBe(true)
  expect(config.admin.token).toBe('a-token-of-sixteen-chars')
  // SIGTERM drains for graceMs + drainMs: Docker must not SIGKILL before that.
  const grace = /^(\d+)s$/.exec(switchyard.stop_grace_period ?? '')
  expect(grace).not.toBeNull()
  expect(Number(grace![1]) * 1000).toBeGreaterThan(config.shutdown.graceMs + config.shutdown.drainMs)
})

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
