/**
 * A real PostgreSQL server for tests: Debian's `initdb` into a temp directory, then `pg_ctl` starts
 * `postgres` on a free port of 127.0.0.1 (its unix socket in the same directory), trust auth for
 * local connections only. Nothing outside the temp directory is touched; `stop()` stops the server
 * and deletes the directory. PostgreSQL refuses to run as root: as root, initdb and the server run
 * as the `postgres` system user (`runuser`), and the directory is handed to it.
 *
 * No PostgreSQL installed is a failure, never a skip (`.ci/run` installs the `postgresql` package).
 */
import { execFile } from 'node:child_process'
import { chownSync, existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from '../../src/devnet/free-port.js'

const run = promisify(execFile)

export interface PostgresServer {
  readonly port: number
  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database: string): string
  /** Creates a new empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>
  stop(): Promise<void>
}

/** Server start attempts: another process may take the free port before the server binds it. */
const START_ATTEMPTS = 3
let databases = 0

/** The directory holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest). */
export function postgresBinDir(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : []
  for (const version of versions) {
    const dir = join(root, version, 'bin')
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  throw new Error(
    'PostgreSQL is not installed: no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin. The PostgreSQL journal tests need it: apt-get install postgresql (.ci/run installs it).',
  )
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir()
  const asRoot = userInfo().uid === 0
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-pg-'))
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  // As root, every PostgreSQL program runs as the postgres user, which must own the directory.
  const command = (program: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args])
  const exec = async (program: string, args: string[]): Promise<void> => {
    const [file, argv] = command(program, args)
    try {
      await run(file, argv, { timeout: 60_000 })
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string }
      throw new Error(`${program} failed: ${(stderr || stdout || (error as Error).message).trim().slice(-2_000)}`)
    }
  }
  try {
    if (asRoot) {
      const owner = await systemUser('postgres')
      chownSync(dir, owner.uid, owner.gid)
    }
    await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
    let port = 0
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      // No fsync: a test server's data dies with the test; commit semantics are unchanged.
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`
      try {
        await exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start'])
        break
      } catch (error) {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : ''
        if (attempt >= START_ATTEMPTS || !/could not bind|Address already in use/.test(text)) throw new Error(`${(error as Error).message}\n${text.slice(-2_000)}`)
      }
    }
    const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`
    let stopped = false
    return {
      port,
      url,
      createDatabase: async (name) => {
        databases += 1
        const database = name ?? `journal_${process.pid}_${databases}`
        const client = new pg.Client({ connectionString: url('postgres') })
        await client.connect()
        try {
          await client.query(`CREATE DATABASE ${database}`)
        } finally {
          await client.end()
        }
        return url(database)
      },
      stop: async () => {
        if (stopped) return
        stopped = true
        try {
          await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      },
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

async function systemUser(name: string): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])])
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
  } catch {
    throw new Error(`tests run as root and PostgreSQL refuses root: the '${name}' system user (made by the postgresql package) is missing`)
  }
}
