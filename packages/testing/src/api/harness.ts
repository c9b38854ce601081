// Test harness for @dagu-ts/api's tests: the real API app on an ephemeral loopback port, built by
// the server's own composition (@dagu-ts/server's composeDagu) over a real SQLite store in a
// temporary home with a real RunLauncher (runs are real child processes). Every response seen
// through `call` is checked against the OpenAPI document; the problems are collected in
// `problems` for the test to assert on.
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiDeps } from '@dagu-ts/api';
import { DagRunStatus, type DagRunSnapshot, type RunEvent, type RunLauncher } from '@dagu-ts/core';
import { composeDagu, loadConfig } from '@dagu-ts/server';
import type { DaguStore as Store } from '@dagu-ts/server';
import { validateResponse } from '../openapi/validate.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface CallOptions {
  /** JSON body (serialised, Content-Type application/json). */
  json?: unknown;
  /** Raw body, sent as is. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Skip the OpenAPI check (for responses the document cannot describe, e.g. a HEAD). */
  unchecked?: boolean;
  /** Send the path byte for byte (node:http): fetch would resolve `..` segments first. */
  raw?: boolean;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON when the response is JSON, else the text ('' for an empty body). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface TestApi {
  base: string;
  /** The API root, e.g. http://127.0.0.1:1234/api/v2 (with the base path, if any). */
  root: string;
  store: Store;
  launcher: RunLauncher;
  logs: Array<Record<string, unknown>>;
  events: RunEvent[];
  /** OpenAPI mismatches of every response seen through `call`. */
  problems: string[];
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  /** Waits until a root run has left running/queued; returns its last snapshot. */
  waitForRun(name: string, dagRunId: string, timeoutMs?: number): Promise<DagRunSnapshot>;
  waitUntil(check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions extends Partial<
  Pick<
    ApiDeps,
    'auth' | 'permissions' | 'publicMetrics' | 'basePath' | 'corsAllowedOrigins' | 'allowedHosts'
  >
> {
  /** Fixture files to copy into the DAGs directory (default: all of them). */
  fixtures?: string[];
  schedulerRunning?: boolean;
  /** queues.config: limits of configured (global) queues by name. */
  queueLimits?: Record<string, number>;
}

export async function startApi(options: StartOptions = {}): Promise<TestApi> {
  const home = mkdtempSync(join(tmpdir(), 'dagu-api-'));
  const config = loadConfig({ env: { DAGU_HOME: home } });
  const logs: Array<Record<string, unknown>> = [];
  const dagu = await composeDagu(
    {
      ...config,
      auth: options.auth ?? {},
      permissions: { ...config.permissions, ...options.permissions },
      publicMetrics: options.publicMetrics ?? false,
      basePath: options.basePath ?? '',
      corsAllowedOrigins: [...(options.corsAllowedOrigins ?? [])],
      allowedHosts: [...(options.allowedHosts ?? [])],
      ...(options.queueLimits
        ? { queues: { enabled: true, limits: new Map(Object.entries(options.queueLimits)) } }
        : {}),
    },
    {
      api: {
        version: '1.2.3-test',
        log: (entry) => logs.push(entry),
        schedulerRunning: () => options.schedulerRunning ?? true,
      },
      sweepIntervalMs: 0,
    },
  );
  const { store, launcher } = dagu;
  const app = dagu.app!;
  for (const file of options.fixtures ?? readdirSync(FIXTURES))
    copyFileSync(join(FIXTURES, file), join(store.paths.dagsDir, file));
  const events: RunEvent[] = [];
  dagu.subscribe((event) => events.push(event));
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const prefix = `${options.basePath ?? ''}/api/v2`;
  const problems: string[] = [];

  const call = async (
    method: string,
    path: string,
    callOptions: CallOptions = {},
  ): Promise<CallResult> => {
    const headers: Record<string, string> = { ...callOptions.headers };
    let body: string | Buffer | undefined = callOptions.body;
    if (callOptions.json !== undefined) {
      body = JSON.stringify(callOptions.json);
      headers['Content-Type'] ??= 'application/json';
    }
    const url = path.startsWith('http') ? path : `${base}${prefix}${path}`;
    const response = callOptions.raw
      ? await rawRequest(method, url, headers, body)
      : await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    const parsed: unknown = type.includes('application/json') && text ? JSON.parse(text) : text;
    if (!callOptions.unchecked && method !== 'HEAD' && method !== 'OPTIONS') {
      const apiPath = callOptions.raw
        ? url.slice(base.length).split('?')[0]!
        : new URL(url).pathname;
      if (apiPath.startsWith(prefix)) {
        const relative = apiPath.slice(prefix.length) || '/';
        try {
          for (const problem of validateResponse(method, relative, response.status, parsed))
            problems.push(`${method} ${relative}: ${problem}`);
        } catch (error) {
          problems.push(`${method} ${relative}: the validator failed: ${(error as Error).message}`);
        }
      }
    }
    return { status: response.status, headers: response.headers, text, body: parsed };
  };

  const waitUntil = async (
    check: () => Promise<boolean> | boolean,
    timeoutMs = 20_000,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  return {
    base,
    root: `${base}${prefix}`,
    store,
    launcher,
    logs,
    events,
    problems,
    call,
    waitUntil,
    async waitForRun(name, dagRunId, timeoutMs) {
      let last: DagRunSnapshot | undefined;
      await waitUntil(async () => {
        last = (await store.runs.getRun(name, dagRunId))?.snapshot;
        return (
          last !== undefined &&
          last.status !== DagRunStatus.Running &&
          last.status !== DagRunStatus.Queued &&
          !launcher.isActive(name, dagRunId)
        );
      }, timeoutMs);
      return last!;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await dagu.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A request whose path goes out exactly as given (no URL normalisation). */
function rawRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
): Promise<Response> {
  const { host, port } = new URL(url);
  const path = url.slice(url.indexOf('/', 'http://'.length));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: host.split(':')[0], port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers))
          if (typeof value === 'string') responseHeaders.set(name, value);
        resolve(
          new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), {
            status: res.statusCode ?? 0,
            headers: responseHeaders,
          }),
        );
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `Authorization: Basic …` for a user and password. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
