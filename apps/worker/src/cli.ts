// `dagu-ts worker` and the dagu-ts-worker program: flags and environment (Dagu's names), then a
// Worker until SIGTERM/SIGINT (a first signal drains: no new claims, active runs finish; a
// second one stops them).
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, type WorkerOptions } from './worker.js';

export const WORKER_USAGE = `Usage: dagu-ts worker [options]

Options:
  --worker.id <id>                 worker id (DAGU_WORKER_ID, default hostname@pid)
  --worker.labels <k=v,...>        labels matched against a DAG's workerSelector (DAGU_WORKER_LABELS)
  --worker.max-active-runs <n>     runs executed at once (DAGU_WORKER_MAX_ACTIVE_RUNS, default 100)
  --server <url>                   the dagu-ts server (DAGU_SERVER_URL)
  --log-dir <dir>                  local copies of the logs (default <tmp>/dagu-ts-worker/<id>)
  -h, --help                       show this help
Authentication: DAGU_AUTH_TOKEN (a JWT with role worker, or the static token), or
DAGU_AUTH_BASIC_USERNAME / DAGU_AUTH_BASIC_PASSWORD.`;

export class WorkerConfigError extends Error {}

/** Parses `k=v,k2=v2` (whitespace around items is ignored). */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of text.split(',')) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new WorkerConfigError(`invalid label "${trimmed}": use key=value`);
    labels[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1).trim();
  }
  return labels;
}

export function workerOptionsFrom(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): WorkerOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'worker.id': { type: 'string' },
        'worker.labels': { type: 'string' },
        'worker.max-active-runs': { type: 'string' },
        server: { type: 'string' },
        'log-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new WorkerConfigError((error as Error).message);
  }
  if (values.help) return 'help';
  const id = values['worker.id'] ?? env.DAGU_WORKER_ID ?? `${hostname()}@${process.pid}`;
  const server = values.server ?? env.DAGU_SERVER_URL;
  if (!server) throw new WorkerConfigError('no server: pass --server URL or set DAGU_SERVER_URL');
  try {
    new URL(server);
  } catch {
    throw new WorkerConfigError(`invalid server URL "${server}"`);
  }
  const maxText = values['worker.max-active-runs'] ?? env.DAGU_WORKER_MAX_ACTIVE_RUNS ?? '100';
  if (!/^\d+$/.test(maxText) || Number(maxText) < 1 || Number(maxText) > 10_000)
    throw new WorkerConfigError(`invalid max active runs "${maxText}": a number from 1 to 10000`);
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
  return {
    id,
    labels: parseLabels(values['worker.labels'] ?? env.DAGU_WORKER_LABELS ?? ''),
    maxActiveRuns: Number(maxText),
    server,
    ...(auth ? { auth } : {}),
    logDir:
      values['log-dir'] ?? join(tmpdir(), 'dagu-ts-worker', id.replace(/[^A-Za-z0-9._-]/g, '_')),
    log: (entry) =>
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`),
  };
}

/** Runs a worker until a signal; resolves with the exit code. */
export async function workerMain(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = workerOptionsFrom(argv, process.env);
  } catch (error) {
    if (!(error instanceof WorkerConfigError)) throw error;
    process.stderr.write(`dagu-ts worker: ${error.message}\n${WORKER_USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${WORKER_USAGE}\n`);
    return 0;
  }
  const worker = new Worker(options);
  worker.start();
  options.log?.({
    component: 'worker',
    msg: 'worker started',
    worker: options.id,
    labels: options.labels,
    server: options.server,
  });
  let signals = 0;
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      signals += 1;
      worker.drain(signals > 1).then(resolve, resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}
