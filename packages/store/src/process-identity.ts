// Is the process that owns a run still there? A pid alone is not enough: after a crash the pid
// can be reused by an unrelated process. On Linux the start time of a process (field 22 of
// /proc/<pid>/stat, in clock ticks since boot) together with the boot id identifies it for good.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

let bootId: string | undefined;

function readBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = '';
    }
  }
  return bootId;
}

interface ProcStat {
  state: string;
  startTime: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}

const hasProc = (): boolean => readBootId() !== '';

/**
 * What identifies a running process across pid reuse: `<boot id>:<start time>`, or '' where
 * /proc is not available (then only the pid is checked). undefined when no such process runs.
 */
export function processStartIdentity(pid: number): string | undefined {
  if (!isPidAlive(pid)) return undefined;
  if (!hasProc()) return '';
  const stat = readProcStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return undefined;
  return `${readBootId()}:${stat.startTime}`;
}

let own: string | undefined;

/** The identity of this process (computed once). */
export function ownIdentity(): string {
  own ??= processStartIdentity(process.pid) ?? '';
  return own;
}

export function hostName(): string {
  return hostname();
}

function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process recorded as `pid` with `identity` still runs. A zombie counts as gone; a
 * live process with another start identity is a reused pid and counts as gone too.
 */
export function isOwnerAlive(pid: number, identity: string | null | undefined): boolean {
  const current = processStartIdentity(pid);
  if (current === undefined) return false;
  if (!identity || current === '') return true;
  return current === identity;
}
