/**
 * The operators' dashboard: one static page (`GET /dashboard`) and its assets
 * (`GET /dashboard/assets/:file`). The page holds no data and needs no auth; everything it shows
 * comes from the /admin API, which it calls with the operator's bearer token.
 *
 * Assets come from an explicit allowlist: the request only selects an entry, it never becomes a path.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'

interface Asset {
  /** Absolute path on disk. */
  path: string
  contentType: string
}

const here = dirname(fileURLToPath(import.meta.url))

/**
 * Directory of index.html / dashboard.js / dashboard.css: next to this module under tsx/vitest
 * (`src/dashboard`); from a build (`dist/src/dashboard`), the repository's `src/dashboard` unless the
 * build copied the files next to the compiled module.
 */
function pageDirectory(): string {
  const candidates = [here, join(here, '..', '..', '..', 'src', 'dashboard')]
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? here
}

function uplotFile(name: string): string {
  return createRequire(import.meta.url).resolve(`uplot/dist/${name}`)
}

function assets(): ReadonlyMap<string, Asset> {
  const dir = pageDirectory()
  return new Map<string, Asset>([
    ['dashboard.js', { path: join(dir, 'dashboard.js'), contentType: 'text/javascript; charset=utf-8' }],
    ['dashboard.css', { path: join(dir, 'dashboard.css'), contentType: 'text/css; charset=utf-8' }],
    ['uPlot.iife.min.js', { path: uplotFile('uPlot.iife.min.js'), contentType: 'text/javascript; charset=utf-8' }],
    ['uPlot.min.css', { path: uplotFile('uPlot.min.css'), contentType: 'text/css; charset=utf-8' }],
  ])
}

/**
 * The page keeps the admin token in sessionStorage: allow nothing but our own scripts, styles
 * (uPlot sets inline styles) and same-origin API calls, and never be framed.
 */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
}

async function sendFile(reply: FastifyReply, asset: Asset): Promise<FastifyReply> {
  let body: Buffer
  try {
    body = await readFile(asset.path)
  } catch {
    return reply.code(404).type('application/json').send({ error: 'dashboard asset missing from this installation' })
  }
  return reply.headers(PAGE_HEADERS).type(asset.contentType).send(body)
}

export function registerDashboard(app: FastifyInstance): void {
  const files = assets()
  const page: Asset = { path: join(pageDirectory(), 'index.html'), contentType: 'text/html; charset=utf-8' }

  app.get('/dashboard', async (_request, reply) => sendFile(reply, page))
  app.get('/dashboard/', async (_request, reply) => reply.redirect('/dashboard', 301))

  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', async (request, reply) => {
    const asset = files.get(request.params.file)
    if (asset === undefined) return reply.code(404).type('application/json').send({ error: 'no such dashboard asset' })
    return sendFile(reply, asset)
  })
}
