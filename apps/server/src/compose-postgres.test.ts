// Two compositions ("servers": each its own home, one DAGs directory) on one PostgreSQL database,
// as DAGU_DATABASE_URL makes them: the database is their shared state, so a queue's limit holds
// across both, a run started on one is read through the other, and a stop sent to the other
// reaches the run through a cancel request.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DagRunStatus, loadDag, type DagRunSnapshot } from '@dagu-ts/core';
import { createTestDatabase } from '@dagu-ts/testing';
import { composeDagu, type ComposeOptions, type Dagu } from './compose.js';
import { loadConfig } from './config.js';

const adminUrl = inject('postgresUrl');
const work = mkdtempSync(join(tmpdir(), 'dagu-compose-pg-'));
const dagsDir = join(work, 'dags');
afterAll(() => rmSync(work, { recursive: true, force: true }));

let database: { url: string; drop(): Promise<void> };
const servers: Dagu[] = [];

async function server(
  name: string,
  options: ComposeOptions = { sweepIntervalMs: 200 },
): Promise<Dagu> {
  const config = loadConfig({
    env: {
      DAGU_HOME: join(work, name),
      DAGU_DAGS_DIR: dagsDir,
      DAGU_DATABASE_URL: database.url,
    },
  });
  const dagu = await composeDagu(config, options);
  servers.push(dagu);
  return dagu;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
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

describe.runIf(adminUrl !== '')('two servers on one PostgreSQL database', () => {
  beforeAll(async () => {
    database = await createTestDatabase(adminUrl);
    rmSync(dagsDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const dagu of servers.splice(0)) await dagu.close();
  });
  afterAll(async () => database.drop());

  it('keeps maxActiveRuns across both servers, and every run finishes', async () => {
    const [a, b] = [await server('a'), await server('b')];
    writeFileSync(
      join(dagsDir, 'limited.yaml'),
      'maxActiveRuns: 3\nsteps:\n  - name: work\n    command: sleep 0.3\n',
    );
    const dag = await loadDag(join(dagsDir, 'limited.yaml'));
    const ids: string[] = [];
    for (let i = 0; i < 16; i++)
      ids.push((await (i % 2 === 0 ? a : b).launcher.enqueue(dag, { trigger: 'api' })).dagRunId);
    await waitUntil(async () => {
      const done = await a.store.runs.listRuns({
        name: 'limited',
        statuses: [DagRunStatus.Success],
      });
      return done.total === ids.length;
    });
    const runs = (await b.store.runs.listRuns({ name: 'limited' })).runs;
    expect(runs.map((run) => run.dagRunId).sort()).toEqual([...ids].sort());
    expect(peakOverlap(runs)).toBeLessThanOrEqual(3);
    expect(peakOverlap(runs)).toBeGreaterThan(1);
  });

  it('reads a run through the other server and stops it from there', async () => {
    const [a, b] = [await server('a'), await server('b')];
    writeFileSync(join(dagsDir, 'long.yaml'), 'steps:\n  - name: wait\n    command: sleep 30\n');
    const dag = await loadDag(join(dagsDir, 'long.yaml'));
    const { dagRunId } = await a.launcher.start(dag, { trigger: 'api' });
    await waitUntil(
      async () => (await b.store.runs.getRun('long', dagRunId))?.snapshot.nodes[0]?.status === 1,
    );
    expect(b.launcher.isActive('long', dagRunId)).toBe(false);
    const stoppedAt = Date.now();
    await b.launcher.stop('long', dagRunId);
    await waitUntil(
      async () =>
        (await b.store.runs.getRun('long', dagRunId))?.snapshot.status === DagRunStatus.Canceled,
    );
    // The stop request is notified to a at once (its 500 ms poll is the safety net).
    expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    const history = await b.store.runs.listRuns({ name: 'long' });
    expect(history.runs.map((run) => [run.dagRunId, run.status])).toEqual([
      [dagRunId, DagRunStatus.Canceled],
    ]);
  });

  // Without a sweep (sweepIntervalMs 0), only the notifications can start these runs on `a`.
  it('starts at once a run that another process enqueued, or whose slot it freed', async () => {
    const a = await server('a', { sweepIntervalMs: 0 });
    // A `dagu-ts start`/`enqueue`-like process: it runs what it is asked to, dispatches nothing.
    const cli = await server('cli', { dispatchQueues: false });
    writeFileSync(
      join(dagsDir, 'single.yaml'),
      'maxActiveRuns: 1\nsteps:\n  - name: work\n    command: sleep 0.5\n',
    );
    const dag = await loadDag(join(dagsDir, 'single.yaml'));
    const status = async (id: string) => (await a.store.runs.getRun('single', id))?.snapshot.status;

    const enqueued = await cli.launcher.enqueue(dag, { trigger: 'cli' });
    await waitUntil(async () => (await status(enqueued.dagRunId)) === DagRunStatus.Success, 10_000);
    expect(a.launcher.isActive('single', enqueued.dagRunId)).toBe(false);

    // The cli process runs one itself; `a` queues the next behind it, then starts it when the
    // cli's run ends there.
    const first = await cli.launcher.start(dag, { trigger: 'cli' });
    expect(first.queued).toBe(false);
    const second = await a.launcher.enqueue(dag, { trigger: 'api' });
    expect(await status(second.dagRunId)).toBe(DagRunStatus.Queued);
    await waitUntil(async () => (await status(first.dagRunId)) === DagRunStatus.Success, 10_000);
    await waitUntil(async () => (await status(second.dagRunId)) !== DagRunStatus.Queued, 2_000);
    expect(a.launcher.isActive('single', second.dagRunId)).toBe(true);
  });
});
