// Distributed execution with real processes on loopback: a built dagu-ts server and worker
// processes with different labels. Routing by workerSelector, runs spread over workers, a
// selector nobody matches waits queued until a matching worker starts, stop from the API reaches
// the worker, a remote step's log is readable while it runs, kill -9 of a worker fails its run
// after the (short) lease while the other worker goes on, a server restart mid-run loses
// nothing, the worker credential opens the worker endpoints only, GET /workers matches the
// document.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signJwt, validateResponse } from '@dagu-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, cliEnv } from './helpers.js';

const serverBin = fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url));
const workerBin = fileURLToPath(new URL('../../apps/worker/dist/main.js', import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'dagu-workers-'));
const home = join(work, 'home');
const dags = join(home, 'dags');
const SECRET = 'worker-test-secret';
const admin = signJwt({ role: 'admin' }, SECRET);
const workerToken = signJwt({ role: 'worker' }, SECRET);
const viewer = signJwt({ role: 'viewer' }, SECRET);
const children: ChildProcess[] = [];

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnNode(bin: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => output, exited };
}

async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let api = '';
let server: Proc;
const serverEnv = {
  ...cliEnv(home),
  DAGU_AUTH_JWT_SECRET: SECRET,
  DAGU_WORKER_LEASE_SEC: '2',
  DAGU_SHUTDOWN_GRACE_SEC: '0',
};

async function startServer(port = '0'): Promise<void> {
  server = spawnNode(serverBin, ['--port', port, '--host', '127.0.0.1'], serverEnv);
  const match = await waitFor(
    async () => /"api":"([^"]+)"/.exec(server.output()) ?? undefined,
    `the server to listen:\n${server.output()}`,
  );
  api = match[1]!;
}

/** A worker process: the dagu-ts-worker program, or `dagu-ts worker` (the same code). */
function startWorker(id: string, labels: string, viaCli = false): Proc {
  return spawnNode(
    viaCli ? cliBin : workerBin,
    [...(viaCli ? ['worker'] : []), `--worker.id=${id}`, '--worker.max-active-runs', '2'],
    {
      ...cliEnv(home),
      DAGU_SERVER_URL: api.replace(/\/api\/v2$/, ''),
      DAGU_AUTH_TOKEN: workerToken,
      DAGU_WORKER_LABELS: labels,
      WORKER_NAME: id,
      DAGU_HOME: join(work, `worker-${id}`),
    },
  );
}

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of JSON bodies
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? admin}`,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function startRun(dag: string, dagRunId: string): Promise<void> {
  const result = await call('POST', `/dags/${dag}/start`, { body: { dagRunId } });
  expect(result.status, JSON.stringify(result.body)).toBe(200);
}

async function details(dag: string, id: string) {
  const result = await call('GET', `/dag-runs/${dag}/${id}`);
  return result.body?.dagRunDetails as
    { statusLabel: string; nodes: Array<{ stdout: string; error?: string }> } | undefined;
}

const statusIs = (dag: string, id: string, label: string, ms?: number) =>
  waitFor(
    async () => {
      const run = await details(dag, id);
      return run?.statusLabel === label ? run : undefined;
    },
    `${dag} ${id} to be ${label}`,
    ms,
  );

async function stepLog(dag: string, id: string, step: string): Promise<string> {
  const result = await call('GET', `/dag-runs/${dag}/${id}/steps/${step}/log`);
  return (result.body?.content as string | undefined) ?? '';
}

const gate = (name: string) => join(work, `release-${name}`);
const waitGate = (name: string) => `sh -c 'while [ ! -f ${gate(name)} ]; do sleep 0.1; done'`;

function writeDag(name: string, yaml: string): void {
  writeFileSync(join(dags, `${name}.yaml`), yaml);
}

beforeAll(async () => {
  mkdirSync(dags, { recursive: true });
  writeDag(
    'gpu',
    `workerSelector: {gpu: "true"}\nmaxActiveRuns: 5\nsteps:\n  - name: who\n    command: sh -c 'echo ran-on-$WORKER_NAME'\n`,
  );
  writeDag(
    'spread',
    `workerSelector: {pool: x}\nmaxActiveRuns: 10\nparams: G=none\nsteps:\n  - name: who\n    command: sh -c 'echo ran-on-$WORKER_NAME; while [ ! -f ${gate('spread')} ]; do sleep 0.1; done'\n`,
  );
  writeDag(
    'tpu',
    `workerSelector: {tpu: "true"}\nsteps:\n  - name: who\n    command: sh -c 'echo ran-on-$WORKER_NAME'\n`,
  );
  writeDag(
    'chatty',
    `workerSelector: {gpu: "true"}\nsteps:\n  - name: talk\n    command: sh -c 'echo first-line; while [ ! -f ${gate('chatty')} ]; do sleep 0.1; done; echo last-line'\n`,
  );
  writeDag(
    'forever',
    `workerSelector: {gpu: "true"}\nsteps:\n  - name: wait\n    command: sleep 300\n`,
  );
  writeDag(
    'cpu-hold',
    `workerSelector: {cpu: "true"}\nsteps:\n  - name: hold\n    command: sleep 300\n`,
  );
  writeDag(
    'gpu-hold',
    `workerSelector: {gpu: "true"}\nsteps:\n  - name: hold\n    command: ${waitGate('gpu-hold')}\n  - name: after\n    command: echo after\n`,
  );
  writeDag(
    'restart',
    `workerSelector: {gpu: "true"}\nsteps:\n  - name: one\n    command: ${waitGate('restart')}\n  - name: two\n    command: echo two-done\n`,
  );
  writeDag('local', `steps:\n  - name: here\n    command: echo on-server\n`);
  await startServer();
}, 30_000);

afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('distributed execution', () => {
  let workerA: Proc;
  let workerB: Proc;

  it('routes by workerSelector, spreads runs, and keeps an unmatched selector queued', async () => {
    workerA = startWorker('w-a', 'gpu=true,pool=x');
    workerB = startWorker('w-b', 'cpu=true,pool=x');
    await waitFor(async () => {
      const { body } = await call('GET', '/workers');
      return (body?.workers as unknown[] | undefined)?.length === 2;
    }, 'both workers to register');

    for (const id of ['g1', 'g2', 'g3']) await startRun('gpu', id);
    for (const id of ['g1', 'g2', 'g3']) {
      await statusIs('gpu', id, 'finished');
      expect(await stepLog('gpu', id, 'who')).toContain('ran-on-w-a');
    }

    // A DAG without a selector still runs on the server.
    await startRun('local', 'l1');
    await statusIs('local', 'l1', 'finished');
    // workerId as Dagu v1.30 reports it, on details and in listings.
    expect((await call('GET', '/dag-runs/gpu/g1')).body.dagRunDetails.workerId).toBe('w-a');
    expect((await call('GET', '/dag-runs/local/l1')).body.dagRunDetails.workerId).toBe('local');
    const listed = await call('GET', '/dag-runs/gpu');
    expect(validateResponse('GET', '/api/v2/dag-runs/gpu', listed.status, listed.body)).toEqual([]);
    expect((listed.body.dagRuns as Array<{ workerId: string }>).map((run) => run.workerId)).toEqual(
      ['w-a', 'w-a', 'w-a'],
    );

    // Four runs for two workers of two slots each: both take some.
    for (const id of ['s1', 's2', 's3', 's4']) await startRun('spread', id);
    for (const id of ['s1', 's2', 's3', 's4']) await statusIs('spread', id, 'running');
    const owners = await Promise.all(
      ['s1', 's2', 's3', 's4'].map((id) =>
        waitFor(
          async () => /ran-on-(w-\w)/.exec(await stepLog('spread', id, 'who'))?.[1],
          `${id}'s log`,
        ),
      ),
    );
    expect(new Set(owners)).toEqual(new Set(['w-a', 'w-b']));

    const workers = await call('GET', '/workers');
    expect(validateResponse('GET', '/api/v2/workers', workers.status, workers.body)).toEqual([]);
    const a = (
      workers.body.workers as Array<{ id: string; labels: object; runningTasks: unknown[] }>
    ).find((w) => w.id === 'w-a')!;
    expect(a.labels).toEqual({ gpu: 'true', pool: 'x' });
    expect(a.runningTasks.length).toBeGreaterThan(0);
    const metrics = await (
      await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${admin}` } })
    ).text();
    expect(metrics).toMatch(/^dagu_workers_healthy 2$/m);
    expect(metrics).toMatch(/^dagu_worker_runs_active 4$/m);
    expect(metrics).toMatch(/^dagu_worker_capacity 4$/m);
    writeFileSync(gate('spread'), '');
    for (const id of ['s1', 's2', 's3', 's4']) await statusIs('spread', id, 'finished');

    // Nobody has tpu=true: the run waits queued, then a matching worker takes it.
    await startRun('tpu', 't1');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await details('tpu', 't1'))?.statusLabel).toBe('queued');
    startWorker('w-c', 'tpu=true', true);
    await statusIs('tpu', 't1', 'finished');
    expect(await stepLog('tpu', 't1', 'who')).toContain('ran-on-w-c');
  }, 90_000);

  it('shows a remote step log while it runs, and stops a remote run from the API', async () => {
    await startRun('chatty', 'c1');
    await waitFor(
      async () => (await stepLog('chatty', 'c1', 'talk')).includes('first-line'),
      'the live log',
    );
    expect((await details('chatty', 'c1'))?.statusLabel).toBe('running');
    writeFileSync(gate('chatty'), '');
    await statusIs('chatty', 'c1', 'finished');
    expect(await stepLog('chatty', 'c1', 'talk')).toMatch(/^first-line\nlast-line\n?$/);

    await startRun('forever', 'f1');
    await statusIs('forever', 'f1', 'running');
    const stop = await call('POST', '/dag-runs/forever/f1/stop');
    expect(stop.status).toBe(200);
    await statusIs('forever', 'f1', 'canceled', 5_000);
  }, 60_000);

  it('runs the sub-DAG files a remote run calls by name on the same worker', async () => {
    const marks = join(work, 'sub-dag-marks');
    mkdirSync(marks, { recursive: true });
    writeDag(
      'caller',
      `workerSelector: {gpu: "true"}\nsteps:\n  - name: call\n    run: callee\n    params: "WHO=caller"\n`,
    );
    writeDag(
      'callee',
      `params: WHO=nobody\nsteps:\n  - name: mark\n    command: sh -c 'echo $WORKER_NAME > ${marks}/callee'\n  - name: deeper\n    run: sub/leaf\n`,
    );
    mkdirSync(join(dags, 'sub'), { recursive: true });
    writeFileSync(
      join(dags, 'sub', 'leaf.yaml'),
      `steps:\n  - name: mark\n    command: sh -c 'echo $WORKER_NAME > ${marks}/leaf'\n`,
    );
    await startRun('caller', 'sd1');
    await statusIs('caller', 'sd1', 'finished');
    // WORKER_NAME is set for the worker processes only: the server never ran them.
    expect(readFileSync(join(marks, 'callee'), 'utf8').trim()).toBe('w-a');
    expect(readFileSync(join(marks, 'leaf'), 'utf8').trim()).toBe('w-a');
    const subRuns = await call('GET', '/dag-runs/caller/sd1');
    expect(subRuns.body.dagRunDetails.workerId).toBe('w-a');
  }, 30_000);

  it('a worker credential opens the worker endpoints only; other roles cannot use them', async () => {
    expect((await call('GET', '/dags', { token: workerToken })).status).toBe(403);
    expect((await call('GET', '/dag-runs', { token: workerToken })).status).toBe(403);
    const claim = { labels: {}, maxActiveRuns: 1, busy: 0 };
    expect((await call('POST', '/workers/x/claim', { token: viewer, body: claim })).status).toBe(
      403,
    );
    const bad = await call('POST', '/workers/x/claim', { token: workerToken, body: { labels: 3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('bad_request');
    const lost = await call('POST', '/workers/x/runs/gpu/g1/events', {
      token: workerToken,
      body: { seq: 1, event: { type: 'run-finished', run: {} } },
    });
    expect(lost.status).toBe(409);
  });

  it('records a retried report once and never lets a late one regress a run', async () => {
    writeDag(
      'manual',
      'workerSelector: {manual: "yes"}\nsteps:\n  - name: a\n    command: "true"\n',
    );
    await startRun('manual', 'm1');
    const load = { labels: { manual: 'yes' }, maxActiveRuns: 1, busy: 0 };
    const claim = await call('POST', '/workers/hand/claim', { token: workerToken, body: load });
    expect(
      validateResponse('POST', '/api/v2/workers/hand/claim', claim.status, claim.body),
    ).toEqual([]);
    expect(claim.body.run).toMatchObject({
      name: 'manual',
      dagRunId: 'm1',
      dag: { name: 'manual' },
    });
    const run = {
      name: 'manual',
      dagRunId: 'm1',
      attemptId: 'att-1',
      root: { name: 'manual', dagRunId: 'm1' },
      status: 1,
      pid: 0,
      queuedAt: claim.body.run.queuedAt,
      startedAt: new Date().toISOString(),
      finishedAt: '',
      log: '',
      params: '',
      paramsList: [],
      nodes: [],
      handlers: {},
      preconditions: [],
      error: '',
    };
    const report = (seq: number, event: object) =>
      call('POST', '/workers/hand/runs/manual/m1/events', {
        token: workerToken,
        body: { seq, event },
      });
    const started = { type: 'run-started', run, dag: claim.body.run.dag };
    expect((await report(1, started)).body).toEqual({ recorded: true });
    expect((await report(1, started)).body).toEqual({ recorded: false });
    const finished = {
      type: 'run-finished',
      run: { ...run, status: 4, finishedAt: run.startedAt },
    };
    expect((await report(2, finished)).body).toEqual({ recorded: true });
    // A late retry of the start, after the end: refused, the run stays finished with one attempt.
    expect((await report(1, started)).status).toBe(409);
    expect((await details('manual', 'm1'))?.statusLabel).toBe('finished');
    expect((await details('manual', 'm1')) as unknown).toMatchObject({ workerId: 'hand' });
  });

  it('kill -9 of a worker fails its run after the lease; the other worker goes on', async () => {
    await startRun('cpu-hold', 'k1');
    await startRun('gpu-hold', 'k2');
    await statusIs('cpu-hold', 'k1', 'running');
    await statusIs('gpu-hold', 'k2', 'running');
    workerB.child.kill('SIGKILL');
    const failed = await statusIs('cpu-hold', 'k1', 'failed', 15_000);
    // The wire format has no run error (Dagu v1.17): the step that was running carries it.
    expect(failed.nodes[0]?.error).toContain('worker w-b stopped sending heartbeats');
    expect((await details('gpu-hold', 'k2'))?.statusLabel).toBe('running');
    writeFileSync(gate('gpu-hold'), '');
    await statusIs('gpu-hold', 'k2', 'finished');
  }, 60_000);

  it('SIGTERM drains a worker: it claims nothing more and its run finishes before it exits', async () => {
    const worker = startWorker('w-d', 'drain=true');
    writeDag(
      'drained',
      `workerSelector: {drain: "true"}\nsteps:\n  - name: hold\n    command: ${waitGate('drained')}\n`,
    );
    await startRun('drained', 'd1');
    await statusIs('drained', 'd1', 'running');
    worker.child.kill('SIGTERM');
    await startRun('drained', 'd2');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(worker.child.exitCode).toBeNull();
    expect((await details('drained', 'd2'))?.statusLabel).toBe('queued');
    writeFileSync(gate('drained'), '');
    await statusIs('drained', 'd1', 'finished');
    expect(await worker.exited).toBe(0);
    expect((await details('drained', 'd2'))?.statusLabel).toBe('queued');
  }, 60_000);

  it('a server restart mid-run loses nothing', async () => {
    await startRun('restart', 'r1');
    await statusIs('restart', 'r1', 'running');
    const port = new URL(api).port;
    server.child.kill('SIGKILL');
    await server.exited;
    writeFileSync(gate('restart'), '');
    // The worker finishes the step while the server is down and keeps retrying its reports.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await startServer(port);
    const done = await statusIs('restart', 'r1', 'finished', 20_000);
    expect(done.nodes).toHaveLength(2);
    expect(await stepLog('restart', 'r1', 'two')).toContain('two-done');
    expect(existsSync(gate('restart'))).toBe(true);
    void workerA;
  }, 60_000);
});
