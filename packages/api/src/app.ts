// The router factory and a ready-made app: `<basePath>/api/v2` with every operation of
// api-v2.md Part B §4, behind logging, gzip, browser safety (Host, CORS, cross-site writes) and
// auth, ending in the one error mapper.
import compression from 'compression';
import express, { Router, type Express } from 'express';
import { allow, authEnabled, createAuthMiddleware } from './auth.js';
import { browserSafety } from './browser.js';
import { createContext } from './context.js';
import type { ApiDeps } from './deps.js';
import { createErrorMapper, routeNotFound } from './errors.js';
import { defaultLog, localNodeOnly, requestLogger } from './http.js';
import { createMetrics, type ApiMetrics } from './metrics.js';
import { openApiDocument } from './openapi/document.js';
import { methodNotAllowed } from './routes/common.js';
import { registerDagRunRoutes } from './routes/dag-runs.js';
import { registerDagRoutes } from './routes/dags.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerV130Routes } from './routes/v130.js';
import { isWebhookTrigger, registerWebhookRoutes } from './routes/webhooks.js';
import { registerWorkerRoutes } from './routes/workers.js';
import { createRequestValidator } from './validate.js';

/** The API prefix for a base path: "" → "/api/v2", "/dagu/" and "dagu" → "/dagu/api/v2". */
export function apiPrefix(basePath = ''): string {
  const trimmed = basePath.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/api/v2' : `/${trimmed}/api/v2`;
}

/** A router plus what its owner may want to reach afterwards (metrics, shutdown). */
export interface ApiRouter extends Router {
  /** This router's Prometheus registry and run counter. */
  readonly metrics: ApiMetrics;
  /** Stops listening to run events (the router keeps serving). */
  close(): void;
}

/**
 * The REST API v2 router: mount it on an Express 5 app (`app.use(createApiRouter(deps))`).
 * Requests outside `<basePath>/api/v2` pass through untouched; inside, unknown routes are
 * 404 not_found and every error goes through the one error mapper.
 */
export function createApiRouter(deps: ApiDeps): ApiRouter {
  const log = deps.log ?? defaultLog;
  const startedAt = deps.startedAt ?? new Date();
  const metrics = createMetrics(deps, startedAt);
  const ctx = createContext(deps);
  // The request rules of every operation, compiled from the document once per router.
  const validator = createRequestValidator(openApiDocument);
  // Parse the DAG files once in the background, so the first listing is not the slow one.
  void ctx.catalog().catch(() => undefined);

  const api = Router({ caseSensitive: true, mergeParams: false });
  api.use(requestLogger(log));
  api.use(compression({ level: 5 }));
  api.use(
    browserSafety({
      corsAllowedOrigins: deps.corsAllowedOrigins,
      allowedHosts: deps.allowedHosts,
      authEnabled: authEnabled(deps.auth),
      // Liveness probes often use a service name as Host; /health tells nothing worth stealing.
      isHostExempt: (path) => path.replace(/\/+$/, '') === '/health',
    }),
  );
  api.use(
    createAuthMiddleware({
      auth: deps.auth,
      isPublic: (path) => {
        const route = path.replace(/\/+$/, '');
        // A webhook trigger authenticates with the DAG's own token (routes/webhooks.ts).
        if (isWebhookTrigger(route)) return true;
        return route === '/health' || (route === '/metrics' && deps.publicMetrics === true);
      },
    }),
  );
  api.use(localNodeOnly);
  const read = allow('read', deps.permissions);

  registerSystemRoutes(api, { version: deps.version, startedAt, metrics, readGuard: read });
  api
    .route('/openapi.json')
    .get(read, (_req, res) => {
      res.json(openApiDocument);
    })
    .all(methodNotAllowed);
  // Dagu v1.30's routes first: some of their paths would match a v1.17 template.
  registerV130Routes(api, ctx, validator, { startedAt });
  registerWebhookRoutes(api, ctx, validator);
  registerDagRoutes(api, ctx, validator);
  registerDagRunRoutes(api, ctx, validator);
  const workerRoutes = registerWorkerRoutes(api, ctx, validator, deps.workers);
  api.use(routeNotFound);
  api.use(createErrorMapper({ log }));

  const router = Router({ caseSensitive: true }) as ApiRouter;
  router.use(apiPrefix(deps.basePath), api);
  Object.defineProperty(router, 'metrics', { value: metrics });
  Object.defineProperty(router, 'close', {
    value: () => {
      metrics.close();
      workerRoutes.close().catch(() => undefined);
    },
  });
  return router;
}

/**
 * An Express app serving only the API: the router, then 404 not_found JSON for any other path
 * and the error mapper. Handy for the server app and for tests.
 */
export function createApiApp(deps: ApiDeps): Express & { apiRouter: ApiRouter } {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const router = createApiRouter(deps);
  app.use(router);
  app.use(routeNotFound);
  app.use(createErrorMapper({ log: deps.log ?? defaultLog }));
  return Object.assign(app, { apiRouter: router });
}
