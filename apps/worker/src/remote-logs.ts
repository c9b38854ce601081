// The worker's LogStore: every log is written to a local copy (output capture and redirects read
// it back) and streamed to the server by byte offset, so the server's log endpoints show a remote
// step's output while it runs. A chunk the server already has is skipped there; a chunk it lacks
// is sent again from the size it answers, so retries after a lost response or a server restart
// neither duplicate nor lose output.
import type {
  DagRunSnapshot,
  LogStore,
  LogStream,
  LogWindow,
  LogWindowQuery,
  RunLogSink,
  RunLogTarget,
  StepLogSink,
} from '@dagu-ts/core';

/** Sends one log write to the server (retrying until it is accepted) and returns its answer. */
export type LogPoster = (body: LogWrite) => Promise<LogAnswer>;

export interface LogWrite {
  target: {
    dagName: string;
    dagRunId: string;
    attemptId: string;
    startedAt: string;
    logDir?: string;
  };
  step?: { name: string; at: string };
  stream?: LogStream | 'run';
  offset?: number;
  data?: string;
}

export interface LogAnswer {
  ref?: string;
  stdout?: string;
  stderr?: string;
  size?: number;
}

const FLUSH_MS = 200;
const CHUNK_BYTES = 256 * 1024;

export class RemoteLogStore implements LogStore {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly local: LogStore,
    private readonly post: LogPoster,
  ) {}

  async openRun(target: RunLogTarget): Promise<RunLogSink> {
    const wire: LogWrite['target'] = {
      dagName: target.dagName,
      dagRunId: target.dagRunId,
      attemptId: target.attemptId,
      startedAt: target.startedAt.toISOString(),
      ...(target.logDir ? { logDir: target.logDir } : {}),
    };
    const local = await this.local.openRun(target);
    const answer = await this.post({ target: wire });
    return new RemoteRunLogSink(local, answer.ref ?? local.ref, wire, this.post, (p) =>
      this.track(p),
    );
  }

  /** Resolves once every log written so far is on the server. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(promise: Promise<void>): void {
    this.pending.add(promise);
    promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
  }

  readWindow(ref: string, query: LogWindowQuery): Promise<LogWindow | undefined> {
    return this.local.readWindow(ref, query);
  }

  readTail(ref: string, maxBytes: number): Promise<string | undefined> {
    return this.local.readTail(ref, maxBytes);
  }

  deleteRunLogs(attempts: readonly DagRunSnapshot[]): Promise<void> {
    return this.local.deleteRunLogs(attempts);
  }

  moveDagLogs(from: string, to: string): Promise<((ref: string) => string) | undefined> {
    return this.local.moveDagLogs(from, to);
  }
}

class RemoteRunLogSink implements RunLogSink {
  private lines: Promise<void> = Promise.resolve();

  constructor(
    private readonly local: RunLogSink,
    readonly ref: string,
    private readonly target: LogWrite['target'],
    private readonly post: LogPoster,
    private readonly track: (promise: Promise<void>) => void,
  ) {}

  get tempDir(): string | undefined {
    return this.local.tempDir;
  }

  log(line: string): void {
    this.local.log(line);
    // The run log is a convenience: its lines go in order, and a failure drops the line.
    const data = Buffer.from(`${line}\n`).toString('base64');
    this.lines = this.lines
      .then(() => this.post({ target: this.target, stream: 'run', data }))
      .then(
        () => undefined,
        () => undefined,
      );
    this.track(this.lines);
  }

  async openStep(stepName: string, at: Date): Promise<StepLogSink> {
    const step = { name: stepName, at: at.toISOString() };
    const local = await this.local.openStep(stepName, at);
    const answer = await this.post({ target: this.target, step });
    return new RemoteStepLogSink(local, answer, this.target, step, this.post, this.track);
  }

  close(): void {
    this.local.close();
  }

  discard(): Promise<void> {
    return this.local.discard();
  }
}

class RemoteStepLogSink implements StepLogSink {
  readonly stdout: string;
  readonly stderr: string;
  /** Bytes of each stream the server has. */
  private readonly acked: Record<LogStream, number> = { stdout: 0, stderr: 0 };
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly local: StepLogSink,
    answer: LogAnswer,
    private readonly target: LogWrite['target'],
    private readonly step: { name: string; at: string },
    private readonly post: LogPoster,
    private readonly track: (promise: Promise<void>) => void,
  ) {
    this.stdout = answer.stdout ?? local.stdout;
    this.stderr = answer.stderr ?? local.stderr;
    // A step reopened by a retry appends: what the local copy holds already was sent before.
    this.acked.stdout = local.size('stdout');
    this.acked.stderr = local.size('stderr');
  }

  write(stream: LogStream, data: string | Uint8Array): void {
    this.local.write(stream, data);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, FLUSH_MS);
  }

  size(stream: LogStream): number {
    return this.local.size(stream);
  }

  read(stream: LogStream, start: number, length: number): Buffer {
    return this.local.read(stream, start, length);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // The local copy stays open until the server has all of it.
    this.track(this.flush().finally(() => this.local.close()));
  }

  /** Sends what the server lacks; one flush at a time, and one more if writes came meanwhile. */
  private flush(): Promise<void> {
    const run = async (): Promise<void> => {
      for (const stream of ['stdout', 'stderr'] as const) {
        for (;;) {
          const size = this.local.size(stream);
          if (this.acked[stream] >= size) break;
          const from = this.acked[stream];
          const chunk = this.local.read(stream, from, Math.min(CHUNK_BYTES, size - from));
          const answer = await this.post({
            target: this.target,
            step: this.step,
            stream,
            offset: from,
            data: chunk.toString('base64'),
          });
          this.acked[stream] = answer.size ?? from + chunk.length;
        }
      }
    };
    const previous = this.flushing ?? Promise.resolve();
    const next = previous.then(run).catch(() => undefined);
    this.flushing = next;
    this.track(next);
    return next;
  }
}
