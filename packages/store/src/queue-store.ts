// The run queue on SQLite: items point at queued run rows; claiming one is a single write
// transaction, so two processes never start the same item or exceed a queue's limit together.
import { DaguError, DagRunStatus, type QueueItem, type QueueStore } from '@dagu-ts/core';
import type { Connection } from './connection.js';
import { hostName, ownIdentity } from './process-identity.js';

interface ItemRow {
  id: number;
  run: number;
  queue: string;
  name: string;
  dag_run_id: string;
  priority: number;
  enqueued_at: string;
}

const ITEM_COLUMNS = 'id, run, queue, name, dag_run_id, priority, enqueued_at';
const ITEM_ORDER = 'ORDER BY priority DESC, enqueued_ms, id';

export class SqliteQueueStore implements QueueStore {
  private readonly connection: Connection;
  private readonly now: () => Date;

  constructor(connection: Connection, options: { now?: () => Date } = {}) {
    this.connection = connection;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Adds a queue item for an existing root run (createQueuedRun first). A DaguError `not_found`
   * when the run does not exist, `already_exists` when it is queued already.
   */
  async enqueue(item: QueueItem): Promise<void> {
    const enqueuedMs = Date.parse(item.enqueuedAt);
    if (Number.isNaN(enqueuedMs))
      throw new DaguError(
        'bad_request',
        `enqueuedAt must be an ISO 8601 date-time, got "${item.enqueuedAt}"`,
      );
    this.connection.write(() => {
      const run = this.connection
        .prepare('SELECT id FROM dag_runs WHERE name = ? AND dag_run_id = ? AND is_root = 1')
        .get(item.name, item.dagRunId) as { id: number } | undefined;
      if (!run)
        throw new DaguError(
          'not_found',
          `dag-run ID ${item.dagRunId} not found for DAG ${item.name}`,
        );
      const inserted = this.connection
        .prepare(
          `INSERT INTO queue_items (run, queue, name, dag_run_id, priority, enqueued_at, enqueued_ms,
             worker_selector)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run) DO NOTHING`,
        )
        .run(
          run.id,
          item.queue,
          item.name,
          item.dagRunId,
          item.priority,
          item.enqueuedAt,
          enqueuedMs,
          item.workerSelector ? JSON.stringify(item.workerSelector) : null,
        );
      if (inserted.changes === 0)
        throw new DaguError(
          'already_exists',
          `dag-run ID ${item.dagRunId} of DAG ${item.name} is already queued`,
        );
    });
  }

  /**
   * Takes the first item of `queue` (highest priority, then oldest) when fewer than `maxActive`
   * runs of the queue are running or starting, and marks its run as starting (claimed by this
   * process, still status queued until the runner records run-started). Items whose run is no
   * longer queued (dequeued, deleted) are dropped on the way.
   */
  async claimNext(queue: string, maxActive: number): Promise<QueueItem | undefined> {
    const now = this.now().getTime();
    return this.connection.write(() => {
      const active = this.connection
        .prepare(
          `SELECT COUNT(*) AS n FROM dag_runs INDEXED BY dag_runs_active
           WHERE queue = ? AND status IN (1, 5) AND (status = 1 OR claimed_at IS NOT NULL)`,
        )
        .get(queue) as { n: number };
      if (active.n >= maxActive) return undefined;
      for (;;) {
        const item = this.connection
          // Items for workers are theirs to claim (workers.ts).
          .prepare(
            `SELECT ${ITEM_COLUMNS} FROM queue_items
             WHERE queue = ? AND worker_selector IS NULL ${ITEM_ORDER} LIMIT 1`,
          )
          .get(queue) as ItemRow | undefined;
        if (!item) return undefined;
        this.connection.prepare('DELETE FROM queue_items WHERE id = ?').run(item.id);
        const claimed = this.connection
          .prepare(
            `UPDATE dag_runs SET claimed_at = ?, owner_pid = ?, owner_start = ?, owner_host = ?,
               updated_at = ?
             WHERE id = ? AND status = ? AND claimed_at IS NULL`,
          )
          .run(now, process.pid, ownIdentity(), hostName(), now, item.run, DagRunStatus.Queued);
        if (claimed.changes === 1) return toItem(item);
      }
    });
  }

  async remove(name: string, dagRunId: string): Promise<boolean> {
    const removed = this.connection.write(() =>
      this.connection
        .prepare('DELETE FROM queue_items WHERE name = ? AND dag_run_id = ?')
        .run(name, dagRunId),
    );
    return removed.changes > 0;
  }

  async list(queue?: string): Promise<QueueItem[]> {
    const rows = (
      queue === undefined
        ? this.connection
            .prepare(
              `SELECT ${ITEM_COLUMNS} FROM queue_items ORDER BY queue, priority DESC, enqueued_ms, id`,
            )
            .all()
        : this.connection
            .prepare(`SELECT ${ITEM_COLUMNS} FROM queue_items WHERE queue = ? ${ITEM_ORDER}`)
            .all(queue)
    ) as ItemRow[];
    return rows.map(toItem);
  }

  async counts(): Promise<Record<string, number>> {
    const rows = this.connection
      .prepare('SELECT queue, COUNT(*) AS n FROM queue_items GROUP BY queue ORDER BY queue')
      .all() as Array<{ queue: string; n: number }>;
    return Object.fromEntries(rows.map((row) => [row.queue, row.n]));
  }
}

function toItem(row: ItemRow): QueueItem {
  return {
    queue: row.queue,
    name: row.name,
    dagRunId: row.dag_run_id,
    priority: row.priority,
    enqueuedAt: row.enqueued_at,
  };
}
