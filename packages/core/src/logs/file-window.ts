// The log window of api-v2.md §6 on a log, for the four log endpoints: tail > head > offset >
// default, `limit` (default 1000) for the offset/default modes. Small logs (< 10 KiB) are
// counted exactly; larger ones get an estimated line count from a sample and are read only as
// far as the window needs (forward in chunks, backward in chunks for tail). A log is any
// random-access byte source: a local file, or a log stored in chunks in a database.
import { open, stat } from 'node:fs/promises';
import type { LogWindow, LogWindowQuery } from '../ports.js';

/** A log as bytes read by range: `read` returns fewer bytes than asked only at the end. */
export interface LogBytes {
  readonly size: number;
  read(start: number, length: number): Promise<Buffer>;
}

export const DEFAULT_LOG_LIMIT = 1000;
const EXACT_COUNT_BELOW = 10 * 1024;
const SAMPLE_BYTES = 1024 * 1024;
const TAIL_CHUNK = 64 * 1024;

/** Reads the window of the file at `path`; undefined when there is no such file. */
export async function readFileWindow(
  path: string,
  query: LogWindowQuery,
): Promise<LogWindow | undefined> {
  if (!path) return undefined;
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (!info?.isFile()) return undefined;
  const handle = await open(path, 'r');
  try {
    const read = async (start: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    };
    return await readLogWindow({ size: info.size, read }, query);
  } finally {
    await handle.close();
  }
}

/** Reads the window of a log given as a byte source. */
export async function readLogWindow(log: LogBytes, query: LogWindowQuery): Promise<LogWindow> {
  if (log.size === 0) return { content: '' };

  let lines: string[];
  let totalLines: number;
  let hasMore: boolean;
  let isEstimate = false;
  if (log.size < EXACT_COUNT_BELOW) {
    const all = splitLines((await log.read(0, log.size)).toString('utf8'));
    totalLines = all.length;
    ({ lines, hasMore } = selectFrom(all, query));
  } else {
    isEstimate = true;
    totalLines = await estimateLines(log);
    if (query.tail !== undefined) {
      const tail = await readTail(log, query.tail);
      lines = tail.lines;
      hasMore = !tail.reachedStart;
    } else {
      const first = query.head !== undefined ? 1 : (query.offset ?? 1);
      const count = query.head ?? query.limit ?? DEFAULT_LOG_LIMIT;
      const read = await readForward(log, first, count);
      lines = read.lines;
      hasMore = read.more;
    }
    // An estimate must never claim fewer lines than were seen.
    totalLines = Math.max(totalLines, lines.length);
  }
  return omitEmpty({
    content: lines.join('\n'),
    lineCount: lines.length,
    totalLines,
    hasMore,
    isEstimate,
  });
}

function omitEmpty(window: Required<LogWindow>): LogWindow {
  const result: LogWindow = { content: window.content };
  if (window.lineCount) result.lineCount = window.lineCount;
  if (window.totalLines) result.totalLines = window.totalLines;
  if (window.hasMore) result.hasMore = true;
  if (window.isEstimate) result.isEstimate = true;
  return result;
}

/** Lines as Go's bufio.Scanner sees them: `\n` separated, a trailing `\r` dropped, no final empty line. */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map(stripCr);
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function selectFrom(all: string[], query: LogWindowQuery): { lines: string[]; hasMore: boolean } {
  const total = all.length;
  if (query.tail !== undefined) {
    const lines = query.tail >= total ? all : all.slice(total - query.tail);
    return { lines, hasMore: lines.length < total };
  }
  if (query.head !== undefined) {
    const lines = all.slice(0, query.head);
    return { lines, hasMore: lines.length < total };
  }
  const offset = query.offset ?? 1;
  const limit = query.limit ?? DEFAULT_LOG_LIMIT;
  if (offset > total) return { lines: [], hasMore: false };
  const lines = all.slice(offset - 1, offset - 1 + limit);
  return { lines, hasMore: offset + lines.length - 1 < total };
}

function countNewlines(buffer: Buffer): number {
  let count = 0;
  let index = buffer.indexOf(10);
  while (index !== -1) {
    count++;
    index = buffer.indexOf(10, index + 1);
  }
  return count;
}

/** Average line length of a 1 MiB sample at the start (and one from the middle past 2 MiB), × 1.05. */
async function estimateLines(log: LogBytes): Promise<number> {
  const size = log.size;
  const samples = [await log.read(0, Math.min(SAMPLE_BYTES, size))];
  if (size > 2 * SAMPLE_BYTES) samples.push(await log.read(Math.floor(size / 2), SAMPLE_BYTES));
  const bytes = samples.reduce((sum, sample) => sum + sample.length, 0);
  const lines = samples.reduce((sum, sample) => sum + countNewlines(sample), 0);
  if (lines === 0) return 1;
  return Math.ceil((size / (bytes / lines)) * 1.05);
}

/** Lines first … first+count−1 (1-based), and whether a line follows them. */
async function readForward(
  log: LogBytes,
  first: number,
  count: number,
): Promise<{ lines: string[]; more: boolean }> {
  const lines: string[] = [];
  let number = 0;
  let pending: Buffer[] = [];
  /** Takes one complete line; true when the window is full and a further line exists. */
  const take = (line: Buffer): boolean => {
    number++;
    if (number < first) return false;
    if (lines.length === count) return true;
    lines.push(stripCr(line.toString('utf8')));
    return false;
  };
  for (let position = 0; position < log.size;) {
    const chunk = await log.read(position, Math.min(TAIL_CHUNK, log.size - position));
    if (chunk.length === 0) break;
    position += chunk.length;
    let start = 0;
    let index = chunk.indexOf(10);
    while (index !== -1) {
      const piece = chunk.subarray(start, index);
      const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      if (take(line)) return { lines, more: true };
      start = index + 1;
      index = chunk.indexOf(10, start);
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0 && take(Buffer.concat(pending))) return { lines, more: true };
  return { lines, more: false };
}

/** The last `count` lines, read backwards in chunks; `reachedStart` when nothing precedes them. */
async function readTail(
  log: LogBytes,
  count: number,
): Promise<{ lines: string[]; reachedStart: boolean }> {
  const size = log.size;
  const chunks: Buffer[] = [];
  let position = size;
  let newlines = 0;
  // A final newline ends the last line; it does not start an empty one.
  let trailing = 0;
  const last = await log.read(size - 1, 1);
  if (last[0] === 10) trailing = 1;
  // count lines need count separators before them (+1 for a trailing newline).
  while (position > 0 && newlines < count + trailing) {
    const length = Math.min(TAIL_CHUNK, position);
    position -= length;
    const chunk = await log.read(position, length);
    chunks.unshift(chunk);
    newlines += countNewlines(chunk);
  }
  const lines = splitLines(Buffer.concat(chunks).toString('utf8'));
  const reachedStart = position === 0 && lines.length <= count;
  return { lines: lines.slice(Math.max(0, lines.length - count)), reachedStart };
}
