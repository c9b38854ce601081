// Starting runs and everything under /dag-runs (api-v2.md §5.2 start/enqueue, §5.3, §6):
// real runs of real child processes on a real store.
import { rmSync, writeFileSync } from 'node:fs';
import { createQueuedSnapshot, loadDag, type DagRunSnapshot } from '@dagu-ts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

async function start(fileName: string, json: unknown = {}): Promise<string> {
  const { status, body } = await api.call('POST', `/dags/${fileName}/start`, { json });
  expect(status, JSON.stringify(body)).toBe(200);
  return body.dagRunId as string;
}

async function stepLog(name: string, id: string, step: string, query = ''): Promise<string> {
  const { status, body } = await api.call(
    'GET',
    `/dag-runs/${name}/${id}/steps/${step}/log${query}`,
  );
  expect(status, JSON.stringify(body)).toBe(200);
  return body.content as string;
}

describe('POST /dags/{f}/start', () => {
  it('returns a UUID v7 run id once the run record exists', async () => {
    const id = await start('echo-params');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await api.store.runs.getRun('echo-params', id)).toBeDefined();
    const run = await api.waitForRun('echo-params', id);
    expect(run.status).toBe(4);
    expect(await stepLog('echo-params', id, 'show')).toBe('X=default');
  });

  it('takes params as a Dagu parameter string or as a JSON object string', async () => {
    const text = await start('echo-params', { params: 'X="from string"' });
    const json = await start('echo-params', { params: '{"X": "from json"}' });
    await api.waitForRun('echo-params', text);
    await api.waitForRun('echo-params', json);
    expect(await stepLog('echo-params', text, 'show')).toBe('X=from string');
    expect(await stepLog('echo-params', json, 'show')).toBe('X=from json');
    const details = await api.call('GET', `/dag-runs/echo-params/${json}`);
    expect(details.body.dagRunDetails.params).toBe('X=from json');
  });

  it('never executes backticks in request params', async () => {
    const quoted = await start('echo-params', { params: 'X="`echo injected`"' });
    const json = await start('echo-params', { params: JSON.stringify({ X: '`echo injected`' }) });
    await api.waitForRun('echo-params', quoted);
    await api.waitForRun('echo-params', json);
    // The value reaches the step's environment as written (printenv shows it unevaluated).
    expect(await stepLog('echo-params', quoted, 'raw')).toBe('`echo injected`');
    expect(await stepLog('echo-params', json, 'raw')).toBe('`echo injected`');
    const details = await api.call('GET', `/dag-runs/echo-params/${json}`);
    expect(details.body.dagRunDetails.params).toBe('X=`echo injected`');
  });

  it('uses a caller run id (dots allowed); duplicates are 409; bad ids are 400', async () => {
    expect(await start('echo-params', { dagRunId: 'release-v1.2.3' })).toBe('release-v1.2.3');
    await api.waitForRun('echo-params', 'release-v1.2.3');
    const duplicate = await api.call('POST', '/dags/echo-params/start', {
      json: { dagRunId: 'release-v1.2.3' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('already_exists');
    for (const dagRunId of ['bad id', 'a..b', '-leading', 'x'.repeat(65), 'a/b', 7]) {
      const { status, body } = await api.call('POST', '/dags/echo-params/start', {
        json: { dagRunId },
      });
      expect(status, String(dagRunId)).toBe(400);
      expect(body.code).toBe('bad_request');
    }
  });

  it('404 for a missing DAG, 400 for a DAG that does not validate, 400 for non-string params', async () => {
    expect((await api.call('POST', '/dags/ghost/start', { json: {} })).status).toBe(404);
    // A file that stopped validating after it was written.
    writeFileSync(
      api.store.dags.pathOf('will-break'),
      'steps:\n  - name: a\n    depends: b\n    command: x\n',
    );
    const invalid = await api.call('POST', '/dags/will-break/start', { json: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('bad_request');
    expect(invalid.body.details.errors.length).toBeGreaterThan(0);
    const badParams = await api.call('POST', '/dags/echo-params/start', { json: { params: 5 } });
    expect(badParams.status).toBe(400);
  });

  it('works without a body', async () => {
    const { status, body } = await api.call('POST', '/dags/echo-params/start');
    expect(status).toBe(200);
    await api.waitForRun('echo-params', body.dagRunId);
  });
});

describe('queueing, dequeue, stop, singleton', () => {
  it('queues at maxActiveRuns, dequeues (GET), stops, and counts it all in the metrics', async () => {
    const first = await start('limited', { params: 'SLEEP=20' });
    expect((await api.call('GET', `/dag-runs/limited/${first}`)).body.dagRunDetails.status).toBe(1);
    const second = await start('limited');
    const queued = await api.call('GET', `/dag-runs/limited/${second}`);
    expect(queued.body.dagRunDetails).toMatchObject({ status: 5, statusLabel: 'queued' });
    const listed = await api.call('GET', '/dag-runs/limited?status=5');
    expect(listed.body.dagRuns).toHaveLength(1);
    expect(listed.body.dagRuns[0].queuedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const singleton = await api.call('POST', '/dags/limited/start', { json: { singleton: true } });
    expect(singleton.status).toBe(409);
    expect(singleton.body.code).toBe('already_running');
    const singletonQueue = await api.call('POST', '/dags/limited/enqueue', {
      json: { singleton: true },
    });
    expect(singletonQueue.status).toBe(409);

    const metrics = await api.call('GET', '/metrics');
    expect(metrics.text).toMatch(/^dagu_dag_runs_queued_total 1$/m);
    expect(metrics.text).toMatch(/^dagu_dag_runs_currently_running 1$/m);

    const notQueued = await api.call('GET', `/dag-runs/limited/${first}/dequeue`);
    expect(notQueued.status).toBe(400);
    expect(notQueued.body.code).toBe('bad_request');
    const dequeued = await api.call('GET', `/dag-runs/limited/${second}/dequeue`);
    expect(dequeued.status).toBe(200);
    expect(dequeued.text).toBe('');
    expect((await api.store.runs.getRun('limited', second))?.snapshot.status).toBe(3);
    expect((await api.call('GET', `/dag-runs/limited/${second}/dequeue`)).status).toBe(400);
    expect((await api.call('GET', '/dag-runs/limited/nope/dequeue')).status).toBe(404);

    const stopped = await api.call('POST', `/dag-runs/limited/${first}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.text).toBe('');
    const run = await api.waitForRun('limited', first);
    expect(run.status).toBe(3);
    const again = await api.call('POST', `/dag-runs/limited/${first}/stop`);
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ code: 'not_running', message: 'DAG is not running' });
    expect((await api.call('POST', '/dag-runs/limited/nope/stop')).status).toBe(404);

    const after = await api.call('GET', '/metrics');
    expect(after.text).toMatch(/^dagu_dag_runs_total\{status="cancelled"\} [1-9]/m);
    expect(after.text).toMatch(/^dagu_dag_runs_queued_total 0$/m);
  });

  it('enqueue: the run is recorded queued and started by the launcher', async () => {
    const { status, body } = await api.call('POST', '/dags/echo-params/enqueue', {
      json: { params: '{"X":"queued"}', dagRunId: 'enqueued-1' },
    });
    expect(status).toBe(200);
    expect(body).toEqual({ dagRunId: 'enqueued-1' });
    const run = await api.waitForRun('echo-params', 'enqueued-1');
    expect(run.status).toBe(4);
    expect(run.queuedAt).not.toBe('');
    expect(await stepLog('echo-params', 'enqueued-1', 'show')).toBe('X=queued');
    const dup = await api.call('POST', '/dags/echo-params/enqueue', {
      json: { dagRunId: 'enqueued-1' },
    });
    expect(dup.status).toBe(409);
    expect((await api.call('POST', '/dags/ghost/enqueue', { json: {} })).status).toBe(404);
  });
});

describe('retry and step status', () => {
  it('retries a failed run (same id, new attempt), one step, and refuses unknown runs/steps', async () => {
    const id = await start('failing');
    expect((await api.waitForRun('failing', id)).status).toBe(2);
    const retried = await api.call('POST', `/dag-runs/failing/${id}/retry`, {
      json: { dagRunId: id },
    });
    expect(retried.status).toBe(200);
    expect(retried.text).toBe('');
    await api.waitForRun('failing', id);
    expect(await api.store.runs.listAttempts('failing', id)).toHaveLength(2);
    const oneStep = await api.call('POST', `/dag-runs/failing/${id}/retry`, {
      json: { dagRunId: id, stepName: 'broken' },
    });
    expect(oneStep.status).toBe(200);
    await api.waitForRun('failing', id);
    expect(await api.store.runs.listAttempts('failing', id)).toHaveLength(3);
    const unknownStep = await api.call('POST', `/dag-runs/failing/${id}/retry`, {
      json: { dagRunId: id, stepName: 'nope' },
    });
    expect(unknownStep.status).toBe(404);
    const unknownRun = await api.call('POST', '/dag-runs/failing/nope/retry', {
      json: { dagRunId: 'nope' },
    });
    expect(unknownRun.status).toBe(404);
    const latest = await api.call('POST', '/dag-runs/failing/latest/retry', { json: {} });
    expect(latest.status).toBe(200);
    await api.waitForRun('failing', id);
  });

  it('PATCH step status: sets one node; 400 while running or for a bad status; 404 for unknown steps', async () => {
    const id = await start('failing');
    await api.waitForRun('failing', id);
    const patched = await api.call('PATCH', `/dag-runs/failing/${id}/steps/broken/status`, {
      json: { status: 4 },
    });
    expect(patched.status).toBe(200);
    expect(patched.text).toBe('');
    const details = await api.call('GET', `/dag-runs/failing/${id}`);
    expect(details.body.dagRunDetails.nodes[0]).toMatchObject({
      status: 4,
      statusLabel: 'finished',
    });
    expect(details.body.dagRunDetails.status).toBe(2);
    for (const json of [{ status: 9 }, { status: '4' }, { status: 1.5 }, {}]) {
      const bad = await api.call('PATCH', `/dag-runs/failing/${id}/steps/broken/status`, { json });
      expect(bad.status, JSON.stringify(json)).toBe(400);
    }
    const unknown = await api.call('PATCH', `/dag-runs/failing/${id}/steps/ghost/status`, {
      json: { status: 4 },
    });
    expect(unknown.status).toBe(404);

    const running = await start('limited', { params: 'SLEEP=20' });
    const refused = await api.call('PATCH', `/dag-runs/limited/${running}/steps/wait/status`, {
      json: { status: 4 },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('bad_request');
    const retryRunning = await api.call('POST', `/dag-runs/limited/${running}/retry`, {
      json: { dagRunId: running },
    });
    expect(retryRunning.status).toBe(409);
    expect(retryRunning.body.code).toBe('already_running');
    await api.call('POST', `/dag-runs/limited/${running}/stop`);
    await api.waitForRun('limited', running);
  });
});

describe('logs', () => {
  let id: string;
  beforeAll(async () => {
    id = await start('lines');
    await api.waitForRun('lines', id);
  });

  it('step log: stdout by default, stderr on request', async () => {
    const { body } = await api.call('GET', `/dag-runs/lines/${id}/steps/count/log`);
    expect(body).toEqual({
      content: '1\n2\n3\n4\n5\n6\n7\n8\n9\n10',
      lineCount: 10,
      totalLines: 10,
    });
    expect(await stepLog('lines', id, 'warn', '?stream=stderr')).toBe('warning-1\nwarning-2');
    expect(await stepLog('lines', id, 'warn', '?stream=stdout')).toBe('');
  });

  it('the window: tail > head > offset/limit', async () => {
    const path = `/dag-runs/lines/${id}/steps/count/log`;
    expect((await api.call('GET', `${path}?tail=3&head=2`)).body).toEqual({
      content: '8\n9\n10',
      lineCount: 3,
      totalLines: 10,
      hasMore: true,
    });
    expect((await api.call('GET', `${path}?tail=50`)).body).toEqual({
      content: '1\n2\n3\n4\n5\n6\n7\n8\n9\n10',
      lineCount: 10,
      totalLines: 10,
    });
    expect((await api.call('GET', `${path}?head=2&offset=5`)).body).toEqual({
      content: '1\n2',
      lineCount: 2,
      totalLines: 10,
      hasMore: true,
    });
    expect((await api.call('GET', `${path}?offset=9&limit=5`)).body).toEqual({
      content: '9\n10',
      lineCount: 2,
      totalLines: 10,
    });
    expect((await api.call('GET', `${path}?offset=4&limit=2`)).body).toEqual({
      content: '4\n5',
      lineCount: 2,
      totalLines: 10,
      hasMore: true,
    });
    expect((await api.call('GET', `${path}?limit=3`)).body.content).toBe('1\n2\n3');
    expect((await api.call('GET', `${path}?offset=11`)).body).toEqual({
      content: '',
      totalLines: 10,
    });
  });

  it('the run log, and `latest` as run id', async () => {
    const log = await api.call('GET', `/dag-runs/lines/${id}/log`);
    expect(log.status).toBe(200);
    expect(log.body.content.length).toBeGreaterThan(0);
    const latest = await api.call('GET', '/dag-runs/lines/latest/steps/count/log?tail=1');
    expect(latest.body.content).toBe('10');
  });

  it('errors: bad window values and stream are 400; unknown run/step and a missing file are 404', async () => {
    const path = `/dag-runs/lines/${id}/steps/count/log`;
    for (const query of [
      'tail=0',
      'head=-1',
      'offset=x',
      'limit=10001',
      'limit=0',
      'stream=both',
    ]) {
      const { status, body } = await api.call('GET', `${path}?${query}`);
      expect(status, query).toBe(400);
      expect(body.code).toBe('bad_request');
    }
    expect((await api.call('GET', `/dag-runs/lines/${id}/steps/ghost/log`)).status).toBe(404);
    expect((await api.call('GET', '/dag-runs/lines/ghost-run/log')).status).toBe(404);
    const run = await api.store.runs.getRun('lines', id);
    rmSync(run!.snapshot.nodes[0]!.stdout);
    const missing = await api.call('GET', path);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ code: 'not_found', message: 'Log file not found' });
    rmSync(run!.snapshot.log);
    expect((await api.call('GET', `/dag-runs/lines/${id}/log`)).status).toBe(404);
  });
});

describe('child runs', () => {
  it('details, log, step log and step status of a child run, addressed through its root', async () => {
    const id = await start('parent');
    expect((await api.waitForRun('parent', id)).status).toBe(4);
    const details = await api.call('GET', `/dag-runs/parent/${id}`);
    const childId = details.body.dagRunDetails.nodes[0].children[0].dagRunId as string;
    const base = `/dag-runs/parent/${id}/children/${childId}`;
    const child = await api.call('GET', base);
    expect(child.status).toBe(200);
    expect(child.body.dagRunDetails).toMatchObject({
      name: 'child',
      dagRunId: childId,
      rootDAGRunName: 'parent',
      rootDAGRunId: id,
      parentDAGRunName: 'parent',
      parentDAGRunId: id,
      status: 4,
    });
    expect((await api.call('GET', `${base}/log`)).status).toBe(200);
    const stepLogResponse = await api.call('GET', `${base}/steps/greet/log`);
    expect(stepLogResponse.body.content).toBe('hello world');
    const patched = await api.call('PATCH', `${base}/steps/greet/status`, { json: { status: 2 } });
    expect(patched.status).toBe(200);
    expect((await api.call('GET', base)).body.dagRunDetails.nodes[0].status).toBe(2);
    expect(
      (await api.call('PATCH', `${base}/steps/ghost/status`, { json: { status: 2 } })).status,
    ).toBe(404);
    expect((await api.call('GET', `/dag-runs/parent/${id}/children/nochild`)).status).toBe(404);
    expect((await api.call('GET', `/dag-runs/parent/latest/children/${childId}`)).status).toBe(200);
    expect((await api.call('GET', `/dag-runs/parent/nope/children/${childId}/log`)).status).toBe(
      404,
    );
    // Child runs are not listed at the top level.
    const all = await api.call('GET', '/dag-runs?name=child');
    expect(all.body.dagRuns).toEqual([]);
  });
});

describe('GET /dag-runs and /dag-runs/{name}', () => {
  it('lists today’s root runs newest first with filters: name, status, dagRunId, date window', async () => {
    const ok = await start('deploy-app', { dagRunId: 'list-ok' });
    await api.waitForRun('deploy-app', ok);
    const all = await api.call('GET', '/dag-runs');
    expect(all.status).toBe(200);
    expect(all.body.dagRuns.length).toBeGreaterThan(5);
    expect(all.body.dagRuns[0].dagRunId).toBe('list-ok');
    expect(all.body.dagRuns[0]).toMatchObject({
      name: 'deploy-app',
      rootDAGRunName: 'deploy-app',
      rootDAGRunId: 'list-ok',
      status: 4,
      statusLabel: 'finished',
      params: 'version=v0.0.0 environment=staging',
    });
    const byName = await api.call('GET', '/dag-runs?name=deploy');
    expect(byName.body.dagRuns.map((r: { dagRunId: string }) => r.dagRunId)).toEqual(['list-ok']);
    const failed = await api.call('GET', '/dag-runs?status=2');
    expect(failed.body.dagRuns.length).toBeGreaterThan(0);
    expect(failed.body.dagRuns.every((r: { status: number }) => r.status === 2)).toBe(true);
    const byId = await api.call('GET', '/dag-runs?dagRunId=list-ok');
    expect(byId.body.dagRuns).toHaveLength(1);
    const now = Math.floor(Date.now() / 1000);
    const future = await api.call('GET', `/dag-runs?fromDate=${now + 3600}`);
    expect(future.body.dagRuns).toEqual([]);
    const past = await api.call('GET', `/dag-runs?toDate=${now - 3600}`);
    expect(past.body.dagRuns).toEqual([]);
    const window = await api.call('GET', `/dag-runs?fromDate=${now - 3600}&toDate=${now + 3600}`);
    expect(window.body.dagRuns.length).toBe(all.body.dagRuns.length);
    const outOfRange = await api.call('GET', '/dag-runs?status=42');
    expect(outOfRange.body.dagRuns).toEqual([]);
    for (const query of [
      'status=x',
      'fromDate=yesterday',
      'toDate=1e9',
      'fromDate=99999999999999999',
    ]) {
      const bad = await api.call('GET', `/dag-runs?${query}`);
      expect(bad.status, query).toBe(400);
    }
  });

  it('pages with limit and offset; the default page of /dag-runs is 100 runs', async () => {
    // 250 finished runs of one DAG, one a minute on 2024-01-01 (no dependence on today).
    const dag = await loadDag(api.store.dags.pathOf('lines'));
    const base = await createQueuedSnapshot(dag, { dagRunId: 'template' });
    const first = Date.UTC(2024, 0, 1);
    const runs = Array.from({ length: 250 }, (_, i) => {
      const dagRunId = `paged-${String(i).padStart(3, '0')}`;
      const startedAt = new Date(first + i * 60_000).toISOString();
      const snapshot: DagRunSnapshot = {
        ...base,
        dagRunId,
        attemptId: `attempt-${i}`,
        root: { name: base.name, dagRunId },
        status: 4,
        queuedAt: '',
        startedAt,
        finishedAt: startedAt,
      };
      return { dag, snapshot, trigger: 'api' as const };
    });
    expect(await api.store.runs.importRuns(runs)).toBe(250);
    const window = `fromDate=${first / 1000}&toDate=${first / 1000 + 86_400}`;
    const ids = async (path: string): Promise<string[]> => {
      const { status, body } = await api.call('GET', path);
      expect(status, path).toBe(200);
      return body.dagRuns.map((r: { dagRunId: string }) => r.dagRunId);
    };
    const page = await ids(`/dag-runs?${window}`);
    expect(page).toHaveLength(100);
    expect(page[0]).toBe('paged-249');
    expect(await ids(`/dag-runs?${window}&limit=3`)).toEqual([
      'paged-249',
      'paged-248',
      'paged-247',
    ]);
    expect(await ids(`/dag-runs?${window}&limit=2&offset=10`)).toEqual(['paged-239', 'paged-238']);
    expect(await ids(`/dag-runs?${window}&offset=200`)).toHaveLength(50);
    expect(await ids(`/dag-runs?${window}&offset=250`)).toEqual([]);
    expect(await ids(`/dag-runs?${window}&limit=1000`)).toHaveLength(250);
    // The per-name listing keeps Dagu's page of up to 1000 runs, and pages the same way.
    expect(await ids(`/dag-runs/lines?${window}`)).toHaveLength(250);
    expect(await ids(`/dag-runs/lines?${window}&limit=1&offset=249`)).toEqual(['paged-000']);
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'offset=-1', 'offset=1.5']) {
      const bad = await api.call('GET', `/dag-runs?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.code).toBe('bad_request');
    }
  });

  it('/dag-runs/{name} uses the exact name; details by id and latest; 404s', async () => {
    const exact = await api.call('GET', '/dag-runs/deploy-app');
    expect(exact.body.dagRuns.map((r: { dagRunId: string }) => r.dagRunId)).toContain('list-ok');
    expect((await api.call('GET', '/dag-runs/deploy')).body.dagRuns).toEqual([]);
    const details = await api.call('GET', '/dag-runs/deploy-app/list-ok');
    expect(details.body.dagRunDetails).toMatchObject({ dagRunId: 'list-ok', preconditions: [] });
    expect(details.body.dagRunDetails.nodes[0].step.name).toBe('deploy');
    const latest = await api.call('GET', '/dag-runs/deploy-app/latest');
    expect(latest.body.dagRunDetails.dagRunId).toBe('list-ok');
    const unknown = await api.call('GET', '/dag-runs/deploy-app/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe('dag-run ID nope not found for DAG deploy-app');
    expect((await api.call('GET', '/dag-runs/never-ran/latest')).status).toBe(404);
  });
});

describe('metrics after runs', () => {
  it('counts runs that ended by status, with the dagu_* names and Node defaults', async () => {
    const { text, headers, status } = await api.call('GET', '/metrics');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'dagu_info',
      'dagu_uptime_seconds',
      'dagu_dag_runs_currently_running',
      'dagu_dag_runs_queued_total',
      'dagu_dag_runs_total',
      'dagu_dags_total',
      'dagu_scheduler_running',
      'process_cpu_seconds_total',
      'nodejs_heap_size_total_bytes',
    ])
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    expect(text).toMatch(
      /^dagu_info\{version="1\.2\.3-test",build_date="",go_version="v[\d.]+"\} 1$/m,
    );
    expect(text).toMatch(/^dagu_dag_runs_total\{status="success"\} ([1-9]\d*)$/m);
    expect(text).toMatch(/^dagu_dag_runs_total\{status="error"\} [1-9]/m);
    expect(text).toMatch(/^dagu_scheduler_running 1$/m);
    const finishedOk = api.events.filter(
      (e) => e.type === 'run-finished' && !e.run.parent && e.run.status === 4,
    ).length;
    expect(text).toContain(`dagu_dag_runs_total{status="success"} ${finishedOk}`);
  });

  it('every response above matched the OpenAPI document', () => {
    expect(api.problems).toEqual([]);
  });
});
