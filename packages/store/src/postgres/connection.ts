// The PostgreSQL connection pool of a store, its transactions and its migrations. `pg` is loaded
// here only: @dagu-ts/store's main entry never imports this directory.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { DaguError, StoreUnavailableError } from '@dagu-ts/core';
import { PG_LATEST_SCHEMA_VERSION, PG_MIGRATIONS } from './migrations.js';

/**
 * A statement each connection parses and plans once, then only binds and executes: for the
 * statements of the hot paths (a step's event, a claim, a run's start), whose plan does not
 * depend on the values (they find rows by key).
 */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

const preparedByText = new Map<string, PreparedStatement>();

/** The prepared form of `text`, named after its hash (the same for every connection). */
export function prepared(text: string): PreparedStatement {
  let statement = preparedByText.get(text);
  if (!statement) {
    const name = `dagu_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    preparedByText.set(text, (statement = { name, text }));
  }
  return statement;
}

type Statement = string | PreparedStatement;

/** What a query runs on: the pool, or one client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    statement: Statement,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

function queryConfig(statement: Statement, values: unknown[] | undefined): pg.QueryConfig {
  return typeof statement === 'string'
    ? { text: statement, ...(values ? { values } : {}) }
    : { name: statement.name, text: statement.text, ...(values ? { values } : {}) };
}

// BIGINT and COUNT(*) as numbers: ids and Unix ms stay far below 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export class PgConnection implements Queryable {
  readonly pool: pg.Pool;

  constructor(url: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types });
    // An idle client that loses its connection must not crash the process; the next query
    // gets a fresh one.
    this.pool.on('error', () => undefined);
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    statement: Statement,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(queryConfig(statement, values)).catch((error: unknown) => {
      throw toPgStoreError(error);
    });
  }

  /** Runs `fn` in one transaction on one client; rolled back when it throws. */
  async tx<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((error: unknown) => {
      throw toPgStoreError(error);
    });
    const q: Queryable = {
      query: (statement, values) =>
        client.query(queryConfig(statement, values)).catch((error: unknown) => {
          throw toPgStoreError(error);
        }),
    };
    try {
      await client.query('BEGIN');
      const result = await fn(q);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Applies the missing migrations, one process at a time (an advisory lock: several servers may
 * start together). Refuses a database whose schema is newer than this code.
 */
export async function migrate(connection: PgConnection): Promise<void> {
  await connection.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['dagu-ts migrations']);
    await q.query(`CREATE TABLE IF NOT EXISTS dagu_schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const { rows } = await q.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM dagu_schema_migrations',
    );
    const current = rows[0]?.v ?? 0;
    if (current > PG_LATEST_SCHEMA_VERSION)
      throw new DaguError(
        'internal_error',
        `the PostgreSQL database has schema version ${current}, newer than this dagu-ts knows ` +
          `(${PG_LATEST_SCHEMA_VERSION}); upgrade dagu-ts`,
      );
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= current) continue;
      await q.query(migration.sql);
      await q.query(
        'INSERT INTO dagu_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [migration.version, migration.name, new Date().toISOString()],
      );
    }
  });
}

/**
 * A DaguError for a failed query: the database out of reach (connection refused or lost, server
 * shutting down, too many clients) is StoreUnavailableError, transient like a locked SQLite file.
 */
export function toPgStoreError(error: unknown): unknown {
  if (error instanceof DaguError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const unreachable =
    typeof code === 'string' &&
    (code.startsWith('08') || code.startsWith('57P') || code === '53300' || /^E[A-Z]+$/.test(code));
  if (unreachable)
    return new StoreUnavailableError(`PostgreSQL store unavailable: ${message}`, { cause: error });
  return new DaguError('internal_error', `PostgreSQL store: ${message}`, { cause: error });
}
