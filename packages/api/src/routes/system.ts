// System endpoints (api-v2.md §5.1): health and Prometheus metrics — operations 1 and 2 of §4.
import type { RequestHandler, Router } from 'express';
import type { ApiMetrics } from '../metrics.js';
import { formatRunTime } from '../run-views.js';
import type { ResultOf } from '../wire.js';
import { methodNotAllowed } from './common.js';

export function registerSystemRoutes(
  router: Router,
  options: {
    version: string;
    startedAt: Date;
    metrics: ApiMetrics;
    /** Guard of /metrics (auth is done before; this is the role check). */
    readGuard: RequestHandler;
  },
): void {
  // 1. GET /health — public even when auth is on (Part A #10).
  router
    .route('/health')
    .get((_req, res) => {
      const health: ResultOf<'health'> = {
        status: 'healthy',
        version: options.version,
        uptime: Math.floor((Date.now() - options.startedAt.getTime()) / 1000),
        timestamp: formatRunTime(new Date().toISOString()),
      };
      res.json(health);
    })
    .all(methodNotAllowed);

  // 2. GET /metrics
  router
    .route('/metrics')
    .get(options.readGuard, async (_req, res) => {
      const text = await options.metrics.registry.metrics();
      res.setHeader('Content-Type', options.metrics.registry.contentType);
      res.send(text);
    })
    .all(methodNotAllowed);
}
