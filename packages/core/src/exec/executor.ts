// The executor abstraction: what runs one execution of a step, by its `executor.type`. The step
// (run/step.ts) owns everything around an execution — preconditions, log files, retries,
// repeats, timeouts, output capture — so an executor only turns the step into output and an
// exit code. Executors are looked up in a registry that a run is given, so a type defined
// outside core runs like a built-in one.
import type { Dag } from '../dag/model.js';
import type { EvalContext, EvalTarget } from '../eval/index.js';
import type { StepProcessResult } from '../run/process.js';
import type { DagRunResult } from '../run/runner.js';
import type { NodeState } from '../run/types.js';

/** The result of one execution of a step. A failure is returned, not thrown. */
export interface ExecutorResult {
  exitCode: number;
  /** Why the execution failed (the step's error); undefined on success. */
  error: string | undefined;
}

/** What an in-process executor (jq, http) produced; `reportOutcome` hands it to the step. */
export interface ExecutorOutcome {
  /** Text for the step's stdout (what `output:` captures). */
  stdout: string;
  /** Text for the step's stderr log. */
  stderr: string;
  /** 0 on success; 1 on failure. */
  exitCode: number;
  /** Why the step failed; undefined on success. */
  error: string | undefined;
}

/** A child run a sub-DAG executor asks the run to start. */
export interface ChildRunRequest {
  dagRunId: string;
  /** The child's params as text (`KEY=value …`), already evaluated. */
  params: string;
}

/** What an executor gets for one execution of a step. */
export interface ExecutorContext {
  /** The step (`node.step`) and its state; a sub-DAG executor records its child runs on it. */
  readonly node: NodeState;
  /** The DAG the step belongs to, for DAG-level settings (the mail executor's `smtp`). */
  readonly dag: Dag;
  /** The id of the run the step belongs to. */
  readonly dagRunId: string;
  /** The step's working directory (checked to exist). */
  readonly workDir: string;
  /** The step's process environment (§3.4 order: engine env … step env, ancestor outputs). */
  readonly env: Readonly<Record<string, string>>;
  /** The shell of the step (step `shell`, DAG `shell`, DAGU_DEFAULT_SHELL, SHELL, sh). */
  readonly shell: string;
  /** A directory of this attempt for temporary files (script files); the run keeps it. */
  readonly tempDir: string;
  /** Aborted by a stop request or a timeout. */
  readonly signal: AbortSignal;
  /** Substitution context of the step: run variables, step variables, ancestor outputs. */
  evalContext(
    extraMaps?: ReadonlyArray<ReadonlyMap<string, string>>,
  ): Omit<EvalContext, 'backticks' | 'osEnv'>;
  /** The step's `command`, evaluated once per step: retries and repeats reuse it (§4.4). */
  commandLine(osEnv: boolean, target: EvalTarget): Promise<string>;
  /** Appends to the step's stdout log (what `output:` captures) or stderr log. */
  write(stream: 'stdout' | 'stderr', text: string): void;
  /**
   * Runs a process in its own process group with stdout/stderr going to the step's log files;
   * stop and timeout signal its group.
   */
  startProcess(argv: readonly [string, ...string[]]): Promise<StepProcessResult>;
  /** A DAG by name, the way `run:` finds it (local DAGs of the file, then the search paths). */
  findDag(name: string): Promise<Dag>;
  /** Runs a child DAG as a run of its own under this run (same log dir, recorder, stop). */
  startChildRun(dag: Dag, request: ChildRunRequest): Promise<DagRunResult>;
}

/** Runs one execution of a step of the types it is registered for. */
export interface Executor {
  /** A thrown error fails the execution with its message, like a returned error does. */
  run(context: ExecutorContext): Promise<ExecutorResult>;
}

/** Writes an in-process executor's output to the step's logs and returns its result. */
export function reportOutcome(context: ExecutorContext, outcome: ExecutorOutcome): ExecutorResult {
  if (outcome.stdout) context.write('stdout', outcome.stdout);
  if (outcome.stderr) context.write('stderr', outcome.stderr);
  return { exitCode: outcome.exitCode, error: outcome.error };
}

/** Executors by step type (`executor.type`; '' is a step without an executor). */
export class ExecutorRegistry {
  private readonly byType = new Map<string, Executor>();

  /** Runs steps of `type` with `executor`; a type registered again gets the new executor. */
  register(type: string, executor: Executor): this {
    this.byType.set(type, executor);
    return this;
  }

  get(type: string): Executor | undefined {
    return this.byType.get(type);
  }

  /** The registered types, in registration order. */
  types(): string[] {
    return [...this.byType.keys()];
  }
}
