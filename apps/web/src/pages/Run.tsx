import { isTerminalStatus, type Node } from '@dagu-ts/client';
import { DagGraph, ErrorBox, LogViewer, StatusBadge, TimingBars } from '../components.js';
import { useAction, usePoll, useSession } from '../data.js';
import { formatDuration, formatTime, span } from '../format.js';
import { enc, Link, navigate, type Location } from '../router.js';

export function RunPage({
  name,
  dagRunId,
  location,
}: {
  name: string;
  dagRunId: string;
  location: Location;
}) {
  const { can } = useSession();
  const run = usePoll(`run:${name}:${dagRunId}`, (client, signal) =>
    client.getDagRun(name, dagRunId, { signal }),
  );
  const action = useAction();
  const details = run.data?.dagRunDetails;
  const nodes: Node[] = details
    ? [
        ...details.nodes,
        ...[details.onSuccess, details.onFailure, details.onCancel, details.onExit].filter(
          (node): node is Node => node !== undefined && node.status !== 0,
        ),
      ]
    : [];
  const selected = location.query.get('step') ?? undefined;
  const selectedNode = nodes.find((node) => node.step.name === selected);
  const select = (step: string) =>
    navigate(`/runs/${enc(name)}/${enc(dagRunId)}?step=${enc(step)}`, { replace: true });
  const canRun = can('run');
  const terminal = details ? isTerminalStatus(details.status) : false;

  return (
    <main>
      <div className="page-head">
        <h1>
          <Link to={`/dags/${enc(name)}`}>{name}</Link>
          <span className="muted"> / </span>
          <span className="mono run-id">{dagRunId}</span>
        </h1>
        {details ? <StatusBadge label={details.statusLabel} /> : null}
      </div>
      <ErrorBox error={run.error} />
      {details ? (
        <>
          <dl className="facts">
            <div>
              <dt>Started</dt>
              <dd>{formatTime(details.startedAt)}</dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>{formatTime(details.finishedAt)}</dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd>{formatDuration(span(details.startedAt, details.finishedAt, Date.now()))}</dd>
            </div>
            <div>
              <dt>Params</dt>
              <dd className="mono">{details.params || '—'}</dd>
            </div>
            {details.parentDAGRunId ? (
              <div>
                <dt>Parent</dt>
                <dd>
                  <Link to={`/runs/${enc(details.rootDAGRunName)}/${enc(details.rootDAGRunId)}`}>
                    {details.rootDAGRunName}
                  </Link>
                </dd>
              </div>
            ) : null}
          </dl>
          {canRun ? (
            <div className="buttons">
              {details.status === 1 ? (
                <button
                  type="button"
                  className="danger"
                  disabled={action.busy}
                  onClick={() =>
                    action.run((client) => client.stopDagRun(name, dagRunId), run.reload)
                  }
                >
                  Stop run
                </button>
              ) : null}
              {details.status === 5 ? (
                <button
                  type="button"
                  disabled={action.busy}
                  onClick={() =>
                    action.run((client) => client.dequeueDagRun(name, dagRunId), run.reload)
                  }
                >
                  Dequeue
                </button>
              ) : null}
              {terminal ? (
                <button
                  type="button"
                  disabled={action.busy}
                  onClick={() =>
                    action.run(
                      (client) => client.retryDagRun(name, dagRunId, { dagRunId }),
                      run.reload,
                    )
                  }
                >
                  Retry run
                </button>
              ) : null}
              {terminal && selectedNode ? (
                <>
                  <button
                    type="button"
                    disabled={action.busy}
                    onClick={() =>
                      action.run(
                        (client) =>
                          client.retryDagRun(name, dagRunId, {
                            dagRunId,
                            stepName: selectedNode.step.name,
                          }),
                        run.reload,
                      )
                    }
                  >
                    Retry step {selectedNode.step.name}
                  </button>
                  {[4, 2].map((status) => (
                    <button
                      key={status}
                      type="button"
                      disabled={action.busy}
                      onClick={() =>
                        action.run(
                          (client) =>
                            client.updateStepStatus(name, dagRunId, selectedNode.step.name, {
                              status: status as 2 | 4,
                            }),
                          run.reload,
                        )
                      }
                    >
                      Mark {selectedNode.step.name} {status === 4 ? 'succeeded' : 'failed'}
                    </button>
                  ))}
                </>
              ) : null}
            </div>
          ) : null}
          <ErrorBox error={action.error} />
          <div className="run-grid">
            <section aria-labelledby="timing-title">
              <h2 id="timing-title">Steps</h2>
              <TimingBars
                nodes={nodes}
                startedAt={details.startedAt}
                selected={selected}
                onSelect={select}
              />
              <ChildRuns nodes={nodes} />
            </section>
            <section aria-labelledby="log-title">
              <h2 id="log-title">Log</h2>
              {selectedNode ? (
                <LogViewer
                  key={`${selectedNode.step.name}:${selectedNode.stdout}`}
                  name={name}
                  dagRunId={dagRunId}
                  stepName={selectedNode.step.name}
                  live={selectedNode.status === 1 || details.status === 1}
                />
              ) : (
                <p className="muted">Choose a step to read its output.</p>
              )}
            </section>
          </div>
          <section aria-labelledby="run-graph-title">
            <h2 id="run-graph-title">Graph</h2>
            <DagGraph
              steps={details.nodes.map((node) => node.step)}
              nodes={nodes}
              onSelect={select}
            />
          </section>
        </>
      ) : null}
    </main>
  );
}

function ChildRuns({ nodes }: { nodes: Node[] }) {
  const children = nodes.flatMap((node) =>
    (node.children ?? []).map((child) => ({ step: node.step, child })),
  );
  if (children.length === 0) return null;
  return (
    <div>
      <h3>Sub-DAG runs</h3>
      <ul>
        {children.map(({ step, child }) => (
          <li key={child.dagRunId}>
            {step.name}:{' '}
            {step.run ? (
              <Link to={`/runs/${enc(step.run)}/${enc(child.dagRunId)}`} className="mono">
                {child.dagRunId}
              </Link>
            ) : (
              <span className="mono">{child.dagRunId}</span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
