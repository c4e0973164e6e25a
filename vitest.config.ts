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
          include: ['test/e2e/**/*.e2e.test.ts', 'test/fault/**/*.fault.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          // One real API server is shared by every file: run files one after another.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 45 * 60_000,
        },
      },
    ],
  },
});
