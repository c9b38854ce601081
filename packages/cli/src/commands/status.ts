// `dagu-ts status` and `dagu-ts history`: what the store knows about a DAG's runs. The text is
// printed from the API's DAGRunDetails shape, so local and remote (--server) output agree.
import { dagRunStatusLabel, formatRunTime, toDagRunDetails } from '@dagu-ts/core';
import { formatTable } from '../table.js';
import { dagNameOf, fail, withStore } from './context.js';

interface NodeView {
  step: { name: string };
  status: number;
  statusLabel: string;
  error?: string;
}

/** The fields of DAGRunDetails that `status` prints. */
export interface RunDetailsView {
  name: string;
  dagRunId: string;
  status: number;
  statusLabel: string;
  startedAt: string;
  finishedAt: string;
  params?: string;
  nodes: NodeView[];
  onSuccess?: NodeView;
  onFailure?: NodeView;
  onCancel?: NodeView;
  onExit?: NodeView;
}

export async function statusCommand(
  dagArg: string,
  options: { runId?: string; json?: boolean },
): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const stored = options.runId
      ? await store.runs.getRun(name, options.runId)
      : await store.runs.getLatestRun(name);
    if (!stored) return fail(runNotFound(name, options.runId));
    const details = toDagRunDetails(stored.snapshot);
    process.stdout.write(
      options.json
        ? `${JSON.stringify(details, null, 2)}\n`
        : describeRun(details as unknown as RunDetailsView, stored.snapshot.error),
    );
    return 0;
  });
}

export function runNotFound(name: string, runId: string | undefined): string {
  return runId ? `dag-run ${name} ${runId} not found` : `no run of DAG ${name} yet`;
}

/** Dagu-like text summary of a run; `error` is the run error when the caller knows it. */
export function describeRun(run: RunDetailsView, error?: string): string {
  const lines = [
    `DAG:      ${run.name}`,
    `Run ID:   ${run.dagRunId}`,
    `Status:   ${run.statusLabel}`,
    `Started:  ${run.startedAt || '-'}`,
    `Finished: ${run.finishedAt || '-'}`,
  ];
  if (run.params) lines.push(`Params:   ${run.params}`);
  if (error) lines.push(`Error:    ${error}`);
  const handlers = [run.onSuccess, run.onFailure, run.onCancel, run.onExit].filter(
    (node): node is NodeView => node !== undefined && node.status !== 0,
  );
  const nodes = [...run.nodes, ...handlers];
  if (nodes.length > 0) {
    const width = Math.max(4, ...nodes.map((n) => n.step.name.length));
    lines.push('Steps:');
    for (const node of nodes) {
      const error = node.error ? ` (${node.error})` : '';
      lines.push(`  ${node.step.name.padEnd(width)}  ${node.statusLabel}${error}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `history` table: run id, status label, started, finished, params. */
export function formatHistory(name: string, rows: string[][], total: number): string {
  if (rows.length === 0) return `no runs of DAG ${name}\n`;
  const more = total > rows.length ? `(${rows.length} of ${total} runs)\n` : '';
  return `${formatTable(['RUN ID', 'STATUS', 'STARTED', 'FINISHED', 'PARAMS'], rows)}${more}`;
}

export async function historyCommand(
  dagArg: string,
  options: { limit: number; json?: boolean },
): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const page = await store.runs.listRuns({ name, limit: options.limit });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(page.runs.map(toDagRunDetails), null, 2)}\n`);
      return 0;
    }
    const rows = page.runs.map((run) => [
      run.dagRunId,
      dagRunStatusLabel(run.status),
      formatRunTime(run.startedAt || run.queuedAt) || '-',
      formatRunTime(run.finishedAt) || '-',
      run.params,
    ]);
    process.stdout.write(formatHistory(name, rows, page.total));
    return 0;
  });
}
