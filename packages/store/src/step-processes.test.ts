// Recovery ends the step process groups of a process that is gone, and never a group whose
// pid now belongs to someone else.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireConnection, type Connection } from './connection.js';
import { openStore, type Store } from './store.js';

let home: string;
let store: Store;
let connection: Connection;
let releaseConnection: () => void;
const groups: ChildProcess[] = [];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-step-processes-'));
  store = openStore({ home });
  ({ connection, release: releaseConnection } = acquireConnection(store.paths.databaseFile));
});

afterEach(() => {
  for (const child of groups.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  releaseConnection();
  store.close();
  rmSync(home, { recursive: true, force: true });
});

/** A step-like process group (its own session, like the spawner's steps), once it printed. */
async function startGroup(script: string): Promise<ChildProcess & { ended: Promise<unknown> }> {
  const child = spawn('sh', ['-c', script], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  groups.push(child);
  const ended = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  return Object.assign(child, { ended });
}

/** Processes of group `pgid` that are not zombies (an orphan's reaper may be slow). */
function liveMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        return false;
      }
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(group) === pgid && state !== 'Z' && state !== 'X';
    })
    .map(Number);
}

const rows = () =>
  connection.prepare('SELECT pgid, pgid_start, owner_pid FROM step_processes').all() as Array<{
    pgid: number;
    pgid_start: string;
    owner_pid: number;
  }>;

/** As if the process that recorded the groups had died (its start identity no longer matches). */
const ownerDies = () => connection.db.exec("UPDATE step_processes SET owner_start = 'gone'");

describe('step process groups', () => {
  it('records a group with its start identity and forgets it with the next write', async () => {
    const step = await startGroup('echo ready; sleep 300');
    await store.processes.add(step.pid!);
    expect(rows()).toEqual([
      { pgid: step.pid, pgid_start: expect.stringMatching(/:\d+$/), owner_pid: process.pid },
    ]);
    await store.processes.remove(step.pid!);
    // The removal rides along with the next transaction (a step's finish event follows it).
    expect(rows()).toHaveLength(1);
    await store.flags.setSuspended('unrelated', true);
    expect(rows()).toEqual([]);
  });

  it('writes a deferred removal on flush (the store flushes when it closes)', async () => {
    const step = await startGroup('echo ready; sleep 300');
    await store.processes.add(step.pid!);
    await store.processes.remove(step.pid!);
    connection.flush();
    expect(rows()).toEqual([]);
  });

  it('leaves the groups of a live owner alone', async () => {
    const step = await startGroup('echo ready; sleep 300');
    await store.processes.add(step.pid!);
    await store.runs.closeAbandonedRuns();
    expect(step.exitCode).toBeNull();
    expect(rows()).toHaveLength(1);
  });

  it('ends the groups of a dead owner, a grandchild included, with SIGKILL when SIGTERM is ignored', async () => {
    const plain = await startGroup('sleep 300 & echo ready; wait');
    const stubborn = await startGroup('trap "" TERM; echo ready; sleep 300');
    await store.processes.add(plain.pid!);
    await store.processes.add(stubborn.pid!);
    ownerDies();
    await store.runs.closeAbandonedRuns();
    await Promise.all([plain.ended, stubborn.ended]);
    expect(stubborn.signalCode).toBe('SIGKILL');
    expect(liveMembers(plain.pid!)).toEqual([]);
    expect(liveMembers(stubborn.pid!)).toEqual([]);
    expect(rows()).toEqual([]);
  });

  it('never signals a reused pid (a live leader with another start identity)', async () => {
    const stranger = await startGroup('echo ready; sleep 300');
    await store.processes.add(stranger.pid!);
    connection.db.exec("UPDATE step_processes SET pgid_start = 'another-boot:1'");
    ownerDies();
    await store.runs.closeAbandonedRuns();
    expect(stranger.exitCode).toBeNull();
    expect(stranger.signalCode).toBeNull();
    expect(rows()).toEqual([]);
  });
});
