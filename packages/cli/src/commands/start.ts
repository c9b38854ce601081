// `dagu-ts start`: runs a DAG in this process and exits with Dagu's exit code (§4.14).
import { DagRunner, isValidDagRunId, type ParamsOverride } from '@dagu-ts/core';
import { resolvePaths } from '../paths.js';
import { createProgressView } from '../progress.js';
import { loadDagForCommand } from './load.js';

export interface StartOptions {
  runId?: string;
  params: ParamsOverride;
}

export async function startCommand(dagArg: string, options: StartOptions): Promise<number> {
  if (options.runId !== undefined && !isValidDagRunId(options.runId)) {
    process.stderr.write(
      `invalid run id ${JSON.stringify(options.runId)}: start with a letter or digit, then letters, digits, ., _ or - (at most 64)\n`,
    );
    return 1;
  }
  const loaded = await loadDagForCommand(dagArg);
  if (!loaded) return 1;
  const paths = resolvePaths();
  const runner = new DagRunner({
    dag: loaded.dag,
    logDir: paths.logDir,
    params: options.params,
    dagSearchPaths: [paths.dagsDir],
    ...(options.runId ? { dagRunId: options.runId } : {}),
  });
  const view = createProgressView(process.stderr);
  runner.subscribe((event) => view.onEvent(event));
  // A signal to this process is forwarded to the steps as is (not their signalOnStop).
  const onSignal = (signal: NodeJS.Signals): void => runner.stop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runner.run();
    view.done(result.snapshot);
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
