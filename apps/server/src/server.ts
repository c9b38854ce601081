// The server process: the composition with the API (and, for `start-all`, the cron scheduler),
// the web UI, listening, and a graceful shutdown on SIGTERM/SIGINT (a second signal forces the
// exit). `dagu-ts-server` (main.ts), `dagu-ts server` and `dagu-ts start-all` all run this.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerClock } from '@dagu-ts/core';
import { DATABASE_FILE_NAME } from '@dagu-ts/store';
import { composeDagu, type Dagu } from './compose.js';
import { authMethods, type ServerConfig } from './config.js';
import { installCrashPolicy } from './crash-policy.js';
import { hasNoDagFiles, writeExampleDags } from './examples.js';
import { createServer, listen, serverUrl, stopAccepting } from './listen.js';
import { createLogger, type Logger } from './logger.js';
import { createWebUi, findWebRoot } from './web-ui.js';

/** The version of this package: what /health and dagu_info report. */
export const SERVER_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export interface ServeOptions {
  /** Run cron schedules too (`start-all`); without it the server dispatches queues only. */
  scheduler: boolean;
  /** JSON lines on stderr by default. */
  logger?: Logger;
  /** One clock for scheduler, launcher and store (tests inject one). */
  clock?: SchedulerClock;
  /** Shut down on SIGTERM/SIGINT (default true). */
  signals?: boolean;
}

export interface RunningServer {
  dagu: Dagu;
  /** e.g. http://127.0.0.1:8080 (without the base path). */
  url: string;
  /** Stops accepting, stops the scheduler, lets runs go on for the grace time, closes all. */
  shutdown(reason: string): Promise<void>;
  /** Resolves with the process exit code once a shutdown has finished. */
  done: Promise<number>;
}

export async function serve(config: ServerConfig, options: ServeOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const startedAt = new Date();
  const newHome = !existsSync(join(config.dataDir, DATABASE_FILE_NAME));
  const dagu = await composeDagu(config, {
    scheduler: options.scheduler,
    api: { version: SERVER_VERSION, log: (entry) => logger.write(entry), startedAt },
    log: (entry) => logger.write({ level: 'info', ...entry }),
    onListenerError: (error) =>
      logger.error('run event listener failed', { error: (error as Error).message }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { store, launcher, scheduler } = dagu;
  const app = dagu.app!;
  if (dagu.abandoned.length > 0)
    logger.warn('closed runs left running by a process that exited unexpectedly', {
      runs: dagu.abandoned.map((run) => ({ name: run.name, dagRunId: run.dagRunId })),
    });
  if (config.examples && newHome && hasNoDagFiles(config.dagsDir)) {
    const written = await writeExampleDags(config.dagsDir);
    logger.info('wrote example DAGs', { dagsDir: config.dagsDir, files: written });
  }

  await scheduler?.start();
  // The web UI at `<basePath>/` when apps/web was built; the API answers everything else.
  const webRoot = findWebRoot();
  const webUi = webRoot
    ? createWebUi({
        root: webRoot,
        basePath: config.basePath,
        permissions: config.permissions,
        auth: authMethods(config).length > 0,
      })
    : undefined;
  const server = createServer(
    webUi
      ? (req, res) => {
          if (!webUi(req, res)) app(req, res);
        }
      : app,
    config.tls,
  );
  const address = await listen(server, config.port, config.host).catch(async (error: unknown) => {
    await dagu.close();
    throw error;
  });
  const url = serverUrl(address, config.tls !== undefined);
  logger.info('listening', {
    url,
    api: `${url}${config.basePath}/api/v2`,
    version: SERVER_VERSION,
    pid: process.pid,
    home: config.home,
    dagsDir: store.paths.dagsDir,
    ...(config.configFile ? { configFile: config.configFile } : {}),
    auth: authMethods(config),
    tls: config.tls !== undefined,
    webUi: webRoot !== undefined,
    scheduler: scheduler !== undefined,
  });

  // Runs left queued by the previous process, or by `dagu-ts start`/`enqueue` in another
  // process, start now as far as their queues allow (then at every sweep and run end).
  launcher
    .dispatchAll()
    .catch((error: unknown) =>
      logger.error('starting queued runs failed', { error: (error as Error).message }),
    );

  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal: exiting without waiting for runs', { signal });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    shutdown(signal).catch(() => undefined);
  };
  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info('shutting down', { reason, activeRuns: launcher.activeCount });
      const closed = stopAccepting(server);
      try {
        await scheduler?.stop();
        await launcher.close(config.shutdownGraceSec * 1000);
        // Requests still open (live log streams) end before the store closes under them.
        server.closeAllConnections();
        await closed;
        await dagu.close();
        logger.info('stopped', { reason });
        finish(0);
      } catch (error) {
        logger.error('shutdown failed', { error: (error as Error).message });
        finish(1);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    })();
    return stopping;
  };
  if (options.signals !== false) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { dagu, url, shutdown, done };
}

/**
 * A server program until it is stopped: the crash policy (a store that cannot be written is
 * survived, anything else uncaught exits), then `serve`. Resolves with the exit code.
 */
export async function runServer(config: ServerConfig, options: ServeOptions): Promise<number> {
  if (config.tz) process.env.TZ = config.tz;
  const logger = options.logger ?? createLogger();
  installCrashPolicy(logger);
  const running = await serve(config, { ...options, logger });
  return running.done;
}
