// Dagu v1.30.3's additions to /api/v2 (issue 19), apart from webhooks (webhooks.ts): validate a
// spec, run or queue an inline spec, stop every run of a DAG, the spec and the outputs of a run,
// reschedule, the `sub-dag-runs` names of the child-run paths, the queues and the scheduler.
// Registered before the v1.17 routes: `/dags/validate` and `/dag-runs/enqueue` would otherwise
// be taken for a file name and a DAG name.
import { hostname } from 'node:os';
import {
  DagRunStatus,
  DagValidationError,
  paramsText,
  parseDag,
  quoteParams,
  type Dag,
  type DagRunSnapshot,
  type NodeState,
  type ParamsOverride,
  type StoredRun,
} from '@dagu-ts/core';
import type { Router } from 'express';
import { allow } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { jsonBody } from '../http.js';
import { canonicalFileName } from '../input.js';
import { readLogWindow } from '../log-window.js';
import { toDagRunDetails, toDagRunSummary } from '../run-views.js';
import type { RequestValidator } from '../validate.js';
import { toDagDetails } from '../views.js';
import type { DAGRunSummary, ResultOf, Schemas } from '../wire.js';
import { methodNotAllowed } from './common.js';
import { findNode, logQuery } from './dag-runs.js';
import { withWorkerIds } from './workers.js';
import { issueMessages } from './dags.js';

/** What Go sends for a time that was never set (Dagu's `completedAt` of an unfinished run). */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** The name an inline spec without `name:` (and without a `name` field) runs under, as Dagu. */
const INLINE_DEFAULT_NAME = 'inline';

/** `TOTAL_COUNT` → `totalCount` (Dagu's key for an `output:` without an explicit key). */
export function screamingSnakeToCamel(name: string): string {
  return name
    .split('_')
    .filter((part) => part !== '')
    .map((part, index) => {
      const lower = part.toLowerCase();
      return index === 0 ? lower : lower.charAt(0).toUpperCase() + lower.slice(1);
    })
    .join('');
}

/**
 * Dagu's outputs of a run: every step's `output:` variable in plan order (the last one wins a
 * name), collected once the run has finished; an unfinished run has none yet.
 */
export function runOutputs(run: DagRunSnapshot): ResultOf<'getDagRunOutputs'> {
  const finished = run.finishedAt !== '' && run.status !== DagRunStatus.Running;
  const outputs: Record<string, string> = {};
  if (finished) {
    for (const node of run.nodes) {
      const name = node.step.output;
      const entry = name === undefined ? undefined : node.outputs[name];
      if (name === undefined || entry === undefined) continue;
      const eq = entry.indexOf('=');
      outputs[screamingSnakeToCamel(name)] = eq === -1 ? entry : entry.slice(eq + 1);
    }
  }
  const summary = toDagRunSummary(run);
  return {
    metadata: {
      dagName: run.name,
      dagRunId: run.dagRunId,
      attemptId: run.attemptId,
      status: summary.statusLabel,
      completedAt: finished ? new Date(run.finishedAt).toISOString() : GO_ZERO_TIME,
      ...(run.paramsList.length > 0 ? { params: JSON.stringify(run.paramsList) } : {}),
    },
    outputs,
  };
}

/** A caller's params: data, never run or expanded (dag-yaml.md Part A #10). */
function remoteParams(text: string | undefined): { params?: ParamsOverride } {
  const params = paramsText(text);
  return params === undefined ? {} : { params: { text: params, source: 'remote' } };
}

export interface V130RouteOptions {
  /** When this process's scheduler started (the API's start time). */
  startedAt: Date;
}

export function registerV130Routes(
  router: Router,
  ctx: ApiContext,
  { handle }: RequestValidator,
  options: V130RouteOptions,
): void {
  const { deps } = ctx;
  const read = allow('read', deps.permissions);
  const run = allow('run', deps.permissions);

  const runningCount = async (dag: Dag): Promise<number> =>
    (await deps.runs.listRuns({ name: dag.name, statuses: [DagRunStatus.Running], limit: 0 }))
      .total;

  /** An inline spec, checked like an upload: size, validation and names (core's loader). */
  const inlineDag = (spec: string, name: string | undefined): Dag =>
    parseDag(spec, { name: name ?? INLINE_DEFAULT_NAME });

  // POST /dags/validate — nothing is written; any caller may check a spec. Other methods fall
  // through to /dags/{fileName} (a DAG file may be called `validate`).
  router.route('/dags/validate').post(
    read,
    jsonBody,
    handle('validateDagSpec', ({ body }, _req, res) => {
      try {
        const dag = parseDag(body.spec, { name: body.name ?? INLINE_DEFAULT_NAME });
        res.json({ valid: true, dag: toDagDetails(dag), errors: [] });
      } catch (error) {
        if (!(error instanceof DagValidationError)) throw error;
        res.json({ valid: false, errors: issueMessages(error) });
      }
    }),
  );

  // POST /dag-runs — GET stays the v1.17 listing (registered later on the same path).
  router.route('/dag-runs').post(
    run,
    jsonBody,
    handle('executeDagRunFromSpec', async ({ body }, _req, res) => {
      const dag = inlineDag(body.spec, body.name);
      if (body.singleton === true && (await runningCount(dag)) > 0)
        throw new ApiError(409, 'already_running', `DAG ${dag.name} is already running`);
      const { dagRunId } = await deps.launcher.start(dag, {
        ...(body.dagRunId ? { dagRunId: body.dagRunId } : {}),
        ...remoteParams(body.params),
        trigger: 'api',
      });
      res.json({ dagRunId });
    }),
  );

  // POST /dag-runs/enqueue — other methods fall through to GET /dag-runs/{name}.
  router.route('/dag-runs/enqueue').post(
    run,
    jsonBody,
    handle('enqueueDagRunFromSpec', async ({ body }, _req, res) => {
      const dag = inlineDag(body.spec, body.name);
      if (body.queue) dag.queue = body.queue;
      const { dagRunId } = await deps.launcher.enqueue(dag, {
        ...(body.dagRunId ? { dagRunId: body.dagRunId } : {}),
        ...remoteParams(body.params),
        trigger: 'api',
      });
      res.json({ dagRunId });
    }),
  );

  // POST /dags/{fileName}/stop-all
  router
    .route('/dags/:fileName/stop-all')
    .post(
      run,
      jsonBody,
      handle('stopAllDagRuns', async ({ path }, _req, res) => {
        const { name } = await ctx.loadMetadata(canonicalFileName(path.fileName));
        const { runs } = await deps.runs.listRuns({ name, statuses: [DagRunStatus.Running] });
        const errors: string[] = [];
        for (const running of runs) {
          try {
            await deps.launcher.stop(name, running.dagRunId);
          } catch (error) {
            errors.push(`stopping ${running.dagRunId}: ${(error as Error).message}`);
          }
        }
        res.json({ errors });
      }),
    )
    .all(methodNotAllowed);

  // GET /dag-runs/{name}/{dagRunId}/spec — the YAML stored with the run's definition.
  router
    .route('/dag-runs/:name/:dagRunId/spec')
    .get(
      read,
      handle('getDagRunSpec', async ({ path }, _req, res) => {
        const stored = await ctx.getRun(path.name, path.dagRunId);
        if (stored.dag.spec === undefined)
          throw notFound(`DAG spec not found for ${path.name}/${stored.snapshot.dagRunId}`);
        res.json({ spec: stored.dag.spec });
      }),
    )
    .all(methodNotAllowed);

  // GET /dag-runs/{name}/{dagRunId}/outputs
  router
    .route('/dag-runs/:name/:dagRunId/outputs')
    .get(
      read,
      handle('getDagRunOutputs', async ({ path }, _req, res) => {
        res.json(runOutputs((await ctx.getRun(path.name, path.dagRunId)).snapshot));
      }),
    )
    .all(methodNotAllowed);

  // POST /dag-runs/{name}/{dagRunId}/reschedule — a new run of the stored definition with the
  // run's params, refused while the DAG runs (Dagu enforces singleton here).
  router
    .route('/dag-runs/:name/:dagRunId/reschedule')
    .post(
      run,
      jsonBody,
      handle('rescheduleDagRun', async ({ path, body }, _req, res) => {
        const stored = await ctx.getRun(path.name, path.dagRunId);
        const dag = structuredClone(stored.dag);
        if (body.dagName) dag.name = body.dagName;
        if ((await runningCount(dag)) > 0)
          throw new ApiError(409, 'already_running', `DAG ${dag.name} is already running`);
        const params = quoteParams(stored.snapshot.paramsList);
        const result = await deps.launcher.start(dag, {
          ...(body.dagRunId ? { dagRunId: body.dagRunId } : {}),
          // The values were recorded as data; they stay data (never evaluated again).
          ...(params ? { params: { text: params, source: 'remote' as const } } : {}),
          trigger: 'api',
        });
        res.json({ dagRunId: result.dagRunId, queued: result.queued });
      }),
    )
    .all(methodNotAllowed);

  // GET /dag-runs/{name}/{dagRunId}/sub-dag-runs
  router
    .route('/dag-runs/:name/:dagRunId/sub-dag-runs')
    .get(
      read,
      handle('getSubDagRuns', async ({ path, query }, _req, res) => {
        const root = await ctx.getRun(path.name, path.dagRunId);
        const parent = query.parentSubDAGRunId
          ? await ctx.getChildRun(path.name, path.dagRunId, query.parentSubDAGRunId)
          : root;
        const ref = { name: root.snapshot.name, dagRunId: root.snapshot.dagRunId };
        const subRuns: Schemas['SubDAGRunDetail'][] = [];
        const children = (node: NodeState) => [...node.children, ...node.childrenRepeated];
        for (const child of parent.snapshot.nodes.flatMap(children)) {
          const sub = await deps.runs.getChildRun(ref, child.dagRunId);
          if (!sub) continue; // not recorded (yet): Dagu skips it too
          const summary = toDagRunSummary(sub.snapshot);
          subRuns.push({
            dagRunId: child.dagRunId,
            ...(child.params ? { params: child.params } : {}),
            status: summary.status,
            statusLabel: summary.statusLabel,
            startedAt: summary.startedAt,
            finishedAt: summary.finishedAt,
          });
        }
        res.json({ subRuns });
      }),
    )
    .all(methodNotAllowed);

  // The v1.30 names of the child-run paths answer like the v1.17 `children` paths.
  const sub = (path: { name: string; dagRunId: string; subDAGRunId: string }) =>
    ctx.getChildRun(path.name, path.dagRunId, path.subDAGRunId);
  const subPath = '/dag-runs/:name/:dagRunId/sub-dag-runs/:subDAGRunId';
  router
    .route(subPath)
    .get(
      read,
      handle('getSubDagRunDetails', async ({ path }, _req, res) => {
        const details = toDagRunDetails((await sub(path)).snapshot);
        const [withWorker] = await withWorkerIds(deps.workers?.store, [details]);
        res.json({ dagRunDetails: withWorker! });
      }),
    )
    .all(methodNotAllowed);
  router
    .route(`${subPath}/log`)
    .get(
      read,
      handle('getSubDagRunLog', async ({ path, query }, _req, res) => {
        res.json(await readLogWindow(deps.logs, (await sub(path)).snapshot.log, logQuery(query)));
      }),
    )
    .all(methodNotAllowed);
  router
    .route(`${subPath}/steps/:stepName/log`)
    .get(
      read,
      handle('getSubDagRunStepLog', async ({ path, query }, _req, res) => {
        const node = findNode(await sub(path), path.stepName);
        res.json(await readLogWindow(deps.logs, node[query.stream ?? 'stdout'], logQuery(query)));
      }),
    )
    .all(methodNotAllowed);
  router
    .route(`${subPath}/steps/:stepName/status`)
    .patch(
      run,
      jsonBody,
      handle('updateSubDagRunStepStatus', async ({ path, body: { status } }, _req, res) => {
        const { snapshot } = await sub(path);
        await deps.runs.updateChildNodeStatus(
          snapshot.root,
          snapshot.dagRunId,
          path.stepName,
          status,
        );
        res.status(200).end();
      }),
    )
    .all(methodNotAllowed);

  // GET /queues — configured (global) queues always; a DAG's own queue while it has runs.
  router
    .route('/queues')
    .get(
      read,
      handle('listQueues', async (_input, _req, res) => {
        interface QueueView {
          name: string;
          type: 'global' | 'dag-based';
          maxConcurrency: number;
          running: DAGRunSummary[];
          queued: DAGRunSummary[];
        }
        const limits = deps.queueLimits ?? new Map<string, number>();
        const queues = new Map<string, QueueView>();
        for (const [name, limit] of limits)
          queues.set(name, {
            name,
            type: 'global',
            maxConcurrency: limit,
            running: [],
            queued: [],
          });
        const queueOf = (stored: StoredRun): QueueView => {
          let queue = queues.get(stored.queue);
          if (!queue) {
            queue = {
              name: stored.queue,
              type: 'dag-based',
              maxConcurrency: Math.max(1, stored.dag.maxActiveRuns),
              running: [],
              queued: [],
            };
            queues.set(stored.queue, queue);
          }
          return queue;
        };
        const { runs: running } = await deps.runs.listRuns({ statuses: [DagRunStatus.Running] });
        for (const snapshot of running) {
          const stored = await deps.runs.getRun(snapshot.name, snapshot.dagRunId);
          if (stored) queueOf(stored).running.push(toDagRunSummary(stored.snapshot));
        }
        for (const item of await deps.queue.list()) {
          const stored = await deps.runs.getRun(item.name, item.dagRunId);
          if (stored?.snapshot.status === DagRunStatus.Queued)
            queueOf(stored).queued.push(toDagRunSummary(stored.snapshot));
        }
        const list = [...queues.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
        const totalRunning = list.reduce((sum, q) => sum + q.running.length, 0);
        const totalCapacity = list.reduce((sum, q) => sum + q.maxConcurrency, 0);
        res.json({
          queues: list,
          summary: {
            totalQueues: list.length,
            totalRunning,
            totalQueued: list.reduce((sum, q) => sum + q.queued.length, 0),
            totalCapacity,
            utilizationPercentage:
              totalCapacity > 0 ? Math.min(100, (totalRunning / totalCapacity) * 100) : 0,
          },
        });
      }),
    )
    .all(methodNotAllowed);

  // GET /services/scheduler — this process's scheduler, when it runs one.
  router
    .route('/services/scheduler')
    .get(
      read,
      handle('getSchedulerStatus', (_input, _req, res) => {
        const host = hostname();
        res.json({
          schedulers:
            deps.schedulerRunning?.() === true
              ? [
                  {
                    instanceId: `${host}@${process.pid}`,
                    host,
                    status: 'active',
                    startedAt: options.startedAt.toISOString(),
                  },
                ]
              : [],
        });
      }),
    )
    .all(methodNotAllowed);
}
