// The bad-input sweep: every route with malformed JSON, wrong types, huge bodies, traversal
// names, invalid ids and wrong methods — never a 5xx, always the error envelope with the
// status of api-v2.md Part A #7. Plus unknown routes, content types, gzip and the base path.
import { brotliCompressSync, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';

const BODY_LIMIT_BYTES = 1024 * 1024;

let api: TestApi;
let runId: string;
let childId: string;
beforeAll(async () => {
  api = await startApi();
  const started = await api.call('POST', '/dags/parent/start', { json: {} });
  runId = started.body.dagRunId;
  await api.waitForRun('parent', runId);
  const details = await api.call('GET', `/dag-runs/parent/${runId}`);
  childId = details.body.dagRunDetails.nodes[0].children[0].dagRunId;
});
afterAll(async () => {
  await api.close();
});

interface Route {
  method: string;
  /** `{f}` file name, `{n}` DAG name, `{id}` run id, `{c}` child id, `{s}` step name. */
  path: string;
  body?: Record<string, unknown>;
}

/** All 29 operations (plus openapi.json) with a valid body where they take one. */
const ROUTES: Route[] = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/dags' },
  { method: 'POST', path: '/dags', body: { name: 'sweep-created' } },
  { method: 'GET', path: '/dags/search?q=echo' },
  { method: 'GET', path: '/dags/tags' },
  { method: 'GET', path: '/dags/{f}' },
  { method: 'DELETE', path: '/dags/{f}' },
  { method: 'GET', path: '/dags/{f}/spec' },
  {
    method: 'PUT',
    path: '/dags/{f}/spec',
    body: { spec: 'steps:\n  - name: a\n    command: echo a\n' },
  },
  { method: 'POST', path: '/dags/{f}/start', body: { params: 'A=1' } },
  { method: 'POST', path: '/dags/{f}/enqueue', body: { params: 'A=1' } },
  { method: 'GET', path: '/dags/{f}/dag-runs' },
  { method: 'GET', path: '/dags/{f}/dag-runs/{id}' },
  { method: 'POST', path: '/dags/{f}/suspend', body: { suspend: true } },
  { method: 'POST', path: '/dags/{f}/rename', body: { newFileName: 'sweep-renamed' } },
  { method: 'GET', path: '/dag-runs' },
  // Dagu v1.30's inline run shares the path (the other v1.30 routes are in v130.test.ts).
  {
    method: 'POST',
    path: '/dag-runs',
    body: { spec: 'name: sweep-inline\nsteps:\n  - name: a\n    command: echo a\n' },
  },
  { method: 'GET', path: '/dag-runs/{n}' },
  { method: 'GET', path: '/dag-runs/{n}/{id}' },
  { method: 'GET', path: '/dag-runs/{n}/{id}/log' },
  { method: 'GET', path: '/dag-runs/{n}/{id}/steps/{s}/log' },
  { method: 'PATCH', path: '/dag-runs/{n}/{id}/steps/{s}/status', body: { status: 4 } },
  { method: 'POST', path: '/dag-runs/{n}/{id}/retry', body: { dagRunId: 'x' } },
  { method: 'POST', path: '/dag-runs/{n}/{id}/stop' },
  { method: 'GET', path: '/dag-runs/{n}/{id}/dequeue' },
  { method: 'GET', path: '/dag-runs/{n}/{id}/children/{c}' },
  { method: 'GET', path: '/dag-runs/{n}/{id}/children/{c}/log' },
  { method: 'GET', path: '/dag-runs/{n}/{id}/children/{c}/steps/{s}/log' },
  {
    method: 'PATCH',
    path: '/dag-runs/{n}/{id}/children/{c}/steps/{s}/status',
    body: { status: 4 },
  },
];

function fill(path: string, values: Partial<Record<'f' | 'n' | 'id' | 'c' | 's', string>>): string {
  return path.replace(/\{(f|n|id|c|s)\}/g, (_, key: 'f' | 'n' | 'id' | 'c' | 's') => {
    return (
      values[key] ?? { f: 'sweep-target', n: 'parent', id: runId, c: childId, s: 'call-child' }[key]
    );
  });
}

const seen: Array<{ what: string; status: number; body: unknown }> = [];
async function probe(
  what: string,
  method: string,
  path: string,
  options: Parameters<TestApi['call']>[2] = {},
) {
  const result = await api.call(method, path, options);
  seen.push({ what, status: result.status, body: result.body });
  return result;
}

describe('the sweep', () => {
  it('traversal names in fileName and name are 400 bad_request on every route, GET included', async () => {
    for (const bad of ['..%2Fetc%2Fpasswd', '..', '...', 'a%5Cb', 'a%00b', '%2E%2E', 'x..y.yaml']) {
      for (const route of ROUTES.filter((r) => r.path.includes('{f}') || r.path.includes('{n}'))) {
        const path = fill(route.path, { f: bad, n: bad });
        const { status, body } = await probe(`traversal ${bad}`, route.method, path, {
          ...(route.body ? { json: route.body } : {}),
          raw: true,
        });
        expect(status, `${route.method} ${path}`).toBe(400);
        expect(body.code).toBe('bad_request');
      }
    }
  });

  it('invalid run ids are 400 on every route that takes one', async () => {
    for (const bad of ['bad%20id', 'a..b', '-x', 'x'.repeat(65), '%00']) {
      for (const route of ROUTES.filter((r) => r.path.includes('{id}') || r.path.includes('{c}'))) {
        for (const key of ['id', 'c'] as const) {
          if (!route.path.includes(`{${key}}`)) continue;
          const path = fill(route.path, { [key]: bad });
          const { status, body } = await probe(`bad id ${bad}`, route.method, path, {
            ...(route.body ? { json: route.body } : {}),
          });
          expect(status, `${route.method} ${path}`).toBe(400);
          expect(body.code).toBe('bad_request');
        }
      }
    }
  });

  it('malformed JSON, non-object JSON and wrong field types are 400 on every route with a body', async () => {
    for (const route of ROUTES.filter((r) => r.method !== 'GET' && r.method !== 'DELETE')) {
      const path = fill(route.path, {});
      for (const body of ['{"name": ', '{bad json}', '[1,2]', '"text"', 'null', '42']) {
        const result = await probe(`malformed ${body}`, route.method, path, {
          body,
          headers: { 'Content-Type': 'application/json' },
        });
        if (route.body === undefined && ['[1,2]', 'null', '42', '"text"'].includes(body)) {
          // Routes without a body schema ignore a well-formed body.
          expect(result.status, `${route.method} ${path} ${body}`).toBeLessThan(500);
          continue;
        }
        expect(result.status, `${route.method} ${path} ${body}`).toBe(400);
        expect(result.body.code).toBe('bad_request');
      }
      if (!route.body) continue;
      const wrong = Object.fromEntries(
        Object.entries(route.body).map(([key, value]) => [
          key,
          typeof value === 'string' ? 123 : typeof value === 'number' ? 'four' : 'yes',
        ]),
      );
      const typed = await probe('wrong types', route.method, path, { json: wrong });
      expect(typed.status, `${route.method} ${path} ${JSON.stringify(wrong)}`).toBe(400);
      expect(typed.body.code).toBe('bad_request');
    }
  });

  it('bodies over 1 MiB are 413 bad_request; other content types 415 bad_request', async () => {
    const huge = JSON.stringify({ spec: 'x'.repeat(BODY_LIMIT_BYTES + 1) });
    for (const route of ROUTES.filter((r) => r.body)) {
      const path = fill(route.path, {});
      const tooLarge = await probe('huge', route.method, path, {
        body: huge,
        headers: { 'Content-Type': 'application/json' },
      });
      expect(tooLarge.status, `${route.method} ${path}`).toBe(413);
      expect(tooLarge.body.code).toBe('bad_request');
      const form = await probe('form', route.method, path, {
        body: 'name=x',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status, `${route.method} ${path}`).toBe(415);
      expect(form.body.code).toBe('bad_request');
    }
    const plain = await probe('text/plain', 'POST', '/dags', {
      body: '{"name":"x"}',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(plain.status).toBe(415);
  });

  it('wrong methods on known paths are 405 bad_request; unknown routes 404 not_found', async () => {
    for (const route of ROUTES) {
      const path = fill(route.path, {});
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (ROUTES.some((r) => r.path === route.path && r.method === method)) continue;
        const { status, body } = await probe('method', method, path);
        expect(status, `${method} ${path}`).toBe(405);
        expect(body.code).toBe('bad_request');
      }
    }
    for (const path of ['/nope', '/dags/x/y/z', '/dag-runs/a/b/c/d/e/f/g', '/DAGS']) {
      const { status, body } = await probe('unknown', 'GET', path);
      expect(status, path).toBe(404);
      expect(body.code).toBe('not_found');
    }
    const outside = await probe('outside', 'GET', `${api.base}/not-the-api`);
    expect(outside.status).toBe(404);
    expect(outside.body.code).toBe('not_found');
  });

  it('remoteNode: local (or empty) is served here, any other node is 400', async () => {
    for (const value of ['local', '']) {
      const { status } = await probe('remoteNode', 'GET', `/dags?remoteNode=${value}`);
      expect(status).toBe(200);
    }
    const other = await probe('remoteNode', 'GET', '/dags?remoteNode=elsewhere');
    expect(other.status).toBe(400);
    expect(other.body).toEqual({ code: 'bad_request', message: 'remote node elsewhere not found' });
  });

  it('missing resources are 404 on every route that names one', async () => {
    for (const route of ROUTES.filter((r) => /\{(f|n|id|c)\}/.test(r.path))) {
      const path = fill(route.path, { f: 'no-such-dag', n: 'no-such-dag', id: 'no-such-run' });
      const { status, body } = await probe('missing', route.method, path, {
        ...(route.body ? { json: route.body } : {}),
      });
      if (route.path === '/dag-runs/{n}') {
        expect(status).toBe(200); // a listing: empty
        continue;
      }
      expect(status, `${route.method} ${path}`).toBe(404);
      expect(body.code).toBe('not_found');
    }
  });

  it('bad percent-encoding in any path parameter is 400 on every route', async () => {
    for (const bad of ['%', '%E0%A4%A', '%ZZ', 'a%', '%C0%AF', '%ED%A0%80']) {
      for (const route of ROUTES) {
        for (const key of ['f', 'n', 'id', 'c', 's'] as const) {
          if (!route.path.includes(`{${key}}`)) continue;
          const path = fill(route.path, { [key]: bad });
          const { status, body } = await probe(`encoding ${bad}`, route.method, path, {
            ...(route.body ? { json: route.body } : {}),
            raw: true,
          });
          expect(status, `${route.method} ${path}`).toBe(400);
          expect(body.code).toBe('bad_request');
        }
      }
    }
    // Query strings are decoded leniently; a stray % is data, never a 5xx.
    for (const query of ['name=%', 'name=%E0%A4%A', 'tag=%ZZ', 'q=%', 'status=%32']) {
      const path = query.startsWith('q=') ? `/dags/search?${query}` : `/dag-runs?${query}`;
      const { status } = await probe(`query ${query}`, 'GET', path, { raw: true });
      expect(status, path).toBeLessThan(500);
    }
  });

  it('bodies: unknown encodings 415, bodies that do not decode 400, bombs 413', async () => {
    const json = Buffer.from(JSON.stringify({ params: 'A=1' }));
    const gzip = gzipSync(json);
    const bomb = gzipSync(Buffer.alloc(BODY_LIMIT_BYTES * 4, ' '));
    const cases: Array<{ encoding: string; body: Buffer; status: number }> = [
      { encoding: 'bogus', body: json, status: 415 },
      { encoding: 'gzip, bogus', body: json, status: 415 },
      { encoding: 'gzip', body: gzip.subarray(0, gzip.length - 12), status: 400 },
      { encoding: 'gzip', body: json, status: 400 },
      { encoding: 'deflate', body: json, status: 400 },
      { encoding: 'br', body: Buffer.from('\xff\xff\xff\xff'), status: 400 },
      { encoding: 'gzip', body: bomb, status: 413 },
      { encoding: 'gzip', body: gzipSync(Buffer.from('{"params": ')), status: 400 },
    ];
    for (const route of ROUTES.filter((r) => r.body)) {
      const path = fill(route.path, {});
      for (const { encoding, body, status } of cases) {
        const result = await probe(`content-encoding ${encoding}`, route.method, path, {
          body,
          headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        });
        expect(result.status, `${route.method} ${path} ${encoding} → ${result.text}`).toBe(status);
        expect(result.body.code).toBe('bad_request');
      }
    }
    // Well-formed compressed bodies are read.
    const body = { params: 'A=1' };
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const) {
      const result = await probe(`${encoding} ok`, 'POST', '/dags/echo-params/enqueue', {
        body: compress(Buffer.from(JSON.stringify(body))),
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
      });
      expect(result.status, `${encoding}: ${result.text}`).toBe(200);
    }
    // Charsets body-parser cannot read, and JSON bodies on routes that take none.
    for (const type of ['application/json; charset=latin1', 'application/json; charset=klingon']) {
      const result = await probe(`charset ${type}`, 'POST', '/dags', {
        body: '{"name":"x"}',
        headers: { 'Content-Type': type },
      });
      expect(result.status, type).toBe(415);
    }
  });

  it('saw no 5xx and only Dagu error codes in any of the above', () => {
    expect(seen.length).toBeGreaterThan(300);
    const codes = new Set([
      'bad_request',
      'not_found',
      'unauthorized',
      'forbidden',
      'already_exists',
      'already_running',
      'not_running',
    ]);
    for (const entry of seen) {
      expect(entry.status, entry.what).toBeLessThan(500);
      if (entry.status >= 400) {
        const body = entry.body as { code?: string; message?: string; stack?: unknown };
        expect(codes.has(body.code ?? ''), `${entry.what}: ${JSON.stringify(body)}`).toBe(true);
        expect(typeof body.message).toBe('string');
        expect(JSON.stringify(body)).not.toMatch(/\s+at\s.+\.(ts|js):\d+/);
      }
    }
    expect(api.problems).toEqual([]);
  });
});

describe('plumbing', () => {
  it('gzip-compresses large responses when asked', async () => {
    const { status, headers, body } = await new Promise<{
      status: number;
      headers: Record<string, unknown>;
      body: Buffer;
    }>((resolve, reject) => {
      const req = request(`${api.root}/dags`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(body).toString()).dags.length).toBeGreaterThan(0);
  });

  it('an unexpected failure is 500 internal_error without a stack', async () => {
    const original = api.store.dags.list.bind(api.store.dags);
    api.store.dags.list = async () => {
      throw new Error('disk on fire at /secret/path');
    };
    try {
      const { status, body, text } = await api.call('GET', '/dags');
      expect(status).toBe(500);
      expect(body).toEqual({ code: 'internal_error', message: 'An unexpected error occurred' });
      expect(text).not.toContain('secret');
      expect(api.logs.some((entry) => String(entry.error).includes('disk on fire'))).toBe(true);
    } finally {
      api.store.dags.list = original;
    }
  });
});

describe('base path', () => {
  it('serves under <basePath>/api/v2 only', async () => {
    const prefixed = await startApi({ basePath: '/dagu', fixtures: ['example.yaml'] });
    try {
      expect((await prefixed.call('GET', `${prefixed.base}/dagu/api/v2/health`)).status).toBe(200);
      const list = await prefixed.call('GET', `${prefixed.base}/dagu/api/v2/dags`);
      expect(list.body.dags.map((d: { fileName: string }) => d.fileName)).toEqual(['example']);
      const bare = await prefixed.call('GET', `${prefixed.base}/api/v2/health`);
      expect(bare.status).toBe(404);
      expect(prefixed.problems).toEqual([]);
    } finally {
      await prefixed.close();
    }
  });
});
