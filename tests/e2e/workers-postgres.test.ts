// Workers with the PostgreSQL store: two `dagu-ts start-all` servers (the built CLI, real HTTP on
// loopback) on one database and a `dagu-ts worker` that talks to the first only. A run started
// through the second server, with a workerSelector or sent to a worker by
// DAGU_DEFAULT_EXECUTION_MODE=distributed, finishes on the worker; both servers see the worker
// and the run's workerId.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@dagu-ts/testing';
import { cliBin, cliEnv } from './helpers.js';

const adminUrl = inject('postgresUrl');
const work = mkdtempSync(join(tmpdir(), 'dagu-pg-workers-'));
const dagsDir = join(work, 'dags');
mkdirSync(dagsDir, { recursive: true });
const TOKEN = 'pg-workers-token';
const children: ChildProcess[] = [];
let database: { url: string; drop(): Promise<void> } | undefined;

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
});

function spawnCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cliBin, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, exited, output: () => output };
}

async function waitFor<T>(check: () => Promise<T | undefined>, what: () => string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let servers = 0;
async function startServer() {
  const home = join(work, `server-${++servers}`);
  const server = spawnCli(['start-all', '--port', '0', '--host', '127.0.0.1'], {
    ...cliEnv(home),
    DAGU_DAGS_DIR: dagsDir,
    DAGU_DATABASE_URL: database!.url,
    DAGU_AUTH_TOKEN: TOKEN,
    DAGU_DEFAULT_EXECUTION_MODE: 'distributed',
    DAGU_SHUTDOWN_GRACE_SEC: '0',
  });
  const api = await waitFor(
    async () => /"api":"([^"]+)"/.exec(server.output())?.[1],
    () => `start-all to listen:\n${server.output()}`,
  );
  return { ...server, api };
}

async function call(api: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of JSON bodies
  return { status: response.status, body: (await response.json()) as any };
}

describe.runIf(adminUrl !== '')('workers on PostgreSQL', () => {
  beforeAll(async () => {
    database = await createTestDatabase(adminUrl);
  });

  it('a run started through either server finishes on the worker of the shared database', async () => {
    writeFileSync(
      join(dagsDir, 'gpu.yaml'),
      'workerSelector: {gpu: "true"}\nsteps:\n  - name: who\n    command: sh -c \'echo on-$WORKER_NAME\'\n',
    );
    writeFileSync(
      join(dagsDir, 'plain.yaml'),
      "steps:\n  - name: who\n    command: sh -c 'echo on-$WORKER_NAME'\n",
    );
    const a = await startServer();
    const b = await startServer();
    // Queued through b before any worker exists: it waits.
    expect((await call(b.api, 'POST', '/dags/gpu/start', { dagRunId: 'g1' })).status).toBe(200);
    expect((await call(b.api, 'POST', '/dags/plain/start', { dagRunId: 'p1' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await call(a.api, 'GET', '/dag-runs/gpu/g1')).body.dagRunDetails.statusLabel).toBe(
      'queued',
    );

    const worker = spawnCli(['worker', '--worker.id', 'pg-worker', '--worker.labels', 'gpu=true'], {
      ...cliEnv(join(work, 'worker')),
      DAGU_SERVER_URL: a.api.replace(/\/api\/v2$/, ''),
      DAGU_AUTH_TOKEN: TOKEN,
      WORKER_NAME: 'pg-worker',
    });
    for (const [dag, id] of [
      ['gpu', 'g1'],
      ['plain', 'p1'],
    ] as const) {
      const done = await waitFor(
        async () => {
          const details = (await call(b.api, 'GET', `/dag-runs/${dag}/${id}`)).body.dagRunDetails;
          return details?.statusLabel === 'finished' ? details : undefined;
        },
        () => `${dag} ${id} to finish:\n${a.output()}\n${b.output()}\n${worker.output()}`,
      );
      expect(done.workerId).toBe('pg-worker');
      // The worker streams the log to the server it talks to.
      const log = await call(a.api, 'GET', `/dag-runs/${dag}/${id}/steps/who/log`);
      expect(log.body.content).toContain('on-pg-worker');
    }
    const listed = await call(b.api, 'GET', '/workers');
    expect(listed.body.workers).toMatchObject([{ id: 'pg-worker', labels: { gpu: 'true' } }]);
    const history = await call(b.api, 'GET', '/dag-runs/gpu');
    expect(history.body.dagRuns.map((run: { workerId: string }) => run.workerId)).toEqual([
      'pg-worker',
    ]);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    for (const server of [a, b]) server.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  }, 90_000);
});
