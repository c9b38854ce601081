// Runs a DAG in this process with everything a persisted run needs: the store as recorder,
// retention, stop requests from other processes, signals, and the progress view.
import { DagRunner, type Dag, type DagRunOptions, type DagRunResult } from '@dagu-ts/core';
import { resolvePaths } from '../paths.js';
import { createProgressView } from '../progress.js';
import type { Store } from './context.js';

const CANCEL_POLL_MS = 250;

export async function executeRun(
  store: Store,
  dag: Dag,
  options: Omit<DagRunOptions, 'dag' | 'logDir' | 'recorder'>,
): Promise<DagRunResult> {
  const paths = resolvePaths();
  await store.runs.applyRetention(dag.name, dag.histRetentionDays);
  const runner = new DagRunner({
    dag,
    logDir: paths.logDir,
    recorder: store.runs,
    processes: store.processes,
    dagSearchPaths: [paths.dagsDir],
    trigger: 'cli',
    ...options,
  });
  const view = createProgressView(process.stderr);
  runner.subscribe((event) => view.onEvent(event));
  // `dagu-ts stop` from another process leaves a cancel request that this process picks up.
  const poll = setInterval(() => {
    store.cancels
      .isCancelRequested(dag.name, runner.dagRunId)
      .then((requested) => {
        if (requested) runner.stop();
      })
      .catch(() => undefined); // A store that cannot be read now is asked again at the next poll.
  }, CANCEL_POLL_MS);
  // A signal to this process is forwarded to the steps as is (not their signalOnStop).
  const onSignal = (signal: NodeJS.Signals): void => runner.stop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runner.run();
    view.done(result.snapshot);
    return result;
  } finally {
    clearInterval(poll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.cancels.clearCancel(dag.name, runner.dagRunId);
  }
}
