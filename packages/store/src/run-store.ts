// Run history on SQLite: core's RunStore (and so the runner's RunRecorder). Every state change is
// written in one transaction; a run row mirrors its latest attempt for listing, and each attempt
// keeps the full DagRunSnapshot as JSON.
import { createHash } from 'node:crypto';
import {
  DaguError,
  DagRunStatus,
  FileLogStore,
  NodeStatus,
  type Dag,
  type DagRunRef,
  type DagRunSnapshot,
  type DagRunSummary,
  type LogStore,
  type NodeState,
  type RunEvent,
  type RunPage,
  type RunQuery,
  type RunRecorder,
  type RunStore,
  type RunTrigger,
  type StoredRun,
} from '@dagu-ts/core';
import type { Connection } from './connection.js';
import { hostName, isOwnerAlive, ownIdentity, processStartIdentity } from './process-identity.js';
import { endOrphanedStepGroups } from './step-processes.js';

/** The error of a run whose owning process died (dag-yaml.md Part A #12). */
export const ABANDONED_RUN_ERROR = 'process exited unexpectedly';

/** A run brought in from elsewhere (e.g. Dagu's JSON history) by `importRuns`. */
export interface ImportedRun {
  dag: Dag;
  /** The run's latest (and only imported) attempt. */
  snapshot: DagRunSnapshot;
  trigger: RunTrigger;
}

/** A run without its steps: the run-level fields of its latest attempt (core's port type). */
export type { DagRunSummary } from '@dagu-ts/core';

export interface SqliteRunStoreOptions {
  /** Clock of the store's own timestamps (tests inject one). */
  now?: () => Date;
  /**
   * The logs of the runs, deleted with them (retention) and moved with a renamed DAG (default:
   * files where each run recorded them, which a rename does not move).
   */
  logs?: LogStore;
}

interface RunRow {
  id: number;
  name: string;
  dag_run_id: string;
  status: number;
  trigger: string;
  queue: string;
  queued_at: string;
  claimed_at: number | null;
  owner_pid: number | null;
  owner_start: string | null;
  owner_host: string | null;
  attempt_seq: number;
  attempt_id: string;
}

interface AttemptRow {
  id: number;
  seq: number;
  attempt_id: string;
  status: number;
  snapshot: string;
}

interface StoredRow extends RunRow {
  snapshot: string;
  definition: string;
}

const RUN_COLUMNS = `r.id, r.name, r.dag_run_id, r.status, r.trigger, r.queue, r.queued_at, r.claimed_at,
  r.owner_pid, r.owner_start, r.owner_host, r.attempt_seq, r.attempt_id`;

/** A run with its latest attempt and definition; `index` forces the index of dag_runs. */
const storedFrom = (index?: string): string => `SELECT ${RUN_COLUMNS}, a.snapshot, d.definition
  FROM dag_runs r${index ? ` INDEXED BY ${index}` : ''}
  JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
  JOIN dag_definitions d ON d.id = r.definition_id`;

const ORDER = 'ORDER BY r.created_at DESC, r.dag_run_id ASC';

const SUMMARY_COLUMNS = `r.name, r.dag_run_id, r.attempt_id, r.root_name, r.root_dag_run_id,
  r.parent_name, r.parent_dag_run_id, r.status, r.queued_at, r.started_at, r.finished_at,
  r.log_path, r.params, r.error`;

interface SummaryRow {
  name: string;
  dag_run_id: string;
  attempt_id: string;
  root_name: string;
  root_dag_run_id: string;
  parent_name: string | null;
  parent_dag_run_id: string | null;
  status: number;
  queued_at: string;
  started_at: string;
  finished_at: string;
  log_path: string;
  params: string;
  error: string;
}

export class SqliteRunStore implements RunStore {
  private readonly connection: Connection;
  private readonly now: () => Date;
  private readonly logs: LogStore;

  constructor(connection: Connection, options: SqliteRunStoreOptions = {}) {
    this.connection = connection;
    this.now = options.now ?? (() => new Date());
    this.logs = options.logs ?? new FileLogStore('');
  }

  // ---- recording (RunRecorder) -----------------------------------------------------------------

  /**
   * Records one state change. A run started this way counts as triggered by `child` (when it has
   * a parent) or `cli`; use `recorder(trigger)` to say otherwise.
   */
  async record(event: RunEvent): Promise<void> {
    this.recordEvent(event, undefined);
  }

  /** A RunRecorder whose new runs carry `trigger` (the API's runs: `recorder('api')`). */
  recorder(trigger: RunTrigger): RunRecorder {
    return { record: async (event) => this.recordEvent(event, trigger) };
  }

  private recordEvent(event: RunEvent, trigger: RunTrigger | undefined): void {
    const now = this.now().getTime();
    if (event.type === 'run-started') {
      this.connection.write(() =>
        this.recordStart(event.run, event.dag, event.trigger ?? trigger, now),
      );
      return;
    }
    const run = event.run;
    const snapshot = JSON.stringify(run);
    this.connection.write(() => {
      const row = this.findRow(run);
      if (!row) throw unknownRun(run);
      const updated = this.prepare(
        'UPDATE attempts SET status = ?, updated_at = ?, snapshot = ? WHERE run = ? AND attempt_id = ?',
      ).run(run.status, now, snapshot, row.id, run.attemptId);
      if (updated.changes === 0) throw unknownRun(run);
      // Only the latest attempt speaks for the run.
      this.prepare(
        `UPDATE dag_runs SET status = @status, params = @params, updated_at = @now,
           started_at = @startedAt, finished_at = @finishedAt, error = @error, log_path = @log
         WHERE id = @id AND attempt_id = @attemptId`,
      ).run({ ...runColumns(run), now, id: row.id, attemptId: run.attemptId });
      if (event.type === 'run-finished')
        this.prepare('DELETE FROM cancel_requests WHERE name = ? AND dag_run_id = ?').run(
          run.name,
          run.dagRunId,
        );
    });
  }

  private recordStart(
    run: DagRunSnapshot,
    dag: Dag,
    trigger: RunTrigger | undefined,
    now: number,
  ): void {
    const owner = {
      ownerPid: run.pid > 0 ? run.pid : null,
      ownerStart: run.pid === process.pid ? ownIdentity() : (processStartIdentity(run.pid) ?? ''),
      ownerHost: hostName(),
    };
    const definitionId = this.definitionId(dag);
    const existing = this.findRow(run);
    if (!existing) {
      this.insertRun(run, {
        definitionId,
        trigger: trigger ?? (run.parent ? 'child' : 'cli'),
        queue: dag.queue ?? dag.name,
        now,
        ...owner,
      });
      return;
    }
    // A new attempt of a known run: a retry, or the start of a queued run. Never while another
    // live process executes it (this process knows its own runners; the store cannot).
    if (
      existing.status === DagRunStatus.Running &&
      existing.attempt_id !== run.attemptId &&
      existing.owner_pid !== null &&
      existing.owner_pid !== process.pid &&
      existing.owner_host === owner.ownerHost &&
      isOwnerAlive(existing.owner_pid, existing.owner_start)
    )
      throw new DaguError(
        'already_running',
        `dag-run ID ${run.dagRunId} of DAG ${run.name} is already running (pid ${existing.owner_pid})`,
      );
    const stored = { ...run, queuedAt: run.queuedAt || existing.queued_at };
    const snapshot = JSON.stringify(stored);
    const latest = this.latestAttempt(existing);
    let seq: number;
    if (latest && (latest.attempt_id === run.attemptId || latest.status === DagRunStatus.Queued)) {
      // The same attempt recorded again, or the placeholder attempt of a queued run: replace it.
      seq = latest.seq;
      this.prepare(
        'UPDATE attempts SET attempt_id = ?, status = ?, updated_at = ?, snapshot = ? WHERE id = ?',
      ).run(run.attemptId, run.status, now, snapshot, latest.id);
    } else {
      seq = (latest?.seq ?? 0) + 1;
      this.insertAttempt(existing.id, seq, run, snapshot, now);
    }
    this.prepare(
      `UPDATE dag_runs SET status = @status, params = @params, updated_at = @now,
         queued_at = @queuedAt, started_at = @startedAt, finished_at = @finishedAt,
         claimed_at = NULL, owner_pid = @ownerPid, owner_start = @ownerStart,
         owner_host = @ownerHost, definition_id = @definitionId, attempt_seq = @seq,
         attempt_id = @attemptId, error = @error, log_path = @log
       WHERE id = @id`,
    ).run({
      ...runColumns(stored),
      ...owner,
      queuedAt: stored.queuedAt,
      definitionId,
      seq,
      attemptId: run.attemptId,
      now,
      id: existing.id,
    });
  }

  private insertRun(
    run: DagRunSnapshot,
    row: {
      definitionId: number;
      trigger: RunTrigger;
      queue: string;
      now: number;
      ownerPid: number | null;
      ownerStart: string | null;
      ownerHost: string | null;
    },
  ): number {
    const createdAt =
      timeOf(run.queuedAt) ?? timeOf(run.startedAt) ?? timeOf(run.finishedAt) ?? row.now;
    // Positional parameters: this is the hot statement of imports and of every new run.
    const inserted = this.prepare(
      `INSERT INTO dag_runs (name, dag_run_id, is_root, root_name, root_dag_run_id, parent_name,
         parent_dag_run_id, status, params, trigger, queue, created_at, updated_at, queued_at,
         started_at, finished_at, owner_pid, owner_start, owner_host, definition_id, attempt_seq,
         attempt_id, error, log_path)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
    ).run(
      run.name,
      run.dagRunId,
      run.parent ? 0 : 1,
      run.parent ? run.root.name : run.name,
      run.parent ? run.root.dagRunId : run.dagRunId,
      run.parent?.name ?? null,
      run.parent?.dagRunId ?? null,
      run.status,
      run.params,
      row.trigger,
      row.queue,
      createdAt,
      row.now,
      run.queuedAt,
      run.startedAt,
      run.finishedAt,
      row.ownerPid,
      row.ownerStart,
      row.ownerHost,
      row.definitionId,
      run.attemptId,
      run.error,
      run.log,
    );
    const id = Number(inserted.lastInsertRowid);
    this.insertAttempt(id, 1, run, JSON.stringify(run), row.now);
    return id;
  }

  private insertAttempt(
    runId: number,
    seq: number,
    run: DagRunSnapshot,
    snapshot: string,
    now: number,
  ): void {
    this.prepare(
      `INSERT INTO attempts (run, seq, attempt_id, status, created_at, updated_at, snapshot)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(runId, seq, run.attemptId, run.status, now, now, snapshot);
  }

  /** The definition's row, stored once per distinct content. */
  private definitionId(dag: Dag): number {
    const json = JSON.stringify(dag);
    const hash = createHash('sha256').update(json).digest('hex');
    const found = this.prepare('SELECT id FROM dag_definitions WHERE hash = ?').get(hash) as
      { id: number } | undefined;
    if (found) return found.id;
    return Number(
      this.prepare('INSERT INTO dag_definitions (hash, definition) VALUES (?, ?)').run(hash, json)
        .lastInsertRowid,
    );
  }

  // ---- creating and importing ------------------------------------------------------------------

  async createQueuedRun(input: {
    dag: Dag;
    snapshot: DagRunSnapshot;
    trigger: RunTrigger;
  }): Promise<void> {
    const { dag, snapshot, trigger } = input;
    const now = this.now().getTime();
    this.connection.write(() => {
      if (this.findRow(snapshot))
        throw new DaguError(
          'already_exists',
          `dag-run ID ${snapshot.dagRunId} already exists for DAG ${snapshot.name}`,
        );
      this.insertRun(snapshot, {
        definitionId: this.definitionId(dag),
        trigger,
        queue: dag.queue ?? dag.name,
        now,
        ownerPid: null,
        ownerStart: null,
        ownerHost: null,
      });
    });
  }

  /**
   * Inserts finished history in one transaction (e.g. runs migrated from Dagu's JSON files).
   * Runs whose id the DAG already has are skipped; returns how many were inserted.
   */
  async importRuns(runs: readonly ImportedRun[]): Promise<number> {
    const now = this.now().getTime();
    return this.connection.write(() => {
      const definitions = new Map<Dag, number>();
      let inserted = 0;
      for (const { dag, snapshot, trigger } of runs) {
        if (this.findRow(snapshot)) continue;
        let definitionId = definitions.get(dag);
        if (definitionId === undefined) {
          definitionId = this.definitionId(dag);
          definitions.set(dag, definitionId);
        }
        this.insertRun(snapshot, {
          definitionId,
          trigger,
          queue: dag.queue ?? dag.name,
          now,
          ownerPid: null,
          ownerStart: null,
          ownerHost: null,
        });
        inserted++;
      }
      return inserted;
    });
  }

  // ---- reading -----------------------------------------------------------------------------------

  async getRun(name: string, dagRunId: string): Promise<StoredRun | undefined> {
    const row = this.prepare(
      `${storedFrom()} WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1`,
    ).get(name, dagRunId) as StoredRow | undefined;
    return row && toStoredRun(row);
  }

  async getLatestRun(name: string): Promise<StoredRun | undefined> {
    const row = this.prepare(
      `${storedFrom('dag_runs_by_name')} WHERE r.name = ? AND r.is_root = 1 ${ORDER} LIMIT 1`,
    ).get(name) as StoredRow | undefined;
    return row && toStoredRun(row);
  }

  async getChildRun(root: DagRunRef, childDagRunId: string): Promise<StoredRun | undefined> {
    const row = this.prepare(
      `${storedFrom()} WHERE r.root_name = ? AND r.root_dag_run_id = ? AND r.dag_run_id = ?
         AND r.is_root = 0`,
    ).get(root.name, root.dagRunId, childDagRunId) as StoredRow | undefined;
    return row && toStoredRun(row);
  }

  /** Every child (and grandchild) run of a root run, oldest first. */
  async listChildRuns(root: DagRunRef): Promise<DagRunSnapshot[]> {
    const rows = this.prepare(
      `SELECT a.snapshot FROM dag_runs r
         JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
       WHERE r.root_name = ? AND r.root_dag_run_id = ? AND r.is_root = 0
       ORDER BY r.created_at, r.id`,
    ).all(root.name, root.dagRunId) as Array<{ snapshot: string }>;
    return rows.map((row) => parseSnapshot(row.snapshot));
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    return this.page(
      query,
      `SELECT a.snapshot FROM dag_runs r{index}
         JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq`,
      (row: { snapshot: string }) => parseSnapshot(row.snapshot),
    );
  }

  /**
   * listRuns without the steps: the run-level fields only, read from the run rows (no attempt
   * snapshot is loaded or parsed), for listings of many runs such as the API's GET /dag-runs.
   */
  async listRunSummaries(query: RunQuery): Promise<{ runs: DagRunSummary[]; total: number }> {
    return this.page(query, `SELECT ${SUMMARY_COLUMNS} FROM dag_runs r{index}`, toSummary);
  }

  /** Counts and pages the runs matching `query`; `select` has `{index}` where INDEXED BY goes. */
  private page<Row, T>(
    query: RunQuery,
    select: string,
    map: (row: Row) => T,
  ): { runs: T[]; total: number } {
    const { limit, offset } = query;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0))
      throw new DaguError('bad_request', `limit must be an integer ≥ 0, got ${limit}`);
    if (offset !== undefined && !(Number.isInteger(offset) && offset >= 0))
      throw new DaguError('bad_request', `offset must be an integer ≥ 0, got ${offset}`);
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (!query.includeChildren) where.push('r.is_root = 1');
    if (query.name !== undefined) {
      where.push('r.name = ?');
      params.push(query.name);
    }
    if (query.nameContains) {
      where.push("r.name LIKE ? ESCAPE '\\'");
      params.push(`%${query.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (query.dagRunId !== undefined) {
      where.push('r.dag_run_id = ?');
      params.push(query.dagRunId);
    }
    if (query.statuses) {
      if (query.statuses.length === 0) return { runs: [], total: 0 };
      where.push(`r.status IN (${query.statuses.map(() => '?').join(', ')})`);
      params.push(...query.statuses);
    }
    if (query.from !== undefined) {
      where.push('r.created_at >= ?');
      params.push(parseQueryTime(query.from, 'from'));
    }
    if (query.to !== undefined) {
      where.push('r.created_at <= ?');
      params.push(parseQueryTime(query.to, 'to'));
    }
    const index = chooseIndex(query);
    const indexed = index ? ` INDEXED BY ${index}` : '';
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (
      this.prepare(`SELECT COUNT(*) AS n FROM dag_runs r${indexed} ${filter}`).get(...params) as {
        n: number;
      }
    ).n;
    if (limit === 0 || (offset ?? 0) >= total) return { runs: [], total };
    const rows = this.prepare(
      `${select.replace('{index}', indexed)} ${filter} ${ORDER} LIMIT ? OFFSET ?`,
    ).all(...params, limit ?? -1, offset ?? 0) as Row[];
    return { runs: rows.map(map), total };
  }

  async listAttempts(name: string, dagRunId: string): Promise<DagRunSnapshot[]> {
    const rows = this.prepare(
      `SELECT a.snapshot FROM dag_runs r JOIN attempts a ON a.run = r.id
       WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1 ORDER BY a.seq`,
    ).all(name, dagRunId) as Array<{ snapshot: string }>;
    return rows.map((row) => parseSnapshot(row.snapshot));
  }

  // ---- changing a stored run ---------------------------------------------------------------------

  async updateNodeStatus(
    name: string,
    dagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): Promise<DagRunSnapshot> {
    return this.updateNodeStatusOf(
      () => this.findRoot(name, dagRunId),
      name,
      dagRunId,
      stepName,
      status,
    );
  }

  /** updateNodeStatus for a child run, addressed through its root (the API's child PATCH). */
  async updateChildNodeStatus(
    root: DagRunRef,
    childDagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): Promise<DagRunSnapshot> {
    return this.updateNodeStatusOf(
      () => this.findChild(root, childDagRunId),
      root.name,
      childDagRunId,
      stepName,
      status,
    );
  }

  private updateNodeStatusOf(
    find: () => RunRow | undefined,
    name: string,
    dagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): DagRunSnapshot {
    const now = this.now().getTime();
    return this.connection.write(() => {
      const row = find();
      if (!row) throw runNotFound(name, dagRunId);
      if (row.status === DagRunStatus.Running)
        throw new DaguError(
          'bad_request',
          `dag-run ID ${dagRunId} for DAG ${row.name} is still running`,
        );
      const attempt = this.latestAttempt(row);
      if (!attempt) throw runNotFound(name, dagRunId);
      const snapshot = parseSnapshot(attempt.snapshot);
      const node = snapshot.nodes.findLast((n) => n.step.name === stepName);
      if (!node) throw new DaguError('not_found', `step ${stepName} not found in DAG ${row.name}`);
      node.status = status;
      this.saveAttempt(row.id, attempt.id, snapshot, now);
      return snapshot;
    });
  }

  async setRunStatus(
    name: string,
    dagRunId: string,
    status: DagRunStatus,
    error?: string,
  ): Promise<void> {
    const now = this.now().getTime();
    this.connection.write(() => {
      const row = this.findRoot(name, dagRunId);
      if (!row) throw runNotFound(name, dagRunId);
      const attempt = this.latestAttempt(row);
      if (!attempt) throw runNotFound(name, dagRunId);
      const snapshot = parseSnapshot(attempt.snapshot);
      snapshot.status = status;
      if (error !== undefined) snapshot.error = error;
      this.saveAttempt(row.id, attempt.id, snapshot, now);
      this.prepare(
        `UPDATE dag_runs SET status = ?, error = ?, updated_at = ?,
           claimed_at = CASE WHEN ? IN (1, 5) THEN claimed_at END
         WHERE id = ?`,
      ).run(status, snapshot.error, now, status, row.id);
    });
  }

  private saveAttempt(
    runId: number,
    attemptId: number,
    snapshot: DagRunSnapshot,
    now: number,
  ): void {
    this.prepare('UPDATE attempts SET status = ?, updated_at = ?, snapshot = ? WHERE id = ?').run(
      snapshot.status,
      now,
      JSON.stringify(snapshot),
      attemptId,
    );
    this.prepare('UPDATE dag_runs SET updated_at = ? WHERE id = ?').run(now, runId);
  }

  // ---- renaming ----------------------------------------------------------------------------------

  /**
   * Moves the history of DAG `from` to `to` (a renamed DAG file whose name follows the file):
   * runs, child runs' references, attempts, definitions, queue items and cancel requests, in
   * one transaction; its logs move through the log store (LogStore.moveDagLogs) and move back
   * when the rows cannot follow. `already_exists` when both names have a run with the same id.
   */
  async renameRuns(from: string, to: string): Promise<number> {
    if (from === to) return 0;
    // A clash is refused before the logs move (and checked again inside the transaction).
    this.refuseRenameClash(from, to);
    const moved = await this.logs.moveDagLogs(from, to);
    const rewrite = (snapshot: DagRunSnapshot): DagRunSnapshot =>
      renamedSnapshot(snapshot, from, to, moved);
    try {
      return this.renameRows(from, to, rewrite, moved);
    } catch (error) {
      if (moved) await this.logs.moveDagLogs(to, from).catch(() => undefined);
      throw error;
    }
  }

  private refuseRenameClash(from: string, to: string): void {
    const clash = this.prepare(
      `SELECT a.dag_run_id FROM dag_runs a JOIN dag_runs b
         ON b.name = ? AND b.is_root = 1 AND b.dag_run_id = a.dag_run_id
       WHERE a.name = ? AND a.is_root = 1 LIMIT 1`,
    ).get(to, from) as { dag_run_id: string } | undefined;
    if (clash)
      throw new DaguError(
        'already_exists',
        `DAG ${to} already has a run ${clash.dag_run_id}; rename the DAG to another name`,
      );
  }

  private renameRows(
    from: string,
    to: string,
    rewrite: (snapshot: DagRunSnapshot) => DagRunSnapshot,
    moved: ((ref: string) => string) | undefined,
  ): number {
    return this.connection.write(() => {
      this.refuseRenameClash(from, to);
      const runs = this.prepare(
        `SELECT id, name, definition_id, log_path FROM dag_runs
         WHERE name = ? OR root_name = ? OR parent_name = ?`,
      ).all(from, from, from) as Array<{
        id: number;
        name: string;
        definition_id: number;
        log_path: string;
      }>;
      const definitions = new Map<number, number>();
      for (const run of runs) {
        for (const attempt of this.prepare('SELECT id, snapshot FROM attempts WHERE run = ?').all(
          run.id,
        ) as Array<{ id: number; snapshot: string }>) {
          const snapshot = JSON.stringify(rewrite(parseSnapshot(attempt.snapshot)));
          this.prepare('UPDATE attempts SET snapshot = ? WHERE id = ?').run(snapshot, attempt.id);
        }
        if (run.name !== from) continue;
        let definitionId = definitions.get(run.definition_id);
        if (definitionId === undefined) {
          const { definition } = this.prepare(
            'SELECT definition FROM dag_definitions WHERE id = ?',
          ).get(run.definition_id) as { definition: string };
          definitionId = this.definitionId({ ...(JSON.parse(definition) as Dag), name: to });
          definitions.set(run.definition_id, definitionId);
        }
        const logPath = moved ? moved(run.log_path) : run.log_path;
        this.prepare('UPDATE dag_runs SET definition_id = ?, log_path = ? WHERE id = ?').run(
          definitionId,
          logPath,
          run.id,
        );
      }
      this.prepare('UPDATE dag_runs SET queue = ? WHERE name = ? AND queue = ?').run(
        to,
        from,
        from,
      );
      this.prepare('UPDATE dag_runs SET name = ? WHERE name = ?').run(to, from);
      this.prepare('UPDATE dag_runs SET root_name = ? WHERE root_name = ?').run(to, from);
      this.prepare('UPDATE dag_runs SET parent_name = ? WHERE parent_name = ?').run(to, from);
      this.prepare('UPDATE queue_items SET queue = ? WHERE name = ? AND queue = ?').run(
        to,
        from,
        from,
      );
      this.prepare('UPDATE queue_items SET name = ? WHERE name = ?').run(to, from);
      this.prepare('UPDATE cancel_requests SET name = ? WHERE name = ?').run(to, from);
      for (const old of definitions.keys())
        this.prepare(
          `DELETE FROM dag_definitions
           WHERE id = ? AND NOT EXISTS (SELECT 1 FROM dag_runs WHERE definition_id = ?)`,
        ).run(old, old);
      return runs.filter((run) => run.name === from).length;
    });
  }

  // ---- housekeeping ------------------------------------------------------------------------------

  async applyRetention(name: string, days: number, now?: Date): Promise<{ deletedRuns: number }> {
    if (!Number.isFinite(days) || days < 0)
      throw new DaguError('bad_request', `retention days must be a number ≥ 0, got ${days}`);
    const cutoff = (now ?? this.now()).getTime() - days * 86_400_000;
    const doomed: DagRunSnapshot[] = [];
    const deletedRuns = this.connection.write(() => {
      const roots = this.prepare(
        `SELECT r.id, r.dag_run_id FROM dag_runs r INDEXED BY dag_runs_by_name
         WHERE r.name = ? AND r.is_root = 1 AND r.created_at < ? AND r.updated_at < ?
           AND r.status NOT IN (1, 5)`,
      ).all(name, cutoff, cutoff) as Array<{ id: number; dag_run_id: string }>;
      const definitions = new Set<number>();
      for (const root of roots) {
        const tree = this.prepare(
          `SELECT id, name, dag_run_id, definition_id FROM dag_runs
           WHERE id = ? OR (root_name = ? AND root_dag_run_id = ? AND is_root = 0)`,
        ).all(root.id, name, root.dag_run_id) as Array<{
          id: number;
          name: string;
          dag_run_id: string;
          definition_id: number;
        }>;
        for (const run of tree) {
          definitions.add(run.definition_id);
          const attempts = this.prepare('SELECT snapshot FROM attempts WHERE run = ?').all(
            run.id,
          ) as Array<{ snapshot: string }>;
          for (const attempt of attempts) doomed.push(parseSnapshot(attempt.snapshot));
          this.prepare('DELETE FROM cancel_requests WHERE name = ? AND dag_run_id = ?').run(
            run.name,
            run.dag_run_id,
          );
          this.prepare('DELETE FROM dag_runs WHERE id = ?').run(run.id);
        }
      }
      for (const id of definitions)
        this.prepare(
          `DELETE FROM dag_definitions
           WHERE id = ? AND NOT EXISTS (SELECT 1 FROM dag_runs WHERE definition_id = ?)`,
        ).run(id, id);
      return roots.length;
    });
    // Logs go after the commit: a failed transaction must not leave rows without their logs.
    await this.logs.deleteRunLogs(doomed);
    return { deletedRuns };
  }

  async closeAbandonedRuns(): Promise<DagRunSnapshot[]> {
    // Steps first: a run closed as failed must not go on running in its orphaned processes.
    await endOrphanedStepGroups(this.connection);
    const host = hostName();
    const candidates = this.prepare(
      `SELECT ${RUN_COLUMNS} FROM dag_runs r INDEXED BY dag_runs_active WHERE r.status IN (1, 5)`,
    ).all() as RunRow[];
    const closed: DagRunSnapshot[] = [];
    for (const row of candidates) {
      // A queued run that nobody claimed is waiting, not abandoned.
      if (row.status === DagRunStatus.Queued && row.claimed_at === null) continue;
      // A process on another machine cannot be checked from here.
      if (row.owner_host !== null && row.owner_host !== host) continue;
      if (row.owner_pid !== null && isOwnerAlive(row.owner_pid, row.owner_start)) continue;
      const snapshot = this.closeAbandoned(row);
      if (snapshot) closed.push(snapshot);
    }
    return closed;
  }

  private closeAbandoned(candidate: RunRow): DagRunSnapshot | undefined {
    const now = this.now();
    const finishedAt = now.toISOString();
    return this.connection.write(() => {
      // Re-read inside the transaction: another process may have closed or restarted it.
      const row = this.prepare(
        `SELECT ${RUN_COLUMNS} FROM dag_runs r WHERE r.id = ? AND r.status = ?
           AND r.owner_pid IS ? AND r.attempt_id = ?`,
      ).get(candidate.id, candidate.status, candidate.owner_pid, candidate.attempt_id) as
        RunRow | undefined;
      if (!row) return undefined;
      const attempt = this.latestAttempt(row);
      if (!attempt) return undefined;
      const snapshot = parseSnapshot(attempt.snapshot);
      snapshot.status = DagRunStatus.Failed;
      snapshot.error = ABANDONED_RUN_ERROR;
      snapshot.finishedAt = finishedAt;
      const nodes: NodeState[] = [...snapshot.nodes, ...Object.values(snapshot.handlers)];
      for (const node of nodes) {
        if (node.status !== NodeStatus.Running) continue;
        node.status = NodeStatus.Failed;
        node.error ||= ABANDONED_RUN_ERROR;
        node.finishedAt ||= finishedAt;
      }
      this.prepare('UPDATE attempts SET status = ?, updated_at = ?, snapshot = ? WHERE id = ?').run(
        snapshot.status,
        now.getTime(),
        JSON.stringify(snapshot),
        attempt.id,
      );
      this.prepare(
        `UPDATE dag_runs SET status = ?, error = ?, finished_at = ?, updated_at = ?,
           claimed_at = NULL WHERE id = ?`,
      ).run(snapshot.status, snapshot.error, finishedAt, now.getTime(), row.id);
      this.prepare('DELETE FROM cancel_requests WHERE name = ? AND dag_run_id = ?').run(
        row.name,
        row.dag_run_id,
      );
      return snapshot;
    });
  }

  // ---- lookups -----------------------------------------------------------------------------------

  private prepare(sql: string) {
    return this.connection.prepare(sql);
  }

  private findRow(run: DagRunSnapshot): RunRow | undefined {
    return run.parent
      ? this.findChild(run.root, run.dagRunId)
      : this.findRoot(run.name, run.dagRunId);
  }

  private findRoot(name: string, dagRunId: string): RunRow | undefined {
    return this.prepare(
      `SELECT ${RUN_COLUMNS} FROM dag_runs r WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1`,
    ).get(name, dagRunId) as RunRow | undefined;
  }

  private findChild(root: DagRunRef, dagRunId: string): RunRow | undefined {
    return this.prepare(
      `SELECT ${RUN_COLUMNS} FROM dag_runs r
       WHERE r.root_name = ? AND r.root_dag_run_id = ? AND r.dag_run_id = ? AND r.is_root = 0`,
    ).get(root.name, root.dagRunId, dagRunId) as RunRow | undefined;
  }

  private latestAttempt(row: RunRow): AttemptRow | undefined {
    return this.prepare(
      'SELECT id, seq, attempt_id, status, snapshot FROM attempts WHERE run = ? AND seq = ?',
    ).get(row.id, row.attempt_seq) as AttemptRow | undefined;
  }
}

/** Which index serves a listing best; decided here so the plan never depends on statistics. */
function chooseIndex(query: RunQuery): string | undefined {
  if (query.dagRunId !== undefined) return 'dag_runs_by_run_id';
  if (query.name !== undefined) return 'dag_runs_by_name';
  if (query.includeChildren) return undefined;
  if (query.statuses?.length === 1) return 'dag_runs_by_status';
  return 'dag_runs_by_time';
}

/** The dag_runs columns that follow the snapshot. */
function runColumns(run: DagRunSnapshot) {
  return {
    status: run.status,
    params: run.params,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    error: run.error,
    log: run.log,
  };
}

function toSummary(row: SummaryRow): DagRunSummary {
  return {
    name: row.name,
    dagRunId: row.dag_run_id,
    attemptId: row.attempt_id,
    root: { name: row.root_name, dagRunId: row.root_dag_run_id },
    parent:
      row.parent_name === null || row.parent_dag_run_id === null
        ? undefined
        : { name: row.parent_name, dagRunId: row.parent_dag_run_id },
    status: row.status as DagRunStatus,
    queuedAt: row.queued_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    log: row.log_path,
    params: row.params,
    error: row.error,
  };
}

function toStoredRun(row: StoredRow): StoredRun {
  return {
    snapshot: parseSnapshot(row.snapshot),
    dag: JSON.parse(row.definition) as Dag,
    trigger: row.trigger as RunTrigger,
    queue: row.queue,
    ownerPid: row.owner_pid ?? undefined,
  };
}

function parseSnapshot(json: string): DagRunSnapshot {
  const snapshot = JSON.parse(json) as DagRunSnapshot;
  snapshot.parent ??= undefined;
  return snapshot;
}

function timeOf(iso: string): number | undefined {
  if (!iso || iso === '-') return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

function parseQueryTime(iso: string, field: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms))
    throw new DaguError('bad_request', `${field} must be an ISO 8601 date-time, got "${iso}"`);
  return ms;
}

/** The snapshot with DAG name `from` replaced by `to`, and log references moved by `moved`. */
function renamedSnapshot(
  snapshot: DagRunSnapshot,
  from: string,
  to: string,
  moved: ((ref: string) => string) | undefined,
): DagRunSnapshot {
  const ref = (r: DagRunRef): DagRunRef => (r.name === from ? { ...r, name: to } : r);
  const path = (file: string): string => (moved ? moved(file) : file);
  const node = (n: NodeState): NodeState => ({
    ...n,
    stdout: path(n.stdout),
    stderr: path(n.stderr),
  });
  const handlers: DagRunSnapshot['handlers'] = {};
  for (const [name, handler] of Object.entries(snapshot.handlers))
    if (handler) handlers[name as keyof typeof handlers] = node(handler);
  return {
    ...snapshot,
    name: snapshot.name === from ? to : snapshot.name,
    root: ref(snapshot.root),
    ...(snapshot.parent ? { parent: ref(snapshot.parent) } : {}),
    log: snapshot.name === from ? path(snapshot.log) : snapshot.log,
    nodes: snapshot.name === from ? snapshot.nodes.map(node) : snapshot.nodes,
    handlers: snapshot.name === from ? handlers : snapshot.handlers,
  };
}

function unknownRun(run: DagRunSnapshot): DaguError {
  return new DaguError(
    'not_found',
    `cannot record an event of ${run.name}/${run.dagRunId} attempt ${run.attemptId}: ` +
      'its run-started event was not recorded in this store',
  );
}

function runNotFound(name: string, dagRunId: string): DaguError {
  return new DaguError('not_found', `dag-run ID ${dagRunId} not found for DAG ${name}`);
}
