// `dagu-ts start`: runs a DAG in this process, persisted under DAGU_HOME, and exits with Dagu's
// exit code (dag-yaml.md §4.14). When the DAG's maxActiveRuns is reached the run is queued instead.
import { DagRunStatus, type ParamsOverride } from '@dagu-ts/core';
import { fail, newRunIdProblem, withStore } from './context.js';
import { enqueueRun } from './control.js';
import { executeRun } from './execute.js';
import { loadDagForCommand } from './load.js';

export interface StartOptions {
  runId?: string;
  params: ParamsOverride;
  /** false with --no-queue: run now whatever else is running. */
  queue: boolean;
}

export async function startCommand(dagArg: string, options: StartOptions): Promise<number> {
  const loaded = await loadDagForCommand(dagArg);
  if (!loaded) return 1;
  const { dag } = loaded;
  return withStore(async (store) => {
    const problem = await newRunIdProblem(store, dag.name, options.runId);
    if (problem) return fail(problem);
    const queueing = options.queue && dag.maxActiveRuns >= 0 && !process.env.DISABLE_DAG_RUN_QUEUE;
    if (queueing) {
      const active = await store.runs.listRuns({
        name: dag.name,
        statuses: [DagRunStatus.Running],
        limit: 1,
      });
      if (active.total >= dag.maxActiveRuns) {
        const snapshot = await enqueueRun(store, dag, options);
        process.stdout.write(
          `queued ${dag.name} ${snapshot.dagRunId} (${active.total} run(s) active, maxActiveRuns ${dag.maxActiveRuns})\n`,
        );
        return 0;
      }
    }
    const result = await executeRun(store, dag, {
      params: options.params,
      ...(options.runId ? { dagRunId: options.runId } : {}),
    });
    return result.exitCode;
  });
}
