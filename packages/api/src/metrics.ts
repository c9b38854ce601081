// Prometheus metrics (api-v2.md §7 and Part A #14): Dagu's seven dagu_* metrics with their
// names and labels, plus Node's default process metrics, on a registry of this router's own so
// that two routers in one process never share (or clash over) a metric. The registry is built on
// the first scrape (prom-client and its dependencies are ~1.5 MB of an idle server that nobody
// scrapes); runs that ended before it are counted from the start all the same. Node's default
// metrics start then too: their GC and event-loop histograms cover the time since the first scrape.
import { createRequire } from 'node:module';
import { DagRunStatus, type RunEvent, type WorkerRecord } from '@dagu-ts/core';
import type PromClient from 'prom-client';
import type { Counter, Registry } from 'prom-client';
import type { ApiDeps } from './deps.js';

const requireModule = createRequire(import.meta.url);

/** Terminal statuses → the `status` label of dagu_dag_runs_total. */
const STATUS_LABELS: Partial<Record<DagRunStatus, string>> = {
  [DagRunStatus.Success]: 'success',
  [DagRunStatus.Failed]: 'error',
  [DagRunStatus.PartialSuccess]: 'partial_success',
  [DagRunStatus.Canceled]: 'cancelled',
};

export interface ApiMetrics {
  /** Built on first use. */
  readonly registry: Registry;
  /** Counts one run that reached a terminal status (called for each run-finished event). */
  observe(event: RunEvent): void;
  /** Stops listening to run events. */
  close(): void;
}

export function createMetrics(
  deps: Pick<
    ApiDeps,
    'version' | 'runs' | 'queue' | 'dags' | 'schedulerRunning' | 'subscribeRunEvents' | 'workers'
  >,
  startedAt: Date,
): ApiMetrics {
  // Runs that ended, by status label, counted before the registry exists.
  const ended = new Map<string, number>(Object.values(STATUS_LABELS).map((label) => [label, 0]));
  let built: { registry: Registry; runsTotal: Counter } | undefined;
  const build = (): { registry: Registry; runsTotal: Counter } => {
    const { Counter, Gauge, Registry, collectDefaultMetrics } = requireModule(
      'prom-client',
    ) as typeof PromClient;
    const registry = new Registry();

    new Gauge({
      name: 'dagu_info',
      help: 'Dagu build information',
      labelNames: ['version', 'build_date', 'go_version'],
      registers: [registry],
    }).set({ version: deps.version, build_date: '', go_version: process.version }, 1);

    new Gauge({
      name: 'dagu_uptime_seconds',
      help: 'Time since the server started',
      registers: [registry],
      collect() {
        this.set((Date.now() - startedAt.getTime()) / 1000);
      },
    });

    new Gauge({
      name: 'dagu_dag_runs_currently_running',
      help: 'Number of currently running DAG runs',
      registers: [registry],
      async collect() {
        const { total } = await deps.runs.listRuns({ statuses: [DagRunStatus.Running], limit: 0 });
        this.set(total);
      },
    });

    new Gauge({
      name: 'dagu_dag_runs_queued_total',
      help: 'Total number of DAG runs in queue',
      registers: [registry],
      async collect() {
        const counts = await deps.queue.counts();
        this.set(Object.values(counts).reduce((sum, n) => sum + n, 0));
      },
    });

    const runsTotal = new Counter({
      name: 'dagu_dag_runs_total',
      help: 'Total number of DAG runs that ended, by status, since the server started',
      labelNames: ['status'],
      registers: [registry],
    });
    // Every label exists from the start, so rate() sees a 0 before the first run ends.
    for (const [status, count] of ended) runsTotal.inc({ status }, count);

    new Gauge({
      name: 'dagu_dags_total',
      help: 'Total number of DAG files',
      registers: [registry],
      async collect() {
        this.set((await deps.dags.list()).length);
      },
    });

    new Gauge({
      name: 'dagu_scheduler_running',
      help: 'Whether the scheduler is running in this process',
      registers: [registry],
      collect() {
        this.set(deps.schedulerRunning?.() ? 1 : 0);
      },
    });

    // Distributed execution (a dagu-ts addition): the workers this server has seen and their load.
    const workerGauge = (name: string, help: string, value: (w: WorkerRecord[]) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(value(deps.workers ? await deps.workers.store.listWorkers() : []));
        },
      });
    const leaseMs = deps.workers?.leaseMs ?? 30_000;
    workerGauge(
      'dagu_workers_healthy',
      'Workers whose last heartbeat is within the lease',
      (workers) =>
        workers.filter((w) => Date.now() - Date.parse(w.lastHeartbeatAt) <= leaseMs).length,
    );
    workerGauge('dagu_worker_runs_active', 'Runs held by workers (claimed or running)', (workers) =>
      workers.reduce((sum, w) => sum + w.runs.length, 0),
    );
    workerGauge(
      'dagu_worker_capacity',
      'Runs the workers may execute at once, in total',
      (workers) =>
        workers
          .filter((w) => Date.now() - Date.parse(w.lastHeartbeatAt) <= leaseMs)
          .reduce((sum, w) => sum + w.maxActiveRuns, 0),
    );

    collectDefaultMetrics({ register: registry });
    return { registry, runsTotal };
  };

  const observe = (event: RunEvent): void => {
    if (event.type !== 'run-finished' || event.run.parent) return;
    const status = STATUS_LABELS[event.run.status];
    if (!status) return;
    if (built) built.runsTotal.inc({ status });
    else ended.set(status, (ended.get(status) ?? 0) + 1);
  };
  const unsubscribe = deps.subscribeRunEvents?.(observe);

  return {
    get registry() {
      return (built ??= build()).registry;
    },
    observe,
    close: () => unsubscribe?.(),
  };
}
