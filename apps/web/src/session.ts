// Credentials, role and the SDK client of the browser session. Credentials live in
// sessionStorage (gone when the tab closes). The role and the server's permission switches decide
// which buttons are shown: basic auth and the static token are admin, a JWT carries its role claim
// (unknown → viewer, as the server decides); `permissions.runDAGs` / `writeDAGs` come written into
// index.html by the server. The server stays the judge: a 403 is shown as an error.
import { createClient, type DaguAuth, type DaguClient, type FetchFunction } from '@dagu-ts/client';

export type Role = 'admin' | 'operator' | 'viewer';
export type Action = 'run' | 'write';

const STORAGE_KEY = 'dagu-ts.credentials';
const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

/** The server's URL prefix (DAGU_BASE_PATH), written into index.html by the server. */
export function basePath(): string {
  if (typeof document === 'undefined') return ''; // rendered outside a page (component tests)
  const meta = document.querySelector('meta[name="dagu-base-path"]');
  return (meta?.getAttribute('content') ?? '').replace(/\/+$/, '');
}

/** The server's permission switches (api-v2.md §1.5); both true when the page does not say. */
export interface Permissions {
  runDAGs: boolean;
  writeDAGs: boolean;
}

/** The settings the server writes into index.html (`<meta name="dagu-config">`). */
export function serverPermissions(): Permissions {
  const text = document.querySelector('meta[name="dagu-config"]')?.getAttribute('content');
  return parsePermissions(text ?? '');
}

export function parsePermissions(text: string): Permissions {
  let permissions: { runDAGs?: unknown; writeDAGs?: unknown } = {};
  try {
    permissions = (JSON.parse(text) as { permissions?: typeof permissions }).permissions ?? {};
  } catch {
    // no settings written (the dev server): everything the role allows
  }
  return { runDAGs: permissions.runDAGs !== false, writeDAGs: permissions.writeDAGs !== false };
}

export function loadCredentials(): DaguAuth | undefined {
  try {
    const text = sessionStorage.getItem(STORAGE_KEY);
    return text ? (JSON.parse(text) as DaguAuth) : undefined;
  } catch {
    return undefined;
  }
}

export function saveCredentials(auth: DaguAuth | undefined): void {
  if (auth) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** The role claim of a JWT (no verification: only to hide buttons), or undefined. */
export function jwtRole(token: string): Role | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const json = atob(parts[1]!.replace(/-/g, '+').replace(/_/g, '/'));
    const role = (JSON.parse(json) as { role?: unknown }).role;
    return ROLES.includes(role as Role) ? (role as Role) : 'viewer';
  } catch {
    return undefined;
  }
}

export function roleOf(auth: DaguAuth | undefined): Role {
  if (auth?.token) return jwtRole(auth.token) ?? 'admin';
  return 'admin';
}

const MAY: Record<Role, readonly Action[]> = {
  admin: ['run', 'write'],
  operator: ['run'],
  viewer: [],
};

/** Whether to show the buttons of `action`: the role must allow it, and so must the switch. */
export function may(
  role: Role,
  action: Action,
  permissions: Permissions = { runDAGs: true, writeDAGs: true },
): boolean {
  const switchedOn = action === 'run' ? permissions.runDAGs : permissions.writeDAGs;
  return switchedOn && MAY[role].includes(action);
}

/**
 * Whether the server says its API asks for no credentials (`"auth": false` in the settings it
 * writes into index.html); the dev server writes none, and then the UI assumes it does.
 */
export function parseNoAuth(text: string): boolean {
  try {
    return (JSON.parse(text) as { auth?: unknown }).auth === false;
  } catch {
    return false;
  }
}

/**
 * fetch for the UI: every write carries `Content-Type: application/json` (the server's browser
 * safety refuses other writes). With auth, browser-held credentials are never used — the SDK
 * sends the Authorization header itself, and `omit` keeps the browser's own Basic prompt away.
 * Without auth, `same-origin`: the mode of the server's preload of the DAG list (index.html),
 * which a request of another mode would not use.
 */
const uiFetch: FetchFunction = (input, init) => {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  if (method !== 'GET' && method !== 'HEAD' && !headers.has('Content-Type'))
    headers.set('Content-Type', 'application/json');
  const noAuth = parseNoAuth(
    document.querySelector('meta[name="dagu-config"]')?.getAttribute('content') ?? '',
  );
  return fetch(input, { ...init, headers, credentials: noAuth ? 'same-origin' : 'omit' });
};

export function makeClient(auth: DaguAuth | undefined): DaguClient {
  return createClient({
    baseUrl: `${location.origin}${basePath()}`,
    ...(auth ? { auth } : {}),
    fetch: uiFetch,
    timeoutMs: 15_000,
  });
}
