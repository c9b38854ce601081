import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHttpConfig, runHttp } from './http.js';

/** Echoes the request as JSON; other paths exercise statuses, slowness and redirects. */
async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.sendDate = false;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://localhost');
  switch (url.pathname) {
    case '/echo':
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          token: req.headers['x-token'] ?? null,
          accept: req.headers.accept ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      return;
    case '/text':
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('x-multi', ['one', 'two']);
      res.end('hello');
      return;
    case '/missing':
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain');
      res.end('not found');
      return;
    case '/json':
      res.setHeader('Content-Type', 'application/json');
      res.end('{"z": 1, "a": {"y": [true, null], "b": "<&>"}, "10": 2, "2": 3}');
      return;
    case '/slow':
      setTimeout(() => res.end('late'), 3_000).unref();
      return;
    case '/redirect':
      res.statusCode = 302;
      res.setHeader('Location', '/echo?from=redirect');
      res.end();
      return;
    default:
      res.statusCode = 500;
      res.end();
  }
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(String((server.address() as AddressInfo).port));
    });
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer(
    (req, res) => void handler(req, res).catch((error: Error) => res.destroy(error)),
  );
  base = `http://127.0.0.1:${await listen(server)}`;
});

afterAll(async () => {
  await close(server);
});

describe('runHttp text mode', () => {
  it('GET with query params and headers prints status line, headers and body', async () => {
    const outcome = await runHttp({
      command: `get ${base}/echo?keep=1&mode=old`,
      config: { query: { mode: 'new', n: 2 }, headers: { 'X-Token': 'secret' } },
    });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.error).toBeUndefined();
    expect(outcome.stderr).toBe('');
    const body =
      '{"method":"GET","path":"/echo","query":{"keep":"1","mode":"new","n":"2"},' +
      '"token":"secret","accept":"*/*","body":""}';
    expect(outcome.stdout).toBe(
      '200 OK\n' +
        'Connection: keep-alive\r\n' +
        `Content-Length: ${body.length}\r\n` +
        'Content-Type: application/json\r\n' +
        'Keep-Alive: timeout=5\r\n' +
        body,
    );
  });

  it('prints repeated response headers one line each, keys canonicalised and sorted', async () => {
    const outcome = await runHttp({ command: `GET ${base}/text`, config: {} });
    expect(outcome.stdout).toBe(
      '200 OK\n' +
        'Connection: keep-alive\r\n' +
        'Content-Length: 5\r\n' +
        'Content-Type: text/plain\r\n' +
        'Keep-Alive: timeout=5\r\n' +
        'X-Multi: one, two\r\n' +
        'hello',
    );
  });

  it('POST sends the body', async () => {
    const outcome = await runHttp({
      command: `POST ${base}/echo`,
      config: { body: '{"id": 7}', headers: { 'content-type': 'application/json' }, silent: true },
    });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ method: 'POST', body: '{"id": 7}' });
  });

  it('silent with a 2xx status prints only the body (config keys are case-insensitive)', async () => {
    const outcome = await runHttp({ command: `GET ${base}/text`, config: { Silent: 'true' } });
    expect(outcome).toEqual({ stdout: 'hello', stderr: '', exitCode: 0, error: undefined });
  });

  it('a non-2xx status fails with exit code 1 and still prints the response, even silent', async () => {
    const outcome = await runHttp({ command: `GET ${base}/missing`, config: { silent: true } });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.error).toBe('http status code not 2xx: 404');
    expect(outcome.stderr).toBe('http status code not 2xx: 404\n');
    expect(outcome.stdout).toBe(
      '404 Not Found\n' +
        'Connection: keep-alive\r\n' +
        'Content-Length: 9\r\n' +
        'Content-Type: text/plain\r\n' +
        'Keep-Alive: timeout=5\r\n' +
        'not found',
    );
  });

  it('follows redirects', async () => {
    const outcome = await runHttp({ command: `GET ${base}/redirect`, config: { silent: true } });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({
      path: '/echo',
      query: { from: 'redirect' },
    });
  });

  it('sends a body with GET (through node:http, as fetch refuses it)', async () => {
    const outcome = await runHttp({
      command: `GET ${base}/echo`,
      config: { body: 'q=1', silent: true },
    });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ method: 'GET', body: 'q=1' });
  });

  it('takes the whole config as JSON from the script when given', async () => {
    const outcome = await runHttp({
      command: `GET ${base}/echo`,
      config: { silent: false },
      script: '{"silent": true, "query": {"a": "b"}}',
    });
    expect(JSON.parse(outcome.stdout)).toMatchObject({ query: { a: 'b' } });
  });

  it('writes a request/response summary to stderr with debug', async () => {
    const outcome = await runHttp({
      command: `GET ${base}/text`,
      config: { debug: true, silent: true, headers: { 'X-Token': 't' } },
    });
    expect(outcome.stdout).toBe('hello');
    expect(outcome.stderr).toMatch(
      new RegExp(`^> GET ${base}/text\\n> X-Token: t\\n< 200 OK \\(\\d+ ms, 5 bytes\\)\\n`),
    );
  });
});

describe('runHttp json mode', () => {
  it('prints status_code, headers and body like Go (1-space indent, sorted keys, HTML escapes)', async () => {
    const outcome = await runHttp({ command: `GET ${base}/json`, config: { json: true } });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stdout).toBe(
      [
        '{',
        ' "status_code": 200,',
        ' "headers": {',
        '  "Connection": [',
        '   "keep-alive"',
        '  ],',
        '  "Content-Length": [',
        '   "63"',
        '  ],',
        '  "Content-Type": [',
        '   "application/json"',
        '  ],',
        '  "Keep-Alive": [',
        '   "timeout=5"',
        '  ]',
        ' },',
        ' "body": {',
        '  "10": 2,',
        '  "2": 3,',
        '  "a": {',
        '   "b": "\\u003c\\u0026\\u003e",',
        '   "y": [',
        '    true,',
        '    null',
        '   ]',
        '  },',
        '  "z": 1',
        ' }',
        '}',
      ].join('\n'),
    );
  });

  it('zeroes status_code and headers when silent and 2xx', async () => {
    const outcome = await runHttp({
      command: `POST ${base}/echo`,
      config: { json: 'true', silent: 1, body: 'x' },
    });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual({
      status_code: 0,
      headers: null,
      body: { method: 'POST', path: '/echo', query: {}, token: null, accept: '*/*', body: 'x' },
    });
  });

  it('fails when the body is not JSON', async () => {
    const outcome = await runHttp({ command: `GET ${base}/text`, config: { json: true } });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.error).toMatch(/^http: response body is not JSON \(status 200\): /);
  });
});

describe('runHttp failures', () => {
  it('times out against a slow handler', async () => {
    const started = Date.now();
    const outcome = await runHttp({ command: `GET ${base}/slow`, config: { timeout: '0.2' } });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(outcome).toEqual({
      stdout: '',
      stderr: 'http: request timed out after 0.2s\n',
      exitCode: 1,
      error: 'http: request timed out after 0.2s',
    });
  });

  it('is aborted by the signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const outcome = await runHttp({
      command: `GET ${base}/slow`,
      config: {},
      signal: controller.signal,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(outcome.exitCode).toBe(1);
    expect(outcome.error).toBe('http: request aborted');
  });

  it('does not start when the signal is already aborted', async () => {
    const outcome = await runHttp({
      command: `GET ${base}/echo`,
      config: {},
      signal: AbortSignal.abort(),
    });
    expect(outcome.error).toBe('http: request aborted');
  });

  it('reports a refused connection', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await close(closed);
    const outcome = await runHttp({ command: `GET http://127.0.0.1:${port}/`, config: {} });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.error).toBe(`http: request failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('rejects a malformed command, URL or config', async () => {
    expect((await runHttp({ command: 'GET', config: {} })).error).toBe(
      'http: the command must be "<METHOD> <URL>", got "GET"',
    );
    expect((await runHttp({ command: 'GET not a url', config: {} })).error).toBe(
      'http: invalid URL "not"',
    );
    expect((await runHttp({ command: 'GET ftp://x/y', config: {} })).error).toBe(
      'http: unsupported URL scheme "ftp" in "ftp://x/y"',
    );
    const badHeaders = await runHttp({ command: `GET ${base}/echo`, config: { headers: 'x' } });
    expect(badHeaders).toEqual({
      stdout: '',
      stderr: 'http: config "headers" must be a map\n',
      exitCode: 1,
      error: 'http: config "headers" must be a map',
    });
    const badScript = await runHttp({ command: `GET ${base}/echo`, config: {}, script: '{' });
    expect(badScript.error).toMatch(/^http: invalid JSON config in script: /);
  });
});

describe('parseHttpConfig', () => {
  it('decodes weakly typed, case-insensitive values', () => {
    expect(
      parseHttpConfig({
        TIMEOUT: '30',
        Headers: { A: 1, B: true },
        query: null,
        body: { k: 'v' },
        silent: 'T',
        Debug: 0,
        JSON: 'false',
        skiptlsverify: '1',
        unknown: 'ignored',
      }),
    ).toEqual({
      timeout: 30,
      headers: [
        ['A', '1'],
        ['B', 'true'],
      ],
      query: [],
      body: '{"k":"v"}',
      silent: true,
      debug: false,
      json: false,
      skipTLSVerify: true,
    });
  });

  it('rejects values of the wrong type', () => {
    expect(() => parseHttpConfig({ timeout: 'soon' })).toThrow(
      'config "timeout" must be a number of seconds, got "soon"',
    );
    expect(() => parseHttpConfig({ silent: 'yes' })).toThrow(
      'config "silent" must be a boolean, got "yes"',
    );
    expect(() => parseHttpConfig({ query: { a: [1] } })).toThrow(
      'config "query.a" must be a string',
    );
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasOpenssl())('runHttp over TLS with a self-signed certificate', () => {
  let tls: Server;
  let tlsBase: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dagu-ts-http-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
      ].concat(['-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=127.0.0.1']),
      { cwd: dir, stdio: 'ignore' },
    );
  }, 30_000);

  beforeAll(async () => {
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    tls = createTlsServer(
      { key, cert },
      (req, res) => void handler(req, res).catch((error: Error) => res.destroy(error)),
    );
    tlsBase = `https://127.0.0.1:${await listen(tls)}`;
  });

  afterAll(async () => {
    await close(tls);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails certificate verification by default', async () => {
    const outcome = await runHttp({ command: `GET ${tlsBase}/text`, config: {} });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.error).toBe('http: request failed: self-signed certificate');
  });

  it('accepts the certificate with skipTLSVerify, following redirects', async () => {
    const outcome = await runHttp({
      command: `GET ${tlsBase}/redirect`,
      config: { skipTLSVerify: true, silent: true },
    });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({
      path: '/echo',
      query: { from: 'redirect' },
    });
  });

  it('prints the same text output through node:https', async () => {
    const outcome = await runHttp({
      command: `GET ${tlsBase}/text`,
      config: { skipTLSVerify: true },
    });
    expect(outcome.stdout).toBe(
      '200 OK\n' +
        'Connection: keep-alive\r\n' +
        'Content-Length: 5\r\n' +
        'Content-Type: text/plain\r\n' +
        'Keep-Alive: timeout=5\r\n' +
        'X-Multi: one\r\n' +
        'X-Multi: two\r\n' +
        'hello',
    );
  });
});
