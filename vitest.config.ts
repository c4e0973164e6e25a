import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          // One real API server is shared by every file: run files one after another.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 45 * 60_000,
        },
      },
      {
        // Outages, overload, rotation and security of a running volume-guard, on the e2e suite's API server (it stops
        // and restarts it). Its setup (test/fault/fault-setup.ts) shares the e2e setup's cluster and volume-guard; one
        // file at a time, and never beside an e2e file (both land in vitest's one sequential group).
        test: {
          name: 'fault',
          include: ['test/fault/**/*.fault.test.ts'],
          globalSetup: ['test/fault/fault-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 45 * 60_000,
        },
      },
    ],
  },
});
