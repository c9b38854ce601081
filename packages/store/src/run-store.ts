// Run history on SQLite: core's RunStore (and so the runner's RunRecorder). Every state change is
// written in one transaction; a run row mirrors its latest attempt for listing, each attempt keeps
// the run-level fields of its DagRunSnapshot as JSON, and each of its nodes has a row of its own
// (attempt_nodes): a step's event rewrites that node's row alone, and the attempt and run rows
// only when a run-level field changed, so the cost of an event does not grow with the run.
import { createHash } from 'node:crypto';
import {
  DaguError,
  DagRunStatus,
  FileLogStore,
  HANDLER_NAMES,
  NodeStatus,
  type Dag,
  type DagRunRef,
  type DagRunSnapshot,
  type DagRunSummary,
  type LogStore,
  type HandlerName,
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

/** The longest a step's start waits for another write to ride along with (deferStepStart). */
const STEP_START_DELAY_MS = 50;

/** A run brought in from elsewhere (e.g. Dagu's JSON history) by `importRuns`. */
export interface ImportedRun {
  dag: Dag;
  /** The run's latest attempt. */
  snapshot: DagRunSnapshot;
  trigger: RunTrigger;
  /**
   * The run's earlier attempts, oldest first (copying a SQLite home to PostgreSQL). Only the
   * PostgreSQL store keeps them; the SQLite store imports the latest attempt alone.
   */
  earlierAttempts?: readonly DagRunSnapshot[];
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

/** An attempt's run-level JSON and its row id, from which its whole snapshot is assembled. */
interface SnapshotRow {
  attempt_row: number;
  snapshot: string;
}

interface StoredRow extends RunRow, SnapshotRow {
  definition: string;
}

export interface NodeRow {
  attempt: number;
  slot: number;
  handler: string | null;
  step: string;
  state: string;
}

/**
 * What the recorder knows of an attempt it is writing, so that an event costs one node row: the
 * row ids, each node's slot, and the JSON last written of the run-level fields and of each node.
 */
export interface LiveAttempt {
  runRow: number;
  attemptRow: number;
  runLevel: string;
  slots: Map<NodeState, number>;
  written: Map<number, string>;
}

const RUN_COLUMNS = `r.id, r.name, r.dag_run_id, r.status, r.trigger, r.queue, r.queued_at, r.claimed_at,
  r.owner_pid, r.owner_start, r.owner_host, r.attempt_seq, r.attempt_id`;

/** A run with its latest attempt and definition; `index` forces the index of dag_runs. */
const storedFrom = (index?: string): string => `SELECT ${RUN_COLUMNS}, a.id AS attempt_row,
  a.snapshot, d.definition
  FROM dag_runs r${index ? ` INDEXED BY ${index}` : ''}
  JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
  JOIN dag_definitions d ON d.id = r.definition_id`;

const ORDER = 'ORDER BY r.created_at DESC, r.dag_run_id ASC';

export const SUMMARY_COLUMNS = `r.name, r.dag_run_id, r.attempt_id, r.root_name, r.root_dag_run_id,
  r.parent_name, r.parent_dag_run_id, r.status, r.queued_at, r.started_at, r.finished_at,
  r.log_path, r.params, r.error`;

export interface SummaryRow {
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
  /** Attempts being recorded through this store, by runKey; dropped when their run finishes. */
  private readonly live = new Map<string, LiveAttempt>();
  /** Writes deferred step starts that no other write has carried (deferStepStart). */
  private flushTimer: NodeJS.Timeout | undefined;

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
    const run = event.run;
    const key = runKey(run);
    if (event.type === 'run-started') {
      this.live.delete(key);
      const live = this.connection.write(() =>
        this.recordStart(run, event.dag, event.trigger ?? trigger, now),
      );
      this.live.set(key, live);
      return;
    }
    let live = this.live.get(key);
    if (event.type === 'step-started' && live) {
      this.deferStepStart(live, run, event.node);
      return;
    }
    const runLevel = runLevelJson(run);
    // The node rows this event changes, with their JSON; the whole run when it ends (a node
    // changed without its own event is never lost).
    const nodes = event.type === 'run-finished' ? allNodes(run) : [event.node];
    const changed: Array<{ slot: number; node: NodeState; json: string }> = [];
    try {
      this.connection.write(() => {
        live ??= this.loadLive(run);
        for (const node of nodes) {
          const slot = slotOf(live, run, node);
          const json = nodeStateJson(node);
          if (live.written.get(slot) !== json) changed.push({ slot, node, json });
        }
        for (const { slot, node, json } of changed) {
          const updated = this.prepare(
            'UPDATE attempt_nodes SET status = ?, state = ? WHERE attempt = ? AND slot = ?',
          ).run(node.status, json, live.attemptRow, slot);
          if (updated.changes === 0) throw unknownRun(run);
        }
        if (runLevel !== live.runLevel) {
          const updated = this.prepare(
            'UPDATE attempts SET status = ?, updated_at = ?, snapshot = ? WHERE id = ? AND attempt_id = ?',
          ).run(run.status, now, runLevel, live.attemptRow, run.attemptId);
          if (updated.changes === 0) throw unknownRun(run);
          // Only the latest attempt speaks for the run.
          this.prepare(
            `UPDATE dag_runs SET status = @status, params = @params, updated_at = @now,
               started_at = @startedAt, finished_at = @finishedAt, error = @error, log_path = @log
             WHERE id = @id AND attempt_id = @attemptId`,
          ).run({ ...runColumns(run), now, id: live.runRow, attemptId: run.attemptId });
        }
        if (event.type === 'run-finished')
          this.prepare('DELETE FROM cancel_requests WHERE name = ? AND dag_run_id = ?').run(
            run.name,
            run.dagRunId,
          );
      });
    } catch (error) {
      // What this store believes written may be wrong now: read it again at the next event.
      this.live.delete(key);
      throw error;
    }
    if (event.type === 'run-finished') {
      this.live.delete(key);
      return;
    }
    live!.runLevel = runLevel;
    for (const { slot, json } of changed) live!.written.set(slot, json);
    this.live.set(key, live!);
  }

  /**
   * A step's start rides along with the next write: its log paths follow at once (one commit
   * for both), a process group's record when the step forks. Should nothing follow, a timer
   * writes it within STEP_START_DELAY_MS, so readers in other processes see a running step in
   * well under 250 ms. A start lost in a crash costs nothing: recovery closes the run anyway.
   * Only the node row is written, without touching what the recorder believes written (the
   * state it holds then is written again by the node's next event).
   */
  private deferStepStart(live: LiveAttempt, run: DagRunSnapshot, node: NodeState): void {
    const slot = slotOf(live, run, node);
    const attemptRow = live.attemptRow;
    this.connection.defer(() => {
      this.prepare(
        'UPDATE attempt_nodes SET status = ?, state = ? WHERE attempt = ? AND slot = ?',
      ).run(node.status, nodeStateJson(node), attemptRow, slot);
    });
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      try {
        this.connection.flush();
      } catch {
        // The start stays deferred: the step's next event writes it.
      }
    }, STEP_START_DELAY_MS);
    this.flushTimer.unref();
  }

  /** The recording state of an attempt this store did not start (or forgot after a failure). */
  private loadLive(run: DagRunSnapshot): LiveAttempt {
    const row = this.findRow(run);
    if (!row) throw unknownRun(run);
    const attempt = this.prepare(
      'SELECT id, snapshot FROM attempts WHERE run = ? AND attempt_id = ?',
    ).get(row.id, run.attemptId) as { id: number; snapshot: string } | undefined;
    if (!attempt) throw unknownRun(run);
    const written = new Map<number, string>();
    for (const node of this.prepare('SELECT slot, state FROM attempt_nodes WHERE attempt = ?').all(
      attempt.id,
    ) as Array<{ slot: number; state: string }>)
      written.set(node.slot, node.state);
    return {
      runRow: row.id,
      attemptRow: attempt.id,
      runLevel: attempt.snapshot,
      slots: slotsOf(run),
      written,
    };
  }

  private recordStart(
    run: DagRunSnapshot,
    dag: Dag,
    trigger: RunTrigger | undefined,
    now: number,
  ): LiveAttempt {
    const owner = {
      ownerPid: run.pid > 0 ? run.pid : null,
      ownerStart: run.pid === process.pid ? ownIdentity() : (processStartIdentity(run.pid) ?? ''),
      ownerHost: hostName(),
    };
    const definitionId = this.definitionId(dag);
    const existing = this.findRow(run);
    if (!existing)
      return this.insertRun(run, {
        definitionId,
        trigger: trigger ?? (run.parent ? 'child' : 'cli'),
        queue: dag.queue ?? dag.name,
        now,
        ...owner,
      });
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
    const latest = this.latestAttempt(existing);
    let seq: number;
    let attempt: { attemptRow: number; runLevel: string; written: Map<number, string> };
    if (latest && (latest.attempt_id === run.attemptId || latest.status === DagRunStatus.Queued)) {
      // The same attempt recorded again, or the placeholder attempt of a queued run: replace it.
      seq = latest.seq;
      const runLevel = runLevelJson(stored);
      this.prepare(
        'UPDATE attempts SET attempt_id = ?, status = ?, updated_at = ?, snapshot = ? WHERE id = ?',
      ).run(run.attemptId, run.status, now, runLevel, latest.id);
      attempt = { attemptRow: latest.id, runLevel, written: this.saveNodes(latest.id, stored) };
    } else {
      seq = (latest?.seq ?? 0) + 1;
      attempt = this.insertAttempt(existing.id, seq, stored, now);
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
    return { runRow: existing.id, ...attempt, slots: slotsOf(run) };
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
  ): LiveAttempt {
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
    return { runRow: id, ...this.insertAttempt(id, 1, run, row.now), slots: slotsOf(run) };
  }

  private insertAttempt(
    runId: number,
    seq: number,
    run: DagRunSnapshot,
    now: number,
  ): { attemptRow: number; runLevel: string; written: Map<number, string> } {
    const runLevel = runLevelJson(run);
    const attemptRow = Number(
      this.prepare(
        `INSERT INTO attempts (run, seq, attempt_id, status, created_at, updated_at, snapshot)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(runId, seq, run.attemptId, run.status, now, now, runLevel).lastInsertRowid,
    );
    return { attemptRow, runLevel, written: this.saveNodes(attemptRow, run, { fresh: true }) };
  }

  /** Writes every node row of an attempt anew; returns the state JSON written for each slot. */
  private saveNodes(
    attemptRow: number,
    run: DagRunSnapshot,
    options: { fresh?: boolean } = {},
  ): Map<number, string> {
    // A new attempt has no rows yet: imports of many runs skip the delete.
    if (!options.fresh) this.prepare('DELETE FROM attempt_nodes WHERE attempt = ?').run(attemptRow);
    const insert = this.prepare(
      `INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const written = new Map<number, string>();
    const save = (slot: number, handler: string | null, node: NodeState): void => {
      const state = nodeStateJson(node);
      insert.run(attemptRow, slot, handler, node.status, JSON.stringify(node.step), state);
      written.set(slot, state);
    };
    run.nodes.forEach((node, index) => save(index, null, node));
    for (const name of HANDLER_NAMES) {
      const node = run.handlers[name];
      if (node) save(handlerSlot(name), name, node);
    }
    return written;
  }

  /** Whole snapshots of attempts from their run-level JSON and their node rows. */
  private assemble(rows: readonly SnapshotRow[]): DagRunSnapshot[] {
    if (rows.length === 0) return [];
    const nodes = new Map<number, NodeRow[]>();
    const found = (
      rows.length === 1
        ? this.prepare(
            'SELECT attempt, slot, handler, step, state FROM attempt_nodes WHERE attempt = ? ORDER BY slot',
          ).all(rows[0]!.attempt_row)
        : this.prepare(
            `SELECT attempt, slot, handler, step, state FROM attempt_nodes
             WHERE attempt IN (SELECT value FROM json_each(?)) ORDER BY attempt, slot`,
          ).all(JSON.stringify(rows.map((row) => row.attempt_row)))
    ) as NodeRow[];
    for (const node of found) {
      let list = nodes.get(node.attempt);
      if (!list) nodes.set(node.attempt, (list = []));
      list.push(node);
    }
    return rows.map((row) => {
      const snapshot = parseSnapshot(row.snapshot);
      snapshot.nodes = [];
      snapshot.handlers = {};
      for (const node of nodes.get(row.attempt_row) ?? []) {
        const state: NodeState = {
          step: JSON.parse(node.step) as NodeState['step'],
          ...(JSON.parse(node.state) as Omit<NodeState, 'step'>),
        };
        if (node.handler === null) snapshot.nodes.push(state);
        else snapshot.handlers[node.handler as HandlerName] = state;
      }
      return snapshot;
    });
  }

  private assembleOne(row: SnapshotRow): DagRunSnapshot {
    return this.assemble([row])[0]!;
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
    return row && this.toStoredRun(row);
  }

  async getLatestRun(name: string): Promise<StoredRun | undefined> {
    const row = this.prepare(
      `${storedFrom('dag_runs_by_name')} WHERE r.name = ? AND r.is_root = 1 ${ORDER} LIMIT 1`,
    ).get(name) as StoredRow | undefined;
    return row && this.toStoredRun(row);
  }

  async getChildRun(root: DagRunRef, childDagRunId: string): Promise<StoredRun | undefined> {
    const row = this.prepare(
      `${storedFrom()} WHERE r.root_name = ? AND r.root_dag_run_id = ? AND r.dag_run_id = ?
         AND r.is_root = 0`,
    ).get(root.name, root.dagRunId, childDagRunId) as StoredRow | undefined;
    return row && this.toStoredRun(row);
  }

  /** Every child (and grandchild) run of a root run, oldest first. */
  async listChildRuns(root: DagRunRef): Promise<DagRunSnapshot[]> {
    const rows = this.prepare(
      `SELECT a.id AS attempt_row, a.snapshot FROM dag_runs r
         JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
       WHERE r.root_name = ? AND r.root_dag_run_id = ? AND r.is_root = 0
       ORDER BY r.created_at, r.id`,
    ).all(root.name, root.dagRunId) as SnapshotRow[];
    return this.assemble(rows);
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    const page = this.page(
      query,
      `SELECT a.id AS attempt_row, a.snapshot FROM dag_runs r{index}
         JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq`,
      (row: SnapshotRow) => row,
    );
    return { runs: this.assemble(page.runs), total: page.total };
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
      `SELECT a.id AS attempt_row, a.snapshot FROM dag_runs r JOIN attempts a ON a.run = r.id
       WHERE r.name = ? AND r.dag_run_id = ? AND r.is_root = 1 ORDER BY a.seq`,
    ).all(name, dagRunId) as SnapshotRow[];
    return this.assemble(rows);
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
      const snapshot = this.assembleOne({ attempt_row: attempt.id, snapshot: attempt.snapshot });
      const index = snapshot.nodes.findLastIndex((n) => n.step.name === stepName);
      const node = snapshot.nodes[index];
      if (!node) throw new DaguError('not_found', `step ${stepName} not found in DAG ${row.name}`);
      node.status = status;
      this.prepare(
        'UPDATE attempt_nodes SET status = ?, state = ? WHERE attempt = ? AND slot = ?',
      ).run(status, nodeStateJson(node), attempt.id, index);
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

  /** Writes the run-level fields of an attempt (its node rows are written on their own). */
  private saveAttempt(
    runId: number,
    attemptId: number,
    snapshot: DagRunSnapshot,
    now: number,
  ): void {
    this.prepare('UPDATE attempts SET status = ?, updated_at = ?, snapshot = ? WHERE id = ?').run(
      snapshot.status,
      now,
      runLevelJson(snapshot),
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
        const attempts = this.prepare(
          'SELECT id AS attempt_row, snapshot FROM attempts WHERE run = ?',
        ).all(run.id) as SnapshotRow[];
        this.assemble(attempts).forEach((snapshot, index) => {
          const attemptRow = attempts[index]!.attempt_row;
          const renamed = rewrite(snapshot);
          this.prepare('UPDATE attempts SET snapshot = ? WHERE id = ?').run(
            runLevelJson(renamed),
            attemptRow,
          );
          this.saveNodes(attemptRow, renamed);
        });
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
          const attempts = this.prepare(
            'SELECT id AS attempt_row, snapshot FROM attempts WHERE run = ?',
          ).all(run.id) as SnapshotRow[];
          for (const attempt of this.assemble(attempts)) doomed.push(attempt);
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
      const snapshot = this.assembleOne({ attempt_row: attempt.id, snapshot: attempt.snapshot });
      snapshot.status = DagRunStatus.Failed;
      snapshot.error = ABANDONED_RUN_ERROR;
      snapshot.finishedAt = finishedAt;
      const slots = slotsOf(snapshot);
      for (const node of allNodes(snapshot)) {
        if (node.status !== NodeStatus.Running) continue;
        node.status = NodeStatus.Failed;
        node.error ||= ABANDONED_RUN_ERROR;
        node.finishedAt ||= finishedAt;
        this.prepare(
          'UPDATE attempt_nodes SET status = ?, state = ? WHERE attempt = ? AND slot = ?',
        ).run(node.status, nodeStateJson(node), attempt.id, slots.get(node));
      }
      this.prepare('UPDATE attempts SET status = ?, updated_at = ?, snapshot = ? WHERE id = ?').run(
        snapshot.status,
        now.getTime(),
        runLevelJson(snapshot),
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

  private toStoredRun(row: StoredRow): StoredRun {
    return {
      snapshot: this.assembleOne(row),
      dag: JSON.parse(row.definition) as Dag,
      trigger: row.trigger as RunTrigger,
      queue: row.queue,
      ownerPid: row.owner_pid ?? undefined,
    };
  }

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
export function runColumns(run: DagRunSnapshot) {
  return {
    status: run.status,
    params: run.params,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    error: run.error,
    log: run.log,
  };
}

export function toSummary(row: SummaryRow): DagRunSummary {
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

/** The run-level fields of a snapshot, as the attempt row keeps them. */
export function runLevelJson(run: DagRunSnapshot): string {
  const { nodes: _nodes, handlers: _handlers, ...runLevel } = run;
  return JSON.stringify(runLevel);
}

/** A node row's state: the NodeState without its step (written once with the row). */
export function nodeStateJson(node: NodeState): string {
  const { step: _step, ...state } = node;
  return JSON.stringify(state);
}

export function handlerSlot(name: HandlerName): number {
  return HANDLER_NAMES.indexOf(name) - HANDLER_NAMES.length;
}

export function allNodes(run: DagRunSnapshot): NodeState[] {
  return [...run.nodes, ...Object.values(run.handlers)];
}

/** Each node of a snapshot (handlers included) with its row's slot. */
export function slotsOf(run: DagRunSnapshot): Map<NodeState, number> {
  const slots = new Map<NodeState, number>();
  run.nodes.forEach((node, index) => slots.set(node, index));
  for (const name of HANDLER_NAMES) {
    const node = run.handlers[name];
    if (node) slots.set(node, handlerSlot(name));
  }
  return slots;
}

/** The slot of an event's node; a node object the attempt did not start with is found by place. */
export function slotOf(live: LiveAttempt, run: DagRunSnapshot, node: NodeState): number {
  let slot = live.slots.get(node);
  if (slot === undefined) {
    live.slots = slotsOf(run);
    slot = live.slots.get(node);
  }
  // An event that crossed a process boundary (a worker's report, parsed from JSON) carries
  // copies of the nodes: find the node by its step's name, unique within a run.
  if (slot === undefined) slot = slotByName(run, node.step.name);
  if (slot === undefined)
    throw new DaguError(
      'internal_error',
      `step ${node.step.name} is not a node of ${run.name}/${run.dagRunId}`,
    );
  return slot;
}

function slotByName(run: DagRunSnapshot, stepName: string): number | undefined {
  const index = run.nodes.findIndex((candidate) => candidate.step.name === stepName);
  if (index >= 0) return index;
  const handler = HANDLER_NAMES.find((name) => run.handlers[name]?.step.name === stepName);
  return handler === undefined ? undefined : handlerSlot(handler);
}

/** Identifies a run across the recorder's events (a child run by its root). */
export function runKey(run: DagRunSnapshot): string {
  const { root, name, dagRunId, attemptId } = run;
  return `${root.name}\u0000${root.dagRunId}\u0000${name}\u0000${dagRunId}\u0000${attemptId}`;
}

export function parseSnapshot(json: string): DagRunSnapshot {
  const snapshot = JSON.parse(json) as DagRunSnapshot;
  snapshot.parent ??= undefined;
  return snapshot;
}

export function timeOf(iso: string): number | undefined {
  if (!iso || iso === '-') return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

export function parseQueryTime(iso: string, field: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms))
    throw new DaguError('bad_request', `${field} must be an ISO 8601 date-time, got "${iso}"`);
  return ms;
}

/** The snapshot with DAG name `from` replaced by `to`, and log references moved by `moved`. */
export function renamedSnapshot(
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

export function unknownRun(run: DagRunSnapshot): DaguError {
  return new DaguError(
    'not_found',
    `cannot record an event of ${run.name}/${run.dagRunId} attempt ${run.attemptId}: ` +
      'its run-started event was not recorded in this store',
  );
}

export function runNotFound(name: string, dagRunId: string): DaguError {
  return new DaguError('not_found', `dag-run ID ${dagRunId} not found for DAG ${name}`);
}
