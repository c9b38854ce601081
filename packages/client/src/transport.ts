// One HTTP exchange with the API: URL, headers and auth, the per-request timeout and the
// caller's AbortSignal, and turning the answer (or the lack of one) into a result or a
// DaguError. Only web-platform globals (fetch, AbortController, btoa), so it runs in Node 20+
// and in browsers alike.
import { DaguApiError, DaguNetworkError, DaguTimeoutError, errorFromResponse } from './errors.js';

/** A `fetch`-compatible function; the global `fetch` is one. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Credentials sent with every request (`token` wins when both are given). */
export interface DaguAuth {
  /** Basic auth (DAGU_AUTH_BASIC_USERNAME / DAGU_AUTH_BASIC_PASSWORD on the server). */
  basic?: { username: string; password: string };
  /** Bearer token: the server's static token (DAGU_AUTH_TOKEN) or a signed JWT. */
  token?: string;
}

/** Options of a single call; they override the client's. */
export interface RequestOptions {
  /** Aborts the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Limit for this call in milliseconds (0 disables the limit). */
  timeoutMs?: number;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}

/** What a request expects back: a JSON body, the body as text, or nothing. */
export type Expect = 'json' | 'text' | 'empty';

export interface TransportOptions {
  apiRoot: string;
  fetch: FetchFunction;
  timeoutMs: number;
  headers: Record<string, string>;
}

export type QueryValue = string | number | boolean | undefined | null;

export interface Exchange {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below /api/v2, built with `path` so every segment is encoded. */
  path: string;
  query?: object | undefined;
  body?: unknown;
  expect: Expect;
}

/** `baseUrl` → the API root: the server root gets `/api/v2` added; one ending in it is kept. */
export function apiRootOf(baseUrl: string): string {
  if (typeof baseUrl !== 'string') throw new TypeError('baseUrl must be a string');
  const trimmed = baseUrl.replace(/\/+$/, '');
  return /\/api\/v2$/.test(trimmed) ? trimmed : `${trimmed}/api/v2`;
}

/** The Authorization header for `auth`, if any. */
export function authorizationOf(auth: DaguAuth | undefined): string | undefined {
  if (auth?.token) return `Bearer ${auth.token}`;
  if (auth?.basic) return `Basic ${base64(`${auth.basic.username}:${auth.basic.password}`)}`;
  return undefined;
}

/** UTF-8 then base64 (btoa alone only takes Latin-1). */
function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * A path from literal parts and parameters: each parameter is percent-encoded as one segment.
 * Empty, `.` and `..` parameters are refused, since URL parsing would drop or resolve them and
 * the request would reach another endpoint.
 */
export function path(parts: TemplateStringsArray, ...params: string[]): string {
  let result = parts[0] ?? '';
  params.forEach((param, index) => {
    if (typeof param !== 'string' || param === '' || param === '.' || param === '..')
      throw new TypeError(`invalid path parameter: ${JSON.stringify(param)}`);
    result += encodeURIComponent(param) + (parts[index + 1] ?? '');
  });
  return result;
}

function queryString(query: object | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query) as [string, QueryValue][])
    if (value !== undefined && value !== null) search.append(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Sends one request; resolves with the parsed answer or rejects with a DaguError. */
export async function send(
  transport: TransportOptions,
  exchange: Exchange,
  options: RequestOptions = {},
): Promise<unknown> {
  const { method, expect } = exchange;
  const url = transport.apiRoot + exchange.path + queryString(exchange.query);
  const what = `${method} ${url}`;
  const headers: Record<string, string> = {
    Accept: expect === 'text' ? 'text/plain, */*' : 'application/json',
    ...transport.headers,
    ...options.headers,
  };
  let body: string | undefined;
  if (exchange.body !== undefined) {
    body = JSON.stringify(exchange.body);
    headers['Content-Type'] = 'application/json';
  }

  const { signal } = options;
  signal?.throwIfAborted();
  const timeoutMs = options.timeoutMs ?? transport.timeoutMs;
  const controller = new AbortController();
  let timedOut = false;
  const timer =
    timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs)
      : undefined;
  const forwardAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', forwardAbort, { once: true });
  // Raced against the exchange, so even a fetch that ignores its signal cannot hang a call.
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
      once: true,
    });
  });
  aborted.catch(() => undefined);

  const failure = (error: unknown): unknown => {
    if (timedOut) return new DaguTimeoutError(`${what} timed out after ${timeoutMs} ms`, timeoutMs);
    if (signal?.aborted) return signal.reason;
    return new DaguNetworkError(what, error);
  };

  let response: Response;
  let text: string;
  try {
    const init: RequestInit = { method, headers, signal: controller.signal };
    if (body !== undefined) init.body = body;
    response = await Promise.race([transport.fetch(url, init), aborted]);
    text = await Promise.race([response.text(), aborted]);
  } catch (error) {
    throw failure(error);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forwardAbort);
  }

  if (!response.ok)
    throw errorFromResponse(
      response.status,
      response.statusText,
      response.headers.get('content-type') ?? '',
      text,
    );
  if (expect === 'empty') return undefined;
  if (expect === 'text') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DaguApiError(
      response.status,
      'invalid_response',
      `${what}: the answer is not JSON`,
      text ? { body: text.trim().slice(0, 500) } : undefined,
    );
  }
}
