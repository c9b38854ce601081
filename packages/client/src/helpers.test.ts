// waitForDagRun, startAndWait and the async iterators, on real runs of a real server.
import { createQueuedSnapshot, loadDag, type DagRunSnapshot } from '@dagu-ts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DaguTimeoutError,
  RUN_LIST_LIMIT,
  createClient,
  type DAGRunDetails,
  type DaguClient,
} from './index.js';
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

describe('waitForDagRun', () => {
  it('resolves with the final details of a real run, reporting each poll', async () => {
    const { dagRunId } = await client.startDag('sleeper', { params: 'SLEEP=1' });
    const seen: DAGRunDetails['status'][] = [];
    const run = await client.waitForDagRun('sleeper', dagRunId, {
      intervalMs: 100,
      timeoutMs: 20_000,
      onUpdate: (details) => seen.push(details.status),
    });
    expect(run).toMatchObject({ dagRunId, status: 4, statusLabel: 'finished' });
    expect(run.nodes[0]!.status).toBe(4);
    expect(seen[0]).toBe(1);
    expect(seen.at(-1)).toBe(4);
  });

  it('keeps waiting while the run is queued', async () => {
    const first = await client.startDag('sleeper', { params: 'SLEEP=1' });
    const second = await client.startDag('sleeper', { params: 'SLEEP=0' });
    const seen = new Set<number>();
    const run = await client.waitForDagRun('sleeper', second.dagRunId, {
      intervalMs: 50,
      timeoutMs: 20_000,
      onUpdate: (details) => seen.add(details.status),
    });
    expect(seen.has(5)).toBe(true);
    expect(run.status).toBe(4);
    expect((await client.getDagRun('sleeper', first.dagRunId)).dagRunDetails.status).toBe(4);
  });

  it('follows the run that was latest at its first poll, not a newer one', async () => {
    const first = await client.startDag('sleeper', { params: 'SLEEP=1' });
    let newer: Promise<{ dagRunId: string }> | undefined;
    const run = await client.waitForDagRun('sleeper', 'latest', {
      intervalMs: 50,
      timeoutMs: 20_000,
      // A newer run (queued behind the first) becomes "latest" while the wait goes on.
      onUpdate: () => void (newer ??= client.startDag('sleeper', { params: 'SLEEP=0' })),
    });
    expect(run.dagRunId).toBe(first.dagRunId);
    const { dagRunId } = await newer!;
    expect(dagRunId).not.toBe(first.dagRunId);
    await client.waitForDagRun('sleeper', dagRunId, { intervalMs: 50, timeoutMs: 20_000 });
  });

  it('resolves (does not reject) with a failed run', async () => {
    const { dagRunId } = await client.startDag('failing');
    const run = await client.waitForDagRun('failing', dagRunId, { intervalMs: 25 });
    expect(run).toMatchObject({ status: 2, statusLabel: 'failed' });
    expect(run.nodes[0]!.error).toBeTruthy();
  });

  it('gives up after timeoutMs with a DaguTimeoutError', async () => {
    const { dagRunId } = await client.startDag('sleeper', { params: 'SLEEP=30' });
    try {
      const started = Date.now();
      const error: unknown = await client
        .waitForDagRun('sleeper', dagRunId, { intervalMs: 50, timeoutMs: 300 })
        .catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(DaguTimeoutError);
      expect(error).toMatchObject({ timeoutMs: 300 });
      expect((error as Error).message).toMatch(/did not finish within 300 ms \(still running\)/);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await client.stopDagRun('sleeper', dagRunId);
      await client.waitForDagRun('sleeper', dagRunId, { intervalMs: 25 });
    }
  });

  it('stops when its signal aborts', async () => {
    const { dagRunId } = await client.startDag('sleeper', { params: 'SLEEP=30' });
    try {
      const controller = new AbortController();
      const waiting = client
        .waitForDagRun('sleeper', dagRunId, { intervalMs: 5_000, signal: controller.signal })
        .catch((reason: unknown) => reason);
      setTimeout(() => controller.abort(new Error('cancelled by the caller')), 100);
      expect(await waiting).toMatchObject({ message: 'cancelled by the caller' });
    } finally {
      await client.stopDagRun('sleeper', dagRunId);
      await client.waitForDagRun('sleeper', dagRunId, { intervalMs: 25 });
    }
  });
});

describe('startAndWait', () => {
  it('starts a run with params and resolves with its final details', async () => {
    // The file is ci-build.yaml, the DAG inside is named ci_build.
    const run = await client.startAndWait(
      'ci-build',
      { params: 'VERSION=v3.0.0 TARGET=production', dagRunId: 'deploy-v3.0.0' },
      { intervalMs: 25, timeoutMs: 20_000 },
    );
    expect(run).toMatchObject({
      name: 'ci_build',
      dagRunId: 'deploy-v3.0.0',
      status: 4,
      params: 'VERSION=v3.0.0 TARGET=production',
    });
    const log = await client.getStepLog(run.name, run.dagRunId, 'build');
    expect(log.content).toBe('building v3.0.0 for production');
  });

  it('rejects with the error of the start', async () => {
    await expect(client.startAndWait('ghost')).rejects.toMatchObject({ status: 404 });
  });
});

describe('iterateDags', () => {
  it('walks every page', async () => {
    for (let i = 0; i < 7; i++)
      server.writeDag(`paged-${i}.yaml`, `steps:\n  - name: s\n    command: echo ${i}\n`);
    const all = await client.listDags({ perPage: 200 });
    expect(all.pagination.totalPages).toBe(1);
    expect(all.dags.length).toBeGreaterThan(7);

    const pages: number[] = [];
    const paging = createClient({
      baseUrl: server.baseUrl,
      fetch: (url, init) => {
        pages.push(Number(new URL(url).searchParams.get('page')));
        return fetch(url, init);
      },
    });
    const names: string[] = [];
    for await (const dag of paging.iterateDags({ perPage: 3 })) names.push(dag.fileName);
    expect(names).toEqual(all.dags.map((dag) => dag.fileName));
    expect(pages).toEqual(
      Array.from({ length: Math.ceil(all.dags.length / 3) }, (_, index) => index + 1),
    );

    const filtered: string[] = [];
    for await (const dag of client.iterateDags({ name: 'paged', perPage: 2, page: 2 }))
      filtered.push(dag.fileName);
    expect(filtered).toEqual(['paged-2', 'paged-3', 'paged-4', 'paged-5', 'paged-6']);
  });

  it('can stop early', async () => {
    let count = 0;
    for await (const _dag of client.iterateDags({ perPage: 1 })) if (++count === 2) break;
    expect(count).toBe(2);
  });
});

describe('iterateDagRuns', () => {
  it(`goes past the ${RUN_LIST_LIMIT}-run cap of a listing`, async () => {
    // 2,100 finished runs of one DAG, four per second over the last ~9 minutes, imported into
    // the real store as history (what a migration from Dagu does).
    const dag = await loadDag(server.store.dags.pathOf('failing'));
    const base = await createQueuedSnapshot(dag, { dagRunId: 'template' });
    const now = Math.floor(Date.now() / 1000) * 1000;
    const total = 2_100;
    const runs = Array.from({ length: total }, (_, i) => {
      const dagRunId = `imported-${String(i).padStart(5, '0')}`;
      const startedAt = new Date(now - 600_000 + Math.floor(i / 4) * 1000 + (i % 4) * 10);
      const snapshot: DagRunSnapshot = {
        ...base,
        dagRunId,
        attemptId: `attempt-${i}`,
        root: { name: base.name, dagRunId },
        status: 4,
        queuedAt: '',
        startedAt: startedAt.toISOString(),
        finishedAt: new Date(startedAt.getTime() + 5).toISOString(),
      };
      return { dag, snapshot, trigger: 'api' as const };
    });
    expect(await server.store.runs.importRuns(runs)).toBe(total);

    const fromDate = Math.floor(now / 1000) - 3_600;
    const single = await client.listDagRunsByName('failing', { fromDate });
    expect(single.dagRuns).toHaveLength(RUN_LIST_LIMIT);

    const requests: string[] = [];
    const counting = createClient({
      baseUrl: server.baseUrl,
      fetch: (url, init) => {
        requests.push(url);
        return fetch(url, init);
      },
    });
    const ids: string[] = [];
    for await (const run of counting.iterateDagRunsByName('failing', { fromDate }))
      if (run.dagRunId.startsWith('imported-')) ids.push(run.dagRunId);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    // Newest first, as the listing itself.
    expect(ids).toEqual([...ids].sort().reverse());
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(new URL(requests[1]!).searchParams.get('toDate')).toMatch(/^\d+$/);

    // Without dates the server lists today's runs (UTC); the later windows keep that bound.
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    const today = runs.filter((run) => run.snapshot.startedAt >= midnight.toISOString()).length;
    requests.length = 0;
    let todayCount = 0;
    for await (const run of counting.iterateDagRunsByName('failing'))
      if (run.dagRunId.startsWith('imported-')) todayCount++;
    expect(todayCount).toBe(today);
    if (today >= RUN_LIST_LIMIT)
      expect(new URL(requests[1]!).searchParams.get('fromDate')).toBe(
        String(midnight.getTime() / 1000),
      );

    const across: string[] = [];
    for await (const run of client.iterateDagRuns({ name: 'failing', fromDate }))
      if (run.dagRunId.startsWith('imported-')) across.push(run.dagRunId);
    expect(across).toEqual(ids);
  });

  it('is a single request below the cap', async () => {
    const { dagRunId } = await client.startDag('ci-build');
    await client.waitForDagRun('ci_build', dagRunId, { intervalMs: 25 });
    const seen: string[] = [];
    for await (const run of client.iterateDagRuns({ name: 'ci_build' })) seen.push(run.dagRunId);
    expect(seen).toContain(dagRunId);
  });
});
