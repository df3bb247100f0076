/**
 * `node --import tsx --import <this file> script.ts`: registers package-entry-hooks.mjs, which
 * resolves the package's own exports to their sources and logs every module URL resolved to
 * $SWITCHYARD_MODULE_LOG. CommonJS modules loaded by `require` inside dependencies bypass those
 * hooks, so their paths are appended at exit from the require cache.
 */
import { appendFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const log = process.env.SWITCHYARD_MODULE_LOG
if (log === undefined || log === '') throw new Error('SWITCHYARD_MODULE_LOG must name the file to log module URLs to')
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
register('./package-entry-hooks.mjs', import.meta.url, { data: { log, root } })
const cache = createRequire(import.meta.url).cache
process.on('exit', () => {
  const required = Object.keys(cache).map((path) => pathToFileURL(path).href)
  if (required.length > 0) appendFileSync(log, `${required.join('\n')}\n`)
})
