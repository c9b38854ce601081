// Per-DAG webhooks (Dagu v1.30): an admin creates a DAG's webhook and gets its token once; a
// caller holding the token queues a run with POST /webhooks/{fileName}, whatever the API's own
// authentication is (the trigger is public to the auth middleware and checks the token itself).
// Only a SHA-256 of each token is stored (the token has 256 random bits, so a slow hash adds
// nothing), and tokens are compared in constant time.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { quoteParams, type Webhook, type WebhookStore } from '@dagu-ts/core';
import type { Router } from 'express';
import { allow, roleOf } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { jsonBody } from '../http.js';
import { canonicalFileName } from '../input.js';
import type { RequestValidator } from '../validate.js';
import type { Schemas } from '../wire.js';
import { methodNotAllowed } from './common.js';

/** Every token starts so (Dagu's format), which makes a leaked one easy to recognise. */
export const WEBHOOK_TOKEN_PREFIX = 'dagu_wh_';
/** Characters of the token kept to tell tokens apart (Dagu keeps 12). */
const TOKEN_PREFIX_LENGTH = 12;
/** Largest payload passed to a run, serialised (Dagu's limit). */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  while (value > 0n) {
    out = BASE58[Number(value % 58n)]! + out;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    out = `1${out}`;
  }
  return out;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `token` is the one whose hash is stored; the time taken says nothing about why not. */
function tokenMatches(token: string, storedHash: string): boolean {
  const given = Buffer.from(hashToken(token), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function newToken(): { token: string; tokenHash: string; tokenPrefix: string } {
  const token = WEBHOOK_TOKEN_PREFIX + base58(randomBytes(32));
  return { token, tokenHash: hashToken(token), tokenPrefix: token.slice(0, TOKEN_PREFIX_LENGTH) };
}

/** The path (relative to the API prefix) of a trigger: public to the auth middleware. */
export function isWebhookTrigger(route: string): boolean {
  return /^\/webhooks\/[^/]+$/.test(route);
}

function toWebhookDetails(webhook: Webhook): Schemas['WebhookDetails'] {
  return {
    id: webhook.id,
    dagName: webhook.dagName,
    tokenPrefix: webhook.tokenPrefix,
    enabled: webhook.enabled,
    createdAt: webhook.createdAt,
    updatedAt: webhook.updatedAt,
    ...(webhook.createdBy ? { createdBy: webhook.createdBy } : {}),
    ...(webhook.lastUsedAt ? { lastUsedAt: webhook.lastUsedAt } : {}),
  };
}

export function registerWebhookRoutes(
  router: Router,
  ctx: ApiContext,
  { handle }: RequestValidator,
): void {
  const { deps } = ctx;
  const manage = allow('manage', deps.permissions);

  const store = (): WebhookStore => {
    if (!deps.webhooks) throw notFound('webhooks are not configured on this server');
    return deps.webhooks;
  };
  const noWebhook = (fileName: string) => notFound(`no webhook configured for DAG ${fileName}`);
  /** The webhook of an existing DAG file, or 404. */
  const webhookOf = async (fileName: string): Promise<Webhook> => {
    const webhook = await store().get(fileName);
    if (!webhook) throw noWebhook(fileName);
    return webhook;
  };
  const now = () => new Date().toISOString();

  // POST /webhooks/{fileName} — token first: without it nothing is said about the DAG.
  router
    .route('/webhooks/:fileName')
    .post(
      jsonBody,
      handle('triggerWebhook', async ({ path, body }, req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const header = req.headers.authorization ?? '';
        const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
        if (!token)
          throw new ApiError(401, 'unauthorized', 'missing or invalid authorization header');
        const webhook = deps.webhooks ? await deps.webhooks.get(fileName) : undefined;
        // An unknown DAG and a wrong token look the same to a caller without the token.
        if (!webhook || !tokenMatches(token, webhook.tokenHash))
          throw new ApiError(401, 'unauthorized', 'invalid webhook token');
        if (!webhook.enabled) throw new ApiError(403, 'forbidden', 'webhook is disabled');
        const { dag } = await ctx.loadDag(fileName);
        const payload = JSON.stringify(body.payload ?? {});
        if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
          throw new ApiError(
            413,
            'bad_request',
            `webhook payload too large (max ${MAX_PAYLOAD_BYTES} bytes)`,
          );
        if (body.dagRunId && (await deps.runs.getRun(dag.name, body.dagRunId)))
          throw new ApiError(
            409,
            'already_exists',
            `dag-run with ID ${body.dagRunId} already exists`,
          );
        const { dagRunId } = await deps.launcher.enqueue(dag, {
          ...(body.dagRunId ? { dagRunId: body.dagRunId } : {}),
          // The payload is data: a remote param, never evaluated (dag-yaml.md Part A #10).
          params: { text: quoteParams([`WEBHOOK_PAYLOAD=${payload}`]), source: 'remote' },
          trigger: 'api',
        });
        await deps.webhooks!.update(fileName, { lastUsedAt: now() });
        res.json({ dagRunId, dagName: dag.name });
      }),
    )
    .all(methodNotAllowed);

  // GET /webhooks
  router
    .route('/webhooks')
    .get(
      manage,
      handle('listWebhooks', async (_input, _req, res) => {
        res.json({ webhooks: (await store().list()).map(toWebhookDetails) });
      }),
    )
    .all(methodNotAllowed);

  // GET, POST, DELETE /dags/{fileName}/webhook
  router
    .route('/dags/:fileName/webhook')
    .get(
      manage,
      handle('getDagWebhook', async ({ path }, _req, res) => {
        res.json(toWebhookDetails(await webhookOf(canonicalFileName(path.fileName))));
      }),
    )
    .post(
      manage,
      jsonBody,
      handle('createDagWebhook', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        await ctx.loadMetadata(fileName); // 404 for a DAG that does not exist
        const { token, tokenHash, tokenPrefix } = newToken();
        const at = now();
        const webhook: Webhook = {
          id: randomUUID(),
          dagName: fileName,
          tokenHash,
          tokenPrefix,
          enabled: true,
          createdAt: at,
          updatedAt: at,
          lastUsedAt: undefined,
          createdBy: roleOf(res),
        };
        await store().create(webhook);
        res.status(201).json({ webhook: toWebhookDetails(webhook), token });
      }),
    )
    .delete(
      manage,
      handle('deleteDagWebhook', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        if (!(await store().delete(fileName))) throw noWebhook(fileName);
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed);

  // POST /dags/{fileName}/webhook/regenerate — the old token stops working at once.
  router
    .route('/dags/:fileName/webhook/regenerate')
    .post(
      manage,
      jsonBody,
      handle('regenerateDagWebhookToken', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const { token, tokenHash, tokenPrefix } = newToken();
        const webhook = await store().update(fileName, {
          tokenHash,
          tokenPrefix,
          updatedAt: now(),
        });
        if (!webhook) throw noWebhook(fileName);
        res.json({ webhook: toWebhookDetails(webhook), token });
      }),
    )
    .all(methodNotAllowed);

  // POST /dags/{fileName}/webhook/toggle
  router
    .route('/dags/:fileName/webhook/toggle')
    .post(
      manage,
      jsonBody,
      handle('toggleDagWebhook', async ({ path, body }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const webhook = await store().update(fileName, {
          enabled: body.enabled,
          updatedAt: now(),
        });
        if (!webhook) throw noWebhook(fileName);
        res.json(toWebhookDetails(webhook));
      }),
    )
    .all(methodNotAllowed);
}
