// `dagu-ts status` and `dagu-ts history`: what the store knows about a DAG's runs.
import {
  dagRunStatusLabel,
  nodeStatusLabel,
  toDagRunDetails,
  type DagRunSnapshot,
} from '@dagu-ts/core';
import { dagNameOf, fail, withStore } from './context.js';

export async function statusCommand(
  dagArg: string,
  options: { runId?: string; json?: boolean },
): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const stored = options.runId
      ? await store.runs.getRun(name, options.runId)
      : await store.runs.getLatestRun(name);
    if (!stored)
      return fail(
        options.runId ? `dag-run ${name} ${options.runId} not found` : `no run of DAG ${name} yet`,
      );
    const run = stored.snapshot;
    if (options.json) {
      process.stdout.write(`${JSON.stringify(toDagRunDetails(run), null, 2)}\n`);
      return 0;
    }
    process.stdout.write(describeRun(run));
    return 0;
  });
}

function describeRun(run: DagRunSnapshot): string {
  const lines = [
    `DAG:      ${run.name}`,
    `Run ID:   ${run.dagRunId}`,
    `Status:   ${dagRunStatusLabel(run.status)}`,
    `Started:  ${run.startedAt || '-'}`,
    `Finished: ${run.finishedAt || '-'}`,
  ];
  if (run.params) lines.push(`Params:   ${run.params}`);
  if (run.error) lines.push(`Error:    ${run.error}`);
  const nodes = [...run.nodes, ...Object.values(run.handlers).filter((n) => n.status !== 0)];
  if (nodes.length > 0) {
    const width = Math.max(4, ...nodes.map((n) => n.step.name.length));
    lines.push('Steps:');
    for (const node of nodes) {
      const extra = [
        node.status !== 0 && node.exitCode !== 0 ? `exit ${node.exitCode}` : '',
        node.error,
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(
        `  ${node.step.name.padEnd(width)}  ${nodeStatusLabel(node.status)}${extra ? ` (${extra})` : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function historyCommand(
  dagArg: string,
  options: { limit: number; json?: boolean },
): Promise<number> {
  const name = await dagNameOf(dagArg);
  return withStore(async (store) => {
    const page = await store.runs.listRuns({ name, limit: options.limit });
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify(
          page.runs.map((run) => toDagRunDetails(run)),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    if (page.runs.length === 0) {
      process.stdout.write(`no runs of DAG ${name}\n`);
      return 0;
    }
    const rows = page.runs.map((run) => [
      run.dagRunId,
      dagRunStatusLabel(run.status),
      run.startedAt || run.queuedAt || '-',
      run.finishedAt || '-',
      run.params,
    ]);
    const header = ['RUN ID', 'STATUS', 'STARTED', 'FINISHED', 'PARAMS'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const format = (row: string[]) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    process.stdout.write(`${[format(header), ...rows.map(format)].join('\n')}\n`);
    if (page.total > page.runs.length)
      process.stdout.write(`(${page.runs.length} of ${page.total} runs)\n`);
    return 0;
  });
}
