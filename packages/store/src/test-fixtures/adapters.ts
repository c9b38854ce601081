// The store adapters the contract suite runs against: SQLite (a temporary home) and PostgreSQL
// (a fresh database per test in the server that @dagu-ts/testing's postgres-global-setup.ts
// starts for the run). The suite uses
// the ports plus the few adapter methods both have (recorder, importRuns, listChildRuns).
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inject } from 'vitest';
import type {
  CancelStore,
  DagRunSnapshot,
  DagRunRef,
  FlagStore,
  QueueStore,
  RunRecorder,
  RunStore,
  RunTrigger,
  SchedulerTickStore,
  WebhookStore,
  WorkerStore,
} from '@dagu-ts/core';
import { openPostgresStore } from '../postgres/index.js';
import type { ImportedRun } from '../run-store.js';
import type { StorePaths } from '../paths.js';
import { openStore } from '../store.js';
import { tempDir } from './helpers.js';

export interface ContractStore {
  readonly paths: StorePaths;
  readonly runs: RunStore & {
    recorder(trigger: RunTrigger): RunRecorder;
    importRuns(runs: readonly ImportedRun[]): Promise<number>;
    listChildRuns(root: DagRunRef): Promise<DagRunSnapshot[]>;
    listRunSummaries: NonNullable<RunStore['listRunSummaries']>;
  };
  readonly queue: QueueStore;
  readonly flags: FlagStore;
  readonly cancels: CancelStore;
  readonly ticks: SchedulerTickStore;
  readonly webhooks: WebhookStore;
  readonly workers: WorkerStore;
  close(): void | Promise<void>;
}

/** One store of a test, and more stores on the same database (other processes, other clocks). */
export interface ContractHandle {
  store: ContractStore;
  home: string;
  open(options?: { now?: () => Date; leaseMs?: number }): Promise<ContractStore>;
  /** Runs SQL on the database directly (`?` placeholders on both). */
  sql(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** The PostgreSQL URL of this test's database (postgres only). */
  url?: string;
  dispose(): Promise<void>;
}

export interface StoreAdapter {
  name: 'sqlite' | 'postgres';
  /** false when the adapter cannot run here (no PostgreSQL outside CI). */
  available: boolean;
  create(parent: string): Promise<ContractHandle>;
}

const sqlite: StoreAdapter = {
  name: 'sqlite',
  available: true,
  async create(parent) {
    const home = tempDir('home-', parent);
    const store = openStore({ home });
    return {
      store,
      home,
      async open(options = {}) {
        return openStore({ home, ...(options.now ? { now: options.now } : {}) });
      },
      async sql(text, params = []) {
        const raw = new Database(store.paths.databaseFile);
        try {
          const statement = raw.prepare(text);
          return statement.reader
            ? (statement.all(...params) as Array<Record<string, unknown>>)
            : (statement.run(...params), []);
        } finally {
          raw.close();
        }
      },
      async dispose() {
        store.close();
      },
    };
  },
};

const postgresUrl = inject('postgresUrl');

const postgres: StoreAdapter = {
  name: 'postgres',
  available: postgresUrl !== '',
  async create(parent) {
    const home = tempDir('home-', parent);
    const database = `dagu_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = postgresUrl.replace(/\/[^/]*$/, `/${database}`);
    const opened: ContractStore[] = [];
    const open = async (options: { now?: () => Date; leaseMs?: number } = {}) => {
      const store = await openPostgresStore({
        url,
        home,
        poolSize: 4,
        reapAbandoned: false,
        ...(options.now ? { now: options.now } : {}),
        ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
      });
      opened.push(store);
      return store;
    };
    const store = await open();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      store,
      home,
      url,
      open,
      async sql(text, params = []) {
        let n = 0;
        const result = await client.query(
          text.replace(/\?/g, () => `$${++n}`),
          params,
        );
        return result.rows as Array<Record<string, unknown>>;
      },
      async dispose() {
        await client.end();
        for (const s of opened) await s.close();
        const drop = new pg.Client({ connectionString: postgresUrl });
        await drop.connect();
        await drop.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await drop.end();
      },
    };
  },
};

export const storeAdapters: readonly StoreAdapter[] = [sqlite, postgres];
