// `dagu-ts scheduler`: runs cron schedules and the queues in this process until SIGINT/SIGTERM.
import { RunLauncher, Scheduler } from '@dagu-ts/core';
import { openStore } from '@dagu-ts/store';
import { resolvePaths } from '../paths.js';

export async function schedulerCommand(): Promise<number> {
  const paths = resolvePaths();
  const store = openStore({ dataDir: paths.dataDir, logDir: paths.logDir, dagsDir: paths.dagsDir });
  const log = (entry: Record<string, unknown>): void => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  };
  await store.runs.closeAbandonedRuns();
  const launcher = new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    logDir: paths.logDir,
    dagSearchPaths: [paths.dagsDir],
    onEvent: (event) => {
      if (event.type === 'run-started' || event.type === 'run-finished') {
        log({
          component: 'run',
          event: event.type,
          dag: event.run.name,
          dagRunId: event.run.dagRunId,
          status: event.run.status,
        });
      }
    },
  });
  const scheduler = new Scheduler({
    dags: store.dags,
    runs: store.runs,
    flags: store.flags,
    ticks: store.ticks,
    launcher,
    log,
    ...(process.env.DAGU_TZ ? { timezone: process.env.DAGU_TZ } : {}),
  });
  // Listen before saying "running", so that a signal right after that line shuts down cleanly.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await launcher.dispatchAll();
  await scheduler.start();
  log({
    component: 'scheduler',
    msg: 'running',
    dagsDir: paths.dagsDir,
    dags: scheduler.scheduledDags(),
  });
  await stopped;
  log({ component: 'scheduler', msg: 'shutting down' });
  await scheduler.stop();
  await launcher.close();
  store.close();
  return 0;
}
