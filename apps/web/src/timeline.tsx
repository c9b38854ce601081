// The dashboard's timeline: runs of the last 24 h as bars from start to finish (a running run
// reaches "now"), coloured by status, one row per DAG. `now` comes in as a value, so the layout
// is a pure function of the runs and the clock.
import type { DAGRunSummary } from '@dagu-ts/client';
import { formatDuration, formatTime, isSet, statusClass } from './format.js';
import { enc, Link } from './router.js';

export const DAY_MS = 24 * 3600 * 1000;
/** Rows shown at most (the DAGs that ran most recently); the rest are counted. */
export const MAX_LANES = 12;

export interface TimelineBar {
  run: DAGRunSummary;
  /** Position and length in percent of the window. */
  left: number;
  width: number;
  /** Milliseconds from start to finish (or to now). */
  duration: number;
}

export interface TimelineLane {
  name: string;
  bars: TimelineBar[];
}

/**
 * Lanes for the runs that overlap the `windowMs` before `now`, most recently started DAG first;
 * runs never started (queued) have no bar. Each run appears once, however often it is listed.
 */
export function timelineLanes(
  runs: readonly DAGRunSummary[],
  now: number,
  windowMs = DAY_MS,
): { lanes: TimelineLane[]; hidden: number } {
  const from = now - windowMs;
  const seen = new Set<string>();
  const byName = new Map<string, { latest: number; bars: TimelineBar[] }>();
  for (const run of runs) {
    const key = `${run.name}\u0000${run.dagRunId}`;
    if (seen.has(key) || !isSet(run.startedAt)) continue;
    seen.add(key);
    const start = new Date(run.startedAt).getTime();
    const end = isSet(run.finishedAt) ? new Date(run.finishedAt).getTime() : now;
    if (Number.isNaN(start) || end < from || start > now) continue;
    const left = Math.max(start, from);
    const right = Math.min(Math.max(end, start), now);
    const lane = byName.get(run.name) ?? { latest: start, bars: [] };
    lane.latest = Math.max(lane.latest, start);
    lane.bars.push({
      run,
      left: ((left - from) / windowMs) * 100,
      width: ((right - left) / windowMs) * 100,
      duration: Math.max(0, end - start),
    });
    byName.set(run.name, lane);
  }
  const lanes = [...byName]
    .sort(([a, x], [b, y]) => y.latest - x.latest || (a < b ? -1 : 1))
    .map(([name, lane]) => ({
      name,
      bars: lane.bars.sort((a, b) => a.left - b.left),
    }));
  return { lanes: lanes.slice(0, MAX_LANES), hidden: Math.max(0, lanes.length - MAX_LANES) };
}

const TICKS = ['24 h', '18 h', '12 h', '6 h', 'now'];

export function Timeline({ runs, now }: { runs: readonly DAGRunSummary[]; now: number }) {
  const { lanes, hidden } = timelineLanes(runs, now);
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      {lanes.length === 0 ? (
        <p className="muted">No runs in the last 24 hours.</p>
      ) : (
        <div className="timeline">
          <ul className="lanes" aria-label="Runs of the last 24 hours by DAG">
            {lanes.map((lane) => (
              <li key={lane.name} className="lane">
                <Link to={`/dags/${enc(lane.name)}`} className="lane-name" title={lane.name}>
                  {lane.name}
                </Link>
                <span className="lane-track">
                  {lane.bars.map(({ run, left, width, duration }) => (
                    <Link
                      key={run.dagRunId}
                      to={`/runs/${enc(run.name)}/${enc(run.dagRunId)}`}
                      className={`bar ${statusClass(run.statusLabel)}`}
                      style={{ left: `${left.toFixed(3)}%`, width: `${width.toFixed(3)}%` }}
                      aria-label={`${run.name} ${run.statusLabel}, started ${formatTime(run.startedAt)}, ${formatDuration(duration)}`}
                      title={`${run.name}: ${run.statusLabel}, ${formatTime(run.startedAt)}, ${formatDuration(duration)}`}
                    />
                  ))}
                </span>
              </li>
            ))}
          </ul>
          <div className="timeline-axis muted small" aria-hidden="true">
            {TICKS.map((tick, i) => (
              <span key={tick} style={{ left: `${(i / (TICKS.length - 1)) * 100}%` }}>
                {tick}
                {/* At phone width "24 h ago" would run into "18 h". */}
                {i === 0 ? <span className="hide-narrow"> ago</span> : null}
              </span>
            ))}
          </div>
          {hidden > 0 ? (
            <p className="muted small">
              and {hidden} more DAG{hidden === 1 ? '' : 's'}
            </p>
          ) : null}
        </div>
      )}
    </section>
  );
}
