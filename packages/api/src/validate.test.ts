// Requests that violate the OpenAPI document are refused by the validator compiled from it, with
// the messages the API has always sent: every case below is a 400 bad_request whose message is
// pinned word for word (they are the messages of the hand-written checks it replaced).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';
import { openApiDocument } from './openapi/document.js';
import { createRequestValidator } from './validate.js';

let api: TestApi;
let runId: string;
beforeAll(async () => {
  api = await startApi({ fixtures: ['failing.yaml', 'lines.yaml'] });
  const started = await api.call('POST', '/dags/failing/start', { json: {} });
  runId = started.body.dagRunId;
  await api.waitForRun('failing', runId);
});
afterAll(async () => {
  await api.close();
});

const NAME_RULE = 'it contains "/", "\\", ".." or NUL';
const ID_RULE = 'use letters, digits, ".", "_" and "-" (at most 64, no "..")';

async function refused(method: string, path: string, json?: unknown, raw?: string) {
  const result = await api.call(method, path, {
    ...(json !== undefined ? { json } : {}),
    ...(raw !== undefined ? { body: raw, headers: { 'Content-Type': 'application/json' } } : {}),
  });
  expect(result.status, `${method} ${path}`).toBe(400);
  expect(Object.keys(result.body as object).sort()).toEqual(['code', 'message']);
  expect(result.body.code).toBe('bad_request');
  return result.body.message as string;
}

describe('path parameters', () => {
  it('refuse unsafe names and bad run ids with the rule they break', async () => {
    expect(await refused('GET', '/dags/x..y')).toBe(`invalid fileName "x..y": ${NAME_RULE}`);
    expect(await refused('GET', '/dags/a%5Cb/spec')).toBe(
      `invalid fileName "a\\\\b": ${NAME_RULE}`,
    );
    expect(await refused('GET', '/dag-runs/x..y')).toBe(`invalid DAG name "x..y": ${NAME_RULE}`);
    expect(await refused('GET', '/dag-runs/failing/bad%20id')).toBe(
      `invalid dagRunId "bad id": ${ID_RULE}`,
    );
    const long = 'x'.repeat(65);
    expect(await refused('GET', `/dag-runs/failing/${long}/log`)).toBe(
      `invalid dagRunId "${long}": ${ID_RULE}`,
    );
    expect(await refused('GET', `/dag-runs/failing/${runId}/children/-x`)).toBe(
      `invalid childDAGRunId "-x": ${ID_RULE}`,
    );
    // Safe by the document, but nothing is left once the extension is stripped.
    expect(await refused('GET', '/dags/.yaml')).toBe('fileName is empty');
  });
});

describe('query parameters', () => {
  it('refuse bad limits, integers, repeats and unknown enum values', async () => {
    expect(await refused('GET', '/dag-runs?limit=0')).toBe(
      'query parameter limit must be at least 1, got 0',
    );
    expect(await refused('GET', '/dag-runs/failing?limit=1001')).toBe(
      'query parameter limit must be at most 1000, got 1001',
    );
    expect(await refused('GET', `/dag-runs/failing/${runId}/log?limit=10001`)).toBe(
      'query parameter limit must be at most 10000, got 10001',
    );
    expect(await refused('GET', `/dag-runs/failing/${runId}/log?tail=0`)).toBe(
      'query parameter tail must be at least 1, got 0',
    );
    expect(await refused('GET', '/dag-runs?limit=1e3')).toBe(
      'query parameter limit must be an integer, got "1e3"',
    );
    expect(await refused('GET', '/dag-runs?offset=1&offset=2')).toBe(
      'query parameter offset must be given once',
    );
    expect(await refused('GET', '/dag-runs?fromDate=9999999999999999')).toBe(
      'query parameter fromDate is out of range: 9999999999999999',
    );
    expect(await refused('GET', '/dag-runs?toDate=8640000000001')).toBe(
      'query parameter toDate must be at most 8640000000, got 8640000000001',
    );
    expect(await refused('GET', `/dag-runs/failing/${runId}/steps/broken/log?stream=both`)).toBe(
      'query parameter stream must be stdout or stderr, got "both"',
    );
    expect(await refused('GET', '/dags/search?q=')).toBe('query parameter q is required');
    expect(await refused('GET', '/dags?page=x')).toBe(
      'query parameter page must be an integer, got "x"',
    );
  });

  it('accept what the document allows: empty values, unknown parameters, any status integer', async () => {
    for (const path of [
      '/dag-runs?limit=&offset=',
      '/dag-runs?unknown=1&unknown=2',
      '/dag-runs?status=42',
    ])
      expect((await api.call('GET', path)).status, path).toBe(200);
  });
});

describe('JSON bodies', () => {
  it('refuse missing fields, wrong types and bad names with the field they concern', async () => {
    expect(await refused('POST', '/dags', {})).toBe('field name is required');
    expect(await refused('POST', '/dags', { name: null })).toBe('field name is required');
    expect(await refused('POST', '/dags', { name: 5 })).toBe('field name must be a string');
    expect(await refused('POST', '/dags', { name: '' })).toBe('name is empty');
    expect(await refused('POST', '/dags', { name: 'a/b' })).toBe(
      `invalid name "a/b": ${NAME_RULE}`,
    );
    expect(await refused('POST', '/dags', { name: 'fresh', spec: 5 })).toBe(
      'field spec must be a string',
    );
    expect(await refused('POST', '/dags')).toBe('a JSON object body is required');
    expect(await refused('POST', '/dags', undefined, '[1]')).toBe(
      'the request body must be a JSON object',
    );
    expect(await refused('POST', '/dags/lines/start', undefined, '[]')).toBe(
      'the request body must be a JSON object',
    );
    expect(await refused('POST', '/dags/lines/start', { dagRunId: 'a..b' })).toBe(
      `invalid dagRunId "a..b": ${ID_RULE}`,
    );
    expect(await refused('POST', '/dags/lines/enqueue', { singleton: 'yes' })).toBe(
      'field singleton must be a boolean',
    );
    expect(await refused('POST', '/dags/lines/suspend', {})).toBe('field suspend is required');
    expect(await refused('POST', '/dags/lines/rename', { newFileName: '../x' })).toBe(
      `invalid newFileName "../x": ${NAME_RULE}`,
    );
    expect(await refused('POST', `/dag-runs/failing/${runId}/retry`, { dagRunId: '-x' })).toBe(
      `invalid dagRunId "-x": ${ID_RULE}`,
    );
  });

  it('refuse a status outside the NodeStatus enum, or not an integer', async () => {
    const path = `/dag-runs/failing/${runId}/steps/broken/status`;
    expect(await refused('PATCH', path, { status: 9 })).toBe(
      'field status must be between 0 and 5, got 9',
    );
    expect(await refused('PATCH', path, { status: 'four' })).toBe(
      'field status must be an integer',
    );
    expect(await refused('PATCH', path, { status: 1.5 })).toBe('field status must be an integer');
  });

  it('saw no response the document does not describe', () => {
    expect(api.problems).toEqual([]);
  });
});

describe('compiling', () => {
  it('compiles every operation of the document and knows no other', () => {
    const validator = createRequestValidator(openApiDocument);
    expect(() => validator.handle('listDagRuns', () => undefined)).not.toThrow();
    // @ts-expect-error not an operation of the document
    expect(() => validator.handle('nope', () => undefined)).toThrow(/not in the OpenAPI document/);
  });
});
