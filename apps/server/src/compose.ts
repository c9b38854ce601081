// The one composition of dagu-ts: from a configuration, the store, the run launcher and, when
// asked, the cron scheduler and the REST API app. The server, every CLI command that touches
// the store (`dagu-ts start`, `scheduler`, `server`, `start-all`, …) and the test harnesses
// build their processes with it, so they make the same queue decisions, handle stops the same
// way and apply the same retention. @dagu-ts/api (and with it Express) is loaded only when the
// API is composed: a CLI command does not pay for it.
import type { ApiDeps, createApiApp } from '@dagu-ts/api';
import {
  DagCatalog,
  collectChildDags,
  expireWorkerLeases,
  RunLauncher,
  Scheduler,
  type CancelStore,
  type Dag,
  type DagRunSnapshot,
  type FlagStore,
  type LogStore,
  type QueueStore,
  type RunEvent,
  type RunEventListener,
  type RunStore,
  type SchedulerClock,
  type SchedulerTickStore,
  type StateChanges,
  type StepProcessStore,
  type WebhookStore,
  type WorkerStore,
} from '@dagu-ts/core';
import {
  openStore,
  type FileDagRepository,
  type ImportedRun,
  type StorePaths,
} from '@dagu-ts/store';
import type { ServerConfig } from './config.js';
import { createRunEventFanout } from './events.js';

/** The API app as @dagu-ts/api builds it (an Express app with `apiRouter`). */
export type ApiApp = ReturnType<typeof createApiApp>;

export interface ComposeOptions {
  /** Run cron schedules in this process (`start-all`, `scheduler`). */
  scheduler?: boolean;
  /** Build the API app (`server`, `start-all`); it is not listening yet. */
  api?: {
    /** Reported by /health and dagu_info. */
    version: string;
    /** Structured request log lines (default: JSON lines to stderr). */
    log?: ApiDeps['log'];
    /** Overrides what /metrics reports about the scheduler (tests of the API alone). */
    schedulerRunning?: () => boolean;
    startedAt?: Date;
  };
  /**
   * false for a process that runs one run and exits (`dagu-ts start`): the launcher starts no
   * other queued run and leaves queues to a server or scheduler (default true).
   */
  dispatchQueues?: boolean;
  /** How often the launcher sweeps the queues (default 5 s; 0 = only when runs end). */
  sweepIntervalMs?: number;
  /** Fork steps through a helper process (default true; see RunLauncherOptions.spawnHelper). */
  spawnHelper?: boolean | 'when-ready';
  /** One clock for scheduler, launcher and store timestamps (tests inject one). */
  clock?: SchedulerClock;
  /** Scheduler log lines (component, msg, …). */
  log?: (entry: Record<string, unknown>) => void;
  /** A run event listener that failed (the run goes on). */
  onListenerError?: (error: unknown) => void;
}

/**
 * The store of a composition: SQLite (@dagu-ts/store) or PostgreSQL (@dagu-ts/store/postgres,
 * when the configuration has a database URL). DAG files and logs are local files with both.
 */
export interface DaguStore {
  readonly paths: StorePaths;
  readonly runs: RunStore & { importRuns(runs: readonly ImportedRun[]): Promise<number> };
  readonly queue: QueueStore;
  readonly flags: FlagStore;
  readonly cancels: CancelStore;
  readonly ticks: SchedulerTickStore;
  readonly processes: StepProcessStore;
  readonly webhooks: WebhookStore;
  /** Remote workers' registry and run leases (both stores have them). */
  readonly workers?: WorkerStore;
  readonly dags: FileDagRepository;
  readonly logs: LogStore;
  /** Other processes' enqueues, run ends and stops, pushed (PostgreSQL); SQLite has none. */
  readonly changes?: StateChanges;
  close(): void | Promise<void>;
}

/**
 * Opens the configured store: PostgreSQL for a database URL (its driver is loaded only then),
 * else SQLite under the data directory.
 */
export async function openStoreFor(config: ServerConfig, now?: () => Date): Promise<DaguStore> {
  const options = {
    home: config.home,
    dagsDir: config.dagsDir,
    dataDir: config.dataDir,
    logDir: config.logDir,
    ...(now ? { now } : {}),
  };
  if (config.databaseUrl === undefined) return openStore(options);
  const { openPostgresStore } = await import('@dagu-ts/store/postgres');
  return openPostgresStore({ ...options, url: config.databaseUrl });
}

export interface Dagu {
  config: ServerConfig;
  store: DaguStore;
  launcher: RunLauncher;
  scheduler?: Scheduler;
  app?: ApiApp;
  /** Runs a crashed process had left running, closed as failed when this composition opened. */
  abandoned: DagRunSnapshot[];
  /** Events of every run this process executes (progress views, metrics, live logs). */
  subscribe(listener: RunEventListener): () => void;
  /**
   * Stops the scheduler, lets active runs go on for up to `graceMs` (Infinity: until they end),
   * stops the rest, then releases the API's timers and the store. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

export async function composeDagu(
  config: ServerConfig,
  options: ComposeOptions = {},
): Promise<Dagu> {
  const clock = options.clock;
  const store = await openStoreFor(config, clock ? () => clock.now() : undefined);
  try {
    const abandoned = await store.runs.closeAbandonedRuns();
    const events = createRunEventFanout(options.onListenerError);
    const launcher = new RunLauncher({
      runs: store.runs,
      queue: store.queue,
      cancels: store.cancels,
      processes: store.processes,
      logs: store.logs,
      dagSearchPaths: [store.paths.dagsDir],
      queueLimits: config.queues.limits,
      queuesEnabled: config.queues.enabled,
      onEvent: (event: RunEvent) => events.emit(event),
      ...(options.dispatchQueues === false ? { dispatchQueues: false } : {}),
      ...(options.sweepIntervalMs !== undefined
        ? { sweepIntervalMs: options.sweepIntervalMs }
        : {}),
      ...(options.spawnHelper !== undefined ? { spawnHelper: options.spawnHelper } : {}),
      ...(clock ? { clock } : {}),
      executionMode: config.workers.executionMode,
    });
    // One parse of the DAG files for the scheduler and the API's listings.
    const catalog = new DagCatalog(store.dags);
    // A launcher that dispatches queues hears at once of other servers' enqueues, run ends and
    // stops; its sweep and stop polling stay as the safety net.
    const unfollow =
      options.dispatchQueues !== false && store.changes
        ? followChanges(store.changes, launcher)
        : undefined;
    const scheduler = options.scheduler
      ? new Scheduler({
          dags: store.dags,
          catalog,
          runs: store.runs,
          flags: store.flags,
          ticks: store.ticks,
          launcher,
          ...(config.tz ? { timezone: config.tz } : {}),
          ...(clock ? { clock } : {}),
          ...(options.log ? { log: options.log } : {}),
        })
      : undefined;
    const app = options.api
      ? await composeApi(config, store, catalog, launcher, events.subscribe, {
          ...options.api,
          schedulerRunning: options.api.schedulerRunning ?? (() => scheduler?.isRunning ?? false),
        })
      : undefined;

    // The server that workers talk to ends the leases of silent workers.
    const leases =
      app && store.workers
        ? watchWorkerLeases(
            { runs: store.runs, workers: store.workers },
            config.workers.leaseSec * 1000,
            options.log,
          )
        : undefined;

    let closing: Promise<void> | undefined;
    return {
      config,
      store,
      launcher,
      ...(scheduler ? { scheduler } : {}),
      ...(app ? { app } : {}),
      abandoned,
      subscribe: events.subscribe,
      close(graceMs = 0) {
        closing ??= (async () => {
          await scheduler?.stop();
          if (leases) clearInterval(leases);
          unfollow?.();
          await launcher.close(graceMs);
          app?.apiRouter.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Acts on other processes' changes: a queue that gained an item or a free slot is dispatched
 * (one pass at a time; changes during a pass ask for one more), a stop request for a run of this
 * process stops it now.
 */
function followChanges(changes: StateChanges, launcher: RunLauncher): () => void {
  let dispatching = false;
  let again = false;
  const dispatch = (): void => {
    if (dispatching) {
      again = true;
      return;
    }
    dispatching = true;
    void launcher
      .dispatchAll()
      .catch(() => undefined) // a store out of reach now: the sweep tries again
      .finally(() => {
        dispatching = false;
        if (again) {
          again = false;
          dispatch();
        }
      });
  };
  return changes.subscribe((change) => {
    if (change.kind !== 'cancel') return dispatch();
    if (launcher.isActive(change.name, change.dagRunId))
      launcher.stop(change.name, change.dagRunId).catch(() => undefined);
  });
}

async function composeApi(
  config: ServerConfig,
  store: DaguStore,
  catalog: DagCatalog,
  launcher: RunLauncher,
  subscribeRunEvents: (listener: RunEventListener) => () => void,
  api: NonNullable<ComposeOptions['api']>,
): Promise<ApiApp> {
  const { createApiApp: create } = await import('@dagu-ts/api');
  return create({
    dags: store.dags,
    catalog,
    runs: store.runs,
    queue: store.queue,
    flags: store.flags,
    cancels: store.cancels,
    launcher,
    logs: store.logs,
    webhooks: store.webhooks,
    queueLimits: config.queues.enabled ? config.queues.limits : new Map(),
    version: api.version,
    basePath: config.basePath,
    auth: config.auth,
    permissions: config.permissions,
    corsAllowedOrigins: config.corsAllowedOrigins,
    // The name the operator made the server listen on is a name it is reached by.
    allowedHosts: [config.host, ...config.allowedHosts],
    publicMetrics: config.publicMetrics,
    subscribeRunEvents,
    ...(store.workers
      ? {
          workers: {
            store: store.workers,
            limitOf: (dag: Dag) => launcher.limitOf(dag),
            leaseMs: config.workers.leaseSec * 1000,
            // Found where the server's own runs find them (the launcher's search path).
            childDagsOf: (dag: Dag) =>
              collectChildDags(dag, {
                localDags: dag.localDags,
                searchPaths: [store.paths.dagsDir],
                engineCwd: process.cwd(),
              }),
          },
        }
      : {}),
    ...(api.schedulerRunning ? { schedulerRunning: api.schedulerRunning } : {}),
    ...(api.log ? { log: api.log } : {}),
    ...(api.startedAt ? { startedAt: api.startedAt } : {}),
  });
}

/**
 * Checks worker leases a few times per lease. For one lease after start-up nothing expires: the
 * workers of a restarted server need that long to reach it again.
 */
function watchWorkerLeases(
  store: { runs: RunStore; workers: WorkerStore },
  leaseMs: number,
  log: ComposeOptions['log'],
): NodeJS.Timeout {
  const startedAt = Date.now();
  let busy = false;
  const timer = setInterval(
    () => {
      const now = new Date();
      if (busy || now.getTime() - startedAt < leaseMs) return;
      busy = true;
      expireWorkerLeases({ runs: store.runs, workers: store.workers }, now, leaseMs)
        .then((expired) => {
          for (const lease of expired)
            log?.({ component: 'workers', msg: 'worker lease expired', ...lease });
        })
        .catch((error: unknown) =>
          log?.({ component: 'workers', msg: 'lease check failed', error: String(error) }),
        )
        .finally(() => (busy = false));
    },
    Math.max(100, Math.min(1_000, leaseMs / 4)),
  );
  timer.unref();
  return timer;
}
