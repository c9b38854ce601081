// The dagu-ts worker: claims queued runs whose workerSelector its labels satisfy from a server,
// runs each with core's DagRunner here, and reports every event and every log byte back over
// HTTP. It needs no DAG files, no database and no shared disk. Reports are retried until the
// server takes them (a server restart loses nothing); a heartbeat every 500 ms tells the server
// it is alive and brings back the runs to stop.
import { mkdirSync } from 'node:fs';
import {
  DagRunner,
  FileLogStore,
  type Dag,
  type DagRunRef,
  type RunEvent,
  type RunRecorder,
} from '@dagu-ts/core';
import { RemoteLogStore, type LogAnswer, type LogWrite } from './remote-logs.js';

export interface WorkerOptions {
  id: string;
  labels: Record<string, string>;
  maxActiveRuns: number;
  /** The server's base URL (its /api/v2 is under it, after basePath). */
  server: string;
  auth?: { token: string } | { basic: { username: string; password: string } };
  /** Where the local copies of the logs go. */
  logDir: string;
  heartbeatMs?: number;
  /** Longest long-poll of a claim. */
  claimWaitMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}

/** The server said the worker does not hold the run (its lease lapsed): stop it. */
class LeaseLost extends Error {}

interface ActiveRun {
  ref: DagRunRef;
  controller: AbortController;
  lost: boolean;
  done: Promise<void>;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1_000;

export class Worker {
  private readonly active = new Map<string, ActiveRun>();
  private readonly api: string;
  private readonly headers: Record<string, string>;
  private readonly logs: FileLogStore;
  private draining = false;
  private stopped = false;
  private claimAbort: AbortController | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.api = `${options.server.replace(/\/+$/, '')}/api/v2/workers/${encodeURIComponent(options.id)}`;
    this.headers = { 'content-type': 'application/json' };
    const auth = options.auth;
    if (auth && 'token' in auth) this.headers.authorization = `Bearer ${auth.token}`;
    else if (auth)
      this.headers.authorization = `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`;
    mkdirSync(options.logDir, { recursive: true });
    this.logs = new FileLogStore(options.logDir);
  }

  start(): void {
    const beat = () => {
      this.sendHeartbeat()
        .finally(() => {
          if (!this.stopped) this.heartbeat = setTimeout(beat, this.options.heartbeatMs ?? 500);
        })
        .catch(() => undefined);
    };
    beat();
    this.polling = this.poll();
  }

  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Graceful drain (SIGTERM): claims nothing more and waits for the active runs to end. With
   * `stopRuns` (a second signal), the runs are stopped first.
   */
  async drain(stopRuns = false): Promise<void> {
    this.draining = true;
    this.claimAbort?.abort();
    this.slotFreed?.();
    if (stopRuns) for (const run of this.active.values()) run.controller.abort();
    await this.polling;
    await Promise.allSettled([...this.active.values()].map((run) => run.done));
    await this.sendHeartbeat().catch(() => undefined);
    this.stopped = true;
    if (this.heartbeat) clearTimeout(this.heartbeat);
  }

  private log(entry: Record<string, unknown>): void {
    this.options.log?.({ component: 'worker', worker: this.options.id, ...entry });
  }

  private load() {
    return {
      labels: this.options.labels,
      maxActiveRuns: this.options.maxActiveRuns,
      busy: this.active.size,
    };
  }

  private async request(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const response = await fetch(`${this.api}${path}`, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    if (response.status === 409) throw new LeaseLost(text);
    if (!response.ok) {
      const error = new Error(`${response.status} ${text}`);
      // 4xx other than 409 will not get better by retrying: the caller gives up.
      (error as Error & { fatal?: boolean }).fatal =
        response.status >= 400 &&
        response.status < 500 &&
        response.status !== 408 &&
        response.status !== 429;
      throw error;
    }
    return text ? JSON.parse(text) : {};
  }

  /** Retries until the server answers (network down, server restarting, 5xx). */
  private async requestForever(path: string, body: unknown, run?: ActiveRun): Promise<unknown> {
    let delay = RETRY_MIN_MS;
    for (;;) {
      if (run?.lost) throw new LeaseLost('lease lost');
      try {
        return await this.request(path, body);
      } catch (error) {
        if (error instanceof LeaseLost) {
          if (run) this.lose(run);
          throw error;
        }
        if ((error as Error & { fatal?: boolean }).fatal) throw error;
        await sleep(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  private async sendHeartbeat(): Promise<void> {
    try {
      const answer = (await this.request('/heartbeat', {
        ...this.load(),
        runs: [...this.active.values()].map((run) => run.ref),
      })) as { stop: DagRunRef[]; lost: DagRunRef[] };
      for (const ref of answer.stop) this.active.get(key(ref))?.controller.abort();
      for (const ref of answer.lost) {
        const run = this.active.get(key(ref));
        if (run) this.lose(run);
      }
    } catch (error) {
      this.log({ msg: 'heartbeat failed', error: String(error) });
    }
  }

  private lose(run: ActiveRun): void {
    if (run.lost) return;
    run.lost = true;
    this.log({ msg: 'lease lost: stopping the run', ...run.ref });
    run.controller.abort();
  }

  private async poll(): Promise<void> {
    while (!this.draining) {
      if (this.active.size >= this.options.maxActiveRuns) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      this.claimAbort = new AbortController();
      try {
        const answer = (await this.request(
          '/claim',
          { ...this.load(), waitMs: this.options.claimWaitMs ?? 10_000 },
          this.claimAbort.signal,
        )) as { run?: ClaimedRun };
        if (answer.run) this.execute(answer.run);
      } catch (error) {
        if (this.draining) break;
        this.log({ msg: 'claim failed', error: String(error) });
        await sleep(RETRY_MAX_MS);
      }
    }
  }

  private execute(claimed: ClaimedRun): void {
    const ref = { name: claimed.name, dagRunId: claimed.dagRunId };
    const base = `/runs/${encodeURIComponent(ref.name)}/${encodeURIComponent(ref.dagRunId)}`;
    const run: ActiveRun = {
      ref,
      controller: new AbortController(),
      lost: false,
      done: Promise.resolve(),
    };
    const logs = new RemoteLogStore(
      this.logs,
      (body: LogWrite) => this.requestForever(`${base}/logs`, body, run) as Promise<LogAnswer>,
    );
    // Events go one at a time in the order the runner emits them (child runs included), each
    // with the next sequence number: the server records a number once.
    let seq = 0;
    let chain: Promise<void> = Promise.resolve();
    const recorder: RunRecorder = {
      record: (event: RunEvent) => {
        seq += 1;
        const report = { seq, event: JSON.parse(JSON.stringify(event)) as unknown };
        const isRootEnd =
          event.type === 'run-finished' &&
          event.run.name === ref.name &&
          event.run.dagRunId === ref.dagRunId;
        chain = chain.then(async () => {
          if (run.lost) return;
          if (isRootEnd) await logs.flush();
          await this.requestForever(`${base}/events`, report, run).catch((error: unknown) => {
            if (!(error instanceof LeaseLost)) throw error;
          });
        });
        return chain;
      },
    };
    // The DAG files are on the server, not here: nothing is resolved relative to them, and the
    // DAG files the run calls by name came with the claim.
    const dag: Dag = { ...claimed.dag, location: undefined };
    const childDags = Object.fromEntries(
      Object.entries(claimed.childDags ?? {}).map(([name, child]) => [
        name,
        { ...child, location: undefined },
      ]),
    );
    const runner = new DagRunner({
      dag,
      dagRunId: ref.dagRunId,
      params: { recorded: { paramsList: claimed.paramsList, untrusted: claimed.untrustedParams } },
      queuedAt: claimed.queuedAt,
      trigger: 'queue',
      childDags,
      logs,
      recorder,
      signal: run.controller.signal,
    });
    this.log({ msg: 'run claimed', ...ref });
    run.done = runner
      .run()
      .then(
        (result) => this.log({ msg: 'run ended', ...ref, status: result.status }),
        (error: unknown) => this.log({ msg: 'run failed to start', ...ref, error: String(error) }),
      )
      .finally(() => {
        this.active.delete(key(ref));
        this.slotFreed?.();
        this.slotFreed = undefined;
      });
    this.active.set(key(ref), run);
  }
}

interface ClaimedRun {
  name: string;
  dagRunId: string;
  dag: Dag;
  paramsList: string[];
  untrustedParams?: string[];
  queuedAt: string;
  childDags?: Record<string, Dag>;
}

function key(ref: DagRunRef): string {
  return `${ref.name}\u0000${ref.dagRunId}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
