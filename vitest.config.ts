import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure logic, no servers) and `integration` (real
 * slapd, Samba AD DC and Redis started once by the global setup, and the
 * gateway over real HTTP and WebSocket).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-setup.ts'],
          hookTimeout: 180_000,
          testTimeout: 120_000,
          // One Samba DC per machine and CPU-heavy syncs: files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
