import { describe, expect, test } from 'vitest'
import { CordonLedger, MAX_RESTART_DELAY_MS, clusterExitCode, isPrimaryMessage, isWorkerMessage, restartDelayMs, workerCount } from './cluster-policy.js'

describe('workerCount', () => {
  test.each([
    [1, 2, 1],
    [2, 2, 2],
    [4, 2, 4],
    [0, 2, 2],
    [0, 8, 8],
    [0, 0, 1],
  ])('server.workers %i on %i cores → %i processes', (configured, cores, expected) => {
    expect(workerCount(configured, cores)).toBe(expected)
  })
})

describe('restartDelayMs', () => {
  test.each([
    [0, 0],
    [1, 0],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [6, 16_000],
    [7, MAX_RESTART_DELAY_MS],
    [50, MAX_RESTART_DELAY_MS],
  ])('%i quick crashes in a row → wait %i ms', (crashes, expected) => {
    expect(restartDelayMs(crashes)).toBe(expected)
  })
})

describe('clusterExitCode', () => {
  test.each([
    { exits: [], expected: 0 },
    { exits: [{ code: 0, signal: null }, { code: 0, signal: null }], expected: 0 },
    { exits: [{ code: 0, signal: null }, { code: 1, signal: null }], expected: 1 },
    { exits: [{ code: 1, signal: null }, { code: 143, signal: null }], expected: 143 },
    { exits: [{ code: 0, signal: null }, { code: null, signal: 'SIGKILL' as const }], expected: 137 },
  ])('$exits → $expected', ({ exits, expected }) => {
    expect(clusterExitCode(exits)).toBe(expected)
  })
})

test('messages are told apart from other IPC traffic (prom-client uses the same channel)', () => {
  expect(isWorkerMessage({ type: 'switchyard:listening', address: 'http://127.0.0.1:1' })).toBe(true)
  expect(isWorkerMessage({ type: 'switchyard:metrics-request', id: 1 })).toBe(true)
  expect(isWorkerMessage({ type: 'prom-client:getMetricsRes', requestId: 1 })).toBe(false)
  expect(isWorkerMessage(null)).toBe(false)
  expect(isWorkerMessage('switchyard:listening')).toBe(false)
  expect(isPrimaryMessage({ type: 'switchyard:apply', what: { action: 'reload' } })).toBe(true)
  expect(isPrimaryMessage({ type: 'prom-client:getMetricsReq', requestId: 1 })).toBe(false)
  expect(isPrimaryMessage({ type: 'switchyard:listening' })).toBe(false)
})

test('the cordon ledger replays the cordons still in force, not reloads, probes or lifted ones', () => {
  const ledger = new CordonLedger()
  ledger.record({ action: 'cordon', chain: 'eth', node: 'a', reason: 'first' })
  ledger.record({ action: 'cordon', chain: 'eth', node: 'b', reason: 'maintenance' })
  ledger.record({ action: 'reload' })
  ledger.record({ action: 'probe', chain: 'eth' })
  ledger.record({ action: 'cordon', chain: 'eth', node: 'a', reason: 'second' })
  ledger.record({ action: 'uncordon', chain: 'eth', node: 'b' })
  ledger.record({ action: 'cordon', chain: 'btc', node: 'a', reason: 'other chain' })
  expect(ledger.replay()).toEqual([
    { action: 'cordon', chain: 'eth', node: 'a', reason: 'second' },
    { action: 'cordon', chain: 'btc', node: 'a', reason: 'other chain' },
  ])
})
