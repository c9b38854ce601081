// One step of a run from launch to its final status: preconditions, log files, executions with
// retries and repeats (dag-yaml.md §4.4–§4.6), timeouts and stop/kill. What one execution does is
// the executor's (exec/), looked up by the step's type in the run's executor registry.
import { statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Dag } from '../dag/model.js';
import { evaluateEnvEntries } from '../env/index.js';
import {
  createShellRunner,
  evaluateString,
  expandOsEnv,
  type EvalContext,
  type EvalTarget,
  type StepIdInfo,
} from '../eval/index.js';
import { builtInExecutors } from '../exec/builtin.js';
import type { ChildRunRequest, ExecutorContext, ExecutorResult } from '../exec/executor.js';
import { evaluateConditions, matchesExpected } from './conditions.js';
import { invalidExecutorError } from './executor-types.js';
import type { DagRunOptions, DagRunResult } from './runner.js';
import type { RunEnvironment } from './environment.js';
import type { RunLogSink } from '../ports.js';
import { outputMatches, StepLogs } from './output.js';
import { NodeStatus } from './status.js';
import { startStepProcess, type StepProcess, type StepProcessResult } from './process.js';
import type { NodeState, RunEvent } from './types.js';

/** What a step needs from the run it belongs to. */
export interface StepHost {
  dag(): Dag;
  runId(): string;
  /** The run's options: the spawner and the executor registry come from here. */
  options(): DagRunOptions;
  environment(): RunEnvironment;
  /** The attempt's logs: each step opens its stdout/stderr there. */
  runLogs(): RunLogSink;
  runVars(): Map<string, string>;
  engineCwd(): string;
  isCanceled(): boolean;
  isTimedOut(): boolean;
  outputsFor(node: NodeState, handler: boolean): Map<string, string>;
  stepIds(): Map<string, StepIdInfo>;
  recordError(message: string): void;
  clearError(message: string): void;
  emit(type: Extract<RunEvent, { node: NodeState }>['type'], node: NodeState): Promise<void>;
  log(line: string): void;
  /** The run's clock: every timestamp of a run comes from it. */
  now(): Date;
  /** `run: <name>`: the child DAG of that name. */
  findDag(name: string): Promise<Dag>;
  /** Starts a child run of a sub-DAG step, with the step's environment, directory and stop. */
  startChildRun(
    dag: Dag,
    request: ChildRunRequest,
    step: { env: Record<string, string>; cwd: string; signal: AbortSignal },
  ): Promise<DagRunResult>;
}

const STEP_TIMEOUT_EXIT_CODE = 124;

export class StepExecution {
  private process: StepProcess | undefined;
  private readonly abort = new AbortController();
  /** Cuts retry/repeat waits short without touching the running process. */
  private readonly wakeUp = new AbortController();
  private evaluatedCommand: string | undefined;
  private killed = false;
  private timedOutStep = false;

  constructor(
    private readonly host: StepHost,
    private readonly node: NodeState,
    private readonly mode: { handler: boolean; deadlineMs?: number },
  ) {}

  /** Whether a failed/skipped step lets its downstream go on (§4.2 "continue satisfied"). */
  static continueSatisfied(node: NodeState): boolean {
    const continueOn = node.step.continueOn;
    if (node.status === NodeStatus.Failed && continueOn.failure) return true;
    if (node.status === NodeStatus.Skipped && continueOn.skipped) return true;
    if (continueOn.exitCode.includes(node.exitCode)) return true;
    if (continueOn.output.length > 0 && node.stdout) return outputMatches(node);
    return false;
  }

  /** Stop request: the step's signal to its process group; aborts waits and child runs. */
  stop(signal: string): void {
    this.abort.abort();
    this.wakeUp.abort();
    this.process?.signal(signal as NodeJS.Signals);
  }

  /** A stop reaching a repeating step: no new iteration, the current one finishes. */
  interruptWaits(): void {
    this.wakeUp.abort();
  }

  /** Timeout: SIGKILL to the whole process group. */
  kill(): void {
    this.killed = true;
    this.abort.abort();
    this.wakeUp.abort();
    this.process?.signal('SIGKILL');
  }

  groupAlive(): boolean {
    return this.process?.groupAlive() ?? false;
  }

  async run(): Promise<void> {
    const { node, host, mode } = this;
    const step = node.step;
    node.startedAt = this.host.now().toISOString();
    // The step's start and its log paths are stored while its process starts, not before: the
    // fork does not wait for the store. The recorder keeps events in order (never before the
    // end of the step this one follows) and retries a failed write: it never fails the step.
    host.emit('step-started', node).catch(() => undefined);

    const workDir = this.resolveWorkDir();
    const stepVars = new Map<string, string>([
      ['DAG_RUN_STEP_NAME', step.name],
      ['PWD', workDir.path],
    ]);

    if (!mode.handler && step.preconditions.length > 0) {
      const env = host.environment().env;
      node.preconditions = await evaluateConditions(step.preconditions, {
        eval: this.evalContextWith(stepVars),
        runShell: createShellRunner({ env, cwd: host.engineCwd(), shell: this.shell() }),
      });
      if (node.preconditions.some((r) => r.error !== '')) {
        if (node.status === NodeStatus.Running) node.status = NodeStatus.Skipped;
        node.finishedAt = this.host.now().toISOString();
        return;
      }
    }
    if (!mode.handler && host.isCanceled()) {
      node.finishedAt = this.host.now().toISOString();
      return;
    }

    const logs = await StepLogs.open(node, host.runLogs(), this.host.now());
    stepVars.set('DAG_RUN_STEP_STDOUT_FILE', node.stdout);
    stepVars.set('DAG_RUN_STEP_STDERR_FILE', node.stderr);
    const deadline = mode.deadlineMs ?? step.timeoutSec;
    try {
      // Readers (API, `dagu-ts logs`) find a running step's log through the recorded paths.
      host.emit('step-updated', node).catch(() => undefined);
      const setupError = workDir.error ?? (await this.retryPolicyProblem());
      if (setupError) {
        this.fail(setupError);
        return;
      }
      const env = await this.processEnv(stepVars);
      const cwd = workDir.path;
      const signal = this.abort.signal;
      const context: ExecutorContext = {
        node,
        dag: host.dag(),
        dagRunId: host.runId(),
        workDir: cwd,
        env,
        shell: this.shell(),
        tempDir: host.runLogs().tempDir ?? tmpdir(),
        signal,
        evalContext: (extra = []) => this.evalContextWith(stepVars, extra),
        commandLine: (osEnv, target) => this.commandLine(stepVars, osEnv, target),
        write: (stream, text) => logs.write(stream, text),
        startProcess: (argv) => this.startProcess(argv, { cwd, env, logs }),
        findDag: (name) => host.findDag(name),
        startChildRun: (dag, request) => host.startChildRun(dag, request, { env, cwd, signal }),
      };
      const retryLimit = await this.evaluatePolicyNumber(step.retryPolicy?.limit, 0);
      const retryInterval = await this.evaluatePolicyNumber(step.retryPolicy?.intervalSec, 0);

      for (;;) {
        const timer =
          deadline && deadline > 0
            ? setTimeout(() => this.onStepTimeout(), mode.deadlineMs ?? deadline * 1000)
            : undefined;
        let execution: ExecutorResult;
        try {
          execution = await this.executeOnce(context, logs, stepVars);
        } finally {
          if (timer) clearTimeout(timer);
        }
        node.exitCode = execution.exitCode;
        if (execution.error !== undefined && !mode.handler) {
          if (await this.handleError(execution, retryLimit, retryInterval)) continue;
        } else if (execution.error !== undefined) {
          node.status = NodeStatus.Failed;
          node.error = execution.error;
        }
        if (node.status !== NodeStatus.Canceled) node.doneCount++;
        if (!mode.handler && !host.isCanceled() && (await this.shouldRepeat(execution, stepVars))) {
          if (node.status === NodeStatus.Failed) host.clearError(node.error);
          node.status = NodeStatus.Running;
          node.error = '';
          node.repeated = true;
          await host.emit('step-updated', node);
          await sleep((step.repeatPolicy?.intervalSec ?? 0) * 1000, this.wakeUp.signal);
          if (host.isCanceled()) break;
          continue;
        }
        break;
      }
      if (node.status === NodeStatus.Running) node.status = NodeStatus.Success;
    } finally {
      logs.close();
      node.finishedAt = this.host.now().toISOString();
    }
  }

  // ---- one execution ---------------------------------------------------------------------------

  private async executeOnce(
    context: ExecutorContext,
    logs: StepLogs,
    stepVars: Map<string, string>,
  ): Promise<ExecutorResult> {
    const step = this.node.step;
    const outputStart = logs.stdoutSize();
    let execution: ExecutorResult;
    try {
      execution = await this.dispatch(context);
    } catch (error) {
      execution = { exitCode: 1, error: (error as Error).message };
    }
    if (this.timedOutStep) {
      execution = {
        exitCode: STEP_TIMEOUT_EXIT_CODE,
        error: `step timed out after ${step.timeoutSec}s`,
      };
      this.timedOutStep = false;
      if (this.mode.deadlineMs)
        execution.error = `handler timed out after ${this.mode.deadlineMs / 1000}s`;
    }
    const stdout = { start: outputStart, end: logs.stdoutSize() };
    if (step.stdout || step.stderr) {
      await logs.copyToRedirects(stdout, context.workDir, (path) =>
        evaluateString(path, {
          ...this.evalContextWith(stepVars),
          backticks: true,
          osEnv: true,
          target: 'text',
        }),
      );
    }
    logs.matchOutput();
    if (step.output) {
      const error = logs.captureOutput(step.output, stdout, this.host.dag().maxOutputSize);
      if (error) return { exitCode: execution.exitCode, error };
    }
    return execution;
  }

  private async dispatch(context: ExecutorContext): Promise<ExecutorResult> {
    const type = this.node.step.executor.type;
    const executor = (this.host.options().executors ?? builtInExecutors).get(type);
    if (!executor) return { exitCode: 1, error: invalidExecutorError(type) };
    return executor.run(context);
  }

  /** A step process, tracked so that stop and timeout reach its process group. */
  private async startProcess(
    argv: readonly [string, ...string[]],
    options: { cwd: string; env: Record<string, string>; logs: StepLogs },
  ): Promise<StepProcessResult> {
    const { cwd, env, logs } = options;
    const { spawner, processes } = this.host.options();
    // Log files are written by the process itself (the helper opens them by path); other logs
    // get the output through pipes in this process.
    const files = logs.sink.files;
    const viaHelper = spawner !== undefined && files !== undefined && spawner.takesStep();
    this.process = viaHelper
      ? spawner.start({
          argv,
          cwd,
          env,
          stdoutPath: files.stdout.path,
          stderrPath: files.stderr.path,
        })
      : startStepProcess({
          argv,
          cwd,
          env,
          output: files
            ? { stdoutFd: files.stdout.fd, stderrFd: files.stderr.fd }
            : (stream, chunk) => logs.write(stream, chunk),
        });
    if (this.abort.signal.aborted)
      this.process.signal(
        this.killed ? 'SIGKILL' : ((this.node.step.signalOnStop ?? 'SIGTERM') as NodeJS.Signals),
      );
    const pid = this.process.pid;
    if (viaHelper || !processes || pid === undefined) return this.process.done;
    // A group that cannot be recorded (store not writable) only loses its crash recovery.
    await processes.add(pid).catch(() => undefined);
    try {
      return await this.process.done;
    } finally {
      await processes.remove(pid).catch(() => undefined);
    }
  }

  /** The command is evaluated once per node; retries and repeats reuse it (§4.4). */
  private async commandLine(
    stepVars: Map<string, string>,
    osEnv: boolean,
    target: EvalTarget,
  ): Promise<string> {
    if (this.evaluatedCommand !== undefined) return this.evaluatedCommand;
    const command = this.node.step.command ?? '';
    const evalContext = { ...this.evalContextWith(stepVars), backticks: true, osEnv, target };
    if (Array.isArray(command)) {
      const parts: string[] = [];
      for (const part of command) {
        const value = await evaluateString(part, evalContext);
        parts.push(value.includes(' ') ? `"${value.replace(/"/g, '\\"')}"` : value);
      }
      this.evaluatedCommand = parts.join(' ');
    } else {
      this.evaluatedCommand = await evaluateString(command, evalContext);
    }
    return this.evaluatedCommand;
  }

  // ---- failure, retry, repeat ------------------------------------------------------------------

  /** §4.5 decision order; true when the step should be retried. */
  private async handleError(
    execution: ExecutorResult,
    retryLimit: number,
    retryInterval: number,
  ): Promise<boolean> {
    const { node, host } = this;
    const error = execution.error!;
    if (node.status === NodeStatus.Success || node.status === NodeStatus.Canceled) return false;
    if (host.isTimedOut()) {
      node.status = NodeStatus.Canceled;
      node.error = error;
      host.recordError(error);
      return false;
    }
    if (host.isCanceled()) {
      node.status = NodeStatus.Failed;
      node.error = error;
      host.recordError(error);
      return false;
    }
    const policy = node.step.retryPolicy;
    if (policy && retryLimit > node.retryCount) {
      const qualifies =
        policy.exitCode.length > 0
          ? policy.exitCode.includes(execution.exitCode)
          : execution.exitCode !== 0;
      if (qualifies) {
        const backoff = policy.backoff ?? 1;
        let waitSec = retryInterval * backoff ** node.retryCount;
        if (policy.maxIntervalSec !== undefined) waitSec = Math.min(waitSec, policy.maxIntervalSec);
        node.retryCount++;
        host.log(
          `step ${node.step.name} failed (${error}); retry ${node.retryCount}/${retryLimit} in ${waitSec}s`,
        );
        await host.emit('step-updated', node);
        await sleep(waitSec * 1000, this.wakeUp.signal);
        if (host.isCanceled() || host.isTimedOut()) {
          if (node.status === NodeStatus.Running) node.status = NodeStatus.Canceled;
          return false;
        }
        node.retriedAt = this.host.now().toISOString();
        return true;
      }
      node.status = NodeStatus.Failed;
      node.error = error;
      host.recordError(error);
      return false;
    }
    node.status = NodeStatus.Failed;
    if (StepExecution.continueSatisfied(node) && node.step.continueOn.markSuccess) {
      node.status = NodeStatus.Success;
    } else {
      node.error = error;
      host.recordError(error);
    }
    return false;
  }

  private async shouldRepeat(
    execution: ExecutorResult,
    stepVars: Map<string, string>,
  ): Promise<boolean> {
    const { node, host } = this;
    const policy = node.step.repeatPolicy;
    if (!policy) return false;
    if (policy.limit > 0 && node.doneCount >= policy.limit) return false;
    if (policy.condition) {
      const ownOutputs = new Map(
        Object.entries(node.outputs).map(([k, v]): [string, string] => [k, v.slice(k.length + 1)]),
      );
      const evalContext = this.evalContextWith(stepVars, [ownOutputs]);
      if (policy.condition.expected !== '') {
        const value = await evaluateString(policy.condition.condition, {
          ...evalContext,
          backticks: true,
          osEnv: true,
          target: 'text',
        }).catch(() => '');
        return !matchesExpected(value, policy.condition.expected);
      }
      const [result] = await evaluateConditions([policy.condition], {
        eval: evalContext,
        runShell: createShellRunner({
          env: host.environment().env,
          cwd: host.engineCwd(),
          shell: this.shell(),
        }),
      });
      return result?.error === '';
    }
    if (policy.exitCode.length > 0) return policy.exitCode.includes(node.exitCode);
    if (policy.repeat) return execution.error === undefined || node.step.continueOn.failure;
    return false;
  }

  private onStepTimeout(): void {
    this.timedOutStep = true;
    this.process?.signal('SIGKILL');
    this.abort.abort();
  }

  private fail(message: string): void {
    this.node.status = NodeStatus.Failed;
    this.node.error = message;
    this.host.recordError(message);
  }

  // ---- environment and substitution ------------------------------------------------------------

  private evalContextWith(
    stepVars: Map<string, string>,
    extraMaps: ReadonlyArray<ReadonlyMap<string, string>> = [],
  ): Omit<EvalContext, 'backticks' | 'osEnv'> {
    const host = this.host;
    const env = host.environment().env;
    return {
      maps: [...extraMaps, host.runVars(), stepVars, host.outputsFor(this.node, this.mode.handler)],
      stepIds: host.stepIds(),
      env,
      untrusted: host.environment().untrusted,
      runShell: createShellRunner({ env, cwd: host.engineCwd() }),
    };
  }

  /** §3.4: engine env → DAG env → params → run vars → step vars → step env → ancestor outputs. */
  private async processEnv(stepVars: Map<string, string>): Promise<Record<string, string>> {
    const host = this.host;
    const environment = host.environment();
    const env: Record<string, string> = Object.fromEntries(environment.env);
    for (const entry of environment.dagEnv) env[entry.key] = entry.value;
    for (const param of environment.params) env[param.name] = param.value;
    for (const [key, value] of host.runVars()) env[key] = value;
    for (const [key, value] of stepVars) env[key] = value;
    if (this.node.step.env.length > 0) {
      const scoped = new Map(Object.entries(env));
      const entries = await evaluateEnvEntries(this.node.step.env, scoped, environment.runShell);
      for (const entry of entries) env[entry.key] = entry.value;
    }
    for (const [key, value] of host.outputsFor(this.node, this.mode.handler)) env[key] = value;
    return env;
  }

  private shell(): string {
    const env = this.host.environment().env;
    return (
      this.node.step.shell ??
      this.host.dag().shell ??
      env.get('DAGU_DEFAULT_SHELL') ??
      env.get('SHELL') ??
      'sh'
    );
  }

  /** §2 `dir`: OS-env expansion and `~`, relative to the engine's cwd; default DAG dir. */
  private resolveWorkDir(): { path: string; error: string | undefined } {
    const host = this.host;
    const dag = host.dag();
    const env = host.environment().env;
    const written = this.node.step.dir ?? dag.workingDir;
    let path: string;
    if (written !== undefined) {
      const expanded = expandOsEnv(written, env).replace(
        /^~(?=$|\/)/,
        env.get('HOME') ?? homedir(),
      );
      path = resolve(host.engineCwd(), expanded);
    } else {
      path = dag.location ? dirname(dag.location) : host.engineCwd();
    }
    let error: string | undefined;
    try {
      if (!statSync(path).isDirectory()) error = `working directory is not a directory: ${path}`;
    } catch {
      error = `working directory does not exist: ${path}`;
    }
    return { path, error };
  }

  /** String retry limits/intervals must evaluate to integers (§2 retryPolicy). */
  private async retryPolicyProblem(): Promise<string | undefined> {
    const policy = this.node.step.retryPolicy;
    for (const value of [policy?.limit, policy?.intervalSec]) {
      if (typeof value !== 'string') continue;
      const number = await this.evaluatePolicyNumber(value, NaN);
      if (!Number.isInteger(number))
        return `retryPolicy value ${JSON.stringify(value)} does not evaluate to an integer`;
    }
    return undefined;
  }

  private async evaluatePolicyNumber(
    value: number | string | undefined,
    fallback: number,
  ): Promise<number> {
    if (value === undefined) return fallback;
    if (typeof value === 'number') return value;
    const env = this.host.environment().env;
    try {
      const text = await evaluateString(value, {
        maps: [],
        env,
        backticks: true,
        osEnv: true,
        runShell: createShellRunner({ env, cwd: this.host.engineCwd() }),
      });
      const number = Number(text.trim());
      return text.trim() !== '' && Number.isInteger(number) ? number : fallback;
    } catch {
      return fallback;
    }
  }
}

/** A wait that a stop request cuts short. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
