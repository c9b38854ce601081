// The client's methods for Dagu v1.30's operations, against a real server on loopback (no auth).
import { afterAll, beforeAll, expect, it } from 'vitest';
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

const fast = { intervalMs: 25, timeoutMs: 20_000 };
const SPEC =
  'name: sdk-inline\nsteps:\n  - name: hello\n    command: echo 7\n    output: LUCKY_NUMBER\n';

it('validates, runs inline, reads spec and outputs, reschedules, lists queues', async () => {
  expect((await client.validateDagSpec({ spec: SPEC })).valid).toBe(true);
  const { dagRunId } = await client.executeDagRunFromSpec({ spec: SPEC });
  expect((await client.waitForDagRun('sdk-inline', dagRunId, fast)).statusLabel).toBe('finished');
  expect(await client.getDagRunSpec('sdk-inline', dagRunId)).toEqual({ spec: SPEC });
  expect((await client.getDagRunOutputs('sdk-inline', dagRunId)).outputs).toEqual({
    luckyNumber: '7',
  });
  const again = await client.rescheduleDagRun('sdk-inline', dagRunId, { dagRunId: 'sdk-again' });
  expect(again).toEqual({ dagRunId: 'sdk-again', queued: false });
  await client.waitForDagRun('sdk-inline', 'sdk-again', fast);
  const queued = await client.enqueueDagRunFromSpec({ spec: SPEC, dagRunId: 'sdk-queued' });
  expect(queued.dagRunId).toBe('sdk-queued');
  await client.waitForDagRun('sdk-inline', 'sdk-queued', fast);
  expect((await client.listQueues()).summary.totalQueued).toBe(0);
  expect(Array.isArray((await client.getSchedulerStatus()).schedulers)).toBe(true);
  expect(await client.stopAllDagRuns('sleeper')).toEqual({ errors: [] });
});

it('reads sub-runs under their v1.30 names', async () => {
  const { dagRunId } = await client.startDag('parent');
  await client.waitForDagRun('parent', dagRunId, fast);
  const { subRuns } = await client.getSubDagRuns('parent', dagRunId);
  expect(subRuns).toHaveLength(1);
  const sub = subRuns[0]!.dagRunId;
  const details = await client.getSubDagRunDetails('parent', dagRunId, sub);
  expect(details).toEqual(await client.getChildDagRun('parent', dagRunId, sub));
  const step = details.dagRunDetails.nodes[0]!.step.name;
  expect((await client.getSubDagRunLog('parent', dagRunId, sub)).content).toBeTypeOf('string');
  expect((await client.getSubDagRunStepLog('parent', dagRunId, sub, step)).content).toBeTypeOf(
    'string',
  );
  await client.updateSubDagRunStepStatus('parent', dagRunId, sub, step, { status: 4 });
});

it('manages a webhook and triggers it with its token', async () => {
  const { token, webhook } = await client.createDagWebhook('ci-build');
  expect(await client.getDagWebhook('ci-build')).toEqual(webhook);
  expect((await client.listWebhooks()).webhooks).toEqual([webhook]);
  expect((await client.toggleDagWebhook('ci-build', { enabled: false })).enabled).toBe(false);
  const disabled = await client.triggerWebhook('ci-build', token).catch((error: unknown) => error);
  expect(disabled).toBeInstanceOf(DaguApiError);
  expect((disabled as DaguApiError).status).toBe(403);
  await client.toggleDagWebhook('ci-build', { enabled: true });
  const renewed = await client.regenerateDagWebhookToken('ci-build');
  const fired = await client.triggerWebhook('ci-build', renewed.token, { payload: { a: 1 } });
  expect(fired.dagName).toBe('ci_build');
  await client.waitForDagRun('ci_build', fired.dagRunId, fast);
  await client.deleteDagWebhook('ci-build');
  const gone = await client.getDagWebhook('ci-build').catch((error: unknown) => error);
  expect((gone as DaguApiError).status).toBe(404);
});
