// Logs on PostgreSQL, readable from every server. Writing keeps the file store's fast path: step
// processes write straight into local files (no JavaScript in the output path), and a shipper
// copies the bytes appended to each open log into `log_chunks` every `flushMs` (and once more
// when the log closes), so another server shows a running step's output within about a second.
// Reads serve the local file when this server has it (the writer, or a server sharing its
// disk), else the chunks, by byte offset: a window never loads the whole log.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import {
  readLogWindow,
  type DagRunSnapshot,
  type FileLogStore,
  type LogBytes,
  type LogStore,
  type LogStream,
  type LogWindow,
  type LogWindowQuery,
  type RunLogSink,
  type RunLogTarget,
  type StepLogSink,
} from '@dagu-ts/core';
import { hostName } from '../process-identity.js';
import type { PgConnection, Queryable } from './connection.js';

export interface PgLogStoreOptions {
  /** How often appended bytes are shipped while a log is open (default 250 ms). */
  flushMs?: number;
  /** Bytes per chunk row (default 64 KiB). */
  chunkBytes?: number;
  /**
   * Bytes of one log kept in the database (default 16 MiB); past it the database copy ends with
   * a truncation marker (the local file keeps everything).
   */
  maxBytesPerLog?: number;
}

export const DEFAULT_LOG_FLUSH_MS = 250;
export const DEFAULT_LOG_CHUNK_BYTES = 64 * 1024;
export const DEFAULT_MAX_LOG_BYTES = 16 * 1024 * 1024;
/** Bytes read from one local file per shipping round: a fast writer cannot hold a round long. */
const MAX_BYTES_PER_ROUND = 4 * 1024 * 1024;

/** Where one log's bytes come from and how far they went. */
interface Shipment {
  /** The log's row; registered in the background, so opening a step waits for no database. */
  row: LogFileRow;
  logId: number | undefined;
  /** The background registration; rounds wait for it. */
  registering: Promise<void> | undefined;
  path: string;
  shipped: number;
  truncated: boolean;
  closed: boolean;
  /** The round in flight; rounds of one log never overlap. */
  running: Promise<void> | undefined;
}

/** A log's row: its id and how much of it the database holds. */
export interface RegisteredLog {
  id: number;
  size: number;
  truncated: boolean;
}

/** One log of an attempt, as a row of log_files. */
export interface LogFileRow {
  ref: string;
  dagName: string;
  dagRunId: string;
  attemptId: string;
  step?: string;
  stream: LogStream | 'run';
}

export class PgLogStore implements LogStore {
  private readonly flushMs: number;
  private readonly chunkBytes: number;
  private readonly maxBytes: number;
  private readonly open = new Set<Shipment>();
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: PgConnection,
    readonly local: FileLogStore,
    options: PgLogStoreOptions = {},
  ) {
    this.flushMs = options.flushMs ?? DEFAULT_LOG_FLUSH_MS;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_LOG_CHUNK_BYTES;
    this.maxBytes = options.maxBytesPerLog ?? DEFAULT_MAX_LOG_BYTES;
  }

  async openRun(target: RunLogTarget): Promise<RunLogSink> {
    const sink = await this.local.openRun(target);
    const [shipment] = this.follow([{ ...base(target), ref: sink.ref, stream: 'run' }]);
    return new PgRunLogSink(this, sink, target, shipment!);
  }

  async readWindow(ref: string, query: LogWindowQuery): Promise<LogWindow | undefined> {
    if (this.isOwn(ref)) return this.local.readWindow(ref, query);
    const stored = await this.readStored(ref, (log) => readLogWindow(log, query));
    return stored ?? this.local.readWindow(ref, query);
  }

  async readTail(ref: string, maxBytes: number): Promise<string | undefined> {
    if (this.isOwn(ref)) return this.local.readTail(ref, maxBytes);
    const stored = await this.readStored(ref, async (log) => {
      const start = Math.max(0, log.size - maxBytes);
      return (await log.read(start, log.size - start)).toString('utf8');
    });
    return stored ?? this.local.readTail(ref, maxBytes);
  }

  /**
   * A log this server wrote (a file under its own log directory) is read from the file: complete
   * and current. Any other log is read from the database, and from a local file only when the
   * database has no copy of it (a DAG's own logDir, logs older than the database).
   */
  private isOwn(ref: string): boolean {
    const dir = this.local.directory;
    return dir !== '' && ref.startsWith(`${dir}/`) && isLocalFile(ref);
  }

  async deleteRunLogs(attempts: readonly DagRunSnapshot[]): Promise<void> {
    await this.local.deleteRunLogs(attempts);
    if (attempts.length === 0) return;
    const refs = new Set<string>();
    for (const attempt of attempts) {
      if (attempt.log) refs.add(attempt.log);
      for (const node of [...attempt.nodes, ...Object.values(attempt.handlers)]) {
        if (node.stdout) refs.add(node.stdout);
        if (node.stderr) refs.add(node.stderr);
      }
    }
    // Every log of those attempts (a step that never recorded its reference too) and every
    // reference they recorded; chunks go with their log (ON DELETE CASCADE).
    await this.db.query(
      `DELETE FROM log_files WHERE ref = ANY($1::text[])
         OR (dag_run_id, attempt_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
      [[...refs], attempts.map((a) => a.dagRunId), attempts.map((a) => a.attemptId)],
    );
  }

  async moveDagLogs(from: string, to: string): Promise<((ref: string) => string) | undefined> {
    const moved = await this.local.moveDagLogs(from, to);
    if (!moved) return undefined;
    // The references this server's move rewrote are rewritten in the database too; logs written
    // under another server's directory keep their references (and the runs keep recording them).
    try {
      await this.db.tx(async (q) => {
        const { rows } = await q.query<{ id: number; ref: string }>(
          'SELECT id, ref FROM log_files WHERE dag_name = $1 FOR UPDATE',
          [from],
        );
        const changed = rows.filter((row) => moved(row.ref) !== row.ref);
        if (changed.length === 0) return;
        await q.query(
          `UPDATE log_files f SET ref = m.ref, dag_name = $3
           FROM unnest($1::bigint[], $2::text[]) AS m(id, ref) WHERE f.id = m.id`,
          [changed.map((row) => row.id), changed.map((row) => moved(row.ref)), to],
        );
      });
    } catch (error) {
      await this.local.moveDagLogs(to, from).catch(() => undefined);
      throw error;
    }
    return moved;
  }

  /** Resolves once every byte written so far to an open or closed log is in the database. */
  async flush(): Promise<void> {
    for (const shipment of this.open) this.ship(shipment);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Ships what is left and stops the timer; logs opened later are not shipped. */
  async close(): Promise<void> {
    for (const shipment of this.open) shipment.closed = true;
    await this.flush();
    this.open.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // ---- writing -----------------------------------------------------------------------------------

  /** Records the logs (or finds them again: a retried step appends), in order. */
  async register(logs: readonly LogFileRow[], q: Queryable = this.db): Promise<RegisteredLog[]> {
    const { rows } = await q.query<RegisteredLog & { ref: string }>(
      `INSERT INTO log_files (ref, dag_name, dag_run_id, attempt_id, step, stream, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                            $7::bigint[])
       ON CONFLICT (ref) DO UPDATE SET ref = EXCLUDED.ref
       RETURNING id, ref, size, truncated`,
      [
        logs.map((l) => l.ref),
        logs.map((l) => l.dagName),
        logs.map((l) => l.dagRunId),
        logs.map((l) => l.attemptId),
        logs.map((l) => l.step ?? null),
        logs.map((l) => l.stream),
        logs.map(() => Date.now()),
      ],
    );
    const byRef = new Map(rows.map((row) => [row.ref, row]));
    return logs.map((l) => {
      const row = byRef.get(l.ref)!;
      return { id: row.id, size: Number(row.size), truncated: row.truncated };
    });
  }

  /**
   * Appends `data` at `offset` to a stored log, cut at the cap with a marker: chunks already
   * there are skipped (a rerun of a copy writes nothing twice). Returns the new stored size
   * and whether the log is now truncated.
   */
  async append(
    logId: number,
    offset: number,
    data: Buffer,
    where: string,
  ): Promise<{ size: number; truncated: boolean }> {
    let bytes = data;
    let truncated = false;
    if (offset + bytes.length > this.maxBytes) {
      bytes = Buffer.concat([
        bytes.subarray(0, Math.max(0, this.maxBytes - offset)),
        Buffer.from(
          `\n[dagu-ts: log truncated in the database at ${this.maxBytes} bytes; ` +
            `the whole log is ${where}]\n`,
        ),
      ]);
      truncated = true;
    }
    const offsets: number[] = [];
    const pieces: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += this.chunkBytes) {
      offsets.push(offset + at);
      pieces.push(bytes.subarray(at, at + this.chunkBytes));
    }
    const size = offset + bytes.length;
    await this.db.query(
      `WITH chunks AS (
         INSERT INTO log_chunks (log, start_offset, data)
         SELECT $1, o, d FROM unnest($2::bigint[], $3::bytea[]) AS c(o, d)
         ON CONFLICT (log, start_offset) DO NOTHING)
       UPDATE log_files SET size = GREATEST(size, $4), truncated = truncated OR $5 WHERE id = $1`,
      [logId, offsets, pieces, size, truncated],
    );
    return { size, truncated };
  }

  /**
   * Starts shipping local log files (each row's ref) into the database. Their rows are recorded
   * at once in the background, and a round of a log whose row is not recorded yet records it
   * first (the database was out of reach): a reopened log (a retry of the step) goes on where
   * the database copy ends.
   */
  follow(rows: readonly LogFileRow[]): Shipment[] {
    const shipments = rows.map((row): Shipment => ({
      row,
      logId: undefined,
      registering: undefined,
      path: row.ref,
      shipped: 0,
      truncated: false,
      closed: false,
      running: undefined,
    }));
    const registering = this.registerShipments(shipments);
    for (const shipment of shipments) {
      shipment.registering = registering;
      this.open.add(shipment);
    }
    this.track(registering);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const s of this.open) this.ship(s);
      }, this.flushMs);
      this.timer.unref();
    }
    return shipments;
  }

  private async registerShipments(shipments: readonly Shipment[]): Promise<void> {
    const missing = shipments.filter((shipment) => shipment.logId === undefined);
    if (missing.length === 0) return;
    const logs = await this.register(missing.map((shipment) => shipment.row));
    missing.forEach((shipment, index) => {
      const log = logs[index]!;
      if (shipment.logId !== undefined) return;
      shipment.logId = log.id;
      shipment.shipped = log.size;
      shipment.truncated = log.truncated;
    });
  }

  /** Stops shipping a log whose attempt is discarded. */
  forget(shipment: Shipment): void {
    shipment.closed = true;
    shipment.truncated = true;
    this.open.delete(shipment);
  }

  /** Removes the stored logs of one attempt (its start was not recorded). */
  async deleteAttempt(dagRunId: string, attemptId: string): Promise<void> {
    await this.db.query('DELETE FROM log_files WHERE dag_run_id = $1 AND attempt_id = $2', [
      dagRunId,
      attemptId,
    ]);
  }

  /** The log was closed: one last round, then it leaves the shipping set. */
  finish(shipment: Shipment): void {
    if (shipment.closed) return;
    shipment.closed = true;
    this.ship(shipment);
  }

  private ship(shipment: Shipment): void {
    if (shipment.running) return;
    let failed = false;
    const round = (async () => {
      await shipment.registering?.catch(() => undefined);
      if (shipment.logId === undefined) await this.registerShipments([shipment]);
      // Until caught up with the file as it is now, at most MAX_BYTES_PER_ROUND read at a time.
      for (;;) {
        const size = fileSize(shipment.path);
        if (shipment.truncated || size <= shipment.shipped) return;
        const length = Math.min(size - shipment.shipped, MAX_BYTES_PER_ROUND);
        const data = readRange(shipment.path, shipment.shipped, length);
        if (data.length === 0) return;
        const stored = await this.append(
          shipment.logId!,
          shipment.shipped,
          data,
          `in ${shipment.path} on ${hostName()}`,
        );
        shipment.shipped += data.length;
        shipment.truncated = stored.truncated;
      }
    })()
      .catch(() => {
        // The database out of reach: the next tick tries again from the same offset.
        failed = true;
      })
      .finally(() => {
        shipment.running = undefined;
        if (shipment.closed) {
          const done = shipment.truncated || fileSize(shipment.path) <= shipment.shipped;
          // Bytes written while this round ran go at once: a flush waits for them too.
          if (!done && !failed) this.ship(shipment);
          else if (done) this.open.delete(shipment);
        }
        if (this.open.size === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
      });
    shipment.running = round;
    this.track(round);
  }

  private track(promise: Promise<unknown>): void {
    const settled: Promise<void> = promise.then(
      () => {
        this.pending.delete(settled);
      },
      () => {
        this.pending.delete(settled);
      },
    );
    this.pending.add(settled);
  }

  // ---- reading -----------------------------------------------------------------------------------

  private async readStored<T>(
    ref: string,
    read: (log: LogBytes) => Promise<T>,
  ): Promise<T | undefined> {
    if (!ref) return undefined;
    const { rows } = await this.db.query<{ id: number; size: number }>(
      'SELECT id, size FROM log_files WHERE ref = $1',
      [ref],
    );
    const row = rows[0];
    if (!row) return undefined;
    const maxChunk = this.chunkBytes;
    const db = this.db;
    return read({
      size: Number(row.size),
      async read(start, length) {
        const end = Math.min(start + length, Number(row.size));
        if (end <= start) return Buffer.alloc(0);
        // A chunk holds at most maxChunk bytes, so one starting before start - maxChunk ends
        // before start: the primary key's range covers the window.
        const { rows: chunks } = await db.query<{ start_offset: number; data: Buffer }>(
          `SELECT start_offset, data FROM log_chunks
           WHERE log = $1 AND start_offset > $2 AND start_offset < $3 ORDER BY start_offset`,
          [row.id, start - maxChunk, end],
        );
        const parts: Buffer[] = [];
        let at = start;
        for (const chunk of chunks) {
          const offset = Number(chunk.start_offset);
          const chunkEnd = offset + chunk.data.length;
          if (chunkEnd <= at || offset > at) continue;
          parts.push(chunk.data.subarray(at - offset, Math.min(chunk.data.length, end - offset)));
          at = Math.min(chunkEnd, end);
        }
        return Buffer.concat(parts);
      },
    });
  }
}

class PgRunLogSink implements RunLogSink {
  constructor(
    private readonly store: PgLogStore,
    private readonly local: RunLogSink,
    private readonly target: RunLogTarget,
    private readonly shipment: Shipment,
  ) {}

  get ref(): string {
    return this.local.ref;
  }

  get tempDir(): string | undefined {
    return this.local.tempDir;
  }

  log(line: string): void {
    this.local.log(line);
  }

  async openStep(stepName: string, at: Date): Promise<StepLogSink> {
    const local = await this.local.openStep(stepName, at);
    const [stdout, stderr] = this.store.follow(
      (['stdout', 'stderr'] as const).map((stream) => ({
        ...base(this.target),
        ref: local[stream],
        step: stepName,
        stream,
      })),
    );
    return new PgStepLogSink(this.store, local, { stdout: stdout!, stderr: stderr! });
  }

  close(): void {
    this.local.close();
    this.store.finish(this.shipment);
  }

  async discard(): Promise<void> {
    this.store.forget(this.shipment);
    // A registration still in flight lands before the delete, not after it.
    await this.shipment.registering?.catch(() => undefined);
    await this.local.discard();
    await this.store.deleteAttempt(this.target.dagRunId, this.target.attemptId);
  }
}

class PgStepLogSink implements StepLogSink {
  constructor(
    private readonly store: PgLogStore,
    private readonly local: StepLogSink,
    private readonly shipments: Record<LogStream, Shipment>,
  ) {}

  get stdout(): string {
    return this.local.stdout;
  }

  get stderr(): string {
    return this.local.stderr;
  }

  get files(): StepLogSink['files'] {
    return this.local.files;
  }

  write(stream: LogStream, data: string | Uint8Array): void {
    this.local.write(stream, data);
  }

  size(stream: LogStream): number {
    return this.local.size(stream);
  }

  read(stream: LogStream, start: number, length: number): Buffer {
    return this.local.read(stream, start, length);
  }

  close(): void {
    this.local.close();
    this.store.finish(this.shipments.stdout);
    this.store.finish(this.shipments.stderr);
  }
}

function base(target: RunLogTarget): Omit<LogFileRow, 'ref' | 'stream'> {
  return { dagName: target.dagName, dagRunId: target.dagRunId, attemptId: target.attemptId };
}

function isLocalFile(ref: string): boolean {
  try {
    return ref !== '' && statSync(ref).isFile();
  } catch {
    return false;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readRange(path: string, start: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, start);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
