// Browser safety by default (issue #11.6), against the real server over HTTP: a page on another
// site can neither preflight, nor send a simple cross-site write, nor reach the API through a
// rebound DNS name; curl, the SDK and same-origin pages keep working.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startApi, type StartOptions, type TestApi } from '@dagu-ts/testing';

const opened: TestApi[] = [];
async function open(options: StartOptions = {}): Promise<TestApi> {
  const api = await startApi({ fixtures: ['echo-params.yaml', 'limited.yaml'], ...options });
  opened.push(api);
  return api;
}
afterEach(() => {
  for (const api of opened) expect(api.problems).toEqual([]);
});
afterAll(async () => {
  await Promise.all(opened.map((api) => api.close()));
});

const EVIL = 'http://evil.example';
const PREFLIGHT = {
  Origin: EVIL,
  'Access-Control-Request-Method': 'POST',
  'Access-Control-Request-Headers': 'Content-Type',
};

async function runCount(api: TestApi, name = 'echo-params'): Promise<number> {
  return (await api.store.runs.listRuns({ name })).total;
}

function expectRefused(
  result: { status: number; body: unknown; headers: Headers },
  status: number,
  message: RegExp,
): void {
  expect(result.status).toBe(status);
  expect(result.body).toMatchObject({
    code: status === 403 ? 'forbidden' : 'bad_request',
    message: expect.stringMatching(message),
  });
  expect(result.headers.get('access-control-allow-origin')).toBeNull();
}

describe('by default (auth off, no CORS configured)', () => {
  it('refuses a cross-origin preflight and sends no CORS headers', async () => {
    const api = await open();
    const preflight = await api.call('OPTIONS', '/dags', { headers: PREFLIGHT });
    expectRefused(preflight, 403, /origin "http:\/\/evil.example" is not allowed/);
    const read = await api.call('GET', '/dags', { headers: { Origin: EVIL } });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    // A plain OPTIONS (no preflight) is still answered.
    expect((await api.call('OPTIONS', '/dags')).status).toBe(204);
  });

  it('a simple cross-site post (text/plain, form, multipart, empty or not) starts nothing', async () => {
    const api = await open();
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      for (const body of [undefined, '{"params":"X=1"}']) {
        const headers = { 'Content-Type': type };
        const send = body === undefined ? { headers } : { headers, body };
        // From a browser: Origin names the other site.
        const fromPage = await api.call('POST', '/dags/echo-params/start', {
          ...send,
          headers: { ...headers, Origin: EVIL, 'Sec-Fetch-Site': 'cross-site' },
        });
        expectRefused(fromPage, 403, /cross-site request refused from http:\/\/evil.example/);
        // An old browser without Origin still sends its content type: 415.
        const noOrigin = await api.call('POST', '/dags/echo-params/start', send);
        expectRefused(noOrigin, 415, /unsupported content type .*send application\/json/);
      }
    }
    // A no-cors fetch without a body and without a content type still carries Origin.
    for (const origin of [EVIL, 'null', 'http://127.0.0.1:1']) {
      const bare = await api.call('POST', '/dags/echo-params/start', {
        headers: { Origin: origin },
      });
      expectRefused(bare, 403, /cross-site request refused/);
    }
    // Sec-Fetch-Site alone (a GET from an <img>, or a browser that left Origin out).
    for (const site of ['cross-site', 'same-site']) {
      const start = await api.call('POST', '/dags/echo-params/start', {
        headers: { 'Sec-Fetch-Site': site },
      });
      expectRefused(start, 403, /cross-site request refused/);
      const dequeue = await api.call('GET', '/dag-runs/limited/some-run/dequeue', {
        headers: { 'Sec-Fetch-Site': site },
      });
      expectRefused(dequeue, 403, /cross-site request refused/);
    }
    for (const [method, path] of [
      ['PUT', '/dags/echo-params/spec'],
      ['DELETE', '/dags/echo-params'],
      ['POST', '/dags'],
      ['PATCH', '/dag-runs/echo-params/x/steps/show/status'],
    ] as const) {
      const result = await api.call(method, path, {
        headers: { Origin: EVIL, 'Content-Type': 'application/json' },
        body: '{}',
      });
      expectRefused(result, 403, /cross-site request refused/);
    }
    expect(await runCount(api)).toBe(0);
    expect((await api.call('GET', '/dags/echo-params')).status).toBe(200);
  });

  it('curl, the SDK and same-origin pages still work', async () => {
    const api = await open();
    // curl -X POST …/start: no body, no content type.
    const bare = await api.call('POST', '/dags/echo-params/start');
    expect(bare.status).toBe(200);
    await api.waitForRun('echo-params', bare.body.dagRunId);
    // curl -X POST …/stop of a finished run: reaches the handler.
    const stop = await api.call('POST', `/dag-runs/echo-params/${bare.body.dagRunId}/stop`);
    expect(stop.status).toBe(400);
    expect(stop.body.code).toBe('not_running');
    const json = await api.call('POST', '/dags/echo-params/start', {
      json: { params: 'X=1' },
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect(json.status).toBe(200);
    await api.waitForRun('echo-params', json.body.dagRunId);
    // A page served by this server (the web UI): Origin is the server itself.
    const sameOrigin = await api.call('POST', '/dags/echo-params/start', {
      json: {},
      headers: { Origin: api.base, 'Sec-Fetch-Site': 'same-origin' },
    });
    expect(sameOrigin.status).toBe(200);
    await api.waitForRun('echo-params', sameOrigin.body.dagRunId);
    expect(await runCount(api)).toBe(3);
  });

  it('refuses a foreign Host (DNS rebinding) and serves loopback names and IP addresses', async () => {
    const api = await open();
    const port = new URL(api.base).port;
    for (const host of ['evil.example', `evil.example:${port}`, 'localhost.evil.example']) {
      for (const [method, path] of [
        ['GET', '/dags'],
        ['GET', '/dag-runs'],
        ['POST', '/dags/echo-params/start'],
      ]) {
        const result = await api.call(method!, path!, { raw: true, headers: { Host: host } });
        expectRefused(result, 403, /host "[^"]+" is not allowed/);
      }
    }
    expect(await runCount(api)).toBe(0);
    for (const host of [
      `localhost:${port}`,
      'LOCALHOST',
      'localhost.',
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      '10.1.2.3',
    ]) {
      const result = await api.call('GET', '/dags', { raw: true, headers: { Host: host } });
      expect(result.status, host).toBe(200);
    }
    // Liveness probes often use a service name.
    const health = await api.call('GET', '/health', {
      raw: true,
      headers: { Host: 'dagu-svc:8080' },
    });
    expect(health.status).toBe(200);
  });

  it('refuses an unknown Content-Encoding (415) and a body that does not decode (400)', async () => {
    const api = await open();
    for (const body of [undefined, '{}']) {
      const result = await api.call('POST', '/dags/echo-params/start', {
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'bogus' },
        ...(body !== undefined ? { body } : {}),
      });
      expectRefused(result, 415, /unsupported content encoding "bogus"/);
    }
    expect(await runCount(api)).toBe(0);
  });
});

describe('configured', () => {
  it('allowed hosts: listed names are served, others still refused; * serves any', async () => {
    const api = await open({ allowedHosts: ['dagu.internal', 'Other.Example'] });
    for (const host of ['dagu.internal', 'dagu.internal:8080', 'other.example'])
      expect((await api.call('GET', '/dags', { raw: true, headers: { Host: host } })).status).toBe(
        200,
      );
    const foreign = await api.call('GET', '/dags', {
      raw: true,
      headers: { Host: 'evil.example' },
    });
    expect(foreign.status).toBe(403);
    const any = await open({ allowedHosts: ['*'] });
    expect((await any.call('GET', '/dags', { raw: true, headers: { Host: 'x.y' } })).status).toBe(
      200,
    );
  });

  it('with auth on, the Host is not checked (credentials are)', async () => {
    const api = await open({ auth: { token: 'tok' } });
    const headers = { Host: 'dagu.example.com' };
    expect((await api.call('GET', '/dags', { raw: true, headers })).status).toBe(401);
    const authed = await api.call('GET', '/dags', {
      raw: true,
      headers: { ...headers, Authorization: 'Bearer tok' },
    });
    expect(authed.status).toBe(200);
    // Cross-site writes stay refused: a browser may hold basic-auth credentials for the site.
    const start = await api.call('POST', '/dags/echo-params/start', {
      headers: { Authorization: 'Bearer tok', Origin: EVIL, 'Content-Type': 'text/plain' },
    });
    expect(start.status).toBe(403);
  });

  it('CORS origins: a listed origin is granted with credentials, others refused', async () => {
    const ui = 'https://ui.example';
    const api = await open({ corsAllowedOrigins: [`${ui}/`] });
    const preflight = await api.call('OPTIONS', '/dags/echo-params/start', {
      headers: { ...PREFLIGHT, Origin: ui },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ui);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    const start = await api.call('POST', '/dags/echo-params/start', {
      json: {},
      headers: { Origin: ui, 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(start.status).toBe(200);
    expect(start.headers.get('access-control-allow-origin')).toBe(ui);
    await api.waitForRun('echo-params', start.body.dagRunId);
    expectRefused(await api.call('OPTIONS', '/dags', { headers: PREFLIGHT }), 403, /not allowed/);
    // Even a listed origin cannot post a simple (non-JSON) request.
    const plain = await api.call('POST', '/dags/echo-params/start', {
      headers: { Origin: ui, 'Content-Type': 'text/plain' },
    });
    expect(plain.status).toBe(415);
  });

  it('CORS *: any origin, without credentials', async () => {
    const api = await open({ corsAllowedOrigins: ['*'] });
    const preflight = await api.call('OPTIONS', '/dags', { headers: PREFLIGHT });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const created = await api.call('POST', '/dags', {
      json: { name: 'from-anywhere' },
      headers: { Origin: EVIL },
    });
    expect(created.status).toBe(201);
  });
});
