// `dagu-ts start` (the built binary, real processes) on every runnable corpus case: the exit code
// of dag-yaml.md §4.14 and the final status it reports.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBin, cliEnv, corpusDir, runCli } from './helpers.js';

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

function prepare(entry: CorpusCase): { file: string; dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(work, `${entry.id}-`));
  const file = join(dir, entry.file);
  copyFileSync(join(corpusDir, entry.file), file);
  return { file, dir, env: cliEnv(join(dir, 'home')) };
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

  for (const entry of cases.filter((c) => c.action === 'stop-after-1s')) {
    it(`${entry.id} ${entry.file}: stopped by \`dagu-ts stop\` about 1 s after it started`, async () => {
      const { file, dir, env } = prepare(entry);
      const child = spawn(process.execPath, [cliBin, 'start', file], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stop: Promise<unknown> | undefined;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!stop && /step \S+: running/.test(stderr)) {
          stop = new Promise((resolve) => setTimeout(resolve, 1000)).then(() =>
            runCli(['stop', file], { env, cwd: dir }),
          );
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      const stopped = (await stop) as { code: number; stderr: string };
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(code, stderr).toBe(entry.expect.exitCode);
      const status = await runCli(['status', file, '--json'], { env, cwd: dir });
      const run = JSON.parse(status.stdout) as { status: number; onExit: { stdout: string } };
      expect(run.status).toBe(entry.expect.status);
      const exitOutput = readFileSync(run.onExit.stdout, 'utf8').trim();
      const expected = Object.values(
        (entry.expect as { outputs?: Record<string, string> }).outputs ?? {},
      )[0];
      expect(exitOutput).toBe(expected);
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

  it('a file that does not load creates no run', async () => {
    const entry = cases.find((c) => c.id === 'C28-13')!;
    const { file, dir, env } = prepare(entry);
    expect((await runCli(['start', file], { env, cwd: dir })).code).toBe(1);
    const history = await runCli(['history', file], { env, cwd: dir });
    expect(history.stdout).toContain('no runs of DAG c28-13-unknown-key');
  });

  it('rejects a bad --run-id before running anything', async () => {
    const result = await runCli(
      ['start', '--run-id', 'bad id!', join(corpusDir, 'c01-chain-outputs.yaml')],
      { env: cliEnv(mkdtempSync(join(work, 'bad-run-id-'))) },
    );
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

describe('dagu-ts start on a terminal', () => {
  it.runIf(existsSync('/usr/bin/script'))(
    'draws a live table of the steps instead of log lines',
    async () => {
      const dir = mkdtempSync(join(work, 'tty-'));
      const file = join(dir, 'tty.yaml');
      copyFileSync(join(corpusDir, 'c01-chain-outputs.yaml'), file);
      const env = { ...process.env, DAGU_HOME: join(dir, 'home') };
      // `script` runs the command on a pseudo-terminal, as an interactive shell would.
      const child = spawn(
        '/usr/bin/script',
        ['-q', '-c', `${process.execPath} ${cliBin} start ${file}`, '/dev/null'],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
      expect(output).toContain('\x1b[2K');
      expect(output).toMatch(/a\s+finished/);
      expect(output).toMatch(/onExit\s+finished/);
      expect(output).not.toContain('step a: running');
    },
  );
});
