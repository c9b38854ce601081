// Two `dagu-ts start-all` processes (the built CLI, real HTTP on loopback), each with its own
// DAGU_HOME, one DAGs directory and one DAGU_DATABASE_URL: the queue's limit holds across both,
// every run is read through either server, a stop sent to the other server reaches the run within
// 1 s, both report the same run gauges, and the runs of a server killed with SIGKILL are closed
// by the survivor.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DagRunStatus, type DagRunSnapshot } from '@dagu-ts/core';
import { openPostgresStore, type PostgresStore } from '@dagu-ts/store/postgres';
import { createTestDatabase } from '@dagu-ts/testing';
import { cliBin, cliEnv } from './helpers.js';

const adminUrl = inject('postgresUrl');
const work = mkdtempSync(join(tmpdir(), 'dagu-pg-servers-'));
const dagsDir = join(work, 'dags');
mkdirSync(dagsDir, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

let database: { url: string; drop(): Promise<void> };
let reader: PostgresStore;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Server {
  api: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

let servers = 0;
/** `dagu-ts start-all` in a new home on the shared DAGs directory and database. */
async function startServer(): Promise<Server> {
  const home = join(work, `home-${++servers}`);
  const env = { ...cliEnv(home), DAGU_DAGS_DIR: dagsDir, DAGU_DATABASE_URL: database.url };
  const child = spawn(
    process.execPath,
    [cliBin, 'start-all', '--port', '0', '--host', '127.0.0.1'],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let output = '';
  const api = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /"api":"([^"]+)"/.exec(output);
      if (found) resolve(found[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then(() => reject(new Error(`start-all exited:\n${output}`)), reject);
  });
  return { api, child, exited };
}

async function post(url: string, body: unknown = {}): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function details(api: string, name: string, id: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${api}/dag-runs/${name}/${id}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { dagRunDetails: Record<string, unknown> }).dagRunDetails;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The most runs whose [startedAt, finishedAt] overlap (an end before a start at the same ms). */
function peakOverlap(runs: readonly DagRunSnapshot[]): number {
  const edges = runs.flatMap((run) => [
    { at: Date.parse(run.startedAt), delta: 1 },
    { at: Date.parse(run.finishedAt), delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  for (const edge of edges) peak = Math.max(peak, (current += edge.delta));
  return peak;
}

describe.runIf(adminUrl !== '')('two start-all servers on one PostgreSQL database', () => {
  beforeAll(async () => {
    database = await createTestDatabase(adminUrl);
    reader = await openPostgresStore({ url: database.url, home: join(work, 'reader') });
  });
  afterAll(async () => {
    await reader?.close();
    await database?.drop();
  });

  it('keeps maxActiveRuns 3 across both for 200 runs, every run finishes and reads through either', async () => {
    writeFileSync(
      join(dagsDir, 'limited.yaml'),
      'maxActiveRuns: 3\nsteps:\n  - name: work\n    command: sleep 0.05\n',
    );
    const [a, b] = [await startServer(), await startServer()];
    // Watches the shared state while the runs go: never more than 3 running at once.
    let sampling = true;
    let samples = 0;
    let peakRunning = 0;
    const sampler = (async () => {
      while (sampling) {
        const { total } = await reader.runs.listRuns({
          name: 'limited',
          statuses: [DagRunStatus.Running],
          limit: 0,
        });
        peakRunning = Math.max(peakRunning, total);
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const ids: string[] = [];
    // Both servers enqueue at once, ten requests in flight at a time.
    for (let i = 0; i < 200; i += 10) {
      const bodies = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          post(`${((i + j) % 2 === 0 ? a : b).api}/dags/limited/enqueue`),
        ),
      );
      ids.push(...bodies.map((body) => body.dagRunId as string));
    }
    await waitFor(
      async () =>
        (
          await reader.runs.listRuns({
            name: 'limited',
            statuses: [DagRunStatus.Success],
            limit: 0,
          })
        ).total === ids.length,
      'every run to finish',
      120_000,
    );
    sampling = false;
    await sampler;
    expect(samples).toBeGreaterThan(10);
    expect(peakRunning).toBeLessThanOrEqual(3);
    expect(peakRunning).toBeGreaterThan(0);
    const runs = (await reader.runs.listRuns({ name: 'limited', limit: 1_000 })).runs;
    expect(runs.map((run) => run.dagRunId).sort()).toEqual([...ids].sort());
    expect(peakOverlap(runs)).toBeLessThanOrEqual(3);
    // Both servers ran some of them (a run records the pid of the process that ran it).
    expect(new Set(runs.map((run) => run.pid))).toEqual(new Set([a.child.pid, b.child.pid]));
    // A run enqueued through a, read through b (details) and the history through a.
    expect((await details(b.api, 'limited', ids[0]!)).status).toBe(DagRunStatus.Success);
    const history = await fetch(`${a.api}/dag-runs/limited?limit=500`);
    const listed = (await history.json()) as { dagRuns: Array<{ dagRunId: string }> };
    expect(listed.dagRuns.map((run) => run.dagRunId).sort()).toEqual([...ids].sort());
    for (const server of [a, b]) server.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  });

  it('a stop sent to the other server reaches the run; a killed server has its runs closed', async () => {
    writeFileSync(join(dagsDir, 'long.yaml'), 'steps:\n  - name: wait\n    command: sleep 60\n');
    const [a, b] = [await startServer(), await startServer()];
    const { dagRunId: stopped } = (await post(`${a.api}/dags/long/start`)) as {
      dagRunId: string;
    };
    await waitFor(
      async () => (await details(b.api, 'long', stopped)).status === DagRunStatus.Running,
      'the run to be running',
    );
    // A second run waits behind it (maxActiveRuns 1). Both servers' gauges read the shared
    // state: one running, one queued, whichever server runs them.
    const { dagRunId: waiting } = (await post(`${b.api}/dags/long/enqueue`)) as {
      dagRunId: string;
    };
    for (const server of [a, b]) {
      const metrics = await (await fetch(`${server.api}/metrics`)).text();
      expect(metrics).toMatch(/^dagu_dag_runs_currently_running 1$/m);
      expect(metrics).toMatch(/^dagu_dag_runs_queued_total 1$/m);
    }
    // Dagu's dequeue is a GET.
    expect((await fetch(`${a.api}/dag-runs/long/${waiting}/dequeue`)).status).toBe(200);

    const stopAt = Date.now();
    await post(`${b.api}/dag-runs/long/${stopped}/stop`);
    // The run's step ends once the stop reaches it on a: its node leaves "running".
    await waitFor(
      async () => (await details(b.api, 'long', stopped)).status === DagRunStatus.Canceled,
      'the stop to reach the run on the other server',
      10_000,
    );
    // Notified to a at once; within 1 s even with the cancel poll (500 ms) as the fallback.
    expect(Date.now() - stopAt).toBeLessThan(1_000);

    const { dagRunId: orphan } = (await post(`${a.api}/dags/long/start`)) as { dagRunId: string };
    await waitFor(
      async () => (await details(b.api, 'long', orphan)).status === DagRunStatus.Running,
      'the second run to be running',
    );
    a.child.kill('SIGKILL');
    await a.exited;
    // b's heartbeat (every 10 s) finds a's process gone on this machine; on another machine the
    // 30 s lease would lapse first.
    await waitFor(
      async () => (await details(b.api, 'long', orphan)).status === DagRunStatus.Failed,
      'the survivor to close the killed server run',
      45_000,
    );
    expect((await reader.runs.getRun('long', orphan))!.snapshot.error).toBe(
      'process exited unexpectedly',
    );
    // The survivor keeps serving: a new run through it starts and ends.
    writeFileSync(join(dagsDir, 'quick.yaml'), 'steps:\n  - name: one\n    command: "true"\n');
    const { dagRunId: after } = (await post(`${b.api}/dags/quick/start`)) as { dagRunId: string };
    await waitFor(
      async () => (await details(b.api, 'quick', after)).status === DagRunStatus.Success,
      'a run on the survivor',
      10_000,
    );
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });
});
