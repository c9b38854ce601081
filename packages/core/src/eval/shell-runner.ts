// Runs a command through `<shell> -c`, the way Dagu runs backtick commands and command-form
// conditions: with the run's environment map (never process.env) and stdin closed.
import { spawn } from 'node:child_process';

/** Runs `command` with `<shell> -c` and resolves with its raw (untrimmed) stdout. */
export type ShellRunner = (command: string) => Promise<string>;

export interface ShellRunnerOptions {
  /** Shell program, optionally with arguments (`bash -o pipefail`). */
  shell?: string;
  /** The run's environment; read at each call so later exports are visible. */
  env: ReadonlyMap<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
// Backtick output is normally tiny; the cap only stops a runaway command from eating memory.
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export function createShellRunner(options: ShellRunnerOptions): ShellRunner {
  return (command) => runInShell(command, options);
}

/** The shell of dag-yaml.md §2: explicit, else DAGU_DEFAULT_SHELL, else SHELL, else `sh`. */
function resolveShell(options: ShellRunnerOptions): string {
  const configured = options.shell?.trim();
  if (configured) return configured;
  return options.env.get('DAGU_DEFAULT_SHELL') || options.env.get('SHELL') || 'sh';
}

/** `bash -o pipefail` + command → [bash, -o, pipefail, -c, command]; `-c` is not doubled. */
export function shellArgv(shell: string, command: string): [string, ...string[]] {
  const [program = 'sh', ...args] = shell.split(/\s+/).filter((part) => part !== '');
  if (!args.includes('-c')) args.push('-c');
  return [program, ...args, command];
}

function runInShell(command: string, options: ShellRunnerOptions): Promise<string> {
  const [program, ...args] = shellArgv(resolveShell(options), command);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    // A process group of its own lets a timeout kill grandchildren that hold the pipes open.
    const child = spawn(program, args, {
      env: Object.fromEntries(options.env),
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outputBytes = 0;
    let failure: string | undefined;
    let settled = false;

    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      failure = `timed out after ${timeoutMs} ms`;
      killGroup();
    }, timeoutMs);
    const collect = (chunks: Buffer[]) => (chunk: Buffer) => {
      outputBytes += chunk.length;
      if (outputBytes > MAX_OUTPUT_BYTES) {
        failure ??= `produced more than ${MAX_OUTPUT_BYTES} bytes of output`;
        killGroup();
        return;
      }
      chunks.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));

    const finish = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(Buffer.concat(stdout).toString('utf8'));
    };
    child.on('error', (error) => {
      finish(
        new Error(`failed to run command "${command}" with ${program}: ${error.message}`, {
          cause: error,
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (failure === undefined && code === 0) return finish(undefined);
      const reason =
        failure ?? (code !== null ? `exit code ${code}` : `killed by ${signal ?? 'a signal'}`);
      const errText = Buffer.concat(stderr).toString('utf8').trim();
      finish(new Error(`command "${command}" failed (${reason})${errText ? `: ${errText}` : ''}`));
    });
  });
}
