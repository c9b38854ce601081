// Shared pieces: status badge, DAG graph (SVG from layoutGraph), step timing bars and the log
// viewer (windows of a step's log, following while the step runs).
import type { Node, Step } from '@dagu-ts/client';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { errorText, fire, useSession } from './data.js';
import { formatDuration, isSet, span, statusClass } from './format.js';
import { layoutGraph } from './layout.js';
import {
  applyEarlier,
  applyFollow,
  earlierQuery,
  emptyBuffer,
  followQuery,
  fromTail,
  hasEarlier,
  initialQuery,
  type LogBuffer,
  type LogQuery,
} from './log-window.js';

export function StatusBadge({ label }: { label: string }) {
  return <span className={`badge ${statusClass(label)}`}>{label}</span>;
}

export function ErrorBox({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

export function DagGraph({
  steps,
  nodes,
  onSelect,
}: {
  steps: readonly Step[];
  nodes?: readonly Node[] | undefined;
  onSelect?: (name: string) => void;
}) {
  const layout = useMemo(() => layoutGraph(steps), [steps]);
  const statusOf = new Map(nodes?.map((node) => [node.step.name, node.statusLabel]));
  if (steps.length === 0) return <p className="muted">No steps.</p>;
  return (
    <div className="graph" role="group" aria-label="Steps and dependencies">
      <svg
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" className="edge-head" />
          </marker>
        </defs>
        {layout.edges.map((edge) => (
          <path
            key={`${edge.from}>${edge.to}`}
            d={edge.path}
            className="edge"
            markerEnd="url(#arrow)"
          />
        ))}
        {layout.nodes.map((node) => {
          const label = statusOf.get(node.name) ?? 'not started';
          const text = node.name.length > 20 ? `${node.name.slice(0, 19)}…` : node.name;
          return (
            <g
              key={node.name}
              className={`node ${statusClass(label)}`}
              transform={`translate(${node.x},${node.y})`}
              data-step={node.name}
              data-status={label}
              {...(onSelect
                ? {
                    role: 'button',
                    tabIndex: 0,
                    'aria-label': `${node.name}: ${label}`,
                    onClick: () => onSelect(node.name),
                    onKeyDown: (event: KeyboardEvent) => {
                      if (event.key === 'Enter' || event.key === ' ') onSelect(node.name);
                    },
                  }
                : { 'aria-label': `${node.name}: ${label}` })}
            >
              <title>{`${node.name}: ${label}`}</title>
              <rect width={node.width} height={node.height} rx="8" />
              <circle cx="16" cy={node.height / 2} r="5" className="dot" />
              <text x="28" y={node.height / 2 + 5}>
                {text}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** One bar per step from the run's start to its end (a Gantt chart), with durations. */
export function TimingBars({
  nodes,
  startedAt,
  selected,
  onSelect,
}: {
  nodes: readonly Node[];
  startedAt: string;
  selected?: string | undefined;
  onSelect: (name: string) => void;
}) {
  const now = Date.now();
  const origin = isSet(startedAt) ? new Date(startedAt).getTime() : now;
  const ends = nodes.map((node) =>
    isSet(node.startedAt) ? origin + Math.max(0, span(node.startedAt, node.finishedAt, now)) : 0,
  );
  const total = Math.max(1000, ...ends.map((end) => end - origin));
  return (
    <ul className="timing" aria-label="Steps">
      {nodes.map((node) => {
        const started = isSet(node.startedAt) ? new Date(node.startedAt).getTime() - origin : 0;
        const length = span(node.startedAt, node.finishedAt, now);
        const left = (Math.max(0, started) / total) * 100;
        const width = Number.isNaN(length) ? 0 : Math.max(0.8, (length / total) * 100);
        return (
          <li key={node.step.name} className={selected === node.step.name ? 'selected' : ''}>
            <button
              type="button"
              className="timing-row"
              onClick={() => onSelect(node.step.name)}
              aria-pressed={selected === node.step.name}
              aria-label={`Step ${node.step.name}, ${node.statusLabel}: show log`}
            >
              <span className="timing-name">{node.step.name}</span>
              <StatusBadge label={node.statusLabel} />
              <span className="timing-track" aria-hidden="true">
                <span
                  className={`timing-bar ${statusClass(node.statusLabel)}`}
                  style={{
                    left: `${Math.min(left, 99)}%`,
                    width: `${Math.min(width, 100 - Math.min(left, 99))}%`,
                  }}
                />
              </span>
              <span className="timing-duration">{formatDuration(length)}</span>
            </button>
            {node.error ? <p className="step-error">{node.error}</p> : null}
          </li>
        );
      })}
    </ul>
  );
}

/**
 * A step's stdout or stderr: the last lines first, then new lines every second while `live`,
 * earlier lines on demand. Only windows are requested (tail / offset+limit).
 */
export function LogViewer({
  name,
  dagRunId,
  stepName,
  live,
}: {
  name: string;
  dagRunId: string;
  stepName: string;
  live: boolean;
}) {
  const { client, unauthorized } = useSession();
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const [buffer, setBuffer] = useState<LogBuffer>(emptyBuffer);
  const [error, setError] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const bufferRef = useRef(buffer);
  bufferRef.current = buffer;
  const pre = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  const fetchWindow = (query: LogQuery, signal?: AbortSignal) =>
    client.getStepLog(name, dagRunId, stepName, { ...query, stream }, signal ? { signal } : {});

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;
    setBuffer(emptyBuffer());
    setLoaded(false);
    setError(undefined);
    const step = async () => {
      try {
        const query = first ? initialQuery() : followQuery(bufferRef.current);
        const answer = await fetchWindow(query, controller.signal);
        if (controller.signal.aborted) return;
        const next = first ? fromTail(answer) : applyFollow(bufferRef.current, query, answer);
        bufferRef.current = next;
        setBuffer(next);
        setLoaded(true);
        setError(undefined);
        first = false;
      } catch (caught) {
        if (controller.signal.aborted) return;
        if ((caught as { status?: number }).status === 401) return unauthorized();
        setError(errorText(caught));
      }
      if (live || first) timer = setTimeout(() => fire(step()), 1000);
    };
    fire(step());
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [client, name, dagRunId, stepName, stream, live]);

  useEffect(() => {
    if (stick.current && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [buffer]);

  const loadEarlier = async () => {
    const query = earlierQuery(buffer);
    try {
      const answer = await fetchWindow(query);
      setBuffer((current) => applyEarlier(current, query, answer));
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  return (
    <section className="log" aria-label={`Log of ${stepName}`}>
      <div className="log-bar">
        <h3>
          {stepName} <span className="muted">{stream}</span>
        </h3>
        <div className="segmented" role="group" aria-label="Stream">
          {(['stdout', 'stderr'] as const).map((value) => (
            <button
              key={value}
              type="button"
              aria-pressed={stream === value}
              onClick={() => setStream(value)}
            >
              {value}
            </button>
          ))}
        </div>
        {live ? <span className="live">● live</span> : null}
      </div>
      <ErrorBox error={error} />
      {hasEarlier(buffer) ? (
        <button type="button" className="link-button" onClick={() => fire(loadEarlier())}>
          Load earlier lines (from line {buffer.firstLine})
        </button>
      ) : null}
      <pre
        ref={pre}
        tabIndex={0}
        data-testid="log-content"
        onScroll={(event) => {
          const el = event.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {buffer.lines.length > 0
          ? buffer.lines.map((line, i) => (
              <span key={buffer.firstLine + i} className="log-line">
                <span className="ln" aria-hidden="true">
                  {buffer.estimated ? '' : buffer.firstLine + i}
                </span>
                {line}
                {'\n'}
              </span>
            ))
          : loaded
            ? '(empty)'
            : 'Loading…'}
      </pre>
    </section>
  );
}
