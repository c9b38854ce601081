// HTTP plumbing in front of the handlers (api-v2.md §1.3): JSON bodies (1 MiB, JSON content
// type only), the remote-node check, and one structured log line per request.
import express, { type RequestHandler } from 'express';
import { ApiError } from './errors.js';

/** The request body limit; larger bodies are 413 (code bad_request). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

const JSON_TYPES = ['application/json', 'application/*+json'];

const parseJson = express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: JSON_TYPES });

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Parses a JSON body when there is one; a body of another content type is 415. */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!hasBody(req.headers)) {
    req.body = undefined;
    next();
    return;
  }
  if (!req.is(JSON_TYPES)) {
    // Read the body off the socket before answering, so the client sees the 415.
    req.resume();
    throw new ApiError(
      415,
      'bad_request',
      `unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}: send application/json`,
    );
  }
  parseJson(req, res, next);
};

/**
 * `remoteNode` (§1.6): absent, empty or `local` is served here; this server has no remote
 * nodes, so any other name is 400 "remote node X not found", as in Dagu.
 */
export const localNodeOnly: RequestHandler = (req, _res, next) => {
  const value = (req.query as Record<string, unknown>).remoteNode;
  if (value === undefined || value === '' || value === 'local') {
    next();
    return;
  }
  const name = typeof value === 'string' ? value : String(value);
  throw new ApiError(400, 'bad_request', `remote node ${name} not found`);
};

/** Default log sink: one JSON line per entry on stderr. */
export function defaultLog(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify(entry)}\n`);
}

/**
 * One line per request when the response is finished: method, path (no query string), status,
 * duration, size, client address. Headers are never logged, so neither are credentials.
 */
const ROUTINE_WORKER_CALL =
  /^\/workers\/[^/]+\/(heartbeat|claim|runs\/[^/]+\/[^/]+\/(events|logs))$/;

export function requestLogger(log: (entry: Record<string, unknown>) => void): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const routine = ROUTINE_WORKER_CALL.test(req.path); // relative to the API prefix, read now
    res.on('finish', () => {
      // Workers call these several times a second each: a line per success would drown the log.
      if (routine && res.statusCode < 400) return;
      log({
        time: new Date().toISOString(),
        level: res.statusCode >= 500 ? 'error' : 'info',
        msg: 'request',
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        bytes: Number(res.getHeader('content-length') ?? 0) || undefined,
        remote: req.socket.remoteAddress,
      });
    });
    next();
  };
}
