// Browser safety (issue #11.6): a web page the user happens to visit must not be able to drive
// the API. Three checks, all in front of the handlers:
// - Host: with auth off, only host names the operator expects are served, so DNS rebinding
//   (a foreign name resolving to this server) finds nothing to talk to.
// - CORS: no cross-origin access unless the operator lists origins; preflights are refused.
// - Cross-site writes: a state-changing request that a browser could send from another site
//   without a preflight (a form post, a `text/plain` fetch, an <img> on the dequeue GET) is
//   refused. Non-browser clients (curl, the SDK, the CLI) send no Origin and pass.
import { isIP } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { ApiError, forbidden } from './errors.js';

export interface BrowserSafetyOptions {
  /** Origins (`scheme://host[:port]`) allowed to call from a browser; `*` allows any. */
  corsAllowedOrigins?: readonly string[] | undefined;
  /** Extra host names served when auth is off; `*` allows any. */
  allowedHosts?: readonly string[] | undefined;
  /** Whether any auth method is configured (the Host check applies only without auth). */
  authEnabled: boolean;
  /** Paths (relative to the API prefix) served for any Host, e.g. /health for probes. */
  isHostExempt: (path: string) => boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** application/json and application/*+json, parameters aside (type-is needs a body). */
const JSON_TYPE = /^application\/([^/;\s]+\+)?json\s*(;|$)/i;
/** What express.json can decode (body-parser 2); anything else is refused up front. */
const CONTENT_ENCODINGS = new Set(['identity', 'gzip', 'deflate', 'br']);

/** `Host` header → lower-case name without port; IPv6 keeps its brackets. */
function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  const name = lower.startsWith('[')
    ? lower.slice(0, lower.indexOf(']') + 1)
    : lower.split(':')[0]!;
  return name.replace(/\.$/, '');
}

/** A configured host (`::1`, `[::1]`, `Example.COM`) in the form hostName gives. */
function normaliseHost(host: string): string {
  const lower = host.trim().toLowerCase();
  return isIP(lower) === 6 ? `[${lower}]` : hostName(lower);
}

/**
 * DNS rebinding always carries the attacker's domain name in Host, so IP literals and
 * `localhost` (which no public DNS answers for) are safe to serve; other names must be listed.
 */
function isAllowedHost(name: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.has('*') || allowed.has(name) || name === 'localhost') return true;
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  return isIP(bare) !== 0;
}

/** `https://UI.example:443/` → `https://ui.example` (the form browsers send in Origin). */
function normaliseOrigin(origin: string): string {
  if (origin === '*') return origin;
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? origin : url.origin;
  } catch {
    return origin;
  }
}

/** Drains the body, so the client reads the answer instead of a reset, then throws. */
function refuse(req: Request, error: ApiError): never {
  req.resume();
  throw error;
}

/** The three checks, in order, for `router.use(...)`. */
export function browserSafety(options: BrowserSafetyOptions): RequestHandler[] {
  const origins = new Set((options.corsAllowedOrigins ?? []).map(normaliseOrigin));
  const anyOrigin = origins.has('*');
  const hosts = new Set((options.allowedHosts ?? []).map(normaliseHost));

  /** Listed origins only; same-origin requests need no CORS headers. */
  const corsAllows = (origin: string): boolean => anyOrigin || origins.has(normaliseOrigin(origin));
  /** The page is served by this host (the web UI), or listed. */
  const originAllowed = (origin: string, host: string | undefined): boolean => {
    if (corsAllows(origin)) return true;
    try {
      return host !== undefined && new URL(origin).host === host.toLowerCase();
    } catch {
      return false; // `null` (sandboxed frames, file://) and garbage
    }
  };

  const checkHost: RequestHandler = (req, _res, next) => {
    const { host } = req.headers;
    if (options.authEnabled || host === undefined || options.isHostExempt(req.path)) {
      next();
      return;
    }
    const name = hostName(host);
    if (!isAllowedHost(name, hosts))
      refuse(
        req,
        forbidden(
          `host ${JSON.stringify(name)} is not allowed: add it to the allowed hosts (DAGU_ALLOWED_HOSTS)`,
        ),
      );
    next();
  };

  const cors: RequestHandler = (req, res, next) => {
    const { origin } = req.headers;
    if (origins.size > 0) res.vary('Origin');
    const listed = origin !== undefined && corsAllows(origin);
    if (listed) {
      // `*` cannot carry credentials (browsers refuse it); a listed origin can.
      res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
      if (!anyOrigin) res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    if (origin !== undefined && req.headers['access-control-request-method'] !== undefined) {
      if (!originAllowed(origin, req.headers.host))
        refuse(req, forbidden(`origin ${JSON.stringify(origin)} is not allowed (CORS)`));
      if (listed) {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
        res.setHeader(
          'Access-Control-Allow-Headers',
          'Content-Type, Authorization, Content-Encoding, Accept',
        );
        res.setHeader('Access-Control-Max-Age', '300');
      }
    }
    res.status(204).end();
  };

  const refuseCrossSite: RequestHandler = (req, _res, next) => {
    // Dequeue is a GET that changes state (Dagu's route), so an <img> could trigger it.
    const changesState = !SAFE_METHODS.has(req.method) || /\/dequeue\/?$/.test(req.path);
    if (!changesState) {
      next();
      return;
    }
    const { origin } = req.headers;
    const site = req.headers['sec-fetch-site'];
    // Browsers send Origin with every non-GET request and Sec-Fetch-Site with every request;
    // a page on another port of localhost is "same-site", so only same-origin and none pass.
    const crossSite =
      origin !== undefined
        ? !originAllowed(origin, req.headers.host)
        : site !== undefined && site !== 'same-origin' && site !== 'none';
    if (crossSite)
      refuse(req, forbidden(`cross-site request refused${origin ? ` from ${origin}` : ''}`));
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    // A form or a no-cors fetch can only send text/plain, form or multipart bodies, so any
    // type but JSON is refused, body or not. Unknown encodings are refused before reading.
    const type = req.headers['content-type'];
    if (type !== undefined && !JSON_TYPE.test(type.trim()))
      refuse(
        req,
        new ApiError(
          415,
          'bad_request',
          `unsupported content type ${JSON.stringify(type)}: send application/json`,
        ),
      );
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && !CONTENT_ENCODINGS.has(encoding))
      refuse(
        req,
        new ApiError(
          415,
          'bad_request',
          `unsupported content encoding ${JSON.stringify(encoding)}`,
        ),
      );
    next();
  };

  return [checkHost, cors, refuseCrossSite];
}
