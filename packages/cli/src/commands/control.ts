// Commands that act on existing runs: stop, retry, restart, enqueue, dequeue.
import {
  createQueuedSnapshot,
  DagRunStatus,
  recordedParams,
  type Dag,
  type DagRunSnapshot,
  type ParamsOverride,
} from '@dagu-ts/core';
import { dagNameOf, fail, newRunIdProblem, waitFor, withStore, type Store } from './context.js';
import { executeRun } from './execute.js';
import { loadDagForCommand } from './load.js';

/** Records a queued run and puts it in its queue (the DAG's `queue:` or its name). */
export async function enqueueRun(
  store: Store,
  dag: Dag,
  options: { runId?: string; params: ParamsOverride },
): Promise<DagRunSnapshot> {
  const snapshot = await createQueuedSnapshot(dag, {
    params: options.params,
    ...(options.runId ? { dagRunId: options.runId } : {}),
  });
  await store.runs.createQueuedRun({ dag, snapshot, trigger: 'cli' });
  await store.queue.enqueue({
    queue: dag.queue ?? dag.name,
    name: dag.name,
    dagRunId: snapshot.dagRunId,
    priority: 0,
    enqueuedAt: snapshot.queuedAt,
  });
  return snapshot;
}

async function findRun(store: Store, name: string, runId: string | undefined) {
  return runId ? store.runs.getRun(name, runId) : store.runs.getLatestRun(name);
}

/** Asks the process running the run to stop it, then waits until it has. */
async function stopAndWait(
  store: Store,
  name: string,
  runId: string,
  graceSec: number,
): Promise<boolean> {
  await store.cancels.requestCancel(name, runId);
  return waitFor(
    async () => {
      await store.runs.closeAbandonedRuns();
      const run = await store.runs.getRun(name, runId);
      return !run || run.snapshot.status !== DagRunStatus.Running;
    },
    (graceSec + 10) * 1000,
  );
}

export async function stopCommand(dagArg: string, options: { runId?: string }): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const stored = await findRun(store, name, options.runId);
    if (!stored)
      return fail(`no run of DAG ${name}${options.runId ? ` with id ${options.runId}` : ''}`);
    const { dagRunId, status } = stored.snapshot;
    if (status !== DagRunStatus.Running) return fail(`dag-run ${name} ${dagRunId} is not running`);
    if (!(await stopAndWait(store, name, dagRunId, stored.dag.maxCleanUpTimeSec))) {
      return fail(`dag-run ${name} ${dagRunId} did not stop in time`);
    }
    process.stdout.write(`stopped ${name} ${dagRunId}\n`);
    return 0;
  });
}

export async function retryCommand(
  dagArg: string,
  options: { runId: string; step?: string },
): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const stored = await store.runs.getRun(name, options.runId);
    if (!stored) return fail(`dag-run ${name} ${options.runId} not found`);
    if (stored.snapshot.status === DagRunStatus.Running)
      return fail(`dag-run ${name} ${options.runId} is still running`);
    if (options.step && !stored.dag.steps.some((s) => s.name === options.step)) {
      return fail(`step ${JSON.stringify(options.step)} is not a step of DAG ${name}`);
    }
    await store.queue.remove(name, options.runId);
    const result = await executeRun(store, stored.dag, {
      dagRunId: options.runId,
      trigger: 'retry',
      retry: { previous: stored.snapshot, ...(options.step ? { step: options.step } : {}) },
      ...(stored.snapshot.queuedAt ? { queuedAt: stored.snapshot.queuedAt } : {}),
    });
    return result.exitCode;
  });
}

export async function restartCommand(dagArg: string, options: { runId?: string }): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const stored = await findRun(store, name, options.runId);
    if (!stored || stored.snapshot.status !== DagRunStatus.Running) {
      return fail(
        `DAG ${name} has no running run${options.runId ? ` with id ${options.runId}` : ''} to restart`,
      );
    }
    if (!(await stopAndWait(store, name, stored.snapshot.dagRunId, stored.dag.maxCleanUpTimeSec))) {
      return fail(`dag-run ${name} ${stored.snapshot.dagRunId} did not stop in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, stored.dag.restartWaitSec * 1000));
    const result = await executeRun(store, stored.dag, {
      params: recordedParams(stored.snapshot),
    });
    return result.exitCode;
  });
}

export async function enqueueCommand(
  dagArg: string,
  options: { runId?: string; params: ParamsOverride },
): Promise<number> {
  const loaded = await loadDagForCommand(dagArg);
  if (!loaded) return 1;
  const { dag } = loaded;
  return withStore(async (store) => {
    const problem = await newRunIdProblem(store, dag.name, options.runId);
    if (problem) return fail(problem);
    const snapshot = await enqueueRun(store, dag, options);
    process.stdout.write(`queued ${dag.name} ${snapshot.dagRunId}\n`);
    return 0;
  });
}

export async function dequeueCommand(dagArg: string, options: { runId: string }): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const stored = await store.runs.getRun(name, options.runId);
    if (!stored) return fail(`dag-run ${name} ${options.runId} not found`);
    if (stored.snapshot.status !== DagRunStatus.Queued) {
      return fail(
        `dag-run ${name} ${options.runId} is not queued (it is ${stored.snapshot.status})`,
      );
    }
    await store.queue.remove(name, options.runId);
    await store.runs.setRunStatus(name, options.runId, DagRunStatus.Canceled);
    process.stdout.write(`dequeued ${name} ${options.runId}\n`);
    return 0;
  });
}
