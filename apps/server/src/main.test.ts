// End-to-end: the BUILT server (`node apps/server/dist/main.js`, from `pnpm build`) as a child
// process on a free loopback port and a temp home, driven over HTTP like a user would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createQueuedSnapshot, DagRunStatus, parseDag } from '@dagu-ts/core';
import { ABANDONED_RUN_ERROR, openStore } from '@dagu-ts/store';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface RunningServer {
  child: ChildProcess;
  url: string;
  api: string;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let home: string;
const children: ChildProcess[] = [];
/** Process groups of steps a killed server left behind (this test started them). */
const orphanGroups: number[] = [];

beforeAll(() => {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} is missing: run \`npx --yes pnpm@10 build\` before this test`);
});

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-server-e2e-'));
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const group of orphanGroups.splice(0)) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(home, { recursive: true, force: true });
});

/** The parent's environment without DAGU_* settings, plus the given ones. */
function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('DAGU_')),
  );
  return { ...env, DAGU_HOME: home, ...extra };
}

function startServer(
  options: { env?: Record<string, string>; args?: string[] } = {},
): Promise<RunningServer> {
  const child = spawn(process.execPath, [MAIN, '--port', '0', ...(options.args ?? [])], {
    env: serverEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line; stderr: ${stderr}`)),
      20_000,
    );
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          entry = { msg: 'not JSON', line };
        }
        lines.push(entry);
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          const url = entry.url as string;
          resolve({ child, url, api: entry.api as string, lines, exited });
        }
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; stderr: ${stderr}`));
    }, reject);
  });
}

async function call(
  server: RunningServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.api}${path}`, {
    method,
    headers: {
      Accept: 'application/json',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** An HS256 JWT, signed here independently of the CLI's `token create`. */
function signJwt(claims: object, secret: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

async function createDag(server: RunningServer, name: string, spec: string): Promise<void> {
  expect((await call(server, 'POST', '/dags', { name })).status).toBe(201);
  const put = await call(server, 'PUT', `/dags/${name}/spec`, { spec });
  expect(put).toEqual({ status: 200, body: { errors: [] } });
}

async function startRun(server: RunningServer, name: string): Promise<string> {
  const started = await call(server, 'POST', `/dags/${name}/start`, {});
  expect(started.status).toBe(200);
  return started.body.dagRunId as string;
}

async function runStatus(server: RunningServer, name: string, dagRunId: string) {
  const response = await call(server, 'GET', `/dag-runs/${name}/${dagRunId}`);
  expect(response.status).toBe(200);
  return response.body.dagRunDetails as { status: number; statusLabel: string; error?: string };
}

async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopServer(server: RunningServer): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

describe('the built server', () => {
  it('serves health, creates a DAG from the API, runs it to the end and stops on SIGTERM', async () => {
    const server = await startServer();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.api).toBe(`${server.url}/api/v2`);

    const health = await call(server, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('healthy');

    await createDag(
      server,
      'e2e-hello',
      'params: NAME=world\nsteps:\n  - name: greet\n    command: echo "hello ${NAME}"\n',
    );
    const dagRunId = await startRun(server, 'e2e-hello');
    const finished = await waitFor(
      () => runStatus(server, 'e2e-hello', dagRunId),
      (run) => run.status !== DagRunStatus.Running && run.status !== DagRunStatus.Queued,
    );
    expect(finished).toMatchObject({ status: DagRunStatus.Success, statusLabel: 'finished' });

    // First start of a new home: the example DAGs are there too.
    const list = await call(server, 'GET', '/dags');
    const names = (list.body.dags as { fileName: string }[]).map((d) => d.fileName);
    expect(names).toEqual(expect.arrayContaining(['e2e-hello', 'example-hello']));

    await stopServer(server);
    expect(server.child.exitCode).toBe(0);
    expect(server.lines.at(-1)).toMatchObject({ level: 'info', msg: 'stopped' });
  });

  it('requires credentials when basic auth is on (health stays public) and never logs them', async () => {
    const server = await startServer({
      env: { DAGU_AUTH_BASIC_USERNAME: 'admin', DAGU_AUTH_BASIC_PASSWORD: 'very-secret-pw' },
    });
    const denied = await call(server, 'GET', '/dags');
    expect(denied.status).toBe(401);
    expect(denied.body.code).toBe('unauthorized');
    const authorization = `Basic ${Buffer.from('admin:very-secret-pw').toString('base64')}`;
    expect(
      (await call(server, 'GET', '/dags', undefined, { Authorization: authorization })).status,
    ).toBe(200);
    expect(
      (await call(server, 'GET', '/dags', undefined, { Authorization: 'Basic YWRtaW46d3Jvbmc=' }))
        .status,
    ).toBe(401);
    expect((await call(server, 'GET', '/health')).status).toBe(200);
    expect(server.lines.find((line) => line.msg === 'listening')).toMatchObject({
      auth: ['basic'],
    });
    await stopServer(server);
    expect(JSON.stringify(server.lines)).not.toContain('very-secret-pw');
  });

  it('refuses foreign Hosts and cross-origin requests by default; the settings open them', async () => {
    /** GET or OPTIONS with a Host header of our choosing (fetch would not send it). */
    const raw = (server: RunningServer, method: string, path: string, headers = {}) =>
      new Promise<{ status: number; allowOrigin: unknown }>((resolve, reject) => {
        const req = httpRequest(`${server.api}${path}`, { method, headers }, (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              allowOrigin: res.headers['access-control-allow-origin'],
            }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    const preflight = (origin: string) => ({
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
    });

    const closed = await startServer();
    expect((await raw(closed, 'GET', '/dags', { Host: 'evil.example' })).status).toBe(403);
    expect((await raw(closed, 'GET', '/dags', { Host: 'localhost' })).status).toBe(200);
    expect(await raw(closed, 'OPTIONS', '/dags', preflight('http://evil.example'))).toEqual({
      status: 403,
      allowOrigin: undefined,
    });
    const simple = await call(closed, 'POST', '/dags/example-hello/start', undefined, {
      'Content-Type': 'text/plain',
    });
    expect(simple.status).toBe(415);
    await stopServer(closed);

    const open = await startServer({
      env: {
        DAGU_ALLOWED_HOSTS: 'dagu.internal',
        DAGU_CORS_ALLOWED_ORIGINS: 'https://ui.example',
      },
    });
    expect((await raw(open, 'GET', '/dags', { Host: 'dagu.internal:8080' })).status).toBe(200);
    expect((await raw(open, 'GET', '/dags', { Host: 'evil.example' })).status).toBe(403);
    expect(await raw(open, 'OPTIONS', '/dags', preflight('https://ui.example'))).toEqual({
      status: 204,
      allowOrigin: 'https://ui.example',
    });
    await stopServer(open);
  });

  it('wires JWT and token auth, public metrics, permissions and the base path', async () => {
    const secret = 'jwt-secret-for-the-e2e-test';
    const server = await startServer({
      args: ['--base-path', '/dagu'],
      env: {
        DAGU_AUTH_JWT_SECRET: secret,
        DAGU_AUTH_TOKEN: 'static-token-value',
        DAGU_METRICS: 'public',
        DAGU_PERMISSIONS_WRITE_DAGS: 'false',
      },
    });
    expect(server.api).toBe(`${server.url}/dagu/api/v2`);
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    const viewer = signJwt(
      { sub: 't', role: 'viewer', exp: Math.floor(Date.now() / 1000) + 60 },
      secret,
    );
    expect((await call(server, 'GET', '/dags')).status).toBe(401);
    expect((await call(server, 'GET', '/dags', undefined, bearer(viewer))).status).toBe(200);
    expect(
      (await call(server, 'POST', '/dags/example-hello/start', {}, bearer(viewer))).status,
    ).toBe(403);
    const admin = bearer('static-token-value');
    expect((await call(server, 'GET', '/dags', undefined, admin)).status).toBe(200);
    // permissions.writeDAGs=false holds even for full rights.
    expect((await call(server, 'POST', '/dags', { name: 'nope' }, admin)).status).toBe(403);
    const metrics = await fetch(`${server.api}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('dagu_uptime_seconds');
    await stopServer(server);
    expect(JSON.stringify(server.lines)).not.toMatch(/static-token-value|jwt-secret-for/);
  });

  it('cancels an active run on SIGTERM, records it and exits 0 within a few seconds', async () => {
    const server = await startServer();
    await createDag(server, 'e2e-long', 'steps:\n  - name: wait\n    command: sleep 60\n');
    const dagRunId = await startRun(server, 'e2e-long');
    await waitFor(
      () => runStatus(server, 'e2e-long', dagRunId),
      (run) => run.status === DagRunStatus.Running,
    );
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);

    const store = openStore({ home });
    try {
      const stored = await store.runs.getRun('e2e-long', dagRunId);
      expect(stored?.snapshot.status).toBe(DagRunStatus.Canceled);
    } finally {
      store.close();
    }
  });

  it('lets a run finish within the shutdown grace period on SIGTERM', async () => {
    const server = await startServer({ env: { DAGU_SHUTDOWN_GRACE_SEC: '20' } });
    await createDag(server, 'e2e-short', 'steps:\n  - name: wait\n    command: sleep 1\n');
    const dagRunId = await startRun(server, 'e2e-short');
    await waitFor(
      () => runStatus(server, 'e2e-short', dagRunId),
      (run) => run.status === DagRunStatus.Running,
    );
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const store = openStore({ home });
    try {
      expect((await store.runs.getRun('e2e-short', dagRunId))?.snapshot.status).toBe(
        DagRunStatus.Success,
      );
    } finally {
      store.close();
    }
  });

  it('exits at once on a second signal while a run will not stop', async () => {
    const server = await startServer();
    const pidFile = join(home, 'stubborn.pid');
    // The step ignores SIGTERM (and so does its sleep), so a graceful stop waits for
    // maxCleanUpTimeSec before SIGKILL.
    await createDag(
      server,
      'e2e-stubborn',
      `maxCleanUpTimeSec: 60\nsteps:\n  - name: wait\n    command: sh -c 'trap "" TERM; echo $$ > ${pidFile}; sleep 60'\n`,
    );
    await startRun(server, 'e2e-stubborn');
    await waitFor(
      async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
      (ready) => ready,
    );
    orphanGroups.push(Number(readFileSync(pidFile, 'utf8').trim()));
    server.child.kill('SIGTERM');
    await waitFor(
      async () => server.lines.some((line) => line.msg === 'shutting down'),
      (seen) => seen,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.child.exitCode).toBeNull();
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    expect(code).toBe(143);
  });

  it('closes a run of a killed server as failed when it restarts on the same home', async () => {
    const first = await startServer();
    const pidFile = join(home, 'step.pid');
    await createDag(
      first,
      'e2e-crash',
      `steps:\n  - name: wait\n    command: sh -c 'echo $$ > ${pidFile}; sleep 60'\n`,
    );
    const dagRunId = await startRun(first, 'e2e-crash');
    await waitFor(
      async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
      (ready) => ready,
    );
    orphanGroups.push(Number(readFileSync(pidFile, 'utf8').trim()));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServer();
    expect(
      second.lines.find((line) => line.msg?.toString().startsWith('closed runs')),
    ).toMatchObject({ level: 'warn', runs: [{ name: 'e2e-crash', dagRunId }] });
    const run = await runStatus(second, 'e2e-crash', dagRunId);
    expect(run.status).toBe(DagRunStatus.Failed);
    await stopServer(second);
    expect(second.child.exitCode).toBe(0);

    const store = openStore({ home });
    try {
      const stored = await store.runs.getRun('e2e-crash', dagRunId);
      expect(stored?.snapshot).toMatchObject({
        status: DagRunStatus.Failed,
        error: ABANDONED_RUN_ERROR,
      });
    } finally {
      store.close();
    }
  });

  it('starts runs that were left queued when it comes up', async () => {
    const yaml = 'steps:\n  - name: one\n    command: echo queued\n';
    const store = openStore({ home });
    let dagRunId: string;
    try {
      writeFileSync(join(store.paths.dagsDir, 'e2e-queued.yaml'), yaml);
      const dag = parseDag(yaml, { location: join(store.paths.dagsDir, 'e2e-queued.yaml') });
      const snapshot = await createQueuedSnapshot(dag, {});
      dagRunId = snapshot.dagRunId;
      await store.runs.createQueuedRun({ dag, snapshot, trigger: 'cli' });
      await store.queue.enqueue({
        queue: dag.name,
        name: dag.name,
        dagRunId,
        priority: 0,
        enqueuedAt: snapshot.queuedAt,
      });
    } finally {
      store.close();
    }
    const server = await startServer();
    const run = await waitFor(
      () => runStatus(server, 'e2e-queued', dagRunId),
      (r) => r.status === DagRunStatus.Success,
    );
    expect(run.statusLabel).toBe('finished');
    await stopServer(server);
  });

  it('serves HTTPS with DAGU_CERT_FILE and DAGU_KEY_FILE', async (context) => {
    const cert = join(home, 'cert.pem');
    const key = join(home, 'key.pem');
    const openssl = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
      ].concat(['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']),
      { stdio: 'ignore' },
    );
    if (openssl.status !== 0) context.skip();
    const server = await startServer({ env: { DAGU_CERT_FILE: cert, DAGU_KEY_FILE: key } });
    expect(server.url).toMatch(/^https:\/\//);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      httpsGet(`${server.api}/health`, { ca: readFileSync(cert) }, (response) => {
        response.resume();
        resolve(response.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(200);
    await stopServer(server);
  });

  it.each([
    [{ DAGU_PORT: 'eighty' }, [], 'invalid DAGU_PORT: "eighty" is not a port number'],
    [{}, ['--port', '99999'], 'invalid --port: "99999" is not a port number'],
    [
      { DAGU_CERT_FILE: '/nonexistent/cert.pem', DAGU_KEY_FILE: '/nonexistent/key.pem' },
      [],
      'certificate file not found: /nonexistent/cert.pem',
    ],
    [{}, ['--bogus'], "Unknown option '--bogus' (see --help)"],
  ])('exits 1 with one clear line for bad configuration %o %o', (env, args, message) => {
    const result = spawnSync(process.execPath, [MAIN, ...args], {
      env: serverEnv(env),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toMatch(/^dagu-ts server: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 when the port is taken', async () => {
    const first = await startServer();
    const port = new URL(first.url).port;
    const result = spawnSync(process.execPath, [MAIN, '--port', port], {
      env: serverEnv(),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `dagu-ts server: cannot listen on 127.0.0.1:${port}: the address is already in use\n`,
    );
    await stopServer(first);
  });
});
