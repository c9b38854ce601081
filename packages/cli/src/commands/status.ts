// `dagu-ts status` and `dagu-ts history`: what the store knows about a DAG's runs. The text is
// printed from the API's DAGRunDetails shape, so local and remote (--server) output agree; the
// fields the API leaves out (pid, exit codes) are added locally from the stored snapshot. The
// shape is the client's type generated from the OpenAPI document; locally the run is converted
// by the API's own wire-format helpers (loaded only by the local commands that need them).
import type { DAGRunDetails, Node } from '@dagu-ts/client';
import { dagRunStatusLabel, type DagRunSnapshot, type NodeState } from '@dagu-ts/core';
import { formatTable } from '../table.js';
import { dagNameOf, fail, withStore, type Store } from './context.js';
import { tailLines } from './log-files.js';

/** Lines of a failed step's log that `status` shows. */
export const PREVIEW_LINES = 10;

/** A Node plus what only the local store knows (the API's times are to the second). */
type NodeView = Node & { exitCode?: number; durationMs?: number };

type HandlerKey = 'onSuccess' | 'onFailure' | 'onCancel' | 'onExit';

/** DAGRunDetails as `status` prints it: locally also the pid and each step's exit code. */
export type RunView = Omit<DAGRunDetails, 'nodes' | HandlerKey> & {
  pid?: number;
  nodes: NodeView[];
} & { [K in HandlerKey]?: NodeView };

/** The last log lines of each failed step (stderr, else stdout), by step name. */
export type LogPreviews = Map<string, string[]>;

/**
 * A run of `name` by id (a root run, or a child run under a root run of `name`, or a child run
 * named `name`), or the latest root run without an id.
 */
export async function findRun(
  store: Store,
  name: string,
  runId: string | undefined,
): Promise<DagRunSnapshot | undefined> {
  if (!runId) return (await store.runs.getLatestRun(name))?.snapshot;
  const root = await store.runs.getRun(name, runId);
  if (root) return root.snapshot;
  // Child runs are not root runs: look the id up among all runs (an indexed query).
  const { runs } = await store.runs.listRuns({ dagRunId: runId, includeChildren: true });
  return runs.find((run) => run.name === name || run.root.name === name);
}

export async function statusCommand(
  dagArg: string,
  options: { runId?: string; json?: boolean },
): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const snapshot = await findRun(store, name, options.runId);
    if (!snapshot) return fail(runNotFound(name, options.runId));
    const { toDagRunDetails } = await import('@dagu-ts/api/run-views');
    const details = toDagRunDetails(snapshot);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(details, null, 2)}\n`);
      return 0;
    }
    const view = localView(details, snapshot);
    process.stdout.write(describeRun(view, snapshot.error, localPreviews(view)));
    return 0;
  });
}

/** The API's shape plus what only the snapshot has: the pid and each step's exit code. */
function localView(details: DAGRunDetails, snapshot: DagRunSnapshot): RunView {
  const withExit = (view: NodeView | undefined, node: NodeState | undefined) =>
    view && node
      ? {
          ...view,
          exitCode: node.exitCode,
          ...(node.startedAt
            ? { durationMs: elapsedMs(node.startedAt, node.finishedAt || undefined) }
            : {}),
        }
      : view;
  const handlers = snapshot.handlers;
  return {
    ...details,
    ...(snapshot.pid ? { pid: snapshot.pid } : {}),
    nodes: details.nodes.map((view, i) => withExit(view, snapshot.nodes[i])!),
    ...optionalNode('onSuccess', withExit(details.onSuccess, handlers.onSuccess)),
    ...optionalNode('onFailure', withExit(details.onFailure, handlers.onFailure)),
    ...optionalNode('onCancel', withExit(details.onCancel, handlers.onCancel)),
    ...optionalNode('onExit', withExit(details.onExit, handlers.onExit)),
  };
}

function optionalNode(key: string, node: NodeView | undefined): Record<string, NodeView> {
  return node ? { [key]: node } : {};
}

/** The nodes `status` lists: the steps, then the handlers that ran. */
export function nodesOf(run: RunView): NodeView[] {
  const handlers = [run.onSuccess, run.onFailure, run.onCancel, run.onExit].filter(
    (node): node is NodeView => node !== undefined && node.status !== 0,
  );
  return [...run.nodes, ...handlers];
}

/** Failed steps whose log preview `status` shows. */
export function failedNodes(run: RunView): NodeView[] {
  return nodesOf(run).filter((node) => node.status === 2);
}

function localPreviews(run: RunView): LogPreviews {
  const previews: LogPreviews = new Map();
  for (const node of failedNodes(run)) {
    const stderr = tailLines(node.stderr ?? '', PREVIEW_LINES);
    const lines = stderr.length > 0 ? stderr : tailLines(node.stdout ?? '', PREVIEW_LINES);
    if (lines.length > 0) previews.set(node.step.name, lines);
  }
  return previews;
}

export function runNotFound(name: string, runId: string | undefined): string {
  return runId ? `dag-run ${name} ${runId} not found` : `no run of DAG ${name} yet`;
}

/** Milliseconds from `startedAt` to `finishedAt` (now while running); undefined if not started. */
function elapsedMs(startedAt?: string, finishedAt?: string): number | undefined {
  const start = startedAt && startedAt !== '-' ? Date.parse(startedAt) : NaN;
  if (Number.isNaN(start)) return undefined;
  const end = finishedAt && finishedAt !== '-' ? Date.parse(finishedAt) : NaN;
  return Math.max(0, (Number.isNaN(end) ? Date.now() : end) - start);
}

/** A step's run time, Dagu-style (`850ms`, `12.3s`, `2m5s`, `1h2m`); '' when it did not run. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** Dagu-like text summary of a run; `error` is the run error when the caller knows it. */
export function describeRun(
  run: RunView,
  error?: string,
  previews: LogPreviews = new Map(),
): string {
  const lines = [
    `DAG:      ${run.name}`,
    `Run ID:   ${run.dagRunId}`,
    ...(run.rootDAGRunId && run.rootDAGRunId !== run.dagRunId
      ? [`Root:     ${run.rootDAGRunName} ${run.rootDAGRunId}`]
      : []),
    `Status:   ${run.statusLabel}`,
    ...(run.pid ? [`PID:      ${run.pid}`] : []),
    `Started:  ${run.startedAt || '-'}`,
    `Finished: ${run.finishedAt || '-'}`,
  ];
  if (run.params) lines.push(`Params:   ${run.params}`);
  if (error) lines.push(`Error:    ${error}`);
  const nodes = nodesOf(run);
  let text = `${lines.join('\n')}\n`;
  if (nodes.length > 0) {
    const rows = nodes.map((node) => {
      const ran = node.startedAt !== undefined && node.startedAt !== '-' && node.startedAt !== '';
      return [
        node.step.name,
        node.statusLabel,
        ran ? node.startedAt! : '-',
        formatDuration(node.durationMs ?? elapsedMs(node.startedAt, node.finishedAt)) || '-',
        // An exit code means something only for a step that ran and ended.
        ran && node.exitCode !== undefined && node.status !== 1 ? String(node.exitCode) : '-',
        node.error ?? '',
      ];
    });
    const table = formatTable(['STEP', 'STATUS', 'STARTED', 'DURATION', 'EXIT', 'ERROR'], rows);
    text += `Steps:\n${table.replace(/^(?=.)/gm, '  ')}`;
  }
  for (const [step, logLines] of previews) {
    text += `Log of ${step} (last ${logLines.length} line(s)):\n${logLines.map((l) => `  | ${l}\n`).join('')}`;
  }
  return text;
}

/** `history` table: run id, status label, queued, started, finished, params. */
export function formatHistory(name: string, rows: string[][], total: number): string {
  if (rows.length === 0) return `no runs of DAG ${name}\n`;
  const more = total > rows.length ? `(${rows.length} of ${total} runs)\n` : '';
  return `${formatTable(['RUN ID', 'STATUS', 'QUEUED', 'STARTED', 'FINISHED', 'PARAMS'], rows)}${more}`;
}

export async function historyCommand(
  dagArg: string,
  options: { limit: number; json?: boolean },
): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const page = await store.runs.listRuns({ name, limit: options.limit });
    const { formatRunTime, toDagRunDetails } = await import('@dagu-ts/api/run-views');
    if (options.json) {
      process.stdout.write(`${JSON.stringify(page.runs.map(toDagRunDetails), null, 2)}\n`);
      return 0;
    }
    // A run that never started (queued, dequeued) has no start time: `-`, not its queue time.
    const rows = page.runs.map((run) => [
      run.dagRunId,
      dagRunStatusLabel(run.status),
      formatRunTime(run.queuedAt) || '-',
      formatRunTime(run.startedAt) || '-',
      formatRunTime(run.finishedAt) || '-',
      run.params,
    ]);
    process.stdout.write(formatHistory(name, rows, page.total));
    return 0;
  });
}
