// Workers and their leases on SQLite (migration 5). A worker never opens the database: the API
// calls this on its behalf. Claiming is one write transaction, like SqliteQueueStore.claimNext, so
// two workers (or a worker and the server) never take the same run or exceed a queue's limit.
import {
  DagRunStatus,
  type Dag,
  type DagRunRef,
  type RunLease,
  type StoredRun,
  type WorkerRecord,
  type WorkerRegistration,
  type WorkerStore,
} from '@dagu-ts/core';
import type { Connection } from './connection.js';
import type { SqliteRunStore } from './run-store.js';

interface RemoteItemRow {
  id: number;
  run: number;
  queue: string;
  name: string;
  dag_run_id: string;
  priority: number;
  worker_selector: string;
  definition: string;
}

/** Owner host of a run a worker executes: no process's crash recovery on any host closes it. */
export function workerOwnerHost(workerId: string): string {
  return `worker:${workerId}`;
}

export class SqliteWorkerStore implements WorkerStore {
  private readonly now: () => Date;

  constructor(
    private readonly connection: Connection,
    private readonly runs: SqliteRunStore,
    options: { now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async heartbeat(worker: WorkerRegistration): Promise<void> {
    const now = this.now().getTime();
    this.connection.write(() =>
      this.connection
        .prepare(
          `INSERT INTO workers (id, labels, max_active_runs, busy, last_heartbeat_ms)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET labels = excluded.labels,
             max_active_runs = excluded.max_active_runs, busy = excluded.busy,
             last_heartbeat_ms = excluded.last_heartbeat_ms`,
        )
        .run(worker.id, JSON.stringify(worker.labels), worker.maxActiveRuns, worker.busy, now),
    );
  }

  async claim(
    worker: WorkerRegistration,
    limitOf: (queue: string, dag: Dag) => number,
  ): Promise<StoredRun | undefined> {
    const now = this.now().getTime();
    const claimed = this.connection.write(() => {
      const items = this.connection
        .prepare(
          `SELECT q.id, q.run, q.queue, q.name, q.dag_run_id, q.priority, q.worker_selector,
             d.definition
           FROM queue_items q INDEXED BY queue_items_remote
           JOIN dag_runs r ON r.id = q.run JOIN dag_definitions d ON d.id = r.definition_id
           WHERE q.worker_selector IS NOT NULL
           ORDER BY q.priority DESC, q.enqueued_ms, q.id`,
        )
        .all() as RemoteItemRow[];
      const full = new Set<string>();
      for (const item of items) {
        if (full.has(item.queue)) continue;
        if (!matches(JSON.parse(item.worker_selector) as Record<string, string>, worker.labels))
          continue;
        const dag = JSON.parse(item.definition) as Dag;
        const active = this.connection
          .prepare(
            `SELECT COUNT(*) AS n FROM dag_runs INDEXED BY dag_runs_active
             WHERE queue = ? AND status IN (1, 5) AND (status = 1 OR claimed_at IS NOT NULL)`,
          )
          .get(item.queue) as { n: number };
        if (active.n >= limitOf(item.queue, dag)) {
          full.add(item.queue);
          continue;
        }
        this.connection.prepare('DELETE FROM queue_items WHERE id = ?').run(item.id);
        const taken = this.connection
          .prepare(
            `UPDATE dag_runs SET claimed_at = ?, owner_pid = NULL, owner_start = NULL,
               owner_host = ?, updated_at = ?
             WHERE id = ? AND status = ? AND claimed_at IS NULL`,
          )
          .run(now, workerOwnerHost(worker.id), now, item.run, DagRunStatus.Queued);
        if (taken.changes !== 1) continue; // dequeued meanwhile: the item was stale
        this.connection
          .prepare(
            `INSERT INTO run_leases (run, worker_id, selector, priority, claimed_ms)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (run) DO UPDATE SET worker_id = excluded.worker_id,
               selector = excluded.selector, priority = excluded.priority,
               claimed_ms = excluded.claimed_ms, last_seq = 0, active = 1`,
          )
          .run(item.run, worker.id, item.worker_selector, item.priority, now);
        return { name: item.name, dagRunId: item.dag_run_id };
      }
      return undefined;
    });
    return claimed ? this.runs.getRun(claimed.name, claimed.dagRunId) : undefined;
  }

  async leaseOf(name: string, dagRunId: string): Promise<RunLease | undefined> {
    const row = this.connection
      .prepare(
        `SELECT l.worker_id, l.last_seq, l.active FROM run_leases l
         JOIN dag_runs r ON r.id = l.run
         WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1`,
      )
      .get(name, dagRunId) as { worker_id: string; last_seq: number; active: number } | undefined;
    return row && { workerId: row.worker_id, lastSeq: row.last_seq, active: row.active === 1 };
  }

  async commitReport(name: string, dagRunId: string, seq: number, ended: boolean): Promise<void> {
    this.connection.write(() => {
      const lease = this.connection
        .prepare(
          `SELECT l.run, l.worker_id FROM run_leases l JOIN dag_runs r ON r.id = l.run
           WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1`,
        )
        .get(name, dagRunId) as { run: number; worker_id: string } | undefined;
      if (!lease) return;
      this.connection
        .prepare(
          `UPDATE run_leases SET last_seq = MAX(last_seq, ?), active = active AND ? WHERE run = ?`,
        )
        .run(seq, ended ? 0 : 1, lease.run);
      // The run store recorded this process as the owner of a started run; the worker is.
      this.connection
        .prepare(
          `UPDATE dag_runs SET owner_pid = NULL, owner_start = NULL, owner_host = ?
           WHERE id = ? AND (owner_host IS NULL OR owner_host <> ?)`,
        )
        .run(workerOwnerHost(lease.worker_id), lease.run, workerOwnerHost(lease.worker_id));
    });
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const workers = this.connection
      .prepare(
        'SELECT id, labels, max_active_runs, busy, last_heartbeat_ms FROM workers ORDER BY id',
      )
      .all() as Array<{
      id: string;
      labels: string;
      max_active_runs: number;
      busy: number;
      last_heartbeat_ms: number;
    }>;
    const leases = this.connection
      .prepare(
        `SELECT l.worker_id, r.name, r.dag_run_id,
           CASE WHEN r.status = ${DagRunStatus.Queued} THEN '' ELSE r.started_at END AS started_at
         FROM run_leases l
         INDEXED BY run_leases_active JOIN dag_runs r ON r.id = l.run
         WHERE l.active = 1 ORDER BY l.claimed_ms`,
      )
      .all() as Array<{ worker_id: string; name: string; dag_run_id: string; started_at: string }>;
    return workers.map((row) => ({
      id: row.id,
      labels: JSON.parse(row.labels) as Record<string, string>,
      maxActiveRuns: row.max_active_runs,
      busy: row.busy,
      lastHeartbeatAt: new Date(row.last_heartbeat_ms).toISOString(),
      runs: leases
        .filter((lease) => lease.worker_id === row.id)
        .map((lease) => ({
          name: lease.name,
          dagRunId: lease.dag_run_id,
          startedAt: lease.started_at,
        })),
    }));
  }

  async staleLeases(
    before: Date,
  ): Promise<Array<DagRunRef & { workerId: string; started: boolean }>> {
    const rows = this.connection
      .prepare(
        `SELECT l.worker_id, r.name, r.dag_run_id, r.status FROM run_leases l
         INDEXED BY run_leases_active
         JOIN dag_runs r ON r.id = l.run
         LEFT JOIN workers w ON w.id = l.worker_id
         WHERE l.active = 1 AND COALESCE(w.last_heartbeat_ms, l.claimed_ms) < ?`,
      )
      .all(before.getTime()) as Array<{
      worker_id: string;
      name: string;
      dag_run_id: string;
      status: number;
    }>;
    return rows.map((row) => ({
      workerId: row.worker_id,
      name: row.name,
      dagRunId: row.dag_run_id,
      started: row.status !== DagRunStatus.Queued,
    }));
  }

  async requeue(name: string, dagRunId: string): Promise<void> {
    const now = this.now().getTime();
    this.connection.write(() => {
      const row = this.connection
        .prepare(
          `SELECT r.id, r.queue, r.queued_at, r.created_at, l.selector, l.priority
           FROM dag_runs r JOIN run_leases l ON l.run = r.id
           WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1 AND r.status = ?
             AND l.active = 1`,
        )
        .get(name, dagRunId, DagRunStatus.Queued) as
        | {
            id: number;
            queue: string;
            queued_at: string;
            created_at: number;
            selector: string;
            priority: number;
          }
        | undefined;
      if (!row) return;
      this.connection
        .prepare(
          `UPDATE dag_runs SET claimed_at = NULL, owner_pid = NULL, owner_start = NULL,
             owner_host = NULL, updated_at = ? WHERE id = ?`,
        )
        .run(now, row.id);
      this.connection.prepare('DELETE FROM run_leases WHERE run = ?').run(row.id);
      const enqueuedMs = Date.parse(row.queued_at);
      this.connection
        .prepare(
          `INSERT INTO queue_items (run, queue, name, dag_run_id, priority, enqueued_at,
             enqueued_ms, worker_selector)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run) DO NOTHING`,
        )
        .run(
          row.id,
          row.queue,
          name,
          dagRunId,
          row.priority,
          row.queued_at,
          Number.isNaN(enqueuedMs) ? row.created_at : enqueuedMs,
          row.selector,
        );
    });
  }

  async release(name: string, dagRunId: string): Promise<void> {
    this.connection.write(() =>
      this.connection
        .prepare(
          `UPDATE run_leases SET active = 0 WHERE run =
             (SELECT id FROM dag_runs WHERE name = ? AND dag_run_id = ? AND is_root = 1)`,
        )
        .run(name, dagRunId),
    );
  }

  async workerIdsOf(refs: readonly DagRunRef[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const statement = this.connection.prepare(
      `SELECT l.worker_id FROM run_leases l JOIN dag_runs r ON r.id = l.run
       WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1`,
    );
    for (const ref of refs) {
      const row = statement.get(ref.name, ref.dagRunId) as { worker_id: string } | undefined;
      if (row) found.set(`${ref.name}\u0000${ref.dagRunId}`, row.worker_id);
    }
    return found;
  }
}

/** Whether labels contain every pair of the selector (`{}` matches any worker). */
export function matches(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}
