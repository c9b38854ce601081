// Every operation of the client against a real server on loopback (no auth).
import { openApiDocument } from '@dagu-ts/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaguApiError, createClient, type DaguClient } from './index.js';
import { startTestServer, type TestServer } from '@dagu-ts/testing';

let server: TestServer;
let client: DaguClient;
beforeAll(async () => {
  server = await startTestServer();
  client = createClient({ baseUrl: server.baseUrl });
});
afterAll(async () => {
  await server.close();
});

/** Polls fast: the runs of these tests take milliseconds. */
const fast = { intervalMs: 25, timeoutMs: 20_000 };

async function rejection(promise: Promise<unknown>): Promise<DaguApiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DaguApiError);
  return error as DaguApiError;
}

it('has a method for every operationId of the OpenAPI document', () => {
  const ids = Object.values(openApiDocument.paths).flatMap((item) =>
    (['get', 'put', 'post', 'delete', 'patch'] as const).flatMap((method) =>
      item[method] ? [item[method].operationId] : [],
    ),
  );
  expect(ids.length).toBeGreaterThanOrEqual(30);
  const methods = client as unknown as Record<string, unknown>;
  for (const id of ids) expect(typeof methods[id], id).toBe('function');
});

describe('system', () => {
  it('health', async () => {
    const health = await client.health();
    expect(health).toMatchObject({ status: 'healthy', version: '9.9.9-client-test' });
    expect(health.uptime).toBeGreaterThanOrEqual(0);
    expect(health.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('metrics (Prometheus text)', async () => {
    const text = await client.metrics();
    expect(typeof text).toBe('string');
    expect(text).toMatch(/^# (HELP|TYPE) dagu_/m);
  });

  it('getOpenApiDocument', async () => {
    const document = await client.getOpenApiDocument();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/dags/{fileName}/start');
  });

  it('takes the server root or the API root as baseUrl, with or without a trailing slash', async () => {
    for (const baseUrl of [
      server.baseUrl,
      `${server.baseUrl}/`,
      `${server.baseUrl}/api/v2`,
      `${server.baseUrl}/api/v2/`,
    ]) {
      const other = createClient({ baseUrl });
      expect(other.apiRoot).toBe(`${server.baseUrl}/api/v2`);
      expect((await other.health()).status).toBe('healthy');
    }
  });
});

describe('DAGs', () => {
  it('listDags with filters and pagination', async () => {
    const all = await client.listDags();
    const names = all.dags.map((dag) => dag.fileName);
    expect(names).toEqual(expect.arrayContaining(['ci-build', 'sleeper', 'failing', 'parent']));
    const ci = all.dags.find((dag) => dag.fileName === 'ci-build')!;
    expect(ci.dag.name).toBe('ci_build');
    expect(ci.latestDAGRun.status).toBeTypeOf('number');
    expect(all.pagination.currentPage).toBe(1);

    const tagged = await client.listDags({ tag: 'ops' });
    expect(tagged.dags.map((dag) => dag.fileName)).toEqual(['failing']);
    const page = await client.listDags({ perPage: 1, page: 2, name: 'e' });
    expect(page.dags).toHaveLength(1);
    expect(page.pagination).toMatchObject({ currentPage: 2, prevPage: 1 });
  });

  it('listTags', async () => {
    const { tags, errors } = await client.listTags();
    expect(tags).toEqual(expect.arrayContaining(['ci', 'ops']));
    expect(errors).toEqual([]);
  });

  it('searchDags', async () => {
    const { results } = await client.searchDags({ q: 'building \\$\\{VERSION' });
    expect(results.map((result) => result.name)).toEqual(['ci-build']);
    expect(results[0]!.matches[0]!.lineNumber).toBeGreaterThan(1);
  });

  it('getDag and getDagSpec', async () => {
    const details = await client.getDag('ci-build');
    expect(details.dag?.name).toBe('ci_build');
    expect(details.dag?.steps?.map((step) => step.name)).toEqual(['build', 'report all']);
    expect(details.suspended).toBe(false);
    // `.yaml` is optional in file names.
    expect((await client.getDag('ci-build.yaml')).dag?.name).toBe('ci_build');

    const spec = await client.getDagSpec('ci-build');
    expect(spec.spec).toContain('name: ci_build');
    expect(spec.errors).toEqual([]);
  });

  it('createDag, updateDagSpec, renameDag, deleteDag', async () => {
    expect(await client.createDag({ name: 'made-by-sdk' })).toEqual({ name: 'made-by-sdk' });
    const spec = 'steps:\n  - name: only\n    command: echo made by the sdk\n';
    expect(await client.updateDagSpec('made-by-sdk', { spec })).toEqual({ errors: [] });
    expect((await client.getDagSpec('made-by-sdk')).spec).toBe(spec);
    // An invalid spec is answered with its errors and not written.
    const invalid = await client.updateDagSpec('made-by-sdk', {
      spec: 'steps:\n  - name: a\n    depends: nothing\n    command: x\n',
    });
    expect(invalid.errors.length).toBeGreaterThan(0);
    expect((await client.getDagSpec('made-by-sdk')).spec).toBe(spec);

    expect(
      await client.renameDag('made-by-sdk', { newFileName: 'renamed-by-sdk' }),
    ).toBeUndefined();
    expect((await client.getDag('renamed-by-sdk')).dag?.steps?.[0]?.name).toBe('only');
    expect((await rejection(client.getDag('made-by-sdk'))).status).toBe(404);

    expect(await client.deleteDag('renamed-by-sdk')).toBeUndefined();
    expect((await rejection(client.getDag('renamed-by-sdk'))).code).toBe('not_found');
  });

  it('suspendDag and resume', async () => {
    expect(await client.suspendDag('ci-build', { suspend: true })).toBeUndefined();
    expect((await client.getDag('ci-build')).suspended).toBe(true);
    await client.suspendDag('ci-build', { suspend: false });
    expect((await client.getDag('ci-build')).suspended).toBe(false);
  });

  it('startDag with params and a run id, getDagHistory, getDagRunOfDag', async () => {
    const { dagRunId } = await client.startDag('ci-build', {
      params: 'VERSION=v1.2.3 TARGET=production',
      dagRunId: 'release-v1.2.3',
    });
    expect(dagRunId).toBe('release-v1.2.3');
    const run = await client.waitForDagRun('ci_build', dagRunId, fast);
    expect(run).toMatchObject({ status: 4, statusLabel: 'finished' });
    expect(run.params).toBe('VERSION=v1.2.3 TARGET=production');

    const history = await client.getDagHistory('ci-build');
    expect(history.dagRuns.map((r) => r.dagRunId)).toContain(dagRunId);
    expect(history.gridData.map((row) => row.name)).toEqual(['build', 'report all']);

    const { dagRun } = await client.getDagRunOfDag('ci-build', dagRunId);
    expect(dagRun.name).toBe('ci_build');
    expect((await client.getDagRunOfDag('ci-build', 'latest')).dagRun.dagRunId).toBeTruthy();

    // A JSON object string of named parameters works as well; no body means the defaults.
    const json = await client.startDag('ci-build', { params: '{"VERSION":"v2"}' });
    expect((await client.waitForDagRun('ci_build', json.dagRunId, fast)).params).toBe(
      'VERSION=v2 TARGET=staging',
    );
    const defaults = await client.startDag('ci-build');
    expect((await client.waitForDagRun('ci_build', defaults.dagRunId, fast)).params).toBe(
      'VERSION=v0.0.0 TARGET=staging',
    );
  });
});

describe('DAG runs', () => {
  let runId: string;
  beforeAll(async () => {
    runId = (await client.startDag('ci-build', { params: 'VERSION=logs' })).dagRunId;
    await client.waitForDagRun('ci_build', runId, fast);
  });

  it('listDagRuns and listDagRunsByName', async () => {
    const { dagRuns } = await client.listDagRuns({ name: 'ci_build' });
    expect(dagRuns.map((run) => run.dagRunId)).toContain(runId);
    expect(dagRuns.every((run) => run.name === 'ci_build')).toBe(true);
    const byId = await client.listDagRuns({ dagRunId: runId });
    expect(byId.dagRuns.map((run) => run.dagRunId)).toEqual([runId]);

    const finished = await client.listDagRunsByName('ci_build', { status: 4 });
    expect(finished.dagRuns.map((run) => run.dagRunId)).toContain(runId);
    const failed = await client.listDagRunsByName('ci_build', { status: 2 });
    expect(failed.dagRuns).toEqual([]);
    const old = await client.listDagRunsByName('ci_build', { fromDate: 0, toDate: 1 });
    expect(old.dagRuns).toEqual([]);
  });

  it('getDagRun (and latest)', async () => {
    const { dagRunDetails } = await client.getDagRun('ci_build', runId);
    expect(dagRunDetails.dagRunId).toBe(runId);
    expect(dagRunDetails.nodes.map((node) => [node.step.name, node.status])).toEqual([
      ['build', 4],
      ['report all', 4],
    ]);
    const latest = await client.getDagRun('ci_build', 'latest');
    expect(latest.dagRunDetails.name).toBe('ci_build');
  });

  it('getDagRunLog and getStepLog (step names are encoded)', async () => {
    const log = await client.getDagRunLog('ci_build', runId);
    expect(typeof log.content).toBe('string');
    expect(
      (await client.getDagRunLog('ci_build', runId, { tail: 1 })).lineCount ?? 0,
    ).toBeLessThanOrEqual(1);

    expect((await client.getStepLog('ci_build', runId, 'build')).content).toBe(
      'building logs for staging',
    );
    expect((await client.getStepLog('ci_build', runId, 'report all')).content).toBe('report-out');
    const stderr = await client.getStepLog('ci_build', runId, 'report all', { stream: 'stderr' });
    expect(stderr.content).toBe('report-err');
  });

  it('updateStepStatus', async () => {
    expect(
      await client.updateStepStatus('ci_build', runId, 'report all', { status: 2 }),
    ).toBeUndefined();
    const { dagRunDetails } = await client.getDagRun('ci_build', runId);
    expect(dagRunDetails.nodes[1]!.status).toBe(2);
  });

  it('retryDagRun, of the whole run and of one step', async () => {
    const { dagRunId } = await client.startDag('failing');
    const failed = await client.waitForDagRun('failing', dagRunId, fast);
    expect(failed.status).toBe(2);
    expect(await client.retryDagRun('failing', dagRunId)).toBeUndefined();
    expect((await client.waitForDagRun('failing', dagRunId, fast)).status).toBe(2);

    expect(await client.retryDagRun('ci_build', runId, { stepName: 'build' })).toBeUndefined();
    const retried = await client.waitForDagRun('ci_build', runId, fast);
    expect(retried.nodes[0]!.status).toBe(4);
  });

  it('stopDagRun, enqueueDag and dequeueDagRun', async () => {
    const first = await client.startDag('sleeper', { params: 'SLEEP=30' });
    expect((await client.getDagRun('sleeper', first.dagRunId)).dagRunDetails.status).toBe(1);
    // maxActiveRuns 1: the next run waits in the queue.
    const queued = await client.enqueueDag('sleeper', { params: 'SLEEP=1' });
    const waiting = await client.getDagRun('sleeper', queued.dagRunId);
    expect(waiting.dagRunDetails).toMatchObject({ status: 5, statusLabel: 'queued' });

    expect(await client.dequeueDagRun('sleeper', queued.dagRunId)).toBeUndefined();
    expect((await client.getDagRun('sleeper', queued.dagRunId)).dagRunDetails.status).toBe(3);

    expect(await client.stopDagRun('sleeper', first.dagRunId)).toBeUndefined();
    const stopped = await client.waitForDagRun('sleeper', first.dagRunId, fast);
    expect(stopped).toMatchObject({ status: 3, statusLabel: 'canceled' });
  });

  it('child runs: getChildDagRun, getChildDagRunLog, getChildStepLog, updateChildStepStatus', async () => {
    const { dagRunId } = await client.startDag('parent');
    const parent = await client.waitForDagRun('parent', dagRunId, fast);
    expect(parent.status).toBe(4);
    const childId = parent.nodes[0]!.children?.[0]?.dagRunId;
    expect(childId).toBeTruthy();

    const { dagRunDetails: child } = await client.getChildDagRun('parent', dagRunId, childId!);
    expect(child).toMatchObject({ name: 'child', status: 4, parentDAGRunName: 'parent' });
    const log = await client.getChildDagRunLog('parent', dagRunId, childId!);
    expect(typeof log.content).toBe('string');
    const greet = await client.getChildStepLog('parent', dagRunId, childId!, 'greet');
    expect(greet.content).toBe('hello world');
    expect(
      (await client.getChildStepLog('parent', dagRunId, childId!, 'greet', { stream: 'stderr' }))
        .content,
    ).toBe('');

    expect(
      await client.updateChildStepStatus('parent', dagRunId, childId!, 'greet', { status: 2 }),
    ).toBeUndefined();
    const after = await client.getChildDagRun('parent', dagRunId, childId!);
    expect(after.dagRunDetails.nodes[0]!.status).toBe(2);
  });
});
