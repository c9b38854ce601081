// The scheduler needs nothing of the DAGs but the DagRepository port: here the DAGs live in
// memory (a real implementation of the port, with change notifications), the directory it names
// stays empty, and the scheduler still loads schedules, follows changes through watch() and
// fires runs on the real store and launcher.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  dagNameProblem,
  DagNotFoundError,
  DaguError,
  DagRunStatus,
  RunLauncher,
  Scheduler,
  type DagFileInfo,
  type DagRepository,
  type DagSearchMatch,
  type SchedulerClock,
} from '@dagu-ts/core';
import { openStore, type Store } from '@dagu-ts/store';

/** DAG files in a Map. `directory` is only the anchor of relative paths (the steps' working dir). */
class MemoryDagRepository implements DagRepository {
  private readonly files = new Map<string, { text: string; modifiedAt: string }>();
  private readonly watchers = new Set<() => void>();
  private revision = 0;

  constructor(readonly directory: string) {}

  async list(): Promise<DagFileInfo[]> {
    return [...this.files.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([fileName, file]) => ({
        fileName,
        path: this.pathOf(fileName),
        modifiedAt: file.modifiedAt,
        size: Buffer.byteLength(file.text),
      }));
  }

  async read(fileName: string): Promise<string> {
    return this.existing(fileName).text;
  }

  pathOf(fileName: string): string {
    return join(this.directory, `${canonical(fileName)}.yaml`);
  }

  async create(fileName: string, yaml: string): Promise<void> {
    const name = canonical(fileName);
    if (this.files.has(name)) throw new DaguError('already_exists', `DAG ${name} already exists`);
    this.write(name, yaml);
  }

  async update(fileName: string, yaml: string): Promise<void> {
    this.existing(fileName);
    this.write(canonical(fileName), yaml);
  }

  async rename(fileName: string, newFileName: string): Promise<void> {
    const file = this.existing(fileName);
    const [from, to] = [canonical(fileName), canonical(newFileName)];
    if (from === to) return;
    if (this.files.has(to)) throw new DaguError('already_exists', `DAG ${to} already exists`);
    this.files.delete(from);
    this.write(to, file.text);
  }

  async delete(fileName: string): Promise<void> {
    this.existing(fileName);
    this.files.delete(canonical(fileName));
    this.notify();
  }

  async search(pattern: string, options: { limit?: number } = {}): Promise<DagSearchMatch[]> {
    const regexp = new RegExp(pattern, 'i');
    const results: DagSearchMatch[] = [];
    for (const { fileName } of await this.list()) {
      if (results.length >= (options.limit ?? Infinity)) break;
      const lines = this.files.get(fileName)!.text.split('\n');
      const matches = lines.flatMap((lineText, index) => {
        if (!regexp.test(lineText)) return [];
        const startLine = Math.max(1, index - 1);
        const snippet = lines.slice(startLine - 1, index + 3).join('\n');
        return [{ line: index + 1, lineText, snippet, startLine }];
      });
      if (matches.length > 0) results.push({ fileName, matches });
    }
    return results;
  }

  watch(onChange: () => void): () => void {
    const watcher = (): void => onChange();
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  private write(name: string, text: string): void {
    // Every write is a new modification time, as a file system's would be.
    const modifiedAt = new Date(Date.UTC(2026, 0, 1) + ++this.revision * 1000).toISOString();
    this.files.set(name, { text, modifiedAt });
    this.notify();
  }

  private notify(): void {
    for (const watcher of this.watchers) watcher();
  }

  private existing(fileName: string): { text: string; modifiedAt: string } {
    const file = this.files.get(canonical(fileName));
    if (!file) throw new DagNotFoundError(fileName);
    return file;
  }
}

function canonical(fileName: string): string {
  const base = fileName.replace(/\.ya?ml$/, '');
  const problem = dagNameProblem(base);
  if (problem) throw new DaguError('bad_request', `invalid DAG file name: ${problem}`);
  return base;
}

let home: string;
let store: Store;
let dags: MemoryDagRepository;
let launcher: RunLauncher;
let scheduler: Scheduler;
let now: Date;
const clock: SchedulerClock = { now: () => now, setTimeout: () => ({ cancel: () => undefined }) };

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-scheduler-memory-'));
  now = new Date('2026-11-29T10:00:30Z');
  store = openStore({ home, now: () => now });
  dags = new MemoryDagRepository(store.paths.dagsDir);
  launcher = new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    logs: store.logs,
    sweepIntervalMs: 0,
    clock,
  });
  scheduler = new Scheduler({
    dags,
    runs: store.runs,
    flags: store.flags,
    ticks: store.ticks,
    launcher,
    clock,
    rescanIntervalMs: 0,
  });
});

afterEach(async () => {
  await scheduler.stop();
  await launcher.close();
  store.close();
  rmSync(home, { recursive: true, force: true });
});

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Scheduler on an in-memory DagRepository', () => {
  it('follows changes through watch() and fires runs, reading no file', async () => {
    await dags.create('plain', 'steps:\n  - {name: a, command: "true"}\n');
    await scheduler.start();
    expect(scheduler.scheduledDags()).toEqual([]);

    // A change (a schedule added) arrives through watch(): there is no rescan timer here.
    await dags.update('plain', 'schedule: "*/5 * * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    await until(() => scheduler.scheduledDags().includes('plain'));

    now = new Date('2026-11-29T10:05:02Z');
    await scheduler.tick(new Date('2026-11-29T10:05:00Z'));
    await until(async () => {
      const { runs } = await store.runs.listRuns({ name: 'plain' });
      return runs.length === 1 && runs[0]!.status === DagRunStatus.Success;
    });
    expect(readdirSync(store.paths.dagsDir)).toEqual([]);

    await dags.delete('plain');
    await until(() => !scheduler.scheduledDags().includes('plain'));
  });

  it('stops listening when stopped', async () => {
    await scheduler.start();
    await scheduler.stop();
    await dags.create('late', 'schedule: "*/5 * * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(scheduler.scheduledDags()).toEqual([]);
  });
});
