/**
 * Reads, interpolates and validates a config file. Every problem is reported at once, each with
 * its path (`chains.eth.nodes[0].url: must be an http(s) URL`), so an operator fixes a file in
 * one pass. JSON is valid YAML, so `.json` content in a `.yaml` file loads too.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { applyFamilyDefaults, configSchema, type ProxyConfig, type ProxyConfigInput } from './schema.js'

export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(source: string, problems: readonly string[]) {
    super(`invalid config ${source}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export type Env = Readonly<Record<string, string | undefined>>

export async function loadConfigFile(path: string, env: Env = process.env): Promise<ProxyConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable'
    throw new ConfigError(path, [`cannot read the file (${code})`])
  }
  return parseConfigText(text, env, path)
}

export function parseConfigText(text: string, env: Env = process.env, source = '<text>'): ProxyConfig {
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (error) {
    throw new ConfigError(source, [`not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`])
  }
  return parseConfig(raw, env, source)
}

/** Validates a config object (as parsed from YAML, or written in code by a library user). */
export function parseConfig(raw: unknown | ProxyConfigInput, env: Env = process.env, source = '<object>'): ProxyConfig {
  const problems: string[] = []
  const interpolated = interpolate(raw, env, [], problems)
  const parsed = configSchema.safeParse(interpolated)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${formatPath(issue.path)}: ${issue.message}`)
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(source, problems)
  const chains: ProxyConfig['chains'] = {}
  for (const [name, chain] of Object.entries(parsed.data.chains)) {
    const at = `chains.${name}`
    const ids = new Set<string>()
    chain.nodes.forEach((node, index) => {
      if (ids.has(node.id)) problems.push(`${at}.nodes[${index}].id: duplicate node id "${node.id}"`)
      ids.add(node.id)
      if (chain.family !== 'evm' && node.wsUrl !== undefined) problems.push(`${at}.nodes[${index}].wsUrl: only evm nodes take a wsUrl`)
      if (chain.family !== 'bitcoin' && node.cookieFile !== undefined) problems.push(`${at}.nodes[${index}].cookieFile: only bitcoin nodes take a cookieFile`)
    })
    if (chain.family === 'evm' && chain.chainId === undefined) problems.push(`${at}.chainId: required for evm chains`)
    if (chain.family === 'bitcoin' && chain.network === undefined && chain.genesisHash === undefined) {
      problems.push(`${at}.network: required for bitcoin chains (or give genesisHash)`)
    }
    if (chain.family === 'bitcoin' && chain.chainId !== undefined) problems.push(`${at}.chainId: only evm chains take a chainId`)
    if (chain.health.readmitBackoffMaxMs < chain.health.readmitBackoffBaseMs) {
      problems.push(`${at}.health.readmitBackoffMaxMs: must be at least readmitBackoffBaseMs`)
    }
    chains[name] = applyFamilyDefaults(name, chain)
  }
  if (problems.length > 0) throw new ConfigError(source, problems)
  return { ...parsed.data, chains }
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in string values (after YAML parsing, so a secret
 * containing `#` or `:` cannot change the document's structure). `$${` stands for a literal `${`.
 */
function interpolate(value: unknown, env: Env, path: (string | number)[], problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$${') return '${'
      const found = env[name as string]
      if (found !== undefined && found !== '') return found
      if (fallback !== undefined) return fallback
      problems.push(`${formatPath(path)}: environment variable ${name} is not set`)
      return ''
    })
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, [...path, index], problems))
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, env, [...path, key], problems)
    return out
  }
  return value
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out === '' ? '(root)' : out
}
