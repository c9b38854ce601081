// Distributed execution (a dagu-ts extension of the API): workers claim queued runs by label,
// report their events and stream their logs here, and the server records both through its own
// ports, so the log and run endpoints show a remote run like a local one. GET /workers has Dagu
// v1.30's shape.
import {
  DagRunStatus,
  type Dag,
  type DagRunRef,
  type LogStream,
  type RunEvent,
  type RunLogSink,
  type StepLogSink,
  type WorkerRegistration,
  type WorkerStore,
} from '@dagu-ts/core';
import type { Router } from 'express';
import { allow } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { WorkerDeps } from '../deps.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { jsonBody } from '../http.js';
import type { RequestValidator } from '../validate.js';
import type { Schemas } from '../wire.js';
import { methodNotAllowed } from './common.js';

// A waiting claim looks again this often: an indexed read, cheap next to the latency it saves.
const CLAIM_POLL_MS = 25;
const DEFAULT_CLAIM_WAIT_MS = 20_000;

type LogTarget = Schemas['WorkerLogWrite']['target'];

/** The log sinks opened for remote runs, by root run; reopened after a restart (files append). */
class RemoteLogSinks {
  private readonly runs = new Map<string, Map<string, Promise<RunLogSink>>>();
  private readonly steps = new Map<string, Map<string, Promise<StepLogSink>>>();

  constructor(private readonly open: (target: LogTarget) => Promise<RunLogSink>) {}

  run(root: string, target: LogTarget): Promise<RunLogSink> {
    const sinks = ensure(this.runs, root);
    const id = `${target.dagName}\u0000${target.dagRunId}\u0000${target.attemptId}`;
    let sink = sinks.get(id);
    if (!sink) {
      sink = this.open(target);
      sinks.set(id, sink);
      sink.catch(() => sinks.delete(id));
    }
    return sink;
  }

  async step(root: string, target: LogTarget, step: { name: string; at: string }) {
    const sinks = ensure(this.steps, root);
    const id = `${target.dagName}\u0000${target.dagRunId}\u0000${target.attemptId}\u0000${step.name}\u0000${step.at}`;
    let sink = sinks.get(id);
    if (!sink) {
      const at = new Date(step.at);
      if (Number.isNaN(at.getTime())) throw badRequest(`invalid step.at "${step.at}"`);
      sink = this.run(root, target).then((run) => run.openStep(step.name, at));
      sinks.set(id, sink);
      sink.catch(() => sinks.delete(id));
    }
    return sink;
  }

  /** The root run ended: its sinks close (a late write reopens them). */
  async closeRoot(root: string): Promise<void> {
    const steps = this.steps.get(root);
    const runs = this.runs.get(root);
    this.steps.delete(root);
    this.runs.delete(root);
    for (const sink of steps?.values() ?? []) (await sink.catch(() => undefined))?.close();
    for (const sink of runs?.values() ?? []) (await sink.catch(() => undefined))?.close();
  }

  async closeAll(): Promise<void> {
    for (const root of new Set([...this.runs.keys(), ...this.steps.keys()]))
      await this.closeRoot(root);
  }
}

function ensure<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

/**
 * The DAG files a claimed run calls by name, for the claim's answer; none when there are none
 * or they cannot be read now (the step then fails with "child DAG not found" on the worker).
 */
async function childDagsOf(
  w: WorkerDeps,
  dag: Dag,
): Promise<Record<string, Record<string, never>> | undefined> {
  const found = await w.childDagsOf?.(dag).catch(() => undefined);
  if (!found || Object.keys(found).length === 0) return undefined;
  return found as unknown as Record<string, Record<string, never>>;
}

const rootKey = (name: string, dagRunId: string) => `${name}\u0000${dagRunId}`;

/** healthy within half a lease, warning up to the lease, unhealthy after (Dagu's three states). */
function healthOf(lastHeartbeat: Date, now: Date, leaseMs: number) {
  const age = now.getTime() - lastHeartbeat.getTime();
  if (age <= leaseMs / 2) return 'healthy' as const;
  return age <= leaseMs ? ('warning' as const) : ('unhealthy' as const);
}

export function registerWorkerRoutes(
  router: Router,
  ctx: ApiContext,
  { handle }: RequestValidator,
  workers: WorkerDeps | undefined,
): { close(): Promise<void> } {
  const { deps } = ctx;
  const read = allow('read', deps.permissions);
  const worker = allow('worker');
  const sinks = new RemoteLogSinks((target) =>
    deps.logs.openRun({
      dagName: target.dagName,
      dagRunId: target.dagRunId,
      attemptId: target.attemptId,
      startedAt: new Date(target.startedAt),
      ...(target.logDir ? { logDir: target.logDir } : {}),
    }),
  );
  const enabled = (): WorkerDeps => {
    if (!workers) throw notFound('distributed execution is not enabled on this server');
    return workers;
  };
  /** The run must be held by this worker; 409 not_running tells the worker to stop it. */
  const holds = async (w: WorkerDeps, workerId: string, name: string, dagRunId: string) => {
    const lease = await w.store.leaseOf(name, dagRunId);
    if (!lease || !lease.active || lease.workerId !== workerId)
      throw new ApiError(
        409,
        'not_running',
        `worker ${workerId} does not hold dag-run ${dagRunId} of DAG ${name}`,
      );
    return lease;
  };

  router
    .route('/workers')
    .get(
      read,
      handle('getWorkers', async (_input, _req, res) => {
        const list = workers ? await workers.store.listWorkers() : [];
        const now = new Date();
        res.json({
          workers: list.map((w) => ({
            id: w.id,
            labels: w.labels,
            totalPollers: w.maxActiveRuns,
            busyPollers: w.busy,
            runningTasks: w.runs.map((run) => ({
              dagRunId: run.dagRunId,
              dagName: run.name,
              startedAt: run.startedAt,
            })),
            lastHeartbeatAt: w.lastHeartbeatAt,
            healthStatus: healthOf(new Date(w.lastHeartbeatAt), now, workers?.leaseMs ?? 30_000),
          })),
          errors: [],
        });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/workers/:workerId/claim')
    .post(
      worker,
      jsonBody,
      handle('claimWorkerRun', async ({ path, body }, _req, res) => {
        const w = enabled();
        const registration: WorkerRegistration = { id: path.workerId, ...body };
        const maxWait = w.maxClaimWaitMs ?? DEFAULT_CLAIM_WAIT_MS;
        const deadline = Date.now() + Math.min(body.waitMs ?? 0, maxWait);
        let gone = false;
        // The response closing before it was written = the worker gave up (drain, timeout).
        res.on('close', () => {
          if (!res.writableFinished) gone = true;
        });
        await w.store.heartbeat(registration);
        for (;;) {
          const stored =
            body.busy < body.maxActiveRuns
              ? await w.store.claim(registration, (_queue, dag) => w.limitOf(dag))
              : undefined;
          if (stored) {
            if (gone) {
              // Nobody will run it: back to its queue at once rather than after the lease.
              await w.store.requeue(stored.snapshot.name, stored.snapshot.dagRunId);
              return;
            }
            const childDags = await childDagsOf(w, stored.dag);
            res.json({
              run: {
                name: stored.snapshot.name,
                dagRunId: stored.snapshot.dagRunId,
                dag: stored.dag as unknown as Record<string, never>,
                ...(childDags ? { childDags } : {}),
                paramsList: stored.snapshot.paramsList,
                ...(stored.snapshot.untrustedParams?.length
                  ? { untrustedParams: stored.snapshot.untrustedParams }
                  : {}),
                queuedAt: stored.snapshot.queuedAt,
              },
            });
            return;
          }
          if (gone || Date.now() >= deadline) break;
          await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
        }
        if (!gone) res.json({});
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/workers/:workerId/heartbeat')
    .post(
      worker,
      jsonBody,
      handle('workerHeartbeat', async ({ path, body }, _req, res) => {
        const w = enabled();
        const { runs, ...load } = body;
        await w.store.heartbeat({ id: path.workerId, ...load });
        const stop: DagRunRef[] = [];
        const lost: DagRunRef[] = [];
        for (const run of runs) {
          const lease = await w.store.leaseOf(run.name, run.dagRunId);
          if (!lease?.active || lease.workerId !== path.workerId) lost.push(run);
          else if (await deps.cancels.isCancelRequested(run.name, run.dagRunId)) stop.push(run);
        }
        res.json({ stop, lost });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/workers/:workerId/runs/:name/:dagRunId/events')
    .post(
      worker,
      jsonBody,
      handle('reportWorkerEvent', async ({ path, body }, _req, res) => {
        const w = enabled();
        const { name, dagRunId, workerId } = path;
        const lease = await holds(w, workerId, name, dagRunId);
        if (body.seq <= lease.lastSeq) {
          res.json({ recorded: false });
          return;
        }
        const event = body.event as unknown as RunEvent;
        const run = event.run;
        const isRoot = run.name === name && run.dagRunId === dagRunId;
        if (!isRoot && (run.root?.name !== name || run.root.dagRunId !== dagRunId))
          throw badRequest(
            `the event is not of dag-run ${dagRunId} of DAG ${name} or its children`,
          );
        if (event.type === 'run-started' && typeof event.dag !== 'object')
          throw badRequest('a run-started event needs the DAG definition (dag)');
        try {
          await deps.runs.record(
            isRoot && event.type === 'run-started' ? { ...event, trigger: 'queue' } : event,
          );
        } catch (error) {
          throw badRequest(`the event could not be recorded: ${(error as Error).message}`);
        }
        const ended = isRoot && event.type === 'run-finished';
        await w.store.commitReport(name, dagRunId, body.seq, ended);
        if (ended) {
          await deps.cancels.clearCancel(name, dagRunId).catch(() => undefined);
          await sinks.closeRoot(rootKey(name, dagRunId));
        }
        res.json({ recorded: true });
      }),
    )
    .all(methodNotAllowed);

  router
    .route('/workers/:workerId/runs/:name/:dagRunId/logs')
    .post(
      worker,
      jsonBody,
      handle('writeWorkerLog', async ({ path, body }, _req, res) => {
        const w = enabled();
        const { name, dagRunId, workerId } = path;
        await holds(w, workerId, name, dagRunId);
        const root = rootKey(name, dagRunId);
        const data = body.data === undefined ? undefined : Buffer.from(body.data, 'base64');
        if (!body.step) {
          const sink = await sinks.run(root, body.target);
          if (data && data.length > 0)
            for (const line of data.toString('utf8').replace(/\n$/, '').split('\n')) sink.log(line);
          res.json({ ref: sink.ref });
          return;
        }
        const sink = await sinks.step(root, body.target, body.step);
        if (body.stream === 'run') throw badRequest('a step log is stdout or stderr');
        const stream: LogStream = body.stream ?? 'stdout';
        let size = sink.size(stream);
        if (data && data.length > 0) {
          const offset = body.offset ?? size;
          // A retried chunk writes only what the server lacks; a gap writes nothing, and the
          // answered size tells the worker where to resend from.
          if (offset <= size && offset + data.length > size) {
            sink.write(stream, data.subarray(size - offset));
            size = sink.size(stream);
          }
        }
        res.json({ stdout: sink.stdout, stderr: sink.stderr, size });
      }),
    )
    .all(methodNotAllowed);

  return { close: () => sinks.closeAll() };
}

/** Sets `workerId` on run views (v1.30): the root run's worker, else `local`; none while queued. */
export async function withWorkerIds<
  T extends { rootDAGRunName: string; rootDAGRunId: string; status: number; workerId?: string },
>(workers: WorkerStore | undefined, views: T[]): Promise<T[]> {
  const ids = workers
    ? await workers.workerIdsOf(
        views.map((view) => ({ name: view.rootDAGRunName, dagRunId: view.rootDAGRunId })),
      )
    : new Map<string, string>();
  for (const view of views) {
    const id = ids.get(rootKey(view.rootDAGRunName, view.rootDAGRunId));
    if (id !== undefined) view.workerId = id;
    else if (view.status !== DagRunStatus.Queued) view.workerId = 'local';
  }
  return views;
}
