// The API's DAG catalog (core's DagCatalog): each changed file is read and parsed once, however
// many listings ask for it at the same time, one file at a time (DAG files are read synchronously:
// reading several at once only adds thread-pool round trips).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDagRepository } from '@dagu-ts/store';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from './context.js';
import type { ApiDeps } from './deps.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A real repository on a temp directory, counting reads and the most read at once. */
function countingRepository(files: number) {
  const dir = mkdtempSync(join(tmpdir(), 'dagu-catalog-'));
  dirs.push(dir);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++)
    writeFileSync(
      join(dir, `dag-${i}.yaml`),
      `tags: [t${i % 3}]\nsteps:\n  - command: echo ${i}\n`,
    );
  writeFileSync(join(dir, 'broken.yaml'), 'steps: [\n');
  const repository = new FileDagRepository(dir);
  const stats = { reads: 0, active: 0, maxActive: 0 };
  const read = repository.read.bind(repository);
  repository.read = async (fileName: string) => {
    stats.reads++;
    stats.active++;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
    try {
      return await read(fileName);
    } finally {
      stats.active--;
    }
  };
  return { dir, repository, stats };
}

describe('catalog', () => {
  it('parses each file once for concurrent listings, reading one file at a time', async () => {
    const { repository, stats } = countingRepository(120);
    // Only the repository is used by the catalog; the rest of ApiDeps is not reached.
    const ctx = createContext({ dags: repository } as unknown as ApiDeps);
    const [first, second, filtered] = await Promise.all([
      ctx.catalog(),
      ctx.catalog(),
      ctx.catalog((name) => name.startsWith('dag-1')),
    ]);
    expect(first).toHaveLength(121);
    expect(second.map((e) => e.fileName)).toEqual(first.map((e) => e.fileName));
    expect(filtered.length).toBe(31); // dag-1, dag-10…19, dag-100…119
    expect(first.find((e) => e.fileName === 'broken')?.error).toMatch(/./);
    expect(first.find((e) => e.fileName === 'dag-7')?.metadata?.tags).toEqual(['t1']);
    expect(stats.reads).toBe(121);
    expect(stats.maxActive).toBe(1);
  });

  it('reads a file again when it changed, or after forget', async () => {
    const { dir, repository, stats } = countingRepository(3);
    const ctx = createContext({ dags: repository } as unknown as ApiDeps);
    await ctx.catalog();
    expect(stats.reads).toBe(4);
    writeFileSync(join(dir, 'dag-0.yaml'), 'description: longer now\nsteps:\n  - command: echo\n');
    ctx.forget('dag-1');
    const entries = await ctx.catalog();
    expect(stats.reads).toBe(6);
    expect(entries.find((e) => e.fileName === 'dag-0')?.metadata?.description).toBe('longer now');
  });
});

describe('loadDag', () => {
  it('reads the file every time and gives each caller its own Dag of the current text', async () => {
    const { dir, repository, stats } = countingRepository(1);
    writeFileSync(join(dir, 'dag-0.yaml'), 'steps:\n  - name: first\n    command: echo 0\n');
    const ctx = createContext({ dags: repository } as unknown as ApiDeps);
    const first = await ctx.loadDag('dag-0');
    first.dag.steps[0]!.name = 'changed by the caller';
    const second = await ctx.loadDag('dag-0');
    expect(second.dag.steps[0]!.name).not.toBe('changed by the caller');
    expect(second.dag).toEqual((await ctx.loadDag('dag-0')).dag);
    writeFileSync(join(dir, 'dag-0.yaml'), 'steps:\n  - name: edited\n    command: echo 1\n');
    expect((await ctx.loadDag('dag-0')).dag.steps.map((s) => s.name)).toEqual(['edited']);
    expect(stats.reads).toBe(4);
    writeFileSync(join(dir, 'dag-0.yaml'), 'steps: [\n');
    await expect(ctx.loadDag('dag-0')).rejects.toThrow();
  });
});
