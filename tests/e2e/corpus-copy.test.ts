import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir, repoRoot } from './helpers.js';

const shared = join(repoRoot, '..', 'shared', 'spec', 'corpus');

describe('tests/corpus', () => {
  it.runIf(existsSync(shared))('is an exact copy of shared/spec/corpus', () => {
    for (const file of readdirSync(shared)) {
      expect(readFileSync(join(corpusDir, file), 'utf8'), file).toBe(
        readFileSync(join(shared, file), 'utf8'),
      );
    }
  });

  it('holds every file that cases.json names', () => {
    const cases = JSON.parse(readFileSync(join(corpusDir, 'cases.json'), 'utf8')) as {
      file: string;
    }[];
    for (const entry of cases)
      expect(existsSync(join(corpusDir, entry.file)), entry.file).toBe(true);
  });
});
