import type { DAGRunSummary } from '@dagu-ts/client';
import { ErrorBox, StatusBadge } from '../components.js';
import { usePoll } from '../data.js';
import { formatTime, statusClass } from '../format.js';
import { enc, Link } from '../router.js';

const DAY_MS = 24 * 3600 * 1000;

export function DashboardPage() {
  const runs = usePoll('dashboard', async (client, signal) => {
    const fromDate = Math.floor((Date.now() - DAY_MS) / 1000);
    const [recent, running, queued] = await Promise.all([
      client.listDagRuns({ fromDate, limit: 1000 }, { signal }),
      client.listDagRuns({ status: 1, fromDate: 0, limit: 100 }, { signal }),
      client.listDagRuns({ status: 5, fromDate: 0, limit: 100 }, { signal }),
    ]);
    return { recent: recent.dagRuns, running: running.dagRuns, queued: queued.dagRuns };
  });
  const counts = new Map<string, number>();
  for (const run of runs.data?.recent ?? [])
    counts.set(run.statusLabel, (counts.get(run.statusLabel) ?? 0) + 1);
  const order = ['running', 'queued', 'finished', 'failed', 'partial success', 'canceled'];
  return (
    <main>
      <div className="page-head">
        <h1>Dashboard</h1>
        <span className="muted">last 24 hours</span>
      </div>
      <ErrorBox error={runs.error} />
      <ul className="counts" aria-label="Runs by status">
        {order.map((label) => (
          <li key={label} className={statusClass(label)}>
            <span className="count">{counts.get(label) ?? 0}</span>
            <span>{label}</span>
          </li>
        ))}
      </ul>
      {runs.data ? <Timeline runs={runs.data.recent} /> : null}
      <div className="two-col">
        <RunList title="Running" runs={runs.data?.running} />
        <RunList title="Queued" runs={runs.data?.queued} />
      </div>
      <RunList title="Recent runs" runs={runs.data?.recent.slice(0, 20)} />
    </main>
  );
}

/** Runs of the last 24 h as marks on a time axis, coloured by status. */
function Timeline({ runs }: { runs: DAGRunSummary[] }) {
  const now = Date.now();
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <div className="timeline" role="img" aria-label={`${runs.length} runs in the last 24 hours`}>
        {runs
          .filter((run) => run.startedAt)
          .slice(0, 500)
          .map((run) => {
            const at = new Date(run.startedAt).getTime();
            const left = Math.min(100, Math.max(0, 100 - ((now - at) / DAY_MS) * 100));
            return (
              <span
                key={`${run.name}/${run.dagRunId}`}
                className={`mark ${statusClass(run.statusLabel)}`}
                style={{ left: `${left}%` }}
                title={`${run.name} ${run.statusLabel} ${formatTime(run.startedAt)}`}
              />
            );
          })}
      </div>
      <div className="timeline-axis muted small" aria-hidden="true">
        <span>24 h ago</span>
        <span>12 h</span>
        <span>now</span>
      </div>
    </section>
  );
}

function RunList({ title, runs }: { title: string; runs: DAGRunSummary[] | undefined }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {runs === undefined ? (
        <p className="muted">Loading…</p>
      ) : runs.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul className="run-list">
          {runs.map((run) => (
            <li key={`${run.name}/${run.dagRunId}`}>
              <Link to={`/runs/${enc(run.name)}/${enc(run.dagRunId)}`}>{run.name}</Link>
              <StatusBadge label={run.statusLabel} />
              <span className="muted small">{formatTime(run.startedAt || run.queuedAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
