// Each auth method against a real server: basic, static token and HS256 JWTs (signed here with
// node:crypto); plus what the client puts on the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaguApiError, createClient } from './index.js';
import { signJwt, startTestServer, type TestServer } from '@dagu-ts/testing';

describe('basic auth', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ auth: { basic: { username: 'ci', password: 'pä$$ wörd' } } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('authenticates with username and password (UTF-8)', async () => {
    const client = createClient({
      baseUrl: server.baseUrl,
      auth: { basic: { username: 'ci', password: 'pä$$ wörd' } },
    });
    expect((await client.listDags()).dags.length).toBeGreaterThan(0);
    expect(await client.metrics()).toContain('dagu_');
    const { dagRunId } = await client.startDag('ci-build');
    expect((await client.waitForDagRun('ci_build', dagRunId, { intervalMs: 25 })).status).toBe(4);
  });

  it('health is public; a wrong password is 401', async () => {
    expect((await createClient({ baseUrl: server.baseUrl }).health()).status).toBe('healthy');
    const wrong = createClient({
      baseUrl: server.baseUrl,
      auth: { basic: { username: 'ci', password: 'nope' } },
    });
    await expect(wrong.listDags()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });
});

describe('static token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ auth: { token: 'static-token-123' } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('authenticates with the token (full rights)', async () => {
    const client = createClient({ baseUrl: server.baseUrl, auth: { token: 'static-token-123' } });
    expect((await client.listTags()).tags).toContain('ci');
    expect((await client.createDag({ name: 'token-made' })).name).toBe('token-made');
    await client.deleteDag('token-made');
  });

  it('a wrong token is 401', async () => {
    const client = createClient({ baseUrl: server.baseUrl, auth: { token: 'wrong' } });
    const error: unknown = await client.listTags().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(DaguApiError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
  });
});

describe('JWT', () => {
  const secret = 'a-jwt-secret';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ auth: { jwtSecret: secret } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('admin and operator tokens may run DAGs; viewer tokens only read', async () => {
    for (const role of ['admin', 'operator']) {
      const client = createClient({
        baseUrl: server.baseUrl,
        auth: { token: signJwt({ role }, secret) },
      });
      const run = await client.startAndWait('ci-build', {}, { intervalMs: 25 });
      expect(run.status, role).toBe(4);
    }
    const viewer = createClient({
      baseUrl: server.baseUrl,
      auth: { token: signJwt({ role: 'viewer' }, secret) },
    });
    expect((await viewer.getDag('ci-build')).dag?.name).toBe('ci_build');
    await expect(viewer.startDag('ci-build')).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    // Operators run DAGs but may not write DAG files.
    const operator = createClient({
      baseUrl: server.baseUrl,
      auth: { token: signJwt({ role: 'operator' }, secret) },
    });
    await expect(operator.createDag({ name: 'x' })).rejects.toMatchObject({ status: 403 });
  });

  it('expired or foreign tokens are 401', async () => {
    const expired = createClient({
      baseUrl: server.baseUrl,
      auth: { token: signJwt({ role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 }, secret) },
    });
    await expect(expired.listDags()).rejects.toMatchObject({
      status: 401,
      message: 'token expired',
    });
    const foreign = createClient({
      baseUrl: server.baseUrl,
      auth: { token: signJwt({ role: 'admin' }, 'someone-else') },
    });
    await expect(foreign.listDags()).rejects.toMatchObject({ status: 401 });
  });
});

describe('on the wire', () => {
  it('sends Accept, Content-Type, Authorization and custom headers; per-call headers win', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const client = createClient({
      baseUrl: 'http://dagu.example/base/',
      auth: { basic: { username: 'u', password: 'p' } },
      headers: { 'X-Trace': 'client' },
      fetch: async (url, init) => {
        seen.push({ url, init });
        return new Response('{"dagRunId":"x"}', {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
        });
      },
    });
    await client.startDag('my dag', { params: 'A=1' }, { headers: { 'X-Trace': 'call' } });
    const [{ url, init }] = seen as [{ url: string; init: RequestInit }];
    expect(url).toBe('http://dagu.example/base/api/v2/dags/my%20dag/start');
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"params":"A=1"}');
    expect(init.headers).toMatchObject({
      Accept: 'application/json',
      'Content-Type': 'application/json',
      Authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
      'X-Trace': 'call',
    });

    seen.length = 0;
    await client.listDagRuns({ name: 'a&b', status: 4, fromDate: undefined });
    expect(seen[0]!.url).toBe('http://dagu.example/base/api/v2/dag-runs?name=a%26b&status=4');
    expect(seen[0]!.init.body).toBeUndefined();
  });

  it('prefers the token when both credentials are given', async () => {
    let authorization = '';
    const client = createClient({
      baseUrl: 'http://dagu.example',
      auth: { basic: { username: 'u', password: 'p' }, token: 'tok' },
      fetch: async (_url, init) => {
        authorization = (init.headers as Record<string, string>).Authorization ?? '';
        return new Response(null, { status: 204 });
      },
    });
    await client.deleteDag('x');
    expect(authorization).toBe('Bearer tok');
  });
});
