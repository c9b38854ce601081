// Opening a store: the layout under one home, one database connection per process, and the
// port implementations on top of it.
import { mkdirSync } from 'node:fs';
import { FileLogStore, type LogStore } from '@dagu-ts/core';
import { SqliteCancelStore } from './cancel-store.js';
import { acquireConnection } from './connection.js';
import { FileDagRepository } from './dag-repository.js';
import { SqliteFlagStore } from './flag-store.js';
import { resolveStorePaths, type StorePathOptions, type StorePaths } from './paths.js';
import { SqliteQueueStore } from './queue-store.js';
import { SqliteRunStore } from './run-store.js';
import { SqliteSchedulerTickStore } from './scheduler-ticks.js';
import { SqliteStepProcessStore } from './step-processes.js';
import { SqliteWebhookStore } from './webhook-store.js';
import { SqliteWorkerStore } from './workers.js';

export interface OpenStoreOptions extends StorePathOptions {
  /** Clock of the store's own timestamps (tests inject one). */
  now?: () => Date;
  /** Where the runs' logs are (default: files under the log directory). */
  logs?: LogStore;
}

export interface Store {
  readonly paths: StorePaths;
  readonly runs: SqliteRunStore;
  readonly queue: SqliteQueueStore;
  readonly flags: SqliteFlagStore;
  readonly cancels: SqliteCancelStore;
  readonly ticks: SqliteSchedulerTickStore;
  /** Process groups of running steps, for recovery after a crash. */
  readonly processes: SqliteStepProcessStore;
  /** Per-DAG webhook tokens (hashed). */
  readonly webhooks: SqliteWebhookStore;
  readonly dags: FileDagRepository;
  /** Workers and the runs they hold (distributed execution). */
  readonly workers: SqliteWorkerStore;
  /** The runs' logs: runners write them, the API reads them, retention and renames use them. */
  readonly logs: LogStore;
  /** Releases the database connection (closed when the process's last store closes). */
  close(): void;
}

/**
 * Creates the directories if needed, opens (or creates and migrates) `<dataDir>/dagu.db`. Throws
 * a DaguError when the database file is damaged, belongs to another application or has a newer
 * schema than this code knows; the file is then left untouched.
 */
export function openStore(options: OpenStoreOptions = {}): Store {
  const paths = resolveStorePaths(options);
  for (const dir of [paths.dagsDir, paths.dataDir, paths.logDir])
    mkdirSync(dir, { recursive: true });
  const { connection, release } = acquireConnection(paths.databaseFile);
  const clock = options.now ? { now: options.now } : {};
  const logs = options.logs ?? new FileLogStore(paths.logDir);
  const runs = new SqliteRunStore(connection, { ...clock, logs });
  return {
    paths,
    runs,
    queue: new SqliteQueueStore(connection, clock),
    flags: new SqliteFlagStore(connection, clock),
    cancels: new SqliteCancelStore(connection, clock),
    ticks: new SqliteSchedulerTickStore(connection, clock),
    processes: new SqliteStepProcessStore(connection),
    webhooks: new SqliteWebhookStore(connection),
    dags: new FileDagRepository(paths.dagsDir),
    workers: new SqliteWorkerStore(connection, runs, clock),
    logs,
    close: release,
  };
}
