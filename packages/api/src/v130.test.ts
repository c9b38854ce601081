// Dagu v1.30.3's additions (issue 19) over real HTTP: validate, inline runs, outputs, the spec of
// a run, reschedule, stop-all, sub-dag-runs, queues and the scheduler. Every response is checked
// against the OpenAPI document by the harness (`problems`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt, startApi, type TestApi } from '@dagu-ts/testing';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  expect(api.problems).toEqual([]);
  await api.close();
});

const OUTPUTS_SPEC = `name: outputs-dag
params: GREETING=hi
steps:
  - name: count
    command: echo 42
    output: TOTAL_COUNT
  - name: file
    command: echo /tmp/result.txt
    output: RESULT_FILE
    depends: count
`;

describe('POST /dags/validate', () => {
  it('answers the DAG details of a valid spec and writes nothing', async () => {
    const before = (await api.call('GET', '/dags')).body.pagination.totalRecords as number;
    const { status, body } = await api.call('POST', '/dags/validate', {
      json: { spec: OUTPUTS_SPEC },
    });
    expect(status).toBe(200);
    expect(body.valid).toBe(true);
    expect(body.errors).toEqual([]);
    expect(body.dag.name).toBe('outputs-dag');
    expect(body.dag.steps.map((s: { name: string }) => s.name)).toEqual(['count', 'file']);
    expect((await api.call('GET', '/dags')).body.pagination.totalRecords).toBe(before);
  });

  it('lists every error of a bad spec with its line, and uses `name` when the spec has none', async () => {
    const bad = await api.call('POST', '/dags/validate', {
      json: { spec: 'steps:\n  - name: a\n    command: echo\n    depends: missing\n' },
    });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect(bad.body.dag).toBeUndefined();
    expect(bad.body.errors).toHaveLength(1);
    expect(bad.body.errors[0]).toMatch(/^\d+: .*missing/);
    const named = await api.call('POST', '/dags/validate', {
      json: { spec: 'steps:\n  - name: a\n    command: echo\n', name: 'given' },
    });
    expect(named.body.dag.name).toBe('given');
  });

  it('refuses a missing spec and an unsafe name with 400', async () => {
    const missing = await api.call('POST', '/dags/validate', { json: {} });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ code: 'bad_request', message: 'field spec is required' });
    const unsafe = await api.call('POST', '/dags/validate', {
      json: { spec: 'steps: []', name: '../x' },
    });
    expect(unsafe.status).toBe(400);
    expect(unsafe.body.code).toBe('bad_request');
  });
});

describe('inline runs, outputs and the spec of a run', () => {
  it('runs an inline spec under its name, with its spec and its outputs', async () => {
    const { status, body } = await api.call('POST', '/dag-runs', {
      json: { spec: OUTPUTS_SPEC, params: 'GREETING=hello', dagRunId: 'inline-1' },
    });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toEqual({ dagRunId: 'inline-1' });
    const run = await api.waitForRun('outputs-dag', 'inline-1');
    expect(run.status).toBe(4);

    const history = await api.call('GET', '/dag-runs/outputs-dag');
    expect(history.body.dagRuns.map((r: { dagRunId: string }) => r.dagRunId)).toEqual(['inline-1']);
    const spec = await api.call('GET', '/dag-runs/outputs-dag/inline-1/spec');
    expect(spec.status).toBe(200);
    expect(spec.body).toEqual({ spec: OUTPUTS_SPEC });
    expect((await api.call('GET', '/dag-runs/outputs-dag/latest/spec')).body.spec).toBe(
      OUTPUTS_SPEC,
    );

    const outputs = await api.call('GET', '/dag-runs/outputs-dag/inline-1/outputs');
    expect(outputs.status).toBe(200);
    expect(outputs.body.outputs).toEqual({ totalCount: '42', resultFile: '/tmp/result.txt' });
    expect(outputs.body.metadata).toMatchObject({
      dagName: 'outputs-dag',
      dagRunId: 'inline-1',
      status: 'finished',
      params: JSON.stringify(['GREETING=hello']),
    });
    expect(outputs.body.metadata.attemptId).not.toBe('');
    expect(Date.parse(outputs.body.metadata.completedAt)).toBeGreaterThan(0);
  });

  it('names a spec without `name:` after the `name` field, or `inline`', async () => {
    const spec = 'steps:\n  - name: a\n    command: echo hi\n';
    const named = await api.call('POST', '/dag-runs', { json: { spec, name: 'named-inline' } });
    expect(named.status).toBe(200);
    await api.waitForRun('named-inline', named.body.dagRunId);
    const unnamed = await api.call('POST', '/dag-runs', { json: { spec } });
    expect(unnamed.status).toBe(200);
    expect((await api.waitForRun('inline', unnamed.body.dagRunId)).status).toBe(4);
  });

  it('refuses a bad spec with its lines, an existing run id, and oversized text', async () => {
    const bad = await api.call('POST', '/dag-runs', {
      json: { spec: 'steps:\n  - name: a\n    command: echo\n    depends: nope\n' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('bad_request');
    expect(bad.body.details.errors[0]).toMatch(/^\d+: .*nope/);

    const dup = await api.call('POST', '/dag-runs', {
      json: { spec: OUTPUTS_SPEC, dagRunId: 'inline-1' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('already_exists');

    const huge = `name: huge\nsteps:\n  - name: a\n    command: echo ${'x'.repeat(300 * 1024)}\n`;
    const big = await api.call('POST', '/dag-runs/enqueue', { json: { spec: huge } });
    expect(big.status).toBe(400);
    expect(big.body.message).toMatch(/too large/);

    const badName = await api.call('POST', '/dag-runs', {
      json: { spec: 'name: a/b\nsteps:\n  - name: a\n    command: echo\n' },
    });
    expect(badName.status).toBe(400);
  });

  it('queues an inline spec on the queue asked for', async () => {
    const { status, body } = await api.call('POST', '/dag-runs/enqueue', {
      json: { spec: OUTPUTS_SPEC, queue: 'inline-queue', dagRunId: 'queued-inline' },
    });
    expect(status, JSON.stringify(body)).toBe(200);
    expect((await api.store.runs.getRun('outputs-dag', 'queued-inline'))?.queue).toBe(
      'inline-queue',
    );
    expect((await api.waitForRun('outputs-dag', 'queued-inline')).status).toBe(4);
  });

  it('shows the spec the run used, not the file as it is now', async () => {
    const file = join(api.store.paths.dagsDir, 'changing.yaml');
    const first = 'steps:\n  - name: one\n    command: echo one\n';
    writeFileSync(file, first);
    const started = await api.call('POST', '/dags/changing/start', { json: {} });
    await api.waitForRun('changing', started.body.dagRunId);
    writeFileSync(file, 'steps:\n  - name: two\n    command: echo two\n');
    const spec = await api.call('GET', `/dag-runs/changing/${started.body.dagRunId}/spec`);
    expect(spec.body.spec).toBe(first);
  });

  it('answers an unfinished run with empty outputs and unknown runs with 404', async () => {
    const missing = await api.call('GET', '/dag-runs/outputs-dag/nope/outputs');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      code: 'not_found',
      message: 'dag-run ID nope not found for DAG outputs-dag',
    });
    expect((await api.call('GET', '/dag-runs/outputs-dag/nope/spec')).status).toBe(404);
    const none = await api.call('GET', '/dag-runs/never-ran/latest/outputs');
    expect(none.status).toBe(404);
  });
});

describe('reschedule, stop-all, queues', () => {
  it('reschedules a run under a new id with the same params and spec', async () => {
    const { body } = await api.call('POST', '/dags/echo-params/start', {
      json: { params: 'X="with space"' },
    });
    await api.waitForRun('echo-params', body.dagRunId);
    const again = await api.call('POST', `/dag-runs/echo-params/${body.dagRunId}/reschedule`, {
      json: { dagRunId: 'rescheduled-1' },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toEqual({ dagRunId: 'rescheduled-1', queued: false });
    expect((await api.waitForRun('echo-params', 'rescheduled-1')).status).toBe(4);
    const log = await api.call('GET', '/dag-runs/echo-params/rescheduled-1/steps/show/log');
    expect(log.body.content).toBe('X=with space');

    const dup = await api.call('POST', `/dag-runs/echo-params/${body.dagRunId}/reschedule`, {
      json: { dagRunId: 'rescheduled-1' },
    });
    expect(dup.status).toBe(409);
    const missing = await api.call('POST', '/dag-runs/echo-params/nope/reschedule');
    expect(missing.status).toBe(404);
  });

  it('lists the queues with running and queued runs, then stops every run of a DAG', async () => {
    const first = await api.call('POST', '/dags/limited/start', { json: { params: 'SLEEP=30' } });
    await api.waitUntil(
      async () =>
        (await api.store.runs.getRun('limited', first.body.dagRunId))?.snapshot.status === 1,
    );
    const second = await api.call('POST', '/dags/limited/enqueue', { json: {} });
    expect(second.status).toBe(200);

    const queues = await api.call('GET', '/queues');
    expect(queues.status).toBe(200);
    const limited = queues.body.queues.find((q: { name: string }) => q.name === 'limited');
    expect(limited).toMatchObject({ type: 'dag-based', maxConcurrency: 1 });
    expect(limited.running.map((r: { dagRunId: string }) => r.dagRunId)).toEqual([
      first.body.dagRunId,
    ]);
    expect(limited.queued.map((r: { dagRunId: string }) => r.dagRunId)).toEqual([
      second.body.dagRunId,
    ]);
    expect(queues.body.summary.totalRunning).toBeGreaterThanOrEqual(1);
    expect(queues.body.summary.totalQueued).toBeGreaterThanOrEqual(1);

    const stopped = await api.call('POST', '/dags/limited/stop-all');
    expect(stopped.status).toBe(200);
    expect(stopped.body).toEqual({ errors: [] });
    expect((await api.waitForRun('limited', first.body.dagRunId)).status).toBe(3);
    // The queued run then starts; stop it too.
    await api.waitUntil(
      async () =>
        (await api.store.runs.getRun('limited', second.body.dagRunId))?.snapshot.status === 1,
    );
    expect((await api.call('POST', '/dags/limited/stop-all')).body).toEqual({ errors: [] });
    expect((await api.waitForRun('limited', second.body.dagRunId)).status).toBe(3);

    expect((await api.call('POST', '/dags/nope/stop-all')).status).toBe(404);
  });

  it('shows a configured queue as global, with its limit, even when empty', async () => {
    const configured = await startApi({ fixtures: [], queueLimits: { shared: 2 } });
    try {
      const spec = 'name: on-shared\nqueue: shared\nsteps:\n  - name: a\n    command: sleep 30\n';
      const started = await configured.call('POST', '/dag-runs', { json: { spec } });
      expect(started.status).toBe(200);
      const { body } = await configured.call('GET', '/queues');
      expect(body.queues).toEqual([
        {
          name: 'shared',
          type: 'global',
          maxConcurrency: 2,
          running: [expect.objectContaining({ dagRunId: started.body.dagRunId })],
          queued: [],
        },
      ]);
      expect(body.summary).toEqual({
        totalQueues: 1,
        totalRunning: 1,
        totalQueued: 0,
        totalCapacity: 2,
        utilizationPercentage: 50,
      });
      await configured.call('POST', `/dag-runs/on-shared/${started.body.dagRunId}/stop`);
      await configured.waitForRun('on-shared', started.body.dagRunId);
      const idle = await configured.call('GET', '/queues');
      expect(idle.body.queues).toEqual([
        { name: 'shared', type: 'global', maxConcurrency: 2, running: [], queued: [] },
      ]);
      expect(configured.problems).toEqual([]);
    } finally {
      await configured.close();
    }
  });

  it('reports the scheduler of this process', async () => {
    const { status, body } = await api.call('GET', '/services/scheduler');
    expect(status).toBe(200);
    expect(body.schedulers).toHaveLength(1);
    expect(body.schedulers[0]).toMatchObject({ status: 'active' });
    expect(body.schedulers[0].instanceId).toContain(String(process.pid));
  });
});

describe('sub-dag-runs', () => {
  it('answers the v1.30 child paths like the v1.17 ones', async () => {
    const { body } = await api.call('POST', '/dags/parent/start', { json: {} });
    const root = body.dagRunId as string;
    expect((await api.waitForRun('parent', root)).status).toBe(4);
    const list = await api.call('GET', `/dag-runs/parent/${root}/sub-dag-runs`);
    expect(list.status).toBe(200);
    expect(list.body.subRuns).toHaveLength(1);
    const sub = list.body.subRuns[0];
    expect(sub).toMatchObject({ status: 4, statusLabel: 'finished', params: 'WHO="world"' });

    const v130 = await api.call('GET', `/dag-runs/parent/${root}/sub-dag-runs/${sub.dagRunId}`);
    const v117 = await api.call('GET', `/dag-runs/parent/${root}/children/${sub.dagRunId}`);
    expect(v130.status).toBe(200);
    expect(v130.body).toEqual(v117.body);
    const log = await api.call(
      'GET',
      `/dag-runs/parent/${root}/sub-dag-runs/${sub.dagRunId}/steps/greet/log`,
    );
    expect(log.body.content).toBe('hello world');
    const runLog = await api.call(
      'GET',
      `/dag-runs/parent/${root}/sub-dag-runs/${sub.dagRunId}/log`,
    );
    expect(runLog.status).toBe(200);
    const patched = await api.call(
      'PATCH',
      `/dag-runs/parent/${root}/sub-dag-runs/${sub.dagRunId}/steps/greet/status`,
      { json: { status: 2 } },
    );
    expect(patched.status).toBe(200);
    const after = await api.call('GET', `/dag-runs/parent/${root}/children/${sub.dagRunId}`);
    expect(after.body.dagRunDetails.nodes[0].status).toBe(2);

    expect((await api.call('GET', `/dag-runs/parent/${root}/sub-dag-runs/nope`)).status).toBe(404);
    expect((await api.call('GET', '/dag-runs/parent/nope/sub-dag-runs')).status).toBe(404);
  });
});

describe('roles', () => {
  it('lets a viewer read and validate but not run', async () => {
    const secret = 'v130-secret';
    const guarded = await startApi({ auth: { jwtSecret: secret }, fixtures: ['echo-params.yaml'] });
    try {
      const viewer = { Authorization: `Bearer ${signJwt({ role: 'viewer' }, secret)}` };
      const operator = { Authorization: `Bearer ${signJwt({ role: 'operator' }, secret)}` };
      expect((await guarded.call('GET', '/queues', { headers: viewer })).status).toBe(200);
      expect(
        (
          await guarded.call('POST', '/dags/validate', {
            headers: viewer,
            json: { spec: 'steps: []' },
          })
        ).status,
      ).toBe(200);
      for (const [method, path, json] of [
        ['POST', '/dag-runs', { spec: OUTPUTS_SPEC }],
        ['POST', '/dag-runs/enqueue', { spec: OUTPUTS_SPEC }],
        ['POST', '/dags/echo-params/stop-all', undefined],
        ['POST', '/dag-runs/echo-params/x/reschedule', {}],
      ] as const) {
        const refused = await guarded.call(method, path, { headers: viewer, json });
        expect(refused.status, path).toBe(403);
        expect(refused.body.code).toBe('forbidden');
      }
      const ran = await guarded.call('POST', '/dag-runs', {
        headers: operator,
        json: { spec: 'name: op\nsteps:\n  - name: a\n    command: echo\n' },
      });
      expect(ran.status).toBe(200);
      await guarded.waitForRun('op', ran.body.dagRunId);
      expect((await guarded.call('GET', '/queues')).status).toBe(401);
      expect(guarded.problems).toEqual([]);
    } finally {
      await guarded.close();
    }
  });
});
