// The dashboard timeline with an injected clock: bar positions, lanes and the rendered markup.
import type { DAGRunSummary } from '@dagu-ts/client';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { DAY_MS, MAX_LANES, Timeline, timelineLanes } from './timeline.js';

const NOW = Date.parse('2030-05-06T12:00:00Z');
const HOUR = 3600_000;

const iso = (ms: number) => new Date(ms).toISOString();

function run(
  name: string,
  id: string,
  startedAgoH: number | undefined,
  finishedAgoH: number | undefined,
  statusLabel = 'finished',
): DAGRunSummary {
  return {
    rootDAGRunName: name,
    rootDAGRunId: id,
    dagRunId: id,
    name,
    status: statusLabel === 'running' ? 1 : statusLabel === 'failed' ? 2 : 4,
    statusLabel: statusLabel as DAGRunSummary['statusLabel'],
    startedAt: startedAgoH === undefined ? '' : iso(NOW - startedAgoH * HOUR),
    finishedAt: finishedAgoH === undefined ? '' : iso(NOW - finishedAgoH * HOUR),
    log: '',
  };
}

describe('timelineLanes', () => {
  it('places each run from its start to its finish on a 24 h window ending now', () => {
    const { lanes } = timelineLanes(
      [run('etl', 'a', 12, 6), run('etl', 'b', 3, undefined, 'running'), run('etl', 'a', 12, 6)],
      NOW,
    );
    expect(lanes).toHaveLength(1);
    const [first, second] = lanes[0]!.bars;
    expect(lanes[0]!.bars).toHaveLength(2);
    expect(first!.left).toBeCloseTo(50);
    expect(first!.width).toBeCloseTo(25);
    expect(first!.duration).toBe(6 * HOUR);
    // Still running: the bar reaches now.
    expect(second!.left).toBeCloseTo(87.5);
    expect(second!.width).toBeCloseTo(12.5);
  });

  it('clips runs that began before the window and drops those outside it or never started', () => {
    const { lanes } = timelineLanes(
      [
        run('old', 'x', 30, 25),
        run('long', 'y', 30, 18),
        run('queued', 'z', undefined, undefined, 'queued'),
      ],
      NOW,
    );
    expect(lanes.map((lane) => lane.name)).toEqual(['long']);
    expect(lanes[0]!.bars[0]!.left).toBe(0);
    expect(lanes[0]!.bars[0]!.width).toBeCloseTo(25);
    expect(lanes[0]!.bars[0]!.duration).toBe(12 * HOUR);
  });

  it('puts the DAG that ran last first and counts the lanes left out', () => {
    const runs = Array.from({ length: MAX_LANES + 3 }, (_, i) =>
      run(`dag-${i}`, `r${i}`, 20 - i, 19.5 - i),
    );
    const { lanes, hidden } = timelineLanes(runs, NOW);
    expect(lanes).toHaveLength(MAX_LANES);
    expect(hidden).toBe(3);
    expect(lanes[0]!.name).toBe(`dag-${MAX_LANES + 2}`);
  });

  it('is a pure function of the clock', () => {
    const runs = [run('etl', 'a', 12, 6)];
    const later = timelineLanes(runs, NOW + 6 * HOUR, DAY_MS);
    expect(later.lanes[0]!.bars[0]!.left).toBeCloseTo(25);
  });
});

describe('Timeline', () => {
  it('renders a lane per DAG with a linked bar per run, coloured by status', () => {
    const html = renderToStaticMarkup(
      createElement(Timeline, {
        runs: [run('etl', 'a', 12, 6), run('report', 'b', 2, 1, 'failed')],
        now: NOW,
      }),
    );
    expect(html).toContain('aria-label="Runs of the last 24 hours by DAG"');
    expect(html.match(/class="lane"/g)).toHaveLength(2);
    expect(html.indexOf('>report<')).toBeLessThan(html.indexOf('>etl<'));
    expect(html).toMatch(
      /href="\/runs\/etl\/a" class="bar status-finished" style="left:50\.000%;width:25\.000%"/,
    );
    expect(html).toMatch(/class="bar status-failed"/);
    expect(html).toMatch(/aria-label="etl finished, started [^"]+, 6h 0m"/);
  });

  it('says so when nothing ran', () => {
    const html = renderToStaticMarkup(createElement(Timeline, { runs: [], now: NOW }));
    expect(html).toContain('No runs in the last 24 hours.');
  });
});
