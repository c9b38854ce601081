import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DagRunStatus, DaguError, NodeStatus } from '@dagu-ts/core';
import { acquireConnection, APPLICATION_ID, BUSY_TIMEOUT_MS } from './connection.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';
import { openStore } from './store.js';
import { dagOf, nodeOf, recordRun, snapshotOf, tempDir } from './test-fixtures/helpers.js';

const work = tempDir('dagu-connection-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function openError(home: string): DaguError {
  try {
    openStore({ home }).close();
  } catch (error) {
    expect(error).toBeInstanceOf(DaguError);
    return error as DaguError;
  }
  throw new Error('openStore did not fail');
}

describe('opening and migrating', () => {
  it('creates the layout and the schema from nothing, then re-opens without change', async () => {
    const home = tempDir('fresh-', work);
    const store = openStore({ home });
    expect(store.paths).toEqual({
      home,
      dagsDir: join(home, 'dags'),
      dataDir: join(home, 'data'),
      logDir: join(home, 'logs'),
      databaseFile: join(home, 'data', 'dagu.db'),
    });
    for (const dir of ['dags', 'data', 'logs']) expect(existsSync(join(home, dir))).toBe(true);
    await recordRun(store.runs, dagOf('keep'), { dagRunId: 'k1' });
    store.close();

    const again = openStore({ home });
    expect((await again.runs.getRun('keep', 'k1'))!.snapshot.dagRunId).toBe('k1');
    again.close();

    const raw = new Database(join(home, 'data', 'dagu.db'), { readonly: true });
    expect(raw.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(raw.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT version, name FROM schema_migrations').all()).toEqual(
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
    const tables = raw
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all()
      .map((row) => (row as { name: string }).name);
    expect(tables).toEqual([
      'attempt_nodes',
      'attempts',
      'cancel_requests',
      'dag_definitions',
      'dag_runs',
      'queue_items',
      'run_leases',
      'scheduler_ticks',
      'schema_migrations',
      'step_processes',
      'suspend_flags',
      'webhooks',
      'workers',
    ]);
    raw.close();
  });

  it('places each part where the options say', () => {
    const home = tempDir('split-', work);
    const store = openStore({
      home,
      dataDir: join(home, 'db'),
      logDir: join(home, 'l'),
      dagsDir: join(home, 'd'),
    });
    expect(store.paths.databaseFile).toBe(join(home, 'db', 'dagu.db'));
    expect(store.dags.directory).toBe(join(home, 'd'));
    expect(existsSync(join(home, 'l'))).toBe(true);
    store.close();
  });

  it('configures the connection for several processes, and shares it within one', () => {
    const file = join(tempDir('pragmas-', work), 'dagu.db');
    const first = acquireConnection(file);
    const second = acquireConnection(file);
    expect(second.connection).toBe(first.connection);
    const db = first.connection.db;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    first.release();
    first.release(); // idempotent
    expect(db.open).toBe(true);
    second.release();
    expect(db.open).toBe(false);
    expect(acquireConnection(file).connection).not.toBe(first.connection);
  });
});

describe('migrating history written by an earlier schema', () => {
  it('moves the nodes of whole-snapshot attempts (schema 2) into their own rows', async () => {
    const home = tempDir('v2-', work);
    const dag = dagOf('old', ['a', 'b'], 'handlerOn:\n  exit:\n    command: "true"');
    const run = snapshotOf(dag, { dagRunId: 'o1', status: DagRunStatus.Success });
    run.nodes[0]!.status = NodeStatus.Success;
    run.nodes[0]!.outputs = { X: 'X=1' };
    run.nodes[1]!.status = NodeStatus.Failed;
    run.nodes[1]!.error = 'exit status 1';
    run.handlers.onExit = { ...nodeOf(dag.handlerOn.onExit!), status: NodeStatus.Success };
    // A database exactly as schema 2 left it: each attempt holds the whole snapshot.
    mkdirSync(join(home, 'data'), { recursive: true });
    const raw = new Database(join(home, 'data', 'dagu.db'));
    for (const migration of MIGRATIONS.filter((m) => m.version <= 2)) raw.exec(migration.sql);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.pragma('user_version = 2');
    raw
      .prepare("INSERT INTO dag_definitions (id, hash, definition) VALUES (1, 'h', ?)")
      .run(JSON.stringify(dag));
    raw
      .prepare(
        `INSERT INTO dag_runs (id, name, dag_run_id, is_root, root_name, root_dag_run_id, status,
           trigger, queue, created_at, updated_at, definition_id, attempt_seq, attempt_id)
         VALUES (1, 'old', 'o1', 1, 'old', 'o1', 4, 'cli', 'old', 1, 1, 1, 1, ?)`,
      )
      .run(run.attemptId);
    raw
      .prepare(
        `INSERT INTO attempts (run, seq, attempt_id, status, created_at, updated_at, snapshot)
         VALUES (1, 1, ?, 4, 1, 1, ?)`,
      )
      .run(run.attemptId, JSON.stringify(run));
    raw.close();

    const store = openStore({ home });
    try {
      const stored = (await store.runs.getRun('old', 'o1'))!.snapshot;
      expect(stored).toEqual(JSON.parse(JSON.stringify(run)));
      expect((await store.runs.listRuns({ name: 'old' })).runs[0]).toEqual(stored);
    } finally {
      store.close();
    }
    const check = new Database(join(home, 'data', 'dagu.db'), { readonly: true });
    const attempt = check.prepare('SELECT snapshot FROM attempts').get() as { snapshot: string };
    expect(Object.keys(JSON.parse(attempt.snapshot))).not.toContain('nodes');
    expect(
      check.prepare('SELECT slot, handler, status FROM attempt_nodes ORDER BY slot').all(),
    ).toEqual([
      { slot: -1, handler: 'onExit', status: NodeStatus.Success },
      { slot: 0, handler: null, status: NodeStatus.Success },
      { slot: 1, handler: null, status: NodeStatus.Failed },
    ]);
    check.close();
  });
});

describe('refusing files that are not ours, and leaving them untouched', () => {
  it('a corrupt file', () => {
    const home = tempDir('corrupt-', work);
    const file = join(home, 'data', 'dagu.db');
    openStore({ home }).close();
    writeFileSync(file, 'this is not a database, just some text\n'.repeat(200));
    const before = sha(file);
    const error = openError(home);
    expect(error.code).toBe('internal_error');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/not a usable dagu-ts database/);
    expect(error.message).toMatch(/was not changed/);
    expect(sha(file)).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it("another application's SQLite database", () => {
    const home = tempDir('foreign-', work);
    const file = join(home, 'data', 'dagu.db');
    openStore({ home }).close();
    rmSync(file);
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    const foreign = new Database(file);
    foreign.exec(
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'ada');",
    );
    foreign.close();
    const before = sha(file);
    const error = openError(home);
    expect(error.message).toMatch(/another application/);
    expect(error.message).toMatch(/users/);
    expect(sha(file)).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(check.prepare('SELECT name FROM users').all()).toEqual([{ name: 'ada' }]);
    check.close();
  });

  it('a database with a newer schema than this code', () => {
    const home = tempDir('newer-', work);
    const file = join(home, 'data', 'dagu.db');
    openStore({ home }).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    raw.close();
    const before = sha(file);
    const error = openError(home);
    expect(error.message).toMatch(
      new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 1}, newer than this dagu-ts`),
    );
    expect(sha(file)).toBe(before);
  });

  it('an empty file is a new database', () => {
    const home = tempDir('empty-', work);
    const file = join(home, 'data', 'dagu.db');
    openStore({ home }).close();
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    writeFileSync(file, '');
    const store = openStore({ home });
    store.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    raw.close();
  });
});
