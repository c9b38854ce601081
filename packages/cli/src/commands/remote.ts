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
import { formatTable } from '../table.js';
import { dagNameOf } from './context.js';
import { describeRun, formatHistory, runNotFound, type RunDetailsView } from './status.js';

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

/** Exit code of a finished run as `dagu-ts start` gives it: 1 for failed and partial success. */
function exitCodeOf(status: number): number {
  return status === 2 || status === 6 ? 1 : 0;
}

/** Polls a run until it ends, printing step changes like the local progress lines. */
async function follow(client: DaguClient, name: string, dagRunId: string): Promise<RunDetailsView> {
  const seen = new Map<string, string>();
  for (;;) {
    const run = (await client.getDagRun(name, dagRunId)).dagRunDetails as unknown as RunDetailsView;
    const nodes = [run.nodes, [run.onSuccess, run.onFailure, run.onCancel, run.onExit]].flat();
    for (const node of nodes) {
      if (!node || node.status === 0 || seen.get(node.step.name) === node.statusLabel) continue;
      seen.set(node.step.name, node.statusLabel);
      const error = node.error ? `, ${node.error}` : '';
      process.stderr.write(
        `${new Date().toISOString()} step ${node.step.name}: ${node.statusLabel}${error}\n`,
      );
    }
    if ([2, 3, 4, 6].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function finished(run: RunDetailsView): number {
  process.stderr.write(
    `${new Date().toISOString()} run ${run.name} ${run.dagRunId} ${run.statusLabel}\n`,
  );
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
    process.stderr.write(
      `${new Date().toISOString()} run ${name} ${dagRunId} started${first.params ? ` (params: ${first.params})` : ''}\n`,
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
    process.stdout.write(
      options.json
        ? `${JSON.stringify(run, null, 2)}\n`
        : describeRun(run as unknown as RunDetailsView),
    );
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
      run.startedAt || run.queuedAt || '-',
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
