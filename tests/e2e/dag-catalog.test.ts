// core's DagCatalog on the real DAGs directory (store's FileDagRepository): each file is read and
// parsed once per change, concurrent callers share a parse, and a scheduler given the catalog
// reads nothing more (the server shares one catalog between the scheduler and the API).
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagCatalog, RunLauncher, Scheduler, type DagRepository } from '@dagu-ts/core';
import { FileDagRepository, openStore, type Store } from '@dagu-ts/store';

let home: string;
let dagsDir: string;
let reads: string[];
let dags: DagRepository;

/** The real repository, with the names it was asked to read recorded. */
function countingReads(repository: DagRepository): DagRepository {
  return new Proxy(repository, {
    get(target, key, receiver) {
      if (key === 'read')
        return (fileName: string) => {
          reads.push(fileName);
          return target.read(fileName);
        };
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

function writeDag(name: string, text: string, mtimeSec?: number): void {
  const path = join(dagsDir, `${name}.yaml`);
  writeFileSync(path, text);
  if (mtimeSec !== undefined) utimesSync(path, mtimeSec, mtimeSec);
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-catalog-'));
  dagsDir = join(home, 'dags');
  reads = [];
  dags = countingReads(new FileDagRepository(dagsDir));
  mkdirSync(dagsDir);
});

afterEach(() => rmSync(home, { recursive: true, force: true }));

const SCHEDULED = 'schedule: "5 * * * *"\nsteps:\n  - name: a\n    command: echo a\n';
const PLAIN = 'description: plain\ntags: [x]\nsteps:\n  - name: a\n    command: echo a\n';

describe('DagCatalog', () => {
  it('parses each file once and again only after it changed', async () => {
    writeDag('one', SCHEDULED, 1_000_000);
    writeDag('two', PLAIN, 1_000_000);
    const catalog = new DagCatalog(dags);
    const first = await catalog.entries();
    expect(first.map((e) => e.fileName)).toEqual(['one', 'two']);
    expect(first[1]!.metadata).toMatchObject({ description: 'plain', tags: ['x'] });
    expect(first[0]!.dag?.schedule.start).toHaveLength(1);
    expect(reads.sort()).toEqual(['one', 'two']);

    const again = await catalog.entries();
    expect(again[0]).toBe(first[0]);
    expect(reads).toHaveLength(2);

    writeDag('two', PLAIN.replace('plain', 'changed'), 1_000_100);
    const third = await catalog.entries();
    expect(third[0]).toBe(first[0]);
    expect(third[1]!.metadata?.description).toBe('changed');
    expect(reads).toHaveLength(3);

    unlinkSync(join(dagsDir, 'one.yaml'));
    expect((await catalog.entries()).map((e) => e.fileName)).toEqual(['two']);
    catalog.forget('two');
    await catalog.entries();
    expect(reads).toHaveLength(4);
  });

  it('shares one parse between callers that arrive together', async () => {
    for (let i = 0; i < 120; i++) writeDag(`d${String(i).padStart(3, '0')}`, PLAIN);
    const catalog = new DagCatalog(dags);
    const [a, b, c] = await Promise.all([
      catalog.entries(),
      catalog.entries(),
      catalog.entries((name) => name.endsWith('7')),
    ]);
    expect(a).toHaveLength(120);
    expect(b.every((entry, index) => entry === a[index])).toBe(true);
    expect(c).toHaveLength(12);
    expect(reads).toHaveLength(120);
  });

  it('keeps the listing view of a DAG whose steps are wrong, and says why for each broken file', async () => {
    writeDag(
      'bad-steps',
      'description: d\nsteps:\n  - name: a\n    depends: [nowhere]\n    command: x\n',
    );
    writeDag('not-yaml', 'steps: [\n');
    writeDag('too-big', `description: "${'x'.repeat(300 * 1024)}"\n`);
    const [badSteps, notYaml, tooBig] = await new DagCatalog(dags).entries();
    expect(badSteps!.metadata?.description).toBe('d');
    expect(badSteps!.dag).toBeUndefined();
    expect(badSteps!.dagError).toMatch(/nowhere/);
    expect(notYaml!.metadata).toBeUndefined();
    expect(notYaml!.error).toBeTruthy();
    expect(tooBig!.error).toMatch(/file is too large/);
    // A file over the limit is refused from its size, without reading it.
    expect(reads).not.toContain('too-big');
  });
});

describe('a scheduler on a shared catalog', () => {
  let store: Store;
  let launcher: RunLauncher;

  beforeEach(() => {
    store = openStore({ home });
    launcher = new RunLauncher({
      runs: store.runs,
      queue: store.queue,
      cancels: store.cancels,
      processes: store.processes,
      logs: store.logs,
      dispatchQueues: false,
    });
  });

  afterEach(async () => {
    await launcher.close(0);
    await store.close();
  });

  it('loads its schedules from the catalog, so a listing after it reads no file again', async () => {
    writeDag('cron', SCHEDULED);
    writeDag('plain', PLAIN);
    const catalog = new DagCatalog(dags);
    const scheduler = new Scheduler({
      dags,
      catalog,
      runs: store.runs,
      flags: store.flags,
      ticks: store.ticks,
      launcher,
      watch: false,
      rescanIntervalMs: 0,
      // A clock far from minute 5, so the start-up tick fires nothing.
      clock: {
        now: () => new Date('2026-01-01T00:30:00Z'),
        setTimeout: () => ({ cancel: () => undefined }),
      },
    });
    await scheduler.start();
    expect(scheduler.scheduledDags()).toEqual(['cron']);
    expect(reads.sort()).toEqual(['cron', 'plain']);
    const listed = await catalog.entries();
    expect(listed.map((e) => e.metadata?.name)).toEqual(['cron', 'plain']);
    expect(reads).toHaveLength(2);
    await scheduler.stop();
  });
});
