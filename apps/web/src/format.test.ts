import { describe, expect, it } from 'vitest';
import { errorLines, formatDuration, isSet, span, statusClass } from './format.js';

describe('format helpers', () => {
  it('finds the lines that validation errors point at', () => {
    expect([
      ...errorLines([
        '7: steps: step "report" depends on "nowhere", which is not a step of this DAG',
        'invalid YAML at line 12: bad indentation',
        'something [3:5] odd',
        'no line here',
      ]),
    ]).toEqual([7, 12, 3]);
  });

  it('formats durations and spans of API times', () => {
    expect(formatDuration(1_400)).toBe('1s');
    expect(formatDuration(125_000)).toBe('2m 5s');
    expect(formatDuration(3_780_000)).toBe('1h 3m');
    expect(formatDuration(Number.NaN)).toBe('—');
    const now = Date.parse('2026-01-01T00:01:00Z');
    expect(span('2026-01-01T00:00:00Z', '', now)).toBe(60_000);
    expect(span('2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', now)).toBe(30_000);
    expect(span('-', '', now)).toBeNaN();
    expect(isSet('-')).toBe(false);
  });

  it('turns status labels into class names', () => {
    expect(statusClass('partial success')).toBe('status-partial-success');
    expect(statusClass('not started')).toBe('status-not-started');
  });
});
