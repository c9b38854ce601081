import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('writes one JSON object per line with time, level and message', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) }, () => new Date(0));
    logger.info('listening', { url: 'http://127.0.0.1:1' });
    logger.write({ level: 'warn', msg: 'request', status: 404 });
    logger.write({ msg: 'request', status: 200 });
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        time: '1970-01-01T00:00:00.000Z',
        level: 'info',
        msg: 'listening',
        url: 'http://127.0.0.1:1',
      },
      { time: '1970-01-01T00:00:00.000Z', level: 'warn', msg: 'request', status: 404 },
      { time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'request', status: 200 },
    ]);
  });
});
