// `dagu-ts migrate-to-postgres --database-url URL`: copies the history of this home's SQLite
// store into a PostgreSQL database, so a user who outgrows one machine keeps it: every run and
// child run (every attempt of a root run, with its node rows), the queue, the suspend flags, and
// the logs (into the database's log chunks, so every server shows them). Idempotent and
// resumable: runs already there are skipped (one transaction per batch), a log goes on from the
// bytes the database has, a queue item or flag present is left as it is. Stop the servers of
// this home first: a run still running here would be copied as running and closed as abandoned.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { DagRunSnapshot, LogStream } from '@dagu-ts/core';
import { openStore, resolveStorePaths, type ImportedRun } from '@dagu-ts/store';
import type { PgLogStore } from '@dagu-ts/store/postgres';
import { cliConfig } from '../settings.js';
import { fail } from './context.js';

const BATCH = 200;
const READ_BYTES = 1024 * 1024;

export interface MigrateToPostgresOptions {
  databaseUrl?: string;
}

export async function migrateToPostgresCommand(options: MigrateToPostgresOptions): Promise<number> {
  const config = cliConfig();
  const url = options.databaseUrl ?? config.databaseUrl;
  if (!url) return fail('migrate-to-postgres needs --database-url postgres://…');
  const sqlitePaths = {
    home: config.home,
    dagsDir: config.dagsDir,
    dataDir: config.dataDir,
    logDir: config.logDir,
  };
  const { databaseFile } = resolveStorePaths(sqlitePaths);
  if (!existsSync(databaseFile)) return fail(`${databaseFile}: no SQLite store to copy`);
  const { openPostgresStore, PgLogStore: PgLogs, redact } = await import('@dagu-ts/store/postgres');
  const source = openStore(sqlitePaths);
  const target = await openPostgresStore({
    url,
    ...sqlitePaths,
    // This command owns no run: it must not close anybody's runs while it copies.
    reapAbandoned: false,
  }).catch((error: unknown) => {
    source.close();
    throw error;
  });
  const logs = target.logs;
  if (!(logs instanceof PgLogs)) throw new Error('PostgreSQL store without its log store');
  const counts = { runs: 0, skipped: 0, logs: 0, logBytes: 0, queued: 0, flags: 0 };
  try {
    for (let offset = 0; ; offset += BATCH) {
      const page = await source.runs.listRuns({ includeChildren: true, limit: BATCH, offset });
      if (page.runs.length === 0) break;
      const batch: ImportedRun[] = [];
      const attempts: DagRunSnapshot[] = [];
      for (const snapshot of page.runs) {
        const stored = snapshot.parent
          ? await source.runs.getChildRun(snapshot.root, snapshot.dagRunId)
          : await source.runs.getRun(snapshot.name, snapshot.dagRunId);
        if (!stored) continue;
        const all = snapshot.parent
          ? [stored.snapshot]
          : await source.runs.listAttempts(snapshot.name, snapshot.dagRunId);
        const latest = all.at(-1) ?? stored.snapshot;
        batch.push({
          dag: stored.dag,
          snapshot: latest,
          trigger: stored.trigger,
          earlierAttempts: all.slice(0, -1),
        });
        attempts.push(...all);
      }
      // Parents before children: a child's root run exists when the child is inserted.
      batch.sort((a, b) => Number(Boolean(a.snapshot.parent)) - Number(Boolean(b.snapshot.parent)));
      const inserted = await target.runs.importRuns(batch);
      counts.runs += inserted;
      counts.skipped += batch.length - inserted;
      // Logs after their runs: an interrupted copy finds the runs there and the logs short.
      for (const attempt of attempts) {
        for (const log of logsOf(attempt)) {
          const bytes = await copyLog(logs, log);
          if (bytes > 0) counts.logs++;
          counts.logBytes += bytes;
        }
      }
    }
    const queued = new Set(
      (await target.queue.list()).map((item) => `${item.name}\u0000${item.dagRunId}`),
    );
    for (const item of await source.queue.list()) {
      if (queued.has(`${item.name}\u0000${item.dagRunId}`)) continue;
      await target.queue.enqueue(item);
      counts.queued++;
    }
    for (const name of await source.flags.listSuspended()) {
      if (await target.flags.isSuspended(name)) continue;
      await target.flags.setSuspended(name, true);
      counts.flags++;
    }
  } finally {
    source.close();
    await target.close();
  }
  process.stdout.write(
    `copied ${counts.runs} run(s) to ${redact(url)}` +
      (counts.skipped > 0 ? ` (${counts.skipped} already there)` : '') +
      `, ${counts.logs} log(s) (${counts.logBytes} bytes), ${counts.queued} queue item(s), ` +
      `${counts.flags} suspend flag(s)\n`,
  );
  return 0;
}

interface LogOfAttempt {
  ref: string;
  dagName: string;
  dagRunId: string;
  attemptId: string;
  step?: string;
  stream: LogStream | 'run';
}

function logsOf(attempt: DagRunSnapshot): LogOfAttempt[] {
  const base = { dagName: attempt.name, dagRunId: attempt.dagRunId, attemptId: attempt.attemptId };
  const logs: LogOfAttempt[] = [];
  if (attempt.log) logs.push({ ...base, ref: attempt.log, stream: 'run' });
  for (const node of [...attempt.nodes, ...Object.values(attempt.handlers)])
    for (const stream of ['stdout', 'stderr'] as const)
      if (node[stream]) logs.push({ ...base, ref: node[stream], step: node.step.name, stream });
  return logs;
}

/** Copies what the database lacks of one local log file; the bytes copied. */
async function copyLog(logs: PgLogStore, log: LogOfAttempt): Promise<number> {
  let size: number;
  try {
    const info = statSync(log.ref);
    if (!info.isFile()) return 0;
    size = info.size;
  } catch {
    return 0;
  }
  const [row] = await logs.register([log]);
  if (!row || row.truncated || row.size >= size) return 0;
  let at = row.size;
  const fd = openSync(log.ref, 'r');
  try {
    while (at < size) {
      const buffer = Buffer.alloc(Math.min(READ_BYTES, size - at));
      const read = readSync(fd, buffer, 0, buffer.length, at);
      if (read === 0) break;
      const stored = await logs.append(row.id, at, buffer.subarray(0, read), `in ${log.ref}`);
      at += read;
      if (stored.truncated) break;
    }
  } finally {
    closeSync(fd);
  }
  return at - row.size;
}
