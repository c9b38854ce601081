// The one place where failures become HTTP responses: the error envelope `{code, message,
// details?}` of api-v2.md §1.4 with the statuses of Part A #7–#8. Nothing else in this package
// writes an error body.
import { DagValidationError, DaguError, formatIssues } from '@dagu-ts/core';
import type { ErrorRequestHandler, RequestHandler } from 'express';

/** Dagu's ErrorCode list (§1.4); no code of our own is ever sent. */
export type ApiErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'already_exists'
  | 'already_running'
  | 'not_running'
  | 'internal_error'
  | 'bad_gateway'
  | 'remote_node_error';

/** An error with its HTTP status and wire code, thrown by handlers and middleware. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>): ApiError =>
  new ApiError(400, 'bad_request', message, details ? { details } : {});

export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);

export const forbidden = (message = 'Permission denied'): ApiError =>
  new ApiError(403, 'forbidden', message);

/** Core's error codes → HTTP (Part A #7). */
const DAGU_STATUS: Record<DaguError['code'], { status: number; code: ApiErrorCode }> = {
  not_found: { status: 404, code: 'not_found' },
  already_exists: { status: 409, code: 'already_exists' },
  bad_request: { status: 400, code: 'bad_request' },
  validation_error: { status: 400, code: 'bad_request' },
  not_running: { status: 400, code: 'not_running' },
  already_running: { status: 409, code: 'already_running' },
  internal_error: { status: 500, code: 'internal_error' },
  // The store cannot be written right now (disk full, read-only): a retry may succeed.
  unavailable: { status: 503, code: 'internal_error' },
};

/** Seconds a client should wait before retrying a 503. */
const RETRY_AFTER_SEC = '5';

const UNEXPECTED = 'An unexpected error occurred';

/** Errors of body-parser (express.json), recognised by their `type`. */
interface HttpParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

/** Any thrown value → the ApiError that will be sent. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DagValidationError) {
    return badRequest(error.message, {
      errors: error.issues.map((issue) => formatIssues([issue])),
    });
  }
  if (error instanceof DaguError) {
    const mapped = DAGU_STATUS[error.code] ?? DAGU_STATUS.internal_error;
    if (error.code === 'unavailable')
      return new ApiError(mapped.status, mapped.code, error.message, {
        headers: { 'Retry-After': RETRY_AFTER_SEC },
      });
    return new ApiError(
      mapped.status,
      mapped.code,
      mapped.code === 'internal_error' ? UNEXPECTED : error.message,
    );
  }
  if (typeof error === 'object' && error !== null && 'type' in error) {
    const parser = error as HttpParserError;
    switch (parser.type) {
      case 'entity.too.large':
        return new ApiError(413, 'bad_request', 'request body is larger than 1 MiB');
      case 'entity.parse.failed':
        return badRequest(`malformed JSON in the request body: ${String(parser.message)}`);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new ApiError(415, 'bad_request', String(parser.message));
      case 'request.aborted':
      case 'request.size.invalid':
      case 'stream.encoding.set':
      case 'stream.not.readable':
        return badRequest(String(parser.message));
    }
  }
  return clientFault(error) ?? new ApiError(500, 'internal_error', UNEXPECTED);
}

/**
 * Express and body-parser mark what the client got wrong with a 4xx `status`: a path with
 * bad percent-encoding (URIError), a body that does not decompress (zlib, `Z_*` codes).
 */
function clientFault(error: unknown): ApiError | undefined {
  if (error instanceof URIError) return badRequest('malformed percent-encoding in the URL');
  if (!(error instanceof Error)) return undefined;
  const { status, code } = error as { status?: unknown; code?: unknown };
  if (typeof code === 'string' && code.startsWith('Z_'))
    return badRequest(`the request body does not match its Content-Encoding: ${error.message}`);
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new ApiError(status, 'bad_request', error.message);
  return undefined;
}

export interface ErrorMapperOptions {
  /** Where unexpected errors (5xx) are reported, stack included; never the response. */
  log?: (entry: Record<string, unknown>) => void;
}

/** Express error middleware: the envelope, the status, and WWW-Authenticate for 401. */
export function createErrorMapper(options: ErrorMapperOptions = {}): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const apiError = toApiError(error);
    if (apiError.status >= 500) {
      options.log?.({
        level: 'error',
        msg: 'request failed',
        method: req.method,
        path: req.path,
        error: error instanceof Error ? error.message : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    for (const [name, value] of Object.entries(apiError.headers)) res.setHeader(name, value);
    res.status(apiError.status).json({
      code: apiError.code,
      message: apiError.message,
      ...(apiError.details ? { details: apiError.details } : {}),
    });
  };
}

/** The last handler: nothing matched → 404 not_found JSON. */
export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(notFound(`no route for ${req.method} ${req.originalUrl.split('?')[0]}`));
};
