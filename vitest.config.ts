import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Vite resolves `graphql` through its "module" field (index.mjs) while CommonJS dependencies
// (type-graphql) require index.js: two graphql realms, and graphql-ws's validate/execute on the
// type-graphql schema fails ("Cannot use GraphQLSchema from another module or realm"). Node
// itself resolves `graphql` to index.js everywhere; tests resolve it the same way.
const GRAPHQL_CJS = createRequire(import.meta.url).resolve('graphql');

/**
 * Two projects: `unit` (pure logic, no servers) and `integration` (real
 * slapd, Samba AD DC and Redis started once by the global setup, and the
 * gateway over real HTTP and WebSocket).
 */
export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias: [{ find: /^graphql$/, replacement: GRAPHQL_CJS }] },
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        resolve: { alias: [{ find: /^graphql$/, replacement: GRAPHQL_CJS }] },
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
