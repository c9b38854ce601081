// @dagu-ts/store: core's persistence ports on SQLite, and the DAG file repository.
export { openStore } from './store.js';
export type { OpenStoreOptions, Store } from './store.js';
export { resolveStorePaths, defaultHome, DATABASE_FILE_NAME } from './paths.js';
export type { StorePathOptions, StorePaths } from './paths.js';
export { SqliteRunStore, ABANDONED_RUN_ERROR } from './run-store.js';
export type { DagRunSummary, ImportedRun, SqliteRunStoreOptions } from './run-store.js';
export { SqliteQueueStore } from './queue-store.js';
export { SqliteFlagStore } from './flag-store.js';
export { SqliteCancelStore } from './cancel-store.js';
export { SqliteSchedulerTickStore } from './scheduler-ticks.js';
export { SqliteStepProcessStore } from './step-processes.js';
export { SqliteWebhookStore } from './webhook-store.js';
export { SqliteWorkerStore, workerOwnerHost } from './workers.js';
export { FileDagRepository, canonicalDagFileName } from './dag-repository.js';
export { MAX_SEARCH_PATTERN_LENGTH } from './dag-search.js';
export { APPLICATION_ID, BUSY_TIMEOUT_MS, toStoreError } from './connection.js';
export { LATEST_SCHEMA_VERSION } from './migrations.js';
