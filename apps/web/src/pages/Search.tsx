import { Fragment, useState } from 'react';
import { ErrorBox } from '../components.js';
import { usePoll } from '../data.js';
import { enc, Link, navigate, type Location } from '../router.js';

export function SearchPage({ location }: { location: Location }) {
  const q = location.query.get('q') ?? '';
  const [draft, setDraft] = useState(q);
  const result = usePoll(
    `search:${q}`,
    (client, signal) =>
      q ? client.searchDags({ q }, { signal }) : Promise.resolve({ results: [], errors: [] }),
    0,
  );
  return (
    <main>
      <h1>Search DAG files</h1>
      <form
        className="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          navigate(`/search?q=${enc(draft)}`, { replace: true });
        }}
      >
        <input
          type="search"
          aria-label="Search text (regular expression)"
          placeholder="Text or regular expression…"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
        />
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <ErrorBox error={result.error} />
      {q && result.data ? (
        <>
          <p className="muted">
            {result.data.results.length} file(s) match <code>{q}</code>
          </p>
          <ul className="search-results">
            {result.data.results.map((item) => (
              <li key={item.name}>
                <Link to={`/dags/${enc(item.name)}/spec`} className="dag-name">
                  {item.name}
                </Link>
                {item.matches.map((match) => (
                  <pre key={match.lineNumber} className="snippet">
                    {match.line.split('\n').map((line, i) => {
                      const number = match.startLine + i;
                      // The newline stays outside the line's span: inside the hit's inline
                      // block it would put the next line beside the block, out of sight.
                      return (
                        <Fragment key={number}>
                          <span className={number === match.lineNumber ? 'hit' : ''}>
                            <span className="ln">{number}</span>
                            {line}
                          </span>
                          {'\n'}
                        </Fragment>
                      );
                    })}
                  </pre>
                ))}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </main>
  );
}
