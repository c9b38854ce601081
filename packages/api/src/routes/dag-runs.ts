// DAG runs (api-v2.md §5.3): cross-DAG and per-name listings, details, logs, step status,
// retry, stop, dequeue and the child-run routes — operations 17–29 of §4.
import {
  DagRunStatus,
  toDagRunDetails,
  toDagRunSummary,
  type NodeState,
  type NodeStatus,
  type RunQuery,
  type StoredRun,
} from '@dagu-ts/core';
import type { Request, Response, Router } from 'express';
import { allow } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { jsonBody } from '../http.js';
import {
  bodyObject,
  dagName,
  optionalString,
  param,
  queryInt,
  queryString,
  requiredInt,
  runIdParam,
} from '../input.js';
import { readLogWindow, type LogWindowQuery } from '../log-window.js';
import { asSnapshot } from '../views.js';
import { methodNotAllowed } from './common.js';

/** At most this many runs per listing (Dagu's limit, also the largest `limit`). */
export const RUN_LIST_LIMIT = 1000;
/**
 * The default page of GET /dag-runs: Dagu sends up to 1000 runs (hundreds of KB) when a caller
 * only wants the recent ones. GET /dag-runs/{name} keeps Dagu's 1000: one DAG's day is small.
 */
export const RUN_LIST_DEFAULT_LIMIT = 100;
const MAX_UNIX_SECONDS = 8_640_000_000_000 / 1000;

function logQuery(req: Request): LogWindowQuery {
  return {
    tail: queryInt(req, 'tail', { min: 1 }),
    head: queryInt(req, 'head', { min: 1 }),
    offset: queryInt(req, 'offset', { min: 1 }),
    limit: queryInt(req, 'limit', { min: 1, max: 10_000 }),
  };
}

function streamOf(req: Request): 'stdout' | 'stderr' {
  const stream = queryString(req, 'stream') ?? 'stdout';
  if (stream !== 'stdout' && stream !== 'stderr')
    throw badRequest(
      `query parameter stream must be stdout or stderr, got ${JSON.stringify(stream)}`,
    );
  return stream;
}

/** A step's node among the run's nodes and handler nodes (the last with that name wins). */
function findNode(run: StoredRun, stepName: string): NodeState {
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
function runQuery(req: Request, now: Date, defaultLimit: number): RunQuery {
  const status = queryInt(req, 'status');
  const fromDate = queryInt(req, 'fromDate', { min: -MAX_UNIX_SECONDS, max: MAX_UNIX_SECONDS });
  const toDate = queryInt(req, 'toDate', { min: -MAX_UNIX_SECONDS, max: MAX_UNIX_SECONDS });
  const dagRunId = queryString(req, 'dagRunId');
  const limit = queryInt(req, 'limit', { min: 1, max: RUN_LIST_LIMIT }) ?? defaultLimit;
  const offset = queryInt(req, 'offset', { min: 0 }) ?? 0;
  const query: RunQuery = { limit, offset };
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

export function registerDagRunRoutes(router: Router, ctx: ApiContext): void {
  const { deps, runExtras } = ctx;
  const read = allow('read', deps.permissions);
  const run = allow('run', deps.permissions);

  const listSummaries = async (query: RunQuery): Promise<unknown[]> => {
    if (runExtras.listRunSummaries) {
      const { runs } = await runExtras.listRunSummaries.call(deps.runs, query);
      return runs.map((summary) => toDagRunSummary(asSnapshot(summary)));
    }
    const { runs } = await deps.runs.listRuns(query);
    return runs.map(toDagRunSummary);
  };

  // 17. GET /dag-runs
  router
    .route('/dag-runs')
    .get(read, async (req, res) => {
      const query = runQuery(req, new Date(), RUN_LIST_DEFAULT_LIMIT);
      const name = queryString(req, 'name');
      if (name !== undefined) query.nameContains = name;
      res.json({ dagRuns: await listSummaries(query) });
    })
    .all(methodNotAllowed);

  // 18. GET /dag-runs/{name}
  router
    .route('/dag-runs/:name')
    .get(read, async (req, res) => {
      const query = runQuery(req, new Date(), RUN_LIST_LIMIT);
      query.name = dagName(param(req, 'name'));
      res.json({ dagRuns: await listSummaries(query) });
    })
    .all(methodNotAllowed);

  /** `{name}/{dagRunId}` of the path, validated; `latest` allowed. */
  const runRef = (req: Request): { name: string; dagRunId: string } => ({
    name: dagName(param(req, 'name')),
    dagRunId: runIdParam(param(req, 'dagRunId')),
  });

  /** The root run, or the child run when the path has `childDAGRunId`. */
  const target = async (req: Request): Promise<StoredRun> => {
    const { name, dagRunId } = runRef(req);
    const child = (req.params as Record<string, string | undefined>).childDAGRunId;
    if (child === undefined) return ctx.getRun(name, dagRunId);
    return ctx.getChildRun(name, dagRunId, runIdParam(child, 'childDAGRunId', false));
  };

  // 19. GET /dag-runs/{name}/{dagRunId}, 26. …/children/{childDAGRunId}
  for (const path of [
    '/dag-runs/:name/:dagRunId',
    '/dag-runs/:name/:dagRunId/children/:childDAGRunId',
  ]) {
    router
      .route(path)
      .get(read, async (req, res) => {
        res.json({ dagRunDetails: toDagRunDetails((await target(req)).snapshot) });
      })
      .all(methodNotAllowed);
  }

  // 20. …/log, 27. …/children/{childDAGRunId}/log
  for (const path of [
    '/dag-runs/:name/:dagRunId/log',
    '/dag-runs/:name/:dagRunId/children/:childDAGRunId/log',
  ]) {
    router
      .route(path)
      .get(read, async (req, res) => {
        const query = logQuery(req);
        const stored = await target(req);
        res.json(await readLogWindow(deps.logs, stored.snapshot.log, query));
      })
      .all(methodNotAllowed);
  }

  // 21. …/steps/{stepName}/log, 28. …/children/{childDAGRunId}/steps/{stepName}/log
  for (const path of [
    '/dag-runs/:name/:dagRunId/steps/:stepName/log',
    '/dag-runs/:name/:dagRunId/children/:childDAGRunId/steps/:stepName/log',
  ]) {
    router
      .route(path)
      .get(read, async (req, res) => {
        const query = logQuery(req);
        const stream = streamOf(req);
        const node = findNode(await target(req), param(req, 'stepName'));
        res.json(await readLogWindow(deps.logs, node[stream], query));
      })
      .all(methodNotAllowed);
  }

  // 22. PATCH …/steps/{stepName}/status, 29. …/children/{childDAGRunId}/steps/{stepName}/status
  const setStepStatus = async (req: Request, res: Response): Promise<void> => {
    const status = requiredInt(bodyObject(req, true), 'status', 0, 5) as NodeStatus;
    const { snapshot } = await target(req);
    const stepName = param(req, 'stepName');
    // A child run is addressed through its root; a root run by its own name.
    if (snapshot.parent) {
      await deps.runs.updateChildNodeStatus(snapshot.root, snapshot.dagRunId, stepName, status);
    } else {
      await deps.runs.updateNodeStatus(snapshot.name, snapshot.dagRunId, stepName, status);
    }
    res.status(200).end();
  };
  for (const path of [
    '/dag-runs/:name/:dagRunId/steps/:stepName/status',
    '/dag-runs/:name/:dagRunId/children/:childDAGRunId/steps/:stepName/status',
  ]) {
    router.route(path).patch(run, jsonBody, setStepStatus).all(methodNotAllowed);
  }

  // 23. POST …/retry — the path's run gets a new attempt (body dagRunId is informational).
  router
    .route('/dag-runs/:name/:dagRunId/retry')
    .post(run, jsonBody, async (req, res) => {
      const body = bodyObject(req, false);
      const bodyRunId = optionalString(body, 'dagRunId');
      if (bodyRunId !== undefined && bodyRunId !== '') runIdParam(bodyRunId, 'dagRunId', false);
      const stepName = optionalString(body, 'stepName');
      const stored = await target(req);
      await deps.launcher.retry(stored, stepName ? { step: stepName } : {});
      res.status(200).end();
    })
    .all(methodNotAllowed);

  // 24. POST …/stop
  router
    .route('/dag-runs/:name/:dagRunId/stop')
    .post(run, jsonBody, async (req, res) => {
      const stored = await target(req);
      if (stored.snapshot.status !== DagRunStatus.Running)
        throw new ApiError(400, 'not_running', 'DAG is not running');
      await deps.launcher.stop(stored.snapshot.name, stored.snapshot.dagRunId);
      res.status(200).end();
    })
    .all(methodNotAllowed);

  // 25. GET …/dequeue — a state-changing GET, so it needs the run permission.
  router
    .route('/dag-runs/:name/:dagRunId/dequeue')
    .get(run, async (req, res) => {
      const stored = await target(req);
      if (stored.snapshot.status !== DagRunStatus.Queued)
        throw badRequest(
          `DAGRun status is not queued: ${toDagRunSummary(stored.snapshot).statusLabel as string}`,
        );
      await deps.launcher.dequeue(stored.snapshot.name, stored.snapshot.dagRunId);
      res.status(200).end();
    })
    .all(methodNotAllowed);
}
