// What a call can fail with. Every error the client throws is a DaguError, so `instanceof`
// tells the three cases apart: the server answered with an error (DaguApiError), the server
// could not be reached (DaguNetworkError), or it did not answer in time (DaguTimeoutError).
// A call aborted through the caller's own AbortSignal rejects with that signal's reason.
import type { components } from './generated/api.js';

/**
 * The `code` of an error: one of the server's ErrorCode values, or one the client sets itself
 * for an answer that is not an error envelope (`http_error`, `invalid_response`).
 */
export type DaguErrorCode =
  | components['schemas']['ErrorCode']
  | 'http_error'
  | 'invalid_response'
  // Other servers (or later versions) may send codes this client does not know yet.
  | (string & {});

/** Base class of every error thrown by the client. */
export class DaguError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server answered with a status outside 2xx (or with a body the client cannot read). */
export class DaguApiError extends DaguError {
  /** HTTP status of the response. */
  readonly status: number;
  /** `code` of the error envelope (see DaguErrorCode for answers without one). */
  readonly code: DaguErrorCode;
  /** `details` of the error envelope; for a non-JSON answer, `{ body }` with its start. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    status: number,
    code: DaguErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The request never got an answer: connection refused or reset, DNS failure, CORS, … */
export class DaguNetworkError extends DaguError {
  /** Method and URL of the request. */
  readonly request: string;

  constructor(request: string, cause: unknown) {
    const reason = cause instanceof Error ? causeMessage(cause) : String(cause);
    super(`${request} failed: ${reason}`, { cause });
    this.request = request;
  }
}

/** The request (or `waitForDagRun`) took longer than its `timeoutMs`. */
export class DaguTimeoutError extends DaguError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}

/** fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, …) is its cause. */
function causeMessage(error: Error): string {
  const cause: unknown = error.cause;
  if (cause instanceof Error && cause.message && cause.message !== error.message)
    return `${error.message} (${cause.message})`;
  return error.message;
}

const CODE_BY_STATUS: Record<number, DaguErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'bad_request',
  413: 'bad_request',
  415: 'bad_request',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'bad_gateway',
  504: 'bad_gateway',
};

/** The error for a non-2xx answer: the envelope when there is one, else a code from the status. */
export function errorFromResponse(
  status: number,
  statusText: string,
  contentType: string,
  text: string,
): DaguApiError {
  if (contentType.includes('json') && text) {
    try {
      const body: unknown = JSON.parse(text);
      if (isRecord(body) && typeof body.code === 'string' && typeof body.message === 'string') {
        const details = isRecord(body.details) ? body.details : undefined;
        return new DaguApiError(status, body.code, body.message, details);
      }
    } catch {
      // Not JSON after all: handled like any other body below.
    }
  }
  const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal_error' : 'http_error');
  const snippet = text.trim().slice(0, 500);
  const message = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  return new DaguApiError(status, code, message, snippet ? { body: snippet } : undefined);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
