// Remote mode (`--server URL` or DAGU_SERVER_URL): the same commands, sent through the typed SDK
// to a running dagu-ts (or Dagu) server, with the same output and exit codes as locally.
import { basename } from 'node:path';
import type { ParamsOverride } from '@dagu-ts/core';
import {
  createClient,
  DaguApiError,
  DaguNetworkError,
  DaguTimeoutError,
  type DaguClient,
} from '@dagu-ts/client';
import { progressLine } from '../progress.js';
import { formatTable } from '../table.js';
import { dagNameOf } from './context.js';
import {
  describeRun,
  failedNodes,
  formatHistory,
  nodesOf,
  PREVIEW_LINES,
  runNotFound,
  type LogPreviews,
  type RunView,
} from './status.js';

const POLL_MS = 250;

function clientFor(url: string): DaguClient {
  const env = process.env;
  const auth = env.DAGU_AUTH_TOKEN
    ? { token: env.DAGU_AUTH_TOKEN }
    : env.DAGU_AUTH_BASIC_USERNAME
      ? {
          basic: {
            username: env.DAGU_AUTH_BASIC_USERNAME,
            password: env.DAGU_AUTH_BASIC_PASSWORD ?? '',
          },
        }
      : undefined;
  return createClient({ baseUrl: url, ...(auth ? { auth } : {}) });
}

/** Runs a remote command; API and network errors become one line on stderr and exit 1. */
async function remote(
  url: string,
  action: (client: DaguClient) => Promise<number>,
): Promise<number> {
  try {
    return await action(clientFor(url));
  } catch (error) {
    if (error instanceof DaguApiError)
      process.stderr.write(`${error.message} (${error.status} ${error.code})\n`);
    else if (error instanceof DaguTimeoutError || error instanceof DaguNetworkError) {
      process.stderr.write(`cannot reach the server at ${url}: ${error.message}\n`);
    } else throw error;
    return 1;
  }
}

/** The DAG file name the server knows a <dag> argument by. */
function fileNameOf(dagArg: string): string {
  return basename(dagArg).replace(/\.ya?ml$/, '');
}

/** The API's params string: `-p` text, then the `--` arguments (quoted when they hold spaces). */
function paramsText(params: ParamsOverride): string | undefined {
  const parts = [
    ...(params.text ? [params.text] : []),
    ...(params.argv ?? []).map((arg) => {
      const eq = arg.indexOf('=');
      const value = eq >= 0 ? arg.slice(eq + 1) : arg;
      if (!/\s/.test(value)) return arg;
      const quoted = `"${value.replace(/"/g, '\\"')}"`;
      return eq >= 0 ? `${arg.slice(0, eq + 1)}${quoted}` : quoted;
    }),
  ];
  return parts.length > 0 ? parts.join(' ') : undefined;
}

async function dagNameOnServer(client: DaguClient, dagArg: string): Promise<string> {
  const details = await client.getDag(fileNameOf(dagArg));
  return details.dag?.name ?? fileNameOf(dagArg);
}

/** The last lines of a step's stderr, else its stdout, through the API ([] when neither has any). */
async function remoteStepTail(
  client: DaguClient,
  run: RunView,
  step: string,
  tail: number,
): Promise<string[]> {
  for (const stream of ['stderr', 'stdout'] as const) {
    try {
      const { content } = await client.getStepLog(run.name, run.dagRunId, step, { tail, stream });
      if (content) return content.split('\n');
    } catch (error) {
      if (!(error instanceof DaguApiError && error.status === 404)) throw error;
    }
  }
  return [];
}

/** Exit code of a finished run as `dagu-ts start` gives it: 1 for failed and partial success. */
function exitCodeOf(status: number): number {
  return status === 2 || status === 6 ? 1 : 0;
}

/** Polls a run until it ends, printing step changes like the local progress lines. */
async function follow(client: DaguClient, name: string, dagRunId: string): Promise<RunView> {
  const seen = new Map<string, string>();
  for (;;) {
    const run = (await client.getDagRun(name, dagRunId)).dagRunDetails;
    const nodes = [run.nodes, [run.onSuccess, run.onFailure, run.onCancel, run.onExit]].flat();
    for (const node of nodes) {
      if (!node || node.status === 0 || seen.get(node.step.name) === node.statusLabel) continue;
      seen.set(node.step.name, node.statusLabel);
      const error = node.error ? `, ${node.error}` : '';
      progressLine(
        `${new Date().toISOString()} step ${node.step.name}: ${node.statusLabel}${error}`,
      );
    }
    if ([2, 3, 4, 6].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function finished(run: RunView): number {
  progressLine(`${new Date().toISOString()} run ${run.name} ${run.dagRunId} ${run.statusLabel}`);
  return exitCodeOf(run.status);
}

export function remoteStart(
  url: string,
  dagArg: string,
  options: { runId?: string; params: ParamsOverride },
): Promise<number> {
  return remote(url, async (client) => {
    const params = paramsText(options.params);
    const { dagRunId } = await client.startDag(fileNameOf(dagArg), {
      ...(params ? { params } : {}),
      ...(options.runId ? { dagRunId: options.runId } : {}),
    });
    const name = await dagNameOnServer(client, dagArg);
    const first = (await client.getDagRun(name, dagRunId)).dagRunDetails;
    if (first.status === 5) {
      process.stdout.write(`queued ${name} ${dagRunId}\n`);
      return 0;
    }
    progressLine(
      `${new Date().toISOString()} run ${name} ${dagRunId} started${first.params ? ` (params: ${first.params})` : ''}`,
    );
    return finished(await follow(client, name, dagRunId));
  });
}

export function remoteEnqueue(
  url: string,
  dagArg: string,
  options: { runId?: string; params: ParamsOverride },
): Promise<number> {
  return remote(url, async (client) => {
    const params = paramsText(options.params);
    const { dagRunId } = await client.enqueueDag(fileNameOf(dagArg), {
      ...(params ? { params } : {}),
      ...(options.runId ? { dagRunId: options.runId } : {}),
    });
    process.stdout.write(`queued ${await dagNameOnServer(client, dagArg)} ${dagRunId}\n`);
    return 0;
  });
}

export function remoteStatus(
  url: string,
  dagArg: string,
  options: { runId?: string; json?: boolean },
): Promise<number> {
  return remote(url, async (client) => {
    const name = await dagNameOf(dagArg);
    let run;
    try {
      run = (await client.getDagRun(name, options.runId ?? 'latest')).dagRunDetails;
    } catch (error) {
      if (error instanceof DaguApiError && error.status === 404) {
        process.stderr.write(`${runNotFound(name, options.runId)}\n`);
        return 1;
      }
      throw error;
    }
    if (options.json) {
      process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
      return 0;
    }
    const view: RunView = run;
    const previews: LogPreviews = new Map();
    for (const node of failedNodes(view)) {
      const lines = await remoteStepTail(client, view, node.step.name, PREVIEW_LINES);
      if (lines.length > 0) previews.set(node.step.name, lines);
    }
    process.stdout.write(describeRun(view, undefined, previews));
    return 0;
  });
}

export function remoteHistory(
  url: string,
  dagArg: string,
  options: { limit: number; json?: boolean },
): Promise<number> {
  return remote(url, async (client) => {
    const name = await dagNameOf(dagArg);
    const { dagRuns } = await client.listDagRunsByName(name);
    const runs = dagRuns.slice(0, options.limit);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      return 0;
    }
    const rows = runs.map((run) => [
      run.dagRunId,
      run.statusLabel,
      run.queuedAt || '-',
      run.startedAt || '-',
      run.finishedAt || '-',
      run.params ?? '',
    ]);
    process.stdout.write(formatHistory(name, rows, dagRuns.length));
    return 0;
  });
}

export function remoteStop(
  url: string,
  dagArg: string,
  options: { runId?: string },
): Promise<number> {
  return remote(url, async (client) => {
    const name = await dagNameOf(dagArg);
    const run = (await client.getDagRun(name, options.runId ?? 'latest')).dagRunDetails;
    await client.stopDagRun(name, run.dagRunId);
    while ((await client.getDagRun(name, run.dagRunId)).dagRunDetails.status === 1) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    process.stdout.write(`stopped ${name} ${run.dagRunId}\n`);
    return 0;
  });
}

export function remoteRetry(
  url: string,
  dagArg: string,
  options: { runId: string; step?: string },
): Promise<number> {
  return remote(url, async (client) => {
    const name = await dagNameOf(dagArg);
    await client.retryDagRun(name, options.runId, options.step ? { stepName: options.step } : {});
    return finished(await follow(client, name, options.runId));
  });
}

export function remoteDequeue(
  url: string,
  dagArg: string,
  options: { runId: string },
): Promise<number> {
  return remote(url, async (client) => {
    const name = await dagNameOf(dagArg);
    await client.dequeueDagRun(name, options.runId);
    process.stdout.write(`dequeued ${name} ${options.runId}\n`);
    return 0;
  });
}

/** Lines fetched per log request (the API's default window). */
const LOG_PAGE_LINES = 1000;

export function remoteLogs(
  url: string,
  dagArg: string,
  options: { runId?: string; step?: string; stderr?: boolean; follow?: boolean },
): Promise<number> {
  return remote(url, async (client) => {
    const name = await dagNameOf(dagArg);
    let run: RunView;
    try {
      run = (await client.getDagRun(name, options.runId ?? 'latest')).dagRunDetails;
    } catch (error) {
      if (error instanceof DaguApiError && error.status === 404) {
        process.stderr.write(`${runNotFound(name, options.runId)}\n`);
        return 1;
      }
      throw error;
    }
    const { step } = options;
    if (step !== undefined && !nodesOf(run).some((n) => n.step.name === step)) {
      process.stderr.write(
        `step ${JSON.stringify(step)} is not a step of dag-run ${name} ${run.dagRunId}\n`,
      );
      return 1;
    }
    const stream = options.stderr ? ('stderr' as const) : ('stdout' as const);
    // The API serves lines; a line still being written when it is read is printed as it was
    // then (programs that write whole lines, as most do, are not affected).
    let printed = 0;
    /** Prints the lines after those printed so far; false when there is no log (yet). */
    const printNew = async (): Promise<boolean> => {
      for (;;) {
        const window = { offset: printed + 1, limit: LOG_PAGE_LINES };
        let log;
        try {
          log = step
            ? await client.getStepLog(name, run.dagRunId, step, { ...window, stream })
            : await client.getDagRunLog(name, run.dagRunId, window);
        } catch (error) {
          if (error instanceof DaguApiError && error.status === 404) return false;
          throw error;
        }
        const count = log.lineCount ?? (log.content ? log.content.split('\n').length : 0);
        if (count > 0) process.stdout.write(`${log.content}\n`);
        printed += count;
        if (!log.hasMore || count === 0) return true;
      }
    };
    if (!options.follow) {
      if (await printNew()) return 0;
      process.stderr.write(`${step ? `step ${step}` : `dag-run ${run.dagRunId}`} has no log yet\n`);
      return 1;
    }
    for (;;) {
      const current = (await client.getDagRun(name, run.dagRunId)).dagRunDetails;
      const node = step ? nodesOf(current).find((n) => n.step.name === step) : undefined;
      const writing = [0, 1, 5].includes(current.status) && (!node || [0, 1].includes(node.status));
      await printNew();
      if (!writing) return 0;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  });
}

export function remoteList(url: string): Promise<number> {
  return remote(url, async (client) => {
    const rows: string[][] = [];
    for await (const file of client.iterateDags()) {
      rows.push([
        file.fileName,
        file.dag.name,
        (file.dag.schedule ?? []).map((s) => s.expression).join(', '),
        file.latestDAGRun.statusLabel,
        file.suspended ? 'suspended' : '',
      ]);
    }
    process.stdout.write(formatDagList(rows));
    return 0;
  });
}

/** `list` table: file, DAG name, schedule, latest status, suspended. */
export function formatDagList(rows: string[][]): string {
  if (rows.length === 0) return 'no DAG files\n';
  return formatTable(['FILE', 'NAME', 'SCHEDULE', 'LATEST', 'FLAGS'], rows);
}
