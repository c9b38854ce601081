// A recorder that a failing store cannot break. A run's start must be recorded (its failure
// fails the start, so no run exists that the store does not know); after that, a failed write
// (disk full, read-only database) must neither stop the run nor the process. Every event
// carries the run's live state, and a step's event records that step: so only the latest event
// of each run needs writing, plus an update of each step whose own event was not written. They
// stay pending and are written with the next event of that run, or by a retry timer, once the
// store takes writes again.
import type { RunRecorder } from '../ports.js';
import type { NodeState, RunEvent } from './types.js';

export interface ResilientRecorderOptions {
  /** How long to wait before writing a pending event again (default 2 s). */
  retryMs?: number;
  /** A write failed (called once per run until a write of it succeeds again). */
  onError?: (error: unknown, event: RunEvent) => void;
  /** A write succeeded after failures. */
  onRecovered?: (event: RunEvent) => void;
}

export class ResilientRecorder implements RunRecorder {
  /**
   * The latest unwritten event of each run, the steps of its earlier unwritten events, and
   * whether writing has failed.
   */
  private readonly pending = new Map<
    string,
    { event: RunEvent; steps: Set<NodeState>; failed: boolean }
  >();
  /** Writes in order, one at a time: a run's events never overtake each other. */
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly inner: RunRecorder,
    private readonly options: ResilientRecorderOptions = {},
  ) {}

  record(event: RunEvent): Promise<void> {
    if (event.type === 'run-started') {
      const written = this.queue.then(() => this.inner.record(event));
      this.queue = written.catch(() => undefined);
      return written;
    }
    const key = runKey(event);
    const earlier = this.pending.get(key);
    const steps = earlier?.steps ?? new Set<NodeState>();
    if (earlier && 'node' in earlier.event) steps.add(earlier.event.node);
    if ('node' in event) steps.delete(event.node);
    this.pending.set(key, { event, steps, failed: earlier?.failed ?? false });
    return this.enqueue(() => this.flush(key));
  }

  /** Runs whose latest state is not written yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task);
    return this.queue;
  }

  private async flush(key: string): Promise<void> {
    const entry = this.pending.get(key);
    if (!entry) return;
    try {
      // Steps whose own event was replaced before it was written: their state as it is now.
      for (const node of entry.steps) {
        await this.inner.record({ type: 'step-updated', run: entry.event.run, node });
        entry.steps.delete(node);
      }
      await this.inner.record(entry.event);
    } catch (error) {
      if (!entry.failed) this.options.onError?.(error, entry.event);
      entry.failed = true;
      this.scheduleRetry();
      return;
    }
    // A newer event of the run may have arrived while this one was written; it stays pending.
    if (this.pending.get(key) === entry) this.pending.delete(key);
    if (entry.failed) this.options.onRecovered?.(entry.event);
  }

  private scheduleRetry(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // flush reports a failed write through onError and retries it: nothing rejects here.
      for (const key of this.pending.keys())
        this.enqueue(() => this.flush(key)).catch(() => undefined);
    }, this.options.retryMs ?? 2_000);
    // Retries alone do not keep a process alive.
    this.timer.unref();
  }
}

function runKey(event: RunEvent): string {
  const { root, name, dagRunId } = event.run;
  return `${root.name}\u0000${root.dagRunId}\u0000${name}\u0000${dagRunId}`;
}
