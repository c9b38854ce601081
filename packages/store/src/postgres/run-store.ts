// Run history on PostgreSQL: core's RunStore, the same rows as the SQLite store (a run row that
// mirrors its latest attempt, the attempt's run-level JSON, one row per node) so that a step's
// event writes one node row. Ownership is an owner id whose lease lives in store_owners: a
// server on another machine cannot test a pid, it tests the lease.
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
  type HandlerName,
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
import { hostName, isOwnerAlive, ownIdentity, processStartIdentity } from '../process-identity.js';
import {
  ABANDONED_RUN_ERROR,
  SUMMARY_COLUMNS,
  allNodes,
  handlerSlot,
  nodeStateJson,
  parseQueryTime,
  parseSnapshot,
  renamedSnapshot,
  runKey,
  runLevelJson,
  runNotFound,
  slotOf,
  slotsOf,
  timeOf,
  toSummary,
  unknownRun,
  type ImportedRun,
  type LiveAttempt,
  type NodeRow,
  type SummaryRow,
} from '../run-store.js';
import { prepared, type PgConnection, type Queryable } from './connection.js';
import { CHANGES_CHANNEL, notifyRunEndedSql } from './notify.js';
import { endOwnedStepGroups } from './stores.js';

/** How long an owner may go without a heartbeat before its runs count as abandoned. */
export const DEFAULT_LEASE_MS = 30_000;

export interface PgRunStoreOptions {
  now?: () => Date;
  logs?: LogStore;
  /** This process's owner id (store_owners). */
  ownerId: string;
  leaseMs?: number;
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
  owner_id: string | null;
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

interface SnapshotRow {
  attempt_row: number;
  snapshot: string;
}

interface StoredRow extends RunRow, SnapshotRow {
  definition: string;
  node_slots: number[] | null;
  node_handlers: Array<string | null> | null;
  node_steps: string[] | null;
  node_states: string[] | null;
}

const RUN_COLUMNS = `r.id, r.name, r.dag_run_id, r.status, r.trigger, r.queue, r.queued_at, r.claimed_at,
  r.owner_id, r.owner_pid, r.owner_start, r.owner_host, r.attempt_seq, r.attempt_id`;

// A run with its latest attempt, its node rows (as arrays) and its definition: one round trip.
const STORED_FROM = `SELECT ${RUN_COLUMNS}, a.id AS attempt_row, a.snapshot, d.definition,
    n.node_slots, n.node_handlers, n.node_steps, n.node_states
  FROM dag_runs r
  JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
  JOIN dag_definitions d ON d.id = r.definition_id
  LEFT JOIN LATERAL (
    SELECT array_agg(slot ORDER BY slot) AS node_slots,
      array_agg(handler ORDER BY slot) AS node_handlers,
      array_agg(step ORDER BY slot) AS node_steps, array_agg(state ORDER BY slot) AS node_states
    FROM attempt_nodes WHERE attempt = a.id) n ON true`;

const ORDER = 'ORDER BY r.created_at DESC, r.dag_run_id ASC';

/** `$1, $2, …` placeholders from a running counter. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export class PgRunStore implements RunStore {
  private readonly db: PgConnection;
  private readonly now: () => Date;
  private readonly logs: LogStore;
  private readonly ownerId: string;
  private readonly leaseMs: number;
  private readonly live = new Map<string, LiveAttempt>();
  /** Each recording run's last write, settled: the next event's write waits for it. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(db: PgConnection, options: PgRunStoreOptions) {
    this.db = db;
    this.now = options.now ?? (() => new Date());
    this.logs = options.logs ?? new FileLogStore('');
    this.ownerId = options.ownerId;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  // ---- recording (RunRecorder) -----------------------------------------------------------------

  async record(event: RunEvent): Promise<void> {
    await this.recordEvent(event, undefined);
  }

  /** A RunRecorder whose new runs carry `trigger`. */
  recorder(trigger: RunTrigger): RunRecorder {
    return { record: async (event) => this.recordEvent(event, trigger) };
  }

  /**
   * Writes a run's events one after the other, in order. A step that starts running (its start,
   * then its log paths) is written behind: the runner forks the step without waiting for the
   * database, and readers see it running a round trip later. Should that write fail, the
   * step's next event writes its state again (the recorder forgets what it believed written).
   * A crash before it lands loses nothing a reader saw; recovery closes the run.
   */
  private recordEvent(event: RunEvent, trigger: RunTrigger | undefined): Promise<void> {
    const key = runKey(event.run);
    const previous = this.writing.get(key);
    const write = previous
      ? previous.then(() => this.writeEvent(event, trigger))
      : this.writeEvent(event, trigger);
    const settled: Promise<void> = write
      .catch(() => undefined)
      .finally(() => {
        if (this.writing.get(key) === settled) this.writing.delete(key);
      });
    this.writing.set(key, settled);
    const runningStep =
      (event.type === 'step-started' || event.type === 'step-updated') &&
      event.node.status === NodeStatus.Running;
    return runningStep ? Promise.resolve() : write;
  }

  private async writeEvent(event: RunEvent, trigger: RunTrigger | undefined): Promise<void> {
    const now = this.now().getTime();
    const run = event.run;
    const key = runKey(run);
    if (event.type === 'run-started') {
      this.live.delete(key);
      // Copy what is kept: the runner goes on changing the live snapshot.
      const started = JSON.parse(JSON.stringify(run)) as DagRunSnapshot;
      const live = await this.recordStart(started, event.dag, event.trigger ?? trigger, now);
      live.slots = slotsOf(run);
      this.live.set(key, live);
      return;
    }
    let live = this.live.get(key);
    const runLevel = runLevelJson(run);
    const nodes = event.type === 'run-finished' ? allNodes(run) : [event.node];
    const changed: Array<{ slot: number; node: NodeState; json: string }> = [];
    try {
      live ??= await this.loadLive(this.db, run);
      for (const node of nodes) {
        const slot = slotOf(live, run, node);
        const json = nodeStateJson(node);
        if (live.written.get(slot) !== json) changed.push({ slot, node, json });
      }
      const runChanged = runLevel !== live.runLevel;
      const finished = event.type === 'run-finished';
      const target = live;
      const write = async (q: Queryable): Promise<void> => {
        for (const { slot, node, json } of changed) {
          const updated = await q.query(
            prepared(
              'UPDATE attempt_nodes SET status = $1, state = $2 WHERE attempt = $3 AND slot = $4',
            ),
            [node.status, json, target.attemptRow, slot],
          );
          if (updated.rowCount === 0) throw unknownRun(run);
        }
        if (runChanged) {
          const updated = await q.query(
            prepared(`UPDATE attempts SET status = $1, updated_at = $2, snapshot = $3
             WHERE id = $4 AND attempt_id = $5`),
            [run.status, now, runLevel, target.attemptRow, run.attemptId],
          );
          if (updated.rowCount === 0) throw unknownRun(run);
          await q.query(
            prepared(`UPDATE dag_runs SET status = $1, params = $2, updated_at = $3, started_at = $4,
               finished_at = $5, error = $6, log_path = $7
             WHERE id = $8 AND attempt_id = $9`),
            [
              run.status,
              run.params,
              now,
              run.startedAt,
              run.finishedAt,
              run.error,
              run.log,
              target.runRow,
              run.attemptId,
            ],
          );
        }
        if (finished) {
          await q.query(
            prepared('DELETE FROM cancel_requests WHERE name = $1 AND dag_run_id = $2'),
            [run.name, run.dagRunId],
          );
          // Its queue slot is free for every server.
          await q.query(prepared(notifyRunEndedSql('$1', '$2', '$3')), [
            CHANGES_CHANNEL,
            this.ownerId,
            target.runRow,
          ]);
        }
      };
      // A step's event is one statement: no transaction round trips for it.
      if (changed.length + (runChanged ? 2 : 0) + (finished ? 2 : 0) <= 1) await write(this.db);
      else await this.db.tx(write);
    } catch (error) {
      this.live.delete(key);
      throw error;
    }
    if (event.type === 'run-finished') {
      this.live.delete(key);
      return;
    }
    live.runLevel = runLevel;
    for (const { slot, json } of changed) live.written.set(slot, json);
    this.live.set(key, live);
  }

  private async loadLive(q: Queryable, run: DagRunSnapshot): Promise<LiveAttempt> {
    const row = await this.findRow(q, run);
    if (!row) throw unknownRun(run);
    const attempt = (
      await q.query<{ id: number; snapshot: string }>(
        'SELECT id, snapshot FROM attempts WHERE run = $1 AND attempt_id = $2',
        [row.id, run.attemptId],
      )
    ).rows[0];
    if (!attempt) throw unknownRun(run);
    const written = new Map<number, string>();
    const nodes = await q.query<{ slot: number; state: string }>(
      'SELECT slot, state FROM attempt_nodes WHERE attempt = $1',
      [attempt.id],
    );
    for (const node of nodes.rows) written.set(node.slot, node.state);
    return {
      runRow: row.id,
      attemptRow: attempt.id,
      runLevel: attempt.snapshot,
      slots: slotsOf(run),
      written,
    };
  }

  private async recordStart(
    run: DagRunSnapshot,
    dag: Dag,
    trigger: RunTrigger | undefined,
    now: number,
  ): Promise<LiveAttempt> {
    const owner: RunOwner = {
      ownerId: this.ownerId,
      ownerPid: run.pid > 0 ? run.pid : null,
      ownerStart: run.pid === process.pid ? ownIdentity() : (processStartIdentity(run.pid) ?? ''),
      ownerHost: hostName(),
    };
    const definition = definitionOf(dag);
    return (
      (await this.startQueued(run, definition, owner, now)) ??
      this.db.tx((q) =>
        this.startAny(
          q,
          run,
          definition,
          owner,
          trigger ?? (run.parent ? 'child' : 'cli'),
          dag,
          now,
        ),
      )
    );
  }

  /**
   * The common start, one statement without a transaction: a run still queued with the
   * definition it was queued with turns its placeholder attempt into the running one.
   * undefined when the run is not in that state; startAny decides then.
   */
  private async startQueued(
    run: DagRunSnapshot,
    definition: Definition,
    owner: RunOwner,
    now: number,
  ): Promise<LiveAttempt | undefined> {
    if (!run.queuedAt) return undefined;
    const where = runWhere(run);
    const p = new Params();
    for (const value of where.values) p.add(value);
    const runLevel = runLevelJson(run);
    const start = startParams(p, run, runLevel, now);
    const queued = p.add(DagRunStatus.Queued);
    const { rows } = await this.db.query<{ attempt_row: number; run_row: number }>(
      prepared(`WITH target AS (
         SELECT a.id FROM dag_runs r
         JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
         JOIN dag_definitions d ON d.id = r.definition_id
         WHERE ${where.sql} AND r.status = ${queued} AND a.status = ${queued}
           AND d.hash = ${p.add(definition.hash)}
         FOR UPDATE OF r),
       attempt AS (
         UPDATE attempts SET attempt_id = ${start.attemptId}, status = ${start.status},
           updated_at = ${start.at}, snapshot = ${start.snapshot}
         FROM target WHERE attempts.id = target.id
         RETURNING attempts.id, attempts.run, attempts.seq),
       ${startTail(p, run, start, owner, 'dag_runs.definition_id')}`),
      p.values,
    );
    if (!rows[0]) return undefined;
    return {
      runRow: rows[0].run_row,
      attemptRow: rows[0].attempt_row,
      runLevel,
      written: start.nodes.written,
      slots: slotsOf(run),
    };
  }

  /** Any start: a new run, a new attempt of a finished one, or the same attempt again. */
  private async startAny(
    q: Queryable,
    run: DagRunSnapshot,
    definition: Definition,
    owner: RunOwner,
    trigger: RunTrigger,
    dag: Dag,
    now: number,
  ): Promise<LiveAttempt> {
    // The run, its definition's hash and its latest attempt in one locked read.
    const where = runWhere(run);
    const existing = (
      await q.query<StartRow>(
        prepared(`SELECT ${RUN_COLUMNS}, r.definition_id, d.hash AS definition_hash,
           a.id AS latest_id, a.seq AS latest_seq, a.attempt_id AS latest_attempt_id,
           a.status AS latest_status
         FROM dag_runs r JOIN dag_definitions d ON d.id = r.definition_id
         LEFT JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
         WHERE ${where.sql} FOR UPDATE OF r`),
        where.values,
      )
    ).rows[0];
    if (!existing)
      return this.insertRun(q, run, {
        definitionId: await this.definitionId(q, definition),
        trigger,
        queue: dag.queue ?? dag.name,
        now,
        ...owner,
      });
    // A new attempt while another live owner executes the run is refused.
    if (
      existing.status === DagRunStatus.Running &&
      existing.attempt_id !== run.attemptId &&
      existing.owner_id !== null &&
      existing.owner_id !== this.ownerId &&
      (await this.ownerAlive(q, existing.owner_id))
    )
      throw new DaguError(
        'already_running',
        `dag-run ID ${run.dagRunId} of DAG ${run.name} is already running (owner ${existing.owner_id})`,
      );
    const definitionId =
      existing.definition_hash === definition.hash
        ? existing.definition_id
        : await this.definitionId(q, definition);
    const stored = { ...run, queuedAt: run.queuedAt || existing.queued_at };
    const runLevel = runLevelJson(stored);
    const reuse =
      existing.latest_id !== null &&
      (existing.latest_attempt_id === run.attemptId ||
        existing.latest_status === DagRunStatus.Queued);
    const p = new Params();
    const start = startParams(p, stored, runLevel, now);
    // The attempt: reused (a queued run's placeholder or the same attempt again), else new.
    const attempt = reuse
      ? `UPDATE attempts SET attempt_id = ${start.attemptId}, status = ${start.status},
           updated_at = ${start.at}, snapshot = ${start.snapshot}
         WHERE id = ${p.add(existing.latest_id)} RETURNING id, run, seq`
      : `INSERT INTO attempts (run, seq, attempt_id, status, created_at, updated_at, snapshot)
         VALUES (${p.add(existing.id)}, ${p.add((existing.latest_seq ?? 0) + 1)},
           ${start.attemptId}, ${start.status}, ${start.at}, ${start.at}, ${start.snapshot})
         RETURNING id, run, seq`;
    const { rows } = await q.query<{ attempt_row: number }>(
      prepared(`WITH attempt AS (${attempt}),
       ${startTail(p, stored, start, owner, p.add(definitionId))}`),
      p.values,
    );
    return {
      runRow: existing.id,
      attemptRow: rows[0]!.attempt_row,
      runLevel,
      written: start.nodes.written,
      slots: slotsOf(run),
    };
  }

  /** Inserts a run with its first attempt and node rows, in one statement. */
  private async insertRun(
    q: Queryable,
    run: DagRunSnapshot,
    row: {
      definitionId: number;
      trigger: RunTrigger;
      queue: string;
      now: number;
      ownerId: string | null;
      ownerPid: number | null;
      ownerStart: string | null;
      ownerHost: string | null;
    },
  ): Promise<LiveAttempt> {
    const createdAt =
      timeOf(run.queuedAt) ?? timeOf(run.startedAt) ?? timeOf(run.finishedAt) ?? row.now;
    const runLevel = runLevelJson(run);
    const nodes = nodeColumns(run);
    const { rows } = await q.query<{ run_row: number; attempt_row: number }>(
      prepared(`WITH run AS (
         INSERT INTO dag_runs (name, dag_run_id, is_root, root_name, root_dag_run_id, parent_name,
           parent_dag_run_id, status, params, trigger, queue, created_at, updated_at, queued_at,
           started_at, finished_at, owner_id, owner_pid, owner_start, owner_host, definition_id,
           attempt_seq, attempt_id, error, log_path)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
           $19, $20, $21, 1, $22, $23, $24)
         RETURNING id),
       attempt AS (
         INSERT INTO attempts (run, seq, attempt_id, status, created_at, updated_at, snapshot)
         SELECT run.id, 1, $22, $8, $13, $13, $25 FROM run
         RETURNING id, run),
       node_rows AS (
         INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
         SELECT attempt.id, n.* FROM attempt,
           unnest($26::int[], $27::text[], $28::int[], $29::text[], $30::text[]) AS n)
       SELECT run AS run_row, id AS attempt_row FROM attempt`),
      [
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
        row.ownerId,
        row.ownerPid,
        row.ownerStart,
        row.ownerHost,
        row.definitionId,
        run.attemptId,
        run.error,
        run.log,
        runLevel,
        nodes.slots,
        nodes.handlers,
        nodes.statuses,
        nodes.steps,
        nodes.states,
      ],
    );
    return {
      runRow: rows[0]!.run_row,
      attemptRow: rows[0]!.attempt_row,
      runLevel,
      written: nodes.written,
      slots: slotsOf(run),
    };
  }

  /** An earlier attempt of an imported run with its node rows (one statement). */
  private async insertAttempt(
    q: Queryable,
    runId: number,
    seq: number,
    run: DagRunSnapshot,
    now: number,
  ): Promise<void> {
    const nodes = nodeColumns(run);
    await q.query(
      `WITH attempt AS (
         INSERT INTO attempts (run, seq, attempt_id, status, created_at, updated_at, snapshot)
         VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id)
       INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
       SELECT attempt.id, n.* FROM attempt,
         unnest($7::int[], $8::text[], $9::int[], $10::text[], $11::text[]) AS n`,
      [
        runId,
        seq,
        run.attemptId,
        run.status,
        now,
        runLevelJson(run),
        nodes.slots,
        nodes.handlers,
        nodes.statuses,
        nodes.steps,
        nodes.states,
      ],
    );
  }

  /** Writes every node row of an attempt anew. */
  private async saveNodes(q: Queryable, attemptRow: number, run: DagRunSnapshot): Promise<void> {
    const nodes = nodeColumns(run);
    await q.query('DELETE FROM attempt_nodes WHERE attempt = $1', [attemptRow]);
    await q.query(
      `INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[])`,
      [attemptRow, nodes.slots, nodes.handlers, nodes.statuses, nodes.steps, nodes.states],
    );
  }

  private async assemble(q: Queryable, rows: readonly SnapshotRow[]): Promise<DagRunSnapshot[]> {
    if (rows.length === 0) return [];
    const found = await q.query<NodeRow>(
      `SELECT attempt, slot, handler, step, state FROM attempt_nodes
       WHERE attempt = ANY($1::bigint[]) ORDER BY attempt, slot`,
      [rows.map((row) => row.attempt_row)],
    );
    const nodes = new Map<number, NodeRow[]>();
    for (const node of found.rows) {
      let list = nodes.get(node.attempt);
      if (!list) nodes.set(node.attempt, (list = []));
      list.push(node);
    }
    return rows.map((row) => snapshotOf(row.snapshot, nodes.get(row.attempt_row) ?? []));
  }

  private async assembleOne(q: Queryable, row: SnapshotRow): Promise<DagRunSnapshot> {
    return (await this.assemble(q, [row]))[0]!;
  }

  /** The id of a stored definition, inserted when new (one statement). */
  private async definitionId(q: Queryable, definition: Definition): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      // Two servers may store the same definition at once: the conflict waits for the other's
      // row, which this statement's snapshot may not show yet; the next statement's does.
      const { rows } = await q.query<{ id: number }>(
        prepared(`WITH inserted AS (
           INSERT INTO dag_definitions (hash, definition) VALUES ($1, $2)
           ON CONFLICT (hash) DO NOTHING RETURNING id)
         SELECT id FROM inserted
         UNION ALL SELECT id FROM dag_definitions WHERE hash = $1
         LIMIT 1`),
        [definition.hash, definition.json],
      );
      if (rows[0]) return rows[0].id;
      if (attempt > 0)
        throw new DaguError('internal_error', 'PostgreSQL store: a DAG definition vanished');
    }
  }

  // ---- creating and importing ------------------------------------------------------------------

  async createQueuedRun(input: {
    dag: Dag;
    snapshot: DagRunSnapshot;
    trigger: RunTrigger;
  }): Promise<void> {
    const { dag, snapshot, trigger } = input;
    const now = this.now().getTime();
    try {
      // Two statements, no transaction: a definition without a run is harmless (retention
      // removes orphans), and the run with its attempt and nodes is one statement.
      await this.insertRun(this.db, snapshot, {
        definitionId: await this.definitionId(this.db, definitionOf(dag)),
        trigger,
        queue: dag.queue ?? dag.name,
        now,
        ownerId: null,
        ownerPid: null,
        ownerStart: null,
        ownerHost: null,
      });
    } catch (error) {
      // The run exists already (perhaps created by another server at the same moment).
      if (isUniqueViolation(error)) throw alreadyExists(snapshot);
      throw error;
    }
  }

  /**
   * Inserts finished history in one transaction; runs the DAG already has are skipped. Root runs
   * go in bulk (a few statements per call, however many runs: imports of long histories);
   * child runs one by one.
   */
  async importRuns(runs: readonly ImportedRun[]): Promise<number> {
    const now = this.now().getTime();
    return this.db.tx(async (q) => {
      const definitions = new Map<Dag, number>();
      const definitionIdOf = async (dag: Dag): Promise<number> => {
        let id = definitions.get(dag);
        if (id === undefined)
          definitions.set(dag, (id = await this.definitionId(q, definitionOf(dag))));
        return id;
      };
      const roots = runs.filter((run) => !run.snapshot.parent);
      let inserted = await this.importRoots(q, roots, definitionIdOf, now);
      for (const { dag, snapshot, trigger } of runs) {
        if (!snapshot.parent || (await this.findRow(q, snapshot))) continue;
        await this.insertRun(q, snapshot, {
          definitionId: await definitionIdOf(dag),
          trigger,
          queue: dag.queue ?? dag.name,
          now,
          ownerId: null,
          ownerPid: null,
          ownerStart: null,
          ownerHost: null,
        });
        inserted++;
      }
      for (const run of runs)
        if (run.earlierAttempts?.length)
          await this.importEarlierAttempts(q, run.snapshot, run.earlierAttempts, now);
      return inserted;
    });
  }

  /**
   * Puts a run's earlier attempts before its latest one, once: a run that has more than one
   * attempt already (imported before, or retried since) is left as it is.
   */
  private async importEarlierAttempts(
    q: Queryable,
    latest: DagRunSnapshot,
    earlier: readonly DagRunSnapshot[],
    now: number,
  ): Promise<void> {
    const row = await this.findRow(q, latest, { lock: true });
    if (!row) return;
    const { rows } = await q.query<{ id: number; n: number }>(
      'SELECT MAX(id) AS id, COUNT(*)::int AS n FROM attempts WHERE run = $1',
      [row.id],
    );
    if (rows[0]?.n !== 1) return;
    const seq = earlier.length + 1;
    await q.query('UPDATE attempts SET seq = $1 WHERE id = $2', [seq, rows[0].id]);
    await q.query('UPDATE dag_runs SET attempt_seq = $1 WHERE id = $2', [seq, row.id]);
    for (const [index, attempt] of earlier.entries())
      await this.insertAttempt(q, row.id, index + 1, attempt, now);
  }

  private async importRoots(
    q: Queryable,
    roots: readonly ImportedRun[],
    definitionOf: (dag: Dag) => Promise<number>,
    now: number,
  ): Promise<number> {
    if (roots.length === 0) return 0;
    const key = (name: string, id: string): string => `${name}\u0000${id}`;
    const { rows: known } = await q.query<{ name: string; dag_run_id: string }>(
      `SELECT name, dag_run_id FROM dag_runs
       WHERE is_root = 1 AND (name, dag_run_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [roots.map((run) => run.snapshot.name), roots.map((run) => run.snapshot.dagRunId)],
    );
    const skip = new Set(known.map((row) => key(row.name, row.dag_run_id)));
    const fresh: ImportedRun[] = [];
    for (const run of roots) {
      const k = key(run.snapshot.name, run.snapshot.dagRunId);
      if (skip.has(k)) continue;
      skip.add(k);
      fresh.push(run);
    }
    if (fresh.length === 0) return 0;
    const column = <T>(pick: (run: ImportedRun) => T): T[] => fresh.map(pick);
    const definitionIds: number[] = [];
    for (const run of fresh) definitionIds.push(await definitionOf(run.dag));
    const { rows: runRows } = await q.query<{ id: number; name: string; dag_run_id: string }>(
      `INSERT INTO dag_runs (name, dag_run_id, is_root, root_name, root_dag_run_id, status, params,
         trigger, queue, created_at, updated_at, queued_at, started_at, finished_at,
         definition_id, attempt_seq, attempt_id, error, log_path)
       SELECT t.name, t.id, 1, t.name, t.id, t.status, t.params, t.trigger, t.queue, t.created,
         $14, t.queued, t.started, t.finished, t.definition, 1, t.attempt, t.error, t.log
       FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[],
         $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[],
         $13::text[], $15::text[])
         AS t(name, id, status, params, trigger, queue, created, queued, started, finished,
           definition, attempt, error, log)
       RETURNING id, name, dag_run_id`,
      [
        column((run) => run.snapshot.name),
        column((run) => run.snapshot.dagRunId),
        column((run) => run.snapshot.status),
        column((run) => run.snapshot.params),
        column((run) => run.trigger),
        column((run) => run.dag.queue ?? run.dag.name),
        column(
          ({ snapshot }) =>
            timeOf(snapshot.queuedAt) ??
            timeOf(snapshot.startedAt) ??
            timeOf(snapshot.finishedAt) ??
            now,
        ),
        column((run) => run.snapshot.queuedAt),
        column((run) => run.snapshot.startedAt),
        column((run) => run.snapshot.finishedAt),
        definitionIds,
        column((run) => run.snapshot.attemptId),
        column((run) => run.snapshot.error),
        now,
        column((run) => run.snapshot.log),
      ],
    );
    const runIdOf = new Map(runRows.map((row) => [key(row.name, row.dag_run_id), row.id]));
    const runIds = column((run) => runIdOf.get(key(run.snapshot.name, run.snapshot.dagRunId))!);
    const { rows: attemptRows } = await q.query<{ id: number; run: number }>(
      `INSERT INTO attempts (run, seq, attempt_id, status, created_at, updated_at, snapshot)
       SELECT t.run, 1, t.attempt, t.status, $4, $4, t.snapshot
       FROM unnest($1::bigint[], $2::text[], $3::int[], $5::text[])
         AS t(run, attempt, status, snapshot)
       RETURNING id, run`,
      [
        runIds,
        column((run) => run.snapshot.attemptId),
        column((run) => run.snapshot.status),
        now,
        column((run) => runLevelJson(run.snapshot)),
      ],
    );
    const attemptOf = new Map(attemptRows.map((row) => [row.run, row.id]));
    const nodes = {
      attempt: [] as number[],
      slot: [] as number[],
      handler: [] as Array<string | null>,
      status: [] as number[],
      step: [] as string[],
      state: [] as string[],
    };
    fresh.forEach((run, index) => {
      const attempt = attemptOf.get(runIds[index]!)!;
      const add = (slot: number, handler: string | null, node: NodeState): void => {
        nodes.attempt.push(attempt);
        nodes.slot.push(slot);
        nodes.handler.push(handler);
        nodes.status.push(node.status);
        nodes.step.push(JSON.stringify(node.step));
        nodes.state.push(nodeStateJson(node));
      };
      run.snapshot.nodes.forEach((node, slot) => add(slot, null, node));
      for (const name of HANDLER_NAMES) {
        const node = run.snapshot.handlers[name];
        if (node) add(handlerSlot(name), name, node);
      }
    });
    if (nodes.attempt.length > 0)
      await q.query(
        `INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
         SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[], $5::text[], $6::text[])`,
        [nodes.attempt, nodes.slot, nodes.handler, nodes.status, nodes.step, nodes.state],
      );
    return fresh.length;
  }

  // ---- reading -----------------------------------------------------------------------------------

  async getRun(name: string, dagRunId: string): Promise<StoredRun | undefined> {
    const { rows } = await this.db.query<StoredRow>(
      prepared(`${STORED_FROM} WHERE r.name = $1 AND r.dag_run_id = $2 AND r.is_root = 1`),
      [name, dagRunId],
    );
    return rows[0] && this.toStoredRun(rows[0]);
  }

  async getLatestRun(name: string): Promise<StoredRun | undefined> {
    const { rows } = await this.db.query<StoredRow>(
      `${STORED_FROM} WHERE r.name = $1 AND r.is_root = 1 ${ORDER} LIMIT 1`,
      [name],
    );
    return rows[0] && this.toStoredRun(rows[0]);
  }

  async getChildRun(root: DagRunRef, childDagRunId: string): Promise<StoredRun | undefined> {
    const { rows } = await this.db.query<StoredRow>(
      prepared(`${STORED_FROM} WHERE r.root_name = $1 AND r.root_dag_run_id = $2 AND r.dag_run_id = $3
         AND r.is_root = 0`),
      [root.name, root.dagRunId, childDagRunId],
    );
    return rows[0] && this.toStoredRun(rows[0]);
  }

  async listChildRuns(root: DagRunRef): Promise<DagRunSnapshot[]> {
    const { rows } = await this.db.query<SnapshotRow>(
      `SELECT a.id AS attempt_row, a.snapshot FROM dag_runs r
         JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq
       WHERE r.root_name = $1 AND r.root_dag_run_id = $2 AND r.is_root = 0
       ORDER BY r.created_at, r.id`,
      [root.name, root.dagRunId],
    );
    return this.assemble(this.db, rows);
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    const page = await this.page<SnapshotRow>(
      query,
      `SELECT a.id AS attempt_row, a.snapshot FROM dag_runs r
         JOIN attempts a ON a.run = r.id AND a.seq = r.attempt_seq`,
    );
    return { runs: await this.assemble(this.db, page.runs), total: page.total };
  }

  async listRunSummaries(query: RunQuery): Promise<{ runs: DagRunSummary[]; total: number }> {
    const page = await this.page<SummaryRow>(query, `SELECT ${SUMMARY_COLUMNS} FROM dag_runs r`);
    return { runs: page.runs.map(toSummary), total: page.total };
  }

  private async page<Row>(
    query: RunQuery,
    select: string,
  ): Promise<{ runs: Row[]; total: number }> {
    const { limit, offset } = query;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0))
      throw new DaguError('bad_request', `limit must be an integer ≥ 0, got ${limit}`);
    if (offset !== undefined && !(Number.isInteger(offset) && offset >= 0))
      throw new DaguError('bad_request', `offset must be an integer ≥ 0, got ${offset}`);
    const where: string[] = [];
    const p = new Params();
    if (!query.includeChildren) where.push('r.is_root = 1');
    if (query.name !== undefined) where.push(`r.name = ${p.add(query.name)}`);
    if (query.nameContains)
      where.push(
        `r.name ILIKE ${p.add(`%${query.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`,
      );
    if (query.dagRunId !== undefined) where.push(`r.dag_run_id = ${p.add(query.dagRunId)}`);
    if (query.statuses) {
      if (query.statuses.length === 0) return { runs: [], total: 0 };
      where.push(`r.status = ANY(${p.add([...query.statuses])}::int[])`);
    }
    if (query.from !== undefined)
      where.push(`r.created_at >= ${p.add(parseQueryTime(query.from, 'from'))}`);
    if (query.to !== undefined)
      where.push(`r.created_at <= ${p.add(parseQueryTime(query.to, 'to'))}`);
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const counted = await this.db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM dag_runs r ${filter}`,
      p.values,
    );
    const total = counted.rows[0]!.n;
    if (limit === 0 || (offset ?? 0) >= total) return { runs: [], total };
    const limitSql = limit === undefined ? 'ALL' : p.add(limit);
    const offsetSql = p.add(offset ?? 0);
    const { rows } = await this.db.query<Row & Record<string, unknown>>(
      `${select} ${filter} ${ORDER} LIMIT ${limitSql} OFFSET ${offsetSql}`,
      p.values,
    );
    return { runs: rows, total };
  }

  async listAttempts(name: string, dagRunId: string): Promise<DagRunSnapshot[]> {
    const { rows } = await this.db.query<SnapshotRow>(
      `SELECT a.id AS attempt_row, a.snapshot FROM dag_runs r JOIN attempts a ON a.run = r.id
       WHERE r.name = $1 AND r.dag_run_id = $2 AND r.is_root = 1 ORDER BY a.seq`,
      [name, dagRunId],
    );
    return this.assemble(this.db, rows);
  }

  // ---- changing a stored run ---------------------------------------------------------------------

  async updateNodeStatus(
    name: string,
    dagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): Promise<DagRunSnapshot> {
    return this.updateNodeStatusOf(
      (q) => this.findRoot(q, name, dagRunId, { lock: true }),
      name,
      dagRunId,
      stepName,
      status,
    );
  }

  async updateChildNodeStatus(
    root: DagRunRef,
    childDagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): Promise<DagRunSnapshot> {
    return this.updateNodeStatusOf(
      (q) => this.findChild(q, root, childDagRunId, { lock: true }),
      root.name,
      childDagRunId,
      stepName,
      status,
    );
  }

  private async updateNodeStatusOf(
    find: (q: Queryable) => Promise<RunRow | undefined>,
    name: string,
    dagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): Promise<DagRunSnapshot> {
    const now = this.now().getTime();
    return this.db.tx(async (q) => {
      const row = await find(q);
      if (!row) throw runNotFound(name, dagRunId);
      if (row.status === DagRunStatus.Running)
        throw new DaguError(
          'bad_request',
          `dag-run ID ${dagRunId} for DAG ${row.name} is still running`,
        );
      const attempt = await this.latestAttempt(q, row);
      if (!attempt) throw runNotFound(name, dagRunId);
      const snapshot = await this.assembleOne(q, {
        attempt_row: attempt.id,
        snapshot: attempt.snapshot,
      });
      const index = snapshot.nodes.findLastIndex((n) => n.step.name === stepName);
      const node = snapshot.nodes[index];
      if (!node) throw new DaguError('not_found', `step ${stepName} not found in DAG ${row.name}`);
      node.status = status;
      await q.query(
        'UPDATE attempt_nodes SET status = $1, state = $2 WHERE attempt = $3 AND slot = $4',
        [status, nodeStateJson(node), attempt.id, index],
      );
      await this.saveAttempt(q, row.id, attempt.id, snapshot, now);
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
    await this.db.tx(async (q) => {
      const row = await this.findRoot(q, name, dagRunId, { lock: true });
      if (!row) throw runNotFound(name, dagRunId);
      const attempt = await this.latestAttempt(q, row);
      if (!attempt) throw runNotFound(name, dagRunId);
      const snapshot = parseSnapshot(attempt.snapshot);
      snapshot.status = status;
      if (error !== undefined) snapshot.error = error;
      await this.saveAttempt(q, row.id, attempt.id, snapshot, now);
      await q.query(
        `UPDATE dag_runs SET status = $1, error = $2, updated_at = $3,
           claimed_at = CASE WHEN $1 IN (1, 5) THEN claimed_at END
         WHERE id = $4`,
        [status, snapshot.error, now, row.id],
      );
      // Every server may use the slot, this one too (no sender): the caller may be a lease
      // expiry rather than its launcher.
      if (status !== DagRunStatus.Running && status !== DagRunStatus.Queued)
        await q.query(notifyRunEndedSql('$1', '$2', '$3'), [CHANGES_CHANNEL, '', row.id]);
    });
  }

  private async saveAttempt(
    q: Queryable,
    runId: number,
    attemptId: number,
    snapshot: DagRunSnapshot,
    now: number,
  ): Promise<void> {
    await q.query('UPDATE attempts SET status = $1, updated_at = $2, snapshot = $3 WHERE id = $4', [
      snapshot.status,
      now,
      runLevelJson(snapshot),
      attemptId,
    ]);
    await q.query('UPDATE dag_runs SET updated_at = $1 WHERE id = $2', [now, runId]);
  }

  // ---- renaming ----------------------------------------------------------------------------------

  async renameRuns(from: string, to: string): Promise<number> {
    if (from === to) return 0;
    await this.refuseRenameClash(this.db, from, to);
    const moved = await this.logs.moveDagLogs(from, to);
    const rewrite = (snapshot: DagRunSnapshot): DagRunSnapshot =>
      renamedSnapshot(snapshot, from, to, moved);
    try {
      return await this.db.tx((q) => this.renameRows(q, from, to, rewrite, moved));
    } catch (error) {
      if (moved) await this.logs.moveDagLogs(to, from).catch(() => undefined);
      throw error;
    }
  }

  private async refuseRenameClash(q: Queryable, from: string, to: string): Promise<void> {
    const { rows } = await q.query<{ dag_run_id: string }>(
      `SELECT a.dag_run_id FROM dag_runs a JOIN dag_runs b
         ON b.name = $1 AND b.is_root = 1 AND b.dag_run_id = a.dag_run_id
       WHERE a.name = $2 AND a.is_root = 1 LIMIT 1`,
      [to, from],
    );
    if (rows[0])
      throw new DaguError(
        'already_exists',
        `DAG ${to} already has a run ${rows[0].dag_run_id}; rename the DAG to another name`,
      );
  }

  private async renameRows(
    q: Queryable,
    from: string,
    to: string,
    rewrite: (snapshot: DagRunSnapshot) => DagRunSnapshot,
    moved: ((ref: string) => string) | undefined,
  ): Promise<number> {
    await this.refuseRenameClash(q, from, to);
    const { rows: runs } = await q.query<{
      id: number;
      name: string;
      definition_id: number;
      log_path: string;
    }>(
      `SELECT id, name, definition_id, log_path FROM dag_runs
       WHERE name = $1 OR root_name = $1 OR parent_name = $1 FOR UPDATE`,
      [from],
    );
    const definitions = new Map<number, number>();
    for (const run of runs) {
      const { rows: attempts } = await q.query<SnapshotRow>(
        'SELECT id AS attempt_row, snapshot FROM attempts WHERE run = $1',
        [run.id],
      );
      const snapshots = await this.assemble(q, attempts);
      for (const [index, snapshot] of snapshots.entries()) {
        const attemptRow = attempts[index]!.attempt_row;
        const renamed = rewrite(snapshot);
        await q.query('UPDATE attempts SET snapshot = $1 WHERE id = $2', [
          runLevelJson(renamed),
          attemptRow,
        ]);
        await this.saveNodes(q, attemptRow, renamed);
      }
      if (run.name !== from) continue;
      let definitionId = definitions.get(run.definition_id);
      if (definitionId === undefined) {
        const { rows } = await q.query<{ definition: string }>(
          'SELECT definition FROM dag_definitions WHERE id = $1',
          [run.definition_id],
        );
        definitionId = await this.definitionId(
          q,
          definitionOf({ ...(JSON.parse(rows[0]!.definition) as Dag), name: to }),
        );
        definitions.set(run.definition_id, definitionId);
      }
      const logPath = moved ? moved(run.log_path) : run.log_path;
      await q.query('UPDATE dag_runs SET definition_id = $1, log_path = $2 WHERE id = $3', [
        definitionId,
        logPath,
        run.id,
      ]);
    }
    await q.query('UPDATE dag_runs SET queue = $1 WHERE name = $2 AND queue = $2', [to, from]);
    await q.query('UPDATE dag_runs SET name = $1 WHERE name = $2', [to, from]);
    await q.query('UPDATE dag_runs SET root_name = $1 WHERE root_name = $2', [to, from]);
    await q.query('UPDATE dag_runs SET parent_name = $1 WHERE parent_name = $2', [to, from]);
    await q.query('UPDATE queue_items SET queue = $1 WHERE name = $2 AND queue = $2', [to, from]);
    await q.query('UPDATE queue_items SET name = $1 WHERE name = $2', [to, from]);
    await q.query('UPDATE cancel_requests SET name = $1 WHERE name = $2', [to, from]);
    for (const old of definitions.keys())
      await q.query(
        `DELETE FROM dag_definitions
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM dag_runs WHERE definition_id = $1)`,
        [old],
      );
    return runs.filter((run) => run.name === from).length;
  }

  // ---- housekeeping ------------------------------------------------------------------------------

  async applyRetention(name: string, days: number, now?: Date): Promise<{ deletedRuns: number }> {
    if (!Number.isFinite(days) || days < 0)
      throw new DaguError('bad_request', `retention days must be a number ≥ 0, got ${days}`);
    const cutoff = (now ?? this.now()).getTime() - days * 86_400_000;
    const doomed: DagRunSnapshot[] = [];
    const deletedRuns = await this.db.tx(async (q) => {
      const { rows: roots } = await q.query<{ id: number; dag_run_id: string }>(
        `SELECT r.id, r.dag_run_id FROM dag_runs r
         WHERE r.name = $1 AND r.is_root = 1 AND r.created_at < $2 AND r.updated_at < $2
           AND r.status NOT IN (1, 5)
         FOR UPDATE`,
        [name, cutoff],
      );
      const definitions = new Set<number>();
      for (const root of roots) {
        const { rows: tree } = await q.query<{
          id: number;
          name: string;
          dag_run_id: string;
          definition_id: number;
        }>(
          `SELECT id, name, dag_run_id, definition_id FROM dag_runs
           WHERE id = $1 OR (root_name = $2 AND root_dag_run_id = $3 AND is_root = 0)`,
          [root.id, name, root.dag_run_id],
        );
        for (const run of tree) {
          definitions.add(run.definition_id);
          const { rows: attempts } = await q.query<SnapshotRow>(
            'SELECT id AS attempt_row, snapshot FROM attempts WHERE run = $1',
            [run.id],
          );
          doomed.push(...(await this.assemble(q, attempts)));
          await q.query(
            prepared('DELETE FROM cancel_requests WHERE name = $1 AND dag_run_id = $2'),
            [run.name, run.dag_run_id],
          );
          await q.query('DELETE FROM dag_runs WHERE id = $1', [run.id]);
        }
      }
      for (const id of definitions)
        await q.query(
          `DELETE FROM dag_definitions
           WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM dag_runs WHERE definition_id = $1)`,
          [id],
        );
      return roots.length;
    });
    await this.logs.deleteRunLogs(doomed);
    return { deletedRuns };
  }

  /**
   * Closes runs whose owner is gone as failed: an owner whose lease lapsed (no heartbeat for
   * `leaseMs`, by the database's clock, or no lease at all) on any machine, and an owner on
   * this machine whose process is dead (no need to wait for its lease then).
   */
  async closeAbandonedRuns(): Promise<DagRunSnapshot[]> {
    await endOwnedStepGroups(this.db);
    const host = hostName();
    const { rows } = await this.db.query<
      RunRow & {
        lease_host: string | null;
        lease_pid: number | null;
        lease_start: string | null;
        lapsed: boolean | null;
      }
    >(
      `SELECT ${RUN_COLUMNS}, o.host AS lease_host, o.pid AS lease_pid, o.pid_start AS lease_start,
         o.heartbeat_at < (extract(epoch from clock_timestamp()) * 1000)::bigint - $1 AS lapsed
       FROM dag_runs r LEFT JOIN store_owners o ON o.owner_id = r.owner_id
       WHERE r.status IN (1, 5) AND (r.status = 1 OR r.claimed_at IS NOT NULL)
         AND r.owner_id IS DISTINCT FROM $2`,
      [this.leaseMs, this.ownerId],
    );
    const closed: DagRunSnapshot[] = [];
    for (const row of rows) {
      let error: string;
      if (row.owner_id === null) {
        // Recorded without an owner lease (history moved up from SQLite): judge by pid here.
        if (row.owner_host !== host) continue;
        if (row.owner_pid !== null && isOwnerAlive(row.owner_pid, row.owner_start)) continue;
        error = ABANDONED_RUN_ERROR;
      } else if (row.lease_host === null || row.lapsed) {
        error = `${ABANDONED_RUN_ERROR} (owner ${row.owner_id} stopped heartbeating)`;
      } else if (row.lease_host === host && !isOwnerAlive(row.lease_pid!, row.lease_start)) {
        error = ABANDONED_RUN_ERROR;
      } else continue;
      const snapshot = await this.closeAbandoned(row, error);
      if (snapshot) closed.push(snapshot);
    }
    return closed;
  }

  private async closeAbandoned(
    candidate: RunRow,
    error: string,
  ): Promise<DagRunSnapshot | undefined> {
    const now = this.now();
    const finishedAt = now.toISOString();
    return this.db.tx(async (q) => {
      // Re-read under a row lock: another server may be closing or restarting it right now.
      const { rows } = await q.query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM dag_runs r WHERE r.id = $1 AND r.status = $2
           AND r.owner_id IS NOT DISTINCT FROM $3 AND r.attempt_id = $4 FOR UPDATE`,
        [candidate.id, candidate.status, candidate.owner_id, candidate.attempt_id],
      );
      const row = rows[0];
      if (!row) return undefined;
      const attempt = await this.latestAttempt(q, row);
      if (!attempt) return undefined;
      const snapshot = await this.assembleOne(q, {
        attempt_row: attempt.id,
        snapshot: attempt.snapshot,
      });
      snapshot.status = DagRunStatus.Failed;
      snapshot.error = error;
      snapshot.finishedAt = finishedAt;
      const slots = slotsOf(snapshot);
      for (const node of allNodes(snapshot)) {
        if (node.status !== NodeStatus.Running) continue;
        node.status = NodeStatus.Failed;
        node.error ||= error;
        node.finishedAt ||= finishedAt;
        await q.query(
          'UPDATE attempt_nodes SET status = $1, state = $2 WHERE attempt = $3 AND slot = $4',
          [node.status, nodeStateJson(node), attempt.id, slots.get(node)],
        );
      }
      await q.query(
        'UPDATE attempts SET status = $1, updated_at = $2, snapshot = $3 WHERE id = $4',
        [snapshot.status, now.getTime(), runLevelJson(snapshot), attempt.id],
      );
      await q.query(
        `UPDATE dag_runs SET status = $1, error = $2, finished_at = $3, updated_at = $4,
           claimed_at = NULL WHERE id = $5`,
        [snapshot.status, snapshot.error, finishedAt, now.getTime(), row.id],
      );
      await q.query('DELETE FROM cancel_requests WHERE name = $1 AND dag_run_id = $2', [
        row.name,
        row.dag_run_id,
      ]);
      // Its slot is free for every server, the one closing it too (no sender).
      await q.query(notifyRunEndedSql('$1', '$2', '$3'), [CHANGES_CHANNEL, '', row.id]);
      return snapshot;
    });
  }

  // ---- lookups -----------------------------------------------------------------------------------

  private async ownerAlive(q: Queryable, ownerId: string): Promise<boolean> {
    const { rows } = await q.query<{ alive: boolean }>(
      `SELECT heartbeat_at >= (extract(epoch from clock_timestamp()) * 1000)::bigint - $2 AS alive
       FROM store_owners WHERE owner_id = $1`,
      [ownerId, this.leaseMs],
    );
    return rows[0]?.alive ?? false;
  }

  private toStoredRun(row: StoredRow): StoredRun {
    const nodes: Array<Omit<NodeRow, 'attempt'>> = (row.node_slots ?? []).map((slot, index) => ({
      slot,
      handler: row.node_handlers![index]!,
      step: row.node_steps![index]!,
      state: row.node_states![index]!,
    }));
    return {
      snapshot: snapshotOf(row.snapshot, nodes),
      dag: JSON.parse(row.definition) as Dag,
      trigger: row.trigger as RunTrigger,
      queue: row.queue,
      ownerPid: row.owner_pid ?? undefined,
    };
  }

  private findRow(
    q: Queryable,
    run: DagRunSnapshot,
    options: { lock?: boolean } = {},
  ): Promise<RunRow | undefined> {
    return run.parent
      ? this.findChild(q, run.root, run.dagRunId, options)
      : this.findRoot(q, run.name, run.dagRunId, options);
  }

  private async findRoot(
    q: Queryable,
    name: string,
    dagRunId: string,
    options: { lock?: boolean } = {},
  ): Promise<RunRow | undefined> {
    const { rows } = await q.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM dag_runs r
       WHERE r.name = $1 AND r.dag_run_id = $2 AND r.is_root = 1${options.lock ? ' FOR UPDATE' : ''}`,
      [name, dagRunId],
    );
    return rows[0];
  }

  private async findChild(
    q: Queryable,
    root: DagRunRef,
    dagRunId: string,
    options: { lock?: boolean } = {},
  ): Promise<RunRow | undefined> {
    const { rows } = await q.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM dag_runs r
       WHERE r.root_name = $1 AND r.root_dag_run_id = $2 AND r.dag_run_id = $3
         AND r.is_root = 0${options.lock ? ' FOR UPDATE' : ''}`,
      [root.name, root.dagRunId, dagRunId],
    );
    return rows[0];
  }

  private async latestAttempt(q: Queryable, row: RunRow): Promise<AttemptRow | undefined> {
    const { rows } = await q.query<AttemptRow>(
      'SELECT id, seq, attempt_id, status, snapshot FROM attempts WHERE run = $1 AND seq = $2',
      [row.id, row.attempt_seq],
    );
    return rows[0];
  }
}

interface StartRow extends RunRow {
  definition_id: number;
  definition_hash: string;
  latest_id: number | null;
  latest_seq: number | null;
  latest_attempt_id: string | null;
  latest_status: number | null;
}

/** A DAG definition as stored: its JSON and the JSON's hash (dag_definitions.hash). */
interface Definition {
  json: string;
  hash: string;
}

function definitionOf(dag: Dag): Definition {
  const json = JSON.stringify(dag);
  return { json, hash: createHash('sha256').update(json).digest('hex') };
}

/** The node rows of a snapshot as column arrays (for unnest) and the JSON written per slot. */
function nodeColumns(run: DagRunSnapshot): {
  slots: number[];
  handlers: Array<string | null>;
  statuses: number[];
  steps: string[];
  states: string[];
  written: Map<number, string>;
} {
  const columns = {
    slots: [] as number[],
    handlers: [] as Array<string | null>,
    statuses: [] as number[],
    steps: [] as string[],
    states: [] as string[],
    written: new Map<number, string>(),
  };
  const add = (slot: number, handler: string | null, node: NodeState): void => {
    const state = nodeStateJson(node);
    columns.slots.push(slot);
    columns.handlers.push(handler);
    columns.statuses.push(node.status);
    columns.steps.push(JSON.stringify(node.step));
    columns.states.push(state);
    columns.written.set(slot, state);
  };
  run.nodes.forEach((node, index) => add(index, null, node));
  for (const name of HANDLER_NAMES) {
    const node = run.handlers[name];
    if (node) add(handlerSlot(name), name, node);
  }
  return columns;
}

/** The WHERE clause (on `r`) that finds a run's row: a root by name and id, a child under its root. */
function runWhere(run: DagRunSnapshot): { sql: string; values: unknown[] } {
  return run.parent
    ? {
        sql: 'r.root_name = $1 AND r.root_dag_run_id = $2 AND r.dag_run_id = $3 AND r.is_root = 0',
        values: [run.root.name, run.root.dagRunId, run.dagRunId],
      }
    : {
        sql: 'r.name = $1 AND r.dag_run_id = $2 AND r.is_root = 1',
        values: [run.name, run.dagRunId],
      };
}

/** A snapshot from its attempt's run-level JSON and its node rows. */
function snapshotOf(
  runLevel: string,
  nodes: ReadonlyArray<Omit<NodeRow, 'attempt'>>,
): DagRunSnapshot {
  const snapshot = parseSnapshot(runLevel);
  snapshot.nodes = [];
  snapshot.handlers = {};
  for (const node of nodes) {
    const state: NodeState = {
      step: JSON.parse(node.step) as NodeState['step'],
      ...(JSON.parse(node.state) as Omit<NodeState, 'step'>),
    };
    if (node.handler === null) snapshot.nodes.push(state);
    else snapshot.handlers[node.handler as HandlerName] = state;
  }
  return snapshot;
}

/** Who executes a run (dag_runs.owner_*). */
interface RunOwner {
  ownerId: string | null;
  ownerPid: number | null;
  ownerStart: string | null;
  ownerHost: string | null;
}

/** The parameters a start's attempt and its run row share. */
function startParams(p: Params, run: DagRunSnapshot, runLevel: string, now: number) {
  return {
    attemptId: p.add(run.attemptId),
    status: p.add(run.status),
    at: p.add(now),
    snapshot: p.add(runLevel),
    nodes: nodeColumns(run),
  };
}

/**
 * The rest of a start's statement after its `attempt` CTE (id, run, seq of the attempt that
 * runs): the attempt's node rows written, stale ones removed, and the run row mirroring it.
 */
function startTail(
  p: Params,
  run: DagRunSnapshot,
  start: ReturnType<typeof startParams>,
  owner: RunOwner,
  definitionId: string,
): string {
  const { nodes } = start;
  const slots = p.add(nodes.slots);
  return `node_rows AS (
      INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
      SELECT attempt.id, n.* FROM attempt,
        unnest(${slots}::int[], ${p.add(nodes.handlers)}::text[], ${p.add(nodes.statuses)}::int[],
          ${p.add(nodes.steps)}::text[], ${p.add(nodes.states)}::text[]) AS n
      ON CONFLICT (attempt, slot) DO UPDATE SET handler = EXCLUDED.handler,
        status = EXCLUDED.status, step = EXCLUDED.step, state = EXCLUDED.state),
    stale_nodes AS (
      DELETE FROM attempt_nodes USING attempt
      WHERE attempt_nodes.attempt = attempt.id AND NOT (attempt_nodes.slot = ANY(${slots}::int[])))
    UPDATE dag_runs SET status = ${start.status}, params = ${p.add(run.params)},
      updated_at = ${start.at}, queued_at = ${p.add(run.queuedAt)},
      started_at = ${p.add(run.startedAt)}, finished_at = ${p.add(run.finishedAt)},
      claimed_at = NULL, owner_id = ${p.add(owner.ownerId)}, owner_pid = ${p.add(owner.ownerPid)},
      owner_start = ${p.add(owner.ownerStart)}, owner_host = ${p.add(owner.ownerHost)},
      definition_id = ${definitionId}, attempt_seq = attempt.seq,
      attempt_id = ${start.attemptId}, error = ${p.add(run.error)}, log_path = ${p.add(run.log)}
    FROM attempt WHERE dag_runs.id = attempt.run
    RETURNING attempt.id AS attempt_row, attempt.run AS run_row`;
}

function alreadyExists(snapshot: DagRunSnapshot): DaguError {
  return new DaguError(
    'already_exists',
    `dag-run ID ${snapshot.dagRunId} already exists for DAG ${snapshot.name}`,
  );
}

/** A unique index refused the row (PostgreSQL's 23505), possibly wrapped by toPgStoreError. */
export function isUniqueViolation(error: unknown): boolean {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  return (cause as { code?: unknown } | null)?.code === '23505';
}
