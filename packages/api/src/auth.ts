// Who is calling, and may they do this (api-v2.md Part A #8–#10, §1.5). Authentication runs
// once per request and leaves the caller's role on `res.locals`; each route then says which
// action it is (read, run, write) and `allow` checks role and permission switches.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { createRequire } from 'node:module';
import type JsonWebToken from 'jsonwebtoken';
import type { AuthOptions, Role } from './deps.js';
import { ApiError, forbidden } from './errors.js';

/**
 * read: any caller but a worker; run: start/stop/retry/dequeue/suspend/step status; write: DAG
 * files; manage: webhooks (admin only, whatever the permission switches say, as Dagu); worker:
 * the worker endpoints (claim, heartbeat, reports), for workers and admins only.
 */
export type Action = 'read' | 'run' | 'write' | 'manage' | 'worker';

const ROLES: readonly Role[] = ['admin', 'operator', 'viewer', 'worker'];

const MAY: Record<Role, ReadonlySet<Action>> = {
  admin: new Set(['read', 'run', 'write', 'manage', 'worker']),
  operator: new Set(['read', 'run']),
  viewer: new Set(['read']),
  // A worker's credential can do nothing else, not even read (it would see every DAG's runs).
  worker: new Set(['worker']),
};

/** SHA-256 digests have equal length, so timingSafeEqual never leaks the secret's length. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export function authEnabled(auth: AuthOptions | undefined): boolean {
  return Boolean((auth?.basic?.username && auth.basic.password) || auth?.token || auth?.jwtSecret);
}

function unauthorized(auth: AuthOptions, message: string): ApiError {
  const basic = Boolean(auth.basic?.username && auth.basic.password);
  return new ApiError(401, 'unauthorized', message, {
    headers: {
      'WWW-Authenticate': basic ? 'Basic realm="restricted"' : 'Bearer realm="restricted"',
    },
  });
}

// Loaded on the first JWT to check: a server without JWT auth never needs it (about 1 MB of
// modules, semver included, in the idle server's memory).
const requireModule = createRequire(import.meta.url);
let jwtModule: typeof JsonWebToken | undefined;
const jsonWebToken = (): typeof JsonWebToken =>
  (jwtModule ??= requireModule('jsonwebtoken') as typeof JsonWebToken);

/** The role of a verified JWT: its `role` claim when known, else viewer (Part A #9). */
function roleOfClaims(claims: unknown): Role {
  const role =
    typeof claims === 'object' && claims !== null
      ? (claims as Record<string, unknown>).role
      : undefined;
  return ROLES.includes(role as Role) ? (role as Role) : 'viewer';
}

/** The caller's role, or an ApiError 401. */
export function authenticate(auth: AuthOptions, header: string | undefined): Role {
  if (!header) throw unauthorized(auth, 'authentication required');
  const space = header.indexOf(' ');
  const scheme = space === -1 ? header : header.slice(0, space);
  const value = space === -1 ? '' : header.slice(space + 1).trim();
  if (scheme.toLowerCase() === 'bearer' && value) {
    // Dagu requires the exact `Bearer ` prefix for the static token; JWTs accept any case.
    if (auth.token && scheme === 'Bearer' && sameSecret(value, auth.token)) return 'admin';
    if (auth.jwtSecret && value.split('.').length === 3) {
      try {
        const jwt = jsonWebToken();
        return roleOfClaims(jwt.verify(value, auth.jwtSecret, { algorithms: ['HS256'] }));
      } catch (error) {
        const expired = error instanceof jsonWebToken().TokenExpiredError;
        throw unauthorized(auth, expired ? 'token expired' : 'invalid token');
      }
    }
    throw unauthorized(auth, 'invalid token');
  }
  if (scheme.toLowerCase() === 'basic' && auth.basic?.username && auth.basic.password) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon !== -1) {
      // Both halves are compared (no early exit), so timing says nothing about which was wrong.
      const userOk = sameSecret(decoded.slice(0, colon), auth.basic.username);
      const passwordOk = sameSecret(decoded.slice(colon + 1), auth.basic.password);
      if (userOk && passwordOk) return 'admin';
    }
    throw unauthorized(auth, 'invalid credentials');
  }
  throw unauthorized(auth, 'authentication required');
}

export interface AuthMiddlewareOptions {
  auth: AuthOptions | undefined;
  /** Paths (relative to the API prefix) that need no credentials. */
  isPublic: (path: string) => boolean;
}

/** Sets `res.locals.role`; 401 for a request without valid credentials. */
export function createAuthMiddleware(options: AuthMiddlewareOptions): RequestHandler {
  const { auth } = options;
  const enabled = authEnabled(auth);
  return (req, res, next) => {
    if (!enabled || !auth || req.method === 'OPTIONS' || options.isPublic(req.path)) {
      res.locals.role = 'admin' satisfies Role;
      next();
      return;
    }
    const role = authenticate(auth, req.headers.authorization);
    // A worker's credential opens the worker endpoints and nothing else, whatever a route's guard.
    if (role === 'worker' && !req.path.startsWith('/workers/')) throw forbidden();
    res.locals.role = role;
    next();
  };
}

export function roleOf(res: Response): Role {
  const role = res.locals.role as Role | undefined;
  return role ?? 'viewer';
}

/** Route guard: the caller's role must allow `action`, and so must the permission switches. */
export function allow(
  action: Action,
  permissions: { writeDAGs?: boolean; runDAGs?: boolean } = {},
): RequestHandler {
  return (_req, res, next) => {
    if (action === 'write' && permissions.writeDAGs === false) throw forbidden();
    if (action === 'run' && permissions.runDAGs === false) throw forbidden();
    if (!MAY[roleOf(res)].has(action)) throw forbidden();
    next();
  };
}
