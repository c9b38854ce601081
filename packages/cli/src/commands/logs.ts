// `dagu-ts logs <dag> [-r ID] [--step S] [--stderr] [--follow]`: prints a step's output (or the
// run log), and with --follow tails it while the run goes on. The log path is read from the
// stored run on every poll, because a step's path is recorded once the step has set it up.
import { DagRunStatus, NodeStatus, type DagRunSnapshot, type NodeState } from '@dagu-ts/core';
import { dagNameOf, fail, withStore } from './context.js';
import { readFrom } from './log-files.js';
import { findRun, runNotFound } from './status.js';

const FOLLOW_POLL_MS = 200;

export interface LogsOptions {
  runId?: string;
  step?: string;
  stderr?: boolean;
  follow?: boolean;
}

function nodeOf(run: DagRunSnapshot, step: string): NodeState | undefined {
  return run.nodes.find((n) => n.step.name === step) ?? run.handlers[step as 'onExit'];
}

/** Whether the log can still grow: the run (or, with --step, the step) has not ended. */
function stillWriting(run: DagRunSnapshot, node: NodeState | undefined): boolean {
  const runActive =
    run.status === DagRunStatus.Running ||
    run.status === DagRunStatus.Queued ||
    run.status === DagRunStatus.NotStarted;
  if (!node) return runActive;
  // A step that has not started yet may still start while the run is active.
  return runActive && (node.status === NodeStatus.Running || node.status === NodeStatus.NotStarted);
}

export async function logsCommand(dagArg: string, options: LogsOptions): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    let run = await findRun(store, name, options.runId);
    if (!run) return fail(runNotFound(name, options.runId));
    // Later reads must find the same run, also when a newer run starts meanwhile.
    const runId = run.dagRunId;
    const { step } = options;
    if (step !== undefined && !nodeOf(run, step))
      return fail(`step ${JSON.stringify(step)} is not a step of dag-run ${run.name} ${runId}`);
    const pathOf = (snapshot: DagRunSnapshot): string => {
      if (step === undefined) return snapshot.log;
      const node = nodeOf(snapshot, step);
      return (options.stderr ? node?.stderr : node?.stdout) ?? '';
    };

    let offset = 0;
    const drain = (path: string): void => {
      for (;;) {
        const chunk = readFrom(path, offset);
        if (chunk.length === 0) return;
        process.stdout.write(chunk);
        offset += chunk.length;
      }
    };

    if (!options.follow) {
      const path = pathOf(run);
      if (!path) return fail(`${step ? `step ${step}` : `dag-run ${runId}`} has no log yet`);
      drain(path);
      return 0;
    }
    for (;;) {
      const path = pathOf(run);
      const writing = stillWriting(run, step === undefined ? undefined : nodeOf(run, step));
      if (path) drain(path);
      if (!writing) return 0;
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      await store.runs.closeAbandonedRuns();
      run = (await findRun(store, run.name, runId)) ?? run;
    }
  });
}
