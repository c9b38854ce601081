// Step process groups on SQLite (core's StepProcessStore), and their end after a crash: a server
// killed with SIGKILL cannot stop its steps, which run in their own process groups and so
// survive it. Recovery ends the groups whose owner is gone, but never a group whose leader's
// pid now belongs to another process (its start identity differs).
import type { StepProcessStore } from '@dagu-ts/core';
import type { Connection } from './connection.js';
import { hostName, isOwnerAlive, ownIdentity, processStartIdentity } from './process-identity.js';

/** How long an orphaned group gets between SIGTERM and SIGKILL. */
const TERM_GRACE_MS = 2_000;
const POLL_MS = 50;

export interface GroupRow {
  pgid: number;
  pgid_start: string;
  owner_pid: number;
  owner_start: string;
}

export class SqliteStepProcessStore implements StepProcessStore {
  constructor(private readonly connection: Connection) {}

  async add(pgid: number): Promise<void> {
    const identity = processStartIdentity(pgid);
    // Already gone: nothing could outlive this process.
    if (identity === undefined) return;
    this.connection.write(() =>
      this.connection
        .prepare(
          `INSERT OR REPLACE INTO step_processes (owner_host, pgid, pgid_start, owner_pid, owner_start)
           VALUES (?, ?, ?, ?, ?)`,
        )
        .run(hostName(), pgid, identity, process.pid, ownIdentity()),
    );
  }

  /**
   * Rides along with the next write (the step's finish event follows at once): a row left by a
   * crash before then names a group that is gone, which recovery skips (its leader is gone, or
   * the pid now belongs to a process with another start identity).
   */
  async remove(pgid: number): Promise<void> {
    this.connection.defer(() => {
      this.connection
        .prepare('DELETE FROM step_processes WHERE owner_host = ? AND pgid = ? AND owner_pid = ?')
        .run(hostName(), pgid, process.pid);
    });
  }
}

/**
 * Ends (SIGTERM, then SIGKILL after a grace period) the step groups on this machine whose
 * owner is gone, and forgets them. Returns the group ids that were signalled.
 */
export async function endOrphanedStepGroups(
  connection: Connection,
  graceMs = TERM_GRACE_MS,
): Promise<number[]> {
  const host = hostName();
  const rows = connection
    .prepare(
      'SELECT pgid, pgid_start, owner_pid, owner_start FROM step_processes WHERE owner_host = ?',
    )
    .all(host) as GroupRow[];
  const orphaned = rows.filter((row) => !isOwnerAlive(row.owner_pid, row.owner_start));
  if (orphaned.length === 0) return [];
  const signalled = await endGroups(orphaned, graceMs);
  connection.write(() => {
    const forget = connection.prepare(
      'DELETE FROM step_processes WHERE owner_host = ? AND pgid = ? AND owner_pid = ?',
    );
    for (const row of orphaned) forget.run(host, row.pgid, row.owner_pid);
  });
  return signalled;
}

/**
 * SIGTERM to each group that is still the step's, SIGKILL to those alive after `graceMs`.
 * Returns the group ids that were signalled (any store's recovery uses it).
 */
export async function endGroups(
  groups: readonly GroupRow[],
  graceMs = TERM_GRACE_MS,
): Promise<number[]> {
  const signalled = groups.filter((row) => signalGroup(row, 'SIGTERM'));
  const deadline = Date.now() + graceMs;
  while (signalled.some(groupAlive) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  for (const row of signalled) if (groupAlive(row)) signalGroup(row, 'SIGKILL');
  return signalled.map((row) => row.pgid);
}

/**
 * Whether the group is still the step's. A live leader must have the recorded start identity
 * (else the pid was reused); a gone leader is fine, since Linux does not reuse a pid while a
 * process group of that id exists.
 */
function isOurGroup(row: GroupRow): boolean {
  const leader = processStartIdentity(row.pgid);
  if (leader === undefined) return true;
  return row.pgid_start !== '' && leader === row.pgid_start;
}

function signalGroup(row: GroupRow, signal: NodeJS.Signals | 0): boolean {
  if (!isOurGroup(row)) return false;
  try {
    process.kill(-row.pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(row: GroupRow): boolean {
  return signalGroup(row, 0);
}
