// Child DAG runs (`run:`, §2.5) and parallel fan-out (`parallel:`, §2.6). Children run in this
// process as runs of their own, with their own ids and logs, recorded under the root run.
import { writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { loadDag } from '../dag/loader.js';
import type { Dag, ParallelItem } from '../dag/model.js';
import { evaluateString } from '../eval/index.js';
import { childDagRunId } from './ids.js';
import { DagRunner, type DagRunResult } from './runner.js';
import { dagRunStatusLabel } from './status.js';
import type { Execution, ExecutorContext } from './step.js';
import type { ChildRunRef, DagRunSnapshot } from './types.js';

const MAX_PARALLEL_ITEMS = 1000;

export async function runChildStep(context: ExecutorContext): Promise<Execution> {
  const step = context.node.step;
  const evalContext = { ...context.evalContext(), backticks: true, osEnv: true };
  const name = await evaluateString(step.run ?? '', { ...evalContext, target: 'text' });
  let child: Dag;
  try {
    child = await resolveChildDag(name, context);
  } catch (error) {
    return { exitCode: 1, error: (error as Error).message };
  }
  if (step.executor.type !== 'parallel') {
    const params = step.params
      ? await evaluateString(step.params, { ...evalContext, target: 'params' })
      : '';
    const ref = recordChild(context, params);
    const result = await startChild(context, child, ref);
    if (result.exitCode !== 0) {
      return {
        exitCode: 1,
        error: `child DAG run ${child.name}:${ref.dagRunId} ended ${dagRunStatusLabel(result.status)}`,
      };
    }
    const report = {
      name: child.name,
      dagRunId: ref.dagRunId,
      params: result.snapshot.params,
      outputs: collectOutputs(result.snapshot),
    };
    writeSync(context.stdoutFd, `${JSON.stringify(report, null, 2)}\n`);
    return { exitCode: 0, error: undefined };
  }
  return runParallel(context, child);
}

async function runParallel(context: ExecutorContext, child: Dag): Promise<Execution> {
  const step = context.node.step;
  const parallel = step.parallel!;
  const evalContext = { ...context.evalContext(), backticks: true, osEnv: true };
  let items: ParallelItem[];
  if (parallel.items) {
    items = parallel.items;
  } else {
    const text = await evaluateString(parallel.variable ?? '', { ...evalContext, target: 'text' });
    items = parseItems(text);
  }
  // Items taken from a run with untrusted params may hold their values: ITEM is data too.
  const untrusted = evalContext.untrusted;
  const itemUntrusted =
    !parallel.items && untrusted?.size ? new Set([...untrusted, 'ITEM']) : untrusted;
  if (items.length === 0) return { exitCode: 1, error: 'parallel: no items to run' };
  if (items.length > MAX_PARALLEL_ITEMS)
    return { exitCode: 1, error: `parallel: more than ${MAX_PARALLEL_ITEMS} items` };

  // Identical params give the same child run id, so they run once.
  const paramsByRun = new Map<string, string>();
  for (const item of items) {
    const itemText = itemToString(item);
    const params = step.params
      ? await evaluateString(step.params, {
          ...context.evalContext([new Map([['ITEM', itemText]])]),
          backticks: true,
          osEnv: true,
          target: 'params',
          ...(itemUntrusted ? { untrusted: itemUntrusted } : {}),
        })
      : itemText;
    const id = childDagRunId(context.host.runId(), step.name, params, context.node.repeated);
    if (!paramsByRun.has(id)) paramsByRun.set(id, params);
  }
  const runs = [...paramsByRun.entries()].map(([dagRunId, params]) => ({ dagRunId, params }));
  context.node.children = runs;

  const results: Array<{ ref: ChildRunRef; result?: DagRunResult; error?: string }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runs.length && !context.signal.aborted) {
      const ref = runs[next++]!;
      const entry: { ref: ChildRunRef; result?: DagRunResult; error?: string } = { ref };
      results.push(entry);
      try {
        entry.result = await startChild(context, child, ref);
      } catch (error) {
        entry.error = (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel.maxConcurrent, runs.length) }, worker));
  const ordered = runs
    .map((ref) => results.find((r) => r.ref === ref))
    .filter((r) => r !== undefined);

  const succeeded = ordered.filter((r) => r.result?.exitCode === 0);
  const failed = ordered.filter((r) => r.result && r.result.exitCode !== 0);
  const errored = ordered.filter((r) => !r.result);
  const report = {
    summary: {
      total: runs.length,
      succeeded: succeeded.length,
      failed: failed.length,
      errors: errored.length,
    },
    results: ordered.map((r) => ({
      runId: r.ref.dagRunId,
      params: r.ref.params,
      status: r.result ? (r.result.exitCode === 0 ? 'success' : 'failed') : 'error',
      ...(r.result?.exitCode === 0 ? { output: collectOutputs(r.result.snapshot) } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(r.result && r.result.exitCode !== 0
        ? { error: r.result.snapshot.error || dagRunStatusLabel(r.result.status) }
        : {}),
      exitCode: r.result?.exitCode ?? 1,
    })),
    outputs: succeeded.map((r) => collectOutputs(r.result!.snapshot)),
  };
  writeSync(context.stdoutFd, `${JSON.stringify(report, null, 2)}\n`);
  const problems = failed.length + errored.length;
  if (problems > 0 || (context.signal.aborted && runs.length > ordered.length)) {
    return { exitCode: 1, error: `parallel execution failed with ${problems} errors` };
  }
  return { exitCode: 0, error: undefined };
}

function recordChild(context: ExecutorContext, params: string): ChildRunRef {
  const node = context.node;
  const ref = {
    dagRunId: childDagRunId(context.host.runId(), node.step.name, params, node.repeated),
    params,
  };
  if (node.repeated) node.childrenRepeated.push(...node.children);
  node.children = [ref];
  return ref;
}

function startChild(context: ExecutorContext, dag: Dag, ref: ChildRunRef): Promise<DagRunResult> {
  const host = context.host;
  const options = host.options();
  const snapshot = host.snapshot();
  const runner = new DagRunner({
    dag,
    dagRunId: ref.dagRunId,
    trigger: 'child',
    // A parent with untrusted params may pass their values on: the child takes its params as
    // data then, like the API's (no backticks, no env expansion, never shell syntax).
    params: {
      text: ref.params,
      ...(host.environment().untrusted.size > 0 ? { source: 'remote' as const } : {}),
    },
    baseEnv: context.env,
    logDir: options.logDir,
    ...(options.recorder ? { recorder: options.recorder } : {}),
    signal: context.signal,
    root: snapshot.root,
    parent: { name: snapshot.name, dagRunId: snapshot.dagRunId },
    cwd: context.workDir,
    localDags: options.localDags ?? host.dag().localDags,
    ...(options.dagSearchPaths ? { dagSearchPaths: options.dagSearchPaths } : {}),
    ...(options.spawner ? { spawner: options.spawner } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return runner.run();
}

/** Local DAGs of the file first, then a path, then the search directories (§2.5). */
async function resolveChildDag(name: string, context: ExecutorContext): Promise<Dag> {
  const options = context.host.options();
  const parent = context.host.dag();
  const local = (options.localDags ?? parent.localDags).find((dag) => dag.name === name);
  if (local) return local;
  const dirs = [
    ...(options.dagSearchPaths ?? []),
    context.host.engineCwd(),
    ...(parent.location ? [dirname(parent.location)] : []),
  ];
  const candidates = name.includes('/') ? [resolve(context.host.engineCwd(), name)] : [];
  for (const dir of dirs) candidates.push(join(dir, name));
  for (const candidate of candidates) {
    for (const path of [candidate, `${candidate}.yaml`, `${candidate}.yml`]) {
      if (existsSync(path) && !path.endsWith('/')) {
        try {
          return await loadDag(path);
        } catch (error) {
          throw new Error(
            `child DAG ${JSON.stringify(name)} does not load: ${(error as Error).message}`,
          );
        }
      }
    }
  }
  throw new Error(`child DAG not found: ${JSON.stringify(name)}`);
}

/** Output variables of every step of a child run, merged (internal DAGU_ keys left out). */
function collectOutputs(snapshot: DagRunSnapshot): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const node of snapshot.nodes) {
    for (const [name, entry] of Object.entries(node.outputs)) {
      if (!name.startsWith('DAGU_')) outputs[name] = entry.slice(name.length + 1);
    }
  }
  return outputs;
}

function parseItems(text: string): ParallelItem[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (Array.isArray(parsed)) return parsed as ParallelItem[];
    } catch {
      // Not JSON: fall back to whitespace splitting.
    }
  }
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/** Strings as-is, numbers and booleans printed, objects as compact JSON with sorted keys. */
function itemToString(item: ParallelItem): string {
  if (typeof item !== 'object' || item === null) return String(item);
  const sorted = Object.fromEntries(
    Object.keys(item)
      .sort()
      .map((k) => [k, item[k]]),
  );
  return JSON.stringify(sorted);
}
