import { describe, expect, it } from 'vitest';
import {
  applyEarlier,
  applyFollow,
  earlierQuery,
  emptyBuffer,
  followQuery,
  fromTail,
  hasEarlier,
  initialQuery,
  MAX_LINES,
  nextLine,
} from './log-window.js';

/** A fake log file answering the API's windows, as the server does. */
function serve(file: string[], query: ReturnType<typeof initialQuery>) {
  if ('tail' in query) {
    const lines = file.slice(Math.max(0, file.length - query.tail));
    return { content: lines.join('\n'), lineCount: lines.length, totalLines: file.length };
  }
  const lines = file.slice(query.offset - 1, query.offset - 1 + query.limit);
  return { content: lines.join('\n'), lineCount: lines.length, totalLines: file.length };
}

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

describe('log window', () => {
  it('starts with the tail of the file and knows where it is', () => {
    const file = numbered(1, 2000);
    const buffer = fromTail(serve(file, initialQuery()));
    expect(buffer.lines).toHaveLength(500);
    expect(buffer.firstLine).toBe(1501);
    expect(buffer.lines[0]).toBe('line 1501');
    expect(nextLine(buffer)).toBe(2001);
    expect(hasEarlier(buffer)).toBe(true);
  });

  it('follows a growing file, re-reading the last line in case it was half written', () => {
    const file = ['a', 'b', 'hal'];
    let buffer = fromTail(serve(file, initialQuery()));
    expect(buffer.lines).toEqual(['a', 'b', 'hal']);
    file[2] = 'half done';
    file.push('c', 'd');
    const query = followQuery(buffer);
    expect(query).toEqual({ offset: 3, limit: 1000 });
    buffer = applyFollow(buffer, query, serve(file, query));
    expect(buffer.lines).toEqual(['a', 'b', 'half done', 'c', 'd']);
    // Nothing new: unchanged.
    const again = followQuery(buffer);
    expect(applyFollow(buffer, again, serve(file, again)).lines).toEqual(buffer.lines);
  });

  it('follows an empty file until lines appear', () => {
    const file: string[] = [];
    let buffer = fromTail(serve(file, initialQuery()));
    expect(buffer).toEqual(emptyBuffer());
    let query = followQuery(buffer);
    buffer = applyFollow(buffer, query, serve(file, query));
    expect(buffer.lines).toEqual([]);
    file.push('first');
    query = followQuery(buffer);
    buffer = applyFollow(buffer, query, serve(file, query));
    expect(buffer.lines).toEqual(['first']);
  });

  it('keeps at most MAX_LINES while following, dropping the oldest', () => {
    const file = numbered(1, 10);
    let buffer = fromTail(serve(file, initialQuery()));
    for (let round = 0; round < 8; round++) {
      file.push(...numbered(file.length + 1, file.length + 999));
      const query = followQuery(buffer);
      buffer = applyFollow(buffer, query, serve(file, query));
    }
    expect(buffer.lines).toHaveLength(MAX_LINES);
    expect(buffer.lines.at(-1)).toBe(`line ${file.length}`);
    expect(buffer.lines[0]).toBe(`line ${buffer.firstLine}`);
  });

  it('loads earlier windows until the start of the file', () => {
    const file = numbered(1, 1200);
    let buffer = fromTail(serve(file, initialQuery()));
    let query = earlierQuery(buffer);
    expect(query).toEqual({ offset: 201, limit: 500 });
    buffer = applyEarlier(buffer, query, serve(file, query));
    expect(buffer.firstLine).toBe(201);
    query = earlierQuery(buffer);
    expect(query).toEqual({ offset: 1, limit: 200 });
    buffer = applyEarlier(buffer, query, serve(file, query));
    expect(buffer.lines).toEqual(file);
    expect(hasEarlier(buffer)).toBe(false);
  });

  it('follows by tail windows when line numbers are estimates', () => {
    const buffer = fromTail({ content: 'x\ny', totalLines: 100_000, isEstimate: true });
    expect(hasEarlier(buffer)).toBe(false);
    const query = followQuery(buffer);
    expect(query).toEqual({ tail: 500 });
    expect(applyFollow(buffer, query, { content: 'y\nz', isEstimate: true }).lines).toEqual([
      'y',
      'z',
    ]);
  });
});
