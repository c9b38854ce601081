import type { DAGRunSummary } from '@dagu-ts/client';
import { ErrorBox, StatusBadge } from '../components.js';
import { usePoll } from '../data.js';
import { formatTime, statusClass } from '../format.js';
import { enc, Link } from '../router.js';
import { DAY_MS, Timeline } from '../timeline.js';

export function DashboardPage() {
  const runs = usePoll('dashboard', async (client, signal) => {
    const now = Date.now();
    const fromDate = Math.floor((now - DAY_MS) / 1000);
    const [recent, running, queued] = await Promise.all([
      client.listDagRuns({ fromDate, limit: 1000 }, { signal }),
      client.listDagRuns({ status: 1, fromDate: 0, limit: 100 }, { signal }),
      client.listDagRuns({ status: 5, fromDate: 0, limit: 100 }, { signal }),
    ]);
    return { now, recent: recent.dagRuns, running: running.dagRuns, queued: queued.dagRuns };
  });
  // Finished runs of the last 24 h; running and queued ones whenever they began.
  const counts = new Map<string, number>();
  for (const run of runs.data?.recent ?? [])
    counts.set(run.statusLabel, (counts.get(run.statusLabel) ?? 0) + 1);
  if (runs.data) {
    counts.set('running', runs.data.running.length);
    counts.set('queued', runs.data.queued.length);
  }
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
      {runs.data ? (
        <Timeline runs={[...runs.data.running, ...runs.data.recent]} now={runs.data.now} />
      ) : null}
      <div className="two-col">
        <RunList title="Running" runs={runs.data?.running} />
        <RunList title="Queued" runs={runs.data?.queued} />
      </div>
      <RunList title="Recent runs" runs={runs.data?.recent.slice(0, 20)} />
    </main>
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
