/**
 * Re-reads the config where the process got it (the CLI's `--config` file) and applies it with
 * `Proxy.reload`, for SIGHUP and `POST /admin/api/reload`. An invalid file, or one whose chains
 * cannot be built, is refused with every problem listed, and the running config stays.
 */
import type { ProxyConfig } from '../config/schema.js'
import { isProxyError } from '../errors/proxy-error.js'
import type { Proxy, ReloadResult } from '../proxy.js'

/** Where the config comes from: reads and validates it (throws `ConfigError` with all problems). */
export type ConfigSource = () => Promise<ProxyConfig>

export type ReloadOutcome = ({ ok: true } & ReloadResult) | { ok: false; problems: string[] }

export class ConfigReloader {
  readonly #proxy: Proxy
  readonly #source: ConfigSource
  #reloads = 0
  #refusals = 0

  constructor(proxy: Proxy, source: ConfigSource) {
    this.#proxy = proxy
    this.#source = source
  }

  /** Reloads applied and refused so far. */
  get counts(): { applied: number; refused: number } {
    return { applied: this.#reloads, refused: this.#refusals }
  }

  async reload(): Promise<ReloadOutcome> {
    let next: ProxyConfig
    try {
      next = await this.#source()
    } catch (error) {
      this.#refusals += 1
      return { ok: false, problems: problemsOf(error) }
    }
    try {
      const result = await this.#proxy.reload(next)
      this.#reloads += 1
      return { ok: true, ...result }
    } catch (error) {
      this.#refusals += 1
      if (isProxyError(error)) return { ok: false, problems: [error.message] }
      return { ok: false, problems: problemsOf(error) }
    }
  }
}

/** `ConfigError.problems`, or the lines of an error message listing them. */
function problemsOf(error: unknown): string[] {
  const listed = (error as { problems?: unknown }).problems
  if (Array.isArray(listed) && listed.every((problem) => typeof problem === 'string')) return listed
  const message = error instanceof Error ? error.message : String(error)
  const lines = message
    .split('\n')
    .slice(1)
    .map((line) => line.replace(/^\s*-\s*/, ''))
    .filter((line) => line !== '')
  return lines.length > 0 ? lines : [message]
}
