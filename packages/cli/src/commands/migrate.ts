// `dagu-ts migrate --from-dagu <dir>`: imports the run history of a Dagu v1.17 installation, so
// a user who switches keeps it. Dagu keeps each run in files (internal/persistence/filedagrun):
//   <data>/dag-runs/<dag>/dag-runs/YYYY/MM/DD/dag-run_<UTC stamp>_<id>/
//       attempt_<stamp>_<attempt id>/status.jsonl      one JSON status per line, the last wins
//       children/child_<child id>/attempt_…/status.jsonl   sub-DAG runs of that run
// The latest attempt of every finished run (and child run) becomes one run in the store, with its
// log files copied under our log directory. Runs already imported are skipped, so running the
// command again imports only what is new.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  DagRunStatus,
  parseDag,
  safeName,
  type ConditionResult,
  type Dag,
  type DagRunSnapshot,
  type HandlerName,
  type NodeState,
} from '@dagu-ts/core';
import type { ImportedRun } from '@dagu-ts/store';
import { stringify } from 'yaml';
import { cliConfig } from '../settings.js';
import { fail, withStore } from './context.js';

const RUN_DIR = /^dag-run_(\d{8}_\d{6}Z)_(.+)$/;
const ATTEMPT_DIR = /^attempt_\d{8}_\d{6}_\d{3}Z_.+$/;
const CHILD_DIR = /^child_(.+)$/;

/** The parts of Dagu's DAGRunStatus and Node JSON that a run snapshot needs. */
interface DaguRef {
  name?: string;
  id?: string;
}
interface DaguStep {
  name: string;
  cmdWithArgs?: string;
  command?: string;
  args?: string[];
  script?: string;
  dir?: string;
  depends?: string[];
  output?: string;
  childDag?: { name?: string; params?: string };
}
interface DaguNode {
  step: DaguStep;
  stdout?: string;
  stderr?: string;
  startedAt?: string;
  finishedAt?: string;
  status?: number;
  retriedAt?: string;
  retryCount?: number;
  doneCount?: number;
  repeated?: boolean;
  error?: string;
  children?: Array<{ dagRunId?: string; params?: string }>;
  childrenRepeated?: Array<{ dagRunId?: string; params?: string }>;
  outputVariables?: Record<string, unknown>;
}
interface DaguStatus {
  root?: DaguRef;
  parent?: DaguRef;
  name: string;
  dagRunId: string;
  attemptId?: string;
  status: number;
  pid?: number;
  nodes?: DaguNode[];
  onExit?: DaguNode;
  onSuccess?: DaguNode;
  onFailure?: DaguNode;
  onCancel?: DaguNode;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  log?: string;
  params?: string;
  paramsList?: string[];
  preconditions?: Array<{ condition?: string; expected?: string; error?: string }>;
}

const HANDLERS: Array<[HandlerName, 'exit' | 'success' | 'failure' | 'cancel']> = [
  ['onExit', 'exit'],
  ['onSuccess', 'success'],
  ['onFailure', 'failure'],
  ['onCancel', 'cancel'],
];

/** Runs still in flight in Dagu are left there: here they would have no process or queue entry. */
const FINISHED = new Set<number>([
  DagRunStatus.Failed,
  DagRunStatus.Canceled,
  DagRunStatus.Success,
  DagRunStatus.PartialSuccess,
]);

/** The `dag-runs` directory of a Dagu data dir, home, or that directory itself. */
function dagRunsRoot(dir: string): string {
  for (const candidate of [join(dir, 'dag-runs'), join(dir, 'data', 'dag-runs')])
    if (existsSync(candidate)) return candidate;
  return dir;
}

function subdirs(dir: string, pattern?: RegExp): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && (!pattern || pattern.test(entry.name)))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** Every dag-run directory: <root>/<dag>/dag-runs/YYYY/MM/DD/dag-run_…, oldest first. */
function runDirs(root: string): string[] {
  const dirs: string[] = [];
  for (const dag of subdirs(root)) {
    const base = join(root, dag, 'dag-runs');
    for (const year of subdirs(base, /^\d{4}$/))
      for (const month of subdirs(join(base, year), /^\d\d$/))
        for (const day of subdirs(join(base, year, month), /^\d\d$/))
          for (const run of subdirs(join(base, year, month, day), RUN_DIR))
            dirs.push(join(base, year, month, day, run));
  }
  return dirs;
}

/** The last valid status of the newest attempt that has one, as Dagu reads it. */
function latestStatus(runDir: string): DaguStatus | undefined {
  for (const attempt of subdirs(runDir, ATTEMPT_DIR).reverse()) {
    const file = join(runDir, attempt, 'status.jsonl');
    if (!existsSync(file)) continue;
    let last: DaguStatus | undefined;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const status = JSON.parse(line) as DaguStatus;
        if (status && typeof status.name === 'string' && typeof status.dagRunId === 'string')
          last = status;
      } catch {
        // A torn last line (Dagu was killed mid-write): the previous status stands.
      }
    }
    if (last) return last;
  }
  return undefined;
}

/** Dagu's times (RFC 3339, or the legacy local `2006-01-02 15:04:05`) as ISO 8601; '' if none. */
function isoTime(value: string | undefined): string {
  if (!value || value === '-') return '';
  const date = new Date(/^\d{4}-\d\d-\d\d \d/.test(value) ? value.replace(' ', 'T') : value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** A step as YAML from what Dagu stored of it (its definition file may be gone or changed). */
function stepYaml(step: DaguStep): Record<string, unknown> {
  const command = step.cmdWithArgs || [step.command, ...(step.args ?? [])].join(' ').trim();
  const run = step.childDag?.name;
  return {
    name: step.name,
    ...(run
      ? { run, ...(step.childDag?.params ? { params: step.childDag.params } : {}) }
      : step.script
        ? { script: step.script, ...(command ? { command } : {}) }
        : { command: command || 'true' }),
    ...(step.dir ? { dir: step.dir } : {}),
    ...(step.output ? { output: step.output } : {}),
    depends: step.depends ?? [],
  };
}

/** The run's DAG rebuilt from its stored steps; with bare steps if those do not validate. */
function dagOf(status: DaguStatus): Dag {
  const nodes = status.nodes ?? [];
  const handlerOn = Object.fromEntries(
    HANDLERS.filter(([key]) => status[key]).map(([key, yamlKey]) => [
      yamlKey,
      { ...stepYaml(status[key]!.step), depends: undefined },
    ]),
  );
  const steps = nodes.map((node) => stepYaml(node.step));
  // Dagu stores resolved dependencies, so the graph type keeps them as they were.
  const full = { type: 'graph', steps, ...(Object.keys(handlerOn).length ? { handlerOn } : {}) };
  try {
    return parseDag(stringify(full), { name: status.name });
  } catch {
    const bare = {
      type: 'graph',
      steps: nodes.map((n) => ({ name: n.step.name, command: 'true' })),
    };
    return parseDag(stringify(bare), { name: status.name });
  }
}

/** Dagu's JSON has no exit code; a failed step's `exit status N` error tells it, else 1. */
function exitCodeOf(node: DaguNode): number {
  if (node.status !== 2) return 0;
  return Number(/exit status (\d+)/.exec(node.error ?? '')?.[1] ?? 1);
}

function toSnapshot(
  status: DaguStatus,
  dag: Dag,
  copyLog: (path: string | undefined) => string,
): DagRunSnapshot {
  const stepsByName = new Map(dag.steps.map((step) => [step.name, step]));
  const toNode = (node: DaguNode, step = stepsByName.get(node.step.name)): NodeState => ({
    step: step!,
    status: (node.status ?? 0) as NodeState['status'],
    stdout: copyLog(node.stdout),
    stderr: copyLog(node.stderr),
    startedAt: isoTime(node.startedAt),
    finishedAt: isoTime(node.finishedAt),
    retriedAt: isoTime(node.retriedAt),
    retryCount: node.retryCount ?? 0,
    doneCount: node.doneCount ?? 0,
    repeated: node.repeated ?? false,
    exitCode: exitCodeOf(node),
    error: node.error ?? '',
    preconditions: [],
    children: (node.children ?? []).map((c) => ({
      dagRunId: c.dagRunId ?? '',
      params: c.params ?? '',
    })),
    childrenRepeated: (node.childrenRepeated ?? []).map((c) => ({
      dagRunId: c.dagRunId ?? '',
      params: c.params ?? '',
    })),
    outputs: Object.fromEntries(
      Object.entries(node.outputVariables ?? {}).map(([key, value]) => [key, String(value)]),
    ),
  });
  const handlers: DagRunSnapshot['handlers'] = {};
  for (const [key] of HANDLERS) {
    const node = status[key];
    if (node && dag.handlerOn[key]) handlers[key] = toNode(node, dag.handlerOn[key]);
  }
  const self = { name: status.name, dagRunId: status.dagRunId };
  const parent = status.parent?.name && status.parent.id ? status.parent : undefined;
  const nodes = (status.nodes ?? []).map((node) => toNode(node));
  return {
    name: status.name,
    dagRunId: status.dagRunId,
    attemptId: status.attemptId ?? '',
    root:
      parent && status.root?.name && status.root.id
        ? { name: status.root.name, dagRunId: status.root.id }
        : self,
    parent: parent ? { name: parent.name!, dagRunId: parent.id! } : undefined,
    status: status.status as DagRunStatus,
    pid: status.pid ?? 0,
    queuedAt: isoTime(status.queuedAt),
    startedAt: isoTime(status.startedAt),
    finishedAt: isoTime(status.finishedAt),
    log: copyLog(status.log),
    params: status.params ?? '',
    paramsList: status.paramsList ?? [],
    nodes,
    handlers,
    preconditions: (status.preconditions ?? []).map((c): ConditionResult => ({
      condition: c.condition ?? '',
      expected: c.expected ?? '',
      error: c.error ?? '',
    })),
    error: [...nodes, ...Object.values(handlers)].findLast((n) => n.error)?.error ?? '',
  };
}

export async function migrateCommand(options: { fromDagu?: string }): Promise<number> {
  if (!options.fromDagu) return fail('migrate needs --from-dagu <Dagu data directory>');
  const root = dagRunsRoot(options.fromDagu);
  if (!existsSync(root)) return fail(`${options.fromDagu}: no such directory`);
  const { logDir } = cliConfig();
  const runs: ImportedRun[] = [];
  let unfinished = 0;
  let unreadable = 0;

  const add = (status: DaguStatus | undefined, runDirName: string): void => {
    if (!status) {
      unreadable++;
      return;
    }
    if (!FINISHED.has(status.status)) {
      unfinished++;
      return;
    }
    let dag: Dag;
    try {
      dag = dagOf(status);
    } catch {
      unreadable++;
      return;
    }
    // Logs go next to our own runs' logs, so they stay readable when Dagu's files are gone.
    const target = join(logDir, safeName(status.name), `${runDirName}-dagu`);
    const copyLog = (path: string | undefined): string => {
      if (!path || !existsSync(path)) return path ?? '';
      const copy = join(target, basename(path));
      if (!existsSync(copy)) {
        mkdirSync(target, { recursive: true });
        copyFileSync(path, copy);
      }
      return copy;
    };
    const snapshot = toSnapshot(status, dag, copyLog);
    runs.push({ dag, snapshot, trigger: snapshot.parent ? 'child' : 'cli' });
  };

  for (const runDir of runDirs(root)) {
    const runName = basename(runDir);
    add(latestStatus(runDir), runName);
    const childrenDir = join(runDir, 'children');
    for (const child of subdirs(childrenDir, CHILD_DIR))
      add(latestStatus(join(childrenDir, child)), `${runName}-${child}`);
  }
  if (runs.length === 0 && unfinished === 0 && unreadable === 0)
    return fail(`no Dagu dag-runs found under ${root}`);
  return withStore(async (store) => {
    // Parents before children, so that a child's root run exists when it is inserted.
    runs.sort((a, b) => Number(Boolean(a.snapshot.parent)) - Number(Boolean(b.snapshot.parent)));
    const inserted = await store.runs.importRuns(runs);
    const lines = [
      `imported ${inserted} run(s) from ${root}`,
      ...(runs.length > inserted ? [`${runs.length - inserted} already imported`] : []),
      ...(unfinished > 0 ? [`${unfinished} not finished in Dagu, left out`] : []),
      ...(unreadable > 0 ? [`${unreadable} without a readable status, left out`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
}
