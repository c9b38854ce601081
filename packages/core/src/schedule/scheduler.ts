// The cron scheduler (dag-yaml.md §5.1–§5.3, Part A #6 and #11): reads the schedules of every DAG
// file, fires start/stop/restart jobs at the minute, and never fires a (DAG, minute) twice —
// across restarts and across several schedulers on one home — because every fire first claims
// its tick in the store. Missed ticks while no scheduler ran are not replayed (Dagu's default).
// DAG files are listed, read and watched only through the DagRepository port (its files parsed
// through a DagCatalog, which the server shares with the API so each file is parsed once).
import { CronExpressionParser } from 'cron-parser';
import { systemClock, type Clock } from '../clock.js';
import { DagCatalog } from '../dag/catalog.js';
import type { Dag, ScheduleEntry } from '../dag/model.js';
import type {
  DagRepository,
  FlagStore,
  RunStore,
  ScheduledRunLauncher,
  SchedulerTickStore,
} from '../ports.js';
import { recordedParams } from '../run/runner.js';
import { DagRunStatus } from '../run/status.js';

export type { ScheduledRunLauncher, SchedulerTickStore } from '../ports.js';

/**
 * The scheduler compares its ticks with the times stamped on runs, so it must share the clock
 * of the launcher that starts them (RunLauncherOptions.clock).
 */
export interface SchedulerClock extends Clock {
  setTimeout(callback: () => void, ms: number): { cancel(): void };
}

export interface SchedulerOptions {
  dags: DagRepository;
  /** The parsed DAG files of `dags`, shared with other readers (default: the scheduler's own). */
  catalog?: DagCatalog;
  runs: RunStore;
  flags: FlagStore;
  ticks: SchedulerTickStore;
  launcher: ScheduledRunLauncher;
  /** Time zone of expressions without a CRON_TZ=/TZ= prefix (DAGU_TZ); default: the process's. */
  timezone?: string;
  clock?: SchedulerClock;
  log?: (entry: Record<string, unknown>) => void;
  /** Reload on the repository's change notifications (default true). */
  watch?: boolean;
  /** Full rescan interval, a safety net behind the watcher (default 30 s). */
  rescanIntervalMs?: number;
}

export type ScheduleKind = 'start' | 'stop' | 'restart';

interface ScheduledDag {
  fileName: string;
  dag: Dag;
}

const MINUTE_MS = 60_000;
const STOP_WAIT_MS = 10 * MINUTE_MS;

const realClock: SchedulerClock = {
  now: () => systemClock.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(timer) };
  },
};

export class Scheduler {
  private readonly clock: SchedulerClock;
  private readonly catalog: DagCatalog;
  private readonly entries = new Map<string, ScheduledDag>();
  private timer: { cancel(): void } | undefined;
  private rescan: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private running = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? realClock;
    this.catalog = options.catalog ?? new DagCatalog(options.dags);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** DAG names with at least one schedule, as currently loaded. */
  scheduledDags(): string[] {
    return [...this.entries.values()].map((entry) => entry.dag.name);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.reload();
    this.log({
      msg: 'scheduler started; ticks missed while no scheduler ran are not replayed',
      dags: this.entries.size,
    });
    if (this.options.watch !== false) this.watchDags();
    const interval = this.options.rescanIntervalMs ?? 30_000;
    if (interval > 0) {
      this.rescan = setInterval(() => this.reloadInBackground(), interval);
      this.rescan.unref();
    }
    // The current minute is ticked at once (a schedule for this minute still fires), then every
    // minute boundary.
    await this.tick(this.clock.now());
    this.scheduleNextTick();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    if (this.rescan) clearInterval(this.rescan);
    this.unwatch?.();
    this.unwatch = undefined;
    clearTimeout(this.debounce);
    await Promise.allSettled([...this.pending]);
  }

  /** reload from a timer or the watcher: a failure is logged, the next rescan tries again. */
  private reloadInBackground(): void {
    this.reload().catch((error: unknown) =>
      this.log({ msg: 'cannot reload the DAG files', error: (error as Error).message }),
    );
  }

  /** Re-reads the DAG files that changed (by modification time); drops deleted ones. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.reloadOnce();
      } while (this.reloadAgain);
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Fires every job due at the minute of `at`. Public so tests can drive time. */
  async tick(at: Date): Promise<void> {
    const minute = new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);
    const jobs: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      for (const kind of ['start', 'stop', 'restart'] as const) {
        if (entry.dag.schedule[kind].some((schedule) => this.firesAt(schedule, minute))) {
          jobs.push(this.fire(entry, kind, minute));
        }
      }
    }
    await Promise.allSettled(jobs);
    void this.options.ticks
      .pruneTicks(new Date(minute.getTime() - 24 * 60 * MINUTE_MS))
      .catch(() => 0);
  }

  /** Whether `schedule` has a fire time exactly at `minute`. */
  firesAt(schedule: ScheduleEntry, minute: Date): boolean {
    const next = this.nextFire(schedule, new Date(minute.getTime() - 1000));
    return next !== undefined && next.getTime() === minute.getTime();
  }

  private nextFire(schedule: ScheduleEntry, after: Date): Date | undefined {
    try {
      const tz = schedule.timezone ?? this.options.timezone;
      return CronExpressionParser.parse(schedule.cron, {
        currentDate: after,
        ...(tz ? { tz } : {}),
      })
        .next()
        .toDate();
    } catch {
      return undefined;
    }
  }

  private previousFire(schedule: ScheduleEntry, before: Date): Date | undefined {
    try {
      const tz = schedule.timezone ?? this.options.timezone;
      return CronExpressionParser.parse(schedule.cron, {
        currentDate: before,
        ...(tz ? { tz } : {}),
      })
        .prev()
        .toDate();
    } catch {
      return undefined;
    }
  }

  private async fire(entry: ScheduledDag, kind: ScheduleKind, minute: Date): Promise<void> {
    const { dag } = entry;
    try {
      if (await this.options.flags.isSuspended(entry.fileName)) return;
      const tickName = kind === 'start' ? dag.name : `${dag.name}#${kind}`;
      if (!(await this.options.ticks.claimTick(tickName, minute))) return;
      const job =
        kind === 'start'
          ? this.startJob(entry, minute)
          : kind === 'stop'
            ? this.stopJob(dag)
            : this.restartJob(dag);
      this.pending.add(job);
      await job.finally(() => this.pending.delete(job));
    } catch (error) {
      this.log({ msg: `scheduled ${kind} failed`, dag: dag.name, error: (error as Error).message });
    }
  }

  private async startJob(entry: ScheduledDag, minute: Date): Promise<void> {
    const { dag } = entry;
    const latest = await this.options.runs.getLatestRun(dag.name);
    if (latest?.snapshot.status === DagRunStatus.Running) {
      this.log({ msg: 'scheduled start skipped: the DAG is running', dag: dag.name });
      return;
    }
    const startedAt = latest
      ? Date.parse(latest.snapshot.startedAt || latest.snapshot.queuedAt)
      : NaN;
    if (
      !Number.isNaN(startedAt) &&
      Math.floor(startedAt / MINUTE_MS) * MINUTE_MS >= minute.getTime()
    ) {
      this.log({
        msg: 'scheduled start skipped: a run already started this minute',
        dag: dag.name,
      });
      return;
    }
    if (dag.skipIfSuccessful && latest?.snapshot.status === DagRunStatus.Success) {
      // §5.2: skip when the last run succeeded and started since the previous scheduled tick.
      const previous = dag.schedule.start
        .map((schedule) => this.previousFire(schedule, minute))
        .filter((date): date is Date => date !== undefined)
        .sort((a, b) => b.getTime() - a.getTime())[0];
      if (previous && startedAt >= previous.getTime()) {
        this.log({ msg: 'scheduled start skipped: skipIfSuccessful', dag: dag.name });
        return;
      }
    }
    const result = await this.options.launcher.start(dag, { trigger: 'schedule' });
    this.log({
      msg: result.queued ? 'scheduled run queued' : 'scheduled run started',
      dag: dag.name,
      dagRunId: result.dagRunId,
    });
  }

  private async stopJob(dag: Dag): Promise<void> {
    const latest = await this.options.runs.getLatestRun(dag.name);
    if (latest?.snapshot.status !== DagRunStatus.Running) return;
    await this.options.launcher.stop(dag.name, latest.snapshot.dagRunId);
    this.log({ msg: 'scheduled stop', dag: dag.name, dagRunId: latest.snapshot.dagRunId });
  }

  private async restartJob(dag: Dag): Promise<void> {
    const latest = await this.options.runs.getLatestRun(dag.name);
    if (latest?.snapshot.status !== DagRunStatus.Running) return;
    const { dagRunId } = latest.snapshot;
    await this.options.launcher.stop(dag.name, dagRunId);
    const deadline = Date.now() + STOP_WAIT_MS;
    while (
      (await this.options.runs.getRun(dag.name, dagRunId))?.snapshot.status === DagRunStatus.Running
    ) {
      if (Date.now() > deadline) throw new Error(`run ${dagRunId} did not stop`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, dag.restartWaitSec * 1000));
    const result = await this.options.launcher.start(latest.dag, {
      trigger: 'schedule',
      params: recordedParams(latest.snapshot),
    });
    this.log({
      msg: 'scheduled restart',
      dag: dag.name,
      stopped: dagRunId,
      dagRunId: result.dagRunId,
    });
  }

  private scheduleNextTick(): void {
    if (!this.running) return;
    const now = this.clock.now().getTime();
    const next = (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS;
    this.timer = this.clock.setTimeout(() => {
      void this.tick(new Date(next))
        .catch((error: unknown) =>
          this.log({ msg: 'tick failed', error: (error as Error).message }),
        )
        .finally(() => this.scheduleNextTick());
    }, next - now);
  }

  private async reloadOnce(): Promise<void> {
    let files;
    try {
      files = await this.catalog.entries();
    } catch (error) {
      this.log({ msg: 'cannot list DAG files', error: (error as Error).message });
      return;
    }
    const seen = new Set<string>();
    for (const file of files) {
      seen.add(file.fileName);
      const { dag } = file;
      // The catalog parses a file again only when it changed: the same DAG object, nothing new.
      if (dag && this.entries.get(file.fileName)?.dag === dag) continue;
      if (!dag) {
        this.entries.delete(file.fileName);
        this.log({
          msg: 'DAG file not scheduled: it does not load',
          file: file.fileName,
          error: file.dagError ?? file.error,
        });
        continue;
      }
      const scheduled =
        dag.schedule.start.length + dag.schedule.stop.length + dag.schedule.restart.length > 0;
      if (scheduled)
        this.entries.set(file.fileName, {
          fileName: file.fileName,
          dag,
        });
      else this.entries.delete(file.fileName);
    }
    for (const fileName of [...this.entries.keys()])
      if (!seen.has(fileName)) this.entries.delete(fileName);
  }

  /** Changes come in bursts (an editor's save is several events): one reload after the last. */
  private watchDags(): void {
    try {
      this.unwatch = this.options.dags.watch(() => {
        if (!this.running) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.reloadInBackground(), 100);
      });
    } catch (error) {
      this.log({
        msg: 'cannot watch the DAGs directory; relying on periodic rescans',
        error: (error as Error).message,
      });
    }
  }

  private log(entry: Record<string, unknown>): void {
    this.options.log?.({ component: 'scheduler', ...entry });
  }
}
