import type { DAGFile } from '@dagu-ts/client';
import { useState } from 'react';
import { ErrorBox, StatusBadge } from '../components.js';
import { useAction, usePoll, useSession } from '../data.js';
import { formatTime } from '../format.js';
import { enc, Link, navigate, type Location } from '../router.js';

const PER_PAGE = 50;

/** The DAG files, one page at a time (the server filters and paginates). */
export function DagListPage({ location }: { location: Location }) {
  const name = location.query.get('name') ?? '';
  const tag = location.query.get('tag') ?? '';
  const page = Math.max(1, Number(location.query.get('page') ?? '1') || 1);
  const [draft, setDraft] = useState(name);
  const { can } = useSession();
  const create = useAction();
  const { data, error } = usePoll(
    `dags:${name}:${tag}:${page}`,
    (client, signal) =>
      client.listDags(
        { page, perPage: PER_PAGE, ...(name ? { name } : {}), ...(tag ? { tag } : {}) },
        { signal },
      ),
    undefined,
    true,
  );
  const go = (next: { name?: string; tag?: string; page?: number }) => {
    const query = new URLSearchParams();
    const n = next.name ?? name;
    const t = next.tag ?? tag;
    if (n) query.set('name', n);
    if (t) query.set('tag', t);
    if ((next.page ?? 1) > 1) query.set('page', String(next.page));
    const text = query.toString();
    navigate(`/dags${text ? `?${text}` : ''}`, { replace: true });
  };
  const pagination = data?.pagination;

  return (
    <main>
      <div className="page-head">
        <h1>DAGs</h1>
        {pagination ? <span className="muted">{pagination.totalRecords} files</span> : null}
        {can('write') ? (
          <button
            type="button"
            className="head-action"
            disabled={create.busy}
            onClick={() => {
              const next = window.prompt('Name of the new DAG file')?.trim();
              if (!next) return;
              create.run(
                (client) => client.createDag({ name: next }),
                (done) => {
                  if (done) navigate(`/dags/${enc(done.name)}/spec`);
                },
              );
            }}
          >
            New DAG
          </button>
        ) : null}
      </div>
      <ErrorBox error={create.error} />
      <form
        className="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          go({ name: draft, page: 1 });
        }}
      >
        <input
          type="search"
          aria-label="Filter by name"
          placeholder="Filter by name…"
          value={draft}
          onChange={(event) => {
            setDraft(event.target.value);
            go({ name: event.target.value, page: 1 });
          }}
        />
        {tag ? (
          <button type="button" className="chip" onClick={() => go({ tag: '', page: 1 })}>
            tag: {tag} ✕<span className="sr-only"> remove tag filter</span>
          </button>
        ) : null}
      </form>
      <ErrorBox error={error} />
      {data && data.errors.length > 0 ? (
        <details className="broken" open>
          <summary>{data.errors.length} DAG file(s) could not be read</summary>
          <ul>
            {data.errors.map((text) => (
              <li key={text}>
                <code>{text}</code>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {!data && !error ? <p className="muted">Loading…</p> : null}
      {data ? (
        <div className="table-wrap">
          <table className="dag-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Last run</th>
                <th scope="col" className="hide-narrow">
                  Schedule
                </th>
                <th scope="col" className="hide-narrow">
                  Started
                </th>
              </tr>
            </thead>
            <tbody>
              {data.dags.map((file) => (
                <DagRow key={file.fileName} file={file} onTag={(t) => go({ tag: t, page: 1 })} />
              ))}
              {data.dags.length === 0 ? (
                <tr>
                  <td colSpan={4} className="muted">
                    No DAGs match.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      ) : null}
      {pagination && pagination.totalPages > 1 ? (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            disabled={pagination.currentPage <= 1}
            onClick={() => go({ page: pagination.prevPage })}
          >
            ← Previous
          </button>
          <span>
            Page {pagination.currentPage} of {pagination.totalPages}
          </span>
          <button
            type="button"
            disabled={pagination.currentPage >= pagination.totalPages}
            onClick={() => go({ page: pagination.nextPage })}
          >
            Next →
          </button>
        </nav>
      ) : null}
    </main>
  );
}

function DagRow({ file, onTag }: { file: DAGFile; onTag: (tag: string) => void }) {
  const run = file.latestDAGRun;
  return (
    <tr className={file.errors.length > 0 ? 'row-broken' : ''}>
      <td>
        <Link to={`/dags/${enc(file.fileName)}`} className="dag-name">
          {file.fileName}
        </Link>
        {file.suspended ? <span className="badge suspended">suspended</span> : null}
        {file.dag.description ? <div className="muted small">{file.dag.description}</div> : null}
        {file.dag.tags && file.dag.tags.length > 0 ? (
          <div className="tags">
            {file.dag.tags.map((tag) => (
              <button
                key={tag}
                type="button"
                className="chip"
                onClick={() => onTag(tag)}
                aria-label={`Filter by tag ${tag}`}
              >
                {tag}
              </button>
            ))}
          </div>
        ) : null}
        {file.errors.length > 0 ? (
          <ul className="error small">
            {file.errors.map((text) => (
              <li key={text}>{text}</li>
            ))}
          </ul>
        ) : null}
      </td>
      <td>
        {run.dagRunId ? (
          <Link
            to={`/runs/${enc(run.name)}/${enc(run.dagRunId)}`}
            aria-label={`Latest run of ${file.fileName}: ${run.statusLabel}`}
          >
            <StatusBadge label={run.statusLabel} />
          </Link>
        ) : (
          <span className="muted">never run</span>
        )}
      </td>
      <td className="hide-narrow">
        {file.dag.schedule?.map((s) => <code key={s.expression}>{s.expression}</code>) ?? (
          <span className="muted">—</span>
        )}
      </td>
      <td className="hide-narrow">{formatTime(run.startedAt)}</td>
    </tr>
  );
}
