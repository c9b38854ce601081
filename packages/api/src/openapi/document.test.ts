import { describe, expect, it } from 'vitest';
import { openApiDocument } from './document.js';
import type { HttpMethod, Operation, Parameter, Reference, Response } from './document.js';
import { matchPath, resolvePointer, validateResponse, validateSchema } from '@dagu-ts/testing';

const OPERATION_IDS = [
  'health',
  'metrics',
  'listDags',
  'createDag',
  'searchDags',
  'listTags',
  'getDag',
  'deleteDag',
  'getDagSpec',
  'updateDagSpec',
  'startDag',
  'enqueueDag',
  'getDagHistory',
  'getDagRunOfDag',
  'suspendDag',
  'renameDag',
  'listDagRuns',
  'listDagRunsByName',
  'getDagRun',
  'getDagRunLog',
  'getStepLog',
  'updateStepStatus',
  'retryDagRun',
  'stopDagRun',
  'dequeueDagRun',
  'getChildDagRun',
  'getChildDagRunLog',
  'getChildStepLog',
  'updateChildStepStatus',
];

/** The 29 operations of api-v2.md Part B §4: method, path, operationId. */
const PART_B: readonly (readonly [HttpMethod, string, string])[] = [
  ['get', '/health', 'health'],
  ['get', '/metrics', 'metrics'],
  ['get', '/dags', 'listDags'],
  ['post', '/dags', 'createDag'],
  ['get', '/dags/search', 'searchDags'],
  ['get', '/dags/tags', 'listTags'],
  ['get', '/dags/{fileName}', 'getDag'],
  ['delete', '/dags/{fileName}', 'deleteDag'],
  ['get', '/dags/{fileName}/spec', 'getDagSpec'],
  ['put', '/dags/{fileName}/spec', 'updateDagSpec'],
  ['post', '/dags/{fileName}/start', 'startDag'],
  ['post', '/dags/{fileName}/enqueue', 'enqueueDag'],
  ['get', '/dags/{fileName}/dag-runs', 'getDagHistory'],
  ['get', '/dags/{fileName}/dag-runs/{dagRunId}', 'getDagRunOfDag'],
  ['post', '/dags/{fileName}/suspend', 'suspendDag'],
  ['post', '/dags/{fileName}/rename', 'renameDag'],
  ['get', '/dag-runs', 'listDagRuns'],
  ['get', '/dag-runs/{name}', 'listDagRunsByName'],
  ['get', '/dag-runs/{name}/{dagRunId}', 'getDagRun'],
  ['get', '/dag-runs/{name}/{dagRunId}/log', 'getDagRunLog'],
  ['get', '/dag-runs/{name}/{dagRunId}/steps/{stepName}/log', 'getStepLog'],
  ['patch', '/dag-runs/{name}/{dagRunId}/steps/{stepName}/status', 'updateStepStatus'],
  ['post', '/dag-runs/{name}/{dagRunId}/retry', 'retryDagRun'],
  ['post', '/dag-runs/{name}/{dagRunId}/stop', 'stopDagRun'],
  ['get', '/dag-runs/{name}/{dagRunId}/dequeue', 'dequeueDagRun'],
  ['get', '/dag-runs/{name}/{dagRunId}/children/{childDAGRunId}', 'getChildDagRun'],
  ['get', '/dag-runs/{name}/{dagRunId}/children/{childDAGRunId}/log', 'getChildDagRunLog'],
  [
    'get',
    '/dag-runs/{name}/{dagRunId}/children/{childDAGRunId}/steps/{stepName}/log',
    'getChildStepLog',
  ],
  [
    'patch',
    '/dag-runs/{name}/{dagRunId}/children/{childDAGRunId}/steps/{stepName}/status',
    'updateChildStepStatus',
  ],
];

/** Dagu v1.30.3's operations added by issue 19 (packages/api/src/routes/v130.ts, webhooks.ts). */
const V130_OPERATION_IDS = [
  'validateDagSpec',
  'stopAllDagRuns',
  'executeDagRunFromSpec',
  'enqueueDagRunFromSpec',
  'getDagRunSpec',
  'getDagRunOutputs',
  'rescheduleDagRun',
  'getSubDagRuns',
  'getSubDagRunDetails',
  'getSubDagRunLog',
  'getSubDagRunStepLog',
  'updateSubDagRunStepStatus',
  'listQueues',
  'getSchedulerStatus',
  'triggerWebhook',
  'listWebhooks',
  'getDagWebhook',
  'createDagWebhook',
  'deleteDagWebhook',
  'regenerateDagWebhookToken',
  'toggleDagWebhook',
];

const SECTION_3_SCHEMAS = [
  'Pagination',
  'Schedule',
  'Condition',
  'RepeatPolicy',
  'Step',
  'HandlerOn',
  'DAG',
  'DAGDetails',
  'LocalDag',
  'DAGFile',
  'DAGRunSummary',
  'DAGRunDetails',
  'Node',
  'ChildDAGRun',
  'DAGGridItem',
  'SearchResultItem',
  'SearchDAGsMatchItem',
  'Log',
  'ListTagResponse',
  'HealthResponse',
  'Error',
  'ErrorCode',
  'Status',
  'StatusLabel',
  'NodeStatus',
  'NodeStatusLabel',
];

const METHODS: readonly HttpMethod[] = ['get', 'put', 'post', 'delete', 'patch'];

function operations(): { method: HttpMethod; path: string; operation: Operation }[] {
  return Object.entries(openApiDocument.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ method, path, operation }] : [];
    }),
  );
}

function deref<T>(value: T | Reference): T {
  if (value && typeof value === 'object' && '$ref' in value) {
    return deref(resolvePointer(openApiDocument, value.$ref) as T | Reference);
  }
  return value;
}

function allRefs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) allRefs(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push(inner);
      else allRefs(inner, found);
    }
  }
  return found;
}

const concrete = (template: string) => template.replace(/\{[^}]+\}/g, 'x1');

// ---------------------------------------------------------------------------------------------
// Sample bodies (after the examples of the REST docs, corrected to the wire format of Part B).

const runSummary = {
  rootDAGRunName: 'example_dag',
  rootDAGRunId: '20240101_120000',
  dagRunId: '20240101_120000',
  name: 'example_dag',
  status: 1,
  statusLabel: 'running',
  startedAt: '2024-01-01T12:00:00Z',
  finishedAt: '',
  log: '/home/u/.local/share/dagu/logs/example_dag/run.log',
};

const neverRan = {
  rootDAGRunName: 'example_dag',
  rootDAGRunId: '',
  dagRunId: '',
  name: 'example_dag',
  status: 0,
  statusLabel: 'not started',
  startedAt: '',
  finishedAt: '',
  log: '',
  params: 'P1=foo',
};

const listDagsBody = () =>
  structuredClone({
    dags: [
      {
        fileName: 'example',
        dag: {
          name: 'example_dag',
          schedule: [{ expression: '0 * * * *' }],
          description: 'Example DAG',
          tags: ['example', 'demo'],
        },
        latestDAGRun: runSummary,
        suspended: false,
        errors: [],
      },
      {
        fileName: 'other',
        dag: { name: 'example_dag', params: ['P1=foo'], defaultParams: 'P1="foo"' },
        latestDAGRun: neverRan,
        suspended: true,
        errors: [],
      },
    ],
    errors: [],
    pagination: { totalRecords: 45, currentPage: 1, totalPages: 5, nextPage: 2, prevPage: 1 },
  });

const node = (status: number, statusLabel: string, extra: Record<string, unknown> = {}) => ({
  step: { name: 'step1', cmdWithArgs: 'echo hello', command: 'echo', args: ['hello'] },
  stdout: '/logs/step1.out',
  stderr: '/logs/step1.err',
  startedAt: '2024-01-01T12:00:00+09:00',
  finishedAt: '2024-01-01T12:00:01+09:00',
  status,
  statusLabel,
  retryCount: 0,
  doneCount: 1,
  ...extra,
});

const runDetails = () => ({
  ...runSummary,
  status: 2,
  statusLabel: 'failed',
  finishedAt: '2024-01-01T12:00:05Z',
  params: 'P1=foo P2=bar',
  nodes: [
    node(4, 'finished', { children: [{ dagRunId: 'child-1', params: '' }] }),
    node(2, 'failed', { error: 'exit status 3' }),
    { ...node(0, 'not started'), startedAt: '-', finishedAt: '-', doneCount: 0 },
  ],
  onExit: node(5, 'skipped'),
  preconditions: [],
});

const dagDetails = {
  name: 'example_dag',
  steps: [
    {
      name: 'step1',
      command: 'echo',
      args: ['hello'],
      depends: ['step0'],
      repeatPolicy: { repeat: true, interval: 60 },
      preconditions: [{ condition: '`date +%u`', expected: 're:[1-5]' }],
    },
  ],
  handlerOn: { exit: { name: 'onExit', command: 'echo bye' } },
  maxActiveDAGRuns: 1,
  env: ['A=1'],
};

// ---------------------------------------------------------------------------------------------

describe('OpenAPI document structure', () => {
  it('is an OpenAPI 3.1 document served under /api/v2', () => {
    expect(openApiDocument.openapi).toBe('3.1.0');
    expect(openApiDocument.servers.map((s) => s.url)).toEqual(['/api/v2']);
    expect(JSON.parse(JSON.stringify(openApiDocument))).toEqual(openApiDocument);
  });

  it('resolves every $ref', () => {
    const refs = allRefs(openApiDocument);
    expect(refs.length).toBeGreaterThan(100);
    const broken = refs.filter((ref) => resolvePointer(openApiDocument, ref) === undefined);
    expect(broken).toEqual([]);
  });

  it('has the 29 operations of Part B §4 at their paths, with unique operationIds', () => {
    const all = operations();
    for (const { operation } of all) expect(operation.operationId).toMatch(/^[a-zA-Z]+$/);
    const ids = all.map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [method, path, operationId] of PART_B) {
      expect(openApiDocument.paths[path]?.[method]?.operationId, `${method} ${path}`).toBe(
        operationId,
      );
    }
    expect(PART_B.map(([, , id]) => id)).toEqual(OPERATION_IDS);
    // Besides the 29: the document itself (Part A #15), Dagu v1.30.3's additions and the worker
    // extension.
    expect(ids.filter((id) => !OPERATION_IDS.includes(id)).sort()).toEqual(
      [
        'getOpenApiDocument',
        ...V130_OPERATION_IDS,
        'getWorkers',
        'claimWorkerRun',
        'workerHeartbeat',
        'reportWorkerEvent',
        'writeWorkerLog',
      ].sort(),
    );
  });

  it('declares every path parameter exactly once', () => {
    for (const { method, path, operation } of operations()) {
      const declared = (operation.parameters ?? []).map((p) => deref<Parameter>(p));
      const inPath = declared.filter((p) => p.in === 'path');
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect(inPath.map((p) => p.name).sort(), `${method} ${path}`).toEqual(templated.sort());
      for (const p of inPath) expect(p.required).toBe(true);
      const keys = declared.map((p) => `${p.in}:${p.name}`);
      expect(new Set(keys).size, `${method} ${path}`).toBe(keys.length);
      expect(keys).toContain('query:remoteNode');
    }
  });

  it('gives every operation a success response and enveloped error responses', () => {
    for (const { method, path, operation } of operations()) {
      const statuses = Object.keys(operation.responses);
      expect(
        statuses.some((s) => s.startsWith('2')),
        `${method} ${path}`,
      ).toBe(true);
      expect(statuses).toContain('400');
      expect(statuses).toContain('500');
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const response = deref<Response>(operation.responses[status]!);
        const schema = response.content?.['application/json']?.schema;
        expect(allRefs(schema), `${method} ${path} ${status}`).toContain(
          '#/components/schemas/Error',
        );
      }
      if (operation.operationId !== 'health') expect(statuses).toContain('401');
      if (operation['x-dagu-permission']) expect(statuses).toContain('403');
      if (operation.requestBody) expect(statuses).toEqual(expect.arrayContaining(['413', '415']));
    }
  });

  it('answers the six state changes with an empty 200 and DELETE with 204', () => {
    const empty = [
      'suspendDag',
      'renameDag',
      'retryDagRun',
      'stopDagRun',
      'dequeueDagRun',
      'updateStepStatus',
      'updateChildStepStatus',
    ];
    for (const { operation } of operations()) {
      if (!empty.includes(operation.operationId)) continue;
      expect(deref<Response>(operation.responses['200']!).content).toBeUndefined();
    }
    const del = openApiDocument.paths['/dags/{fileName}']?.delete;
    expect(Object.keys(del?.responses ?? {})).toContain('204');
    expect(deref<Response>(del!.responses['204']!).content).toBeUndefined();
  });

  it('gates writes and runs per §1.5', () => {
    const gated = Object.fromEntries(
      operations()
        .filter((o) => o.operation['x-dagu-permission'])
        .map((o) => [o.operation.operationId, o.operation['x-dagu-permission']]),
    );
    expect(gated).toEqual({
      createDag: 'write_dags',
      deleteDag: 'write_dags',
      updateDagSpec: 'write_dags',
      renameDag: 'write_dags',
      startDag: 'run_dags',
      enqueueDag: 'run_dags',
      suspendDag: 'run_dags',
      retryDagRun: 'run_dags',
      stopDagRun: 'run_dags',
      dequeueDagRun: 'run_dags',
      updateStepStatus: 'run_dags',
      updateChildStepStatus: 'run_dags',
      // Dagu v1.30.3's additions; webhook management is admin-only, with no switch.
      stopAllDagRuns: 'run_dags',
      executeDagRunFromSpec: 'run_dags',
      enqueueDagRunFromSpec: 'run_dags',
      rescheduleDagRun: 'run_dags',
      updateSubDagRunStepStatus: 'run_dags',
    });
  });

  it('has basic and bearer security, with /health public', () => {
    const { securitySchemes } = openApiDocument.components;
    expect(securitySchemes.basicAuth).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(openApiDocument.security).toContainEqual({ bearerAuth: [] });
    expect(openApiDocument.paths['/health']?.get?.security).toEqual([]);
  });

  it('has every schema of §3 and closes the objects', () => {
    const { schemas } = openApiDocument.components;
    for (const name of SECTION_3_SCHEMAS) expect(schemas[name], name).toBeDefined();
    for (const [name, schema] of Object.entries(schemas)) {
      if (schema.type === 'object' && !name.endsWith('Request')) {
        expect(schema.additionalProperties, name).toBe(false);
      }
    }
    expect(schemas.Status?.enum).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(schemas.StatusLabel?.enum).toEqual([
      'not started',
      'running',
      'failed',
      'canceled',
      'finished',
      'queued',
      'partial success',
    ]);
    expect(schemas.NodeStatus?.enum).toEqual([0, 1, 2, 3, 4, 5]);
    expect(schemas.NodeStatusLabel?.enum?.[5]).toBe('skipped');
    expect(schemas.ErrorCode?.enum).toHaveLength(10);
    expect(schemas.DAGRunSummary?.required).toEqual([
      'rootDAGRunName',
      'rootDAGRunId',
      'dagRunId',
      'name',
      'status',
      'statusLabel',
      'startedAt',
      'finishedAt',
      'log',
    ]);
  });

  it('types the query parameters', () => {
    const { parameters } = openApiDocument.components;
    expect(parameters.FromDate?.schema).toMatchObject({ type: 'integer', format: 'int64' });
    expect(parameters.ToDate?.schema).toMatchObject({ type: 'integer', format: 'int64' });
    expect(parameters.Stream?.schema).toMatchObject({ enum: ['stdout', 'stderr'] });
    const fileName = new RegExp(parameters.FileName!.schema.pattern!, 'u');
    for (const ok of ['my-dag', 'my-dag.yaml', 'a.b', 'v1.2.3']) expect(ok).toMatch(fileName);
    for (const bad of ['../x', 'a/b', 'a\\b', '...', 'x..y', 'a\u0000b']) {
      expect(bad).not.toMatch(fileName);
    }
    const dagRunId = new RegExp(parameters.DagRunId!.schema.pattern!, 'u');
    for (const ok of ['latest', 'deploy-v1.2.3', '0190a5b2-7c1e-7000-8000-000000000000']) {
      expect(ok).toMatch(dagRunId);
    }
    for (const bad of ['-x', '.x', 'a b', 'a/b', 'a..b']) expect(bad).not.toMatch(dagRunId);
    for (const name of ['Page', 'PerPage', 'Tail', 'Head', 'Offset', 'Limit']) {
      expect(parameters[name]?.schema.type, name).toBe('integer');
    }
    const names = (id: string) =>
      (operations().find((o) => o.operation.operationId === id)?.operation.parameters ?? [])
        .map((p) => deref<Parameter>(p).name)
        .sort();
    expect(names('getStepLog')).toEqual(
      [
        'dagRunId',
        'head',
        'limit',
        'name',
        'offset',
        'remoteNode',
        'stepName',
        'stream',
        'tail',
      ].sort(),
    );
    expect(names('listDagRuns')).toEqual(
      ['dagRunId', 'fromDate', 'limit', 'name', 'offset', 'remoteNode', 'status', 'toDate'].sort(),
    );
  });

  it('compiles the schema of every documented response', () => {
    for (const { method, path, operation } of operations()) {
      for (const status of Object.keys(operation.responses)) {
        expect(() => validateResponse(method, concrete(path), Number(status), {})).not.toThrow();
      }
    }
    const self = JSON.parse(JSON.stringify(openApiDocument)) as unknown;
    expect(validateResponse('GET', '/openapi.json', 200, self)).toEqual([]);
  });

  it('validates its own examples', () => {
    for (const { method, path, operation } of operations()) {
      for (const [status, declared] of Object.entries(operation.responses)) {
        for (const media of Object.values(deref<Response>(declared).content ?? {})) {
          if (media.example === undefined) continue;
          const errors = validateResponse(method, concrete(path), Number(status), media.example);
          expect(errors, `${method} ${path} ${status}`).toEqual([]);
        }
      }
    }
    for (const body of Object.values(openApiDocument.components.requestBodies)) {
      const media = body.content['application/json']!;
      const name = media.schema.$ref!.split('/').pop()!;
      expect(validateSchema(name, media.example), name).toEqual([]);
    }
  });
});

describe('matchPath', () => {
  it('maps concrete paths to templates, literal segments first', () => {
    expect(matchPath('/dag-runs/x/123/log')).toBe('/dag-runs/{name}/{dagRunId}/log');
    expect(matchPath('/api/v2/dags/search?q=db')).toBe('/dags/search');
    expect(matchPath('/dags/tags')).toBe('/dags/tags');
    expect(matchPath('/dags/my-dag.yaml')).toBe('/dags/{fileName}');
    expect(matchPath('/dags/my-dag/dag-runs/latest')).toBe('/dags/{fileName}/dag-runs/{dagRunId}');
    expect(matchPath('/dag-runs/x/1/children/c/steps/s%20p/log')).toBe(
      '/dag-runs/{name}/{dagRunId}/children/{childDAGRunId}/steps/{stepName}/log',
    );
    expect(matchPath('/dags/')).toBeUndefined();
    expect(matchPath('/nope')).toBeUndefined();
  });
});

describe('validateResponse', () => {
  it('accepts the health example and rejects an extra field', () => {
    const body = { status: 'healthy', version: '', uptime: 0, timestamp: '2024-02-11T12:00:00Z' };
    expect(validateResponse('GET', '/health', 200, body)).toEqual([]);
    expect(validateResponse('GET', '/api/v2/health', 200, { ...body, extra: 1 })).toEqual([
      'health 200: body has unknown field "extra"',
    ]);
  });

  it('accepts a DAG list and rejects the docs example as printed', () => {
    expect(validateResponse('GET', '/dags?page=1', 200, listDagsBody())).toEqual([]);
    // The REST docs show prevPage: null and a latestDAGRun without ids, log or errors.
    const asDocumented = listDagsBody();
    (asDocumented.pagination as Record<string, unknown>).prevPage = null;
    const errors = validateResponse('GET', '/dags', 200, asDocumented);
    expect(errors).toContain('listDags 200: body/pagination/prevPage must be integer, got null');
  });

  it('rejects a missing required field', () => {
    const { pagination: _pagination, ...body } = listDagsBody();
    expect(validateResponse('GET', '/dags', 200, body)).toEqual([
      'listDags 200: body is missing required field "pagination"',
    ]);
    const noLog = listDagsBody();
    delete (noLog.dags[0]!.latestDAGRun as Record<string, unknown>).log;
    expect(validateResponse('GET', '/dags', 200, noLog)).toEqual([
      'listDags 200: body/dags/0/latestDAGRun is missing required field "log"',
    ]);
  });

  it('rejects a wrong type and a wrong label', () => {
    const body = listDagsBody();
    (body.dags[0]!.latestDAGRun as Record<string, unknown>).status = '1';
    (body.dags[0]!.latestDAGRun as Record<string, unknown>).statusLabel = 'cancelled';
    expect(validateResponse('GET', '/dags', 200, body)).toEqual([
      'listDags 200: body/dags/0/latestDAGRun/status must be integer, got "1"',
      expect.stringMatching(
        /^listDags 200: body\/dags\/0\/latestDAGRun\/statusLabel must be one of/,
      ),
    ]);
    expect(
      validateResponse('GET', '/dag-runs', 200, { dagRuns: [{ ...runSummary, status: 7 }] }),
    ).toEqual([expect.stringContaining('body/dagRuns/0/status must be one of [0,1,2,3,4,5,6]')]);
  });

  it('rejects null where an array is required', () => {
    expect(validateResponse('GET', '/dags', 200, { ...listDagsBody(), dags: null })).toEqual([
      'listDags 200: body/dags must be array, got null',
    ]);
    expect(validateResponse('GET', '/dag-runs', 200, { dagRuns: null })).toEqual([
      'listDagRuns 200: body/dagRuns must be array, got null',
    ]);
    expect(validateResponse('GET', '/dags/tags', 200, { tags: [], errors: [] })).toEqual([]);
    expect(validateResponse('GET', '/dags/tags', 200, { tags: null, errors: [] })).toHaveLength(1);
  });

  it('rejects an unknown field deep inside', () => {
    const body = listDagsBody();
    (body.dags[0]!.dag as Record<string, unknown>).maxActiveRuns = 1;
    expect(validateResponse('GET', '/dags', 200, body)).toEqual([
      'listDags 200: body/dags/0/dag has unknown field "maxActiveRuns"',
    ]);
  });

  it('enforces omit-when-empty on optional fields', () => {
    const withEmptyParams = { dagRuns: [{ ...runSummary, params: '' }] };
    expect(validateResponse('GET', '/dag-runs/example_dag', 200, withEmptyParams)).toEqual([
      'listDagRunsByName 200: body/dagRuns/0/params must not be empty (omit an empty optional field)',
    ]);
    expect(
      validateResponse('GET', '/dag-runs/x/1/log', 200, { content: 'a', hasMore: false }),
    ).toEqual(['getDagRunLog 200: body/hasMore is false: an empty optional field must be omitted']);
    expect(validateResponse('GET', '/dag-runs/x/1/log', 200, { content: '' })).toEqual([]);
  });

  it('accepts run details, history and DAG details', () => {
    expect(
      validateResponse('GET', '/dag-runs/example_dag/20240101_120000', 200, {
        dagRunDetails: runDetails(),
      }),
    ).toEqual([]);
    expect(
      validateResponse('GET', '/dags/example/dag-runs/latest', 200, { dagRun: runDetails() }),
    ).toEqual([]);
    expect(
      validateResponse('GET', '/dag-runs/x/1/children/child-1', 200, {
        dagRunDetails: { ...runDetails(), parentDAGRunName: 'p', parentDAGRunId: '1' },
      }),
    ).toEqual([]);
    expect(
      validateResponse('GET', '/dags/example/dag-runs', 200, {
        dagRuns: [runDetails()],
        gridData: [
          { name: 'step1', history: [4] },
          { name: 'onExit', history: [5] },
        ],
      }),
    ).toEqual([]);
    const details = {
      dag: dagDetails,
      localDags: [{ name: 'sub', dag: { name: 'sub' }, errors: [] }],
      latestDAGRun: { ...neverRan, nodes: [], preconditions: [] },
      suspended: false,
      errors: [],
    };
    expect(validateResponse('GET', '/dags/example.yaml', 200, details)).toEqual([]);
    expect(
      validateResponse('GET', '/dags/example/spec', 200, {
        spec: 'steps: []',
        errors: [],
        dag: dagDetails,
      }),
    ).toEqual([]);
    const noNodes = { dagRunDetails: { ...runDetails(), nodes: undefined } };
    expect(validateResponse('GET', '/dag-runs/x/1', 200, noNodes)).toEqual([
      'getDagRun 200: body/dagRunDetails is missing required field "nodes"',
    ]);
  });

  it('accepts search results, start and spec PUT answers', () => {
    const search = {
      results: [
        {
          name: 'example',
          dag: { name: 'example_dag' },
          matches: [{ line: 'a\nb\ndatabase\nc\nd', lineNumber: 3, startLine: 1 }],
        },
      ],
      errors: [],
    };
    expect(validateResponse('GET', '/dags/search?q=database', 200, search)).toEqual([]);
    expect(
      validateResponse('POST', '/dags/deploy-app.yaml/start', 200, { dagRunId: 'deploy-v1.2.3' }),
    ).toEqual([]);
    expect(validateResponse('POST', '/dags', 201, { name: 'my-new-dag' })).toEqual([]);
    expect(validateResponse('PUT', '/dags/example/spec', 200, { errors: [] })).toEqual([]);
    expect(validateResponse('PUT', '/dags/example/spec', 200, {})).toEqual([
      'updateDagSpec 200: body is missing required field "errors"',
    ]);
  });

  it('checks empty bodies and text bodies', () => {
    const run = '/dag-runs/my-dag/20240101_120000';
    expect(validateResponse('POST', `${run}/stop`, 200, undefined)).toEqual([]);
    expect(validateResponse('POST', `${run}/retry`, 200, '')).toEqual([]);
    expect(validateResponse('GET', `${run}/dequeue`, 200, undefined)).toEqual([]);
    expect(validateResponse('PATCH', `${run}/steps/step1/status`, 200, {})).toEqual([
      'updateStepStatus 200: body must be empty, got {}',
    ]);
    expect(validateResponse('DELETE', '/dags/my-dag', 204, undefined)).toEqual([]);
    expect(validateResponse('GET', '/metrics', 200, 'dagu_info{version="x"} 1\n')).toEqual([]);
    expect(validateResponse('GET', '/metrics', 200, { a: 1 })).toEqual([
      'metrics 200: body must be text (text/plain; version=0.0.4), got {"a":1}',
    ]);
  });

  it('checks error envelopes and their codes per status', () => {
    const notFound = { code: 'not_found', message: 'DAG x not found' };
    expect(validateResponse('GET', '/dags/x', 404, notFound)).toEqual([]);
    expect(validateResponse('GET', '/dags/x', 404, { ...notFound, code: 'bad_request' })).toEqual([
      'getDag 404: body/code must be "not_found", got "bad_request"',
    ]);
    expect(
      validateResponse('GET', '/dags/x', 500, {
        code: 'internal_error',
        message: 'boom',
        stack: 'Error: boom\n    at …',
      }),
    ).toEqual(['getDag 500: body has unknown field "stack"']);
    expect(
      validateResponse('POST', '/dags/x/start', 409, { code: 'already_running', message: 'm' }),
    ).toEqual([]);
    expect(
      validateResponse('POST', '/dag-runs/x/1/stop', 400, { code: 'not_running', message: 'm' }),
    ).toEqual([]);
    expect(
      validateResponse('POST', '/dag-runs/x/1/retry', 409, {
        code: 'already_running',
        message: 'm',
      }),
    ).toEqual([]);
    expect(
      validateResponse('POST', '/dag-runs/x/1/retry', 409, {
        code: 'already_exists',
        message: 'm',
      }),
    ).toHaveLength(1);
    expect(
      validateResponse('GET', '/dag-runs/x/1/dequeue', 400, { code: 'not_running', message: 'm' }),
    ).toEqual([expect.stringContaining('body/code must be "bad_request"')]);
    expect(
      validateResponse('POST', '/dags', 413, { code: 'bad_request', message: 'too large' }),
    ).toEqual([]);
    expect(validateResponse('GET', '/dags', 401, { code: 'unauthorized', message: 'm' })).toEqual(
      [],
    );
    expect(validateResponse('GET', '/dags', 401, undefined)).toEqual([
      'listDags 401: body must be object, got nothing',
    ]);
    expect(validateResponse('POST', '/dags/x/suspend', 403, { code: 'forbidden' })).toEqual([
      'suspendDag 403: body is missing required field "message"',
    ]);
  });

  it('reports undocumented statuses and handles unknown routes', () => {
    expect(validateResponse('GET', '/dags', 404, { code: 'not_found', message: 'm' })).toEqual([
      expect.stringMatching(/^listDags 404: status 404 is not documented/),
    ]);
    expect(validateResponse('GET', '/health', 401, { code: 'unauthorized', message: 'm' })).toEqual(
      [expect.stringMatching(/^health 401: status 401 is not documented/)],
    );
    expect(validateResponse('GET', '/nope', 404, { code: 'not_found', message: 'm' })).toEqual([]);
    expect(validateResponse('PUT', '/dags', 405, { code: 'bad_request', message: 'm' })).toEqual(
      [],
    );
    expect(validateResponse('GET', '/nope', 404, 'Cannot GET /nope')).toEqual([
      'GET /nope 404: body must be object, got "Cannot GET /nope"',
    ]);
    expect(validateResponse('GET', '/nope', 200, {})).toEqual([
      'GET /nope: no such operation in the document (status 200 is not 404 or 405)',
    ]);
  });

  it('validates single schemas', () => {
    expect(validateSchema('RetryDAGRunRequest', { dagRunId: 'x', stepName: 's' })).toEqual([]);
    // RetryDAGRunRequest.dagRunId is optional (the path names the run): a missing required
    // field is shown on SuspendDAGRequest.
    expect(validateSchema('RetryDAGRunRequest', { stepName: 's' })).toEqual([]);
    expect(validateSchema('SuspendDAGRequest', {})).toEqual([
      'body is missing required field "suspend"',
    ]);
    expect(validateSchema('StartDAGRequest', { dagRunId: '../etc' })).toHaveLength(1);
    expect(validateSchema('Nope', {})).toEqual(['no schema named Nope']);
  });
});
