// DAG runs (api-v2.md §5.3): cross-DAG and per-name listings, details, logs, step status,
// retry, stop, dequeue and the child-run routes — operations 17–29 of §4.
import { DagRunStatus, type NodeState, type RunQuery, type StoredRun } from '@dagu-ts/core';
import type { Router } from 'express';
import { allow } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { jsonBody } from '../http.js';
import { readLogWindow, type LogWindowQuery } from '../log-window.js';
import { toDagRunDetails, toDagRunSummary } from '../run-views.js';
import type { RequestValidator } from '../validate.js';
import { asSnapshot } from '../views.js';
import type { DAGRunSummary, QueryOf } from '../wire.js';
import { methodNotAllowed } from './common.js';
import { withWorkerIds } from './workers.js';

/** At most this many runs per listing (Dagu's limit, also the largest `limit`). */
export const RUN_LIST_LIMIT = 1000;
/**
 * The default page of GET /dag-runs: Dagu sends up to 1000 runs (hundreds of KB) when a caller
 * only wants the recent ones. GET /dag-runs/{name} keeps Dagu's 1000: one DAG's day is small.
 */
export const RUN_LIST_DEFAULT_LIMIT = 100;

/** The log window of a query (its bounds are checked by the request validator). */
export function logQuery(query: QueryOf<'getDagRunLog'>): LogWindowQuery {
  return { tail: query.tail, head: query.head, offset: query.offset, limit: query.limit };
}

/** A step's node among the run's nodes and handler nodes (the last with that name wins). */
export function findNode(run: StoredRun, stepName: string): NodeState {
  const node =
    run.snapshot.nodes.findLast((n) => n.step.name === stepName) ??
    Object.values(run.snapshot.handlers).find((n) => n?.step.name === stepName);
  if (!node) throw notFound(`step ${stepName} not found in DAG ${run.snapshot.name}`);
  return node;
}

/**
 * The filters of GET /dag-runs (§5.3): status, Unix-second window (default: today UTC), id;
 * then the page: `limit` runs (1–1000) after skipping `offset`, newest first.
 */
function runQuery(params: QueryOf<'listDagRunsByName'>, now: Date, defaultLimit: number): RunQuery {
  const { status, fromDate, toDate, dagRunId } = params;
  const query: RunQuery = { limit: params.limit ?? defaultLimit, offset: params.offset ?? 0 };
  if (status !== undefined) query.statuses = [status as DagRunStatus];
  if (fromDate === undefined && toDate === undefined) {
    const midnight = new Date(now);
    midnight.setUTCHours(0, 0, 0, 0);
    query.from = midnight.toISOString();
  }
  if (fromDate !== undefined) query.from = new Date(fromDate * 1000).toISOString();
  // toDate is exclusive; the store's bound is inclusive, to the millisecond.
  if (toDate !== undefined) query.to = new Date(toDate * 1000 - 1).toISOString();
  if (dagRunId !== undefined) query.dagRunId = dagRunId;
  return query;
}

export function registerDagRunRoutes(
  router: Router,
  ctx: ApiContext,
  { handle }: RequestValidator,
): void {
  const { deps, runExtras } = ctx;
  const read = allow('read', deps.permissions);
  const run = allow('run', deps.permissions);

  const listSummaries = async (query: RunQuery): Promise<DAGRunSummary[]> => {
    if (runExtras.listRunSummaries) {
      const { runs } = await runExtras.listRunSummaries.call(deps.runs, query);
      const views = runs.map((summary) => toDagRunSummary(asSnapshot(summary)));
      return withWorkerIds(deps.workers?.store, views);
    }
    const { runs } = await deps.runs.listRuns(query);
    return withWorkerIds(deps.workers?.store, runs.map(toDagRunSummary));
  };

  // 17. GET /dag-runs
  router
    .route('/dag-runs')
    .get(
      read,
      handle('listDagRuns', async (input, _req, res) => {
        const query = runQuery(input.query, new Date(), RUN_LIST_DEFAULT_LIMIT);
        if (input.query.name !== undefined) query.nameContains = input.query.name;
        res.json({ dagRuns: await listSummaries(query) });
      }),
    )
    .all(methodNotAllowed);

  // 18. GET /dag-runs/{name}
  router
    .route('/dag-runs/:name')
    .get(
      read,
      handle('listDagRunsByName', async (input, _req, res) => {
        const query = runQuery(input.query, new Date(), RUN_LIST_LIMIT);
        query.name = input.path.name;
        res.json({ dagRuns: await listSummaries(query) });
      }),
    )
    .all(methodNotAllowed);

  /** The root run (`latest` allowed), or the child run when the path has `childDAGRunId`. */
  const target = async (path: {
    name: string;
    dagRunId: string;
    childDAGRunId?: string;
  }): Promise<StoredRun> => {
    const { name, dagRunId, childDAGRunId } = path;
    if (childDAGRunId === undefined) return ctx.getRun(name, dagRunId);
    return ctx.getChildRun(name, dagRunId, childDAGRunId);
  };

  // 19. GET /dag-runs/{name}/{dagRunId}, 26. …/children/{childDAGRunId}
  for (const [path, operation] of [
    ['/dag-runs/:name/:dagRunId', 'getDagRun'],
    ['/dag-runs/:name/:dagRunId/children/:childDAGRunId', 'getChildDagRun'],
  ] as const) {
    router
      .route(path)
      .get(
        read,
        handle(operation, async (input, _req, res) => {
          const details = toDagRunDetails((await target(input.path)).snapshot);
          const [withWorker] = await withWorkerIds(deps.workers?.store, [details]);
          res.json({ dagRunDetails: withWorker! });
        }),
      )
      .all(methodNotAllowed);
  }

  // 20. …/log, 27. …/children/{childDAGRunId}/log
  for (const [path, operation] of [
    ['/dag-runs/:name/:dagRunId/log', 'getDagRunLog'],
    ['/dag-runs/:name/:dagRunId/children/:childDAGRunId/log', 'getChildDagRunLog'],
  ] as const) {
    router
      .route(path)
      .get(
        read,
        handle(operation, async (input, _req, res) => {
          const stored = await target(input.path);
          res.json(await readLogWindow(deps.logs, stored.snapshot.log, logQuery(input.query)));
        }),
      )
      .all(methodNotAllowed);
  }

  // 21. …/steps/{stepName}/log, 28. …/children/{childDAGRunId}/steps/{stepName}/log
  for (const [path, operation] of [
    ['/dag-runs/:name/:dagRunId/steps/:stepName/log', 'getStepLog'],
    ['/dag-runs/:name/:dagRunId/children/:childDAGRunId/steps/:stepName/log', 'getChildStepLog'],
  ] as const) {
    router
      .route(path)
      .get(
        read,
        handle(operation, async (input, _req, res) => {
          const node = findNode(await target(input.path), input.path.stepName);
          res.json(
            await readLogWindow(
              deps.logs,
              node[input.query.stream ?? 'stdout'],
              logQuery(input.query),
            ),
          );
        }),
      )
      .all(methodNotAllowed);
  }

  // 22. PATCH …/steps/{stepName}/status, 29. …/children/{childDAGRunId}/steps/{stepName}/status
  for (const [path, operation] of [
    ['/dag-runs/:name/:dagRunId/steps/:stepName/status', 'updateStepStatus'],
    [
      '/dag-runs/:name/:dagRunId/children/:childDAGRunId/steps/:stepName/status',
      'updateChildStepStatus',
    ],
  ] as const) {
    router
      .route(path)
      .patch(
        run,
        jsonBody,
        handle(operation, async ({ path, body: { status } }, _req, res) => {
          const { snapshot } = await target(path);
          // A child run is addressed through its root; a root run by its own name.
          if (snapshot.parent) {
            await deps.runs.updateChildNodeStatus(
              snapshot.root,
              snapshot.dagRunId,
              path.stepName,
              status,
            );
          } else {
            await deps.runs.updateNodeStatus(
              snapshot.name,
              snapshot.dagRunId,
              path.stepName,
              status,
            );
          }
          res.status(200).end();
        }),
      )
      .all(methodNotAllowed);
  }

  // 23. POST …/retry — the path's run gets a new attempt (body dagRunId is informational).
  router
    .route('/dag-runs/:name/:dagRunId/retry')
    .post(
      run,
      jsonBody,
      handle('retryDagRun', async ({ path, body: { stepName } }, _req, res) => {
        const stored = await target(path);
        await deps.launcher.retry(stored, stepName ? { step: stepName } : {});
        res.status(200).end();
      }),
    )
    .all(methodNotAllowed);

  // 24. POST …/stop
  router
    .route('/dag-runs/:name/:dagRunId/stop')
    .post(
      run,
      jsonBody,
      handle('stopDagRun', async ({ path }, _req, res) => {
        const stored = await target(path);
        if (stored.snapshot.status !== DagRunStatus.Running)
          throw new ApiError(400, 'not_running', 'DAG is not running');
        await deps.launcher.stop(stored.snapshot.name, stored.snapshot.dagRunId);
        res.status(200).end();
      }),
    )
    .all(methodNotAllowed);

  // 25. GET …/dequeue — a state-changing GET, so it needs the run permission.
  router
    .route('/dag-runs/:name/:dagRunId/dequeue')
    .get(
      run,
      handle('dequeueDagRun', async ({ path }, _req, res) => {
        const stored = await target(path);
        if (stored.snapshot.status !== DagRunStatus.Queued)
          throw badRequest(
            `DAGRun status is not queued: ${toDagRunSummary(stored.snapshot).statusLabel}`,
          );
        await deps.launcher.dequeue(stored.snapshot.name, stored.snapshot.dagRunId);
        res.status(200).end();
      }),
    )
    .all(methodNotAllowed);
}
