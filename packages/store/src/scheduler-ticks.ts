// Double-run protection for the scheduler (dag-yaml.md §5.2): a DAG's schedule fires at most
// once per scheduled minute, even with several scheduler processes or a restart mid-minute.
import { DaguError } from '@dagu-ts/core';
import type { Connection } from './connection.js';

const MINUTE_MS = 60_000;

export class SqliteSchedulerTickStore {
  private readonly connection: Connection;
  private readonly now: () => Date;

  constructor(connection: Connection, options: { now?: () => Date } = {}) {
    this.connection = connection;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Claims the tick of `name` at `scheduledAt` (truncated to the minute). true for exactly one
   * caller per DAG and minute, across processes; false when the tick was claimed before.
   */
  async claimTick(name: string, scheduledAt: Date): Promise<boolean> {
    const minute = truncateToMinute(scheduledAt);
    const inserted = this.connection.write(() =>
      this.connection
        .prepare(
          `INSERT INTO scheduler_ticks (name, scheduled_minute, claimed_at, owner_pid)
           VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(name, minute, this.now().toISOString(), process.pid),
    );
    return inserted.changes === 1;
  }

  /** Forgets ticks scheduled before `before`; returns how many were deleted. */
  async pruneTicks(before: Date): Promise<number> {
    return this.connection.write(
      () =>
        this.connection
          .prepare('DELETE FROM scheduler_ticks WHERE scheduled_minute < ?')
          .run(before.getTime()).changes,
    );
  }
}

function truncateToMinute(date: Date): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new DaguError('bad_request', 'scheduledAt is not a valid date');
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}
