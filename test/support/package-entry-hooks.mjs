/**
 * Module hooks for child processes that run code as a user of the package would: `switchyard` and
 * `switchyard/<subpath>` resolve through package.json `exports` (so a subpath missing there fails
 * as it would for a user), to the TypeScript source the build compiles to that file (tsx runs
 * it), and every URL resolved is appended to `data.log`, one per line, so a test can see which
 * libraries an entry loads. Loaded by package-entry-trace.mjs (`module.register`).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

let log
let root
let name
let exportsMap

export function initialize(data) {
  log = data.log
  root = data.root
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  name = pkg.name
  exportsMap = pkg.exports
}

export async function resolve(specifier, context, nextResolve) {
  const own = ownEntry(specifier)
  // The source goes down the chain too, so tsx's hooks see it and compile it.
  const resolved = await nextResolve(own ?? specifier, context)
  appendFileSync(log, `${resolved.url}\n`)
  return resolved
}

/** The source file behind one of the package's exports (`./dist/x/y.js` is built from `x/y.ts`); undefined for other specifiers. */
function ownEntry(specifier) {
  if (specifier !== name && !specifier.startsWith(`${name}/`)) return undefined
  const key = specifier === name ? '.' : `./${specifier.slice(name.length + 1)}`
  const entry = exportsMap[key]
  if (entry === undefined) throw Object.assign(new Error(`Package subpath '${key}' is not defined by "exports" in ${join(root, 'package.json')}`), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
  const target = typeof entry === 'string' ? entry : entry.default
  if (typeof entry === 'object' && entry.types !== target.replace(/\.js$/, '.d.ts')) throw new Error(`exports["${key}"]: types ${entry.types} is not the declaration file of ${target}`)
  const match = /^\.\/dist\/(.+)\.js$/.exec(target)
  if (match === null) throw new Error(`exports["${key}"]: ${target} is not a file the build emits under ./dist`)
  const source = join(root, `${match[1]}.ts`)
  if (!existsSync(source)) throw new Error(`exports["${key}"]: no source ${source} for ${target}`)
  return pathToFileURL(source).href
}
