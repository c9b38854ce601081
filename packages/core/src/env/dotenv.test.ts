import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { createShellRunner } from '../eval/shell-runner.js';
import { loadDotenvFiles } from './dotenv.js';

let root: string;
let dagDir: string;
let homeDir: string;
let env: Map<string, string>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dagu-dotenv-'));
  dagDir = join(root, 'dags');
  homeDir = join(root, 'home');
  await mkdir(dagDir);
  await mkdir(homeDir);
  env = new Map([['PATH', process.env.PATH ?? '/usr/bin:/bin']]);
});

const load = (
  paths: string[],
  extra: { dagDir?: string; homeDir?: string } = { dagDir, homeDir },
): Promise<string[]> =>
  loadDotenvFiles(paths, { ...extra, env, runShell: createShellRunner({ shell: 'sh', env }) });

describe('loadDotenvFiles', () => {
  it('loads a file relative to the DAG directory, overriding existing values', async () => {
    await writeFile(join(dagDir, '.env'), 'A=from-file\nB=2\n');
    env.set('A', 'before');
    expect(await load(['.env'])).toEqual([join(dagDir, '.env')]);
    expect(env.get('A')).toBe('from-file');
    expect(env.get('B')).toBe('2');
  });

  it('falls back to the home directory, DAG directory first', async () => {
    await writeFile(join(homeDir, 'only-home.env'), 'H=home\n');
    await writeFile(join(homeDir, 'both.env'), 'W=home\n');
    await writeFile(join(dagDir, 'both.env'), 'W=dag\n');
    expect(await load(['only-home.env', 'both.env'])).toEqual([
      join(homeDir, 'only-home.env'),
      join(dagDir, 'both.env'),
    ]);
    expect(env.get('H')).toBe('home');
    expect(env.get('W')).toBe('dag');
  });

  it('uses HOME from the environment when no home directory is given', async () => {
    await writeFile(join(homeDir, 'h.env'), 'H=1\n');
    env.set('HOME', homeDir);
    expect(await load(['h.env'], {})).toEqual([join(homeDir, 'h.env')]);
  });

  it('accepts absolute paths and skips missing files silently', async () => {
    const file = join(root, 'abs.env');
    await writeFile(file, 'ABS=yes\n');
    expect(
      await load([join(root, 'missing.env'), 'missing.env', file, 'nested/missing.env']),
    ).toEqual([file]);
    expect(env.get('ABS')).toBe('yes');
  });

  it('evaluates paths with env expansion and backticks', async () => {
    await writeFile(join(dagDir, 'prod.env'), 'STAGE=prod\n');
    env.set('DIR', dagDir);
    expect(await load(['${DIR}/`echo prod`.env'])).toEqual([join(dagDir, 'prod.env')]);
    expect(env.get('STAGE')).toBe('prod');
  });

  it('applies files in order, later ones winning', async () => {
    await writeFile(join(dagDir, 'a.env'), 'X=a\nY=a\n');
    await writeFile(join(dagDir, 'b.env'), 'X=b\n');
    await load(['a.env', 'b.env']);
    expect(env.get('X')).toBe('b');
    expect(env.get('Y')).toBe('a');
  });

  it('skips an empty path', async () => {
    expect(await load([''])).toEqual([]);
  });

  it('rejects a file that does not parse', async () => {
    await writeFile(join(dagDir, 'bad.env'), 'A="unterminated\n');
    await expect(load(['bad.env'])).rejects.toThrow(/bad\.env.*unterminated quoted value/);
  });

  it('rejects a path that names a directory', async () => {
    await mkdir(join(dagDir, 'conf'));
    await expect(load(['conf'])).rejects.toThrow(/dotenv: failed to load/);
  });
});
