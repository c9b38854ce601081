// The `dagu-ts` command. Each command's module is imported only when that command runs, so
// that `dagu-ts --version` and small runs start fast.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as {
  version: string;
};

const PARAMS_HELP =
  'parameters: \'KEY=value "quoted value" positional\' or a JSON object \'{"KEY":"value"}\'';

const REMOTE_HELP = `
Remote mode: with --server URL (or DAGU_SERVER_URL) start, status, logs, history, stop,
retry, enqueue, dequeue and list go to that server's REST API. Authentication comes from the
environment: DAGU_AUTH_TOKEN (a static API token, or a JWT from \`dagu-ts token create\`, sent
as a Bearer token), else DAGU_AUTH_BASIC_USERNAME and DAGU_AUTH_BASIC_PASSWORD (basic auth).
Local only, whatever --server says: validate and dry (they read the DAG file on this machine),
restart, scheduler, server, start-all, migrate, migrate-to-postgres and token.
`;

/** Runs the CLI with a full argv (node, script, …) and resolves with the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('dagu-ts')
    .description('Run Dagu-compatible workflow DAGs')
    .version(version, '-v, --version')
    .option('--server <url>', 'send the command to a running server (env DAGU_SERVER_URL)')
    .option(
      '-c, --config <file>',
      'config file (default $DAGU_HOME/config.yaml, else ~/.config/dagu/config.yaml), read as the server reads it',
    )
    .option('-q, --quiet', 'no progress output (errors and requested data are still printed)')
    .addHelpText('after', REMOTE_HELP)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    // Global options apply before any command runs; their modules load only when used.
    .hook('preAction', async () => {
      const { config, quiet } = program.opts<{ config?: string; quiet?: boolean }>();
      if (quiet) (await import('./progress.js')).setQuiet(true);
      // Read (with the command's own flags) when a command first needs it: settings.ts.
      if (config !== undefined) (await import('./settings.js')).setConfigFlags({ config });
    });
  /** A command's own configuration flags (`--dags`, `--port`, …); they beat env and file. */
  const configFlags = async (flags: Record<string, string | undefined>) => {
    const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
    (await import('./settings.js')).setConfigFlags(defined);
  };

  /** The server URL when the command should go to a running server instead of running here. */
  const server = (): string | undefined =>
    (program.opts() as { server?: string }).server || process.env.DAGU_SERVER_URL || undefined;
  const remoteModule = () => import('./commands/remote.js');
  /** `-p` text (Dagu's `K=v` form or a JSON object) and the arguments after `--`. */
  const paramsOf = async (text: string | undefined, argv: string[]) =>
    (await import('./params.js')).cliParams(text, argv);

  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${version}\n`);
    });

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
    .option('-p, --params <params>', PARAMS_HELP)
    .action(async (dag: string, params: string[], options: { params?: string }) => {
      const { dryCommand } = await import('./commands/dry.js');
      exitCode = await dryCommand(dag, await paramsOf(options.params, params));
    });

  program
    .command('start')
    .description('run a DAG in this process; exit 0 on success, 1 on failure')
    .argument('<dag>', 'DAG file path or name')
    .argument('[params...]', 'parameters after --, e.g. -- KEY=value positional')
    .option('-r, --run-id <id>', 'run id (default: a new UUID v7)')
    .option('-p, --params <params>', PARAMS_HELP)
    .option('-n, --no-queue', 'run now even if maxActiveRuns is reached')
    .action(
      async (
        dag: string,
        params: string[],
        options: { params?: string; runId?: string; queue: boolean },
      ) => {
        const common = {
          ...(options.runId !== undefined ? { runId: options.runId } : {}),
          params: await paramsOf(options.params, params),
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
    .description(
      'show the latest run of a DAG (or the one given by --run-id, also a child run of it): steps with durations and exit codes, and the last log lines of failed steps',
    )
    .argument('<dag>', 'DAG file path or name')
    .option('-r, --run-id <id>', 'run id (of a run of the DAG, or of one of its child runs)')
    .option('--json', "print the run as the API's DAGRunDetails JSON")
    .action(async (dag: string, options: { runId?: string; json?: boolean }) => {
      const url = server();
      const { statusCommand } = await import('./commands/status.js');
      exitCode = url
        ? await (await remoteModule()).remoteStatus(url, dag, options)
        : await statusCommand(dag, options);
    });

  program
    .command('logs')
    .description(
      "print a step's output (or the run log without --step); --follow tails it until the run ends",
    )
    .argument('<dag>', 'DAG file path or name')
    .option('-r, --run-id <id>', 'run id (default: the latest run; a child run id works too)')
    .option('-s, --step <name>', "the step whose output to print (default: the run's log)")
    .option('--stderr', "the step's stderr instead of its stdout")
    .option('-f, --follow', 'keep printing new output while the run is running')
    .action(
      async (
        dag: string,
        options: { runId?: string; step?: string; stderr?: boolean; follow?: boolean },
      ) => {
        const url = server();
        if (url) {
          exitCode = await (await remoteModule()).remoteLogs(url, dag, options);
          return;
        }
        const { logsCommand } = await import('./commands/logs.js');
        exitCode = await logsCommand(dag, options);
      },
    );

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
    .option('-p, --params <params>', PARAMS_HELP)
    .action(async (dag: string, params: string[], options: { params?: string; runId?: string }) => {
      const common = {
        ...(options.runId !== undefined ? { runId: options.runId } : {}),
        params: await paramsOf(options.params, params),
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
    .argument('[dag]', 'DAG file path or name (with --run-id)')
    .option('-r, --run-id <id>', 'run id')
    .option('--dag-run <name:id>', "the run as Dagu v1.17 names it, e.g. 'my-dag:20250101-01'")
    .action(async (dagArg: string | undefined, options: { runId?: string; dagRun?: string }) => {
      // Dagu v1.17's `--dag-run name:id`, or ours: `<dag> --run-id ID`.
      const separator = options.dagRun?.indexOf(':') ?? -1;
      const dag = options.dagRun && separator > 0 ? options.dagRun.slice(0, separator) : dagArg;
      const runId =
        options.dagRun && separator > 0 ? options.dagRun.slice(separator + 1) : options.runId;
      if (options.dagRun !== undefined && (separator <= 0 || !runId)) {
        throw new Error(`--dag-run must be <name>:<run id>, got ${JSON.stringify(options.dagRun)}`);
      }
      if (!dag || !runId) throw new Error('dequeue needs <dag> --run-id ID, or --dag-run name:id');
      const url = server();
      const { dequeueCommand } = await import('./commands/control.js');
      exitCode = url
        ? await (await remoteModule()).remoteDequeue(url, dag, { runId })
        : await dequeueCommand(dag, { runId });
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
    .option('-d, --dags <dir>', 'DAG files directory (DAGU_DAGS_DIR, default <home>/dags)')
    .action(async (options: { dags?: string }) => {
      await configFlags({ dags: options.dags });
      const { schedulerCommand } = await import('./commands/scheduler.js');
      exitCode = await schedulerCommand();
    });

  // `server` and `start-all` take the flags of the dagu-ts-server program.
  const serverVerb = (name: string, description: string, scheduler: boolean) =>
    program
      .command(name)
      .description(description)
      .option('-s, --host <host>', 'listen address (DAGU_HOST, default 127.0.0.1)')
      .option('-p, --port <port>', 'listen port, 0 for any free port (DAGU_PORT, default 8080)')
      .option('-d, --dags <dir>', 'DAG files directory (DAGU_DAGS_DIR, default <home>/dags)')
      .option('--base-path <path>', 'serve under this prefix, e.g. /dagu (DAGU_BASE_PATH)')
      .action(
        async (options: { host?: string; port?: string; dags?: string; basePath?: string }) => {
          await configFlags({ ...options });
          const { serveCommand } = await import('./commands/serve.js');
          exitCode = await serveCommand({ scheduler });
        },
      );
  serverVerb(
    'server',
    'serve the REST API and the web UI, and start queued runs, until SIGINT/SIGTERM; cron schedules do not run (use start-all, or a scheduler next to it)',
    false,
  );
  serverVerb(
    'start-all',
    'serve the REST API and the web UI, run cron schedules and start queued runs, until SIGINT/SIGTERM (what `pnpm start` runs)',
    true,
  );

  // `worker` is the dagu-ts-worker program: its own flags (Dagu's --worker.* names), parsed there.
  program
    .command('worker')
    .description(
      'run queued runs of a server on this machine: claims runs whose workerSelector its labels match, until SIGINT/SIGTERM (see dagu-ts worker --help)',
    )
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[options...]')
    .action(async (args: string[]) => {
      const { workerMain } = await import('@dagu-ts/worker');
      const server = (program.opts() as { server?: string }).server;
      exitCode = await workerMain([...(server ? ['--server', server] : []), ...args]);
    });

  program
    .command('migrate')
    .description(
      "import a Dagu v1.17 installation's finished runs and their logs; run it again to add new ones",
    )
    .requiredOption(
      '--from-dagu <dir>',
      "Dagu's data directory (holding dag-runs/), its home, or the dag-runs directory",
    )
    .action(async (options: { fromDagu: string }) => {
      const { migrateCommand } = await import('./commands/migrate.js');
      exitCode = await migrateCommand(options);
    });

  program
    .command('migrate-to-postgres')
    .description(
      "copy this home's SQLite history (runs, attempts, queue, suspend flags, logs) into a PostgreSQL database; idempotent, run it again to finish an interrupted copy",
    )
    .option(
      '--database-url <url>',
      'postgres://user:password@host:port/database (default: DAGU_DATABASE_URL / database.url)',
    )
    .action(async (options: { databaseUrl?: string }) => {
      const { migrateToPostgresCommand } = await import('./commands/migrate-to-postgres.js');
      exitCode = await migrateToPostgresCommand(options);
    });

  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .description('print a JWT (HS256, signed with DAGU_AUTH_JWT_SECRET) for the REST API')
    .requiredOption(
      '--role <role>',
      'admin, operator, viewer, or worker (the worker endpoints only)',
    )
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
