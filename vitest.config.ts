import { defineConfig } from 'vitest/config'

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // No retries: a flaky test is a defect to fix, not to hide.
  retry: 0,
}

export default defineConfig({
  test: {
    // Real-node suites start processes; 2 cores on CI, so keep file-level parallelism modest.
    maxWorkers: 2,
    // CI asks for a JSON report (VITEST_JSON=path) to count tests; people get the default reporter.
    reporters: process.env.VITEST_JSON ? ['default', 'json'] : ['default'],
    outputFile: process.env.VITEST_JSON ? { json: process.env.VITEST_JSON } : {},
    projects: [
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['src/**/*.test.ts', 'chains/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/chaos/**', '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The chaos scenarios load every core on purpose (real nodes, fault proxies, steady
        // client load): they run after the rest, one file at a time, so neither they nor the
        // timing-sensitive real-node tests share the machine with another heavy file.
        test: {
          ...shared,
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
