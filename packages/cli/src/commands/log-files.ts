// Reading step and run log files for `status` (the last lines of a failed step) and `logs`.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Bytes read from the end of a file for its last lines: enough for a preview, never the file. */
const TAIL_BYTES = 64 * 1024;

/** The last `count` lines of a file; [] when it does not exist or is empty. */
export function tailLines(path: string, count: number): string[] {
  if (!path) return [];
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(path).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').replace(/\n$/, '').split('\n');
    if (start > 0) lines.shift(); // the first line was cut
    return lines.filter((line, i) => line !== '' || i < lines.length - 1).slice(-count);
  } finally {
    closeSync(fd);
  }
}

/** Bytes of a file from `offset` to its end (at most `max`); empty when it does not exist. */
export function readFrom(path: string, offset: number, max = 1024 * 1024): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(Math.min(max, size - offset));
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
