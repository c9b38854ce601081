// The sub-DAG executors: `dag` / `subworkflow` (`run:`, §2.5) and `parallel` fan-out (§2.6).
// Children run as runs of their own, with their own ids and logs, recorded under the root run;
// the run starts them through `context.startChildRun`, so this module never imports the runner.
import type { Dag, ParallelItem } from '../dag/model.js';
import { evaluateString, type EvalContext } from '../eval/index.js';
import { childDagRunId } from '../run/ids.js';
import type { DagRunResult } from '../run/runner.js';
import { dagRunStatusLabel } from '../run/status.js';
import type { ChildRunRef, DagRunSnapshot } from '../run/types.js';
import type { Executor, ExecutorContext, ExecutorResult } from './executor.js';

const MAX_PARALLEL_ITEMS = 1000;

/** `run:` one child DAG with `params:`; the child's outputs are printed as JSON. */
export const dagExecutor: Executor = {
  async run(context) {
    const step = context.node.step;
    const child = await findChild(context);
    const params = step.params
      ? await evaluateString(step.params, { ...stepContext(context), target: 'params' })
      : '';
    const ref = recordChild(context, params);
    const result = await context.startChildRun(child, ref);
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
    context.write('stdout', `${JSON.stringify(report, null, 2)}\n`);
    return { exitCode: 0, error: undefined };
  },
};

/** `run:` the child DAG once per distinct item of `parallel:`; a JSON summary is printed. */
export const parallelExecutor: Executor = {
  async run(context) {
    return runParallel(context, await findChild(context));
  },
};

function stepContext(context: ExecutorContext): Omit<EvalContext, 'target'> {
  return { ...context.evalContext(), backticks: true, osEnv: true };
}

/** The DAG `run:` names; a name that is not found fails the step with the lookup's message. */
async function findChild(context: ExecutorContext): Promise<Dag> {
  const name = await evaluateString(context.node.step.run ?? '', {
    ...stepContext(context),
    target: 'text',
  });
  return context.findDag(name);
}

async function runParallel(context: ExecutorContext, child: Dag): Promise<ExecutorResult> {
  const step = context.node.step;
  const parallel = step.parallel!;
  const evalContext = stepContext(context);
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
    const id = childDagRunId(context.dagRunId, step.name, params, context.node.repeated);
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
        entry.result = await context.startChildRun(child, ref);
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
  context.write('stdout', `${JSON.stringify(report, null, 2)}\n`);
  const problems = failed.length + errored.length;
  if (problems > 0 || (context.signal.aborted && runs.length > ordered.length)) {
    return { exitCode: 1, error: `parallel execution failed with ${problems} errors` };
  }
  return { exitCode: 0, error: undefined };
}

function recordChild(context: ExecutorContext, params: string): ChildRunRef {
  const node = context.node;
  const ref = {
    dagRunId: childDagRunId(context.dagRunId, node.step.name, params, node.repeated),
    params,
  };
  if (node.repeated) node.childrenRepeated.push(...node.children);
  node.children = [ref];
  return ref;
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
