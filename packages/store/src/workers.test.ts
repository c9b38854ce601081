// The worker store's contract on both adapters: SQLite (SqliteWorkerStore) and PostgreSQL
// (PgWorkerStore), through the store's ports only.
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagRunStatus, expireWorkerLeases, type Dag, type WorkerRegistration } from '@dagu-ts/core';
import {
  storeAdapters,
  type ContractHandle,
  type ContractStore,
} from './test-fixtures/adapters.js';
import { dagOf, snapshotOf, tempDir } from './test-fixtures/helpers.js';

const work = tempDir('dagu-workers-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const gpu: WorkerRegistration = {
  id: 'w-gpu',
  labels: { gpu: 'true', zone: 'a' },
  maxActiveRuns: 4,
  busy: 0,
};
const cpu: WorkerRegistration = { id: 'w-cpu', labels: { zone: 'a' }, maxActiveRuns: 4, busy: 0 };
const limitOf = (_queue: string, dag: Dag) => Math.max(1, dag.maxActiveRuns);

describe.each(storeAdapters.filter((adapter) => adapter.available))('$name store', (adapter) => {
  let now = new Date(Date.UTC(2024, 0, 1));
  let handle: ContractHandle;
  let store: ContractStore;
  const opened: ContractStore[] = [];
  beforeEach(async () => {
    now = new Date(Date.UTC(2024, 0, 1));
    handle = await adapter.create(work);
    store = await handle.open({ now: () => now });
    opened.push(store);
  });
  afterEach(async () => {
    for (const extra of opened.splice(0)) await extra.close();
    await handle.dispose();
  });

  let seconds = 0;
  async function queued(dag: Dag, dagRunId: string, selector?: Record<string, string>) {
    const queuedAt = new Date(Date.UTC(2024, 0, 1, 0, 0, ++seconds)).toISOString();
    const snapshot = snapshotOf(dag, { dagRunId, status: DagRunStatus.Queued, queuedAt });
    await store.runs.createQueuedRun({ dag, snapshot, trigger: 'api' });
    await store.queue.enqueue({
      queue: dag.queue ?? dag.name,
      name: dag.name,
      dagRunId,
      priority: 0,
      enqueuedAt: queuedAt,
      ...(selector ? { workerSelector: selector } : {}),
    });
  }

  describe('WorkerStore', () => {
    it('gives a run only to a worker whose labels contain the selector, oldest first', async () => {
      const dag = dagOf('render', ['a'], 'maxActiveRuns: 5');
      await queued(dag, 'r1', { gpu: 'true' });
      await queued(dag, 'r2', { zone: 'a' });
      expect((await store.workers.claim(cpu, limitOf))?.snapshot.dagRunId).toBe('r2');
      expect(await store.workers.claim(cpu, limitOf)).toBeUndefined();
      const claimed = await store.workers.claim(gpu, limitOf);
      expect(claimed?.snapshot.dagRunId).toBe('r1');
      expect(claimed?.dag.name).toBe('render');
      expect((await store.workers.leaseOf('render', 'r1'))?.workerId).toBe('w-gpu');
    });

    it("never lets the server's own claim take a run for a worker", async () => {
      const dag = dagOf('mixed', ['a'], 'maxActiveRuns: 5');
      await queued(dag, 'remote', {});
      await queued(dag, 'here');
      expect((await store.queue.claimNext('mixed', 5))?.dagRunId).toBe('here');
      expect(await store.queue.claimNext('mixed', 5)).toBeUndefined();
      expect((await store.workers.claim(cpu, limitOf))?.snapshot.dagRunId).toBe('remote');
    });

    it("holds a queue's limit across workers and the server", async () => {
      const dag = dagOf('limited', ['a'], 'maxActiveRuns: 2');
      for (const id of ['l1', 'l2', 'l3']) await queued(dag, id, {});
      await queued(dag, 'l4');
      expect(await store.workers.claim(gpu, limitOf)).toBeDefined();
      expect((await store.queue.claimNext('limited', 2))?.dagRunId).toBe('l4');
      // Two runs hold the queue's two slots: one claimed by a worker, one by the server.
      expect(await store.workers.claim(cpu, limitOf)).toBeUndefined();
      expect((await store.queue.list('limited')).map((item) => item.dagRunId)).toEqual([
        'l2',
        'l3',
      ]);
    });

    it('takes each sequence number once and releases the lease at the end', async () => {
      const dag = dagOf('seq', ['a']);
      await queued(dag, 's1', {});
      await store.workers.claim(gpu, limitOf);
      await store.workers.commitReport('seq', 's1', 1, false);
      await store.workers.commitReport('seq', 's1', 3, false);
      await store.workers.commitReport('seq', 's1', 2, false); // a late retry never regresses
      expect(await store.workers.leaseOf('seq', 's1')).toEqual({
        workerId: 'w-gpu',
        lastSeq: 3,
        active: true,
      });
      await store.workers.commitReport('seq', 's1', 4, true);
      expect((await store.workers.leaseOf('seq', 's1'))?.active).toBe(false);
      // The run keeps its worker for the record.
      const ids = await store.workers.workerIdsOf([{ name: 'seq', dagRunId: 's1' }]);
      expect([...ids.values()]).toEqual(['w-gpu']);
    });

    it('queues a claimed run again and fails a started one when the worker goes silent', async () => {
      const dag = dagOf('lease', ['a']);
      const dag2 = dagOf('lease2', ['a']);
      await queued(dag, 'claimed', {});
      await queued(dag2, 'started', {});
      await store.workers.heartbeat(gpu);
      await store.workers.claim(gpu, limitOf);
      const started = await store.workers.claim(gpu, limitOf);
      const run = { ...started!.snapshot, status: DagRunStatus.Running, attemptId: 'att1' };
      run.startedAt = now.toISOString();
      run.nodes[0]!.status = 1;
      await store.runs.record({ type: 'run-started', run, dag: dag2 });
      await store.workers.commitReport('lease2', 'started', 1, false);

      now = new Date(now.getTime() + 10_000);
      expect(await expireWorkerLeases(store, now, 30_000)).toEqual([]);
      now = new Date(now.getTime() + 30_000);
      const expired = await expireWorkerLeases(store, now, 30_000);
      expect(expired.map((e) => [e.dagRunId, e.outcome])).toEqual([
        ['claimed', 'requeued'],
        ['started', 'failed'],
      ]);
      expect((await store.queue.list('lease')).map((item) => item.dagRunId)).toEqual(['claimed']);
      const failed = (await store.runs.getRun('lease2', 'started'))!.snapshot;
      expect(failed.status).toBe(DagRunStatus.Failed);
      expect(failed.error).toContain('worker w-gpu stopped sending heartbeats');
      expect(failed.nodes[0]!.status).toBe(2);
      // Another worker now gets the requeued run.
      expect((await store.workers.claim(cpu, limitOf))?.snapshot.dagRunId).toBe('claimed');
    });

    it('lists workers with their runs', async () => {
      await store.workers.heartbeat({ ...gpu, busy: 1 });
      await queued(dagOf('shown', ['a']), 'x1', {});
      await store.workers.claim(gpu, limitOf);
      expect(await store.workers.listWorkers()).toEqual([
        {
          id: 'w-gpu',
          labels: gpu.labels,
          maxActiveRuns: 4,
          busy: 1,
          lastHeartbeatAt: now.toISOString(),
          runs: [{ name: 'shown', dagRunId: 'x1', startedAt: '' }],
        },
      ]);
    });

    it('holds the limit and gives each run once when two servers answer claims at once', async () => {
      const dag = dagOf('busy', ['a'], 'maxActiveRuns: 3');
      for (let i = 0; i < 8; i++) await queued(dag, `b${i}`, {});
      const other = await handle.open({ now: () => now });
      opened.push(other);
      const workers = Array.from({ length: 6 }, (_, i) => ({ ...cpu, id: `w-${i}` }));
      const claims = await Promise.all(
        workers.map((worker, i) => (i % 2 ? other : store).workers.claim(worker, limitOf)),
      );
      const ids = claims.flatMap((claimed) => (claimed ? [claimed.snapshot.dagRunId] : []));
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      expect(await store.queue.list('busy')).toHaveLength(5);
    });

    it("leaves a worker's run to its lease when the server that recorded it is gone", async () => {
      const dag = dagOf('owned', ['a']);
      await queued(dag, 'o1', {});
      const answering = await handle.open({ now: () => now });
      const claimed = await answering.workers.claim(gpu, limitOf);
      const run = { ...claimed!.snapshot, status: DagRunStatus.Running, attemptId: 'att1' };
      run.startedAt = now.toISOString();
      await answering.runs.record({ type: 'run-started', run, dag });
      await answering.workers.commitReport('owned', 'o1', 1, false);
      await answering.close();
      // Another server's crash recovery: the run is the worker's, not the closed server's.
      expect(await store.runs.closeAbandonedRuns()).toEqual([]);
      expect((await store.runs.getRun('owned', 'o1'))?.snapshot.status).toBe(DagRunStatus.Running);
      expect((await store.workers.leaseOf('owned', 'o1'))?.active).toBe(true);
    });

    it('answers the worker of many runs at once, and none for a run no worker had', async () => {
      const dag = dagOf('many', ['a'], 'maxActiveRuns: 10');
      for (const id of ['m1', 'm2', 'm3']) await queued(dag, id, {});
      await queued(dag, 'local');
      await store.workers.claim(gpu, limitOf);
      await store.workers.claim(cpu, limitOf);
      const ids = await store.workers.workerIdsOf(
        ['m1', 'm2', 'm3', 'local'].map((dagRunId) => ({ name: 'many', dagRunId })),
      );
      expect(Object.fromEntries(ids)).toEqual({
        'many\u0000m1': 'w-gpu',
        'many\u0000m2': 'w-cpu',
      });
      expect(await store.workers.workerIdsOf([])).toEqual(new Map());
    });
  });
});
