// One step of a run from launch to its final status: preconditions, log files, executions with
// retries and repeats (dag-yaml.md §4.4–§4.6), output capture, and stop/kill.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
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
import { shellArgv } from '../eval/shell-runner.js';
import { evaluateConditions, matchesExpected } from './conditions.js';
import type { DagRunOptions } from './runner.js';
import type { RunEnvironment } from './environment.js';
import type { RunLogLayout } from './logs.js';
import { NodeStatus } from './status.js';
import { startStepProcess, type StepProcess } from './process.js';
import { runChildStep } from './child.js';
import type { DagRunSnapshot, NodeState, RunEvent } from './types.js';

/** What a step needs from the run it belongs to. */
export interface StepHost {
  dag(): Dag;
  runId(): string;
  snapshot(): DagRunSnapshot;
  options(): DagRunOptions;
  environment(): RunEnvironment;
  layout(): RunLogLayout;
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
}

/** The result of one execution of a step. */
export interface Execution {
  exitCode: number;
  error: string | undefined;
}

/** Context an executor gets for one execution. */
export interface ExecutorContext {
  node: NodeState;
  host: StepHost;
  workDir: string;
  env: Record<string, string>;
  evalContext: (
    extraMaps?: ReadonlyArray<ReadonlyMap<string, string>>,
  ) => Omit<EvalContext, 'backticks' | 'osEnv'>;
  stdoutFd: number;
  stderrFd: number;
  signal: AbortSignal;
}

const STEP_TIMEOUT_EXIT_CODE = 124;
const OUTPUT_READ_LIMIT = 16 * 1024 * 1024;

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
    if (continueOn.output.length > 0 && node.stdout && existsSync(node.stdout)) {
      const lines = readTail(node.stdout, OUTPUT_READ_LIMIT).split('\n');
      return continueOn.output.some((pattern) =>
        pattern.startsWith('re:')
          ? lines.some((line) => safeRegExp(pattern.slice(3))?.test(line))
          : lines.some((line) => line.includes(pattern)),
      );
    }
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
    await host.emit('step-started', node);

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

    const now = this.host.now();
    const layout = host.layout();
    node.stdout = layout.stepLogFile(step.name, 'out', now);
    node.stderr = layout.stepLogFile(step.name, 'err', now);
    stepVars.set('DAG_RUN_STEP_STDOUT_FILE', node.stdout);
    stepVars.set('DAG_RUN_STEP_STDERR_FILE', node.stderr);
    const stdoutFd = openSync(node.stdout, 'a');
    const stderrFd = openSync(node.stderr, 'a');
    const deadline = mode.deadlineMs ?? step.timeoutSec;
    try {
      // Readers (API, `dagu-ts logs`) find a running step's log through the recorded paths.
      await host.emit('step-updated', node);
      const setupError = workDir.error ?? (await this.retryPolicyProblem());
      if (setupError) {
        this.fail(setupError);
        return;
      }
      const env = await this.processEnv(stepVars);
      const context: ExecutorContext = {
        node,
        host,
        workDir: workDir.path,
        env,
        evalContext: (extra = []) => this.evalContextWith(stepVars, extra),
        stdoutFd,
        stderrFd,
        signal: this.abort.signal,
      };
      const retryLimit = await this.evaluatePolicyNumber(step.retryPolicy?.limit, 0);
      const retryInterval = await this.evaluatePolicyNumber(step.retryPolicy?.intervalSec, 0);

      for (;;) {
        const timer =
          deadline && deadline > 0
            ? setTimeout(() => this.onStepTimeout(), mode.deadlineMs ?? deadline * 1000)
            : undefined;
        let execution: Execution;
        try {
          execution = await this.executeOnce(context, stepVars);
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
      closeSync(stdoutFd);
      closeSync(stderrFd);
      node.finishedAt = this.host.now().toISOString();
    }
  }

  // ---- one execution ---------------------------------------------------------------------------

  private async executeOnce(
    context: ExecutorContext,
    stepVars: Map<string, string>,
  ): Promise<Execution> {
    const { node, host } = this;
    const step = node.step;
    const outputStart = fstatSync(context.stdoutFd).size;
    let execution: Execution;
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
    const outputEnd = fstatSync(context.stdoutFd).size;
    if (step.stdout || step.stderr)
      await this.copyToRedirects(context, stepVars, outputStart, outputEnd);
    if (step.output) {
      const limit = host.dag().maxOutputSize;
      const size = outputEnd - outputStart;
      if (size > limit) {
        delete node.outputs[step.output];
        return {
          exitCode: execution.exitCode,
          error: `failed to capture output: output exceeded maximum size limit of ${limit} bytes`,
        };
      }
      const value = readRange(node.stdout, outputStart, size).trim();
      node.outputs[step.output] = `${step.output}=${value}`;
    }
    return execution;
  }

  private async dispatch(context: ExecutorContext): Promise<Execution> {
    const step = this.node.step;
    switch (step.executor.type) {
      case '':
      case 'command':
        return this.runProcess(context, await this.commandArgv(context));
      case 'shell':
        return this.runProcess(context, await this.directArgv(context));
      case 'dag':
      case 'subworkflow':
      case 'parallel':
        return runChildStep(context);
      case 'jq':
      case 'http':
        return this.runBuiltIn(context);
      default:
        return {
          exitCode: 1,
          error: `invalid executor: "${step.executor.type}" is not a known executor type`,
        };
    }
  }

  private async runProcess(
    context: ExecutorContext,
    argv: [string, ...string[]] | string,
  ): Promise<Execution> {
    if (typeof argv === 'string') return { exitCode: 1, error: argv };
    const scriptFile = await this.writeScript(context);
    try {
      const fullArgv = scriptFile ? ([...argv, scriptFile] as [string, ...string[]]) : argv;
      const spawner = this.host.options().spawner;
      this.process = spawner
        ? spawner.start({
            argv: fullArgv,
            cwd: context.workDir,
            env: context.env,
            stdoutPath: this.node.stdout,
            stderrPath: this.node.stderr,
          })
        : startStepProcess({
            argv: fullArgv,
            cwd: context.workDir,
            env: context.env,
            stdoutFd: context.stdoutFd,
            stderrFd: context.stderrFd,
          });
      if (this.abort.signal.aborted)
        this.process.signal(
          this.killed ? 'SIGKILL' : ((this.node.step.signalOnStop ?? 'SIGTERM') as NodeJS.Signals),
        );
      const result = await this.process.done;
      if (result.spawnError)
        return { exitCode: 1, error: `failed to start ${argv[0]}: ${result.spawnError.message}` };
      if (result.signal) return { exitCode: -1, error: `signal: ${result.signal}` };
      return {
        exitCode: result.exitCode,
        error: result.exitCode === 0 ? undefined : `exit status ${result.exitCode}`,
      };
    } finally {
      if (scriptFile) rmSync(scriptFile, { force: true });
    }
  }

  /** §2.1: how command / script / shell become argv for the command executor. */
  private async commandArgv(context: ExecutorContext): Promise<[string, ...string[]] | string> {
    const step = this.node.step;
    const shell = shellArgv(this.shell(), '').slice(0, -2) as string[];
    if (step.command === undefined) {
      if (step.script === undefined) return 'step command is required';
      return shell as [string, ...string[]];
    }
    // With a script the line is argv for an interpreter, else a shell parses it.
    const line = await this.commandLine(
      context,
      false,
      step.script !== undefined ? 'text' : 'shell',
    );
    if (step.script !== undefined) {
      // `command: python` + script ⇒ python <args…> <scriptfile>.
      const parts = line.split(/\s+/).filter((p) => p !== '');
      return parts as [string, ...string[]];
    }
    return shellArgv(this.shell(), line);
  }

  /** The `shell` executor: argv split from the evaluated line, no shell in between. */
  private async directArgv(context: ExecutorContext): Promise<[string, ...string[]] | string> {
    const line = await this.commandLine(context, true, 'text');
    const parts = splitArgs(line);
    return parts.length > 0 ? (parts as [string, ...string[]]) : 'step command is required';
  }

  /** The command is evaluated once per node; retries and repeats reuse it (§4.4). */
  private async commandLine(
    context: ExecutorContext,
    osEnv: boolean,
    target: EvalTarget,
  ): Promise<string> {
    if (this.evaluatedCommand !== undefined) return this.evaluatedCommand;
    const command = this.node.step.command ?? '';
    const evalContext = { ...context.evalContext(), backticks: true, osEnv, target };
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

  private async writeScript(context: ExecutorContext): Promise<string | undefined> {
    const script = this.node.step.script;
    if (script === undefined || this.node.step.executor.type === 'shell') return undefined;
    const text = await evaluateString(script, {
      ...context.evalContext(),
      backticks: false,
      osEnv: false,
      target: 'shell',
    });
    const file = join(
      this.host.layout().attemptDir,
      `dagu_script-${randomBytes(6).toString('hex')}`,
    );
    writeFileSync(file, text, { mode: 0o750 });
    return file;
  }

  private async runBuiltIn(context: ExecutorContext): Promise<Execution> {
    const step = this.node.step;
    const { runJq, runHttp } = await import('../exec/index.js');
    const evalContext = {
      ...context.evalContext(),
      backticks: true,
      osEnv: true,
      target: 'text' as const,
    };
    // Config string leaves see outputs and step variables only; params reach them through env.
    const [, stepVars = new Map<string, string>(), outputs = new Map<string, string>()] =
      evalContext.maps;
    const config = await evaluateConfig(step.executor.config, {
      maps: [outputs, stepVars],
      env: evalContext.env,
      backticks: true,
      osEnv: true,
      target: 'text',
      ...(evalContext.untrusted ? { untrusted: evalContext.untrusted } : {}),
      ...(evalContext.runShell ? { runShell: evalContext.runShell } : {}),
    });
    const command = await this.commandLine(context, true, 'text');
    const outcome =
      step.executor.type === 'jq'
        ? await runJq({
            query: command,
            input: await evaluateString(step.script ?? '', evalContext),
            raw: config.raw === true || config.raw === 'true',
          })
        : await runHttp({ command, config, signal: context.signal });
    if (outcome.stdout) writeSync(context.stdoutFd, outcome.stdout);
    if (outcome.stderr) writeSync(context.stderrFd, outcome.stderr);
    return { exitCode: outcome.exitCode, error: outcome.error };
  }

  private async copyToRedirects(
    context: ExecutorContext,
    stepVars: Map<string, string>,
    outStart: number,
    outEnd: number,
  ): Promise<void> {
    const step = this.node.step;
    const copy = async (
      target: string | undefined,
      source: string,
      start: number,
      end: number,
    ): Promise<void> => {
      if (!target || end <= start) return;
      const evaluated = await evaluateString(target, {
        ...this.evalContextWith(stepVars),
        backticks: true,
        osEnv: true,
        target: 'text',
      });
      const path = isAbsolute(evaluated) ? evaluated : resolve(context.workDir, evaluated);
      await pipeline(
        createReadStream(source, { start, end: end - 1 }),
        createWriteStream(path, { flags: 'a', mode: 0o600 }),
      );
    };
    await copy(step.stdout, this.node.stdout, outStart, outEnd);
    if (step.stderr) {
      // stderr has no recorded start offset per execution: copy what this execution appended.
      const errEnd = fstatSync(context.stderrFd).size;
      await copy(step.stderr, this.node.stderr, this.stderrCopied, errEnd);
      this.stderrCopied = errEnd;
    }
  }
  private stderrCopied = 0;

  // ---- failure, retry, repeat ------------------------------------------------------------------

  /** §4.5 decision order; true when the step should be retried. */
  private async handleError(
    execution: Execution,
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
    execution: Execution,
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

/** Evaluates every string leaf of an executor config (§3.2). */
async function evaluateConfig(
  config: Record<string, unknown>,
  context: EvalContext,
): Promise<Record<string, unknown>> {
  const visit = async (value: unknown): Promise<unknown> => {
    if (typeof value === 'string') return evaluateString(value, context);
    if (Array.isArray(value)) return Promise.all(value.map(visit));
    if (value && typeof value === 'object') {
      const entries = await Promise.all(
        Object.entries(value).map(async ([k, v]) => [k.toLowerCase(), await visit(v)] as const),
      );
      return Object.fromEntries(entries);
    }
    return value;
  };
  return (await visit(config)) as Record<string, unknown>;
}

function splitArgs(line: string): string[] {
  const parts: string[] = [];
  const pattern = /"((?:\\"|[^"])*)"|'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern))
    parts.push(match[1]?.replace(/\\"/g, '"') ?? match[2] ?? match[3] ?? '');
  return parts;
}

function readRange(path: string, start: number, length: number): string {
  if (length <= 0) return '';
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, start);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function readTail(path: string, limit: number): string {
  const size = statSync(path).size;
  if (size <= limit) return readFileSync(path, 'utf8');
  return readRange(path, size - limit, limit);
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
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
