// Commands that act on existing runs: stop, retry, restart, enqueue, dequeue. Runs started here
// (retry, restart) and queued runs (enqueue) go through the launcher, as the server's do.
import { DagRunStatus, newDagRunId, recordedParams, type ParamsOverride } from '@dagu-ts/core';
import {
  dagNameOf,
  fail,
  newRunIdProblem,
  waitFor,
  withDagu,
  withStore,
  type Store,
} from './context.js';
import { runHere, type RunOutcome } from './execute.js';
import { loadDagForCommand } from './load.js';

/** The exit code of a run started with the queue bypassed (retry, restart). */
function exitCodeOf(outcome: RunOutcome): number {
  return outcome.queued ? 0 : outcome.exitCode;
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
  return withDagu(async (dagu) => {
    const stored = await dagu.store.runs.getRun(name, options.runId);
    if (!stored) return fail(`dag-run ${name} ${options.runId} not found`);
    if (stored.snapshot.status === DagRunStatus.Running)
      return fail(`dag-run ${name} ${options.runId} is still running`);
    if (options.step && !stored.dag.steps.some((s) => s.name === options.step)) {
      return fail(`step ${JSON.stringify(options.step)} is not a step of DAG ${name}`);
    }
    const outcome = await runHere(dagu, name, options.runId, async () => {
      await dagu.launcher.retry(stored, options.step ? { step: options.step } : {});
      return { dagRunId: options.runId, queued: false };
    });
    return exitCodeOf(outcome);
  });
}

export async function restartCommand(dagArg: string, options: { runId?: string }): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withDagu(async (dagu) => {
    const { store } = dagu;
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
    // The slot the stopped run held is this run's: Dagu's restart does not queue.
    const dagRunId = newDagRunId();
    const outcome = await runHere(dagu, name, dagRunId, () =>
      dagu.launcher.start(stored.dag, {
        dagRunId,
        params: recordedParams(stored.snapshot),
        trigger: 'cli',
        noQueue: true,
      }),
    );
    return exitCodeOf(outcome);
  });
}

export async function enqueueCommand(
  dagArg: string,
  options: { runId?: string; params: ParamsOverride },
): Promise<number> {
  const loaded = await loadDagForCommand(dagArg);
  if (!loaded) return 1;
  const { dag } = loaded;
  return withDagu(async (dagu) => {
    const problem = await newRunIdProblem(dagu.store, dag.name, options.runId);
    if (problem) return fail(problem);
    const { dagRunId } = await dagu.launcher.enqueue(dag, {
      ...(options.runId !== undefined ? { dagRunId: options.runId } : {}),
      params: options.params,
      trigger: 'cli',
    });
    process.stdout.write(`queued ${dag.name} ${dagRunId}\n`);
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
