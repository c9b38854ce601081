// vitest globalSetup of the store's tests: one throw-away PostgreSQL server for the whole run
// (each test creates its own database in it). DAGU_TEST_DATABASE_URL points at an existing
// server instead. Without binaries the PostgreSQL half of the contract suite is skipped with
// a warning locally, and fails in CI.
import type { TestProject } from 'vitest/node';
import { findPostgresBin, startPostgres, type PostgresServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the test PostgreSQL server; '' when there is none (local runs only). */
    postgresUrl: string;
  }
}

let server: PostgresServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.DAGU_TEST_DATABASE_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return;
  }
  if (!findPostgresBin()) {
    if (process.env.CI)
      throw new Error(
        'CI: PostgreSQL binaries are missing (/usr/lib/postgresql/*/bin/initdb); the ' +
          'PostgreSQL contract tests must not be skipped. apt-get install -y postgresql',
      );
    process.stderr.write('PostgreSQL binaries not found: the PostgreSQL store tests are skipped\n');
    project.provide('postgresUrl', '');
    return;
  }
  server = await startPostgres();
  project.provide('postgresUrl', server.url);
}

export function teardown(): void {
  server?.stop();
}
