// Opening a PostgreSQL store: the pool, the migrations, this process's owner lease, and the ports
// on top of them. DAG files stay local (the DAGs directory every server shares); logs are written
// to local files under the home of the server that runs the run and shipped into the database,
// so every server reads them (PgLogStore).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { DaguError, FileLogStore, type LogStore } from '@dagu-ts/core';
import { FileDagRepository } from '../dag-repository.js';
import { resolveStorePaths, type StorePathOptions, type StorePaths } from '../paths.js';
import { hostName, ownIdentity } from '../process-identity.js';
import { PgConnection, migrate } from './connection.js';
import { PgLogStore, type PgLogStoreOptions } from './log-store.js';
import { DEFAULT_LEASE_MS, PgRunStore } from './run-store.js';
import {
  PgCancelStore,
  PgFlagStore,
  PgQueueStore,
  PgSchedulerTickStore,
  PgStepProcessStore,
} from './stores.js';
import { PgWebhookStore } from './webhooks.js';
import { PgStateChanges } from './notify.js';
import { PgWorkerStore } from './workers.js';

export interface OpenPostgresStoreOptions extends StorePathOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  now?: () => Date;
  /** Another log store (tests); by default PgLogStore on local files under the log directory. */
  logs?: LogStore;
  /** Shipping of logs into the database (flush interval, chunk size, cap per log). */
  logShipping?: PgLogStoreOptions;
  /** An owner whose heartbeat is older than this is gone; its runs are closed (default 30 s). */
  leaseMs?: number;
  /** How often the lease is refreshed (default leaseMs / 3). */
  heartbeatMs?: number;
  /**
   * Close the runs of lapsed owners at each heartbeat (default true): with several servers,
   * the survivors close the runs of one that died, not only a restart of it.
   */
  reapAbandoned?: boolean;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

export interface PostgresStore {
  readonly paths: StorePaths;
  /** This process's owner id in store_owners. */
  readonly ownerId: string;
  readonly runs: PgRunStore;
  readonly queue: PgQueueStore;
  readonly flags: PgFlagStore;
  readonly cancels: PgCancelStore;
  readonly ticks: PgSchedulerTickStore;
  readonly processes: PgStepProcessStore;
  readonly webhooks: PgWebhookStore;
  /** Workers and the runs they hold (distributed execution), shared by every server. */
  readonly workers: PgWorkerStore;
  readonly dags: FileDagRepository;
  readonly logs: LogStore;
  /** Other servers' enqueues, run ends and stop requests (LISTEN/NOTIFY), on subscription. */
  readonly changes: PgStateChanges;
  /** Stops the heartbeat, gives the lease up and ends the pool. */
  close(): Promise<void>;
}

const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<PostgresStore> {
  if (!/^postgres(ql)?:\/\//.test(options.url))
    throw new DaguError(
      'bad_request',
      `database URL must start with postgres:// or postgresql://, got "${redact(options.url)}"`,
    );
  const paths = resolveStorePaths(options);
  for (const dir of [paths.dagsDir, paths.dataDir, paths.logDir])
    mkdirSync(dir, { recursive: true });
  const db = new PgConnection(options.url, { max: options.poolSize ?? 10 });
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const ownerId = `${hostName()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  const heartbeat = (): Promise<unknown> =>
    db.query(
      `INSERT INTO store_owners (owner_id, host, pid, pid_start, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, ${NOW_MS}, ${NOW_MS})
       ON CONFLICT (owner_id) DO UPDATE SET heartbeat_at = ${NOW_MS}`,
      [ownerId, hostName(), process.pid, ownIdentity()],
    );
  try {
    await migrate(db);
    await heartbeat();
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  const clock = options.now ? { now: options.now } : {};
  const shipped = options.logs
    ? undefined
    : new PgLogStore(db, new FileLogStore(paths.logDir), options.logShipping);
  const logs = options.logs ?? shipped!;
  const runs = new PgRunStore(db, { ...clock, logs, ownerId, leaseMs });
  let reaping = false;
  const beat = async (): Promise<void> => {
    await heartbeat();
    if (options.reapAbandoned === false || reaping) return;
    reaping = true;
    try {
      await runs.closeAbandonedRuns();
      // Leases long gone that own no active run are forgotten.
      await db.query(
        `DELETE FROM store_owners o WHERE o.heartbeat_at < ${NOW_MS} - $1::bigint
           AND NOT EXISTS (SELECT 1 FROM dag_runs r WHERE r.owner_id = o.owner_id AND r.status IN (1, 5))`,
        [leaseMs * 10],
      );
    } finally {
      reaping = false;
    }
  };
  // A database out of reach now is tried again at the next beat.
  const timer = setInterval(
    () => void beat().catch(() => undefined),
    options.heartbeatMs ?? Math.max(100, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  const changes = new PgStateChanges(options.url, ownerId);
  let closing: Promise<void> | undefined;
  return {
    paths,
    ownerId,
    runs,
    queue: new PgQueueStore(db, ownerId, clock),
    flags: new PgFlagStore(db, clock),
    cancels: new PgCancelStore(db, { ...clock, ownerId }),
    ticks: new PgSchedulerTickStore(db, ownerId, clock),
    processes: new PgStepProcessStore(db),
    webhooks: new PgWebhookStore(db),
    workers: new PgWorkerStore(db, runs, clock),
    dags: new FileDagRepository(paths.dagsDir),
    logs,
    changes,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        // The last bytes of every log reach the database before the pool ends.
        await shipped?.close().catch(() => undefined);
        await changes.close();
        await db
          .query('DELETE FROM store_owners WHERE owner_id = $1', [ownerId])
          .catch(() => undefined);
        await db.close();
      })();
      return closing;
    },
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
