/**
 * Reads, interpolates and validates a config file. Every problem is reported at once, each with
 * its path (`chains.eth.nodes[0].url: must be an http(s) URL`), so an operator fixes a file in
 * one pass. JSON is valid YAML, so `.json` content in a `.yaml` file loads too.
 * The chain families are a parameter: each validates its own options (see `FamilyConfigSlice`);
 * `src/index.ts` binds the built-in ones. The config returned is deeply frozen.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import type { $ZodIssue } from 'zod/v4/core'
import { applyFamilyDefaults, configSchemaFor, type FamilyConfigSlice, type ProxyConfig, type ProxyConfigInput } from './schema.js'
import { deepFreeze } from '../util/deep-freeze.js'

export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(source: string, problems: readonly string[]) {
    super(`invalid config ${source}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export type Env = Readonly<Record<string, string | undefined>>

/** The chain families a config may name, by name (`{ evm: evmFamily, bitcoin: bitcoinFamily }`). */
export type ConfigFamilies = Readonly<Record<string, FamilyConfigSlice>>

export async function loadConfigFile(path: string, env: Env, families: ConfigFamilies): Promise<ProxyConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable'
    throw new ConfigError(path, [`cannot read the file (${code})`])
  }
  return parseConfigText(text, env, path, families)
}

export function parseConfigText(text: string, env: Env, source: string, families: ConfigFamilies): ProxyConfig {
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (error) {
    throw new ConfigError(source, [`not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`])
  }
  return parseConfig(raw, env, source, families)
}

/** Validates a config object (as parsed from YAML, or written in code by a library user). */
export function parseConfig(raw: unknown | ProxyConfigInput, env: Env, source: string, families: ConfigFamilies): ProxyConfig {
  const problems: string[] = []
  const interpolated = interpolate(raw, env, [], problems)
  const parsed = configSchemaFor(families).safeParse(interpolated)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, interpolated, families))
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(source, problems)
  const chains: ProxyConfig['chains'] = {}
  for (const [name, chain] of Object.entries(parsed.data.chains)) {
    // The schema accepted only known families.
    chains[name] = applyFamilyDefaults(name, chain, (families[chain.family] as FamilyConfigSlice).defaults)
  }
  // Frozen: no part of a running proxy can change what another part reads; a reload replaces it whole.
  return deepFreeze({ ...parsed.data, chains })
}

/**
 * An option the chain's family does not take (`chainId` on a bitcoin chain) is named at its own
 * path, with the families that do take it; other problems keep zod's wording.
 */
function describeIssue(issue: $ZodIssue, input: unknown, families: ConfigFamilies): string[] {
  const level = issue.code === 'unrecognized_keys' ? familyLevel(issue.path) : undefined
  if (issue.code !== 'unrecognized_keys' || level === undefined) return [`${formatPath(issue.path)}: ${issue.message}`]
  const chain = (input as { chains: Record<string, { family: string }> }).chains[issue.path[1] as string]
  const family = chain?.family ?? '?'
  const noun = level === 'nodes' ? 'nodes' : 'chains'
  return issue.keys.map((key) => {
    const takers = Object.values(families)
      .filter((other) => other.name !== family && Object.hasOwn(optionsAt(other, level), key))
      .map((other) => other.name)
    const hint = takers.length === 0 ? '' : ` (only ${takers.join(', ')} ${noun} take it)`
    return `${formatPath([...issue.path, key])}: not an option of ${family} ${noun}${hint}`
  })
}

/** Where in a chain an unknown key sits, when that level has family options. */
function familyLevel(path: readonly PropertyKey[]): 'chain' | 'nodes' | 'broadcast' | undefined {
  if (path[0] !== 'chains' || path.length < 2) return undefined
  if (path.length === 2) return 'chain'
  if (path.length === 3 && path[2] === 'broadcast') return 'broadcast'
  if (path.length === 4 && path[2] === 'nodes') return 'nodes'
  return undefined
}

function optionsAt(family: FamilyConfigSlice, level: 'chain' | 'nodes' | 'broadcast'): object {
  if (level === 'chain') return family.chainOptions
  return (level === 'nodes' ? family.nodeOptions : family.broadcastOptions) ?? {}
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
