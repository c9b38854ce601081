// Cron on two `dagu-ts start-all` servers sharing one PostgreSQL database and one DAGs
// directory: a `* * * * *` DAG runs exactly once per minute, for two real minutes (the tick is
// claimed in the database; both schedulers try every tick). This file takes about two minutes
// of wall time by design; it is a file of its own so the other end-to-end files run beside it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@dagu-ts/testing';
import { cliBin, cliEnv } from './helpers.js';

const adminUrl = inject('postgresUrl');
const work = mkdtempSync(join(tmpdir(), 'dagu-pg-cron-'));
const dagsDir = join(work, 'dags');
mkdirSync(dagsDir, { recursive: true });

let database: { url: string; drop(): Promise<void> };
const children: ChildProcess[] = [];

/** `dagu-ts start-all` in a new home on the shared DAGs directory and database; its API URL. */
async function startServer(name: string): Promise<{ api: string; child: ChildProcess }> {
  const env = {
    ...cliEnv(join(work, name)),
    DAGU_DAGS_DIR: dagsDir,
    DAGU_DATABASE_URL: database.url,
  };
  const child = spawn(
    process.execPath,
    [cliBin, 'start-all', '--port', '0', '--host', '127.0.0.1'],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let output = '';
  const api = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /"api":"([^"]+)"/.exec(output);
      if (found) resolve(found[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('close', () => reject(new Error(`start-all exited:\n${output}`)));
  });
  return { api, child };
}

const MINUTE = 60_000;

describe.runIf(adminUrl !== '')('cron on two servers on one PostgreSQL database', () => {
  beforeAll(async () => {
    database = await createTestDatabase(adminUrl);
  });
  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await database?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs a * * * * * DAG exactly once per minute for two minutes', async () => {
    writeFileSync(
      join(dagsDir, 'ticker.yaml'),
      'schedule: "* * * * *"\nsteps:\n  - name: tick\n    command: "true"\n',
    );
    const [a, b] = await Promise.all([startServer('a'), startServer('b')]);
    // The first two minute boundaries after both schedulers are up.
    const first = Math.ceil((Date.now() + 1) / MINUTE) * MINUTE;
    const minutes = [first, first + MINUTE];
    // A few seconds after the second tick, for a late duplicate to show.
    await new Promise((resolve) => setTimeout(resolve, minutes[1]! + 5_000 - Date.now()));
    for (const server of [a, b]) {
      const response = await fetch(`${server.api}/dag-runs/ticker?limit=100`);
      expect(response.status).toBe(200);
      const { dagRuns } = (await response.json()) as {
        dagRuns: Array<{ dagRunId: string; startedAt: string; status: number }>;
      };
      const counted = dagRuns.filter((run) => Date.parse(run.startedAt) >= first);
      const perMinute = minutes.map(
        (minute) =>
          counted.filter(
            (run) => Math.floor(Date.parse(run.startedAt) / MINUTE) * MINUTE === minute,
          ).length,
      );
      // Exactly one run for each minute, and none besides (both servers see the same history).
      expect(perMinute).toEqual([1, 1]);
      expect(counted).toHaveLength(2);
    }
    for (const server of [a, b]) server.child.kill('SIGTERM');
  }, 200_000);
});
