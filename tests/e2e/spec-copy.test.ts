import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

const specDir = join(repoRoot, 'docs', 'spec');
const shared = join(repoRoot, '..', 'shared', 'spec');

/** The specs that comments cite; `corpus/` has its own copy (tests/corpus). */
const specFiles = ['api-v2.md', 'dag-yaml.md', 'cli-and-sdk.md', 'seed-rest-api.txt'];

describe('docs/spec', () => {
  it.runIf(existsSync(shared))('is an exact copy of shared/spec (without corpus/)', () => {
    for (const file of readdirSync(shared)) {
      if (!statSync(join(shared, file)).isFile()) continue;
      expect(readFileSync(join(specDir, file), 'utf8'), file).toBe(
        readFileSync(join(shared, file), 'utf8'),
      );
    }
  });

  it('holds every spec that comments cite', () => {
    for (const file of specFiles) expect(existsSync(join(specDir, file)), file).toBe(true);
  });
});
