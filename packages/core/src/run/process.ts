// One step process: spawned in its own process group with stdout/stderr written straight to the
// step's log files through file descriptors (no pipe through JavaScript), so a step that prints
// 100 MB costs the engine nothing. Signals go to the whole group.
import { spawn } from 'node:child_process';

export interface StepProcessOptions {
  argv: readonly [string, ...string[]];
  cwd: string;
  env: Record<string, string>;
  stdoutFd: number;
  stderrFd: number;
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
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', options.stdoutFd, options.stderrFd],
    detached: true,
  });
  const pid = child.pid;
  const done = new Promise<StepProcessResult>((resolve) => {
    child.once('error', (error) => resolve({ exitCode: 1, signal: undefined, spawnError: error }));
    child.once('exit', (code, signal) =>
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
