// The small ports on PostgreSQL: queue, suspend flags, stop requests, scheduler ticks and step
// process groups. Claims that must be unique across servers are decided by the database: a
// queue's claim holds a transaction-scoped advisory lock of that queue, a tick is an
// INSERT … ON CONFLICT DO NOTHING.
import {
  DaguError,
  type CancelStore,
  type FlagStore,
  type QueueItem,
  type QueueStore,
  type SchedulerTickStore,
  type StepProcessStore,
} from '@dagu-ts/core';
import { hostName, isOwnerAlive, ownIdentity, processStartIdentity } from '../process-identity.js';
import { endGroups, type GroupRow } from '../step-processes.js';
import { prepared, type PgConnection } from './connection.js';
import { CHANGES_CHANNEL, payloadOf } from './notify.js';

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

/** The advisory lock a claim from `queue` holds (servers' and workers' claims alike). */
export function queueLockKey(queue: string): string {
  return `dagu-ts queue ${queue}`;
}

interface Clocked {
  now?: () => Date;
}

export class PgQueueStore implements QueueStore {
  private readonly now: () => Date;

  constructor(
    private readonly db: PgConnection,
    private readonly ownerId: string,
    options: Clocked = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async enqueue(item: QueueItem): Promise<void> {
    const enqueuedMs = Date.parse(item.enqueuedAt);
    if (Number.isNaN(enqueuedMs))
      throw new DaguError(
        'bad_request',
        `enqueuedAt must be an ISO 8601 date-time, got "${item.enqueuedAt}"`,
      );
    // One statement (atomic, one round trip): the item, and the notification that lets every
    // other server start it now.
    const { rows } = await this.db.query<{ runs: number; items: number }>(
      prepared(`WITH run AS (
         SELECT id FROM dag_runs WHERE name = $1 AND dag_run_id = $2 AND is_root = 1),
       item AS (
         INSERT INTO queue_items (run, queue, name, dag_run_id, priority, enqueued_at,
           enqueued_ms, worker_selector)
         SELECT run.id, $3, $1, $2, $4, $5, $6, $7 FROM run
         ON CONFLICT (run) DO NOTHING RETURNING id)
       SELECT (SELECT COUNT(*) FROM run) AS runs, (SELECT COUNT(*) FROM item) AS items,
         (SELECT pg_notify($8, $9) FROM item) AS notified`),
      [
        item.name,
        item.dagRunId,
        item.queue,
        item.priority,
        item.enqueuedAt,
        enqueuedMs,
        item.workerSelector ? JSON.stringify(item.workerSelector) : null,
        CHANGES_CHANNEL,
        payloadOf(this.ownerId, { kind: 'queue', queue: item.queue }),
      ],
    );
    if (rows[0]!.runs === 0)
      throw new DaguError(
        'not_found',
        `dag-run ID ${item.dagRunId} not found for DAG ${item.name}`,
      );
    if (rows[0]!.items === 0)
      throw new DaguError(
        'already_exists',
        `dag-run ID ${item.dagRunId} of DAG ${item.name} is already queued`,
      );
  }

  /**
   * Takes the first item of `queue` when fewer than `maxActive` of its runs are running or
   * starting; items for workers are theirs to claim (workers.ts). Servers (and workers' claims)
   * taking from the same queue take turns on the queue's advisory lock, so the count and the
   * claim are one step for all of them.
   */
  async claimNext(queue: string, maxActive: number): Promise<QueueItem | undefined> {
    // One call (dagu_claim_next, PG migration 5): lock, count and claim in one round trip.
    const { rows } = await this.db.query<ItemRow>(
      prepared(`SELECT ${ITEM_COLUMNS} FROM dagu_claim_next($1, $2, $3, $4, $5, $6, $7, $8)`),
      [
        queue,
        maxActive,
        queueLockKey(queue),
        this.now().getTime(),
        this.ownerId,
        process.pid,
        ownIdentity(),
        hostName(),
      ],
    );
    return rows[0] && toItem(rows[0]);
  }

  async remove(name: string, dagRunId: string): Promise<boolean> {
    const removed = await this.db.query(
      'DELETE FROM queue_items WHERE name = $1 AND dag_run_id = $2',
      [name, dagRunId],
    );
    return (removed.rowCount ?? 0) > 0;
  }

  async list(queue?: string): Promise<QueueItem[]> {
    const { rows } =
      queue === undefined
        ? await this.db.query<ItemRow>(
            `SELECT ${ITEM_COLUMNS} FROM queue_items ORDER BY queue, priority DESC, enqueued_ms, id`,
          )
        : await this.db.query<ItemRow>(
            `SELECT ${ITEM_COLUMNS} FROM queue_items WHERE queue = $1 ${ITEM_ORDER}`,
            [queue],
          );
    return rows.map(toItem);
  }

  async counts(): Promise<Record<string, number>> {
    const { rows } = await this.db.query<{ queue: string; n: number }>(
      'SELECT queue, COUNT(*) AS n FROM queue_items GROUP BY queue ORDER BY queue',
    );
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

export class PgFlagStore implements FlagStore {
  private readonly now: () => Date;

  constructor(
    private readonly db: PgConnection,
    options: Clocked = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async isSuspended(name: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM suspend_flags WHERE name = $1', [name]);
    return rows.length > 0;
  }

  async setSuspended(name: string, suspended: boolean): Promise<void> {
    if (suspended)
      await this.db.query(
        'INSERT INTO suspend_flags (name, suspended_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [name, this.now().toISOString()],
      );
    else await this.db.query('DELETE FROM suspend_flags WHERE name = $1', [name]);
  }

  async listSuspended(): Promise<string[]> {
    const { rows } = await this.db.query<{ name: string }>(
      'SELECT name FROM suspend_flags ORDER BY name',
    );
    return rows.map((row) => row.name);
  }
}

/**
 * Stop requests as rows: whichever server executes the run polls for them, and is told at once
 * by a notification sent with the row (one statement, so one transaction).
 */
export class PgCancelStore implements CancelStore {
  private readonly now: () => Date;

  constructor(
    private readonly db: PgConnection,
    options: Clocked & { ownerId?: string } = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.ownerId = options.ownerId ?? '';
  }

  private readonly ownerId: string;

  async requestCancel(name: string, dagRunId: string): Promise<void> {
    const inserted = await this.db.query(
      `WITH inserted AS (
         INSERT INTO cancel_requests (name, dag_run_id, requested_at)
         SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM dag_runs WHERE dag_run_id = $2 AND name = $1)
         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT pg_notify($4, json_build_object('o', $5::text, 'kind', 'cancel', 'name', $1::text,
         'dagRunId', $2::text)::text) FROM inserted`,
      [name, dagRunId, this.now().toISOString(), CHANGES_CHANNEL, this.ownerId],
    );
    if (inserted.rowCount === 0 && !(await this.isCancelRequested(name, dagRunId)))
      throw new DaguError('not_found', `dag-run ID ${dagRunId} not found for DAG ${name}`);
  }

  async isCancelRequested(name: string, dagRunId: string): Promise<boolean> {
    const { rows } = await this.db.query(
      prepared('SELECT 1 FROM cancel_requests WHERE name = $1 AND dag_run_id = $2'),
      [name, dagRunId],
    );
    return rows.length > 0;
  }

  async clearCancel(name: string, dagRunId: string): Promise<void> {
    await this.db.query('DELETE FROM cancel_requests WHERE name = $1 AND dag_run_id = $2', [
      name,
      dagRunId,
    ]);
  }
}

const MINUTE_MS = 60_000;

/** A DAG's schedule fires once per minute across every server sharing the database. */
export class PgSchedulerTickStore implements SchedulerTickStore {
  private readonly now: () => Date;

  constructor(
    private readonly db: PgConnection,
    private readonly ownerId: string,
    options: Clocked = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async claimTick(name: string, scheduledAt: Date): Promise<boolean> {
    const ms = scheduledAt.getTime();
    if (Number.isNaN(ms)) throw new DaguError('bad_request', 'scheduledAt is not a valid date');
    const inserted = await this.db.query(
      `INSERT INTO scheduler_ticks (name, scheduled_minute, claimed_at, owner_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [name, Math.floor(ms / MINUTE_MS) * MINUTE_MS, this.now().toISOString(), this.ownerId],
    );
    return inserted.rowCount === 1;
  }

  async pruneTicks(before: Date): Promise<number> {
    const deleted = await this.db.query('DELETE FROM scheduler_ticks WHERE scheduled_minute < $1', [
      before.getTime(),
    ]);
    return deleted.rowCount ?? 0;
  }
}

/** Step process groups, by machine: only the machine that runs a step can end it. */
export class PgStepProcessStore implements StepProcessStore {
  constructor(private readonly db: PgConnection) {}

  async add(pgid: number): Promise<void> {
    const identity = processStartIdentity(pgid);
    if (identity === undefined) return;
    await this.db.query(
      `INSERT INTO step_processes (owner_host, pgid, pgid_start, owner_pid, owner_start)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (owner_host, pgid) DO UPDATE SET pgid_start = EXCLUDED.pgid_start,
         owner_pid = EXCLUDED.owner_pid, owner_start = EXCLUDED.owner_start`,
      [hostName(), pgid, identity, process.pid, ownIdentity()],
    );
  }

  async remove(pgid: number): Promise<void> {
    await this.db.query(
      'DELETE FROM step_processes WHERE owner_host = $1 AND pgid = $2 AND owner_pid = $3',
      [hostName(), pgid, process.pid],
    );
  }
}

/** Ends the step groups on this machine whose owning process is gone, and forgets them. */
export async function endOwnedStepGroups(db: PgConnection): Promise<number[]> {
  const host = hostName();
  const { rows } = await db.query<GroupRow>(
    'SELECT pgid, pgid_start, owner_pid, owner_start FROM step_processes WHERE owner_host = $1',
    [host],
  );
  const orphaned = rows.filter((row) => !isOwnerAlive(row.owner_pid, row.owner_start));
  if (orphaned.length === 0) return [];
  const signalled = await endGroups(orphaned);
  for (const row of orphaned)
    await db.query(
      'DELETE FROM step_processes WHERE owner_host = $1 AND pgid = $2 AND owner_pid = $3',
      [host, row.pgid, row.owner_pid],
    );
  return signalled;
}
