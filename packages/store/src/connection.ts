// The SQLite connection: opened once per process and database file, identified before anything
// is written (a foreign or damaged file is refused and left untouched), configured for several
// processes (WAL, busy timeout), migrated forward in one transaction, with cached statements.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { DaguError, StoreUnavailableError } from '@dagu-ts/core';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';

/** `PRAGMA application_id` of a dagu-ts database: "Dagu" in ASCII. */
export const APPLICATION_ID = 0x44616775;

/** How long a writer waits for another process's write transaction before giving up. */
export const BUSY_TIMEOUT_MS = 5_000;

export type Statement = Database.Statement;

export class Connection {
  readonly file: string;
  readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  /** Writes that may wait for the next transaction (see `defer`). */
  private deferred: Array<() => void> = [];

  constructor(file: string, db: Database.Database) {
    this.file = file;
    this.db = db;
  }

  /** A prepared statement, compiled once per connection. */
  prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `fn` in a write transaction that takes the write lock at BEGIN (BEGIN IMMEDIATE), so a
   * concurrent writer waits for the busy timeout instead of failing with SQLITE_BUSY half-way.
   */
  write<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    const deferred = this.deferred;
    this.deferred = [];
    try {
      return this.db
        .transaction(() => {
          for (const task of deferred) task();
          return fn();
        })
        .immediate();
    } catch (error) {
      // Rolled back with the rest: the deferred writes wait for the next transaction again.
      this.deferred = [...deferred, ...this.deferred];
      // A failed ROLLBACK would leave the transaction open, and every later write() would then
      // run outside one: end it here whatever it costs.
      if (this.db.inTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // Nothing more can be done; the next BEGIN reports the problem.
        }
      }
      throw toStoreError(error);
    }
  }

  /**
   * A write that may wait and ride along with the next transaction (one commit instead of two;
   * a commit costs more than the statement). Only for writes whose loss in a crash is harmless,
   * such as forgetting a step process group that ended. `flush` writes what is waiting.
   */
  defer(task: () => void): void {
    this.deferred.push(task);
  }

  /** Writes the deferred writes now, if there are any. */
  flush(): void {
    if (this.deferred.length > 0) this.write(() => undefined);
  }
}

/** SQLite's codes of a database that cannot be written now but may be later. */
const UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|PERM)/;

/** A transient SQLite failure becomes core's StoreUnavailableError (the API answers 503). */
export function toStoreError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !UNAVAILABLE.test(code)) return error;
  return new StoreUnavailableError(
    `the database cannot be written (${code}: ${message(error)}); try again later`,
    { cause: error },
  );
}

interface Shared {
  connection: Connection;
  users: number;
}

const open = new Map<string, Shared>();

/** The process's connection to `file` (opened and migrated on first use); release when done. */
export function acquireConnection(file: string): { connection: Connection; release: () => void } {
  const path = resolve(file);
  let shared = open.get(path);
  if (!shared) {
    shared = { connection: new Connection(path, openDatabase(path)), users: 0 };
    open.set(path, shared);
  }
  shared.users++;
  const entry = shared;
  let released = false;
  return {
    connection: entry.connection,
    release: () => {
      if (released) return;
      released = true;
      entry.users--;
      if (entry.users > 0) return;
      open.delete(path);
      try {
        entry.connection.flush();
      } catch {
        // Deferred writes are the kind whose loss is harmless (see `defer`).
      }
      try {
        entry.connection.db.pragma('optimize');
      } catch {
        // Statistics are an optimisation; closing matters more.
      }
      entry.connection.db.close();
    },
  };
}

function openDatabase(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (error) {
    throw new DaguError('internal_error', `cannot open the database ${path}: ${message(error)}`, {
      cause: error,
    });
  }
  try {
    // Setting the busy timeout writes nothing; everything before the migration only reads.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const found = identify(db, path);
    if (found.version > LATEST_SCHEMA_VERSION)
      throw new DaguError(
        'internal_error',
        `the database ${path} has schema version ${found.version}, newer than this dagu-ts ` +
          `supports (${LATEST_SCHEMA_VERSION}); upgrade dagu-ts. The file was not changed.`,
      );
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // 64 MiB of page cache (the default 2 MiB thrashes on a large history's indexes) and a WAL
    // that is cut back to 64 MiB after a checkpoint instead of keeping its largest size.
    db.pragma('cache_size = -65536');
    db.pragma('journal_size_limit = 67108864');
    migrate(db, path);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof DaguError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      throw new DaguError(
        'internal_error',
        `${path} is not a usable dagu-ts database (not an SQLite file, or damaged: ` +
          `${message(error)}). The file was not changed; move it away or restore a backup.`,
        { cause: error },
      );
    throw new DaguError('internal_error', `cannot open the database ${path}: ${message(error)}`, {
      cause: error,
    });
  }
}

/** Reads the header and table list; refuses a database that another application made. */
function identify(db: Database.Database, path: string): { version: number } {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = (
    db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as Array<{ name: string }>
  ).map((row) => row.name);
  const ours = applicationId === APPLICATION_ID;
  if (!ours && (applicationId !== 0 || tables.length > 0 || version !== 0)) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
    throw new DaguError(
      'internal_error',
      `${path} is an SQLite database of another application (application_id ${applicationId}, ` +
        `tables: ${shown || 'none'}); dagu-ts refuses to use it. The file was not changed.`,
    );
  }
  if (ours && version > 0 && !tables.includes('schema_migrations'))
    throw new DaguError(
      'internal_error',
      `${path} claims to be a dagu-ts database but has no schema_migrations table; ` +
        'it was not changed. Restore a backup or move it away.',
    );
  return { version };
}

/** Applies the missing migrations in one transaction (re-checked inside it: another process may win). */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > LATEST_SCHEMA_VERSION)
      throw new DaguError(
        'internal_error',
        `the database ${path} has schema version ${version}, newer than this dagu-ts supports (${LATEST_SCHEMA_VERSION})`,
      );
    const pending = MIGRATIONS.filter((migration) => migration.version > version);
    if (pending.length === 0) return;
    const appliedAt = new Date().toISOString();
    for (const migration of pending) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        appliedAt,
      );
    }
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION}`);
  }).immediate();
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
