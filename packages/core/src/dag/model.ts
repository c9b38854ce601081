// The DAG model: what a loaded and validated DAG file is, before any run-time evaluation.
// Field names follow the YAML keys of dag-yaml.md so that a reader of the spec finds them.
import type { EnvEntry } from '../env/index.js';
import type { ParamsDefinition } from '../params/index.js';

export type DagType = 'chain' | 'graph';

/** A precondition or repeat condition (dag-yaml.md §2.4). `expected` empty ⇒ command form. */
export interface Condition {
  condition: string;
  expected: string;
}

/** One cron expression with its optional `CRON_TZ=`/`TZ=` prefix split off. */
export interface ScheduleEntry {
  /** The expression as written, prefix included. */
  expression: string;
  /** The 5-field cron (or `@daily`-style descriptor) without the time-zone prefix. */
  cron: string;
  /** IANA time zone from the prefix; undefined ⇒ the engine's zone. */
  timezone: string | undefined;
}

export interface Schedules {
  start: ScheduleEntry[];
  stop: ScheduleEntry[];
  restart: ScheduleEntry[];
}

export interface ContinueOn {
  failure: boolean;
  skipped: boolean;
  exitCode: number[];
  /** Literal substrings or `re:` regular expressions matched per line of the stdout log. */
  output: string[];
  markSuccess: boolean;
}

export interface RetryPolicy {
  /** A number, or a string evaluated at run time (env + backticks) that must yield an integer. */
  limit: number | string;
  intervalSec: number | string;
  /** Exit codes that qualify for a retry; empty ⇒ any non-zero exit. */
  exitCode: number[];
  /** Extension: multiplier applied to the interval after each retry (≥ 1). */
  backoff: number | undefined;
  /** Extension: upper bound of the interval once backoff applies. */
  maxIntervalSec: number | undefined;
}

export interface RepeatPolicy {
  repeat: boolean;
  intervalSec: number;
  /** Maximum number of executions in total; 0 = unlimited. */
  limit: number;
  condition: Condition | undefined;
  exitCode: number[];
}

export interface ExecutorSpec {
  /** `''` or `command` = the default command executor. */
  type: string;
  config: Record<string, unknown>;
}

export type ParallelItem = string | number | boolean | Record<string, string | number | boolean>;

export interface ParallelSpec {
  /** Static items, or undefined when `variable` is used. */
  items: ParallelItem[] | undefined;
  /** A string evaluated at run time (JSON array or whitespace-separated list). */
  variable: string | undefined;
  maxConcurrent: number;
}

export interface Step {
  name: string;
  id: string | undefined;
  description: string | undefined;
  /** String form: a shell command line. List form: program and arguments. */
  command: string | string[] | undefined;
  script: string | undefined;
  shell: string | undefined;
  shellPackages: string[];
  /** Working directory as written; undefined ⇒ the DAG's default (workingDir or the file's dir). */
  dir: string | undefined;
  /** Upstream step names (ids already resolved to names; chain dependencies injected). */
  depends: string[];
  output: string | undefined;
  stdout: string | undefined;
  stderr: string | undefined;
  /** Extension: step-level environment, evaluated like the DAG env, visible to this step only. */
  env: EnvEntry[];
  preconditions: Condition[];
  continueOn: ContinueOn;
  retryPolicy: RetryPolicy | undefined;
  repeatPolicy: RepeatPolicy | undefined;
  mailOnError: boolean;
  signalOnStop: string | undefined;
  executor: ExecutorSpec;
  /** Child DAG to run (executor `dag`, or `parallel` with `parallel`). */
  run: string | undefined;
  /** Child params normalised to `KEY="value" …` (unevaluated). */
  params: string | undefined;
  parallel: ParallelSpec | undefined;
  /** Extension: per-step deadline; exceeding it fails the step with exit code 124. */
  timeoutSec: number | undefined;
  /** 1-based line of the step in its file, for messages. */
  line: number;
}

export type HandlerName = 'onSuccess' | 'onFailure' | 'onCancel' | 'onExit';

export const HANDLER_NAMES: readonly HandlerName[] = [
  'onSuccess',
  'onFailure',
  'onCancel',
  'onExit',
];

export interface MailConfig {
  from: string;
  to: string;
  prefix: string;
  attachLogs: boolean;
}

export interface SmtpConfig {
  host: string;
  port: string;
  username: string;
  password: string;
}

export interface Dag {
  name: string;
  group: string | undefined;
  description: string | undefined;
  tags: string[];
  type: DagType;
  schedule: Schedules;
  skipIfSuccessful: boolean;
  restartWaitSec: number;
  params: ParamsDefinition | undefined;
  env: EnvEntry[];
  dotenv: string[];
  logDir: string | undefined;
  histRetentionDays: number;
  maxActiveRuns: number;
  maxActiveSteps: number;
  timeoutSec: number;
  delaySec: number;
  maxCleanUpTimeSec: number;
  preconditions: Condition[];
  handlerOn: Partial<Record<HandlerName, Step>>;
  mailOn: { failure: boolean; success: boolean } | undefined;
  smtp: SmtpConfig | undefined;
  errorMail: MailConfig | undefined;
  infoMail: MailConfig | undefined;
  queue: string | undefined;
  /**
   * Dagu's `workerSelector`: the run goes to a worker whose labels contain every pair (and waits
   * queued until one claims it); undefined = the server may run it itself.
   */
  workerSelector: Record<string, string> | undefined;
  otel: Record<string, unknown> | undefined;
  steps: Step[];
  /** Extension: output capture limit in bytes (default 1 MiB). */
  maxOutputSize: number;
  /** Extension: default shell of the steps. */
  shell: string | undefined;
  /** Extension: default working directory of the steps. */
  workingDir: string | undefined;
  /** Absolute path of the file the DAG came from, if any. */
  location: string | undefined;
  /**
   * The YAML text the DAG was parsed from (the whole file, local DAGs included); set by
   * `parseDag` on the main DAG. Runs store it with their definition, so the spec a run used
   * can be shown after the file changed (GET /dag-runs/{name}/{dagRunId}/spec).
   */
  spec?: string;
  /** Other documents of the same file, callable by name from `run:`. */
  localDags: Dag[];
}

export const DEFAULT_MAX_OUTPUT_SIZE = 1024 * 1024;
export const DEFAULT_HIST_RETENTION_DAYS = 30;
export const DEFAULT_MAX_CLEANUP_TIME_SEC = 60;
export const MAX_STEP_NAME_LENGTH = 40;

/** The cheap view of a DAG file used for listings (no steps validation, no evaluation). */
export interface DagMetadata {
  name: string;
  group: string | undefined;
  description: string | undefined;
  tags: string[];
  schedule: Schedules;
  /** Default params as `NAME=value` (positional named `1`, `2`, …), unevaluated. */
  params: string[];
  /** Default params re-joined with quoting, e.g. `P1="foo" P2="bar"`. */
  defaultParams: string;
  queue: string | undefined;
  maxActiveRuns: number;
}
