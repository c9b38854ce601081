// The `dagu-ts` command. Each command's module is imported only when that command runs, so
// that `dagu-ts --version` and small runs start fast.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as {
  version: string;
};

/** Runs the CLI with a full argv (node, script, …) and resolves with the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('dagu-ts')
    .description('Run Dagu-compatible workflow DAGs')
    .version(version, '-v, --version')
    .option('--server <url>', 'send the command to a running server (env DAGU_SERVER_URL)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  /** The server URL when the command should go to a running server instead of running here. */
  const server = (): string | undefined =>
    (program.opts() as { server?: string }).server || process.env.DAGU_SERVER_URL || undefined;
  const remoteModule = () => import('./commands/remote.js');

  program
    .command('validate')
    .description('check a DAG file; prints every problem as file:line: message')
    .argument('<dag>', 'DAG file path or name')
    .action(async (dag: string) => {
      const { validateCommand } = await import('./commands/validate.js');
      exitCode = await validateCommand(dag);
    });

  program
    .command('dry')
    .description('load a DAG, evaluate its params and print the execution plan without running it')
    .argument('<dag>', 'DAG file path or name')
    .argument('[params...]', 'parameters after --, e.g. -- KEY=value positional')
    .option('-p, --params <params>', 'parameters, e.g. \'KEY=value "quoted value"\'')
    .action(async (dag: string, params: string[], options: { params?: string }) => {
      const { dryCommand } = await import('./commands/dry.js');
      exitCode = await dryCommand(dag, { text: options.params, argv: params });
    });

  program
    .command('start')
    .description('run a DAG in this process; exit 0 on success, 1 on failure')
    .argument('<dag>', 'DAG file path or name')
    .argument('[params...]', 'parameters after --, e.g. -- KEY=value positional')
    .option('-r, --run-id <id>', 'run id (default: a new UUID v7)')
    .option('-p, --params <params>', 'parameters, e.g. \'KEY=value "quoted value"\'')
    .option('-n, --no-queue', 'run now even if maxActiveRuns is reached')
    .action(
      async (
        dag: string,
        params: string[],
        options: { params?: string; runId?: string; queue: boolean },
      ) => {
        const common = {
          ...(options.runId !== undefined ? { runId: options.runId } : {}),
          params: { text: options.params, argv: params },
        };
        const url = server();
        if (url) {
          exitCode = await (await remoteModule()).remoteStart(url, dag, common);
          return;
        }
        const { startCommand } = await import('./commands/start.js');
        exitCode = await startCommand(dag, { ...common, queue: options.queue });
      },
    );

  program
    .command('status')
    .description('show the latest run of a DAG (or the one given by --run-id)')
    .argument('<dag>', 'DAG file path or name')
    .option('-r, --run-id <id>', 'run id')
    .option('--json', "print the run as the API's DAGRunDetails JSON")
    .action(async (dag: string, options: { runId?: string; json?: boolean }) => {
      const url = server();
      const { statusCommand } = await import('./commands/status.js');
      exitCode = url
        ? await (await remoteModule()).remoteStatus(url, dag, options)
        : await statusCommand(dag, options);
    });

  program
    .command('history')
    .description('list the runs of a DAG, newest first')
    .argument('<dag>', 'DAG file path or name')
    .option('-l, --limit <n>', 'at most this many runs', '20')
    .option('--json', 'print DAGRunDetails JSON')
    .action(async (dag: string, options: { limit: string; json?: boolean }) => {
      const query = {
        limit: Math.max(1, Number(options.limit) || 20),
        ...(options.json ? { json: true } : {}),
      };
      const url = server();
      const { historyCommand } = await import('./commands/status.js');
      exitCode = url
        ? await (await remoteModule()).remoteHistory(url, dag, query)
        : await historyCommand(dag, query);
    });

  program
    .command('stop')
    .description('stop a running run (the latest, or --run-id); works from another process')
    .argument('<dag>', 'DAG file path or name')
    .option('-r, --run-id <id>', 'run id')
    .action(async (dag: string, options: { runId?: string }) => {
      const url = server();
      const { stopCommand } = await import('./commands/control.js');
      exitCode = url
        ? await (await remoteModule()).remoteStop(url, dag, options)
        : await stopCommand(dag, options);
    });

  program
    .command('retry')
    .description(
      'retry a run: same run id, a new attempt (failed steps and their downstream, or one --step)',
    )
    .argument('<dag>', 'DAG file path or name')
    .requiredOption('-r, --run-id <id>', 'run id')
    .option('-s, --step <name>', 'retry only this step')
    .action(async (dag: string, options: { runId: string; step?: string }) => {
      const url = server();
      const { retryCommand } = await import('./commands/control.js');
      exitCode = url
        ? await (await remoteModule()).remoteRetry(url, dag, options)
        : await retryCommand(dag, options);
    });

  program
    .command('restart')
    .description('stop a running run and start it again with the same params')
    .argument('<dag>', 'DAG file path or name')
    .option('-r, --run-id <id>', 'run id')
    .action(async (dag: string, options: { runId?: string }) => {
      const { restartCommand } = await import('./commands/control.js');
      exitCode = await restartCommand(dag, options);
    });

  program
    .command('enqueue')
    .description("put a run in the DAG's queue; a server or scheduler starts it")
    .argument('<dag>', 'DAG file path or name')
    .argument('[params...]', 'parameters after --')
    .option('-r, --run-id <id>', 'run id')
    .option('-p, --params <params>', 'parameters')
    .action(async (dag: string, params: string[], options: { params?: string; runId?: string }) => {
      const common = {
        ...(options.runId !== undefined ? { runId: options.runId } : {}),
        params: { text: options.params, argv: params },
      };
      const url = server();
      const { enqueueCommand } = await import('./commands/control.js');
      exitCode = url
        ? await (await remoteModule()).remoteEnqueue(url, dag, common)
        : await enqueueCommand(dag, common);
    });

  program
    .command('dequeue')
    .description('remove a queued run from its queue (it ends canceled)')
    .argument('<dag>', 'DAG file path or name')
    .requiredOption('-r, --run-id <id>', 'run id')
    .action(async (dag: string, options: { runId: string }) => {
      const url = server();
      const { dequeueCommand } = await import('./commands/control.js');
      exitCode = url
        ? await (await remoteModule()).remoteDequeue(url, dag, options)
        : await dequeueCommand(dag, options);
    });

  program
    .command('list')
    .description('list the DAG files with their schedule and latest run')
    .action(async () => {
      const url = server();
      const { listCommand } = await import('./commands/list.js');
      exitCode = url ? await (await remoteModule()).remoteList(url) : await listCommand();
    });

  program
    .command('scheduler')
    .description('run cron schedules and start queued runs until SIGINT/SIGTERM')
    .action(async () => {
      const { schedulerCommand } = await import('./commands/scheduler.js');
      exitCode = await schedulerCommand();
    });

  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .description('print a JWT (HS256, signed with DAGU_AUTH_JWT_SECRET) for the REST API')
    .requiredOption('--role <role>', 'admin, operator or viewer')
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 24h, 7d', '24h')
    .option('--subject <sub>', "the token's subject claim")
    .action(async (options: { role: string; ttl: string; subject?: string }) => {
      const { tokenCreateCommand } = await import('./commands/token.js');
      exitCode = await tokenCreateCommand(options);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 1.
      return error.exitCode;
    }
    process.stderr.write(`dagu-ts: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return exitCode;
}
