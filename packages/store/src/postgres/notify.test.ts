// LISTEN/NOTIFY between two PostgreSQL stores on one database (two servers): an enqueue, a run
// that ends and a stop request made through one reach the other's subscribers at once, never
// its own; a rolled-back change is never announced; a lost listening connection comes back
// and says `resync`.
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagRunStatus, DaguError, type StateChange } from '@dagu-ts/core';
import { storeAdapters, type ContractHandle } from '../test-fixtures/adapters.js';
import { dagOf, recordRun, snapshotOf, tempDir } from '../test-fixtures/helpers.js';
import { LISTENER_NAME, type PgStateChanges } from './notify.js';

const work = tempDir('dagu-pg-notify-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const postgres = storeAdapters.find((adapter) => adapter.name === 'postgres')!;

/** Every change a subscriber got, and a way to wait for the next one that matches. */
function collect(changes: PgStateChanges) {
  const seen: StateChange[] = [];
  const waiters: Array<{ match: (c: StateChange) => boolean; resolve: () => void }> = [];
  const unsubscribe = changes.subscribe((change) => {
    seen.push(change);
    for (const waiter of waiters.splice(0))
      if (waiter.match(change)) waiter.resolve();
      else waiters.push(waiter);
  });
  const next = (match: (c: StateChange) => boolean, what: string): Promise<void> => {
    if (seen.some(match)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5_000);
      waiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  };
  return { seen, next, unsubscribe };
}

describe.runIf(postgres.available)('PostgreSQL state changes (LISTEN/NOTIFY)', () => {
  let handle: ContractHandle;
  beforeEach(async () => {
    handle = await postgres.create(work);
  });
  afterEach(() => handle.dispose());

  type PgStore = ContractHandle['store'] & { changes: PgStateChanges };

  it('tells the other store of an enqueue, a run end and a stop, and not itself', async () => {
    const a = handle.store as PgStore;
    const b = (await handle.open()) as PgStore;
    const heardByA = collect(a.changes);
    const heardByB = collect(b.changes);
    await heardByA.next((c) => c.kind === 'resync', 'first resync of a');
    await heardByB.next((c) => c.kind === 'resync', 'first resync of b');

    const dag = dagOf('limited', ['x'], 'queue: shared');
    const queuedAt = new Date().toISOString();
    const snapshot = snapshotOf(dag, { dagRunId: 'q1', status: DagRunStatus.Queued, queuedAt });
    await a.runs.createQueuedRun({ dag, snapshot, trigger: 'api' });
    await a.queue.enqueue({
      queue: 'shared',
      name: 'limited',
      dagRunId: 'q1',
      priority: 0,
      enqueuedAt: queuedAt,
    });
    await heardByB.next((c) => c.kind === 'queue' && c.queue === 'shared', 'enqueue');

    // A second enqueue of the same run fails and is rolled back: nothing is announced.
    const before = heardByB.seen.length;
    const again = a.queue.enqueue({
      queue: 'shared',
      name: 'limited',
      dagRunId: 'q1',
      priority: 0,
      enqueuedAt: queuedAt,
    });
    await expect(again).rejects.toBeInstanceOf(DaguError);

    const running = await recordRun(
      a.runs,
      dagOf('long'),
      { dagRunId: 'r1' },
      DagRunStatus.Running,
    );
    await b.cancels.requestCancel('long', 'r1');
    await heardByA.next(
      (c) => c.kind === 'cancel' && c.name === 'long' && c.dagRunId === 'r1',
      'stop request',
    );
    running.status = DagRunStatus.Canceled;
    running.finishedAt = running.startedAt;
    await a.runs.record({ type: 'run-finished', run: running });
    await heardByB.next((c) => c.kind === 'queue' && c.queue === 'long', 'run end');
    // The rolled-back enqueue sent nothing: between it and the run end, B heard nothing.
    expect(heardByB.seen.slice(before)).toEqual([{ kind: 'queue', queue: 'long' }]);

    // Nobody hears its own changes.
    expect(heardByA.seen.filter((c) => c.kind === 'queue')).toEqual([]);
    expect(heardByB.seen.filter((c) => c.kind === 'cancel')).toEqual([]);
    heardByA.unsubscribe();
    heardByB.unsubscribe();
  });

  it('reconnects a lost listening connection and asks its listeners to resync', async () => {
    const a = handle.store as PgStore;
    const b = (await handle.open()) as PgStore;
    const heard = collect(b.changes);
    await heard.next((c) => c.kind === 'resync', 'first resync');
    const terminated = await handle.sql(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()',
      [LISTENER_NAME],
    );
    expect(terminated).toEqual([{ ok: true }]);
    const resyncs = () => heard.seen.filter((c) => c.kind === 'resync').length;
    await expect.poll(resyncs, { timeout: 5_000 }).toBe(2);
    await recordRun(a.runs, dagOf('after'), { dagRunId: 'r2' });
    await heard.next(
      (c) => c.kind === 'queue' && c.queue === 'after',
      'a change after the reconnect',
    );
    heard.unsubscribe();
  });

  it('announces a run closed as abandoned to every store, the closing one too', async () => {
    const a = handle.store as PgStore;
    const heard = collect(a.changes);
    await heard.next((c) => c.kind === 'resync', 'first resync');
    const b = (await handle.open({ leaseMs: 1 })) as PgStore;
    await recordRun(b.runs, dagOf('orphan'), { dagRunId: 'o1' }, DagRunStatus.Running);
    await b.close();
    // b's lease is gone: a closes its run and hears of the free slot itself.
    const closed = await a.runs.closeAbandonedRuns();
    expect(closed.map((run) => run.dagRunId)).toEqual(['o1']);
    await heard.next((c) => c.kind === 'queue' && c.queue === 'orphan', 'abandoned run closed');
    heard.unsubscribe();
  });
});
