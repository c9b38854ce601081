// The dagu-ts server: a composition root only. Reads the configuration, opens the store, closes
// runs a crashed process left behind, starts the run launcher, the cron scheduler and the REST
// API, and shuts down gracefully on SIGTERM/SIGINT (a second signal forces the exit).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApiApp } from '@dagu-ts/api';
import { DaguError, RunLauncher, Scheduler } from '@dagu-ts/core';
import { DATABASE_FILE_NAME, openStore } from '@dagu-ts/store';
import {
  authMethods,
  ConfigError,
  loadConfig,
  parseServerArgs,
  USAGE,
  type ServerConfig,
} from './config.js';
import { installCrashPolicy } from './crash-policy.js';
import { createRunEventFanout } from './events.js';
import { hasNoDagFiles, writeExampleDags } from './examples.js';
import { createServer, listen, ListenError, serverUrl, stopAccepting } from './listen.js';
import { createLogger, type Logger } from './logger.js';
import { createWebUi, findWebRoot } from './web-ui.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

async function main(argv: readonly string[]): Promise<void> {
  const flags = parseServerArgs(argv);
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (flags.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  const config = loadConfig({ flags });
  if (config.tz) process.env.TZ = config.tz;
  const logger = createLogger();
  installCrashPolicy(logger);
  await serve(config, logger);
}

async function serve(config: ServerConfig, logger: Logger): Promise<void> {
  const startedAt = new Date();
  const newHome = !existsSync(join(config.dataDir, DATABASE_FILE_NAME));
  const store = openStore({
    home: config.home,
    dagsDir: config.dagsDir,
    dataDir: config.dataDir,
    logDir: config.logDir,
  });

  const abandoned = await store.runs.closeAbandonedRuns();
  if (abandoned.length > 0)
    logger.warn('closed runs left running by a process that exited unexpectedly', {
      runs: abandoned.map((run) => ({ name: run.name, dagRunId: run.dagRunId })),
    });
  if (config.examples && newHome && hasNoDagFiles(config.dagsDir)) {
    const written = await writeExampleDags(config.dagsDir);
    logger.info('wrote example DAGs', { dagsDir: config.dagsDir, files: written });
  }

  const events = createRunEventFanout((error) =>
    logger.error('run event listener failed', { error: (error as Error).message }),
  );
  const launcher = new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    processes: store.processes,
    logs: store.logs,
    dagSearchPaths: [store.paths.dagsDir],
    queueLimits: config.queues.limits,
    queuesEnabled: config.queues.enabled,
    onEvent: events.emit,
  });
  const scheduler = new Scheduler({
    dags: store.dags,
    runs: store.runs,
    flags: store.flags,
    ticks: store.ticks,
    launcher,
    ...(config.tz ? { timezone: config.tz } : {}),
    log: (entry) => logger.write({ level: 'info', ...entry }),
  });
  const app = createApiApp({
    dags: store.dags,
    runs: store.runs,
    queue: store.queue,
    flags: store.flags,
    cancels: store.cancels,
    launcher,
    logs: store.logs,
    version,
    basePath: config.basePath,
    auth: config.auth,
    permissions: config.permissions,
    corsAllowedOrigins: config.corsAllowedOrigins,
    // The name the operator made the server listen on is a name it is reached by.
    allowedHosts: [config.host, ...config.allowedHosts],
    publicMetrics: config.publicMetrics,
    schedulerRunning: () => scheduler.isRunning,
    log: (entry) => logger.write(entry),
    subscribeRunEvents: events.subscribe,
    startedAt,
  });

  await scheduler.start();
  // The web UI at `<basePath>/` when apps/web was built; the API answers everything else.
  const webRoot = findWebRoot();
  const webUi = webRoot ? createWebUi({ root: webRoot, basePath: config.basePath }) : undefined;
  const server = createServer(
    webUi
      ? (req, res) => {
          if (!webUi(req, res)) app(req, res);
        }
      : app,
    config.tls,
  );
  const address = await listen(server, config.port, config.host).catch(async (error: unknown) => {
    await scheduler.stop();
    await launcher.close();
    store.close();
    throw error;
  });
  const url = serverUrl(address, config.tls !== undefined);
  logger.info('listening', {
    url,
    api: `${url}${config.basePath}/api/v2`,
    version,
    pid: process.pid,
    home: config.home,
    dagsDir: store.paths.dagsDir,
    ...(config.configFile ? { configFile: config.configFile } : {}),
    auth: authMethods(config),
    tls: config.tls !== undefined,
    webUi: webRoot !== undefined,
  });

  // Runs left queued by the previous process start now, as far as their queues allow.
  launcher
    .dispatchAll()
    .catch((error: unknown) =>
      logger.error('starting queued runs failed', { error: (error as Error).message }),
    );

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal: exiting without waiting for runs', { signal });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    logger.info('shutting down', { signal, activeRuns: launcher.activeCount });
    const closed = stopAccepting(server);
    scheduler
      .stop()
      .then(() => launcher.close(config.shutdownGraceSec * 1000))
      .then(async () => {
        app.apiRouter.close();
        server.closeAllConnections();
        await closed;
        store.close();
        logger.info('stopped', { signal });
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('shutdown failed', { error: (error as Error).message });
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Expected start-up failures are one line on stderr, never a stack trace.
  const message =
    error instanceof ConfigError || error instanceof ListenError || error instanceof DaguError
      ? error.message
      : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`dagu-ts server: ${message}\n`);
  process.exit(1);
});
