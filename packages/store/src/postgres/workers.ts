// Workers and their leases on PostgreSQL (migration 4), the same behaviour as SqliteWorkerStore
// with several servers on one database: any server may answer a worker. A claim takes its
// queue's advisory lock (the one the servers' own claim takes), so the queue's limit holds
// across servers and workers; it locks one queue per transaction, so claims never deadlock.
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
import { workerOwnerHost } from '../workers.js';
import type { PgConnection } from './connection.js';
import type { PgRunStore } from './run-store.js';
import { queueLockKey } from './stores.js';

interface CandidateRow {
  id: number;
  run: number;
  queue: string;
  name: string;
  dag_run_id: string;
  priority: number;
  worker_selector: string;
  definition: string;
}

const rootKey = (name: string, dagRunId: string) => `${name}\u0000${dagRunId}`;

export class PgWorkerStore implements WorkerStore {
  private readonly now: () => Date;

  constructor(
    private readonly db: PgConnection,
    private readonly runs: PgRunStore,
    options: { now?: () => Date } = {},
  ) {
    // Heartbeats and leases on the servers' clocks (as on SQLite): a lease is tens of seconds,
    // far above the skew of machines that keep time.
    this.now = options.now ?? (() => new Date());
  }

  async heartbeat(worker: WorkerRegistration): Promise<void> {
    await this.db.query(
      `INSERT INTO workers (id, labels, max_active_runs, busy, last_heartbeat_ms)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET labels = EXCLUDED.labels,
         max_active_runs = EXCLUDED.max_active_runs, busy = EXCLUDED.busy,
         last_heartbeat_ms = EXCLUDED.last_heartbeat_ms`,
      [
        worker.id,
        JSON.stringify(worker.labels),
        worker.maxActiveRuns,
        worker.busy,
        this.now().getTime(),
      ],
    );
  }

  async claim(
    worker: WorkerRegistration,
    limitOf: (queue: string, dag: Dag) => number,
  ): Promise<StoredRun | undefined> {
    // The first item of each queue that the worker's labels satisfy (jsonb containment: every
    // pair of the selector is among the labels), in claim order across queues.
    const { rows: candidates } = await this.db.query<CandidateRow>(
      `SELECT f.id, f.run, f.queue, f.name, f.dag_run_id, f.priority, f.worker_selector,
         d.definition
       FROM (
         SELECT DISTINCT ON (q.queue) q.id, q.run, q.queue, q.name, q.dag_run_id, q.priority,
           q.enqueued_ms, q.worker_selector
         FROM queue_items q
         WHERE q.worker_selector IS NOT NULL AND $1::jsonb @> q.worker_selector::jsonb
         ORDER BY q.queue, q.priority DESC, q.enqueued_ms, q.id
       ) f
       JOIN dag_runs r ON r.id = f.run JOIN dag_definitions d ON d.id = r.definition_id
       ORDER BY f.priority DESC, f.enqueued_ms, f.id`,
      [JSON.stringify(worker.labels)],
    );
    for (const candidate of candidates) {
      const limit = limitOf(candidate.queue, JSON.parse(candidate.definition) as Dag);
      const taken = await this.take(worker, candidate.queue, limit);
      if (taken) return this.runs.getRun(taken.name, taken.dag_run_id);
    }
    return undefined;
  }

  /**
   * The first item of `queue` the worker may run, taken under the queue's lock; undefined when
   * the queue is full or holds nothing for this worker any more. The item is chosen again under
   * the lock: a claim that lost the race for the candidate it saw takes the next one.
   */
  private take(
    worker: WorkerRegistration,
    queue: string,
    limit: number,
  ): Promise<Omit<CandidateRow, 'definition'> | undefined> {
    const now = this.now().getTime();
    const workerId = worker.id;
    return this.db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [queueLockKey(queue)]);
      const active = await q.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM dag_runs
         WHERE queue = $1 AND status IN (1, 5) AND (status = 1 OR claimed_at IS NOT NULL)`,
        [queue],
      );
      if (active.rows[0]!.n >= limit) return undefined;
      const { rows } = await q.query<Omit<CandidateRow, 'definition'>>(
        `DELETE FROM queue_items WHERE id = (
           SELECT id FROM queue_items
           WHERE queue = $1 AND worker_selector IS NOT NULL
             AND $2::jsonb @> worker_selector::jsonb
           ORDER BY priority DESC, enqueued_ms, id LIMIT 1)
         RETURNING id, run, queue, name, dag_run_id, priority, worker_selector`,
        [queue, JSON.stringify(worker.labels)],
      );
      const item = rows[0];
      if (!item) return undefined;
      const claimed = await q.query(
        `UPDATE dag_runs SET claimed_at = $1, owner_id = NULL, owner_pid = NULL,
           owner_start = NULL, owner_host = $2, updated_at = $1
         WHERE id = $3 AND status = $4 AND claimed_at IS NULL`,
        [now, workerOwnerHost(workerId), item.run, DagRunStatus.Queued],
      );
      if (claimed.rowCount !== 1) return undefined; // dequeued meanwhile: the item was stale
      await q.query(
        `INSERT INTO run_leases (run, worker_id, selector, priority, claimed_ms)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (run) DO UPDATE SET worker_id = EXCLUDED.worker_id,
           selector = EXCLUDED.selector, priority = EXCLUDED.priority,
           claimed_ms = EXCLUDED.claimed_ms, last_seq = 0, active = TRUE`,
        [item.run, workerId, item.worker_selector, item.priority, now],
      );
      return item;
    });
  }

  async leaseOf(name: string, dagRunId: string): Promise<RunLease | undefined> {
    const { rows } = await this.db.query<{ worker_id: string; last_seq: number; active: boolean }>(
      `SELECT l.worker_id, l.last_seq, l.active FROM run_leases l
       JOIN dag_runs r ON r.id = l.run
       WHERE r.name = $1 AND r.dag_run_id = $2 AND r.is_root = 1`,
      [name, dagRunId],
    );
    const row = rows[0];
    return row && { workerId: row.worker_id, lastSeq: row.last_seq, active: row.active };
  }

  async commitReport(name: string, dagRunId: string, seq: number, ended: boolean): Promise<void> {
    await this.db.tx(async (q) => {
      const { rows } = await q.query<{ run: number; worker_id: string }>(
        `UPDATE run_leases l SET last_seq = GREATEST(l.last_seq, $3), active = l.active AND $4
         FROM dag_runs r
         WHERE r.id = l.run AND r.name = $1 AND r.dag_run_id = $2 AND r.is_root = 1
         RETURNING l.run, l.worker_id`,
        [name, dagRunId, seq, !ended],
      );
      const lease = rows[0];
      if (!lease) return;
      // The run store recorded the answering server as the owner of a started run; the worker
      // is, and no server's crash recovery closes a run of a worker (its lease does).
      const owner = workerOwnerHost(lease.worker_id);
      await q.query(
        `UPDATE dag_runs SET owner_id = NULL, owner_pid = NULL, owner_start = NULL, owner_host = $1
         WHERE id = $2 AND (owner_id IS NOT NULL OR owner_host IS DISTINCT FROM $1)`,
        [owner, lease.run],
      );
    });
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const { rows: workers } = await this.db.query<{
      id: string;
      labels: string;
      max_active_runs: number;
      busy: number;
      last_heartbeat_ms: number;
    }>('SELECT id, labels, max_active_runs, busy, last_heartbeat_ms FROM workers ORDER BY id');
    const { rows: leases } = await this.db.query<{
      worker_id: string;
      name: string;
      dag_run_id: string;
      started_at: string;
    }>(
      `SELECT l.worker_id, r.name, r.dag_run_id,
         CASE WHEN r.status = ${DagRunStatus.Queued} THEN '' ELSE r.started_at END AS started_at
       FROM run_leases l JOIN dag_runs r ON r.id = l.run
       WHERE l.active ORDER BY l.claimed_ms, l.run`,
    );
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
    const { rows } = await this.db.query<{
      worker_id: string;
      name: string;
      dag_run_id: string;
      status: number;
    }>(
      `SELECT l.worker_id, r.name, r.dag_run_id, r.status FROM run_leases l
       JOIN dag_runs r ON r.id = l.run
       LEFT JOIN workers w ON w.id = l.worker_id
       WHERE l.active AND COALESCE(w.last_heartbeat_ms, l.claimed_ms) < $1
       ORDER BY l.claimed_ms, l.run`,
      [before.getTime()],
    );
    return rows.map((row) => ({
      workerId: row.worker_id,
      name: row.name,
      dagRunId: row.dag_run_id,
      started: row.status !== DagRunStatus.Queued,
    }));
  }

  async requeue(name: string, dagRunId: string): Promise<void> {
    const now = this.now().getTime();
    await this.db.tx(async (q) => {
      // Under the run's row lock: two servers expiring the same lease queue it once.
      const { rows } = await q.query<{
        id: number;
        queue: string;
        queued_at: string;
        created_at: number;
        selector: string;
        priority: number;
      }>(
        `SELECT r.id, r.queue, r.queued_at, r.created_at, l.selector, l.priority
         FROM dag_runs r JOIN run_leases l ON l.run = r.id
         WHERE r.name = $1 AND r.dag_run_id = $2 AND r.is_root = 1 AND r.status = $3
           AND l.active
         FOR UPDATE OF r`,
        [name, dagRunId, DagRunStatus.Queued],
      );
      const row = rows[0];
      if (!row) return;
      const gone = await q.query('DELETE FROM run_leases WHERE run = $1 AND active', [row.id]);
      if (gone.rowCount !== 1) return;
      await q.query(
        `UPDATE dag_runs SET claimed_at = NULL, owner_id = NULL, owner_pid = NULL,
           owner_start = NULL, owner_host = NULL, updated_at = $1 WHERE id = $2`,
        [now, row.id],
      );
      const enqueuedMs = Date.parse(row.queued_at);
      await q.query(
        `INSERT INTO queue_items (run, queue, name, dag_run_id, priority, enqueued_at,
           enqueued_ms, worker_selector)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run) DO NOTHING`,
        [
          row.id,
          row.queue,
          name,
          dagRunId,
          row.priority,
          row.queued_at,
          Number.isNaN(enqueuedMs) ? row.created_at : enqueuedMs,
          row.selector,
        ],
      );
    });
  }

  async release(name: string, dagRunId: string): Promise<void> {
    await this.db.query(
      `UPDATE run_leases SET active = FALSE WHERE run =
         (SELECT id FROM dag_runs WHERE name = $1 AND dag_run_id = $2 AND is_root = 1)`,
      [name, dagRunId],
    );
  }

  async workerIdsOf(refs: readonly DagRunRef[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (refs.length === 0) return found;
    // By run id alone (its own index; a join on unnest made the planner scan every run), then
    // the names here: a run id repeated under another DAG name is rare and filtered out.
    const wanted = new Set(refs.map((ref) => rootKey(ref.name, ref.dagRunId)));
    const { rows } = await this.db.query<{ name: string; dag_run_id: string; worker_id: string }>(
      `SELECT r.name, r.dag_run_id, l.worker_id
       FROM dag_runs r JOIN run_leases l ON l.run = r.id
       WHERE r.dag_run_id = ANY($1::text[]) AND r.is_root = 1`,
      [[...new Set(refs.map((ref) => ref.dagRunId))]],
    );
    for (const row of rows) {
      const key = rootKey(row.name, row.dag_run_id);
      if (wanted.has(key)) found.set(key, row.worker_id);
    }
    return found;
  }
}
