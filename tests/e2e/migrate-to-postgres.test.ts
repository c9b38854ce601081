// Moving up: a SQLite home with real runs (the built CLI: runs with logs, a retried run, a child
// run, a queued run, a suspended DAG) copied into a real PostgreSQL database with
// `dagu-ts migrate-to-postgres`; a second copy copies nothing twice, a copy interrupted halfway
// (runs and log chunks missing) is completed by a rerun, and a server on that database with
// another home serves the runs and their logs through /api/v2.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DagRunStatus } from '@dagu-ts/core';
import { openStore } from '@dagu-ts/store';
import { createTestDatabase, queryDatabase } from '@dagu-ts/testing';
import { cliBin, cliEnv, runCli } from './helpers.js';

const adminUrl = inject('postgresUrl');
const work = mkdtempSync(join(tmpdir(), 'dagu-move-up-'));
const dagsDir = join(work, 'dags');
const home = join(work, 'sqlite-home');
mkdirSync(dagsDir, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

let database: { url: string; drop(): Promise<void> };
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const env = { ...cliEnv(home), DAGU_DAGS_DIR: dagsDir };
const cli = (...args: string[]) => runCli(args, { env });

const sql = (text: string, params: unknown[] = []) => queryDatabase(database.url, text, params);

async function counts(): Promise<Record<string, unknown>> {
  const [row] = await sql(`SELECT
    (SELECT COUNT(*)::int FROM dag_runs) AS runs,
    (SELECT COUNT(*)::int FROM attempts) AS attempts,
    (SELECT COUNT(*)::int FROM attempt_nodes) AS nodes,
    (SELECT COUNT(*)::int FROM queue_items) AS queued,
    (SELECT COUNT(*)::int FROM suspend_flags) AS flags,
    (SELECT COUNT(*)::int FROM log_files) AS logs,
    (SELECT COUNT(*)::int FROM log_chunks) AS chunks,
    (SELECT COALESCE(SUM(size), 0)::int FROM log_files) AS bytes`);
  return row!;
}

async function startServer(serverHome: string): Promise<{ api: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [cliBin, 'server', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...cliEnv(serverHome), DAGU_DAGS_DIR: dagsDir, DAGU_DATABASE_URL: database.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    child.on('close', () => reject(new Error(`server exited:\n${output}`)));
  });
  return { api, child };
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as Record<string, unknown>;
}

describe.runIf(adminUrl !== '')('dagu-ts migrate-to-postgres', () => {
  beforeAll(async () => {
    database = await createTestDatabase(adminUrl);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('copies a SQLite home once, completes an interrupted copy, and a PG server serves it', async () => {
    const flaky = join(work, 'flaky-ok');
    writeFileSync(
      join(dagsDir, 'talk.yaml'),
      'steps:\n  - name: hello\n    command: sh -c \'echo "hello $0"; echo warn >&2\' ${RUN}\n  - name: bye\n    command: echo bye\n    depends: [hello]\n',
    );
    writeFileSync(
      join(dagsDir, 'flaky.yaml'),
      `steps:\n  - name: try\n    command: sh -c 'echo trying; test -f ${flaky}'\n`,
    );
    writeFileSync(
      join(dagsDir, 'parent.yaml'),
      'steps:\n  - name: call\n    run: talk\n    params: RUN=child\n',
    );
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const result = await cli('start', 'talk', '--run-id', `talk-${i}`, '--', `RUN=run${i}`);
      expect(result.code, result.stderr).toBe(0);
      ids.push(`talk-${i}`);
    }
    expect((await cli('start', 'flaky', '--run-id', 'flaky-1')).code).toBe(1);
    writeFileSync(flaky, '');
    const retried = await cli('retry', 'flaky', '--run-id', 'flaky-1');
    expect(retried.code, retried.stderr).toBe(0);
    expect((await cli('start', 'parent', '--run-id', 'parent-1')).code).toBe(0);
    expect((await cli('enqueue', 'talk', '--run-id', 'queued-1')).code).toBe(0);
    const sqlite = openStore({ home, dagsDir });
    await sqlite.flags.setSuspended('talk', true);
    const sourceRuns = (await sqlite.runs.listRuns({ includeChildren: true })).total;
    sqlite.close();
    expect(sourceRuns).toBe(7); // 3 talk, flaky, parent, its child, the queued one

    const first = await cli('migrate-to-postgres', '--database-url', database.url);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^copied 7 run\(s\) to postgres:\/\/.*, \d+ log\(s\) \(\d+ bytes\), 1 queue item\(s\), 1 suspend flag\(s\)\n$/,
    );
    const copied = await counts();
    expect(copied).toMatchObject({ runs: 7, attempts: 8, queued: 1, flags: 1 });
    expect(copied.chunks).toBeGreaterThan(0);

    const again = await cli('migrate-to-postgres', '--database-url', database.url);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      /copied 0 run\(s\) .* \(7 already there\), 0 log\(s\) \(0 bytes\), 0 queue item\(s\), 0 suspend flag\(s\)/,
    );
    expect(await counts()).toEqual(copied);

    // Interrupted halfway: a run not copied yet, a log cut short.
    await sql(`DELETE FROM dag_runs WHERE dag_run_id = 'talk-3'`);
    const [log] = await sql(
      `SELECT id FROM log_files WHERE dag_run_id = 'talk-1' AND stream = 'stdout' AND step = 'hello'`,
    );
    await sql('DELETE FROM log_chunks WHERE log = $1', [log!.id]);
    await sql('UPDATE log_files SET size = 0 WHERE id = $1', [log!.id]);
    const resumed = await cli('migrate-to-postgres', '--database-url', database.url);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/copied 1 run\(s\)/);
    expect(await counts()).toEqual(copied);

    // A server on the database with a home of its own: the history and its logs from the chunks.
    const { api } = await startServer(join(work, 'pg-home'));
    const listed = (await getJson(`${api}/dag-runs/talk?limit=10`)) as {
      dagRuns: Array<{ dagRunId: string }>;
    };
    expect(listed.dagRuns.map((run) => run.dagRunId)).toEqual(expect.arrayContaining(ids));
    for (const [i, id] of ids.entries()) {
      const stepLog = await getJson(`${api}/dag-runs/talk/${id}/steps/hello/log`);
      expect(stepLog.content).toBe(`hello run${i + 1}`);
      const stderr = await getJson(`${api}/dag-runs/talk/${id}/steps/hello/log?stream=stderr`);
      expect(stderr.content).toBe('warn');
      expect(String((await getJson(`${api}/dag-runs/talk/${id}/log`)).content)).toContain(
        'run finished',
      );
    }
    const flakyRun = (await getJson(`${api}/dag-runs/flaky/flaky-1`)) as {
      dagRunDetails: { status: number };
    };
    expect(flakyRun.dagRunDetails.status).toBe(DagRunStatus.Success);
    expect((await getJson(`${api}/dag-runs/flaky/flaky-1/steps/try/log`)).content).toBe('trying');
    const parent = (await getJson(`${api}/dag-runs/parent/parent-1`)) as {
      dagRunDetails: { nodes: Array<{ children?: Array<{ dagRunId: string }> }> };
    };
    const childId = parent.dagRunDetails.nodes[0]!.children![0]!.dagRunId;
    expect(
      (await getJson(`${api}/dag-runs/parent/parent-1/children/${childId}/steps/hello/log`))
        .content,
    ).toBe('hello child');
    const attempts = await sql(
      `SELECT a.seq, a.status FROM attempts a JOIN dag_runs r ON r.id = a.run
       WHERE r.dag_run_id = 'flaky-1' ORDER BY a.seq`,
    );
    expect(attempts).toEqual([
      { seq: 1, status: DagRunStatus.Failed },
      { seq: 2, status: DagRunStatus.Success },
    ]);
  });
});
