// A command's run in this process: started through the launcher the server uses (same queue
// decisions, stop requests from other processes, retention), followed on stderr by the progress
// view until it ends. SIGINT/SIGTERM stop it: the signal goes to the steps as is.
import type { DagRunSnapshot, LaunchResult } from '@dagu-ts/core';
import { createProgressView } from '../progress.js';
import type { Dagu } from './context.js';

export type RunOutcome = { queued: true } | { queued: false; exitCode: 0 | 1 };

/**
 * Launches the run `name`/`dagRunId` and waits until it has ended. `queued` when the launcher
 * left it in its queue (a server or scheduler starts it); else Dagu's exit code of `start`
 * (dag-yaml.md §4.14): 0 unless the run recorded an error.
 */
export async function runHere(
  dagu: Dagu,
  name: string,
  dagRunId: string,
  launch: () => Promise<LaunchResult>,
): Promise<RunOutcome> {
  const view = createProgressView(process.stderr);
  let final: DagRunSnapshot | undefined;
  // Root runs going on in this process: normally just this one, but a queue claim that races
  // with a server's can hand this process the run behind it, which then runs here too.
  const here = new Map<string, DagRunSnapshot>();
  const unsubscribe = dagu.subscribe((event) => {
    const { run } = event;
    if (run.parent) return;
    const key = `${run.name}\u0000${run.dagRunId}`;
    if (event.type === 'run-started') here.set(key, run);
    if (event.type === 'run-finished') here.delete(key);
    if (run.name !== name || run.dagRunId !== dagRunId) return;
    view.onEvent(event);
    if (event.type === 'run-finished') final = run;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const run of here.values())
      dagu.launcher.stop(run.name, run.dagRunId, signal).catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { queued } = await launch();
    // Every run started here ends before the store closes (and the process exits).
    await dagu.launcher.close(Infinity);
    if (queued) return { queued: true };
    if (!final) throw new Error(`dag-run ${name} ${dagRunId} ended without a final status`);
    view.done(final);
    return { queued: false, exitCode: final.error ? 1 : 0 };
  } finally {
    unsubscribe();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
