import type { DaguAuth } from '@dagu-ts/client';
import { DaguApiError } from '@dagu-ts/client';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { fire, SessionContext, type Session } from './data.js';
import { DagPage } from './pages/Dag.js';
import { DagListPage } from './pages/DagList.js';
import { DashboardPage } from './pages/Dashboard.js';
import { RunPage } from './pages/Run.js';
import { SearchPage } from './pages/Search.js';
import { Link, match, useLocation, type Location } from './router.js';
import {
  loadCredentials,
  makeClient,
  may,
  roleOf,
  saveCredentials,
  serverPermissions,
} from './session.js';

const PERMISSIONS = serverPermissions();

export function App() {
  const [auth, setAuth] = useState<DaguAuth | undefined>(loadCredentials);
  const [needLogin, setNeedLogin] = useState(false);
  const location = useLocation();
  const unauthorized = useCallback(() => setNeedLogin(true), []);
  const session = useMemo<Session>(() => {
    const role = roleOf(auth);
    return {
      client: makeClient(auth),
      role,
      can: (action) => may(role, action, PERMISSIONS),
      unauthorized,
    };
  }, [auth, unauthorized]);
  const login = (next: DaguAuth) => {
    saveCredentials(next);
    setAuth(next);
    setNeedLogin(false);
  };
  const logout = () => {
    saveCredentials(undefined);
    setAuth(undefined);
    setNeedLogin(true);
  };

  return (
    <SessionContext.Provider value={session}>
      <header className="top">
        <Link to="/" className="brand" aria-label="dagu-ts home">
          <span aria-hidden="true">◆</span> dagu-ts
        </Link>
        <nav aria-label="Main">
          <Link to="/" aria-current={location.path === '/' ? 'page' : undefined}>
            Dashboard
          </Link>
          <Link to="/dags" aria-current={location.path.startsWith('/dags') ? 'page' : undefined}>
            DAGs
          </Link>
          <Link to="/search" aria-current={location.path === '/search' ? 'page' : undefined}>
            Search
          </Link>
        </nav>
        {auth ? (
          <div className="who">
            <span className="muted small">{session.role}</span>
            <button type="button" className="link-button" onClick={logout}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      {needLogin ? (
        <Login onLogin={login} rejected={auth !== undefined} />
      ) : (
        <Routes location={location} />
      )}
    </SessionContext.Provider>
  );
}

function Routes({ location }: { location: Location }) {
  const path = location.path.replace(/\/+$/, '') || '/';
  let params: Record<string, string> | undefined;
  if (path === '/') return <DashboardPage />;
  if (path === '/dags') return <DagListPage location={location} />;
  if (path === '/search') return <SearchPage location={location} />;
  if ((params = match('/dags/:fileName', path)))
    return <DagPage key={params.fileName} fileName={params.fileName!} tab="overview" />;
  if ((params = match('/dags/:fileName/spec', path)))
    return <DagPage key={params.fileName} fileName={params.fileName!} tab="spec" />;
  if ((params = match('/runs/:name/:dagRunId', path)))
    return (
      <RunPage
        key={`${params.name}/${params.dagRunId}`}
        name={params.name!}
        dagRunId={params.dagRunId!}
        location={location}
      />
    );
  return (
    <main>
      <h1>Not found</h1>
      <p>
        Nothing here. <Link to="/dags">Go to the DAGs</Link>.
      </p>
    </main>
  );
}

function Login({ onLogin, rejected }: { onLogin: (auth: DaguAuth) => void; rejected: boolean }) {
  const [mode, setMode] = useState<'basic' | 'token'>('basic');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (rejected) setError('Those credentials were not accepted.');
  }, [rejected]);

  const submit = async () => {
    const auth: DaguAuth =
      mode === 'basic' ? { basic: { username, password } } : { token: token.trim() };
    setBusy(true);
    setError(undefined);
    try {
      // Any authenticated read tells whether the credentials work.
      await makeClient(auth).listDags({ perPage: 1 });
      onLogin(auth);
    } catch (caught) {
      setError(
        caught instanceof DaguApiError && caught.status === 401
          ? 'Wrong credentials.'
          : (caught as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <h1>Sign in</h1>
      <p className="muted">This server requires credentials.</p>
      <div className="segmented" role="group" aria-label="Method">
        <button type="button" aria-pressed={mode === 'basic'} onClick={() => setMode('basic')}>
          Username and password
        </button>
        <button type="button" aria-pressed={mode === 'token'} onClick={() => setMode('token')}>
          Token
        </button>
      </div>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          fire(submit());
        }}
      >
        {mode === 'basic' ? (
          <>
            <label htmlFor="username">Username</label>
            <input
              id="username"
              autoComplete="username"
              value={username}
              onChange={(event) => setUsername(event.target.value)}
              required
            />
            <label htmlFor="password">Password</label>
            <input
              id="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              required
            />
          </>
        ) : (
          <>
            <label htmlFor="token">Token (static token or JWT)</label>
            <input
              id="token"
              type="password"
              value={token}
              onChange={(event) => setToken(event.target.value)}
              required
            />
          </>
        )}
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
