import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DagRunner,
  DagRunStatus,
  DaguError,
  NodeStatus,
  parseDag,
  type DagRunSnapshot,
} from '@dagu-ts/core';
import {
  storeAdapters,
  type ContractHandle,
  type ContractStore,
} from './test-fixtures/adapters.js';
import { ABANDONED_RUN_ERROR } from './run-store.js';
import {
  dagOf,
  finished,
  lineStartingWith,
  recordRun,
  snapshotOf,
  spawnFixture,
  tempDir,
} from './test-fixtures/helpers.js';

const work = tempDir('dagu-run-store-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(storeAdapters.filter((adapter) => adapter.available))('$name store', (adapter) => {
  let handle: ContractHandle;
  let store: ContractStore;
  beforeEach(async () => {
    handle = await adapter.create(work);
    store = handle.store;
  });
  afterEach(() => handle.dispose());
  // Ownership differs by adapter: a pid on SQLite (one machine), an owner lease on PostgreSQL.
  const sqliteOnly = it.runIf(adapter.name === 'sqlite');
  const postgresOnly = it.runIf(adapter.name === 'postgres');

  const at = (hours: number): string =>
    new Date(Date.UTC(2024, 0, 1) + hours * 3_600_000).toISOString();
  const ids = (runs: DagRunSnapshot[]): string[] => runs.map((run) => run.dagRunId);

  async function expectDaguError(promise: Promise<unknown>, code: string, message?: RegExp) {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DaguError);
    expect((error as DaguError).code).toBe(code);
    if (message) expect((error as DaguError).message).toMatch(message);
  }

  describe('recording runs of the real runner', () => {
    it('stores every state change of a run, its definition and its log path', async () => {
      const dag = parseDag(
        'steps:\n  - name: hello\n    command: echo hello\n    output: GREETING\n  - name: fail\n    command: exit 3\n',
        { name: 'runner-dag' },
      );
      const seen: DagRunStatus[] = [];
      const recorder = {
        record: async (event: Parameters<ContractStore['runs']['record']>[0]) => {
          await store.runs.record(event);
          seen.push((await store.runs.getRun(event.run.name, event.run.dagRunId))!.snapshot.status);
        },
      };
      const result = await new DagRunner({ dag, logDir: store.paths.logDir, recorder }).run();
      expect(result.status).toBe(DagRunStatus.Failed);
      expect(seen[0]).toBe(DagRunStatus.Running);
      expect(seen.at(-1)).toBe(DagRunStatus.Failed);

      const stored = (await store.runs.getRun('runner-dag', result.snapshot.dagRunId))!;
      expect(stored.trigger).toBe('cli');
      expect(stored.queue).toBe('runner-dag');
      expect(stored.ownerPid).toBe(process.pid);
      expect(stored.dag.steps.map((s) => s.name)).toEqual(['hello', 'fail']);
      expect(stored.snapshot).toEqual(JSON.parse(JSON.stringify(result.snapshot)));
      expect(stored.snapshot.nodes[0]!.outputs).toEqual({ GREETING: 'GREETING=hello' });
      expect(stored.snapshot.nodes[1]!.error).toBe('exit status 3');
      expect(existsSync(stored.snapshot.log)).toBe(true);
      expect((await store.runs.getLatestRun('runner-dag'))!.snapshot.dagRunId).toBe(
        result.snapshot.dagRunId,
      );
      expect(await store.runs.listAttempts('runner-dag', result.snapshot.dagRunId)).toHaveLength(1);
    });

    it('records step events whose nodes are copies (reports of a worker, parsed from JSON)', async () => {
      const dag = dagOf('remote', ['a', 'b']);
      const run = snapshotOf(dag, { status: DagRunStatus.Running });
      const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
      await store.runs.record(copy({ type: 'run-started', run, dag }));
      run.nodes[1]!.status = NodeStatus.Running;
      await store.runs.record(copy({ type: 'step-started', run, node: run.nodes[1]! }));
      run.nodes[1]!.status = NodeStatus.Success;
      await store.runs.record(copy({ type: 'step-finished', run, node: run.nodes[1]! }));
      const stored = await store.runs.getRun('remote', run.dagRunId);
      expect(stored?.snapshot.nodes.map((node) => node.status)).toEqual([
        NodeStatus.NotStarted,
        NodeStatus.Success,
      ]);
    });

    sqliteOnly(
      'writes a step start with the next write, or alone after a short delay',
      async () => {
        const dag = dagOf('deferred', ['a', 'b']);
        const run = snapshotOf(dag, { status: DagRunStatus.Running });
        await store.runs.record({ type: 'run-started', run, dag });
        const statuses = async () =>
          (await store.runs.getRun('deferred', run.dagRunId))!.snapshot.nodes.map((n) => n.status);
        run.nodes[0]!.status = NodeStatus.Running;
        await store.runs.record({ type: 'step-started', run, node: run.nodes[0]! });
        // Not written yet: no timer can have run between these two awaits.
        expect(await statuses()).toEqual([NodeStatus.NotStarted, NodeStatus.NotStarted]);
        // The next write carries it (here another step's start would not: it waits too).
        await store.flags.setSuspended('unrelated', true);
        expect(await statuses()).toEqual([NodeStatus.Running, NodeStatus.NotStarted]);
        run.nodes[1]!.status = NodeStatus.Running;
        await store.runs.record({ type: 'step-started', run, node: run.nodes[1]! });
        // Nothing else is written: the timer writes it (well under the 250 ms readers are promised).
        const deadline = Date.now() + 5_000;
        while ((await statuses())[1] !== NodeStatus.Running && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
        expect(await statuses()).toEqual([NodeStatus.Running, NodeStatus.Running]);
      },
    );

    it('stores child runs under their root, found by getChildRun and not by getRun', async () => {
      const yaml = `name: parent
steps:
  - name: call
    run: child
    params: "X=1"
---
name: child
params: X=0
steps:
  - name: inner
    command: echo $X
`;
      const dag = parseDag(yaml, { location: join(handle.home, 'dags', 'parent.yaml') });
      const result = await new DagRunner({
        dag,
        logDir: store.paths.logDir,
        recorder: store.runs,
      }).run();
      expect(result.status).toBe(DagRunStatus.Success);
      const childId = result.snapshot.nodes[0]!.children[0]!.dagRunId;
      const root = { name: 'parent', dagRunId: result.snapshot.dagRunId };
      const child = (await store.runs.getChildRun(root, childId))!;
      expect(child.snapshot.name).toBe('child');
      expect(child.snapshot.parent).toEqual(root);
      expect(child.snapshot.status).toBe(DagRunStatus.Success);
      expect(child.trigger).toBe('child');
      expect(child.dag.name).toBe('child');
      expect(await store.runs.getRun('child', childId)).toBeUndefined();
      expect(
        await store.runs.getChildRun({ name: 'parent', dagRunId: 'other' }, childId),
      ).toBeUndefined();
      expect(ids(await store.runs.listChildRuns(root))).toEqual([childId]);
      expect((await store.runs.listRuns({})).total).toBe(1);
      expect((await store.runs.listRuns({ includeChildren: true })).total).toBe(2);
    });
  });

  describe('record()', () => {
    const dag = dagOf('rec');

    it('a new attempt of a known run (retry) adds an attempt; the run follows the latest', async () => {
      const first = await recordRun(store.runs, dag, { dagRunId: 'r1' }, DagRunStatus.Failed);
      const retry = snapshotOf(dag, { dagRunId: 'r1', attemptId: 'second' });
      await store.runs.record({ type: 'run-started', run: retry, dag });
      retry.nodes[0]!.status = NodeStatus.Running;
      await store.runs.record({ type: 'step-started', run: retry, node: retry.nodes[0]! });
      let attempts = await store.runs.listAttempts('rec', 'r1');
      expect(attempts.map((a) => [a.attemptId, a.status])).toEqual([
        [first.attemptId, DagRunStatus.Failed],
        ['second', DagRunStatus.Running],
      ]);
      // A late event of the old attempt updates that attempt only.
      first.error = 'late';
      await store.runs.record({ type: 'run-finished', run: first });
      expect((await store.runs.getRun('rec', 'r1'))!.snapshot.attemptId).toBe('second');
      retry.status = DagRunStatus.Success;
      await store.runs.record({ type: 'run-finished', run: retry });
      attempts = await store.runs.listAttempts('rec', 'r1');
      expect(attempts.map((a) => a.error)).toEqual(['late', '']);
      expect((await store.runs.getRun('rec', 'r1'))!.snapshot.status).toBe(DagRunStatus.Success);
    });

    it('keeps what it recorded: later changes to the live snapshot do not leak in', async () => {
      const run = snapshotOf(dag, { dagRunId: 'copy' });
      await store.runs.record({ type: 'run-started', run, dag });
      run.status = DagRunStatus.Success;
      expect((await store.runs.getRun('rec', 'copy'))!.snapshot.status).toBe(DagRunStatus.Running);
    });

    it('rejects events of a run whose run-started it never saw', async () => {
      const run = snapshotOf(dag, { dagRunId: 'ghost' });
      await expectDaguError(
        store.runs.record({ type: 'step-started', run, node: run.nodes[0]! }),
        'not_found',
      );
    });

    it('recorder(trigger) stores the trigger; run-finished clears a cancel request', async () => {
      const run = snapshotOf(dag, { dagRunId: 'api-run' });
      await store.runs.recorder('api').record({ type: 'run-started', run, dag });
      await store.cancels.requestCancel('rec', 'api-run');
      expect(await store.cancels.isCancelRequested('rec', 'api-run')).toBe(true);
      run.status = DagRunStatus.Canceled;
      await store.runs.record({ type: 'run-finished', run });
      expect(await store.cancels.isCancelRequested('rec', 'api-run')).toBe(false);
      expect((await store.runs.getRun('rec', 'api-run'))!.trigger).toBe('api');
    });

    sqliteOnly('refuses a second attempt while another live process executes the run', async () => {
      const sleeper = spawn('sleep', ['30']);
      try {
        const run = snapshotOf(dag, { dagRunId: 'busy', pid: sleeper.pid! });
        await store.runs.record({ type: 'run-started', run, dag });
        const again = snapshotOf(dag, { dagRunId: 'busy', attemptId: 'other' });
        await expectDaguError(
          store.runs.record({ type: 'run-started', run: again, dag }),
          'already_running',
        );
      } finally {
        sleeper.kill('SIGKILL');
      }
    });

    postgresOnly('refuses a second attempt while another live owner executes the run', async () => {
      const other = await handle.open();
      const run = snapshotOf(dag, { dagRunId: 'busy' });
      await other.runs.record({ type: 'run-started', run, dag });
      const again = snapshotOf(dag, { dagRunId: 'busy', attemptId: 'other' });
      await expectDaguError(
        store.runs.record({ type: 'run-started', run: again, dag }),
        'already_running',
        /owner /,
      );
    });
  });

  describe('importRuns', () => {
    it('inserts finished history (roots in bulk, children too) and skips runs already there', async () => {
      const dag = dagOf('imported', ['a', 'b']);
      const old = snapshotOf(dag, { dagRunId: 'i1', status: DagRunStatus.Success });
      old.handlers = {
        onExit: { ...old.nodes[0]!, step: { ...old.nodes[0]!.step, name: 'exit' } },
      };
      const failed = snapshotOf(dag, { dagRunId: 'i2', status: DagRunStatus.Failed, error: 'x' });
      const root = { name: 'imported', dagRunId: 'i1' };
      const child = snapshotOf(dagOf('kid', ['k']), {
        dagRunId: 'c1',
        root,
        parent: root,
        status: DagRunStatus.Success,
      });
      await recordRun(store.runs, dag, { dagRunId: 'i2' });
      const runs = [old, failed, old, child].map((snapshot) => ({
        dag,
        snapshot,
        trigger: 'schedule' as const,
      }));
      expect(await store.runs.importRuns(runs)).toBe(2);
      expect(await store.runs.importRuns(runs)).toBe(0);
      const stored = (await store.runs.getRun('imported', 'i1'))!;
      expect(stored.snapshot).toEqual(JSON.parse(JSON.stringify(old)));
      expect([stored.trigger, stored.queue, stored.dag.name]).toEqual([
        'schedule',
        'imported',
        'imported',
      ]);
      expect((await store.runs.getRun('imported', 'i2'))!.snapshot.error).toBe('');
      expect((await store.runs.getChildRun(root, 'c1'))!.snapshot.name).toBe('kid');
      expect((await store.runs.listRuns({ name: 'imported' })).total).toBe(2);
    });
  });

  describe('createQueuedRun', () => {
    const dag = dagOf('queued', ['a'], 'queue: shared');

    it('stores a queued run; its start replaces the placeholder attempt and keeps queuedAt', async () => {
      const queued = snapshotOf(dag, {
        dagRunId: 'q1',
        status: DagRunStatus.Queued,
        queuedAt: at(1),
        startedAt: '',
      });
      await store.runs.createQueuedRun({ dag, snapshot: queued, trigger: 'api' });
      let stored = (await store.runs.getRun('queued', 'q1'))!;
      expect(stored.snapshot.status).toBe(DagRunStatus.Queued);
      expect(stored.queue).toBe('shared');
      expect(stored.ownerPid).toBeUndefined();
      await expectDaguError(
        store.runs.createQueuedRun({ dag, snapshot: queued, trigger: 'api' }),
        'already_exists',
      );

      const started = snapshotOf(dag, { dagRunId: 'q1', attemptId: 'exec', startedAt: at(2) });
      await store.runs.record({ type: 'run-started', run: started, dag });
      stored = (await store.runs.getRun('queued', 'q1'))!;
      expect(stored.snapshot.attemptId).toBe('exec');
      expect(stored.snapshot.queuedAt).toBe(at(1));
      expect(stored.trigger).toBe('api');
      expect(await store.runs.listAttempts('queued', 'q1')).toHaveLength(1);
      // Listed by its enqueue time.
      expect(ids((await store.runs.listRuns({ from: at(1), to: at(1) })).runs)).toEqual(['q1']);
    });
  });

  describe('listRuns', () => {
    beforeEach(async () => {
      const alpha = dagOf('alpha');
      const beta = dagOf('beta');
      const odd = dagOf('odd');
      await recordRun(
        store.runs,
        alpha,
        { dagRunId: 'a1', startedAt: at(1) },
        DagRunStatus.Success,
      );
      await recordRun(store.runs, alpha, { dagRunId: 'a2', startedAt: at(2) }, DagRunStatus.Failed);
      await recordRun(
        store.runs,
        alpha,
        { dagRunId: 'a3', startedAt: at(3) },
        DagRunStatus.Running,
      );
      await recordRun(store.runs, beta, { dagRunId: 'b1', startedAt: at(2) }, DagRunStatus.Success);
      // Same creation time as b1: ties go by dagRunId ascending.
      await recordRun(store.runs, beta, { dagRunId: 'a0', startedAt: at(2) }, DagRunStatus.Success);
      await recordRun(store.runs, odd, { name: 'x%_y', dagRunId: 'o1', startedAt: at(5) });
      await recordRun(
        store.runs,
        beta,
        {
          dagRunId: 'c1',
          startedAt: at(4),
          root: { name: 'alpha', dagRunId: 'a3' },
          parent: { name: 'alpha', dagRunId: 'a3' },
        },
        DagRunStatus.Success,
      );
    });

    it('lists root runs newest first with ties by dagRunId, and counts them', async () => {
      const page = await store.runs.listRuns({});
      expect(ids(page.runs)).toEqual(['o1', 'a3', 'a0', 'a2', 'b1', 'a1']);
      expect(page.total).toBe(6);
    });

    it('filters by exact name, name substring (case-insensitive, LIKE characters literal) and run id', async () => {
      expect(ids((await store.runs.listRuns({ name: 'alpha' })).runs)).toEqual(['a3', 'a2', 'a1']);
      expect(ids((await store.runs.listRuns({ name: 'alph' })).runs)).toEqual([]);
      expect(ids((await store.runs.listRuns({ nameContains: 'ETA' })).runs)).toEqual(['a0', 'b1']);
      expect(ids((await store.runs.listRuns({ nameContains: '%_' })).runs)).toEqual(['o1']);
      expect(ids((await store.runs.listRuns({ nameContains: '_' })).runs)).toEqual(['o1']);
      expect(ids((await store.runs.listRuns({ dagRunId: 'a0' })).runs)).toEqual(['a0']);
      expect(ids((await store.runs.listRuns({ dagRunId: 'a' })).runs)).toEqual([]);
    });

    it('filters by statuses and an inclusive date window', async () => {
      const success = await store.runs.listRuns({ statuses: [DagRunStatus.Success] });
      expect(ids(success.runs)).toEqual(['o1', 'a0', 'b1', 'a1']);
      const two = await store.runs.listRuns({
        statuses: [DagRunStatus.Failed, DagRunStatus.Running],
      });
      expect(ids(two.runs)).toEqual(['a3', 'a2']);
      expect(await store.runs.listRuns({ statuses: [] })).toEqual({ runs: [], total: 0 });
      const window = await store.runs.listRuns({ from: at(2), to: at(3) });
      expect(ids(window.runs)).toEqual(['a3', 'a0', 'a2', 'b1']);
      const both = await store.runs.listRuns({
        name: 'alpha',
        statuses: [DagRunStatus.Success],
        from: at(0),
        to: at(9),
      });
      expect(ids(both.runs)).toEqual(['a1']);
      await expectDaguError(store.runs.listRuns({ from: 'yesterday' }), 'bad_request', /from/);
    });

    it('pages with limit and offset; total counts before paging', async () => {
      const page = await store.runs.listRuns({ limit: 2, offset: 1 });
      expect(ids(page.runs)).toEqual(['a3', 'a0']);
      expect(page.total).toBe(6);
      expect((await store.runs.listRuns({ limit: 2, offset: 10 })).runs).toEqual([]);
      expect((await store.runs.listRuns({ limit: 0 })).total).toBe(6);
      await expectDaguError(store.runs.listRuns({ offset: -1 }), 'bad_request');
    });

    it('listRunSummaries pages like listRuns, with the run-level fields of the latest attempt', async () => {
      await store.runs.setRunStatus('alpha', 'a1', DagRunStatus.Failed, 'rewritten');
      for (const query of [{}, { includeChildren: true }, { name: 'beta', limit: 1, offset: 1 }]) {
        const full = await store.runs.listRuns(query);
        const summaries = await store.runs.listRunSummaries(query);
        expect(summaries.total).toBe(full.total);
        expect(summaries.runs).toEqual(
          full.runs.map((run) => ({
            name: run.name,
            dagRunId: run.dagRunId,
            attemptId: run.attemptId,
            root: run.root,
            parent: run.parent,
            status: run.status,
            queuedAt: run.queuedAt,
            startedAt: run.startedAt,
            finishedAt: run.finishedAt,
            log: run.log,
            params: run.params,
            error: run.error,
          })),
        );
      }
      const a1 = (await store.runs.listRunSummaries({ dagRunId: 'a1' })).runs[0]!;
      expect([a1.status, a1.error]).toEqual([DagRunStatus.Failed, 'rewritten']);
      await expectDaguError(store.runs.listRunSummaries({ limit: -1 }), 'bad_request');
    });

    it('includes child runs only when asked', async () => {
      const all = await store.runs.listRuns({ includeChildren: true, name: 'beta' });
      expect(ids(all.runs)).toEqual(['c1', 'a0', 'b1']);
      expect(ids((await store.runs.listRuns({ includeChildren: true })).runs)).toContain('c1');
    });

    it('getLatestRun takes the newest root run of the DAG', async () => {
      expect((await store.runs.getLatestRun('alpha'))!.snapshot.dagRunId).toBe('a3');
      expect((await store.runs.getLatestRun('beta'))!.snapshot.dagRunId).toBe('a0');
      expect(await store.runs.getLatestRun('nothing')).toBeUndefined();
      expect(await store.runs.getRun('alpha', 'nope')).toBeUndefined();
      expect(await store.runs.listAttempts('alpha', 'nope')).toEqual([]);
    });
  });

  describe('changing stored runs', () => {
    const dag = dagOf('edit', ['a', 'b']);

    it('updateNodeStatus sets one node of the latest attempt and nothing else', async () => {
      await recordRun(store.runs, dag, { dagRunId: 'e1' }, DagRunStatus.Failed);
      const snapshot = await store.runs.updateNodeStatus('edit', 'e1', 'b', NodeStatus.Success);
      expect(snapshot.nodes.map((n) => n.status)).toEqual([NodeStatus.Failed, NodeStatus.Success]);
      const stored = (await store.runs.getRun('edit', 'e1'))!.snapshot;
      expect(stored).toEqual(snapshot);
      expect(stored.status).toBe(DagRunStatus.Failed);
      expect(await store.runs.listAttempts('edit', 'e1')).toHaveLength(1);
      await expectDaguError(
        store.runs.updateNodeStatus('edit', 'e1', 'zzz', NodeStatus.Success),
        'not_found',
        /step zzz not found in DAG edit/,
      );
      await expectDaguError(
        store.runs.updateNodeStatus('edit', 'nope', 'a', NodeStatus.Success),
        'not_found',
        /dag-run ID nope not found for DAG edit/,
      );
    });

    it('updateNodeStatus refuses a running run', async () => {
      await recordRun(store.runs, dag, { dagRunId: 'e2' }, DagRunStatus.Running);
      await expectDaguError(
        store.runs.updateNodeStatus('edit', 'e2', 'a', NodeStatus.Success),
        'bad_request',
        /still running/,
      );
    });

    it('updateChildNodeStatus addresses a child through its root', async () => {
      const root = { name: 'edit', dagRunId: 'e3' };
      await recordRun(store.runs, dag, { dagRunId: 'e3' }, DagRunStatus.Failed);
      await recordRun(
        store.runs,
        dag,
        { name: 'kid', dagRunId: 'k1', root, parent: root },
        DagRunStatus.Failed,
      );
      const snapshot = await store.runs.updateChildNodeStatus(root, 'k1', 'a', NodeStatus.Success);
      expect(snapshot.nodes[0]!.status).toBe(NodeStatus.Success);
      expect((await store.runs.getChildRun(root, 'k1'))!.snapshot.nodes[0]!.status).toBe(
        NodeStatus.Success,
      );
    });

    it('setRunStatus rewrites the latest attempt status and error', async () => {
      const queued = snapshotOf(dag, { dagRunId: 'e4', status: DagRunStatus.Queued });
      await store.runs.createQueuedRun({ dag, snapshot: queued, trigger: 'api' });
      await store.runs.setRunStatus('edit', 'e4', DagRunStatus.Canceled);
      expect((await store.runs.getRun('edit', 'e4'))!.snapshot.status).toBe(DagRunStatus.Canceled);
      await store.runs.setRunStatus('edit', 'e4', DagRunStatus.Failed, 'failed to start');
      const stored = (await store.runs.getRun('edit', 'e4'))!.snapshot;
      expect([stored.status, stored.error]).toEqual([DagRunStatus.Failed, 'failed to start']);
      expect((await store.runs.listRuns({ statuses: [DagRunStatus.Failed] })).total).toBe(1);
      await expectDaguError(store.runs.setRunStatus('edit', 'x', DagRunStatus.Failed), 'not_found');
    });
  });

  describe('closeAbandonedRuns', () => {
    const dag = dagOf('crash', ['a', 'b']);

    async function deadPid(): Promise<number> {
      const child = spawn('sleep', ['30']);
      const pid = child.pid!;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      return pid;
    }

    sqliteOnly(
      'closes runs whose process is gone as failed, with running nodes failed too',
      async () => {
        const pid = await deadPid();
        const run = snapshotOf(dag, { dagRunId: 'dead', pid });
        await store.runs.record({ type: 'run-started', run, dag });
        run.nodes[0]!.status = NodeStatus.Success;
        await store.runs.record({ type: 'step-finished', run, node: run.nodes[0]! });
        run.nodes[1]!.status = NodeStatus.Running;
        await store.runs.record({ type: 'step-started', run, node: run.nodes[1]! });
        await store.cancels.requestCancel('crash', 'dead');
        await recordRun(store.runs, dag, { dagRunId: 'alive' }, DagRunStatus.Running);

        const closed = await store.runs.closeAbandonedRuns();
        expect(ids(closed)).toEqual(['dead']);
        const stored = (await store.runs.getRun('crash', 'dead'))!.snapshot;
        expect(stored.status).toBe(DagRunStatus.Failed);
        expect(stored.error).toBe(ABANDONED_RUN_ERROR);
        expect(stored.finishedAt).not.toBe('');
        expect(stored.nodes.map((n) => [n.status, n.error])).toEqual([
          [NodeStatus.Success, ''],
          [NodeStatus.Failed, ABANDONED_RUN_ERROR],
        ]);
        expect(await store.cancels.isCancelRequested('crash', 'dead')).toBe(false);
        expect((await store.runs.getRun('crash', 'alive'))!.snapshot.status).toBe(
          DagRunStatus.Running,
        );
        expect(await store.runs.closeAbandonedRuns()).toEqual([]);
      },
    );

    sqliteOnly('treats a reused pid (same pid, another process start time) as gone', async () => {
      await recordRun(store.runs, dag, { dagRunId: 'reused' }, DagRunStatus.Running);
      await handle.sql(
        "UPDATE dag_runs SET owner_start = 'other-boot:1' WHERE dag_run_id = 'reused'",
      );
      expect(ids(await store.runs.closeAbandonedRuns())).toEqual(['reused']);
    });

    sqliteOnly(
      'leaves waiting queued runs alone and fails a claimed run whose claimer died',
      async () => {
        for (const id of ['waiting', 'claimed']) {
          const snapshot = snapshotOf(dag, { dagRunId: id, status: DagRunStatus.Queued });
          await store.runs.createQueuedRun({ dag, snapshot, trigger: 'api' });
          await store.queue.enqueue({
            queue: 'crash',
            name: 'crash',
            dagRunId: id,
            priority: 0,
            enqueuedAt: at(id === 'claimed' ? 1 : 2),
          });
        }
        expect((await store.queue.claimNext('crash', 5))!.dagRunId).toBe('claimed');
        await handle.sql('UPDATE dag_runs SET owner_pid = ? WHERE dag_run_id = ?', [
          await deadPid(),
          'claimed',
        ]);
        expect(ids(await store.runs.closeAbandonedRuns())).toEqual(['claimed']);
        expect((await store.runs.getRun('crash', 'waiting'))!.snapshot.status).toBe(
          DagRunStatus.Queued,
        );
      },
    );

    sqliteOnly('does not judge runs owned by a process on another host', async () => {
      await recordRun(
        store.runs,
        dag,
        { dagRunId: 'remote', pid: await deadPid() },
        DagRunStatus.Running,
      );
      await handle.sql("UPDATE dag_runs SET owner_host = 'elsewhere' WHERE dag_run_id = 'remote'");
      expect(await store.runs.closeAbandonedRuns()).toEqual([]);
    });
  });

  describe('closeAbandonedRuns with owner leases', () => {
    const dag = dagOf('crash', ['a', 'b']);
    const minutesAgo = (ms: number) => `heartbeat_at - ${ms}`;

    postgresOnly('closes the runs of an owner whose lease lapsed, on any machine', async () => {
      // Their heartbeat would come every 200 s: the lease below stays lapsed during the test.
      const other = await handle.open({ leaseMs: 600_000 });
      const theirs = snapshotOf(dag, { dagRunId: 'theirs' });
      await other.runs.record({ type: 'run-started', run: theirs, dag });
      theirs.nodes[0]!.status = NodeStatus.Running;
      await other.runs.record({ type: 'step-started', run: theirs, node: theirs.nodes[0]! });
      await recordRun(store.runs, dag, { dagRunId: 'mine' }, DagRunStatus.Running);
      const [{ owner_id: owner } = {}] = await handle.sql(
        "SELECT owner_id FROM dag_runs WHERE dag_run_id = 'theirs'",
      );
      // A live lease on another machine is left alone.
      await handle.sql("UPDATE store_owners SET host = 'elsewhere' WHERE owner_id = ?", [owner]);
      expect(await store.runs.closeAbandonedRuns()).toEqual([]);
      // 60 s without a heartbeat: past the 30 s lease.
      await handle.sql(
        `UPDATE store_owners SET heartbeat_at = ${minutesAgo(60_000)} WHERE owner_id = ?`,
        [owner],
      );
      const closed = await store.runs.closeAbandonedRuns();
      expect(ids(closed)).toEqual(['theirs']);
      const message = `${ABANDONED_RUN_ERROR} (owner ${String(owner)} stopped heartbeating)`;
      const stored = (await store.runs.getRun('crash', 'theirs'))!.snapshot;
      expect([stored.status, stored.error]).toEqual([DagRunStatus.Failed, message]);
      expect(stored.nodes.map((n) => [n.status, n.error])).toEqual([
        [NodeStatus.Failed, message],
        [NodeStatus.NotStarted, ''],
      ]);
      expect((await store.runs.getRun('crash', 'mine'))!.snapshot.status).toBe(
        DagRunStatus.Running,
      );
      expect(await store.runs.closeAbandonedRuns()).toEqual([]);
    });

    postgresOnly('closes the runs of a killed process of this machine at once', async () => {
      const child = spawnFixture('abandon.mjs', [handle.home, handle.url!]);
      const exited = finished(child);
      const line = await lineStartingWith(child, 'started ');
      const dagRunId = line.slice('started '.length);
      child.kill('SIGKILL');
      await exited;
      // The lease is fresh, but its process is gone: no need to wait for the lease.
      expect(ids(await store.runs.closeAbandonedRuns())).toEqual([dagRunId]);
      const stored = (await store.runs.getRun('crashing', dagRunId))!.snapshot;
      expect([stored.status, stored.error]).toEqual([DagRunStatus.Failed, ABANDONED_RUN_ERROR]);
      expect(stored.nodes.map((n) => n.status)).toEqual([NodeStatus.Success, NodeStatus.Failed]);
    });

    postgresOnly(
      'leaves waiting queued runs alone; a claim by a gone owner is closed',
      async () => {
        for (const id of ['waiting', 'claimed']) {
          const snapshot = snapshotOf(dag, { dagRunId: id, status: DagRunStatus.Queued });
          await store.runs.createQueuedRun({ dag, snapshot, trigger: 'api' });
          await store.queue.enqueue({
            queue: 'crash',
            name: 'crash',
            dagRunId: id,
            priority: 0,
            enqueuedAt: at(id === 'claimed' ? 1 : 2),
          });
        }
        const other = await handle.open();
        expect((await other.queue.claimNext('crash', 5))!.dagRunId).toBe('claimed');
        expect(await store.runs.closeAbandonedRuns()).toEqual([]);
        await other.close();
        expect(ids(await store.runs.closeAbandonedRuns())).toEqual(['claimed']);
        expect((await store.runs.getRun('crash', 'waiting'))!.snapshot.status).toBe(
          DagRunStatus.Queued,
        );
      },
    );
  });

  describe('applyRetention', () => {
    it('deletes finished runs older than N days with their children and log files, in one pass', async () => {
      const logs = store.paths.logDir;
      const makeLogs = (id: string) => {
        const runDir = join(logs, 'old', `dag-run_20240101_000000Z_${id}`);
        mkdirSync(join(runDir, 'run_x'), { recursive: true });
        const log = join(runDir, 'dag-run_20240101.000000.000.log');
        const out = join(runDir, 'run_x', 'a.out');
        writeFileSync(log, 'log');
        writeFileSync(out, 'out');
        return { runDir, log, out };
      };
      const dag = dagOf('old', ['a']);
      const old = await handle.open({ now: () => new Date(at(0)) });
      const files = makeLogs('o1');
      const outside = join(work, `outside-${process.pid}.out`);
      writeFileSync(outside, 'tee');
      const run = await recordRun(old.runs, dag, {
        dagRunId: 'o1',
        startedAt: at(0),
        log: files.log,
      });
      run.nodes[0]!.stdout = files.out;
      run.nodes[0]!.stderr = outside;
      await old.runs.record({ type: 'run-finished', run });
      const root = { name: 'old', dagRunId: 'o1' };
      await recordRun(old.runs, dagOf('kid'), {
        dagRunId: 'k1',
        root,
        parent: root,
        startedAt: at(0),
      });
      await recordRun(
        old.runs,
        dag,
        { dagRunId: 'o2-running', startedAt: at(0) },
        DagRunStatus.Running,
      );
      await recordRun(old.runs, dagOf('other'), { dagRunId: 'x1', startedAt: at(0) });
      await old.cancels.requestCancel('old', 'o2-running');
      await old.close();
      // A recent run of the same DAG stays.
      await recordRun(store.runs, dag, { dagRunId: 'o3', startedAt: at(24 * 40) });

      const now = new Date(at(24 * 41));
      expect(await store.runs.applyRetention('old', 30, now)).toEqual({ deletedRuns: 1 });
      expect(await store.runs.getRun('old', 'o1')).toBeUndefined();
      expect(await store.runs.getChildRun(root, 'k1')).toBeUndefined();
      expect(existsSync(files.runDir)).toBe(false);
      expect(existsSync(outside)).toBe(false);
      expect(readdirSync(join(logs, 'old'))).toEqual([]);
      expect((await store.runs.getRun('old', 'o2-running'))!.snapshot.status).toBe(
        DagRunStatus.Running,
      );
      expect(await store.runs.getRun('old', 'o3')).toBeDefined();
      expect(await store.runs.getRun('other', 'x1')).toBeDefined();
      expect(await store.runs.applyRetention('old', 30, now)).toEqual({ deletedRuns: 0 });
      // Unused definitions go too; the ones still referenced stay.
      const [definitions] = await handle.sql('SELECT COUNT(*) AS n FROM dag_definitions');
      expect(Number(definitions!.n)).toBe(2);
      await expectDaguError(store.runs.applyRetention('old', -1), 'bad_request');
    });

    it('never removes a directory recursively unless it is the run log directory', async () => {
      const dag = dagOf('safe', ['a']);
      const precious = join(work, `precious-${process.pid}`);
      mkdirSync(precious, { recursive: true });
      writeFileSync(join(precious, 'keep.txt'), 'keep');
      const old = await handle.open({ now: () => new Date(at(0)) });
      const run = await recordRun(old.runs, dag, {
        dagRunId: 's1',
        startedAt: at(0),
        log: join(precious, 'keep.txt'),
      });
      run.nodes[0]!.stdout = precious;
      await old.runs.record({ type: 'run-finished', run });
      await old.close();
      expect(await store.runs.applyRetention('safe', 1, new Date(at(24 * 10)))).toEqual({
        deletedRuns: 1,
      });
      // The log file itself goes (it is the run's log); its directory and the rest stay.
      expect(existsSync(precious)).toBe(true);
      expect(existsSync(join(precious, 'keep.txt'))).toBe(false);
    });
  });
});
