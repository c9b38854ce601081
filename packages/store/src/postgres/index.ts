// @dagu-ts/store/postgres: core's persistence ports on PostgreSQL, for several servers on one
// database. A subpath of its own so that `pg` is loaded only by those who use it.
export { openPostgresStore, redact } from './store.js';
export type { OpenPostgresStoreOptions, PostgresStore } from './store.js';
export { PgRunStore, DEFAULT_LEASE_MS } from './run-store.js';
export {
  PgQueueStore,
  PgFlagStore,
  PgCancelStore,
  PgSchedulerTickStore,
  PgStepProcessStore,
} from './stores.js';
export { PgWebhookStore } from './webhooks.js';
export {
  PgLogStore,
  DEFAULT_LOG_FLUSH_MS,
  DEFAULT_LOG_CHUNK_BYTES,
  DEFAULT_MAX_LOG_BYTES,
} from './log-store.js';
export type { PgLogStoreOptions, LogFileRow, RegisteredLog } from './log-store.js';
export { PgWorkerStore } from './workers.js';
export { PG_LATEST_SCHEMA_VERSION } from './migrations.js';
