// The DAG runner: executes one run of a DAG as a state machine over its steps with Dagu's
// semantics (dag-yaml.md §2–§4, Part A). Scheduling is event-driven: a step that ends triggers
// the next pass at once, with no polling timer.
import type { Dag, HandlerName, Step } from '../dag/model.js';
import type { ChildRunRequest, ExecutorRegistry } from '../exec/executor.js';
import type { LogStore, RunLogSink, RunRecorder, RunTrigger, StepProcessStore } from '../ports.js';
import { FileLogStore } from '../logs/file-log-store.js';
import type { ProcessSpawner } from './spawner.js';
import { HANDLER_NAMES } from '../dag/model.js';
import { createShellRunner, type StepIdInfo } from '../eval/index.js';
import { prepareRunEnvironment, type ParamsOverride, type RunEnvironment } from './environment.js';
import { evaluateConditions } from './conditions.js';
import { findChildDag } from './dag-lookup.js';
import { createRunNotifier, type RunNotifier } from './notify.js';
import { newAttemptId, newDagRunId } from './ids.js';
import { systemClock, type Clock } from '../clock.js';
import { ResilientRecorder } from './recording.js';
import { DagRunStatus, NodeStatus, dagRunStatusLabel } from './status.js';
import { recallOutputMatches } from './output.js';
import { StepExecution, type StepHost } from './step.js';
import type { DagRunRef, DagRunSnapshot, NodeState, RunEvent, RunEventListener } from './types.js';

export interface DagRunOptions {
  dag: Dag;
  /** Run id; a UUID v7 when omitted. */
  dagRunId?: string;
  /** Override params; `source: 'remote'` for params of an API caller (data only, Part A #10). */
  params?: ParamsOverride;
  /** Environment the run starts from (default: process.env); server secrets are left out. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Base directory of log files (the DAG's `logDir` wins when set); unused with `logs`. */
  logDir?: string;
  /** Where the run's logs go (default: files under `logDir`). */
  logs?: LogStore;
  recorder?: RunRecorder;
  /** Aborting it is a stop request (signalOnStop, then SIGKILL after maxCleanUpTimeSec). */
  signal?: AbortSignal;
  /** The root and parent runs of a child run. */
  root?: DagRunRef;
  parent?: DagRunRef;
  /** The engine's working directory: backticks and command-form conditions run there. */
  cwd?: string;
  /** Directories searched for `run: <name>` after the file's local DAGs. */
  dagSearchPaths?: readonly string[];
  /** DAGs callable by name before any file is searched (default: the DAG file's local DAGs). */
  localDags?: readonly Dag[];
  /**
   * DAG files resolved ahead of time, by `run:` name (collectChildDags): a worker has no DAG
   * files and gets them from the server. Searched after `localDags`, before any directory.
   */
  childDags?: Readonly<Record<string, Dag>>;
  queuedAt?: string;
  /**
   * Retry of an earlier run (§4.13): same run id, a new attempt. Without `step`, failed and
   * canceled steps and everything downstream of them run again and the other steps keep their
   * state and outputs; with `step`, only that step runs again (without its retry policy).
   */
  retry?: { previous: DagRunSnapshot; step?: string };
  /** What started the run, for the record (`child` for child runs). */
  trigger?: RunTrigger;
  /** Fork step processes through this helper instead of this process (long-lived servers). */
  spawner?: ProcessSpawner;
  /**
   * Where step process groups started from this process (without `spawner`, whose own hooks
   * record them) are recorded, so that recovery can end them if this process dies.
   */
  processes?: StepProcessStore;
  /** Source of every timestamp of the run (default: the machine's clock). */
  clock?: Clock;
  /** What runs each step type, child runs included (default: the built-in executors). */
  executors?: ExecutorRegistry;
}

export interface DagRunResult {
  status: DagRunStatus;
  /** Dagu's exit code of `start`: 0 unless the run recorded an error (§4.14). */
  exitCode: 0 | 1;
  snapshot: DagRunSnapshot;
  /**
   * Every step's `output:` variables as plain values ({GREETING: 'hello'}), in step order (a
   * later step wins a shared name). The snapshot keeps Dagu's `KEY=value` wire form.
   */
  outputs: Record<string, string>;
}

const RESEND_INTERVAL_MS = 5_000;

/**
 * The state of a run that waits in a queue: status queued, every step not started, params as
 * they will be used. Its params are evaluated now, like Dagu's enqueue does.
 */
export async function createQueuedSnapshot(
  dag: Dag,
  options: {
    dagRunId?: string;
    params?: ParamsOverride;
    baseEnv?: DagRunOptions['baseEnv'];
    clock?: Clock;
  },
): Promise<DagRunSnapshot> {
  const environment = await prepareRunEnvironment(dag, {
    ...(options.params ? { params: options.params } : {}),
    ...(options.baseEnv ? { baseEnv: options.baseEnv } : {}),
  });
  const clock = options.clock ?? systemClock;
  const runner = new DagRunner({
    dag,
    logDir: '',
    clock,
    ...(options.dagRunId ? { dagRunId: options.dagRunId } : {}),
  });
  return {
    ...runner.snapshot,
    status: DagRunStatus.Queued,
    queuedAt: clock.now().toISOString(),
    params: environment.paramsList.join(' '),
    paramsList: environment.paramsList,
    ...untrustedParamsOf(environment),
  };
}

/** The snapshot's record of which params are data from a remote caller (omitted when none). */
function untrustedParamsOf(environment: RunEnvironment): Pick<DagRunSnapshot, 'untrustedParams'> {
  return environment.untrusted.size > 0 ? { untrustedParams: [...environment.untrusted] } : {};
}

export class DagRunner {
  readonly dag: Dag;
  readonly dagRunId: string;
  readonly snapshot: DagRunSnapshot;
  private readonly options: DagRunOptions;
  private readonly listeners = new Set<RunEventListener>();
  private readonly nodesByName = new Map<string, NodeState>();
  /** Each step's ancestors, computed when first needed (a long chain has n² of them). */
  private readonly ancestors = new Map<string, Set<string>>();
  /** The nodes that may have outputs, in definition order: what outputsVisibleTo looks at. */
  private readonly producers: NodeState[];
  /** The nodes whose step has an id, for `${id.stdout}` references. */
  private readonly withIds: NodeState[];
  private readonly running = new Map<NodeState, StepExecution>();
  private readonly stopped = new Set<StepExecution>();
  private recording: Promise<void> = Promise.resolve();
  private readonly recorder: RunRecorder | undefined;
  private environment: RunEnvironment | undefined;
  private readonly logs: LogStore;
  private runLogs: RunLogSink | undefined;
  private runVars = new Map<string, string>();
  private canceled = false;
  private timedOut = false;
  private lastError = '';
  private pumping = false;
  private pumpAgain = false;
  /**
   * The scheduler's worklists, so that a pass looks only at steps whose upstreams all ended
   * (never at every step: that is quadratic in the size of the run). `waiting` counts each
   * not-started step's upstreams that have not ended; at 0 its readiness is final: `ready`
   * holds those that may start (in definition order), `marked` those marked canceled or
   * skipped because of an upstream, whose event is still to be sent.
   */
  private readonly position = new Map<NodeState, number>();
  private readonly downstream = new Map<NodeState, NodeState[]>();
  private readonly waiting = new Map<NodeState, number>();
  private readonly ready: NodeState[] = [];
  private readonly marked: NodeState[] = [];
  private onIdle: (() => void) | undefined;
  private escalation: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly clock: Clock;
  private readonly notifier: RunNotifier | undefined;

  constructor(options: DagRunOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logs = options.logs ?? new FileLogStore(options.logDir ?? '');
    this.dag = options.dag;
    this.dagRunId = options.dagRunId ?? newDagRunId(this.clock.now().getTime());
    const nodes = this.dag.steps.map((step) => newNodeState(step));
    for (const node of nodes) this.nodesByName.set(node.step.name, node);
    if (options.retry) this.restoreForRetry(nodes, options.retry);
    this.withIds = nodes.filter((node) => node.step.id);
    // Outputs come from steps with `output:` (and, in a retry, from the steps it keeps).
    this.producers = nodes.filter(
      (node) => node.step.output || Object.keys(node.outputs).length > 0,
    );
    const handlers: DagRunSnapshot['handlers'] = {};
    for (const name of HANDLER_NAMES) {
      const step = this.dag.handlerOn[name];
      if (step) handlers[name] = newNodeState(step);
    }
    this.snapshot = {
      name: this.dag.name,
      dagRunId: this.dagRunId,
      attemptId: newAttemptId(),
      root: options.root ?? { name: this.dag.name, dagRunId: this.dagRunId },
      parent: options.parent,
      status: DagRunStatus.NotStarted,
      pid: process.pid,
      queuedAt: options.queuedAt ?? '',
      startedAt: '',
      finishedAt: '',
      log: '',
      params: '',
      paramsList: [],
      nodes,
      handlers,
      preconditions: [],
      error: '',
    };
    options.signal?.addEventListener('abort', () => this.stop(), { once: true });
    // Mail notifications (§4.8) follow the run's events; see notify.ts.
    this.notifier = createRunNotifier(this.dag, (line) => this.log(line));
    if (this.notifier) this.subscribe(this.notifier.listener);
    // A store that fails after the start must not stop the run: the recorder retries.
    this.recorder =
      options.recorder &&
      new ResilientRecorder(options.recorder, {
        onError: (error) =>
          this.log(`cannot record the run's state, will retry: ${(error as Error).message}`),
        onRecovered: () => this.log("recording the run's state again"),
      });
  }

  private restoreForRetry(nodes: NodeState[], retry: NonNullable<DagRunOptions['retry']>): void {
    const previous = new Map(retry.previous.nodes.map((node) => [node.step.name, node]));
    let rerun: Set<string>;
    if (retry.step !== undefined) {
      if (!this.nodesByName.has(retry.step)) throw new Error(`step not found: ${retry.step}`);
      rerun = new Set([retry.step]);
    } else {
      const bad = retry.previous.nodes
        .filter(
          (n) =>
            n.status === NodeStatus.Failed ||
            n.status === NodeStatus.Canceled ||
            n.status === NodeStatus.Running,
        )
        .map((n) => n.step.name);
      rerun = new Set(bad);
      for (const step of this.dag.steps) {
        const ancestors = this.ancestorsOf(step.name);
        if (bad.some((b) => ancestors.has(b))) rerun.add(step.name);
      }
    }
    for (const [index, node] of nodes.entries()) {
      const before = previous.get(node.step.name);
      if (!before || rerun.has(node.step.name) || before.status === NodeStatus.NotStarted) {
        if (retry.step === node.step.name) node.step = { ...node.step, retryPolicy: undefined };
        continue;
      }
      nodes[index] = { ...structuredClone(before), step: node.step };
      this.nodesByName.set(node.step.name, nodes[index]!);
    }
  }

  /** Listens to every state change; returns the function that stops listening. */
  subscribe(listener: RunEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A stop request, like `dagu stop`: each running step's process group gets its `signalOnStop`
   * (default SIGTERM). `osSignal` is for a signal the engine process itself received: that
   * signal is forwarded as is, without the steps' override. Safe to call more than once.
   */
  stop(osSignal?: NodeJS.Signals): void {
    if (this.finished) return;
    this.canceled = true;
    for (const [node, execution] of this.running) {
      // A repeating step is not signalled: its current iteration finishes, no new one starts.
      if (node.step.repeatPolicy?.repeat) {
        execution.interruptWaits();
        continue;
      }
      execution.stop(osSignal ?? node.step.signalOnStop ?? 'SIGTERM');
      this.stopped.add(execution);
      node.status = NodeStatus.Canceled;
    }
    this.onIdleIfDone();
    this.startEscalation();
  }

  async run(): Promise<DagRunResult> {
    const startedAt = this.clock.now();
    this.runLogs = await this.logs.openRun({
      dagName: this.dag.name,
      dagRunId: this.dagRunId,
      attemptId: this.snapshot.attemptId,
      startedAt,
      ...(this.dag.logDir !== undefined ? { logDir: this.dag.logDir } : {}),
    });
    this.snapshot.log = this.runLogs.ref;
    this.snapshot.startedAt = startedAt.toISOString();
    this.snapshot.status = DagRunStatus.Running;
    this.log(
      `run started: dag=${this.dag.name} dagRunId=${this.dagRunId} attempt=${this.snapshot.attemptId}`,
    );

    try {
      // A retry runs with the params of the run it retries, taken literally.
      const previous = this.options.params ? undefined : this.options.retry?.previous;
      const params = previous ? recordedParams(previous) : this.options.params;
      this.environment = await prepareRunEnvironment(this.dag, {
        ...(params ? { params } : {}),
        ...(this.options.baseEnv ? { baseEnv: this.options.baseEnv } : {}),
        cwd: this.engineCwd,
      });
    } catch (error) {
      this.lastError = `failed to evaluate the DAG's env/params: ${(error as Error).message}`;
      await this.recordStart();
      return this.finish();
    }
    this.snapshot.paramsList = this.environment.paramsList;
    this.snapshot.params = this.environment.paramsList.join(' ');
    Object.assign(this.snapshot, untrustedParamsOf(this.environment));
    this.runVars = new Map([
      ['DAG_NAME', this.dag.name],
      ['DAG_RUN_ID', this.dagRunId],
      ['DAG_RUN_LOG_FILE', this.runLogs.ref],
      ...this.environment.params.map((p): [string, string] => [p.name, p.value]),
    ]);
    await this.recordStart();
    // A retry keeps steps of the earlier attempt: their `continueOn.output` is read back.
    if (this.options.retry) await recallOutputMatches(this.snapshot.nodes, this.logs);
    if (this.options.signal?.aborted) this.stop();

    const timeout =
      this.dag.timeoutSec > 0
        ? setTimeout(() => this.onTimeout(), this.dag.timeoutSec * 1000)
        : undefined;
    try {
      await this.checkDagPreconditions();
      if (!this.canceled) await this.runSteps();
    } finally {
      if (timeout) clearTimeout(timeout);
    }
    if (this.timedOut) this.lastError ||= `the DAG run timed out after ${this.dag.timeoutSec}s`;
    await this.runHandlers();
    return this.finish();
  }

  /** The start is recorded or the run does not exist: then it leaves no log directory behind. */
  private async recordStart(): Promise<void> {
    try {
      await this.emit({
        type: 'run-started',
        run: this.snapshot,
        dag: this.dag,
        trigger: this.options.trigger,
      });
    } catch (error) {
      await this.runLogs!.discard();
      throw error;
    }
  }

  // ---- StepHost: what a step execution needs from its run -------------------------------------

  private readonly host: StepHost = {
    dag: () => this.dag,
    runId: () => this.dagRunId,
    options: () => this.options,
    environment: () => this.environment!,
    runLogs: () => this.runLogs!,
    runVars: () => this.runVars,
    engineCwd: () => this.engineCwd,
    isCanceled: () => this.canceled,
    isTimedOut: () => this.timedOut,
    outputsFor: (node, handler) => this.outputsVisibleTo(node, handler),
    stepIds: () => this.stepIds(),
    recordError: (message) => {
      this.lastError = message;
    },
    clearError: (message) => {
      if (this.lastError === message) this.lastError = '';
    },
    emit: (type, node) => this.emit({ type, run: this.snapshot, node }),
    log: (line) => this.log(line),
    now: () => this.clock.now(),
    findDag: async (name) => {
      const localDags = this.options.localDags ?? this.dag.localDags;
      const known = this.options.childDags;
      if (known && Object.hasOwn(known, name) && !localDags.some((dag) => dag.name === name))
        return known[name]!;
      return findChildDag(name, {
        localDags,
        searchPaths: this.options.dagSearchPaths ?? [],
        engineCwd: this.engineCwd,
        parent: this.dag,
      });
    },
    startChildRun: (dag, request, step) => this.startChildRun(dag, request, step),
  };

  /** A child run: a run of its own, recorded under this run's root, stopped with its step. */
  private startChildRun(
    dag: Dag,
    request: ChildRunRequest,
    step: { env: Record<string, string>; cwd: string; signal: AbortSignal },
  ): Promise<DagRunResult> {
    const options = this.options;
    const child = new DagRunner({
      dag,
      dagRunId: request.dagRunId,
      trigger: 'child',
      // A parent with untrusted params may pass their values on: the child takes its params as
      // data then, like the API's (no backticks, no env expansion, never shell syntax).
      params: {
        text: request.params,
        ...(this.environment!.untrusted.size > 0 ? { source: 'remote' as const } : {}),
      },
      baseEnv: step.env,
      logs: this.logs,
      ...(options.recorder ? { recorder: options.recorder } : {}),
      signal: step.signal,
      root: this.snapshot.root,
      parent: { name: this.snapshot.name, dagRunId: this.snapshot.dagRunId },
      cwd: step.cwd,
      localDags: options.localDags ?? this.dag.localDags,
      ...(options.dagSearchPaths ? { dagSearchPaths: options.dagSearchPaths } : {}),
      ...(options.childDags ? { childDags: options.childDags } : {}),
      ...(options.spawner ? { spawner: options.spawner } : {}),
      ...(options.processes ? { processes: options.processes } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.executors ? { executors: options.executors } : {}),
    });
    return child.run();
  }

  private get engineCwd(): string {
    return this.options.cwd ?? process.cwd();
  }

  // ---- the step graph --------------------------------------------------------------------------

  private runSteps(): Promise<void> {
    const nodes = this.snapshot.nodes;
    nodes.forEach((node, index) => this.position.set(node, index));
    for (const node of nodes) {
      if (node.status !== NodeStatus.NotStarted) continue;
      let open = 0;
      for (const name of node.step.depends) {
        const upstream = this.nodesByName.get(name)!;
        let list = this.downstream.get(upstream);
        if (!list) this.downstream.set(upstream, (list = []));
        list.push(node);
        if (!ended(upstream)) open++;
      }
      this.waiting.set(node, open);
    }
    for (const node of nodes) if (this.waiting.get(node) === 0) this.classify(node);
    return new Promise((resolve) => {
      this.onIdle = resolve;
      this.pumpInBackground();
    });
  }

  /** pump from a callback: a failure (an event the store cannot record) fails the run. */
  private pumpInBackground(): void {
    this.pump().catch((error: unknown) => {
      this.lastError = `internal error: ${(error as Error).message}`;
      this.onIdleIfDone();
    });
  }

  /**
   * Scheduling (Dagu's loop body): sends the events of marked steps and starts ready steps in
   * definition order, as far as maxActiveSteps allows, until nothing changes.
   */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (!this.canceled) {
          const marked = this.marked.shift();
          if (marked) {
            await this.emit({ type: 'step-updated', run: this.snapshot, node: marked });
            this.settle(marked);
            continue;
          }
          const node = this.ready[0];
          if (!node) break;
          if (this.timedOut) {
            // Steps that would start after the deadline fail at once and count as canceled.
            this.ready.shift();
            node.status = NodeStatus.Canceled;
            await this.emit({ type: 'step-updated', run: this.snapshot, node });
            this.settle(node);
            continue;
          }
          if (this.dag.maxActiveSteps > 0 && this.running.size >= this.dag.maxActiveSteps) break;
          this.ready.shift();
          this.launch(node);
          if (this.dag.delaySec > 0) await delay(this.dag.delaySec * 1000);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    this.onIdleIfDone();
  }

  /** A step ended: its downstream steps whose upstreams have all ended now get their readiness. */
  private settle(node: NodeState): void {
    // A stopped run starts and marks nothing more: its not-started steps stay not started.
    if (!ended(node) || this.canceled) return;
    for (const next of this.downstream.get(node) ?? []) {
      const open = (this.waiting.get(next) ?? 0) - 1;
      this.waiting.set(next, open);
      if (open === 0 && next.status === NodeStatus.NotStarted) this.classify(next);
    }
  }

  /** A not-started step whose upstreams all ended: ready (kept in definition order) or marked. */
  private classify(node: NodeState): void {
    const readiness = this.readiness(node);
    if (readiness === 'marked') {
      this.marked.push(node);
      return;
    }
    if (readiness === 'wait') return;
    const position = this.position.get(node)!;
    let low = 0;
    let high = this.ready.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.position.get(this.ready[middle]!)! < position) low = middle + 1;
      else high = middle;
    }
    this.ready.splice(low, 0, node);
  }

  private onIdleIfDone(): void {
    if (this.running.size === 0 && !this.pumping && this.onIdle) {
      const resolve = this.onIdle;
      this.onIdle = undefined;
      resolve();
    }
  }

  private launch(node: NodeState): void {
    node.status = NodeStatus.Running;
    const execution = new StepExecution(this.host, node, { handler: false });
    this.running.set(node, execution);
    void execution
      .run()
      .catch((error: unknown) => {
        node.status = NodeStatus.Failed;
        node.error = `internal error: ${(error as Error).message}`;
        this.lastError = node.error;
      })
      .then(() => {
        const recorded = this.emit({ type: 'step-finished', run: this.snapshot, node });
        // The next steps start without waiting for this end to be stored: the recorder takes
        // events in order (emit), so no reader sees a later step before this step's end.
        this.running.delete(node);
        this.settle(node);
        this.pumpInBackground();
        return recorded;
      })
      .catch((error: unknown) => {
        this.lastError = `internal error: ${(error as Error).message}`;
      });
  }

  /** Dagu's isReady (§4.2): may mark the node canceled or skipped because of its upstreams. */
  private readiness(node: NodeState): 'ready' | 'wait' | 'marked' {
    let ready = true;
    let marked = false;
    for (const name of node.step.depends) {
      const upstream = this.nodesByName.get(name)!;
      switch (upstream.status) {
        case NodeStatus.Success:
          continue;
        case NodeStatus.Failed:
          if (StepExecution.continueSatisfied(upstream)) continue;
          ready = false;
          marked = true;
          node.status = NodeStatus.Canceled;
          node.error = 'upstream failed';
          break;
        case NodeStatus.Skipped:
          if (StepExecution.continueSatisfied(upstream)) continue;
          ready = false;
          marked = true;
          node.status = NodeStatus.Skipped;
          node.error = 'upstream skipped';
          break;
        case NodeStatus.Canceled:
          ready = false;
          marked = true;
          node.status = NodeStatus.Canceled;
          break;
        default:
          ready = false;
      }
    }
    if (marked) return 'marked';
    return ready ? 'ready' : 'wait';
  }

  private ancestorsOf(name: string): Set<string> {
    let ancestors = this.ancestors.get(name);
    if (!ancestors) this.ancestors.set(name, (ancestors = this.collectAncestors(name)));
    return ancestors;
  }

  private collectAncestors(name: string): Set<string> {
    const result = new Set<string>();
    const stack = [...(this.nodesByName.get(name)?.step.depends ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (result.has(next)) continue;
      result.add(next);
      stack.push(...(this.nodesByName.get(next)?.step.depends ?? []));
    }
    return result;
  }

  /** M3: outputs of the node's ancestors (all steps for handlers), in definition order. */
  private outputsVisibleTo(node: NodeState, handler: boolean): Map<string, string> {
    const outputs = new Map<string, string>();
    if (this.producers.length === 0) return outputs;
    const visible = handler ? undefined : this.ancestorsOf(node.step.name);
    for (const other of this.producers) {
      if (visible && !visible.has(other.step.name)) continue;
      for (const [name, entry] of Object.entries(other.outputs))
        outputs.set(name, entry.slice(name.length + 1));
    }
    return outputs;
  }

  private stepIds(): Map<string, StepIdInfo> {
    const ids = new Map<string, StepIdInfo>();
    for (const node of this.withIds) {
      if (!node.step.id) continue;
      ids.set(node.step.id, {
        ...(node.stdout ? { stdout: node.stdout } : {}),
        ...(node.stderr ? { stderr: node.stderr } : {}),
        exitCode: node.exitCode,
      });
    }
    return ids;
  }

  // ---- run-level conditions, timeout, stop -----------------------------------------------------

  private async checkDagPreconditions(): Promise<void> {
    if (this.dag.preconditions.length === 0) return;
    const env = this.environment!.env;
    const results = await evaluateConditions(this.dag.preconditions, {
      eval: { maps: [this.runVars], env, untrusted: this.environment!.untrusted },
      runShell: createShellRunner({
        env,
        cwd: this.engineCwd,
        ...(this.dag.shell ? { shell: this.dag.shell } : {}),
      }),
    });
    this.snapshot.preconditions = results;
    const unmet = results.filter((r) => r.error !== '');
    if (unmet.length > 0) {
      this.log(`DAG preconditions not met: ${unmet.map((r) => r.error).join('; ')}`);
      this.canceled = true;
    }
  }

  private onTimeout(): void {
    this.timedOut = true;
    this.log(`the DAG run timed out after ${this.dag.timeoutSec}s`);
    for (const execution of this.running.values()) execution.kill();
  }

  /** Re-sends SIGTERM every 5 s and SIGKILLs whatever is left after maxCleanUpTimeSec (Part A #7). */
  private startEscalation(): void {
    if (this.escalation || this.stopped.size === 0) return;
    const started = Date.now();
    const deadline = this.dag.maxCleanUpTimeSec * 1000;
    let lastResend = started;
    const tick = (): void => {
      const alive = [...this.stopped].filter((e) => e.groupAlive());
      if (alive.length === 0) {
        clearInterval(this.escalation);
        return;
      }
      const now = Date.now();
      if (now - started >= deadline) {
        for (const execution of alive) execution.kill();
        this.log(
          `sent SIGKILL to ${alive.length} step process group(s) after ${this.dag.maxCleanUpTimeSec}s`,
        );
        clearInterval(this.escalation);
        return;
      }
      if (now - lastResend >= RESEND_INTERVAL_MS) {
        lastResend = now;
        for (const execution of alive) execution.stop('SIGTERM');
      }
    };
    this.escalation = setInterval(tick, Math.min(250, Math.max(50, deadline / 4)));
    this.escalation.unref();
  }

  // ---- handlers and the end of the run ---------------------------------------------------------

  private async runHandlers(): Promise<void> {
    const status = this.computeStatus();
    const chosen: HandlerName[] = [];
    if (status === DagRunStatus.Success || status === DagRunStatus.PartialSuccess)
      chosen.push('onSuccess');
    else if (status === DagRunStatus.Failed) chosen.push('onFailure');
    else if (status === DagRunStatus.Canceled) chosen.push('onCancel');
    chosen.push('onExit');
    for (const name of chosen) {
      const node = this.snapshot.handlers[name];
      if (!node) continue;
      node.status = NodeStatus.Running;
      // Part A #8: after a timeout, handlers get a fresh deadline of maxCleanUpTimeSec.
      const execution = new StepExecution(this.host, node, {
        handler: true,
        ...(this.timedOut ? { deadlineMs: this.dag.maxCleanUpTimeSec * 1000 } : {}),
      });
      try {
        await execution.run();
      } catch (error) {
        node.status = NodeStatus.Failed;
        node.error = `internal error: ${(error as Error).message}`;
      }
      if (node.status === NodeStatus.Failed) this.lastError = node.error;
      await this.emit({ type: 'step-finished', run: this.snapshot, node });
    }
  }

  /** Dagu's Status() (§4.7). */
  private computeStatus(): DagRunStatus {
    const nodes = this.snapshot.nodes;
    const allSucceeded = nodes.every(
      (n) => n.status === NodeStatus.Success || n.status === NodeStatus.Skipped,
    );
    if (this.canceled && !allSucceeded) return DagRunStatus.Canceled;
    if (nodes.some((n) => n.status === NodeStatus.Running)) return DagRunStatus.Running;
    if (this.isPartialSuccess()) return DagRunStatus.PartialSuccess;
    if (this.lastError) return DagRunStatus.Failed;
    return DagRunStatus.Success;
  }

  private isPartialSuccess(): boolean {
    const nodes = this.snapshot.nodes;
    const failed = nodes.filter((n) => n.status === NodeStatus.Failed);
    if (failed.some((n) => !StepExecution.continueSatisfied(n))) return false;
    const hasSuccess = nodes.some((n) => n.status === NodeStatus.Success);
    const continuedFailure = failed.some((n) => !n.step.continueOn.markSuccess);
    return hasSuccess && continuedFailure;
  }

  private async finish(): Promise<DagRunResult> {
    this.snapshot.status = this.computeStatus();
    this.snapshot.error = this.lastError;
    this.snapshot.finishedAt = this.clock.now().toISOString();
    this.finished = true;
    this.log(
      `run finished: status=${dagRunStatusLabel(this.snapshot.status)}${this.lastError ? ` error=${this.lastError}` : ''}`,
    );
    await this.emit({ type: 'run-finished', run: this.snapshot });
    await this.notifier?.settled();
    this.runLogs?.close();
    return {
      status: this.snapshot.status,
      exitCode: this.lastError ? 1 : 0,
      snapshot: this.snapshot,
      outputs: plainOutputs(this.snapshot.nodes),
    };
  }

  private emit(event: RunEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not break the run.
      }
    }
    const recorder = this.recorder;
    if (!recorder) return Promise.resolve();
    // Recorder calls stay in event order even when steps end at the same time. A step's end is
    // recorded one event-loop turn later: the steps it frees are forked first (their starts
    // are queued behind it), so a store write is not on the path from one step to the next.
    const recorded = this.recording.then(() =>
      event.type === 'step-finished'
        ? nextTurn().then(() => recorder.record(event))
        : recorder.record(event),
    );
    this.recording = recorded.catch(() => undefined);
    return recorded;
  }

  private log(line: string): void {
    this.runLogs?.log(`${this.clock.now().toISOString()} ${line}`);
  }
}

/** Resolves in the event loop's next turn (after the I/O and microtasks of this one). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether a step has ended, as its downstream steps see it (§4.2 isReady). */
function ended(node: NodeState): boolean {
  return (
    node.status === NodeStatus.Success ||
    node.status === NodeStatus.Failed ||
    node.status === NodeStatus.Skipped ||
    node.status === NodeStatus.Canceled
  );
}

function plainOutputs(nodes: readonly NodeState[]): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const node of nodes)
    for (const [name, entry] of Object.entries(node.outputs))
      outputs[name] = entry.slice(name.length + 1);
  return outputs;
}

/** The state of a step that has not run yet. */
export function newNodeState(step: Step): NodeState {
  return {
    step,
    status: NodeStatus.NotStarted,
    stdout: '',
    stderr: '',
    startedAt: '',
    finishedAt: '',
    retriedAt: '',
    retryCount: 0,
    doneCount: 0,
    repeated: false,
    exitCode: 0,
    error: '',
    preconditions: [],
    children: [],
    childrenRepeated: [],
    outputs: {},
  };
}

/** The params an earlier run recorded, to start a run with (queued run, retry, restart). */
export function recordedParams(snapshot: DagRunSnapshot): ParamsOverride {
  return {
    recorded: { paramsList: snapshot.paramsList, untrusted: snapshot.untrustedParams },
  };
}

/** `NAME=value` entries back into a params string that parses to the same entries. */
export function quoteParams(paramsList: readonly string[]): string {
  return paramsList
    .map((entry) => {
      const eq = entry.indexOf('=');
      return `${entry.slice(0, eq)}="${entry.slice(eq + 1).replace(/"/g, '\\"')}"`;
    })
    .join(' ');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
