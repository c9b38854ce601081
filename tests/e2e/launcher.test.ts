// The server-side run launcher on a real SQLite store: queueing by maxActiveRuns, the queue
// moving on as runs end, stop, dequeue and retry.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagRunStatus, parseDag, RunLauncher, type RunEvent } from '@dagu-ts/core';
import { openStore, type Store } from '@dagu-ts/store';

let home: string;
let store: Store;
let launcher: RunLauncher;
let events: RunEvent[];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-launcher-'));
  store = openStore({ home });
  events = [];
  launcher = new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    logDir: store.paths.logDir,
    onEvent: (event) => events.push(event),
  });
});

afterEach(async () => {
  await launcher.close();
  store.close();
  rmSync(home, { recursive: true, force: true });
});

async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('RunLauncher', () => {
  it('runs 20 starts of a DAG with maxActiveRuns 2: never more than 2 at once, all finish', async () => {
    const dag = parseDag('maxActiveRuns: 2\nsteps:\n  - {name: work, command: sleep 0.2}\n', {
      name: 'limited',
    });
    let running = 0;
    let peak = 0;
    const ids: string[] = [];
    const listener = (event: RunEvent) => {
      if (event.run.name !== 'limited' || event.run.parent) return;
      if (event.type === 'run-started') peak = Math.max(peak, ++running);
      if (event.type === 'run-finished') running--;
    };
    await launcher.close();
    launcher = new RunLauncher({
      runs: store.runs,
      queue: store.queue,
      cancels: store.cancels,
      logDir: store.paths.logDir,
      onEvent: listener,
    });
    for (let i = 0; i < 20; i++) ids.push((await launcher.start(dag, { trigger: 'api' })).dagRunId);
    await waitUntil(
      async () =>
        (await store.runs.listRuns({ name: 'limited', statuses: [DagRunStatus.Success] })).total ===
        20,
    );
    expect(peak).toBe(2);
    expect(new Set(ids).size).toBe(20);
    expect(await store.queue.counts()).toEqual({});
  });

  it('start resolves after the run is recorded; a duplicate id is already_exists', async () => {
    const dag = parseDag('steps:\n  - {name: a, command: sleep 0.3}\n', { name: 'recorded' });
    const { dagRunId, queued } = await launcher.start(dag, { trigger: 'api', dagRunId: 'fixed-1' });
    expect([dagRunId, queued]).toEqual(['fixed-1', false]);
    expect((await store.runs.getRun('recorded', 'fixed-1'))?.snapshot.status).toBe(
      DagRunStatus.Running,
    );
    await expect(
      launcher.start(dag, { trigger: 'api', dagRunId: 'fixed-1' }),
    ).rejects.toMatchObject({ code: 'already_exists' });
  });

  it('stops a run it executes and dequeues a waiting one', async () => {
    const dag = parseDag('steps:\n  - {name: long, command: sleep 30}\n', { name: 'stoppable' });
    const first = await launcher.start(dag, { trigger: 'api' });
    const second = await launcher.start(dag, { trigger: 'api' });
    expect(second.queued).toBe(true);
    await launcher.dequeue('stoppable', second.dagRunId);
    expect((await store.runs.getRun('stoppable', second.dagRunId))?.snapshot.status).toBe(
      DagRunStatus.Canceled,
    );
    await expect(launcher.dequeue('stoppable', second.dagRunId)).rejects.toMatchObject({
      code: 'bad_request',
    });
    await launcher.stop('stoppable', first.dagRunId);
    await waitUntil(
      async () =>
        (await store.runs.getRun('stoppable', first.dagRunId))?.snapshot.status ===
        DagRunStatus.Canceled,
    );
    await expect(launcher.stop('stoppable', first.dagRunId)).rejects.toMatchObject({
      code: 'not_running',
    });
  });

  it('retries a failed run under the same id', async () => {
    const marker = join(home, 'ok');
    const dag = parseDag(`steps:\n  - {name: check, command: test -f ${marker}}\n`, {
      name: 'retry-me',
    });
    const { dagRunId } = await launcher.start(dag, { trigger: 'api' });
    await waitUntil(
      async () =>
        (await store.runs.getRun('retry-me', dagRunId))?.snapshot.status === DagRunStatus.Failed,
    );
    writeFileSync(marker, '');
    await launcher.retry((await store.runs.getRun('retry-me', dagRunId))!);
    await waitUntil(
      async () =>
        (await store.runs.getRun('retry-me', dagRunId))?.snapshot.status === DagRunStatus.Success,
    );
    expect(await store.runs.listAttempts('retry-me', dagRunId)).toHaveLength(2);
  });
});

describe('triggers', () => {
  it('records what started each run', async () => {
    const dag = parseDag('steps:\n  - {name: a, command: "true"}\n', { name: 'triggered' });
    const { dagRunId } = await launcher.start(dag, { trigger: 'api' });
    await waitUntil(
      async () =>
        (await store.runs.getRun('triggered', dagRunId))?.snapshot.status === DagRunStatus.Success,
    );
    expect((await store.runs.getRun('triggered', dagRunId))?.trigger).toBe('api');
  });
});

describe('queues', () => {
  it('a global queue limits runs across DAGs', async () => {
    await launcher.close();
    let running = 0;
    let peak = 0;
    launcher = new RunLauncher({
      runs: store.runs,
      queue: store.queue,
      cancels: store.cancels,
      logDir: store.paths.logDir,
      queueLimits: new Map([['shared', 1]]),
      onEvent: (event) => {
        if (event.type === 'run-started') peak = Math.max(peak, ++running);
        if (event.type === 'run-finished') running--;
      },
    });
    const a = parseDag(
      'queue: shared\nmaxActiveRuns: 5\nsteps:\n  - {name: s, command: sleep 0.2}\n',
      { name: 'dag-a' },
    );
    const b = parseDag(
      'queue: shared\nmaxActiveRuns: 5\nsteps:\n  - {name: s, command: sleep 0.2}\n',
      { name: 'dag-b' },
    );
    for (let i = 0; i < 3; i++) {
      await launcher.start(a, { trigger: 'api' });
      await launcher.enqueue(b, { trigger: 'api' });
    }
    await waitUntil(
      async () => (await store.runs.listRuns({ statuses: [DagRunStatus.Success] })).total === 6,
    );
    expect(peak).toBe(1);
  });

  it('a queued run whose DAG file was deleted fails cleanly and the queue goes on', async () => {
    const file = join(home, 'gone.yaml');
    const yaml = 'steps:\n  - {name: long, command: sleep 0.3}\n';
    writeFileSync(file, yaml);
    const dag = parseDag(yaml, { location: file });
    const first = await launcher.start(dag, { trigger: 'api' });
    const second = await launcher.start(dag, { trigger: 'api' });
    expect(second.queued).toBe(true);
    rmSync(file);
    await waitUntil(
      async () =>
        (await store.runs.getRun('gone', second.dagRunId))?.snapshot.status === DagRunStatus.Failed,
    );
    const failed = await store.runs.getRun('gone', second.dagRunId);
    expect(failed?.snapshot.error).toContain('was deleted before the run could start');
    expect((await store.runs.getRun('gone', first.dagRunId))?.snapshot.status).toBe(
      DagRunStatus.Success,
    );
  });
});

describe('RunLauncher retention', () => {
  it('applies histRetentionDays when its runs end, not only for `dagu-ts start`', async () => {
    let now = new Date('2031-03-01T10:00:00Z');
    const clock = { now: () => now };
    store.close();
    store = openStore({ home, now: () => now });
    await launcher.close();
    launcher = new RunLauncher({
      runs: store.runs,
      queue: store.queue,
      cancels: store.cancels,
      logDir: store.paths.logDir,
      sweepIntervalMs: 0,
      clock,
    });
    const dag = parseDag('histRetentionDays: 2\nsteps:\n  - {name: a, command: "true"}\n', {
      name: 'kept',
    });
    const finished = async (dagRunId: string) =>
      (await store.runs.getRun('kept', dagRunId))?.snapshot.status === DagRunStatus.Success;
    const old = await launcher.start(dag, { trigger: 'api', dagRunId: 'old' });
    await waitUntil(() => finished(old.dagRunId));
    now = new Date('2031-03-02T10:00:00Z');
    const young = await launcher.start(dag, { trigger: 'api', dagRunId: 'young' });
    await waitUntil(() => finished(young.dagRunId));
    expect((await store.runs.listRuns({ name: 'kept' })).total).toBe(2);

    now = new Date('2031-03-03T11:00:00Z'); // "old" is now older than 2 days, "young" is not
    const latest = await launcher.start(dag, { trigger: 'schedule' });
    await waitUntil(() => finished(latest.dagRunId));
    await waitUntil(async () => (await store.runs.getRun('kept', 'old')) === undefined);
    const left = (await store.runs.listRuns({ name: 'kept' })).runs.map((run) => run.dagRunId);
    expect(left.sort()).toEqual([latest.dagRunId, 'young'].sort());
  });
});
