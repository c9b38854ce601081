import { describe, expect, it } from 'vitest';
import { childDagRunId, isValidDagRunId, newDagRunId } from './ids.js';

describe('run ids', () => {
  it('generates time-ordered UUID v7 ids', () => {
    const first = newDagRunId(1_700_000_000_000);
    const second = newDagRunId(1_700_000_000_001);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first < second).toBe(true);
  });

  it.each([
    ['deploy-v1.2.3', true],
    ['run_1', true],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['-leading', false],
    ['has space', false],
    ['a..b', false],
    ['../etc', false],
    ['', false],
  ])('validates %j → %s', (id, valid) => {
    expect(isValidDagRunId(id)).toBe(valid);
  });

  it('derives child ids deterministically in base58', () => {
    const id = childDagRunId('parent-run', 'call', 'WHO="world"');
    expect(id).toMatch(/^[1-9A-HJ-NP-Za-km-z]+$/);
    expect(childDagRunId('parent-run', 'call', 'WHO="world"')).toBe(id);
    expect(childDagRunId('parent-run', 'call', 'WHO="x"')).not.toBe(id);
    expect(childDagRunId('parent-run', 'call', 'WHO="world"', true)).not.toBe(id);
  });
});
