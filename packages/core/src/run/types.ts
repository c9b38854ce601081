// What a DAG run looks like from outside: its state, the events it emits, and the port through
// which it is persisted.
import type { Dag, HandlerName, Step } from '../dag/model.js';
import type { RunTrigger } from '../ports.js';
import type { DagRunStatus, NodeStatus } from './status.js';

/** `<name>:<dagRunId>` in Dagu's CLI; a pair here. */
export interface DagRunRef {
  name: string;
  dagRunId: string;
}

export interface ConditionResult {
  condition: string;
  expected: string;
  /** Why the condition was not met; empty when it was. */
  error: string;
}

export interface ChildRunRef {
  dagRunId: string;
  params: string;
}

/** One step's execution state within a run (handlers included). */
export interface NodeState {
  step: Step;
  status: NodeStatus;
  /** Log file paths; '' until the step is set up. */
  stdout: string;
  stderr: string;
  /** ISO 8601 times; '' when not reached. */
  startedAt: string;
  finishedAt: string;
  retriedAt: string;
  retryCount: number;
  doneCount: number;
  repeated: boolean;
  exitCode: number;
  error: string;
  preconditions: ConditionResult[];
  children: ChildRunRef[];
  childrenRepeated: ChildRunRef[];
  /** Output variables as Dagu stores them: NAME → `NAME=value`. */
  outputs: Record<string, string>;
}

export interface DagRunSnapshot {
  name: string;
  dagRunId: string;
  attemptId: string;
  root: DagRunRef;
  parent: DagRunRef | undefined;
  status: DagRunStatus;
  pid: number;
  queuedAt: string;
  startedAt: string;
  finishedAt: string;
  /** Path of the run log. */
  log: string;
  /** Effective params joined by spaces, and as `NAME=value` entries. */
  params: string;
  paramsList: string[];
  /** Names of params whose values came from a remote caller (API): data, never shell syntax. */
  untrustedParams?: string[];
  nodes: NodeState[];
  handlers: Partial<Record<HandlerName, NodeState>>;
  preconditions: ConditionResult[];
  /** The run error (the last error recorded), '' when none. */
  error: string;
}

export type RunEvent =
  | { type: 'run-started'; run: DagRunSnapshot; dag: Dag; trigger?: RunTrigger }
  | { type: 'step-started'; run: DagRunSnapshot; node: NodeState }
  | { type: 'step-updated'; run: DagRunSnapshot; node: NodeState }
  | { type: 'step-finished'; run: DagRunSnapshot; node: NodeState }
  | { type: 'run-finished'; run: DagRunSnapshot };

export type RunEventListener = (event: RunEvent) => void;

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

/** Keeps the latest snapshot of every run in memory; for tests and embedders without a database. */
export class InMemoryRunRecorder implements RunRecorder {
  private readonly runs = new Map<string, DagRunSnapshot>();

  async record(event: RunEvent): Promise<void> {
    // The live snapshot while the run goes on; a copy once it has ended.
    const snapshot = event.type === 'run-finished' ? structuredClone(event.run) : event.run;
    this.runs.set(`${event.run.name}:${event.run.dagRunId}`, snapshot);
  }

  get(name: string, dagRunId: string): DagRunSnapshot | undefined {
    return this.runs.get(`${name}:${dagRunId}`);
  }

  list(): DagRunSnapshot[] {
    return [...this.runs.values()];
  }
}
