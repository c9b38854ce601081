import { readdirSync, existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Tests import sibling packages through the "@dagu-ts/source" export condition, so they run
// from src/ without a build.
const conditions = ['@dagu-ts/source', 'module', 'node', 'import', 'default'];

const projectDirs = ['packages', 'apps'].flatMap((group) =>
  readdirSync(group, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(`${group}/${entry.name}/package.json`))
    .map((entry) => `${group}/${entry.name}`),
);

// Starts one throw-away PostgreSQL server for a project's tests (paths from a project's root).
const globalSetup = ['../../packages/testing/src/postgres-global-setup.ts'];

export default defineConfig({
  resolve: { conditions },
  // The SSR conditions also become Node's --conditions in the test workers: `import`/`module`
  // there would make require() of dual packages pick their ESM build and break CommonJS callers
  // (express), so only the source condition and `node` are listed.
  ssr: {
    resolve: { conditions: ['@dagu-ts/source', 'node'], externalConditions: ['@dagu-ts/source'] },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      ...projectDirs.map((dir) => ({
        extends: true as const,
        test: {
          name: dir.split('/')[1]!,
          root: dir,
          include: ['src/**/*.test.ts'],
          // The store's contract suite and the server's composition run on a throw-away
          // PostgreSQL server too.
          ...(dir === 'packages/store' || dir === 'apps/server' ? { globalSetup } : {}),
        },
      })),
      {
        extends: true as const,
        test: { name: 'e2e', root: 'tests/e2e', include: ['**/*.test.ts'], globalSetup },
      },
    ],
  },
});
