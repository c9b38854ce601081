// Stop requests across processes: `dagu-ts stop` (or the API) writes one, the process running
// the run polls for it. Recording run-finished (or closing an abandoned run) clears it.
import { DaguError, type CancelStore } from '@dagu-ts/core';
import type { Connection } from './connection.js';

export class SqliteCancelStore implements CancelStore {
  private readonly connection: Connection;
  private readonly now: () => Date;

  constructor(connection: Connection, options: { now?: () => Date } = {}) {
    this.connection = connection;
    this.now = options.now ?? (() => new Date());
  }

  /** A DaguError `not_found` when no run (root or child) has that name and id. */
  async requestCancel(name: string, dagRunId: string): Promise<void> {
    this.connection.write(() => {
      const run = this.connection
        .prepare('SELECT 1 FROM dag_runs WHERE dag_run_id = ? AND name = ? LIMIT 1')
        .get(dagRunId, name);
      if (run === undefined)
        throw new DaguError('not_found', `dag-run ID ${dagRunId} not found for DAG ${name}`);
      this.connection
        .prepare(
          `INSERT INTO cancel_requests (name, dag_run_id, requested_at) VALUES (?, ?, ?)
           ON CONFLICT DO NOTHING`,
        )
        .run(name, dagRunId, this.now().toISOString());
    });
  }

  async isCancelRequested(name: string, dagRunId: string): Promise<boolean> {
    return (
      this.connection
        .prepare('SELECT 1 FROM cancel_requests WHERE name = ? AND dag_run_id = ?')
        .get(name, dagRunId) !== undefined
    );
  }

  async clearCancel(name: string, dagRunId: string): Promise<void> {
    this.connection.write(() =>
      this.connection
        .prepare('DELETE FROM cancel_requests WHERE name = ? AND dag_run_id = ?')
        .run(name, dagRunId),
    );
  }
}
