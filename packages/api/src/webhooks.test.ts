// Per-DAG webhooks (Dagu v1.30) over real HTTP: an admin creates, shows, regenerates, toggles and
// deletes a DAG's webhook; a caller with the token queues a run whose WEBHOOK_PAYLOAD is the
// payload, whether the rest of the API is open or behind credentials.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt, startApi, type TestApi } from '@dagu-ts/testing';

const SECRET = 'webhook-secret';
const admin = { Authorization: `Bearer ${signJwt({ role: 'admin' }, SECRET)}` };
const operator = { Authorization: `Bearer ${signJwt({ role: 'operator' }, SECRET)}` };
const viewer = { Authorization: `Bearer ${signJwt({ role: 'viewer' }, SECRET)}` };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

const HOOKED = `steps:
  - name: show
    command: printenv WEBHOOK_PAYLOAD
`;

let api: TestApi;
beforeAll(async () => {
  api = await startApi({ auth: { jwtSecret: SECRET }, fixtures: ['echo-params.yaml'] });
  writeFileSync(join(api.store.paths.dagsDir, 'hooked.yaml'), HOOKED);
});
afterAll(async () => {
  expect(api.problems).toEqual([]);
  await api.close();
});

describe('webhook management', () => {
  it('creates a token shown once, stores only its hash, and lists the webhook', async () => {
    const created = await api.call('POST', '/dags/hooked/webhook', { headers: admin });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { token, webhook } = created.body;
    expect(token).toMatch(/^dagu_wh_[1-9A-HJ-NP-Za-km-z]{40,}$/);
    expect(webhook).toMatchObject({
      dagName: 'hooked',
      tokenPrefix: token.slice(0, 12),
      enabled: true,
      createdBy: 'admin',
    });
    const stored = await api.store.webhooks.get('hooked');
    expect(stored?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token);

    const shown = await api.call('GET', '/dags/hooked/webhook', { headers: admin });
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(webhook);
    expect(JSON.stringify(shown.body)).not.toContain(token);
    const list = await api.call('GET', '/webhooks', { headers: admin });
    expect(list.body.webhooks).toEqual([webhook]);

    const again = await api.call('POST', '/dags/hooked/webhook', { headers: admin });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_exists');
    const unknown = await api.call('POST', '/dags/nope/webhook', { headers: admin });
    expect(unknown.status).toBe(404);
    await api.call('DELETE', '/dags/hooked/webhook', { headers: admin });
  });

  it('is for admins only', async () => {
    for (const headers of [operator, viewer]) {
      for (const [method, path] of [
        ['GET', '/webhooks'],
        ['GET', '/dags/hooked/webhook'],
        ['POST', '/dags/hooked/webhook'],
        ['DELETE', '/dags/hooked/webhook'],
        ['POST', '/dags/hooked/webhook/regenerate'],
      ] as const) {
        const refused = await api.call(method, path, { headers });
        expect(refused.status, `${method} ${path}`).toBe(403);
        expect(refused.body.code).toBe('forbidden');
      }
    }
    expect((await api.call('GET', '/webhooks')).status).toBe(401);
  });

  it('answers 404 for a DAG without a webhook', async () => {
    for (const [method, path, json] of [
      ['GET', '/dags/echo-params/webhook', undefined],
      ['DELETE', '/dags/echo-params/webhook', undefined],
      ['POST', '/dags/echo-params/webhook/regenerate', undefined],
      ['POST', '/dags/echo-params/webhook/toggle', { enabled: true }],
    ] as const) {
      const missing = await api.call(method, path, { headers: admin, json });
      expect(missing.status, `${method} ${path}`).toBe(404);
      expect(missing.body).toEqual({
        code: 'not_found',
        message: 'no webhook configured for DAG echo-params',
      });
    }
  });
});

describe('POST /webhooks/{fileName}', () => {
  it('queues a run with the payload as WEBHOOK_PAYLOAD, for the token only', async () => {
    const { token } = (await api.call('POST', '/dags/hooked/webhook', { headers: admin })).body;
    const payload = { ref: 'main', message: 'say "hi" \\ there', nested: { n: 1 } };

    // Not the API's credentials: an admin JWT is not a webhook token.
    const withJwt = await api.call('POST', '/webhooks/hooked', { headers: admin, json: {} });
    expect(withJwt.status).toBe(401);
    expect(withJwt.body).toEqual({ code: 'unauthorized', message: 'invalid webhook token' });
    const without = await api.call('POST', '/webhooks/hooked', { json: {} });
    expect(without.status).toBe(401);
    expect(without.body.message).toBe('missing or invalid authorization header');
    const wrong = await api.call('POST', '/webhooks/hooked', {
      headers: bearer(`${token}x`),
      json: {},
    });
    expect(wrong.status).toBe(401);
    // A DAG without a webhook looks the same as a wrong token.
    const other = await api.call('POST', '/webhooks/echo-params', {
      headers: bearer(token),
      json: {},
    });
    expect(other.status).toBe(401);

    const fired = await api.call('POST', '/webhooks/hooked', {
      headers: bearer(token),
      json: { payload, dagRunId: 'hook-1' },
    });
    expect(fired.status, JSON.stringify(fired.body)).toBe(200);
    expect(fired.body).toEqual({ dagRunId: 'hook-1', dagName: 'hooked' });
    expect((await api.waitForRun('hooked', 'hook-1')).status).toBe(4);
    const log = await api.call('GET', '/dag-runs/hooked/hook-1/steps/show/log', {
      headers: viewer,
    });
    expect(JSON.parse(log.body.content)).toEqual(payload);

    const empty = await api.call('POST', '/webhooks/hooked', { headers: bearer(token) });
    expect(empty.status).toBe(200);
    await api.waitForRun('hooked', empty.body.dagRunId);
    const emptyLog = await api.call(
      'GET',
      `/dag-runs/hooked/${empty.body.dagRunId}/steps/show/log`,
      { headers: viewer },
    );
    expect(emptyLog.body.content).toBe('{}');

    const replay = await api.call('POST', '/webhooks/hooked', {
      headers: bearer(token),
      json: { dagRunId: 'hook-1' },
    });
    expect(replay.status).toBe(409);
    expect(replay.body.code).toBe('already_exists');

    const shown = await api.call('GET', '/dags/hooked/webhook', { headers: admin });
    expect(shown.body.lastUsedAt).toBeDefined();
  });

  it('refuses a disabled webhook with 403, and the old token after regeneration', async () => {
    const { token } = (
      await api.call('POST', '/dags/hooked/webhook/regenerate', { headers: admin })
    ).body;
    const off = await api.call('POST', '/dags/hooked/webhook/toggle', {
      headers: admin,
      json: { enabled: false },
    });
    expect(off.status).toBe(200);
    expect(off.body.enabled).toBe(false);
    const disabled = await api.call('POST', '/webhooks/hooked', { headers: bearer(token) });
    expect(disabled.status).toBe(403);
    expect(disabled.body).toEqual({ code: 'forbidden', message: 'webhook is disabled' });
    // A wrong token learns nothing, not even that the webhook is disabled.
    expect(
      (await api.call('POST', '/webhooks/hooked', { headers: bearer('dagu_wh_nope') })).status,
    ).toBe(401);

    await api.call('POST', '/dags/hooked/webhook/toggle', {
      headers: admin,
      json: { enabled: true },
    });
    const renewed = await api.call('POST', '/dags/hooked/webhook/regenerate', { headers: admin });
    expect(renewed.status).toBe(200);
    expect(renewed.body.token).not.toBe(token);
    expect(renewed.body.webhook.tokenPrefix).toBe(renewed.body.token.slice(0, 12));
    expect((await api.call('POST', '/webhooks/hooked', { headers: bearer(token) })).status).toBe(
      401,
    );
    const ok = await api.call('POST', '/webhooks/hooked', { headers: bearer(renewed.body.token) });
    expect(ok.status).toBe(200);
    await api.waitForRun('hooked', ok.body.dagRunId);

    const deleted = await api.call('DELETE', '/dags/hooked/webhook', { headers: admin });
    expect(deleted.status).toBe(204);
    expect(
      (await api.call('POST', '/webhooks/hooked', { headers: bearer(renewed.body.token) })).status,
    ).toBe(401);
  });

  it('works the same when the API is open', async () => {
    const open = await startApi({ fixtures: ['echo-params.yaml'] });
    try {
      const { token } = (await open.call('POST', '/dags/echo-params/webhook')).body;
      expect((await open.call('POST', '/webhooks/echo-params')).status).toBe(401);
      const fired = await open.call('POST', '/webhooks/echo-params', { headers: bearer(token) });
      expect(fired.status).toBe(200);
      await open.waitForRun('echo-params', fired.body.dagRunId);
      expect(open.problems).toEqual([]);
    } finally {
      await open.close();
    }
  });
});
