import type { DAGRunDetails, ResultOf } from '@dagu-ts/client';
import { isTerminalStatus } from '@dagu-ts/client';
import { useEffect, useState } from 'react';
import { DagGraph, ErrorBox, StatusBadge } from '../components.js';
import { fire, useAction, usePoll, useSession } from '../data.js';
import { formatDuration, formatTime, span, statusClass } from '../format.js';
import { enc, Link, navigate } from '../router.js';
import { SpecEditor } from './Spec.js';

type DagResponse = ResultOf<'getDag'>;

export function DagPage({ fileName, tab }: { fileName: string; tab: 'overview' | 'spec' }) {
  const { can } = useSession();
  const dag = usePoll(`dag:${fileName}`, (client, signal) => client.getDag(fileName, { signal }));
  const details = dag.data as DagResponse | undefined;
  const title = details?.dag?.name ?? fileName;
  return (
    <main>
      <div className="page-head">
        <h1>{title}</h1>
        {details ? <StatusBadge label={details.latestDAGRun.statusLabel} /> : null}
        {details?.suspended ? <span className="badge suspended">suspended</span> : null}
      </div>
      {details?.dag?.description ? <p className="muted">{details.dag.description}</p> : null}
      <ErrorBox error={dag.error} />
      {details && details.errors.length > 0 ? (
        <ul className="error" aria-label="Errors in the DAG file">
          {details.errors.map((text) => (
            <li key={text}>{text}</li>
          ))}
        </ul>
      ) : null}
      <nav className="tabs" aria-label="DAG views">
        <Link to={`/dags/${enc(fileName)}`} aria-current={tab === 'overview' ? 'page' : undefined}>
          Overview
        </Link>
        <Link to={`/dags/${enc(fileName)}/spec`} aria-current={tab === 'spec' ? 'page' : undefined}>
          Spec
        </Link>
      </nav>
      {tab === 'spec' ? (
        <SpecEditor fileName={fileName} canWrite={can('write')} onSaved={dag.reload} />
      ) : details ? (
        <Overview fileName={fileName} details={details} reload={dag.reload} />
      ) : null}
    </main>
  );
}

function Overview({
  fileName,
  details,
  reload,
}: {
  fileName: string;
  details: DagResponse;
  reload: () => void;
}) {
  const { can } = useSession();
  const latest = details.latestDAGRun;
  const history = usePoll(`history:${fileName}`, (client, signal) =>
    client.getDagHistory(fileName, { signal }),
  );
  const steps = details.dag?.steps ?? [];
  return (
    <>
      {can('run') || can('write') ? (
        <Actions fileName={fileName} details={details} reload={reload} />
      ) : null}
      <section aria-labelledby="graph-title">
        <h2 id="graph-title">
          Graph{' '}
          {latest.dagRunId ? (
            <span className="muted small">
              latest run{' '}
              <Link to={`/runs/${enc(latest.name)}/${enc(latest.dagRunId)}`}>
                {latest.dagRunId.slice(0, 13)}…
              </Link>
            </span>
          ) : null}
        </h2>
        <DagGraph
          steps={steps}
          nodes={latest.nodes}
          onSelect={
            latest.dagRunId
              ? (step) =>
                  navigate(`/runs/${enc(latest.name)}/${enc(latest.dagRunId)}?step=${enc(step)}`)
              : undefined
          }
        />
      </section>
      <section aria-labelledby="history-title">
        <h2 id="history-title">Run history</h2>
        <ErrorBox error={history.error} />
        {history.data ? (
          <HistoryGrid runs={history.data.dagRuns} grid={history.data.gridData} />
        ) : null}
      </section>
    </>
  );
}

function HistoryGrid({
  runs,
  grid,
}: {
  runs: DAGRunDetails[];
  grid: { name: string; history: number[] }[];
}) {
  if (runs.length === 0) return <p className="muted">No runs yet.</p>;
  const labels = ['not started', 'running', 'failed', 'canceled', 'finished', 'skipped'];
  const now = Date.now();
  return (
    <div className="table-wrap">
      <table className="history">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            <th scope="col" className="hide-narrow">
              Started
            </th>
            <th scope="col" className="hide-narrow">
              Duration
            </th>
            <th scope="col">Steps</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run, index) => (
            <tr key={run.dagRunId}>
              <td>
                <Link to={`/runs/${enc(run.name)}/${enc(run.dagRunId)}`} className="mono">
                  {run.dagRunId.slice(0, 13)}…
                </Link>
              </td>
              <td>
                <StatusBadge label={run.statusLabel} />
              </td>
              <td className="hide-narrow">{formatTime(run.startedAt)}</td>
              <td className="hide-narrow">
                {formatDuration(span(run.startedAt, run.finishedAt, now))}
              </td>
              <td>
                <span className="cells">
                  {grid.map((row) => {
                    const label = labels[row.history[index] ?? 0] ?? 'not started';
                    return (
                      <span
                        key={row.name}
                        className={`cell ${statusClass(label)}`}
                        title={`${row.name}: ${label}`}
                        aria-label={`${row.name}: ${label}`}
                        role="img"
                      />
                    );
                  })}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Actions({
  fileName,
  details,
  reload,
}: {
  fileName: string;
  details: DagResponse;
  reload: () => void;
}) {
  const { can } = useSession();
  const canRun = can('run');
  const action = useAction();
  const [params, setParams] = useState(details.dag?.defaultParams ?? '');
  const [open, setOpen] = useState(false);
  const latest = details.latestDAGRun;
  const running = latest.status === 1;
  useEffect(() => setParams(details.dag?.defaultParams ?? ''), [details.dag?.defaultParams]);

  const start = async (enqueue: boolean) => {
    const body = params.trim() ? { params: params.trim() } : {};
    const result = await action.runAsync((client) =>
      enqueue ? client.enqueueDag(fileName, body) : client.startDag(fileName, body),
    );
    if (result) navigate(`/runs/${enc(details.dag?.name ?? fileName)}/${enc(result.dagRunId)}`);
  };

  return (
    <section className="actions" aria-label="Actions">
      <div className="buttons">
        {canRun ? (
          <button type="button" className="primary" onClick={() => setOpen((v) => !v)}>
            Start…
          </button>
        ) : null}
        {canRun && running ? (
          <button
            type="button"
            className="danger"
            disabled={action.busy}
            onClick={() =>
              action.run((client) => client.stopDagRun(latest.name, latest.dagRunId), reload)
            }
          >
            Stop latest run
          </button>
        ) : null}
        {canRun && latest.dagRunId && isTerminalStatus(latest.status) ? (
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              action.run(
                (client) =>
                  client.retryDagRun(latest.name, latest.dagRunId, { dagRunId: latest.dagRunId }),
                reload,
              )
            }
          >
            Retry latest run
          </button>
        ) : null}
        {canRun ? (
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              action.run(
                (client) => client.suspendDag(fileName, { suspend: !details.suspended }),
                reload,
              )
            }
          >
            {details.suspended ? 'Resume schedule' : 'Suspend schedule'}
          </button>
        ) : null}
        {can('write') ? (
          <>
            <button
              type="button"
              disabled={action.busy}
              onClick={() => {
                const next = window.prompt('New file name', fileName);
                if (!next || next === fileName) return;
                action.run(
                  (client) => client.renameDag(fileName, { newFileName: next }).then(() => true),
                  (done) => {
                    if (done)
                      navigate(`/dags/${enc(next.replace(/\.ya?ml$/, ''))}`, { replace: true });
                  },
                );
              }}
            >
              Rename
            </button>
            <button
              type="button"
              className="danger"
              disabled={action.busy}
              onClick={() => {
                if (!window.confirm(`Delete the DAG file ${fileName}?`)) return;
                action.run(
                  (client) => client.deleteDag(fileName).then(() => true),
                  (done) => {
                    if (done) navigate('/dags');
                  },
                );
              }}
            >
              Delete
            </button>
          </>
        ) : null}
      </div>
      {canRun && open ? (
        <form
          className="start-form"
          onSubmit={(event) => {
            event.preventDefault();
            fire(start(false));
          }}
        >
          <label htmlFor="params">Parameters</label>
          <textarea
            id="params"
            rows={2}
            value={params}
            onChange={(event) => setParams(event.target.value)}
            placeholder='KEY=value KEY2="a b" or {"KEY":"value"}'
          />
          <div className="buttons">
            <button type="submit" className="primary" disabled={action.busy}>
              Start run
            </button>
            <button type="button" disabled={action.busy} onClick={() => fire(start(true))}>
              Enqueue
            </button>
          </div>
        </form>
      ) : null}
      <ErrorBox error={action.error} />
    </section>
  );
}
