import { StoreUnavailableError } from '@dagu-ts/core';
import { describe, expect, it } from 'vitest';
import { handleUncaught } from './crash-policy.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ write: (line: string) => lines.push(JSON.parse(line)) });
  const exits: number[] = [];
  return { lines, logger, exits, exit: (code: number) => void exits.push(code) };
}

describe('the uncaught error policy', () => {
  it('logs a store that cannot be written and goes on', () => {
    const { lines, logger, exits, exit } = capture();
    handleUncaught('unhandledRejection', new StoreUnavailableError('disk full'), logger, exit);
    const sqlite = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    handleUncaught('uncaughtException', sqlite, logger, exit);
    expect(exits).toEqual([]);
    expect(lines).toMatchObject([
      { level: 'error', kind: 'unhandledRejection', error: 'disk full' },
      { level: 'error', kind: 'uncaughtException', code: 'SQLITE_IOERR_WRITE' },
    ]);
  });

  it('logs anything else and exits with 1', () => {
    const { lines, logger, exits, exit } = capture();
    handleUncaught('uncaughtException', new TypeError('x is undefined'), logger, exit);
    expect(exits).toEqual([1]);
    expect(lines[0]).toMatchObject({ msg: 'uncaught error; exiting', error: 'x is undefined' });
  });
});
