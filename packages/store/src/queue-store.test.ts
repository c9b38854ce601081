import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagRunStatus, DaguError, type Dag, type QueueItem } from '@dagu-ts/core';
import {
  storeAdapters,
  type ContractHandle,
  type ContractStore,
} from './test-fixtures/adapters.js';
import { dagOf, recordRun, snapshotOf, tempDir } from './test-fixtures/helpers.js';

const work = tempDir('dagu-queue-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(storeAdapters.filter((adapter) => adapter.available))('$name store', (adapter) => {
  let handle: ContractHandle;
  let store: ContractStore;
  beforeEach(async () => {
    handle = await adapter.create(work);
    store = handle.store;
  });
  afterEach(() => handle.dispose());

  const at = (seconds: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, seconds)).toISOString();

  async function queued(
    dag: Dag,
    dagRunId: string,
    enqueuedAt: string,
    priority = 0,
  ): Promise<QueueItem> {
    const snapshot = snapshotOf(dag, {
      dagRunId,
      status: DagRunStatus.Queued,
      queuedAt: enqueuedAt,
    });
    await store.runs.createQueuedRun({ dag, snapshot, trigger: 'api' });
    const item = { queue: dag.queue ?? dag.name, name: dag.name, dagRunId, priority, enqueuedAt };
    await store.queue.enqueue(item);
    return item;
  }

  async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
    return promise.then(
      () => undefined,
      (error: unknown) => (error instanceof DaguError ? error.code : String(error)),
    );
  }

  describe('SqliteQueueStore', () => {
    it('lists items by priority then age, and counts them per queue', async () => {
      const a = dagOf('a');
      const b = dagOf('b', ['x'], 'queue: shared');
      const c = dagOf('c', ['x'], 'queue: shared');
      const a1 = await queued(a, 'a1', at(3));
      const a2 = await queued(a, 'a2', at(1));
      const b1 = await queued(b, 'b1', at(2));
      const c1 = await queued(c, 'c1', at(5), 10);
      expect(await store.queue.list('a')).toEqual([a2, a1]);
      expect(await store.queue.list('shared')).toEqual([c1, b1]);
      expect(await store.queue.list()).toEqual([a2, a1, c1, b1]);
      expect(await store.queue.counts()).toEqual({ a: 2, shared: 2 });
    });

    it('enqueue needs an existing run and refuses a second item for it', async () => {
      const dag = dagOf('e');
      const item = { queue: 'e', name: 'e', dagRunId: 'none', priority: 0, enqueuedAt: at(0) };
      expect(await errorCode(store.queue.enqueue(item))).toBe('not_found');
      await queued(dag, 'e1', at(0));
      expect(await errorCode(store.queue.enqueue({ ...item, dagRunId: 'e1' }))).toBe(
        'already_exists',
      );
      expect(
        await errorCode(store.queue.enqueue({ ...item, dagRunId: 'e1', enqueuedAt: 'soon' })),
      ).toBe('bad_request');
    });

    it('claimNext takes items in order while the queue has room, and marks the run starting', async () => {
      const dag = dagOf('q');
      await queued(dag, 'q1', at(1));
      await queued(dag, 'q2', at(2));
      await queued(dag, 'q3', at(3));
      // One run of the queue is already running.
      await recordRun(store.runs, dag, { dagRunId: 'running' }, DagRunStatus.Running);
      expect(await store.queue.claimNext('q', 1)).toBeUndefined();
      const first = await store.queue.claimNext('q', 2);
      expect(first?.dagRunId).toBe('q1');
      // The claimed (starting) run counts against the limit until it ends.
      expect(await store.queue.claimNext('q', 2)).toBeUndefined();
      const claimed = (await store.runs.getRun('q', 'q1'))!;
      expect(claimed.snapshot.status).toBe(DagRunStatus.Queued);
      expect(claimed.ownerPid).toBe(process.pid);
      expect((await store.queue.claimNext('q', 3))?.dagRunId).toBe('q2');
      expect(await store.queue.counts()).toEqual({ q: 1 });
      expect(await store.queue.claimNext('other', 5)).toBeUndefined();
      expect(await store.queue.claimNext('q', 0)).toBeUndefined();
    });

    it('claimNext drops items whose run is no longer queued', async () => {
      const dag = dagOf('d');
      await queued(dag, 'd1', at(1));
      await queued(dag, 'd2', at(2));
      await store.runs.setRunStatus('d', 'd1', DagRunStatus.Canceled);
      expect((await store.queue.claimNext('d', 5))?.dagRunId).toBe('d2');
      expect(await store.queue.list('d')).toEqual([]);
    });

    it('remove says whether the run was queued', async () => {
      await queued(dagOf('r'), 'r1', at(1));
      expect(await store.queue.remove('r', 'r1')).toBe(true);
      expect(await store.queue.remove('r', 'r1')).toBe(false);
      expect(await store.queue.list()).toEqual([]);
    });
  });

  describe('SqliteFlagStore', () => {
    it('sets, clears and lists suspend flags', async () => {
      expect(await store.flags.isSuspended('x')).toBe(false);
      await store.flags.setSuspended('x', true);
      await store.flags.setSuspended('x', true);
      await store.flags.setSuspended('a', true);
      expect(await store.flags.isSuspended('x')).toBe(true);
      expect(await store.flags.listSuspended()).toEqual(['a', 'x']);
      await store.flags.setSuspended('x', false);
      await store.flags.setSuspended('never', false);
      expect(await store.flags.listSuspended()).toEqual(['a']);
    });
  });

  describe('SqliteCancelStore', () => {
    it('requests, reports and clears a stop request of an existing run', async () => {
      await recordRun(store.runs, dagOf('c'), { dagRunId: 'c1' }, DagRunStatus.Running);
      expect(await store.cancels.isCancelRequested('c', 'c1')).toBe(false);
      await store.cancels.requestCancel('c', 'c1');
      await store.cancels.requestCancel('c', 'c1');
      expect(await store.cancels.isCancelRequested('c', 'c1')).toBe(true);
      await store.cancels.clearCancel('c', 'c1');
      expect(await store.cancels.isCancelRequested('c', 'c1')).toBe(false);
      expect(await errorCode(store.cancels.requestCancel('c', 'nope'))).toBe('not_found');
    });
  });

  describe('SqliteSchedulerTickStore', () => {
    it('lets exactly one claim per DAG and minute succeed', async () => {
      const tick = new Date(Date.UTC(2024, 0, 1, 10, 30, 0));
      expect(await store.ticks.claimTick('daily', tick)).toBe(true);
      expect(await store.ticks.claimTick('daily', new Date(tick.getTime() + 59_000))).toBe(false);
      expect(await store.ticks.claimTick('other', tick)).toBe(true);
      expect(await store.ticks.claimTick('daily', new Date(tick.getTime() + 60_000))).toBe(true);
      expect(await store.ticks.pruneTicks(new Date(tick.getTime() + 60_000))).toBe(2);
      expect(await store.ticks.claimTick('daily', tick)).toBe(true);
      expect(await errorCode(store.ticks.claimTick('x', new Date(Number.NaN)))).toBe('bad_request');
    });
  });
});
