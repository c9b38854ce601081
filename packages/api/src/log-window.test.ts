// The log window of api-v2.md §6 through the log store on real files: exact counts below 10 KiB,
// estimates above, and windows read from the start or the end without loading the whole file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileLogStore, type LogWindowQuery } from '@dagu-ts/core';
import { readLogWindow as readWindow } from './log-window.js';

const dir = mkdtempSync(join(tmpdir(), 'dagu-log-window-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logs = new FileLogStore(dir);
const readLogWindow = (ref: string, query: LogWindowQuery) => readWindow(logs, ref, query);

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const numbered = (count: number, width = 0) =>
  Array.from({ length: count }, (_, i) => `line ${String(i + 1).padStart(width, '0')}`);

describe('readLogWindow', () => {
  it('an empty file has only content', async () => {
    expect(await readLogWindow(file('empty.log', ''), {})).toEqual({ content: '' });
  });

  it('small files: exact counts, CRLF stripped, no final empty line', async () => {
    const path = file('small.log', 'a\r\nb\nc\n');
    expect(await readLogWindow(path, {})).toEqual({
      content: 'a\nb\nc',
      lineCount: 3,
      totalLines: 3,
    });
    expect(await readLogWindow(path, { tail: 1 })).toEqual({
      content: 'c',
      lineCount: 1,
      totalLines: 3,
      hasMore: true,
    });
    const noNewline = file('nonl.log', 'x\ny');
    expect(await readLogWindow(noNewline, { head: 5 })).toEqual({
      content: 'x\ny',
      lineCount: 2,
      totalLines: 2,
    });
  });

  it('large files: estimated totals, windows from either end', async () => {
    const lines = numbered(50_000, 6); // ~600 KB
    const path = file('large.log', `${lines.join('\n')}\n`);
    const tail = await readLogWindow(path, { tail: 3 });
    expect(tail.content).toBe(lines.slice(-3).join('\n'));
    expect(tail).toMatchObject({ lineCount: 3, hasMore: true, isEstimate: true });
    expect(tail.totalLines).toBeGreaterThanOrEqual(50_000);
    expect(tail.totalLines).toBeLessThan(55_000);
    const head = await readLogWindow(path, { head: 2 });
    expect(head).toMatchObject({
      content: 'line 000001\nline 000002',
      lineCount: 2,
      hasMore: true,
    });
    const offset = await readLogWindow(path, { offset: 49_999, limit: 10 });
    expect(offset.content).toBe('line 049999\nline 050000');
    expect(offset.hasMore).toBeUndefined();
    const middle = await readLogWindow(path, { offset: 100, limit: 2 });
    expect(middle).toMatchObject({ content: 'line 000100\nline 000101', hasMore: true });
    const whole = await readLogWindow(path, { tail: 60_000 });
    expect(whole.lineCount).toBe(50_000);
    expect(whole.hasMore).toBeUndefined();
    const defaults = await readLogWindow(path, {});
    expect(defaults.lineCount).toBe(1000);
  });

  it('files over 2 MiB sample the middle too; multi-byte characters survive chunk edges', async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `é${'ü'.repeat(i % 50)} ${i + 1}`);
    const path = file('big.log', lines.join('\n'));
    const tail = await readLogWindow(path, { tail: 5000 });
    expect(tail.content).toBe(lines.slice(-5000).join('\n'));
    expect(tail.isEstimate).toBe(true);
    const offset = await readLogWindow(path, { offset: 20_000, limit: 3 });
    expect(offset.content).toBe(lines.slice(19_999, 20_002).join('\n'));
  });

  it('a missing file or an empty path is 404', async () => {
    await expect(readLogWindow(join(dir, 'nope.log'), {})).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
    });
    await expect(readLogWindow('', {})).rejects.toMatchObject({ status: 404 });
    await expect(readLogWindow(dir, {})).rejects.toMatchObject({ status: 404 });
  });
});
