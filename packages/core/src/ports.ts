// Persistence ports: small async interfaces the engine, the API and the CLI program against.
// @dagu-ts/store implements them on SQLite; another store (PostgreSQL for several nodes) can
// implement the same interfaces without touching core or api.
import type { Dag } from './dag/model.js';
import type { DagRunStatus, NodeStatus } from './run/status.js';
import type { DagRunRef, DagRunSnapshot, RunRecorder } from './run/types.js';

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
  /** Deletes the DAG's finished runs older than `days` days and their log files. */
  applyRetention(name: string, days: number, now?: Date): Promise<{ deletedRuns: number }>;
  /**
   * Moves DAG `from`'s history (runs, attempts, queue items, cancel requests and, with `logDir`,
   * its log directory) to `to`, all or nothing; returns how many runs moved. Throws `already_exists`
   * when both names have a run with the same id.
   */
  renameRuns(from: string, to: string, options?: { logDir?: string }): Promise<number>;
  /**
   * Closes runs left running or queued-for-start by a process that is gone as failed with error
   * "process exited unexpectedly" (dag-yaml.md Part A #12). Returns the runs it closed.
   */
  closeAbandonedRuns(): Promise<DagRunSnapshot[]>;
}

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
}
