/**
 * `chattr +i` is the one way to make a file unwritable for root (chmod does not stop root), which
 * the journal-failure tests need. Where the file system cannot do it the tests skip — except on CI
 * (CI=true), where `.ci/run` installs chattr and a skipped test would hide a real gap: there they
 * run and fail loudly instead.
 */
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function canMakeImmutable(): boolean {
  const probe = join(tmpdir(), `switchyard-chattr-${process.pid}`)
  try {
    writeFileSync(probe, 'x')
    execFileSync('chattr', ['+i', probe], { stdio: 'ignore' })
    execFileSync('chattr', ['-i', probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { force: true })
  }
}

/** Skip immutable-file tests here: chattr does not work and this is not CI. */
export const skipImmutableFileTests: boolean = process.env.CI !== 'true' && !canMakeImmutable()
