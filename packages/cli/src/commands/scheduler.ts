// `dagu-ts scheduler`: cron schedules and the queues (also runs queued by `dagu-ts start` and
// `enqueue` in other processes) in this process until SIGINT/SIGTERM; no API.
import { composeDagu } from '@dagu-ts/server';
import { cliConfig } from '../settings.js';

export async function schedulerCommand(): Promise<number> {
  const config = cliConfig();
  const log = (entry: Record<string, unknown>): void => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  };
  const dagu = await composeDagu(config, { scheduler: true, log });
  const scheduler = dagu.scheduler!;
  dagu.subscribe((event) => {
    if (event.type === 'run-started' || event.type === 'run-finished') {
      log({
        component: 'run',
        event: event.type,
        dag: event.run.name,
        dagRunId: event.run.dagRunId,
        status: event.run.status,
      });
    }
  });
  // Listen before saying "running", so that a signal right after that line shuts down cleanly.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await dagu.launcher.dispatchAll();
  await scheduler.start();
  log({
    component: 'scheduler',
    msg: 'running',
    dagsDir: dagu.store.paths.dagsDir,
    dags: scheduler.scheduledDags(),
  });
  await stopped;
  log({ component: 'scheduler', msg: 'shutting down' });
  await dagu.close(config.shutdownGraceSec * 1000);
  return 0;
}
