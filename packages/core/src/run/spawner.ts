// Step processes forked by a small helper process instead of the engine's own process. Forking
// copies the page tables of the forking process, so in a server holding 100+ MB a spawn costs
// several milliseconds of blocked event loop; a helper of baseline Node size forks faster and
// off the server's loop. The helper opens the step's log files by path (append mode) and reports
// each process's pid and exit over IPC; signals still go straight from here to the group.
// A helper with no step in flight for HELPER_IDLE_MS is told to go (it holds ~14 MB of its own
// pages, the idle server's tree should be the server alone); the next step starts a new one,
// which costs ~40 ms once. (That step is not forked here instead: a step of this process would
// outlive it when it is killed; only an engine whose steps may outlive it forks them itself while
// the helper starts, `forkHereUntilReady`.) The helper never outlives the engine: when the IPC channel
// closes (the engine exited, even by SIGKILL) it ends the step groups it started and exits; when
// the helper dies, the engine ends the groups that were in flight.
import { spawn, type ChildProcess } from 'node:child_process';
import type { StepProcess, StepProcessResult } from './process.js';

export interface SpawnRequest {
  argv: readonly [string, ...string[]];
  cwd: string;
  env: Record<string, string>;
  stdoutPath: string;
  stderrPath: string;
}

type HelperMessage =
  | { type: 'ready' }
  | { id: number; type: 'spawned'; pid: number }
  | {
      id: number;
      type: 'exit';
      exitCode: number;
      signal: NodeJS.Signals | null;
      spawnError: string | null;
    };

/** How long the steps of a vanished engine get between SIGTERM and SIGKILL. */
const ORPHAN_GRACE_MS = 2_000;

/**
 * How long a helper with no step in flight stays (default): long enough that the steps of runs
 * a few seconds apart share one helper.
 */
export const HELPER_IDLE_MS = 10_000;

/** Told of each step process group: when it started and when it ended. */
export interface SpawnHooks {
  onSpawn?(pid: number): void;
  onExit?(pid: number): void;
  /** How long a helper with no step in flight stays before it is ended (default HELPER_IDLE_MS). */
  idleMs?: number;
  /**
   * Steps are forked by the engine itself until the helper is up (see `takesStep`): for an engine
   * whose steps may outlive it anyway (a command-line run), so that no step waits for the
   * helper's start-up, one Node start (~80 ms on 2 busy cores).
   */
  forkHereUntilReady?: boolean;
}

// Plain CommonJS run with `node -e`: no file to resolve, whether the engine runs from src or dist.
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
const { openSync, closeSync } = require('node:fs');
const live = new Set();
const signalAll = (signal) => {
  for (const pid of live) {
    try { process.kill(-pid, signal); } catch {}
  }
};
// The helper's life is the IPC channel's: a Ctrl-C in the terminal (SIGINT to the foreground
// group) or a SIGTERM to the group is the engine's to pass on to the steps, not to end them here.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => {
  if (live.size === 0) process.exit(0);
  signalAll('SIGTERM');
  setTimeout(() => { signalAll('SIGKILL'); process.exit(0); }, ${ORPHAN_GRACE_MS});
});
// Each request carries only what changed in the environment since the previous one (steps of
// a run share almost all of it): far fewer bytes to write, send and parse per step.
let env = {};
process.on('message', (m) => {
  if (m.env) env = m.env;
  for (const name of m.envUnset || []) delete env[name];
  if (m.envSet) Object.assign(env, m.envSet);
  let done = false;
  const finish = (exitCode, signal, spawnError) => {
    if (done) return;
    done = true;
    if (process.connected) process.send({ id: m.id, type: 'exit', exitCode, signal, spawnError });
  };
  let out, err;
  try {
    out = openSync(m.stdoutPath, 'a');
    err = openSync(m.stderrPath, 'a');
  } catch (e) {
    return finish(1, null, String(e && e.message || e));
  }
  let child;
  try {
    child = spawn(m.argv[0], m.argv.slice(1), { cwd: m.cwd, env, stdio: ['ignore', out, err], detached: true });
  } catch (e) {
    closeSync(out); closeSync(err);
    return finish(1, null, String(e && e.message || e));
  }
  closeSync(out); closeSync(err);
  child.once('spawn', () => {
    live.add(child.pid);
    if (process.connected) process.send({ id: m.id, type: 'spawned', pid: child.pid });
  });
  child.once('error', (e) => finish(1, null, e.message));
  child.once('exit', (code, signal) => {
    live.delete(child.pid);
    finish(code === null ? -1 : code, signal, null);
    if (!process.connected && live.size === 0) process.exit(0);
  });
});
process.send({ type: 'ready' });
`;

interface Pending {
  resolve: (result: StepProcessResult) => void;
  process: { pid: number | undefined; pendingSignal: NodeJS.Signals | undefined };
}

export class ProcessSpawner {
  private helper: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** The environment of the last request sent to the current helper. */
  private lastEnv: Record<string, string> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Whether the current helper said it takes requests. */
  private helperReady = false;

  constructor(private readonly hooks: SpawnHooks = {}) {}

  /**
   * Whether the next step should go through the helper (`start`) rather than be forked by the
   * engine. Always true, except with `forkHereUntilReady` while the helper is not up yet, which
   * this call starts.
   */
  takesStep(): boolean {
    if (!this.hooks.forkHereUntilReady) return true;
    if (this.helper?.connected && this.helperReady) return true;
    if (!this.helper?.connected) {
      this.ensureHelper();
      if (this.pending.size === 0) this.armIdleTimer();
    }
    return false;
  }

  start(request: SpawnRequest): StepProcess {
    this.clearIdleTimer();
    const helper = this.ensureHelper();
    const id = this.nextId++;
    const state: Pending['process'] = { pid: undefined, pendingSignal: undefined };
    const done = new Promise<StepProcessResult>((resolve) =>
      this.pending.set(id, { resolve, process: state }),
    );
    if (this.pending.size === 1) this.ref(true);
    const { env, ...rest } = request;
    helper.send({ id, ...rest, ...this.envChange(env) });
    const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
      if (state.pid === undefined) return false;
      try {
        process.kill(-state.pid, signal);
        return true;
      } catch {
        return false;
      }
    };
    return {
      get pid() {
        return state.pid;
      },
      done,
      signal: (signal) => {
        // A signal that arrives before the helper reported the pid is delivered on arrival.
        if (state.pid === undefined) state.pendingSignal = signal;
        return signalGroup(signal);
      },
      groupAlive: () => signalGroup(0),
    };
  }

  close(): void {
    this.clearIdleTimer();
    this.helper?.kill();
    this.helper = undefined;
  }

  /** The pid of the helper process, when one is running. */
  get helperPid(): number | undefined {
    return this.helper?.pid;
  }

  private clearIdleTimer(): void {
    if (this.idleTimer === undefined) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Ends the helper once no step has been in flight for the idle time. */
  private armIdleTimer(): void {
    this.clearIdleTimer();
    const helper = this.helper;
    if (!helper) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.helper !== helper || this.pending.size > 0) return;
      // Nothing of ours is in flight there: forget it first, so its exit fails no later request,
      // then close the channel, on which an idle helper exits.
      this.helper = undefined;
      helper.removeAllListeners('exit');
      helper.removeAllListeners('message');
      if (helper.connected) helper.disconnect();
    }, this.hooks.idleMs ?? HELPER_IDLE_MS);
    // The timer alone does not keep a process alive.
    this.idleTimer.unref();
  }

  /** The request's environment as the helper applies it: whole, or what changed since the last. */
  private envChange(
    env: Record<string, string>,
  ): { env: Record<string, string> } | { envSet: Record<string, string>; envUnset: string[] } {
    const last = this.lastEnv;
    this.lastEnv = env;
    if (!last) return { env };
    const envSet: Record<string, string> = {};
    for (const name in env) if (last[name] !== env[name]) envSet[name] = env[name]!;
    const envUnset: string[] = [];
    for (const name in last) if (!(name in env)) envUnset.push(name);
    return { envSet, envUnset };
  }

  private ensureHelper(): ChildProcess {
    if (this.helper && this.helper.connected) return this.helper;
    this.lastEnv = undefined;
    this.helperReady = false;
    const helper = spawn(process.execPath, ['-e', HELPER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH ?? '' },
    });
    helper.on('message', (message: HelperMessage) => {
      if (message.type !== 'ready') this.onMessage(message);
      else if (this.helper === helper) this.helperReady = true;
    });
    helper.on('exit', () => {
      // A helper that died takes its children's reports with it: fail what was in flight, and
      // end its groups, which nobody watches any more.
      for (const [id, entry] of this.pending) {
        const pid = entry.process.pid;
        if (pid !== undefined) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
          this.hooks.onExit?.(pid);
        }
        entry.resolve({
          exitCode: 1,
          signal: undefined,
          spawnError: new Error('the process spawner exited'),
        });
        this.pending.delete(id);
      }
      if (this.helper === helper) this.helper = undefined;
    });
    this.helper = helper;
    this.ref(false);
    return helper;
  }

  private onMessage(message: Exclude<HelperMessage, { type: 'ready' }>): void {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.type === 'spawned') {
      entry.process.pid = message.pid;
      this.hooks.onSpawn?.(message.pid);
      if (entry.process.pendingSignal) {
        try {
          process.kill(-message.pid, entry.process.pendingSignal);
        } catch {
          // Already gone.
        }
      }
      return;
    }
    this.pending.delete(message.id);
    if (entry.process.pid !== undefined) this.hooks.onExit?.(entry.process.pid);
    if (this.pending.size === 0) {
      this.ref(false);
      this.armIdleTimer();
    }
    entry.resolve({
      exitCode: message.exitCode,
      signal: message.signal ?? undefined,
      spawnError: message.spawnError === null ? undefined : new Error(message.spawnError),
    });
  }

  /** The helper keeps this process alive only while steps are in flight. */
  private ref(active: boolean): void {
    const helper = this.helper;
    if (!helper) return;
    const channel = helper.channel as { ref(): void; unref(): void } | undefined;
    if (active) {
      helper.ref();
      channel?.ref();
    } else {
      helper.unref();
      channel?.unref();
    }
  }
}
