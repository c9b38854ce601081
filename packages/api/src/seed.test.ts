// Every call of the REST API seed document (docs/spec/seed-rest-api.txt) exactly as written
// there — method, path, query, headers and body — with only host and port adapted.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';

const SEED = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/spec/seed-rest-api.txt');

interface SeedCall {
  method: string;
  /** Path and query after http://localhost:8080. */
  path: string;
  headers?: Record<string, string>;
  /** The -d argument, verbatim. */
  data?: string;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** The seed's calls, in the order of the document. */
const CALLS = {
  health: { method: 'GET', path: '/api/v2/health' },
  listDags: { method: 'GET', path: '/api/v2/dags' },
  listDagsFiltered: {
    method: 'GET',
    path: '/api/v2/dags?page=1&perPage=10&name=example&tag=prod',
  },
  dagDetails: { method: 'GET', path: '/api/v2/dags/my-dag.yaml' },
  createDag: {
    method: 'POST',
    path: '/api/v2/dags',
    headers: JSON_HEADERS,
    data: '{"name": "my-new-dag"}',
  },
  startDag: {
    method: 'POST',
    path: '/api/v2/dags/my-dag.yaml/start',
    headers: JSON_HEADERS,
    data: '{\n"params": "{\\"env\\": \\"production\\"}",\n"dagRunId": "custom-run-id"\n}',
  },
  enqueueDag: {
    method: 'POST',
    path: '/api/v2/dags/my-dag.yaml/enqueue',
    headers: JSON_HEADERS,
    data: '{\n"params": "{\\"env\\": \\"production\\"}"\n}',
  },
  suspend: {
    method: 'POST',
    path: '/api/v2/dags/my-dag.yaml/suspend',
    headers: JSON_HEADERS,
    data: '{"suspend": true}',
  },
  resume: {
    method: 'POST',
    path: '/api/v2/dags/my-dag.yaml/suspend',
    headers: JSON_HEADERS,
    data: '{"suspend": false}',
  },
  listRuns: { method: 'GET', path: '/api/v2/dag-runs' },
  listRunsFiltered: { method: 'GET', path: '/api/v2/dag-runs?name=my-dag&status=2' },
  stop: { method: 'POST', path: '/api/v2/dag-runs/my-dag/20240101_120000/stop' },
  retry: {
    method: 'POST',
    path: '/api/v2/dag-runs/my-dag/20240101_120000/retry',
    headers: JSON_HEADERS,
    data: '{"dagRunId": "new-run-id"}',
  },
  stepSuccess: {
    method: 'PATCH',
    path: '/api/v2/dag-runs/my-dag/20240101_120000/steps/step1/status',
    headers: JSON_HEADERS,
    data: '{"status": 4}',
  },
  stepFailed: {
    method: 'PATCH',
    path: '/api/v2/dag-runs/my-dag/20240101_120000/steps/step1/status',
    headers: JSON_HEADERS,
    data: '{"status": 2}',
  },
  search: { method: 'GET', path: '/api/v2/dags/search?q=database' },
  metrics: { method: 'GET', path: '/api/v2/metrics' },
  deploy: {
    method: 'POST',
    path: '/api/v2/dags/deploy-app.yaml/start',
    headers: JSON_HEADERS,
    data: '{\n"params": "{\\"version\\": \\"v1.2.3\\", \\"environment\\": \\"production\\"}",\n"dagRunId": "deploy-v1.2.3"\n}',
  },
  createAutomated: {
    method: 'POST',
    path: '/api/v2/dags',
    headers: JSON_HEADERS,
    data: '{"name": "automated-dag"}',
  },
  startAutomated: {
    method: 'POST',
    path: '/api/v2/dags/automated-dag.yaml/start',
    headers: JSON_HEADERS,
    data: '{"params": "{}"}',
  },
} satisfies Record<string, SeedCall>;

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

function send(call: SeedCall) {
  return api.call(call.method, `${api.base}${call.path}`, {
    ...(call.headers ? { headers: call.headers } : {}),
    ...(call.data !== undefined ? { body: call.data } : {}),
  });
}

describe('the seed document, call by call', () => {
  it('health', async () => {
    const { status, body } = await send(CALLS.health);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'healthy', version: '1.2.3-test' });
    expect(Number.isInteger(body.uptime)).toBe(true);
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  });

  it('list DAGs, plain and with filtering and pagination', async () => {
    const all = await send(CALLS.listDags);
    expect(all.status).toBe(200);
    expect(all.body.dags.length).toBeGreaterThan(3);
    const filtered = await send(CALLS.listDagsFiltered);
    expect(filtered.status).toBe(200);
    expect(filtered.body.dags.map((d: { fileName: string }) => d.fileName)).toEqual(['example']);
    expect(filtered.body.pagination).toEqual({
      totalRecords: 1,
      currentPage: 1,
      totalPages: 1,
      nextPage: 1,
      prevPage: 1,
    });
  });

  it('DAG details', async () => {
    const { status, body } = await send(CALLS.dagDetails);
    expect(status).toBe(200);
    expect(body.dag.name).toBe('my-dag');
  });

  it('create a new DAG', async () => {
    const { status, body } = await send(CALLS.createDag);
    expect(status).toBe(201);
    expect(body).toEqual({ name: 'my-new-dag' });
  });

  it('start with JSON params and a run id, then enqueue', async () => {
    const started = await send(CALLS.startDag);
    expect(started.status).toBe(200);
    expect(started.body).toEqual({ dagRunId: 'custom-run-id' });
    const run = await api.waitForRun('my-dag', 'custom-run-id');
    expect(run.status).toBe(4);
    expect(run.paramsList).toEqual(['SLEEP=0', 'env=production']);
    const enqueued = await send(CALLS.enqueueDag);
    expect(enqueued.status).toBe(200);
    const queuedRun = await api.waitForRun('my-dag', enqueued.body.dagRunId);
    expect(queuedRun.status).toBe(4);
    expect(queuedRun.paramsList).toEqual(['SLEEP=0', 'env=production']);
  });

  it('suspend and resume', async () => {
    expect((await send(CALLS.suspend)).status).toBe(200);
    expect(await api.store.flags.isSuspended('my-dag')).toBe(true);
    expect((await send(CALLS.resume)).status).toBe(200);
    expect(await api.store.flags.isSuspended('my-dag')).toBe(false);
  });

  it('list DAG runs, plain and by name and status', async () => {
    const failing = await api.call('POST', '/dags/failing/start', { json: {} });
    await api.waitForRun('failing', failing.body.dagRunId);
    const all = await send(CALLS.listRuns);
    expect(all.status).toBe(200);
    expect(all.body.dagRuns.map((r: { dagRunId: string }) => r.dagRunId)).toContain(
      'custom-run-id',
    );
    const filtered = await send(CALLS.listRunsFiltered);
    expect(filtered.status).toBe(200);
    expect(filtered.body.dagRuns).toEqual([]);
  });

  it('stop, retry and step status on run 20240101_120000', async () => {
    // The run the seed addresses: my-dag with a long first step.
    const started = await api.call('POST', '/dags/my-dag/start', {
      json: { dagRunId: '20240101_120000', params: 'SLEEP=30' },
    });
    expect(started.status).toBe(200);

    const stopped = await send(CALLS.stop);
    expect(stopped.status).toBe(200);
    expect((await api.waitForRun('my-dag', '20240101_120000')).status).toBe(3);

    const retried = await send(CALLS.retry);
    expect(retried.status).toBe(200);
    // The retry re-runs the canceled step (30 s); stop it again so the steps can be patched.
    await api.waitUntil(async () => {
      const run = await api.store.runs.getRun('my-dag', '20240101_120000');
      return run?.snapshot.status === 1;
    });
    expect(await api.store.runs.listAttempts('my-dag', '20240101_120000')).toHaveLength(2);
    expect((await send(CALLS.stop)).status).toBe(200);
    await api.waitForRun('my-dag', '20240101_120000');

    expect((await send(CALLS.stepSuccess)).status).toBe(200);
    let run = await api.store.runs.getRun('my-dag', '20240101_120000');
    expect(run?.snapshot.nodes[0]?.status).toBe(4);
    expect((await send(CALLS.stepFailed)).status).toBe(200);
    run = await api.store.runs.getRun('my-dag', '20240101_120000');
    expect(run?.snapshot.nodes[0]?.status).toBe(2);
  });

  it('search', async () => {
    const { status, body } = await send(CALLS.search);
    expect(status).toBe(200);
    expect(body.results.map((r: { name: string }) => r.name)).toContain('database-backup');
  });

  it('metrics, the CI/CD deploy call, and the failed-DAG grep', async () => {
    const metrics = await send(CALLS.metrics);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('dagu_dag_runs_queued_total');
    const deploy = await send(CALLS.deploy);
    expect(deploy.status).toBe(200);
    expect(deploy.body).toEqual({ dagRunId: 'deploy-v1.2.3' });
    const run = await api.waitForRun('deploy-app', 'deploy-v1.2.3');
    expect(run.status).toBe(4);
    expect(run.paramsList).toEqual(['version=v1.2.3', 'environment=production']);
    const grep = (await send(CALLS.metrics)).text
      .split('\n')
      .filter((line) => line.includes('dagu_dag_runs_total{status="error"}'));
    expect(grep).toEqual(['dagu_dag_runs_total{status="error"} 1']);
  });

  it('the automation script: create and start a new DAG', async () => {
    expect((await send(CALLS.createAutomated)).status).toBe(201);
    const started = await send(CALLS.startAutomated);
    expect(started.status).toBe(200);
    expect((await api.waitForRun('automated-dag', started.body.dagRunId)).status).toBe(4);
  });

  it('every seed response matched the OpenAPI document', () => {
    expect(api.problems).toEqual([]);
  });
});

describe.skipIf(!existsSync(SEED))('the seed document itself', () => {
  it('has no call that this file does not make', () => {
    const text = readFileSync(SEED, 'utf8');
    const found = new Set<string>();
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      const match = /curl\b.*?(?:-X (\w+) )?"?(http:\/\/localhost:8080[^\s"]*)"?/.exec(line);
      if (!match) return;
      const explicit = /-X (\w+)/.exec(line)?.[1];
      const hasData = lines.slice(index, index + 3).some((l) => l.startsWith('-d '));
      const method = explicit ?? (hasData ? 'POST' : 'GET');
      found.add(`${method} ${match[2]!.slice('http://localhost:8080'.length)}`);
    });
    const made = new Set(Object.values(CALLS).map((call) => `${call.method} ${call.path}`));
    expect(found.size).toBeGreaterThan(15);
    expect([...found].filter((call) => !made.has(call))).toEqual([]);
  });
});
