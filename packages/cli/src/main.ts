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
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

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
    .option('-n, --no-queue', 'run now even if other runs of the DAG are active')
    .action(async (dag: string, params: string[], options: { params?: string; runId?: string }) => {
      const { startCommand } = await import('./commands/start.js');
      exitCode = await startCommand(dag, {
        ...(options.runId !== undefined ? { runId: options.runId } : {}),
        params: { text: options.params, argv: params },
      });
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
