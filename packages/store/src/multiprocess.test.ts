// Several real processes on one database file: concurrent writers (no SQLITE_BUSY), a race for
// queue items, and a process killed with SIGKILL in the middle of a run.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DagRunStatus, NodeStatus } from '@dagu-ts/core';
import { ABANDONED_RUN_ERROR } from './run-store.js';
import { openStore } from './store.js';
import {
  dagOf,
  finished,
  lineStartingWith,
  snapshotOf,
  spawnFixture,
  tempDir,
} from './test-fixtures/helpers.js';

const work = tempDir('dagu-multiprocess-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface WriterResult {
  busy: number;
  records: number;
  claimed: string[];
}

/** Starts the writers, lets them all go at once, and returns what each printed last. */
async function runWriters(home: string, argsList: string[][]): Promise<WriterResult[]> {
  const children = argsList.map((args) => spawnFixture('writer.mjs', [home, ...args]));
  const outcomes = children.map((child) => finished(child));
  await Promise.all(children.map((child) => lineStartingWith(child, 'ready')));
  writeFileSync(join(home, 'go'), '');
  const results = await Promise.all(outcomes);
  for (const result of results) {
    expect(result.stderr).not.toMatch(/SQLITE_BUSY|database is locked/);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }
  return results.map(
    (result) => JSON.parse(result.stdout.trim().split('\n').at(-1)!) as WriterResult,
  );
}

describe('two processes on one database', () => {
  it('write concurrently, from migrating a new file on, without SQLITE_BUSY', async () => {
    const home = tempDir('writers-', work);
    const count = 150;
    const results = await runWriters(home, [
      ['record', 'p1', String(count)],
      ['record', 'p2', String(count)],
    ]);
    expect(results.map((r) => [r.records, r.busy])).toEqual([
      [count, 0],
      [count, 0],
    ]);
    const store = openStore({ home });
    try {
      const page = await store.runs.listRuns({
        name: 'concurrent',
        statuses: [DagRunStatus.Success],
      });
      expect(page.total).toBe(2 * count);
      const one = (await store.runs.getRun('concurrent', 'p2-7'))!.snapshot;
      expect(one.nodes.map((n) => n.status)).toEqual([NodeStatus.Success, NodeStatus.Success]);
      expect(await store.cancels.isCancelRequested('concurrent', 'p1-3')).toBe(false);
    } finally {
      store.close();
    }
  });

  it('claim queue items without ever handing one item to both', async () => {
    const home = tempDir('claims-', work);
    const store = openStore({ home });
    const dag = dagOf('queued', ['a'], 'queue: shared');
    const total = 60;
    for (let i = 0; i < total; i++) {
      const snapshot = snapshotOf(dag, { dagRunId: `q${i}`, status: DagRunStatus.Queued });
      await store.runs.createQueuedRun({ dag, snapshot, trigger: 'api' });
      await store.queue.enqueue({
        queue: 'shared',
        name: 'queued',
        dagRunId: `q${i}`,
        priority: 0,
        enqueuedAt: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
      });
    }
    store.close();
    const results = await runWriters(home, [
      ['claim', 'shared'],
      ['claim', 'shared'],
    ]);
    const [first, second] = results.map((r) => r.claimed);
    expect(first!.filter((id) => second!.includes(id))).toEqual([]);
    expect([...first!, ...second!].sort()).toEqual(
      Array.from({ length: total }, (_, i) => `q${i}`).sort(),
    );
  });
});

describe('a process killed in the middle of a run', () => {
  it('leaves a running run that the next process closes as failed', async () => {
    const home = tempDir('crash-', work);
    const child = spawnFixture('abandon.mjs', [home]);
    const outcome = finished(child);
    const line = await lineStartingWith(child, 'started ');
    const dagRunId = line.slice('started '.length).trim();
    child.kill('SIGKILL');
    expect((await outcome).signal).toBe('SIGKILL');

    const store = openStore({ home });
    try {
      const before = (await store.runs.getRun('crashing', dagRunId))!;
      expect(before.snapshot.status).toBe(DagRunStatus.Running);
      expect(before.ownerPid).toBe(child.pid);

      const closed = await store.runs.closeAbandonedRuns();
      expect(closed.map((run) => run.dagRunId)).toEqual([dagRunId]);
      const after = (await store.runs.getRun('crashing', dagRunId))!.snapshot;
      expect(after.status).toBe(DagRunStatus.Failed);
      expect(after.error).toBe(ABANDONED_RUN_ERROR);
      expect(after.nodes.map((n) => [n.step.name, n.status])).toEqual([
        ['quick', NodeStatus.Success],
        ['slow', NodeStatus.Failed],
      ]);
      expect(await store.runs.closeAbandonedRuns()).toEqual([]);
    } finally {
      store.close();
    }
  });
});
