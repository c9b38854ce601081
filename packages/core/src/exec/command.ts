// The command executor (no `executor:`, or `command`) and the `shell` executor: a step as a
// process. How command / script / shell become argv is dag-yaml.md §2.1.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateString } from '../eval/index.js';
import { shellArgv } from '../eval/shell-runner.js';
import type { Executor, ExecutorContext, ExecutorResult } from './executor.js';

type Argv = [string, ...string[]];

/** `command` through the shell, or `command` + `script` as interpreter + script file. */
export const commandExecutor: Executor = {
  async run(context) {
    const argv = await commandArgv(context);
    if (typeof argv === 'string') return { exitCode: 1, error: argv };
    const scriptFile = await writeScript(context);
    try {
      return await runArgv(context, scriptFile ? [...argv, scriptFile] : argv);
    } finally {
      if (scriptFile) rmSync(scriptFile, { force: true });
    }
  },
};

/** The `shell` executor: argv split from the evaluated line, no shell in between. */
export const shellExecutor: Executor = {
  async run(context) {
    const parts = splitArgs(await context.commandLine(true, 'text'));
    if (parts.length === 0) return { exitCode: 1, error: 'step command is required' };
    return runArgv(context, parts as Argv);
  },
};

async function runArgv(context: ExecutorContext, argv: Argv): Promise<ExecutorResult> {
  const result = await context.startProcess(argv);
  if (result.spawnError)
    return { exitCode: 1, error: `failed to start ${argv[0]}: ${result.spawnError.message}` };
  if (result.signal) return { exitCode: -1, error: `signal: ${result.signal}` };
  return {
    exitCode: result.exitCode,
    error: result.exitCode === 0 ? undefined : `exit status ${result.exitCode}`,
  };
}

/** argv without the script file, or why the step cannot run. */
async function commandArgv(context: ExecutorContext): Promise<Argv | string> {
  const step = context.node.step;
  const shell = shellArgv(context.shell, '').slice(0, -2) as Argv;
  if (step.command === undefined) {
    if (step.script === undefined) return 'step command is required';
    return shell;
  }
  // With a script the line is argv for an interpreter, else a shell parses it.
  const line = await context.commandLine(false, step.script !== undefined ? 'text' : 'shell');
  if (step.script !== undefined) {
    // `command: python` + script ⇒ python <args…> <scriptfile>.
    return line.split(/\s+/).filter((p) => p !== '') as Argv;
  }
  return shellArgv(context.shell, line);
}

async function writeScript(context: ExecutorContext): Promise<string | undefined> {
  const script = context.node.step.script;
  if (script === undefined) return undefined;
  const text = await evaluateString(script, {
    ...context.evalContext(),
    backticks: false,
    osEnv: false,
    target: 'shell',
  });
  const file = join(context.tempDir, `dagu_script-${randomBytes(6).toString('hex')}`);
  writeFileSync(file, text, { mode: 0o750 });
  return file;
}

function splitArgs(line: string): string[] {
  const parts: string[] = [];
  const pattern = /"((?:\\"|[^"])*)"|'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern))
    parts.push(match[1]?.replace(/\\"/g, '"') ?? match[2] ?? match[3] ?? '');
  return parts;
}
