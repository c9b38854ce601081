// DAG definition endpoints (api-v2.md §5.2, operations 3–16) on a real store with real runs.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

const dagsDir = () => api.store.paths.dagsDir;

describe('GET /dags', () => {
  it('lists every DAG file in file-name order with its latest run and the pagination object', async () => {
    const { status, body } = await api.call('GET', '/dags');
    expect(status).toBe(200);
    const names = body.dags.map((d: { fileName: string }) => d.fileName);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('my-dag');
    const example = body.dags.find((d: { fileName: string }) => d.fileName === 'example');
    expect(example).toEqual({
      fileName: 'example',
      dag: {
        name: 'example_dag',
        description: 'Example DAG',
        schedule: [{ expression: '0 * * * *' }],
        tags: ['example', 'prod'],
      },
      latestDAGRun: {
        rootDAGRunName: 'example_dag',
        rootDAGRunId: '',
        dagRunId: '',
        name: 'example_dag',
        status: 0,
        statusLabel: 'not started',
        startedAt: '',
        finishedAt: '',
        log: '',
      },
      suspended: false,
      errors: [],
    });
    expect(body.errors).toEqual([]);
    expect(body.pagination).toEqual({
      totalRecords: names.length,
      currentPage: 1,
      totalPages: 1,
      nextPage: 1,
      prevPage: 1,
    });
  });

  it('paginates: page/perPage, clamping, totalPages 1 when nothing matches', async () => {
    const page2 = await api.call('GET', '/dags?page=2&perPage=3');
    expect(page2.body.dags).toHaveLength(3);
    const total = page2.body.pagination.totalRecords as number;
    expect(page2.body.pagination).toEqual({
      totalRecords: total,
      currentPage: 2,
      totalPages: Math.ceil(total / 3),
      nextPage: 3,
      prevPage: 1,
    });
    const clamped = await api.call('GET', '/dags?page=0&perPage=0');
    expect(clamped.body.pagination.currentPage).toBe(1);
    expect(clamped.body.dags).toHaveLength(total); // perPage 0 → 50
    const none = await api.call('GET', '/dags?name=no-such-dag-anywhere');
    expect(none.body).toEqual({
      dags: [],
      errors: [],
      pagination: { totalRecords: 0, currentPage: 1, totalPages: 1, nextPage: 1, prevPage: 1 },
    });
  });

  it('filters by file-name substring and exact tag, both case-insensitive', async () => {
    const byName = await api.call('GET', '/dags?name=EXAM');
    expect(byName.body.dags.map((d: { fileName: string }) => d.fileName)).toEqual(['example']);
    const byTag = await api.call('GET', '/dags?tag=OPS');
    expect(byTag.body.dags.map((d: { fileName: string }) => d.fileName)).toEqual([
      'database-backup',
      'failing',
    ]);
    const partialTag = await api.call('GET', '/dags?tag=op');
    expect(partialTag.body.dags).toEqual([]);
  });

  it('reports files that do not parse in errors and leaves them out', async () => {
    writeFileSync(join(dagsDir(), 'zz-broken.yaml'), 'schedule: "not a cron"\ntags: [unclosed\n');
    try {
      const { body } = await api.call('GET', '/dags');
      expect(body.dags.map((d: { fileName: string }) => d.fileName)).not.toContain('zz-broken');
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]).toMatch(/^reading zz-broken failed: /);
    } finally {
      await api.call('DELETE', '/dags/zz-broken');
    }
  });

  it('rejects non-integer page values', async () => {
    const { status, body } = await api.call('GET', '/dags?page=abc');
    expect(status).toBe(400);
    expect(body.code).toBe('bad_request');
  });
});

describe('POST /dags', () => {
  it('creates a one-step DAG from the template (201 {name}), then 409 for the same name', async () => {
    const created = await api.call('POST', '/dags', { json: { name: 'brand-new' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'brand-new' });
    const text = readFileSync(join(dagsDir(), 'brand-new.yaml'), 'utf8');
    expect(text).toContain('name: step1');
    expect(text).toContain('echo hello');
    const again = await api.call('POST', '/dags', { json: { name: 'brand-new.yaml' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_exists');
    const started = await api.call('POST', '/dags/brand-new/start', { json: {} });
    expect(started.status).toBe(200);
    const run = await api.waitForRun('brand-new', started.body.dagRunId);
    expect(run.status).toBe(4);
  });

  it('accepts an initial spec, and refuses an invalid one with its errors (nothing written)', async () => {
    const ok = await api.call('POST', '/dags', {
      json: { name: 'with-spec', spec: 'steps:\n  - name: a\n    command: echo a\n' },
    });
    expect(ok.status).toBe(201);
    const bad = await api.call('POST', '/dags', {
      json: {
        name: 'bad-spec',
        spec: 'steps:\n  - name: a\n    depends: missing\n    command: x\n',
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('bad_request');
    expect(bad.body.details.errors.length).toBeGreaterThan(0);
    expect(existsSync(join(dagsDir(), 'bad-spec.yaml'))).toBe(false);
  });

  it('400 for a missing or non-string name and for traversal names', async () => {
    for (const json of [{}, { name: 5 }, { name: '' }, { name: '../evil' }, { name: 'a/b' }]) {
      const { status, body } = await api.call('POST', '/dags', { json });
      expect(status, JSON.stringify(json)).toBe(400);
      expect(body.code).toBe('bad_request');
    }
    expect(existsSync(join(dagsDir(), '..', 'evil.yaml'))).toBe(false);
  });
});

describe('GET /dags/{fileName}', () => {
  it('returns DAGDetails, sorted localDags and a synthetic latest run for a DAG that never ran', async () => {
    const { status, body } = await api.call('GET', '/dags/parent.yaml');
    expect(status).toBe(200);
    expect(body.dag.name).toBe('parent');
    expect(body.dag.steps[0]).toMatchObject({ name: 'call-child', run: 'child' });
    expect(body.localDags).toHaveLength(1);
    expect(body.localDags[0]).toMatchObject({ name: 'child', errors: [] });
    expect(body.localDags[0].dag.steps[0].name).toBe('greet');
    expect(body.latestDAGRun).toMatchObject({ dagRunId: '', status: 0, preconditions: [] });
    expect(body.latestDAGRun.nodes[0]).toMatchObject({
      startedAt: '-',
      finishedAt: '-',
      status: 0,
      statusLabel: 'not started',
    });
    expect(body).toMatchObject({ suspended: false, errors: [] });
  });

  it('shows handlers and the latest real run', async () => {
    const started = await api.call('POST', '/dags/database-backup/start', { json: {} });
    await api.waitForRun('database-backup', started.body.dagRunId);
    const { body } = await api.call('GET', '/dags/database-backup');
    expect(body.dag.handlerOn.exit.name).toBe('onExit');
    expect(body.dag.maxActiveDAGRuns).toBe(1);
    expect(body.latestDAGRun.dagRunId).toBe(started.body.dagRunId);
    expect(body.latestDAGRun.statusLabel).toBe('finished');
    expect(body.latestDAGRun.onExit.status).toBe(4);
  });

  it('404 for a missing file; a DAG with build errors is shown with its errors', async () => {
    const missing = await api.call('GET', '/dags/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ code: 'not_found', message: 'DAG nope not found' });
    writeFileSync(
      join(dagsDir(), 'half.yaml'),
      'description: half\nsteps:\n  - name: a\n    depends: zzz\n    command: x\n',
    );
    const half = await api.call('GET', '/dags/half');
    expect(half.status).toBe(200);
    expect(half.body.dag).toEqual({ name: 'half', description: 'half' });
    expect(half.body.errors.join('\n')).toMatch(/zzz/);
    await api.call('DELETE', '/dags/half');
  });
});

describe('DELETE /dags/{fileName}', () => {
  it('204 then 404', async () => {
    await api.call('POST', '/dags', { json: { name: 'doomed' } });
    const deleted = await api.call('DELETE', '/dags/doomed.yaml');
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(existsSync(join(dagsDir(), 'doomed.yaml'))).toBe(false);
    const again = await api.call('DELETE', '/dags/doomed');
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('not_found');
  });
});

describe('GET/PUT /dags/{fileName}/spec', () => {
  it('GET returns the raw YAML, errors [] and the parsed DAG; 404 when missing', async () => {
    const { status, body } = await api.call('GET', '/dags/example/spec');
    expect(status).toBe(200);
    expect(body.spec).toBe(readFileSync(join(dagsDir(), 'example.yaml'), 'utf8'));
    expect(body.errors).toEqual([]);
    expect(body.dag.name).toBe('example_dag');
    const missing = await api.call('GET', '/dags/missing/spec');
    expect(missing.status).toBe(404);
  });

  it('GET of an invalid file lists its errors and omits dag', async () => {
    writeFileSync(
      join(dagsDir(), 'invalid-spec.yaml'),
      'steps:\n  - name: a\n    depends: b\n    command: x\n',
    );
    const { status, body } = await api.call('GET', '/dags/invalid-spec/spec');
    expect(status).toBe(200);
    expect(body.errors.length).toBeGreaterThan(0);
    expect(body).not.toHaveProperty('dag');
    await api.call('DELETE', '/dags/invalid-spec');
  });

  it('PUT saves a valid spec ({errors: []}); an invalid one is 200 {errors} and nothing is written', async () => {
    await api.call('POST', '/dags', { json: { name: 'editable' } });
    const path = join(dagsDir(), 'editable.yaml');
    const spec = 'description: edited\nsteps:\n  - name: only\n    command: echo edited\n';
    const saved = await api.call('PUT', '/dags/editable/spec', { json: { spec } });
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({ errors: [] });
    expect(readFileSync(path, 'utf8')).toBe(spec);
    const invalid = await api.call('PUT', '/dags/editable/spec', {
      json: { spec: 'steps:\n  - name: a\n    depends: ghost\n    command: x\n' },
    });
    expect(invalid.status).toBe(200);
    expect(invalid.body.errors.length).toBeGreaterThan(0);
    expect(invalid.body.errors.join('\n')).toMatch(/ghost/);
    expect(readFileSync(path, 'utf8')).toBe(spec);
    const yamlError = await api.call('PUT', '/dags/editable/spec', { json: { spec: 'steps: [' } });
    expect(yamlError.body.errors.length).toBeGreaterThan(0);
    expect(readFileSync(path, 'utf8')).toBe(spec);
  });

  it('PUT: 404 for a missing file, 400 without a string spec', async () => {
    const missing = await api.call('PUT', '/dags/ghost-file/spec', { json: { spec: 'steps: []' } });
    expect(missing.status).toBe(404);
    expect(existsSync(join(dagsDir(), 'ghost-file.yaml'))).toBe(false);
    const noSpec = await api.call('PUT', '/dags/example/spec', { json: { spec: 42 } });
    expect(noSpec.status).toBe(400);
  });
});

describe('GET /dags/tags and /dags/search', () => {
  it('tags: unique and sorted', async () => {
    const { status, body } = await api.call('GET', '/dags/tags');
    expect(status).toBe(200);
    expect(body.tags).toEqual(expect.arrayContaining(['example', 'ops', 'prod', 'seed']));
    expect(body.tags).toEqual([...body.tags].sort());
    expect(new Set(body.tags).size).toBe(body.tags.length);
    expect(body.errors).toEqual([]);
  });

  it('search: case-insensitive regex with line numbers and 5-line snippets', async () => {
    const { status, body } = await api.call(
      'GET',
      `/dags/search?q=${encodeURIComponent('DUMPING the')}`,
    );
    expect(status).toBe(200);
    expect(body.errors).toEqual([]);
    expect(body.results).toHaveLength(1);
    const [result] = body.results;
    expect(result.name).toBe('database-backup');
    expect(result.dag.name).toBe('database-backup');
    expect(result.matches).toEqual([
      {
        lineNumber: 6,
        startLine: 4,
        line: [
          'steps:',
          '  - name: dump',
          '    command: echo "dumping the database"',
          '  - name: upload',
          '    command: echo uploaded',
        ].join('\n'),
      },
    ]);
    const none = await api.call('GET', '/dags/search?q=zzz-nothing-zzz');
    expect(none.body).toEqual({ results: [], errors: [] });
  });

  it('search: q is required; an invalid regex is 400', async () => {
    expect((await api.call('GET', '/dags/search')).status).toBe(400);
    expect((await api.call('GET', '/dags/search?q=')).status).toBe(400);
    const invalid = await api.call('GET', `/dags/search?q=${encodeURIComponent('(unclosed')}`);
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('bad_request');
  });

  it('search: a pathological regex over a long line is answered promptly (linear-time engine)', async () => {
    writeFileSync(
      join(dagsDir(), 'zz-pathological.yaml'),
      `description: ${'a'.repeat(50_000)}!\nsteps:\n  - name: a\n    command: echo a\n`,
    );
    const started = Date.now();
    const { status, body } = await api.call(
      'GET',
      `/dags/search?q=${encodeURIComponent('^(a+)+$')}`,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(status).toBe(200);
    expect(body.results).toEqual([]);
    const nested = await api.call('GET', `/dags/search?q=${encodeURIComponent('(a|aa)*c')}`);
    expect(nested.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    await api.call('DELETE', '/dags/zz-pathological');
  });
});

describe('runs of a DAG file', () => {
  it('GET /dags/{f}/dag-runs: last runs newest first with grid data per step', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { body } = await api.call('POST', '/dags/failing/start', { json: {} });
      ids.push(body.dagRunId);
      await api.waitForRun('failing', body.dagRunId);
    }
    const { status, body } = await api.call('GET', '/dags/failing.yaml/dag-runs');
    expect(status).toBe(200);
    expect(body.dagRuns.map((r: { dagRunId: string }) => r.dagRunId)).toEqual(ids.reverse());
    expect(body.dagRuns[0].nodes[0].error).toBeTruthy();
    expect(body.gridData).toEqual([{ name: 'broken', history: [2, 2] }]);
    const none = await api.call('GET', '/dags/example/dag-runs');
    expect(none.body).toEqual({ dagRuns: [], gridData: [] });
    expect((await api.call('GET', '/dags/missing/dag-runs')).status).toBe(404);
  });

  it('GET /dags/{f}/dag-runs/{id}: by id, latest, synthetic latest, 404s', async () => {
    const { body: started } = await api.call('POST', '/dags/echo-params/start', { json: {} });
    await api.waitForRun('echo-params', started.dagRunId);
    const byId = await api.call('GET', `/dags/echo-params/dag-runs/${started.dagRunId}`);
    expect(byId.status).toBe(200);
    expect(byId.body.dagRun.dagRunId).toBe(started.dagRunId);
    const latest = await api.call('GET', '/dags/echo-params/dag-runs/latest');
    expect(latest.body.dagRun.dagRunId).toBe(started.dagRunId);
    const never = await api.call('GET', '/dags/example/dag-runs/latest');
    expect(never.status).toBe(200);
    expect(never.body.dagRun).toMatchObject({ dagRunId: '', status: 0, name: 'example_dag' });
    expect(never.body.dagRun.nodes).toHaveLength(1);
    const unknown = await api.call('GET', '/dags/echo-params/dag-runs/no-such-run');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
    // Exact lookup: a prefix of an id finds nothing.
    const prefix = await api.call(
      'GET',
      `/dags/echo-params/dag-runs/${started.dagRunId.slice(0, 8)}`,
    );
    expect(prefix.status).toBe(404);
    expect((await api.call('GET', '/dags/missing/dag-runs/latest')).status).toBe(404);
  });
});

describe('POST /dags/{f}/suspend', () => {
  it('sets and clears the flag under the canonical name; the list shows it', async () => {
    const on = await api.call('POST', '/dags/example.yaml/suspend', { json: { suspend: true } });
    expect(on.status).toBe(200);
    expect(on.text).toBe('');
    expect(await api.store.flags.isSuspended('example')).toBe(true);
    const listed = await api.call('GET', '/dags?name=example');
    expect(listed.body.dags[0].suspended).toBe(true);
    expect((await api.call('GET', '/dags/example')).body.suspended).toBe(true);
    const off = await api.call('POST', '/dags/example/suspend', { json: { suspend: false } });
    expect(off.status).toBe(200);
    expect(await api.store.flags.isSuspended('example')).toBe(false);
  });

  it('404 for a missing DAG; 400 without a boolean', async () => {
    expect(
      (await api.call('POST', '/dags/ghost/suspend', { json: { suspend: true } })).status,
    ).toBe(404);
    expect(
      (await api.call('POST', '/dags/example/suspend', { json: { suspend: 'yes' } })).status,
    ).toBe(400);
    expect((await api.call('POST', '/dags/example/suspend', { json: {} })).status).toBe(400);
  });
});

describe('POST /dags/{f}/rename', () => {
  it('moves the file; 409 when the target exists; 404 when the source is missing', async () => {
    await api.call('POST', '/dags', { json: { name: 'old-name' } });
    await api.call('POST', '/dags/old-name/suspend', { json: { suspend: true } });
    const renamed = await api.call('POST', '/dags/old-name.yaml/rename', {
      json: { newFileName: 'new-name.yaml' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.text).toBe('');
    expect(existsSync(join(dagsDir(), 'old-name.yaml'))).toBe(false);
    expect(existsSync(join(dagsDir(), 'new-name.yaml'))).toBe(true);
    expect(await api.store.flags.isSuspended('new-name')).toBe(true);
    expect(await api.store.flags.isSuspended('old-name')).toBe(false);
    const clash = await api.call('POST', '/dags/new-name/rename', {
      json: { newFileName: 'example' },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('already_exists');
    const missing = await api.call('POST', '/dags/old-name/rename', { json: { newFileName: 'x' } });
    expect(missing.status).toBe(404);
    const traversal = await api.call('POST', '/dags/new-name/rename', {
      json: { newFileName: '../outside' },
    });
    expect(traversal.status).toBe(400);
  });

  it('moves the run history and its logs with a DAG named after its file', async () => {
    const yaml = 'steps:\n  - name: hi\n    command: echo hello\n';
    expect((await api.call('POST', '/dags', { json: { name: 'before', spec: yaml } })).status).toBe(
      201,
    );
    const started = await api.call('POST', '/dags/before/start', { json: {} });
    const id = started.body.dagRunId as string;
    await api.waitForRun('before', id);
    const renamed = await api.call('POST', '/dags/before/rename', {
      json: { newFileName: 'after' },
    });
    expect(renamed.status).toBe(200);

    const history = await api.call('GET', '/dags/after/dag-runs');
    expect(history.body.dagRuns.map((r: { dagRunId: string }) => r.dagRunId)).toEqual([id]);
    expect((await api.call('GET', `/dag-runs/before/${id}`)).status).toBe(404);
    const details = await api.call('GET', `/dag-runs/after/${id}`);
    expect(details.body.dagRunDetails.name).toBe('after');
    expect(details.body.dagRunDetails.log).toContain(`${join('logs', 'after')}/`);
    const log = await api.call('GET', `/dag-runs/after/${id}/steps/hi/log`);
    expect(log.body.content).toBe('hello');
    // A retry of the moved run records under the new name.
    expect(
      (await api.call('POST', `/dag-runs/after/${id}/retry`, { json: { dagRunId: id } })).status,
    ).toBe(200);
    await api.waitUntil(async () => (await api.store.runs.listAttempts('after', id)).length === 2);
    await api.waitForRun('after', id);
    expect((await api.call('GET', `/dag-runs/after/${id}`)).body.dagRunDetails.status).toBe(4);
  });

  it('400 not_running while the DAG runs', async () => {
    const { body } = await api.call('POST', '/dags/limited/start', {
      json: { params: 'SLEEP=20' },
    });
    try {
      const refused = await api.call('POST', '/dags/limited/rename', {
        json: { newFileName: 'limited-2' },
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ code: 'not_running', message: 'DAG is running' });
    } finally {
      await api.call('POST', `/dag-runs/limited/${body.dagRunId}/stop`);
      await api.waitForRun('limited', body.dagRunId);
    }
  });
});

describe('the OpenAPI document', () => {
  it('is served at /api/v2/openapi.json', async () => {
    const { status, body } = await api.call('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toMatch(/^3\.1/);
    expect(Object.keys(body.paths)).toContain('/dags/{fileName}/start');
  });

  it('every response above matched it', () => {
    expect(api.problems).toEqual([]);
  });
});
