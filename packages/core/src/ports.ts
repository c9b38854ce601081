// Every port of core in one place: the small interfaces through which the engine, the API and
// the CLI reach the outside world. @dagu-ts/store implements the persistence ones on SQLite and
// the DAGs directory; core ships the file log store and an in-memory run recorder as defaults for
// embedders; the run launcher implements run control. Another store (PostgreSQL for several
// nodes, logs in an object store) implements the same interfaces without touching core or api.
import type { Dag } from './dag/model.js';
import type { ParamsOverride } from './run/environment.js';
import type { DagRunStatus, NodeStatus } from './run/status.js';
import type { DagRunRef, DagRunSnapshot, RunEvent } from './run/types.js';

// ---- runs ------------------------------------------------------------------------------------

/**
 * Persistence port of the runner. The runner awaits each call in order before it goes on, so a
 * crash loses at most the step in flight. Events carry live objects: copy what you keep. A step
 * event stands for its node and the run-level fields (the runner emits one for every change of
 * a node), and `run-finished` for the whole run: a recorder may write only those, so that an
 * event costs the same whatever the size of the run.
 */
export interface RunRecorder {
  record(event: RunEvent): Promise<void>;
}

/** What started a run. */
export type RunTrigger = 'cli' | 'api' | 'schedule' | 'retry' | 'queue' | 'child';

/** A run as stored: the latest attempt's state plus what is needed to retry it. */
export interface StoredRun {
  snapshot: DagRunSnapshot;
  /** The DAG definition the run used (retries and queued runs start from it, not the file). */
  dag: Dag;
  trigger: RunTrigger;
  /** Queue the run counts against (the DAG's `queue:` or its name). */
  queue: string;
  /** Process that executes the run; recovery closes the run when it is gone. */
  ownerPid: number | undefined;
}

export interface RunQuery {
  /** Exact DAG name. */
  name?: string;
  /** Case-insensitive substring of the DAG name. */
  nameContains?: string;
  /** Exact run id. */
  dagRunId?: string;
  statuses?: readonly DagRunStatus[];
  /** Window on the run's start (or queue) time, ISO 8601, inclusive. */
  from?: string;
  to?: string;
  /** Child runs are left out unless asked for. */
  includeChildren?: boolean;
  /** Newest first; at most `limit` runs after skipping `offset`. */
  limit?: number;
  offset?: number;
}

export interface RunPage {
  runs: DagRunSnapshot[];
  /** Runs matching the query, before limit/offset. */
  total: number;
}

/** The run-level fields of a run, without its steps (listings of many runs). */
export type DagRunSummary = Pick<
  DagRunSnapshot,
  | 'name'
  | 'dagRunId'
  | 'attemptId'
  | 'root'
  | 'parent'
  | 'status'
  | 'queuedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'log'
  | 'params'
  | 'error'
>;

/**
 * Runs and their attempts. A run store deletes and moves the logs of its runs (retention,
 * renamed DAGs) through the LogStore it was composed with.
 */
export interface RunStore extends RunRecorder {
  /**
   * Records a run that waits in a queue (status queued) with the definition it will use.
   * Throws a DaguError with code `already_exists` when the DAG already has a run with that id.
   */
  createQueuedRun(input: {
    dag: Dag;
    snapshot: DagRunSnapshot;
    trigger: RunTrigger;
  }): Promise<void>;
  getRun(name: string, dagRunId: string): Promise<StoredRun | undefined>;
  getLatestRun(name: string): Promise<StoredRun | undefined>;
  /** A child (or grandchild) run of a root run. */
  getChildRun(root: DagRunRef, childDagRunId: string): Promise<StoredRun | undefined>;
  listRuns(query: RunQuery): Promise<RunPage>;
  /**
   * Optional: listRuns without the steps, for listings of many runs (the API's GET /dag-runs),
   * when the store can read them cheaper than whole snapshots. Callers fall back to listRuns.
   */
  listRunSummaries?(query: RunQuery): Promise<{ runs: DagRunSummary[]; total: number }>;
  /** Every attempt of a run, oldest first. */
  listAttempts(name: string, dagRunId: string): Promise<DagRunSnapshot[]>;
  /** Sets one node's status in the latest attempt (the API's step status PATCH). */
  updateNodeStatus(
    name: string,
    dagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): Promise<DagRunSnapshot>;
  /** Sets one node's status in a child run (the API's child step status PATCH). */
  updateChildNodeStatus(
    root: DagRunRef,
    childDagRunId: string,
    stepName: string,
    status: NodeStatus,
  ): Promise<DagRunSnapshot>;
  /** Rewrites the latest attempt's status (dequeue → canceled, failed to start → failed). */
  setRunStatus(name: string, dagRunId: string, status: DagRunStatus, error?: string): Promise<void>;
  /** Deletes the DAG's finished runs older than `days` days and their logs. */
  applyRetention(name: string, days: number, now?: Date): Promise<{ deletedRuns: number }>;
  /**
   * Moves DAG `from`'s history (runs, attempts, queue items, cancel requests and its logs, see
   * LogStore.moveDagLogs) to `to`, all or nothing; returns how many runs moved. Throws
   * `already_exists` when both names have a run with the same id.
   */
  renameRuns(from: string, to: string): Promise<number>;
  /**
   * Closes runs left running or queued-for-start by a process that is gone as failed with error
   * "process exited unexpectedly" (dag-yaml.md Part A #12). Returns the runs it closed.
   */
  closeAbandonedRuns(): Promise<DagRunSnapshot[]>;
}

// ---- step processes, queues, flags, cancels ------------------------------------------------------

/**
 * Process groups of running steps. A step leads its own group, so its pid is the group id.
 * Recovery (closeAbandonedRuns) ends the groups a dead process left before closing its runs.
 */
export interface StepProcessStore {
  /** Records the group of a step that just started in this process. */
  add(pgid: number): Promise<void>;
  /** Forgets the group of a step that ended. */
  remove(pgid: number): Promise<void>;
}

export interface QueueItem {
  queue: string;
  name: string;
  dagRunId: string;
  /** Higher first; FIFO within a priority. */
  priority: number;
  enqueuedAt: string;
  /**
   * Present when the run must execute on a worker: the labels the worker needs (`{}` = any
   * worker). The server's own dispatch never claims such an item; a worker's claim does.
   */
  workerSelector?: Record<string, string>;
}

export interface QueueStore {
  enqueue(item: QueueItem): Promise<void>;
  /**
   * Atomically takes the oldest item of `queue` when fewer than `maxActive` runs of that queue
   * are running, and marks its run as starting; undefined when the queue is empty or full.
   */
  claimNext(queue: string, maxActive: number): Promise<QueueItem | undefined>;
  /** Removes a run's item; false when it was not queued. */
  remove(name: string, dagRunId: string): Promise<boolean>;
  list(queue?: string): Promise<QueueItem[]>;
  /** Queued items per queue name. */
  counts(): Promise<Record<string, number>>;
}

export interface FlagStore {
  isSuspended(name: string): Promise<boolean>;
  setSuspended(name: string, suspended: boolean): Promise<void>;
  listSuspended(): Promise<string[]>;
}

/** Stop requests that cross processes: the process running the run polls for them. */
export interface CancelStore {
  requestCancel(name: string, dagRunId: string): Promise<void>;
  isCancelRequested(name: string, dagRunId: string): Promise<boolean>;
  clearCancel(name: string, dagRunId: string): Promise<void>;
}

// ---- changes made by other processes -------------------------------------------------------

/**
 * A change of shared state made by another process: a queue gained an item or a slot (an
 * enqueue, a run that ended), a stop was requested, or `resync` after the feed was interrupted
 * (changes may have been missed: look at the queues and stops again).
 */
export type StateChange =
  | { readonly kind: 'queue'; readonly queue?: string }
  | { readonly kind: 'cancel'; readonly name: string; readonly dagRunId: string }
  | { readonly kind: 'resync' };

/**
 * Optional capability of a store shared by several processes (PostgreSQL's LISTEN/NOTIFY), so
 * that a server reacts at once instead of at its next poll. Listeners are called for changes of
 * other processes only; a store without it (SQLite, one machine) leaves that to polling.
 */
export interface StateChanges {
  /** Starts listening on the first subscriber; returns the unsubscribe function. */
  subscribe(listener: (change: StateChange) => void): () => void;
}

// ---- webhooks (Dagu v1.30) -------------------------------------------------------------------

/** A DAG's webhook: who may trigger it is whoever holds the token whose hash is kept here. */
export interface Webhook {
  id: string;
  /** The DAG's canonical file name (one webhook per DAG file). */
  dagName: string;
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  tokenHash: string;
  /** The token's first characters, to tell tokens apart. */
  tokenPrefix: string;
  enabled: boolean;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | undefined;
  createdBy: string | undefined;
}

export interface WebhookStore {
  get(dagName: string): Promise<Webhook | undefined>;
  /** Every webhook, by DAG name. */
  list(): Promise<Webhook[]>;
  /** Throws a DaguError `already_exists` when the DAG has a webhook. */
  create(webhook: Webhook): Promise<void>;
  /** Changes some fields; the updated webhook, or undefined when the DAG has none. */
  update(
    dagName: string,
    changes: Partial<
      Pick<Webhook, 'tokenHash' | 'tokenPrefix' | 'enabled' | 'updatedAt' | 'lastUsedAt'>
    >,
  ): Promise<Webhook | undefined>;
  /** False when the DAG had no webhook. */
  delete(dagName: string): Promise<boolean>;
}

// ---- DAG files -------------------------------------------------------------------------------

export interface DagFileInfo {
  /** Base name without `.yaml`/`.yml`. */
  fileName: string;
  path: string;
  modifiedAt: string;
  size: number;
}

export interface DagSearchMatch {
  fileName: string;
  matches: Array<{ line: number; lineText: string; snippet: string; startLine: number }>;
}

/**
 * The DAGs directory. File names are confined to it: `/`, `\`, `..` and NUL are rejected with a
 * DaguError `bad_request`; a missing file is a DagNotFoundError.
 */
export interface DagRepository {
  readonly directory: string;
  list(): Promise<DagFileInfo[]>;
  read(fileName: string): Promise<string>;
  /** Absolute path of a DAG file (validated name; the file need not exist). */
  pathOf(fileName: string): string;
  create(fileName: string, yaml: string): Promise<void>;
  update(fileName: string, yaml: string): Promise<void>;
  rename(fileName: string, newFileName: string): Promise<void>;
  delete(fileName: string): Promise<void>;
  search(pattern: string, options?: { limit?: number }): Promise<DagSearchMatch[]>;
  /**
   * Calls `onChange` when DAG files may have been added, changed, renamed or deleted (the
   * scheduler then lists again and compares modification times; a spurious call costs a listing).
   * Returns the function that stops watching. Throws when the DAGs cannot be watched at all;
   * callers then rely on listing again from time to time.
   */
  watch(onChange: () => void): () => void;
}

// ---- the scheduler -----------------------------------------------------------------------------

/** Claims a (name, minute) tick; true for exactly one caller (store: scheduler_ticks). */
export interface SchedulerTickStore {
  claimTick(name: string, scheduledAt: Date): Promise<boolean>;
  pruneTicks(before: Date): Promise<number>;
}

// ---- run control -------------------------------------------------------------------------------

export interface LaunchOptions {
  dagRunId?: string;
  /** `source: 'remote'` for params of an API caller: data only (dag-yaml.md Part A #10). */
  params?: ParamsOverride;
  trigger: RunTrigger;
  /** Run now even if the DAG's queue is full (`--no-queue`). */
  noQueue?: boolean;
}

export interface LaunchResult {
  dagRunId: string;
  queued: boolean;
}

/** The part of run control the scheduler uses. */
export interface ScheduledRunLauncher {
  /** Starts a run, or queues it when its queue is at its limit; resolves once it is recorded. */
  start(dag: Dag, options: LaunchOptions): Promise<LaunchResult>;
  /** Stops a running run (here or, through a cancel request, in the process that runs it). */
  stop(name: string, dagRunId: string): Promise<void>;
}

/** Starting and stopping runs: what the API needs (core's RunLauncher implements it). */
export interface RunControl extends ScheduledRunLauncher {
  /** Records a queued run; the queue starts it as soon as its limit allows. */
  enqueue(dag: Dag, options: LaunchOptions): Promise<LaunchResult>;
  /** Retries a finished run (same id, new attempt), the whole failed part or one step. */
  retry(stored: StoredRun, options?: { step?: string }): Promise<void>;
  /** Takes a queued run out of its queue; it ends canceled. */
  dequeue(name: string, dagRunId: string): Promise<void>;
  /** Whether the run executes in this process now. */
  isActive(name: string, dagRunId: string): boolean;
}

// ---- logs --------------------------------------------------------------------------------------

export type LogStream = 'stdout' | 'stderr';

/** A window on a log (api-v2.md §6): tail > head > offset > default; `limit` default 1000. */
export interface LogWindowQuery {
  tail?: number | undefined;
  head?: number | undefined;
  offset?: number | undefined;
  limit?: number | undefined;
}

/** Log (api-v2.md §3.17) with Dagu's omit-when-empty rule applied. */
export interface LogWindow {
  content: string;
  lineCount?: number;
  totalLines?: number;
  hasMore?: boolean;
  isEstimate?: boolean;
}

/** The attempt whose logs are opened. */
export interface RunLogTarget {
  dagName: string;
  dagRunId: string;
  attemptId: string;
  startedAt: Date;
  /** The DAG's own `logDir:`; a file store writes there instead of under its base directory. */
  logDir?: string;
}

/**
 * The logs of runs: the run log and each step's stdout/stderr. A log is named by a reference,
 * recorded in the snapshot (`log`, `stdout`, `stderr` of a node); the file store's references are
 * absolute file paths, which steps also see as DAG_RUN_LOG_FILE and DAG_RUN_STEP_STDOUT_FILE.
 */
export interface LogStore {
  /** Opens the logs of one attempt of a run for writing. */
  openRun(target: RunLogTarget): Promise<RunLogSink>;
  /** A window on a log; undefined when there is no such log. */
  readWindow(ref: string, query: LogWindowQuery): Promise<LogWindow | undefined>;
  /** The last `maxBytes` bytes of a log as text; undefined when there is no such log. */
  readTail(ref: string, maxBytes: number): Promise<string | undefined>;
  /** Deletes the logs of a run, given every attempt of it (and of its child runs). */
  deleteRunLogs(attempts: readonly DagRunSnapshot[]): Promise<void>;
  /**
   * Moves DAG `from`'s logs to `to` (the DAG was renamed). Returns how a reference recorded
   * before the move reads after it, or undefined when nothing moved (no logs, or `to` has logs
   * already). Moving back (`moveDagLogs(to, from)`) undoes it.
   */
  moveDagLogs(from: string, to: string): Promise<((ref: string) => string) | undefined>;
}

/** One attempt's logs, open for writing. */
export interface RunLogSink {
  /** Reference of the run log. */
  readonly ref: string;
  /** A local directory of this attempt for temporary files (scripts), when the store has one. */
  readonly tempDir: string | undefined;
  /** Appends a line to the run log; never throws (the run log is a convenience) and does nothing once closed. */
  log(line: string): void;
  /** Opens a step's stdout/stderr; every retry and repeat of the step appends to them. */
  openStep(stepName: string, at: Date): Promise<StepLogSink>;
  close(): void;
  /** The start of the run was not recorded: removes what this attempt wrote. */
  discard(): Promise<void>;
}

/** One step's stdout and stderr, open for writing and reading back (output capture, redirects). */
export interface StepLogSink {
  /** References of the two logs. */
  readonly stdout: string;
  readonly stderr: string;
  /**
   * A file store's fast path: files a step process writes straight into (the file descriptor for
   * a process spawned here, the path for the spawn helper), so output never passes through
   * JavaScript. Without them a process's output is piped into `write`.
   */
  readonly files?: { stdout: { path: string; fd: number }; stderr: { path: string; fd: number } };
  write(stream: LogStream, data: string | Uint8Array): void;
  /** Bytes written so far: an execution's output lies between two of these. */
  size(stream: LogStream): number;
  /** Up to `length` bytes from `start`. */
  read(stream: LogStream, start: number, length: number): Buffer;
  close(): void;
}

// ---- workers (distributed execution) ------------------------------------------------------------

/** What a worker says about itself on every heartbeat and claim. */
export interface WorkerRegistration {
  id: string;
  labels: Record<string, string>;
  /** Runs it executes at once at most (Dagu's pollers). */
  maxActiveRuns: number;
  /** Runs it executes now. */
  busy: number;
}

export interface WorkerRecord extends WorkerRegistration {
  lastHeartbeatAt: string;
  /** Runs it owns now (claimed or running), with their start time when started. */
  runs: Array<DagRunRef & { startedAt: string }>;
}

/** A worker's hold on a root run: from its claim until the run ends or the lease lapses. */
export interface RunLease {
  workerId: string;
  /** Highest event sequence number recorded; a report at or below it is a retry. */
  lastSeq: number;
  /** false once the run ended or was taken back. */
  active: boolean;
}

/**
 * Who executes which run on which worker. A worker never touches the store: the API does this on
 * its behalf. Limits: a claimed run counts as running in its queue (QueueStore.claimNext's rule).
 */
export interface WorkerStore {
  /** Records that the worker is alive now, with its labels and load. */
  heartbeat(worker: WorkerRegistration): Promise<void>;
  /**
   * Atomically takes the first queued run (priority, then age, across queues) whose workerSelector
   * the worker's labels satisfy and whose queue is below `limitOf(queue, dag)`; leases it to the
   * worker. Undefined when there is none.
   */
  claim(
    worker: WorkerRegistration,
    limitOf: (queue: string, dag: Dag) => number,
  ): Promise<StoredRun | undefined>;
  leaseOf(name: string, dagRunId: string): Promise<RunLease | undefined>;
  /**
   * Records that event `seq` of the run was stored; `ended` releases the lease. After a
   * run-started event the run's owner is the worker (so no process's crash recovery closes it).
   */
  commitReport(name: string, dagRunId: string, seq: number, ended: boolean): Promise<void>;
  listWorkers(): Promise<WorkerRecord[]>;
  /** Active leases of workers whose last heartbeat is before `before`. */
  staleLeases(before: Date): Promise<Array<DagRunRef & { workerId: string; started: boolean }>>;
  /** A claimed run that never started goes back to its queue (its lease ends). */
  requeue(name: string, dagRunId: string): Promise<void>;
  /** Ends a lease without touching the run (the caller closed the run). */
  release(name: string, dagRunId: string): Promise<void>;
  /** The worker that executes or executed each run, for the runs that went to one. */
  workerIdsOf(refs: readonly DagRunRef[]): Promise<Map<string, string>>;
}
