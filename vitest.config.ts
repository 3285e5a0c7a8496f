import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, fast, runs anywhere) and `lab` (end-to-end on the
// real local lab: root and /dev/kvm needed; the tests skip themselves, saying
// why, where those are missing). The lab tests share one lab, so they run one
// file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/lab/**'],
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
          globalSetup: ['test/lab/global-setup.ts'],
        },
      },
    ],
  },
});
