import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'chains/**/*.test.ts', 'test/**/*.test.ts'],
    // Real-node suites start processes; 2 cores on CI, so keep file-level parallelism modest.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // No retries: a flaky test is a defect to fix, not to hide.
    retry: 0,
    // CI asks for a JSON report (VITEST_JSON=path) to count tests; people get the default reporter.
    reporters: process.env.VITEST_JSON ? ['default', 'json'] : ['default'],
    outputFile: process.env.VITEST_JSON ? { json: process.env.VITEST_JSON } : {},
  },
})
