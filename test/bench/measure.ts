/**
 * How `npm run bench` measures: autocannon loads in alternating rounds over several paths to the
 * same answer (so drift on a shared machine hits every path alike), a check that every path gives
 * the same answer before it is measured, and an open-loop paced client for latency at a light rate.
 * Nothing here judges a figure: the bench reports, it asserts nothing about time.
 */
import autocannon from 'autocannon'
import { Pool } from 'undici'

export interface Target {
  url: string
  /** Extra request headers (a node's basic auth when called directly). */
  headers?: Record<string, string>
}

export interface Measured {
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  non2xx: number
}

/** How long each path is loaded: `rounds` alternating rounds of `roundSeconds`. */
export interface RoundPlan {
  rounds: number
  roundSeconds: number
}

const round2 = (value: number): number => Math.round(value * 100) / 100

/** a / b to three places; undefined when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : Math.round((a / b) * 1000) / 1000
}

/**
 * In a body, stands for a value that differs on every request (40 hex digits, e.g. an address):
 * clients asking different things, which switchyard can neither coalesce nor cache.
 */
export const DISTINCT = '__DISTINCT__'

/** `body` with its DISTINCT placeholder filled for request number `n`. */
function distinctBody(body: string, n: number): string {
  return body.replace(DISTINCT, n.toString(16).padStart(40, '0'))
}

function cannon(target: Target, body: string, connections: number, limit: { duration: number } | { amount: number }): Promise<autocannon.Result> {
  const headers = { 'content-type': 'application/json', ...target.headers }
  if (!body.includes(DISTINCT)) return autocannon({ url: target.url, method: 'POST', headers, body, connections, ...limit })
  let sent = 0
  return autocannon({
    url: target.url,
    connections,
    ...limit,
    requests: [{ method: 'POST', headers, setupRequest: (request) => ({ ...request, body: distinctBody(body, ++sent) }) }],
  })
}

export async function load(target: Target, body: string, connections: number, seconds: number): Promise<Measured> {
  const result = await cannon(target, body, connections, { duration: seconds })
  return { rps: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx }
}

/** Warms a path (keep-alive pools, JIT, a cache's first fill) with a fixed number of requests rather than a duration. */
async function warm(target: Target, body: string, connections: number): Promise<void> {
  await cannon(target, body, connections, { amount: Math.max(200, connections * 20) })
}

/** What a path answered, without the envelope (ids differ by path), for comparing paths. */
async function answerOf(target: Target, body: string): Promise<{ results: string; errors: string[] }> {
  const response = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body: distinctBody(body, 1) })
  if (!response.ok) return { results: '', errors: [`HTTP ${response.status}`] }
  const parsed = (await response.json()) as unknown
  const replies = (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ result?: unknown; error?: { code: number; message: string } | null }>
  return {
    results: JSON.stringify(replies.map((reply) => reply.result)),
    // JSON-RPC 1.0 (bitcoin) replies carry `error: null` beside a result.
    errors: replies.flatMap((reply) => (reply.error === undefined || reply.error === null ? [] : [`${reply.error.code} ${reply.error.message}`])),
  }
}

/**
 * 'ok' when every path answers `body` without a JSON-RPC error and with the same results as the
 * first path; otherwise what differs. A path that answers something else is not measuring the
 * same work, and autocannon only sees HTTP statuses.
 */
export async function checkAnswers(targets: Record<string, Target>, body: string): Promise<string> {
  const entries = Object.entries(targets)
  const answers = await Promise.all(entries.map(async ([name, target]) => ({ name, ...(await answerOf(target, body)) })))
  const problems = answers.flatMap(({ name, errors, results }) => [
    ...errors.map((error) => `${name}: ${error}`),
    ...(errors.length === 0 && results !== answers[0]!.results ? [`${name} answers differently from ${answers[0]!.name}`] : []),
  ])
  return problems.length === 0 ? 'ok' : problems.join('; ')
}

export interface Alternated {
  case: string
  connections: number
  /** Each path's round averages, in the order given. */
  paths: Record<string, Measured>
  /** checkAnswers' verdict before loading. */
  answers: string
}

/**
 * The same call over every path in `targets` (undefined ones left out, e.g. no nginx), each loaded
 * `plan.rounds` times in turn for `plan.roundSeconds`; figures are the round averages.
 */
export async function alternate(name: string, targets: Record<string, Target | undefined>, body: string, connections: number, plan: RoundPlan): Promise<Alternated> {
  const present = Object.fromEntries(Object.entries(targets).filter((entry): entry is [string, Target] => entry[1] !== undefined))
  const answers = await checkAnswers(present, body)
  for (const target of Object.values(present)) await warm(target, body, connections)
  const samples = new Map<string, Measured[]>(Object.keys(present).map((path) => [path, []]))
  for (let round = 0; round < plan.rounds; round++) {
    for (const [path, target] of Object.entries(present)) samples.get(path)!.push(await load(target, body, connections, plan.roundSeconds))
  }
  const mean = (list: Measured[]): Measured => {
    const avg = (pick: (m: Measured) => number) => round2(list.reduce((sum, m) => sum + pick(m), 0) / list.length)
    return { rps: avg((m) => m.rps), p50Ms: avg((m) => m.p50Ms), p99Ms: avg((m) => m.p99Ms), errors: avg((m) => m.errors), non2xx: avg((m) => m.non2xx) }
  }
  return { case: name, connections, paths: Object.fromEntries([...samples].map(([path, list]) => [path, mean(list)])), answers }
}

export interface PacedLatency {
  sent: number
  failed: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/**
 * Latency of `body` at a light, fixed rate (open loop: a request is sent every 1/rate s whether or
 * not the last has come back, so a stall shows as latency, not as a lower rate), with sub-ms
 * resolution that autocannon's whole milliseconds lack.
 */
export async function pacedLatency(url: string, body: string, options: { ratePerSecond: number; seconds: number }): Promise<PacedLatency> {
  const target = new URL(url)
  const pool = new Pool(target.origin, { connections: 8 })
  const latencies: number[] = []
  let failed = 0
  const inFlight: Array<Promise<void>> = []
  const once = async (): Promise<void> => {
    const started = performance.now()
    try {
      const response = await pool.request({ method: 'POST', path: target.pathname, headers: { 'content-type': 'application/json' }, body })
      const text = await response.body.text()
      if (response.statusCode !== 200 || text.includes('"error"')) failed++
      else latencies.push(performance.now() - started)
    } catch {
      failed++
    }
  }
  const total = Math.round(options.ratePerSecond * options.seconds)
  const intervalMs = 1000 / options.ratePerSecond
  const start = performance.now()
  for (let sent = 0; sent < total; sent++) {
    const dueMs = start + sent * intervalMs - performance.now()
    if (dueMs > 0) await new Promise((resolve) => setTimeout(resolve, dueMs))
    inFlight.push(once())
  }
  await Promise.all(inFlight)
  await pool.close()
  latencies.sort((a, b) => a - b)
  return { sent: total, failed, p50Ms: round2(quantile(latencies, 0.5)), p99Ms: round2(quantile(latencies, 0.99)), maxMs: round2(latencies.at(-1) ?? Number.NaN) }
}
