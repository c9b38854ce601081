// Suspend flags (dag-yaml.md §5.3), keyed by the DAG's canonical file name.
import type { FlagStore } from '@dagu-ts/core';
import type { Connection } from './connection.js';

export class SqliteFlagStore implements FlagStore {
  private readonly connection: Connection;
  private readonly now: () => Date;

  constructor(connection: Connection, options: { now?: () => Date } = {}) {
    this.connection = connection;
    this.now = options.now ?? (() => new Date());
  }

  async isSuspended(name: string): Promise<boolean> {
    return (
      this.connection.prepare('SELECT 1 FROM suspend_flags WHERE name = ?').get(name) !== undefined
    );
  }

  async setSuspended(name: string, suspended: boolean): Promise<void> {
    this.connection.write(() => {
      if (suspended)
        this.connection
          .prepare(
            'INSERT INTO suspend_flags (name, suspended_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
          )
          .run(name, this.now().toISOString());
      else this.connection.prepare('DELETE FROM suspend_flags WHERE name = ?').run(name);
    });
  }

  async listSuspended(): Promise<string[]> {
    const rows = this.connection
      .prepare('SELECT name FROM suspend_flags ORDER BY name')
      .all() as Array<{ name: string }>;
    return rows.map((row) => row.name);
  }
}
