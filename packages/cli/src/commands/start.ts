// `dagu-ts start`: runs a DAG in this process, persisted under DAGU_HOME, and exits with Dagu's
// exit code (dag-yaml.md §4.14). It goes through the server's run launcher: when the DAG's queue
// (its `queue:` or its name) is at its limit (`queues.config` or `maxActiveRuns`) the run is
// queued instead, and a server or `dagu-ts scheduler` starts it when a slot frees.
import { newDagRunId, type Dag, type ParamsOverride } from '@dagu-ts/core';
import { cliConfig } from '../settings.js';
import { fail, newRunIdProblem, SPAWN_HELPER_MIN_STEPS, withDagu, type Dagu } from './context.js';
import { runHere } from './execute.js';
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
  return withDagu(
    async (dagu) => {
      const problem = await newRunIdProblem(dagu.store, dag.name, options.runId);
      if (problem) return fail(problem);
      const dagRunId = options.runId ?? newDagRunId();
      const outcome = await runHere(dagu, dag.name, dagRunId, () =>
        dagu.launcher.start(dag, {
          dagRunId,
          params: options.params,
          trigger: 'cli',
          noQueue: !options.queue || Boolean(process.env.DISABLE_DAG_RUN_QUEUE),
        }),
      );
      if (!outcome.queued) return outcome.exitCode;
      process.stdout.write(`queued ${dag.name} ${dagRunId} (${await queueReason(dagu, dag)})\n`);
      return 0;
    },
    { spawnHelper: dag.steps.length >= SPAWN_HELPER_MIN_STEPS },
  );
}

/** Why the run waits: its queue, the queue's limit and what is ahead of it. */
async function queueReason(dagu: Dagu, dag: Dag): Promise<string> {
  const queue = dag.queue ?? dag.name;
  const limit = cliConfig().queues.limits.get(queue) ?? Math.max(1, dag.maxActiveRuns);
  const waiting = (await dagu.store.queue.list(queue)).length;
  return `queue ${queue}: at most ${limit} active run(s), ${waiting} waiting`;
}
