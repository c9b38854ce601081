// Error codes from the real server, answers that are not error envelopes, timeouts, network
// errors and aborts: each one a distinct, catchable class.
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DaguApiError,
  DaguError,
  DaguNetworkError,
  DaguTimeoutError,
  createClient,
  type DaguClient,
} from './index.js';
import { signJwt, startTestServer, type TestServer } from '@dagu-ts/testing';

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
}

async function apiError(promise: Promise<unknown>): Promise<DaguApiError> {
  const error = await caught(promise);
  expect(error).toBeInstanceOf(DaguApiError);
  expect(error).toBeInstanceOf(DaguError);
  return error as DaguApiError;
}

/** A tiny server answering every request with `handler`. */
async function tinyServer(
  handler: (res: ServerResponse) => void,
): Promise<{ baseUrl: string; close(): void }> {
  const server: Server = createServer((_req, res) => {
    handler(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('error envelopes of the real server', () => {
  let server: TestServer;
  let client: DaguClient;
  beforeAll(async () => {
    server = await startTestServer({ auth: { jwtSecret: 'jwt-secret-for-tests' } });
    client = createClient({
      baseUrl: server.baseUrl,
      auth: { token: signJwt({ role: 'admin' }, 'jwt-secret-for-tests') },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('404 not_found', async () => {
    const error = await apiError(client.getDag('ghost'));
    expect(error).toMatchObject({ status: 404, code: 'not_found', name: 'DaguApiError' });
    expect(error.message).toMatch(/ghost/);
    const run = await apiError(client.getDagRun('ci_build', 'no-such-run'));
    expect(run.status).toBe(404);
  });

  it('409 already_exists (DAG file, run id) and already_running (singleton)', async () => {
    const file = await apiError(client.createDag({ name: 'ci-build' }));
    expect(file).toMatchObject({ status: 409, code: 'already_exists' });

    await client.startDag('ci-build', { dagRunId: 'once-only' });
    const again = await apiError(client.startDag('ci-build', { dagRunId: 'once-only' }));
    expect(again).toMatchObject({ status: 409, code: 'already_exists' });
    await client.waitForDagRun('ci_build', 'once-only', { intervalMs: 25 });

    const { dagRunId } = await client.startDag('sleeper', { params: 'SLEEP=30' });
    const singleton = await apiError(client.startDag('sleeper', { singleton: true }));
    expect(singleton).toMatchObject({ status: 409, code: 'already_running' });
    const retry = await apiError(client.retryDagRun('sleeper', dagRunId));
    expect(retry).toMatchObject({ status: 409, code: 'already_running' });
    await client.stopDagRun('sleeper', dagRunId);
    await client.waitForDagRun('sleeper', dagRunId, { intervalMs: 25 });
  });

  it('400 bad_request and not_running, with details', async () => {
    const badId = await apiError(client.startDag('ci-build', { dagRunId: 'not a valid id' }));
    expect(badId).toMatchObject({ status: 400, code: 'bad_request' });

    server.writeDag('broken.yaml', 'steps:\n  - name: a\n    depends: b\n    command: x\n');
    const invalid = await apiError(client.startDag('broken'));
    expect(invalid).toMatchObject({ status: 400, code: 'bad_request' });
    expect(invalid.details?.errors).toEqual(expect.arrayContaining([expect.any(String)]));

    await client.startDag('ci-build', { dagRunId: 'finished-run' });
    await client.waitForDagRun('ci_build', 'finished-run', { intervalMs: 25 });
    const notRunning = await apiError(client.stopDagRun('ci_build', 'finished-run'));
    expect(notRunning).toMatchObject({ status: 400, code: 'not_running' });
  });

  it('401 unauthorized without or with bad credentials', async () => {
    const anonymous = createClient({ baseUrl: server.baseUrl });
    expect(await apiError(anonymous.listDags())).toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    const forged = createClient({
      baseUrl: server.baseUrl,
      auth: { token: signJwt({ role: 'admin' }, 'another-secret') },
    });
    expect((await apiError(forged.listDags())).status).toBe(401);
  });

  it('403 forbidden for a role that may not do this', async () => {
    const viewer = createClient({
      baseUrl: server.baseUrl,
      auth: { token: signJwt({ role: 'viewer' }, 'jwt-secret-for-tests') },
    });
    expect((await viewer.listDags()).dags.length).toBeGreaterThan(0);
    expect(await apiError(viewer.startDag('ci-build'))).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
  });

  it('refuses path parameters that would reach another endpoint', async () => {
    for (const bad of ['', '.', '..'])
      await expect(client.getDag(bad)).rejects.toBeInstanceOf(TypeError);
    await expect(client.getDagRun('ci_build', '')).rejects.toThrow(/invalid path parameter/);
  });
});

describe('answers that are not error envelopes', () => {
  it('gets a code from the status and keeps the start of the body in details', async () => {
    const proxy = await tinyServer((res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html><body>Bad Gateway from the proxy</body></html>');
    });
    try {
      const error = await apiError(createClient({ baseUrl: proxy.baseUrl }).health());
      expect(error).toMatchObject({ status: 502, code: 'bad_gateway' });
      expect(error.message).toBe('HTTP 502 Bad Gateway');
      expect(error.details?.body).toContain('Bad Gateway from the proxy');
    } finally {
      proxy.close();
    }
  });

  it('uses http_error for a status without a known meaning, and a JSON body without a code', async () => {
    const teapot = await tinyServer((res) => {
      res.writeHead(429, { 'Content-Type': 'application/json' });
      res.end('{"error":"slow down"}');
    });
    try {
      const error = await apiError(createClient({ baseUrl: teapot.baseUrl }).listDags());
      expect(error).toMatchObject({ status: 429, code: 'http_error' });
      expect(error.details?.body).toBe('{"error":"slow down"}');
    } finally {
      teapot.close();
    }
  });

  it('reports a 2xx answer that is not JSON as invalid_response', async () => {
    const html = await tinyServer((res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>login page</html>');
    });
    try {
      const error = await apiError(createClient({ baseUrl: html.baseUrl }).listDags());
      expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
    } finally {
      html.close();
    }
  });
});

describe('timeouts, network errors and aborts', () => {
  it('times out on a fetch that never answers (even one that ignores its signal)', async () => {
    const client = createClient({
      baseUrl: 'http://dagu.invalid',
      timeoutMs: 50,
      fetch: () => new Promise<Response>(() => undefined),
    });
    const error = await caught(client.health());
    expect(error).toBeInstanceOf(DaguTimeoutError);
    expect(error).not.toBeInstanceOf(DaguNetworkError);
    expect(error).toMatchObject({ timeoutMs: 50, name: 'DaguTimeoutError' });
    expect((error as Error).message).toMatch(
      /GET http:\/\/dagu\.invalid\/api\/v2\/health timed out/,
    );
  });

  it('times out on a slow server; the per-call limit overrides the client one', async () => {
    const slow = await tinyServer((res) => {
      const timer = setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"healthy","version":"","uptime":0,"timestamp":""}');
      }, 400);
      res.on('close', () => clearTimeout(timer));
    });
    try {
      const client = createClient({ baseUrl: slow.baseUrl, timeoutMs: 100 });
      const started = Date.now();
      await expect(client.health()).rejects.toBeInstanceOf(DaguTimeoutError);
      expect(Date.now() - started).toBeLessThan(390);
      expect((await client.health({ timeoutMs: 5_000 })).status).toBe('healthy');
      const unlimited = createClient({ baseUrl: slow.baseUrl, timeoutMs: 0 });
      expect((await unlimited.health()).status).toBe('healthy');
    } finally {
      slow.close();
    }
  });

  it('reports a closed port as a DaguNetworkError with the cause', async () => {
    const closed = await tinyServer(() => undefined);
    closed.close();
    const error = await caught(createClient({ baseUrl: closed.baseUrl }).listDags());
    expect(error).toBeInstanceOf(DaguNetworkError);
    expect(error).toBeInstanceOf(DaguError);
    expect(error).not.toBeInstanceOf(DaguTimeoutError);
    expect(error).not.toBeInstanceOf(DaguApiError);
    expect((error as DaguNetworkError).request).toBe(`GET ${closed.baseUrl}/api/v2/dags`);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).cause).toBeDefined();
  });

  it("rejects with the caller's abort reason", async () => {
    const client = createClient({
      baseUrl: 'http://dagu.invalid',
      fetch: () => new Promise<Response>(() => undefined),
    });
    const controller = new AbortController();
    const pending = caught(client.health({ signal: controller.signal }));
    const reason = new Error('user gave up');
    controller.abort(reason);
    expect(await pending).toBe(reason);
    // An already aborted signal never sends the request.
    expect(await caught(client.health({ signal: controller.signal }))).toBe(reason);
  });
});
