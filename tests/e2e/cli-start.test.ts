// `dagu-ts start` (the built binary, real processes) on every runnable corpus case: the exit code
// of §4.14 and the final status it reports.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBin, corpusDir, runCli } from './helpers.js';

interface CorpusCase {
  id: string;
  file: string;
  params?: string;
  action?: string;
  expect: { load: 'ok' | 'error'; status?: number; exitCode?: number; loadErrorIncludes?: string };
}
const cases = JSON.parse(readFileSync(join(corpusDir, 'cases.json'), 'utf8')) as CorpusCase[];
const LABELS: Record<number, string> = {
  2: 'failed',
  3: 'canceled',
  4: 'finished',
  6: 'partial success',
};
const work = mkdtempSync(join(tmpdir(), 'dagu-cli-start-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function caseEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('DAGU_')) env[key] = value;
  return { ...env, DAGU_HOME: home, SHELL: '/bin/sh' };
}

function prepare(entry: CorpusCase): { file: string; dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(work, `${entry.id}-`));
  const file = join(dir, entry.file);
  copyFileSync(join(corpusDir, entry.file), file);
  return { file, dir, env: caseEnv(join(dir, 'home')) };
}

describe('dagu-ts start on the corpus', () => {
  for (const entry of cases.filter((c) => !c.action)) {
    it(`${entry.id} ${entry.file} exits ${entry.expect.exitCode ?? 1}`, async () => {
      const { file, dir, env } = prepare(entry);
      const args = ['start', file, ...(entry.params ? ['--', ...entry.params.split(' ')] : [])];
      const result = await runCli(args, { env, cwd: dir });
      if (entry.expect.load === 'error') {
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(entry.expect.loadErrorIncludes!);
        expect(result.stderr).not.toContain('run ');
        return;
      }
      expect(result.code, result.stderr).toBe(entry.expect.exitCode);
      const last = result.stderr.trim().split('\n').at(-1)!;
      expect(last).toMatch(new RegExp(` ${LABELS[entry.expect.status!]}`));
    });
  }

  it('C27: SIGTERM to the start process stops the run; it ends canceled with exit 0', async () => {
    const entry = cases.find((c) => c.id === 'C27')!;
    const { file, dir, env } = prepare(entry);
    const child = spawn(process.execPath, [cliBin, 'start', file], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('step long: running') && !child.killed)
        setTimeout(() => child.kill('SIGTERM'), 500);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toMatch(/step long: canceled/);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/ canceled$/);
  });

  it('rejects a bad --run-id before running anything', async () => {
    const result = await runCli([
      'start',
      '--run-id',
      'bad id!',
      join(corpusDir, 'c01-chain-outputs.yaml'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid run id');
  });

  it('uses the given --run-id and -p params', async () => {
    const entry = cases.find((c) => c.id === 'C18')!;
    const { file, dir, env } = prepare(entry);
    const result = await runCli(['start', '-r', 'my-run_1', '-p', 'GREETING=yo omega', file], {
      env,
      cwd: dir,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'run c18-params my-run_1 started (params: 1=alpha GREETING=yo 3=beta 2=omega)',
    );
  });
});
