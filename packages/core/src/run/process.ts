// One step process: spawned in its own process group with stdout/stderr written straight to the
// step's log files through file descriptors (no pipe through JavaScript), so a step that prints
// 100 MB costs the engine nothing; logs that are not files get the output through pipes. Signals
// go to the whole group.
import { spawn } from 'node:child_process';
import type { LogStream } from '../ports.js';

export interface StepProcessOptions {
  argv: readonly [string, ...string[]];
  cwd: string;
  env: Record<string, string>;
  /** File descriptors the process writes into, or where piped output goes. */
  output: { stdoutFd: number; stderrFd: number } | ((stream: LogStream, chunk: Buffer) => void);
}

export interface StepProcessResult {
  /** Exit code; -1 when a signal ended the process. */
  exitCode: number;
  signal: NodeJS.Signals | undefined;
  /** Set when the process could not be started. */
  spawnError: Error | undefined;
}

export interface StepProcess {
  pid: number | undefined;
  done: Promise<StepProcessResult>;
  /** Sends a signal to every process of the step's group; false when none is left. */
  signal(signal: NodeJS.Signals): boolean;
  /** Whether any process of the group is still alive (a zombie leader counts until reaped). */
  groupAlive(): boolean;
}

export function startStepProcess(options: StepProcessOptions): StepProcess {
  const [program, ...args] = options.argv;
  const output = options.output;
  const piped = typeof output === 'function';
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: piped ? ['ignore', 'pipe', 'pipe'] : ['ignore', output.stdoutFd, output.stderrFd],
    detached: true,
  });
  if (piped) {
    child.stdout?.on('data', (chunk: Buffer) => output('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => output('stderr', chunk));
  }
  const pid = child.pid;
  const done = new Promise<StepProcessResult>((resolve) => {
    child.once('error', (error) => resolve({ exitCode: 1, signal: undefined, spawnError: error }));
    // With pipes, 'close' comes once the output has been read to its end as well.
    child.once(piped ? 'close' : 'exit', (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ exitCode: code ?? -1, signal: signal ?? undefined, spawnError: undefined }),
    );
  });
  const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
    if (pid === undefined) return false;
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  };
  return {
    pid,
    done,
    signal: (signal) => signalGroup(signal),
    groupAlive: () => signalGroup(0),
  };
}
