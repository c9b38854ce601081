// Shared by the store's tests: temporary homes, DAGs and run snapshots, child processes that run
// the store from its sources.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DagRunStatus,
  NodeStatus,
  newNodeState,
  parseDag,
  type Dag,
  type DagRunSnapshot,
  type NodeState,
  type RunRecorder,
  type Step,
} from '@dagu-ts/core';

export function tempDir(prefix = 'dagu-store-', parent = tmpdir()): string {
  return mkdtempSync(join(parent, prefix));
}

/** A DAG with command steps `true` named `steps` (a chain). */
export function dagOf(name: string, steps: readonly string[] = ['a', 'b'], extra = ''): Dag {
  const lines = [extra, 'steps:'];
  for (const step of steps) lines.push(`  - name: ${step}`, '    command: "true"');
  return parseDag(lines.filter(Boolean).join('\n'), { name });
}

export function nodeOf(step: Step, status: NodeStatus = NodeStatus.NotStarted): NodeState {
  return { ...newNodeState(step), status };
}

let counter = 0;

/** A snapshot of a run of `dag` (status running, all nodes not started) with `fields` on top. */
export function snapshotOf(dag: Dag, fields: Partial<DagRunSnapshot> = {}): DagRunSnapshot {
  counter++;
  const dagRunId = fields.dagRunId ?? `run-${process.pid}-${counter}`;
  const name = fields.name ?? dag.name;
  return {
    name,
    dagRunId,
    attemptId: `att${counter}`,
    root: { name, dagRunId },
    parent: undefined,
    status: DagRunStatus.Running,
    pid: process.pid,
    queuedAt: '',
    startedAt: new Date().toISOString(),
    finishedAt: '',
    log: '',
    params: '',
    paramsList: [],
    nodes: dag.steps.map((step) => nodeOf(step)),
    handlers: {},
    preconditions: [],
    error: '',
    ...fields,
  };
}

/** Records run-started, then run-finished with `status` (unless it is Running). */
export async function recordRun(
  recorder: RunRecorder,
  dag: Dag,
  fields: Partial<DagRunSnapshot> = {},
  status: DagRunStatus = DagRunStatus.Success,
): Promise<DagRunSnapshot> {
  const run = snapshotOf(dag, { ...fields, status: DagRunStatus.Running });
  await recorder.record({ type: 'run-started', run, dag });
  if (status === DagRunStatus.Running) return run;
  run.status = status;
  run.finishedAt = run.finishedAt || run.startedAt;
  for (const node of run.nodes)
    node.status = status === DagRunStatus.Success ? NodeStatus.Success : NodeStatus.Failed;
  await recorder.record({ type: 'run-finished', run });
  return run;
}

const fixtures = fileURLToPath(new URL('.', import.meta.url));

/** Runs `src/test-fixtures/<script>` in a new Node process that loads the TypeScript sources. */
export function spawnFixture(script: string, args: readonly string[]): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--conditions=@dagu-ts/source',
      '--import',
      join(fixtures, 'register-ts.mjs'),
      join(fixtures, script),
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output until it exits. */
export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolves with the first stdout line that starts with `prefix`. */
export function lineStartingWith(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith(prefix));
      if (line !== undefined) {
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`child exited (${code}) before printing "${prefix}"`)),
    );
  });
}
