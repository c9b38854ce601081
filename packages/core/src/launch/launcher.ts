// Starts runs inside a long-lived process (the server): every start goes through one path that
// either runs the DAG now or queues it, and a queue moves on the moment one of its runs ends.
// Persistence is only through the ports, so the same launcher works on any store.
import { existsSync } from 'node:fs';
import type { Dag } from '../dag/model.js';
import { systemClock, type Clock } from '../clock.js';
import { DaguError } from '../errors.js';
import type { ExecutorRegistry } from '../exec/executor.js';
import type {
  CancelStore,
  QueueItem,
  LaunchOptions,
  LaunchResult,
  LogStore,
  QueueStore,
  RunControl,
  RunRecorder,
  RunStore,
  StepProcessStore,
  StoredRun,
} from '../ports.js';
import { newDagRunId } from '../run/ids.js';
import {
  createQueuedSnapshot,
  DagRunner,
  recordedParams,
  type DagRunOptions,
  type DagRunResult,
} from '../run/runner.js';
import { ProcessSpawner } from '../run/spawner.js';
import { DagRunStatus } from '../run/status.js';
import type { RunEvent } from '../run/types.js';

export type { LaunchOptions, LaunchResult } from '../ports.js';

export interface RunLauncherOptions {
  runs: RunStore;
  queue: QueueStore;
  cancels: CancelStore;
  /** Base directory of log files (the DAG's `logDir` wins when set); unused with `logs`. */
  logDir?: string;
  /** Where runs' logs go (default: files under `logDir`). */
  logs?: LogStore;
  dagSearchPaths?: readonly string[];
  /** Global queues (`queues.config[]`): queue name → maxActiveRuns. */
  queueLimits?: ReadonlyMap<string, number>;
  /** false = `queues.enabled: false`: a start that would need the queue fails. */
  queuesEnabled?: boolean;
  baseEnv?: DagRunOptions['baseEnv'];
  /** Every event of every run this launcher executes (metrics, live views). */
  onEvent?: (event: RunEvent) => void;
  /** How often queues are swept for runs that nothing else started (safety net). */
  sweepIntervalMs?: number;
  /**
   * Fork steps through a helper process (default), from this process (false), or from this
   * process until the helper is up and through it from then on (`'when-ready'`: for a process
   * that runs one run, whose steps may outlive it, so no step waits for the helper's start-up).
   */
  spawnHelper?: boolean | 'when-ready';
  /** Where the helper's step process groups are recorded, so recovery can end orphans. */
  processes?: StepProcessStore;
  /** Stamps run ids and run times; the scheduler must read the same clock (default: system). */
  clock?: Clock;
  /** What runs each step type (default: the built-in executors). */
  executors?: ExecutorRegistry;
  /**
   * false for a process that runs what it is asked to and exits (`dagu-ts start`): it never
   * starts other queued runs (no sweep, no dispatch when a run ends or is enqueued); a run it
   * queues starts here only when it is first in its queue and the queue has room, else a
   * server or scheduler starts it later. Default true.
   */
  dispatchQueues?: boolean;
  /**
   * `distributed` (DAGU_DEFAULT_EXECUTION_MODE): every run goes to a worker. Default `local`:
   * only DAGs with a `workerSelector` do.
   */
  executionMode?: 'local' | 'distributed';
}

const RETENTION_INTERVAL_MS = 10 * 60_000;

export class RunLauncher implements RunControl {
  private readonly active = new Map<string, DagRunner>();
  private readonly finished = new Set<Promise<unknown>>();
  private readonly retentionAppliedAt = new Map<string, number>();
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;

  private readonly spawner: ProcessSpawner | undefined;

  constructor(private readonly options: RunLauncherOptions) {
    const processes = options.processes;
    // A group that cannot be recorded (store not writable) only loses its crash recovery.
    this.spawner =
      options.spawnHelper === false
        ? undefined
        : new ProcessSpawner({
            forkHereUntilReady: options.spawnHelper === 'when-ready',
            onSpawn: (pid) => {
              processes?.add(pid).catch(() => undefined);
            },
            onExit: (pid) => {
              processes?.remove(pid).catch(() => undefined);
            },
          });
    const interval = options.dispatchQueues === false ? 0 : (options.sweepIntervalMs ?? 5_000);
    if (interval > 0) {
      this.sweep = setInterval(() => void this.dispatchAll().catch(() => undefined), interval);
      this.sweep.unref();
    }
  }

  /** Starts a run, or queues it when its queue is at its limit; resolves once the run is recorded. */
  async start(dag: Dag, options: LaunchOptions): Promise<LaunchResult> {
    // A run for a worker waits in its queue until a worker claims it.
    if (this.workerSelectorOf(dag)) return this.enqueue(dag, options);
    const dagRunId = await this.newRunId(dag, options.dagRunId);
    const queue = queueOf(dag);
    const limit = this.limitOf(dag);
    if (!options.noQueue && dag.maxActiveRuns >= 0) {
      if (queue !== dag.name) {
        // A shared queue counts runs of several DAGs: only its atomic claim can tell whether a
        // slot is free, so the run goes through the queue (and starts at once when it can).
        return this.enqueueAndClaim(dag, { ...options, dagRunId });
      }
      const active = await this.options.runs.listRuns({
        statuses: [DagRunStatus.Running],
        limit: 1,
        name: dag.name,
      });
      if (active.total >= limit || (await this.options.queue.counts())[queue]) {
        return this.enqueueAndClaim(dag, { ...options, dagRunId });
      }
    }
    await this.execute(dag, {
      dagRunId,
      trigger: options.trigger,
      ...(options.params ? { params: options.params } : {}),
    });
    return { dagRunId, queued: false };
  }

  /** Records a queued run; the queue starts it as soon as its limit allows. */
  async enqueue(dag: Dag, options: LaunchOptions): Promise<LaunchResult> {
    const workerSelector = this.workerSelectorOf(dag);
    if (this.options.queuesEnabled === false && !workerSelector) {
      throw new DaguError('bad_request', 'queues are disabled (queues.enabled: false)');
    }
    const dagRunId = await this.newRunId(dag, options.dagRunId);
    const snapshot = await createQueuedSnapshot(dag, {
      dagRunId,
      ...(options.params ? { params: options.params } : {}),
      ...(this.options.baseEnv ? { baseEnv: this.options.baseEnv } : {}),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
    });
    await this.options.runs.createQueuedRun({ dag, snapshot, trigger: options.trigger });
    await this.options.queue.enqueue({
      queue: queueOf(dag),
      name: dag.name,
      dagRunId,
      priority: 0,
      enqueuedAt: snapshot.queuedAt,
      ...(workerSelector ? { workerSelector } : {}),
    });
    this.dispatchSafely(queueOf(dag), this.limitOf(dag));
    return { dagRunId, queued: true };
  }

  /**
   * start()'s queue path. A dispatching launcher has already started the run if its queue had
   * room; one that does not dispatch starts it here only when it is first in its queue.
   */
  private async enqueueAndClaim(
    dag: Dag,
    options: LaunchOptions & { dagRunId: string },
  ): Promise<LaunchResult> {
    const result = await this.enqueue(dag, options);
    if (this.options.dispatchQueues !== false) return result;
    return {
      dagRunId: options.dagRunId,
      queued: !(await this.startIfFirst(dag, options.dagRunId)),
    };
  }

  /**
   * Claims the run through the store's atomic claim (limits hold across processes) when it is
   * first in its queue. Should a concurrent dispatcher take it in between, the claim returns the
   * run behind it, which is then this process's to run: false, and the caller waits for it too.
   */
  private async startIfFirst(dag: Dag, dagRunId: string): Promise<boolean> {
    const queue = queueOf(dag);
    const [first] = await this.options.queue.list(queue);
    if (first?.name !== dag.name || first.dagRunId !== dagRunId) return false;
    const item = await this.options.queue.claimNext(queue, this.limitOf(dag));
    if (!item) return false;
    await this.startClaimed(item);
    return item.name === dag.name && item.dagRunId === dagRunId;
  }

  /** Retries a finished run (same id, new attempt), the whole failed part or one step. */
  async retry(stored: StoredRun, options: { step?: string } = {}): Promise<void> {
    const { name, dagRunId, status } = stored.snapshot;
    if (status === DagRunStatus.Running || this.active.has(key(name, dagRunId))) {
      throw new DaguError('already_running', `dag-run ${dagRunId} of DAG ${name} is still running`);
    }
    if (options.step !== undefined && !stored.dag.steps.some((s) => s.name === options.step)) {
      throw new DaguError('not_found', `step ${options.step} not found in DAG ${name}`);
    }
    await this.options.queue.remove(name, dagRunId);
    await this.execute(stored.dag, {
      dagRunId,
      trigger: 'retry',
      retry: {
        previous: stored.snapshot,
        ...(options.step !== undefined ? { step: options.step } : {}),
      },
    });
  }

  /**
   * Stops a running run: directly when it runs here, else through a cancel request. `osSignal`
   * is a signal this process received, passed to the steps as is (not their signalOnStop).
   */
  async stop(name: string, dagRunId: string, osSignal?: NodeJS.Signals): Promise<void> {
    const runner = this.active.get(key(name, dagRunId));
    if (runner) {
      runner.stop(osSignal);
      return;
    }
    const stored = await this.options.runs.getRun(name, dagRunId);
    if (!stored)
      throw new DaguError('not_found', `dag-run ID ${dagRunId} not found for DAG ${name}`);
    if (stored.snapshot.status !== DagRunStatus.Running) {
      throw new DaguError('not_running', `dag-run ${dagRunId} of DAG ${name} is not running`);
    }
    await this.options.cancels.requestCancel(name, dagRunId);
  }

  /** Takes a queued run out of its queue; it ends canceled. */
  async dequeue(name: string, dagRunId: string): Promise<void> {
    const stored = await this.options.runs.getRun(name, dagRunId);
    if (!stored)
      throw new DaguError('not_found', `dag-run ID ${dagRunId} not found for DAG ${name}`);
    if (
      stored.snapshot.status !== DagRunStatus.Queued ||
      !(await this.options.queue.remove(name, dagRunId))
    ) {
      throw new DaguError('bad_request', `dag-run ${dagRunId} of DAG ${name} is not queued`);
    }
    await this.options.runs.setRunStatus(name, dagRunId, DagRunStatus.Canceled);
  }

  isActive(name: string, dagRunId: string): boolean {
    return this.active.has(key(name, dagRunId));
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** Starts whatever every queue has room for. */
  async dispatchAll(): Promise<void> {
    if (this.closed) return;
    const counts = await this.options.queue.counts();
    for (const queue of Object.keys(counts)) {
      const items = await this.options.queue.list(queue);
      const first = items[0];
      if (!first) continue;
      const stored = await this.options.runs.getRun(first.name, first.dagRunId);
      const limit =
        this.options.queueLimits?.get(queue) ?? Math.max(1, stored?.dag.maxActiveRuns ?? 1);
      await this.dispatch(queue, limit);
    }
  }

  /**
   * Graceful shutdown: starts nothing new, lets active runs go on for up to `graceMs`, then
   * stops the rest and waits for them to end (their stop is recorded as a cancel). With
   * `Infinity` it waits for every run to end on its own.
   */
  async close(graceMs = 0): Promise<void> {
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    if (graceMs > 0 && this.finished.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise((resolve) => {
        if (Number.isFinite(graceMs)) timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled([...this.finished]), grace]);
      clearTimeout(timer);
    }
    for (const runner of this.active.values()) runner.stop();
    await Promise.allSettled([...this.finished]);
    this.spawner?.close();
  }

  /**
   * dispatch in the background: a store that fails now leaves the queue to the next sweep. A
   * launcher that does not dispatch queues leaves them to the process that does.
   */
  private dispatchSafely(queue: string, limit: number): void {
    if (this.options.dispatchQueues === false) return;
    this.dispatch(queue, limit).catch(() => undefined);
  }

  private async dispatch(queue: string, limit: number): Promise<void> {
    while (!this.closed) {
      const item = await this.options.queue.claimNext(queue, limit);
      if (!item) return;
      await this.startClaimed(item);
    }
  }

  /** Runs a claimed queue item; resolves once it runs, or has failed for good. */
  private async startClaimed(item: QueueItem): Promise<void> {
    const stored = await this.options.runs.getRun(item.name, item.dagRunId);
    if (!stored) return;
    if (stored.dag.location && !existsSync(stored.dag.location)) {
      await this.options.runs.setRunStatus(
        item.name,
        item.dagRunId,
        DagRunStatus.Failed,
        `the DAG file ${stored.dag.location} was deleted before the run could start`,
      );
      return;
    }
    try {
      await this.execute(stored.dag, {
        dagRunId: item.dagRunId,
        trigger: 'queue',
        params: recordedParams(stored.snapshot),
        queuedAt: stored.snapshot.queuedAt,
      });
    } catch (error) {
      // A queued run that cannot start fails with its error; it is never offered again.
      await this.options.runs.setRunStatus(
        item.name,
        item.dagRunId,
        DagRunStatus.Failed,
        (error as Error).message,
      );
    }
  }

  /** Runs the DAG in this process; resolves once the store has the run, not when it ends. */
  private async execute(
    dag: Dag,
    options: Omit<DagRunOptions, 'dag' | 'logDir' | 'recorder'>,
  ): Promise<void> {
    let started!: () => void;
    let failedToStart!: (error: unknown) => void;
    const recorded = new Promise<void>((resolve, reject) => {
      started = resolve;
      failedToStart = reject;
    });
    const store = this.options.runs;
    const recorder: RunRecorder = {
      record: async (event) => {
        await store.record(event);
        if (event.type === 'run-started') started();
      },
    };
    const runner = new DagRunner({
      dag,
      ...(this.options.logs ? { logs: this.options.logs } : {}),
      ...(this.options.logDir !== undefined ? { logDir: this.options.logDir } : {}),
      recorder,
      ...(this.options.dagSearchPaths ? { dagSearchPaths: this.options.dagSearchPaths } : {}),
      ...(this.options.baseEnv ? { baseEnv: this.options.baseEnv } : {}),
      // Without the helper, the runner records its step process groups itself.
      ...(this.spawner
        ? { spawner: this.spawner }
        : this.options.processes
          ? { processes: this.options.processes }
          : {}),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.executors ? { executors: this.options.executors } : {}),
      ...options,
    });
    if (this.options.onEvent) runner.subscribe(this.options.onEvent);
    const id = key(dag.name, runner.dagRunId);
    this.active.set(id, runner);
    const poll = setInterval(() => {
      void this.options.cancels
        .isCancelRequested(dag.name, runner.dagRunId)
        .then((requested) => {
          if (requested) runner.stop();
        })
        .catch(() => undefined); // A store that cannot be read now is asked again in 500 ms.
    }, 500);
    poll.unref();
    const done: Promise<DagRunResult | undefined> = runner
      .run()
      .then((result) => {
        started();
        return result;
      })
      .catch((error: unknown) => {
        failedToStart(error);
        return undefined;
      })
      .finally(async () => {
        clearInterval(poll);
        this.active.delete(id);
        this.finished.delete(done);
        await this.options.cancels.clearCancel(dag.name, runner.dagRunId).catch(() => undefined);
        // The slot is free: the next queued run of this queue starts now.
        this.dispatchSafely(queueOf(dag), this.limitOf(dag));
        await this.applyRetention(dag);
      });
    this.finished.add(done);
    await recorded;
  }

  /**
   * histRetentionDays for every run this launcher executes (API, scheduler, queue): an indexed
   * pass over one DAG's runs, at most once per DAG every RETENTION_INTERVAL_MS.
   */
  private async applyRetention(dag: Dag): Promise<void> {
    const now = (this.options.clock ?? systemClock).now().getTime();
    const last = this.retentionAppliedAt.get(dag.name);
    if (last !== undefined && now - last < RETENTION_INTERVAL_MS) return;
    try {
      await this.options.runs.applyRetention(dag.name, dag.histRetentionDays);
      this.retentionAppliedAt.set(dag.name, now);
    } catch {
      // A store that cannot delete now is asked again at the DAG's next run end.
    }
  }

  /** The labels a worker needs to run the DAG; undefined when this process may run it. */
  private workerSelectorOf(dag: Dag): Record<string, string> | undefined {
    if (dag.workerSelector) return dag.workerSelector;
    return this.options.executionMode === 'distributed' ? {} : undefined;
  }

  /** The run limit of the DAG's queue (workers' claims use the same rule). */
  limitOf(dag: Dag): number {
    return this.options.queueLimits?.get(queueOf(dag)) ?? Math.max(1, dag.maxActiveRuns);
  }

  private async newRunId(dag: Dag, requested: string | undefined): Promise<string> {
    const dagRunId = requested ?? newDagRunId((this.options.clock ?? systemClock).now().getTime());
    if (requested && (await this.options.runs.getRun(dag.name, requested))) {
      throw new DaguError(
        'already_exists',
        `dag-run ID ${requested} already exists for DAG ${dag.name}`,
      );
    }
    return dagRunId;
  }
}

function key(name: string, dagRunId: string): string {
  return `${name}\u0000${dagRunId}`;
}

function queueOf(dag: Dag): string {
  return dag.queue ?? dag.name;
}
