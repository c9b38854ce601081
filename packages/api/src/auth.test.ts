// Authentication and authorisation (api-v2.md Part A #8–#10, §1.5): none, basic, static token
// and HS256 JWTs with roles; /health public; /metrics per publicMetrics; permission switches;
// CORS preflights; credentials never logged.
import jwt from 'jsonwebtoken';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { basicAuth, startApi, type StartOptions, type TestApi } from '@dagu-ts/testing';

const SECRET = 'jwt-test-secret';
const PASSWORD = 'correct horse battery staple';
const TOKEN = 'static-token-0123456789';

const opened: TestApi[] = [];
async function open(options: StartOptions): Promise<TestApi> {
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

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const jwtFor = (claims: Record<string, unknown>, options: jwt.SignOptions = {}) =>
  jwt.sign(claims, SECRET, { algorithm: 'HS256', expiresIn: '1h', ...options });

describe('no auth configured', () => {
  it('is open, with admin rights', async () => {
    const api = await open({});
    expect((await api.call('GET', '/dags')).status).toBe(200);
    expect((await api.call('POST', '/dags', { json: { name: 'open-dag' } })).status).toBe(201);
    expect((await api.call('GET', '/metrics')).status).toBe(200);
  });
});

describe('basic auth', () => {
  it('401 with a Basic challenge without or with wrong credentials; 200 with the right ones', async () => {
    const api = await open({ auth: { basic: { username: 'admin', password: PASSWORD } } });
    const none = await api.call('GET', '/dags');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="restricted"');
    expect(none.body.code).toBe('unauthorized');
    for (const header of [
      basicAuth('admin', 'wrong'),
      basicAuth('root', PASSWORD),
      basicAuth('admin', `${PASSWORD}x`),
      'Basic not-base64-at-all',
      'Basic',
      bearer(TOKEN).Authorization,
    ]) {
      const denied = await api.call('GET', '/dags', { headers: { Authorization: header } });
      expect(denied.status, header).toBe(401);
    }
    const ok = await api.call('GET', '/dags', {
      headers: { Authorization: basicAuth('admin', PASSWORD) },
    });
    expect(ok.status).toBe(200);
    const write = await api.call('POST', '/dags', {
      json: { name: 'basic-dag' },
      headers: { Authorization: basicAuth('admin', PASSWORD) },
    });
    expect(write.status).toBe(201);
  });

  it('/health is public; /metrics needs credentials unless publicMetrics', async () => {
    const closed = await open({ auth: { basic: { username: 'u', password: 'p' } } });
    expect((await closed.call('GET', '/health')).status).toBe(200);
    // (not a documented path, so not checked against the OpenAPI document)
    expect((await closed.call('GET', '/health/', { unchecked: true })).status).toBe(200);
    expect((await closed.call('GET', '/metrics')).status).toBe(401);
    const withAuth = await closed.call('GET', '/metrics', {
      headers: { Authorization: basicAuth('u', 'p') },
    });
    expect(withAuth.status).toBe(200);
    const publicMetrics = await open({
      auth: { basic: { username: 'u', password: 'p' } },
      publicMetrics: true,
    });
    expect((await publicMetrics.call('GET', '/metrics')).status).toBe(200);
    expect((await publicMetrics.call('GET', '/dags')).status).toBe(401);
  });
});

describe('static token', () => {
  it('Bearer <token> has full rights; anything else is 401 with a Bearer challenge', async () => {
    const api = await open({ auth: { token: TOKEN } });
    const none = await api.call('GET', '/dags');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="restricted"');
    for (const Authorization of [`Bearer ${TOKEN}x`, `bearer ${TOKEN}`, TOKEN, 'Bearer ']) {
      expect((await api.call('GET', '/dags', { headers: { Authorization } })).status).toBe(401);
    }
    expect((await api.call('GET', '/dags', { headers: bearer(TOKEN) })).status).toBe(200);
    const created = await api.call('POST', '/dags', {
      json: { name: 'token-dag' },
      headers: bearer(TOKEN),
    });
    expect(created.status).toBe(201);
  });
});

describe('JWT roles', () => {
  it('viewer reads only; operator may run; admin may also write; no or unknown role = viewer', async () => {
    const api = await open({ auth: { jwtSecret: SECRET } });
    const as = (role: string | undefined) =>
      bearer(jwtFor(role === undefined ? { sub: 'someone' } : { sub: 'someone', role }));

    for (const role of ['viewer', undefined, 'superuser', 'ADMIN']) {
      const headers = as(role);
      expect((await api.call('GET', '/dags', { headers })).status, String(role)).toBe(200);
      expect((await api.call('GET', '/dag-runs', { headers })).status).toBe(200);
      for (const [method, path, json] of [
        ['POST', '/dags/echo-params/start', {}],
        ['POST', '/dags/echo-params/enqueue', {}],
        ['POST', '/dags/echo-params/suspend', { suspend: true }],
        ['GET', '/dag-runs/echo-params/some-run/dequeue', undefined],
        ['POST', '/dag-runs/echo-params/some-run/stop', undefined],
        ['POST', '/dag-runs/echo-params/some-run/retry', { dagRunId: 'some-run' }],
        ['PATCH', '/dag-runs/echo-params/some-run/steps/show/status', { status: 4 }],
        ['POST', '/dags', { name: 'nope' }],
        ['PUT', '/dags/echo-params/spec', { spec: 'steps: []' }],
        ['DELETE', '/dags/echo-params', undefined],
        ['POST', '/dags/echo-params/rename', { newFileName: 'x' }],
      ] as const) {
        const denied = await api.call(method, path, {
          headers,
          ...(json !== undefined ? { json } : {}),
        });
        expect(denied.status, `${String(role)} ${method} ${path}`).toBe(403);
        expect(denied.body).toEqual({ code: 'forbidden', message: 'Permission denied' });
      }
    }

    const operator = as('operator');
    const started = await api.call('POST', '/dags/echo-params/start', {
      json: {},
      headers: operator,
    });
    expect(started.status).toBe(200);
    await api.waitForRun('echo-params', started.body.dagRunId);
    // A run action on a run that does not exist: past the permission check.
    expect(
      (await api.call('GET', '/dag-runs/echo-params/ghost/dequeue', { headers: operator })).status,
    ).toBe(404);
    expect(
      (await api.call('POST', '/dags', { json: { name: 'op-dag' }, headers: operator })).status,
    ).toBe(403);
    expect((await api.call('DELETE', '/dags/echo-params', { headers: operator })).status).toBe(403);

    const admin = as('admin');
    expect(
      (await api.call('POST', '/dags', { json: { name: 'admin-dag' }, headers: admin })).status,
    ).toBe(201);
    expect((await api.call('DELETE', '/dags/admin-dag', { headers: admin })).status).toBe(204);
  });

  it('expired, tampered, wrongly signed, HS512 and alg=none tokens are 401', async () => {
    const api = await open({ auth: { jwtSecret: SECRET } });
    const expired = jwt.sign({ role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 }, SECRET, {
      algorithm: 'HS256',
    });
    const response = await api.call('GET', '/dags', { headers: bearer(expired) });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ code: 'unauthorized', message: 'token expired' });
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="restricted"');
    const good = jwtFor({ role: 'viewer' });
    const [header, payload, signature] = good.split('.');
    const elevated = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload!, 'base64url').toString()),
        role: 'admin',
      }),
    ).toString('base64url');
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${elevated}.`;
    for (const token of [
      `${header}.${elevated}.${signature}`,
      jwt.sign({ role: 'admin' }, 'another-secret', { algorithm: 'HS256' }),
      jwt.sign({ role: 'admin' }, SECRET, { algorithm: 'HS512' }),
      unsigned,
      'not.a.jwt',
    ]) {
      expect((await api.call('GET', '/dags', { headers: bearer(token) })).status, token).toBe(401);
    }
  });
});

describe('several methods at once, permissions and plumbing', () => {
  it('any configured method satisfies a request', async () => {
    const api = await open({
      auth: { basic: { username: 'u', password: 'p' }, token: TOKEN, jwtSecret: SECRET },
    });
    expect((await api.call('GET', '/dags')).headers.get('www-authenticate')).toBe(
      'Basic realm="restricted"',
    );
    for (const Authorization of [
      basicAuth('u', 'p'),
      `Bearer ${TOKEN}`,
      `Bearer ${jwtFor({ role: 'viewer' })}`,
    ])
      expect((await api.call('GET', '/dags', { headers: { Authorization } })).status).toBe(200);
  });

  it('permissions.writeDAGs / runDAGs switch gated routes off for everyone: 403 Permission denied', async () => {
    const noWrite = await open({ permissions: { writeDAGs: false } });
    const create = await noWrite.call('POST', '/dags', { json: { name: 'x' } });
    expect(create.status).toBe(403);
    expect(create.body).toEqual({ code: 'forbidden', message: 'Permission denied' });
    expect((await noWrite.call('PUT', '/dags/limited/spec', { json: { spec: 'x' } })).status).toBe(
      403,
    );
    expect((await noWrite.call('DELETE', '/dags/limited')).status).toBe(403);
    const allowedRun = await noWrite.call('POST', '/dags/echo-params/start', { json: {} });
    expect(allowedRun.status).toBe(200);
    await noWrite.waitForRun('echo-params', allowedRun.body.dagRunId);

    const noRun = await open({ permissions: { runDAGs: false } });
    for (const [method, path, json] of [
      ['POST', '/dags/echo-params/start', {}],
      ['POST', '/dags/echo-params/suspend', { suspend: true }],
      ['GET', '/dag-runs/echo-params/x/dequeue', undefined],
    ] as const) {
      const denied = await noRun.call(method, path, json !== undefined ? { json } : {});
      expect(denied.status, path).toBe(403);
    }
    expect((await noRun.call('POST', '/dags', { json: { name: 'still-writable' } })).status).toBe(
      201,
    );
    expect((await noRun.call('GET', '/dags')).status).toBe(200);
  });

  it('CORS for a configured origin: credentials, preflight without credentials', async () => {
    const api = await open({ auth: { token: TOKEN }, corsAllowedOrigins: ['https://ui.example'] });
    const preflight = await api.call('OPTIONS', '/dags', {
      headers: {
        Origin: 'https://ui.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'Authorization, Content-Type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://ui.example');
    expect(preflight.headers.get('access-control-allow-methods')).toBe(
      'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    );
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(preflight.headers.get('access-control-max-age')).toBe('300');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('vary')).toContain('Origin');
    const actual = await api.call('GET', '/dags', {
      headers: { Origin: 'https://ui.example', ...bearer(TOKEN) },
    });
    expect(actual.headers.get('access-control-allow-origin')).toBe('https://ui.example');
    const noOrigin = await api.call('GET', '/dags', { headers: bearer(TOKEN) });
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('request log lines are structured and never carry credentials', async () => {
    const api = await open({
      auth: { basic: { username: 'logger', password: PASSWORD }, token: TOKEN },
    });
    await api.call('GET', '/dags?tag=x', { headers: bearer(TOKEN) });
    await api.call('GET', '/dags', { headers: { Authorization: basicAuth('logger', PASSWORD) } });
    await api.call('GET', '/dags', { headers: { Authorization: basicAuth('logger', 'wrong') } });
    const lines = api.logs.filter((entry) => entry.msg === 'request');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ method: 'GET', path: '/api/v2/dags', status: 200 });
    expect(lines[2]).toMatchObject({ status: 401 });
    const text = JSON.stringify(api.logs);
    for (const secret of [
      TOKEN,
      PASSWORD,
      'wrong',
      Buffer.from(`logger:${PASSWORD}`).toString('base64'),
    ])
      expect(text).not.toContain(secret);
    expect(text.toLowerCase()).not.toContain('authorization');
  });
});
