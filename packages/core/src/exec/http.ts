// The `http` executor (dag-yaml.md §6): sends one request and prints the response the way Dagu
// v1.17.4 (resty on Go's net/http) prints it.
//
// Transport: global fetch. Two cases fetch cannot do go through node:http / node:https instead:
// `skipTLSVerify` on an https URL (fetch takes no TLS options without undici) and a body on a
// GET or HEAD request (fetch refuses it, Go sends it).
import { request as httpRequest, STATUS_CODES } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { evaluateStepConfig } from './config.js';
import { reportOutcome, type Executor, type ExecutorOutcome } from './executor.js';

export interface HttpOptions {
  /** `"<METHOD> <URL>"`, already evaluated; the method is upper-cased. */
  command: string;
  /** `executor.config`, string leaves already evaluated; keys are case-insensitive. */
  config: Record<string, unknown>;
  /**
   * The step's `script`, already evaluated. Dagu's alternative form: when non-empty it holds the
   * whole config as a JSON object and replaces `config`.
   */
  script?: string;
  /** Aborts the request (stop of the run). */
  signal?: AbortSignal;
}

/** The decoded `config` (Dagu's httpConfig). */
export interface HttpConfig {
  /** Seconds for the whole exchange, body included; 0 = no limit. Fractions are allowed. */
  timeout: number;
  headers: Array<[string, string]>;
  query: Array<[string, string]>;
  body: string;
  /** Text mode: print only the body when the status is 2xx. JSON mode: zero status and headers. */
  silent: boolean;
  /** Writes a request/response summary to the step's stderr. */
  debug: boolean;
  /** Print `{"status_code","headers","body"}`; the response body must be JSON. */
  json: boolean;
  /** Accept any TLS certificate (https only). */
  skipTLSVerify: boolean;
}

/** The `http` executor: `command` is `"<METHOD> <URL>"`, `executor.config` the request. */
export const httpExecutor: Executor = {
  async run(context) {
    const config = await evaluateStepConfig(context);
    const command = await context.commandLine(true, 'text');
    return reportOutcome(context, await runHttp({ command, config, signal: context.signal }));
  },
};

/** Like Go's http.Client: at most 10 redirects (node:http transport; fetch follows up to 20). */
const MAX_REDIRECTS = 10;

/**
 * Runs the request described by `command` and `config`. Non-2xx status: exit code 1 with error
 * `http status code not 2xx: <code>`, the response still printed. Invalid config, invalid URL,
 * network errors, timeouts and aborts: exit code 1 with an `http: …` error.
 */
export async function runHttp(options: HttpOptions): Promise<ExecutorOutcome> {
  const target = parseCommand(options.command);
  if (typeof target === 'string') return failure(target);
  let config: HttpConfig;
  try {
    config = parseHttpConfig(configSource(options));
  } catch (error) {
    return failure(`http: ${messageOf(error)}`);
  }
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return failure(`http: invalid URL "${target.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return failure(
      `http: unsupported URL scheme "${url.protocol.slice(0, -1)}" in "${target.url}"`,
    );
  }
  for (const [name, value] of config.query) url.searchParams.set(name, value);

  const request: HttpRequest = {
    method: target.method,
    url,
    headers: config.headers,
    body: config.body,
    skipTLSVerify: config.skipTLSVerify,
  };
  const debug: string[] = [];
  if (config.debug) debug.push(...describeRequest(request));

  const controller = new AbortController();
  let stopReason: 'timeout' | 'aborted' | undefined;
  const onAbort = (): void => {
    stopReason ??= 'aborted';
    controller.abort();
  };
  const timer =
    config.timeout > 0
      ? setTimeout(() => {
          stopReason ??= 'timeout';
          controller.abort();
        }, config.timeout * 1000)
      : undefined;
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const started = Date.now();
  let response: HttpResponse;
  try {
    if (stopReason) throw new Error('aborted before start');
    const viaNode =
      (config.skipTLSVerify && url.protocol === 'https:') ||
      (config.body !== '' && (request.method === 'GET' || request.method === 'HEAD'));
    response = viaNode
      ? await sendWithNode(request, controller.signal)
      : await sendWithFetch(request, controller.signal);
  } catch (error) {
    const message =
      stopReason === 'timeout'
        ? `http: request timed out after ${config.timeout}s`
        : stopReason === 'aborted'
          ? 'http: request aborted'
          : `http: request failed: ${networkMessage(error)}`;
    debug.push(message);
    return { ...failure(message), stderr: `${debug.join('\n')}\n` };
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }

  const status = `${response.status} ${response.reason}`.trimEnd();
  if (config.debug) {
    debug.push(`< ${status} (${Date.now() - started} ms, ${response.body.length} bytes)`);
    for (const [name, values] of response.headers) {
      for (const value of values) debug.push(`< ${name}: ${value}`);
    }
  }
  const stderr = debug.length > 0 ? `${debug.join('\n')}\n` : '';
  const ok = response.status >= 200 && response.status < 300;
  const showMeta = !ok || !config.silent;
  const bodyText = response.body.toString('utf8');

  let stdout: string;
  if (config.json) {
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch (error) {
      const message = `http: response body is not JSON (status ${response.status}): ${messageOf(error)}`;
      return { stdout: '', stderr: `${stderr}${message}\n`, exitCode: 1, error: message };
    }
    // Dagu's httpJSONResult struct: fields in declaration order; the maps inside sorted.
    const fields: Array<[string, unknown]> = [
      ['status_code', showMeta ? response.status : 0],
      ['headers', showMeta ? Object.fromEntries(response.headers) : null],
      ['body', body],
    ];
    const lines = fields.map(([key, value]) => ` ${goJsonIndent(key)}: ${goJsonIndent(value, 1)}`);
    stdout = `{\n${lines.join(',\n')}\n}`;
  } else {
    stdout = showMeta ? `${status}\n${wireHeaders(response.headers)}${bodyText}` : bodyText;
  }
  if (!ok) {
    const message = `http status code not 2xx: ${response.status}`;
    return { stdout, stderr: `${stderr}${message}\n`, exitCode: 1, error: message };
  }
  return { stdout, stderr, exitCode: 0, error: undefined };
}

// ---- command and config -----------------------------------------------------------------------

/** `"<METHOD> <URL>"` → method (upper-cased) and URL; words after the URL are ignored, like Dagu. */
function parseCommand(command: string): { method: string; url: string } | string {
  const words = (command.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((word) =>
    /^(["']).*\1$/s.test(word) ? word.slice(1, -1) : word,
  );
  const [method, url] = words;
  if (!method || !url) return `http: the command must be "<METHOD> <URL>", got "${command}"`;
  return { method: method.toUpperCase(), url };
}

function configSource(options: HttpOptions): Record<string, unknown> {
  const script = options.script?.trim();
  if (!script) return options.config;
  let parsed: unknown;
  try {
    parsed = JSON.parse(script);
  } catch (error) {
    throw new Error(`invalid JSON config in script: ${messageOf(error)}`);
  }
  if (!isPlainObject(parsed)) throw new Error('the config in script must be a JSON object');
  return parsed;
}

/**
 * Decodes the config like Dagu's mapstructure decoder: keys are case-insensitive, unknown keys are
 * ignored and values are weakly typed (`"true"`, `"30"`, …). Throws on a value of the wrong shape.
 */
export function parseHttpConfig(raw: Record<string, unknown>): HttpConfig {
  const byKey = new Map<string, unknown>();
  for (const [key, value] of Object.entries(raw)) {
    const lower = key.toLowerCase();
    if (!byKey.has(lower)) byKey.set(lower, value);
  }
  const get = (name: string): unknown => (name in raw ? raw[name] : byKey.get(name.toLowerCase()));
  return {
    timeout: toSeconds('timeout', get('timeout')),
    headers: toStringMap('headers', get('headers')),
    query: toStringMap('query', get('query')),
    body: toBody(get('body')),
    silent: toBool('silent', get('silent')),
    debug: toBool('debug', get('debug')),
    json: toBool('json', get('json')),
    skipTLSVerify: toBool('skipTLSVerify', get('skipTLSVerify')),
  };
}

function toBool(name: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '' || ['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  }
  throw new Error(`config "${name}" must be a boolean, got ${JSON.stringify(value)}`);
}

function toSeconds(name: string, value: unknown): number {
  if (value === undefined || value === null || value === '') return 0;
  const seconds =
    typeof value === 'number'
      ? value
      : typeof value === 'boolean'
        ? Number(value)
        : typeof value === 'string'
          ? Number(value.trim())
          : NaN;
  if (!Number.isFinite(seconds)) {
    throw new Error(`config "${name}" must be a number of seconds, got ${JSON.stringify(value)}`);
  }
  return Math.max(0, seconds);
}

function toStringMap(name: string, value: unknown): Array<[string, string]> {
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) throw new Error(`config "${name}" must be a map`);
  return Object.entries(value).map(([key, item]) => {
    if (item === null || item === undefined) return [key, ''];
    if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
      return [key, String(item)];
    }
    throw new Error(`config "${name}.${key}" must be a string`);
  });
}

function toBody(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // A YAML map or list is sent as JSON (Dagu rejects it).
  return JSON.stringify(value);
}

// ---- transport ------------------------------------------------------------------------------

interface HttpRequest {
  method: string;
  url: URL;
  headers: Array<[string, string]>;
  body: string;
  skipTLSVerify: boolean;
}

interface HttpResponse {
  status: number;
  reason: string;
  /** Go-canonical header names, sorted, each with its values in order. */
  headers: Array<[string, string[]]>;
  body: Buffer;
}

async function sendWithFetch(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== '' ? { body: request.body } : {}),
    redirect: 'follow',
    signal,
  });
  const body = Buffer.from(await response.arrayBuffer());
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') pairs.push([name, value]);
  }
  for (const cookie of response.headers.getSetCookie()) pairs.push(['set-cookie', cookie]);
  // fetch has decoded a compressed body; Go drops these headers when it decompresses.
  const decoded = /^\s*(?:(?:x-)?gzip|deflate|br)(?:\s*,\s*(?:(?:x-)?gzip|deflate|br))*\s*$/i;
  const encoding = response.headers.get('content-encoding');
  const dropped = new Set(['transfer-encoding']);
  if (encoding !== null && decoded.test(encoding)) {
    dropped.add('content-encoding').add('content-length');
  }
  return {
    status: response.status,
    reason: response.statusText || (STATUS_CODES[response.status] ?? ''),
    headers: groupHeaders(pairs.filter(([name]) => !dropped.has(name.toLowerCase()))),
    body,
  };
}

/** node:http(s) transport with Go's redirect rules; used for skipTLSVerify and GET/HEAD bodies. */
async function sendWithNode(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
  let { method, url, body } = request;
  let headers = request.headers;
  for (let redirects = 0; ; redirects++) {
    const response = await nodeExchange({ ...request, method, url, headers, body }, signal);
    const location = response.message.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(response.message.statusCode ?? 0);
    if (!redirect || !location) return toHttpResponse(response.message, response.body);
    if (redirects >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    if (response.message.statusCode !== 307 && response.message.statusCode !== 308) {
      if (method !== 'GET' && method !== 'HEAD') method = 'GET';
      body = '';
    }
    if (next.host !== url.host) {
      const sensitive = new Set(['authorization', 'www-authenticate', 'cookie', 'cookie2']);
      headers = headers.filter(([name]) => !sensitive.has(name.toLowerCase()));
    }
    url = next;
  }
}

function nodeExchange(
  request: HttpRequest,
  signal: AbortSignal,
): Promise<{ message: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing: OutgoingHttpHeaders = {};
    for (const [name, value] of request.headers) outgoing[name] = value;
    if (request.body !== '') outgoing['content-length'] = Buffer.byteLength(request.body);
    const send = request.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(request.url, {
      method: request.method,
      headers: outgoing,
      signal,
      ...(request.url.protocol === 'https:' ? { rejectUnauthorized: !request.skipTLSVerify } : {}),
    });
    req.on('error', reject);
    req.on('response', (message) => {
      const chunks: Buffer[] = [];
      message.on('data', (chunk: Buffer) => chunks.push(chunk));
      message.on('end', () => resolve({ message, body: Buffer.concat(chunks) }));
      message.on('error', reject);
      message.on('aborted', () => reject(new Error('response aborted')));
    });
    req.end(request.body !== '' ? request.body : undefined);
  });
}

function toHttpResponse(message: IncomingMessage, body: Buffer): HttpResponse {
  const status = message.statusCode ?? 0;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < message.rawHeaders.length; i += 2) {
    const name = message.rawHeaders[i] ?? '';
    if (name.toLowerCase() !== 'transfer-encoding')
      pairs.push([name, message.rawHeaders[i + 1] ?? '']);
  }
  return {
    status,
    reason: message.statusMessage || (STATUS_CODES[status] ?? ''),
    headers: groupHeaders(pairs),
    body,
  };
}

// ---- output formatting ----------------------------------------------------------------------

/** Go's textproto.CanonicalMIMEHeaderKey: `content-type` → `Content-Type`. */
function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => {
    return dash + letter.toUpperCase();
  });
}

function groupHeaders(pairs: Array<[string, string]>): Array<[string, string[]]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    const key = canonicalHeaderKey(name);
    const values = grouped.get(key);
    if (values) values.push(value);
    else grouped.set(key, [value]);
  }
  return [...grouped].sort(([a], [b]) => compareKeys(a, b));
}

/** Go's http.Header.Write: `Key: value\r\n` per value, keys sorted, no blank line after. */
function wireHeaders(headers: Array<[string, string[]]>): string {
  let text = '';
  for (const [name, values] of headers) {
    for (const value of values) text += `${name}: ${value.replace(/[\r\n]/g, ' ').trim()}\r\n`;
  }
  return text;
}

/**
 * Go's json.MarshalIndent(value, "", " ") of a value decoded into `any`: object keys sorted,
 * `<`, `>`, `&`, U+2028 and U+2029 escaped, no trailing newline.
 */
function goJsonIndent(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => {
      return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
    });
  }
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  const inner = ' '.repeat(depth + 1);
  const outer = ' '.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item: unknown) => inner + goJsonIndent(item, depth + 1));
    return `[\n${items.join(',\n')}\n${outer}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => compareKeys(a, b));
    if (entries.length === 0) return '{}';
    const items = entries.map(
      ([key, item]) => `${inner}${goJsonIndent(key)}: ${goJsonIndent(item, depth + 1)}`,
    );
    return `{\n${items.join(',\n')}\n${outer}}`;
  }
  return 'null';
}

/** Byte-wise order of the UTF-8 encodings, as Go sorts strings. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function describeRequest(request: HttpRequest): string[] {
  const lines = [`> ${request.method} ${request.url.href}`];
  for (const [name, value] of request.headers) lines.push(`> ${name}: ${value}`);
  if (request.body !== '') lines.push(`> (body: ${Buffer.byteLength(request.body)} bytes)`);
  if (request.skipTLSVerify) lines.push('> (TLS certificate verification disabled)');
  return lines;
}

// ---- helpers --------------------------------------------------------------------------------

function failure(error: string): ExecutorOutcome {
  return { stdout: '', stderr: `${error}\n`, exitCode: 1, error };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** fetch wraps the socket error in `cause`; happy-eyeballs failures are an AggregateError. */
function networkMessage(error: unknown): string {
  let current: unknown = error;
  while (
    current instanceof Error &&
    current.cause !== undefined &&
    current.message === 'fetch failed'
  ) {
    current = current.cause;
  }
  if (current instanceof AggregateError && current.errors.length > 0) {
    return current.errors.map((item) => messageOf(item)).join('; ');
  }
  if (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    if (current.message) return current.message;
    if (typeof code === 'string') return code;
  }
  return messageOf(current);
}
