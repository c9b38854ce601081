// `dagu-ts scheduler` as a real process: queued runs start at once, and a `* * * * *` schedule
// fires at the next minute (this test may take up to about 70 s).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cliBin, runCli } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'dagu-cli-scheduler-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

it(
  'starts queued runs and fires a * * * * * schedule at the minute',
  { timeout: 120_000 },
  async () => {
    const env = { ...process.env, DAGU_HOME: home, SHELL: '/bin/sh' };
    mkdirSync(join(home, 'dags'), { recursive: true });
    writeFileSync(
      join(home, 'dags', 'queued.yaml'),
      'steps:\n  - {name: a, command: echo queued-ran}\n',
    );
    writeFileSync(
      join(home, 'dags', 'minutely.yaml'),
      'schedule: "* * * * *"\nsteps:\n  - {name: a, command: echo tick}\n',
    );
    // Queued while no scheduler runs (as after a crash): it must still start later.
    expect((await runCli(['enqueue', 'queued', '-r', 'waiting'], { env })).code).toBe(0);

    const child = spawn(process.execPath, [cliBin, 'scheduler'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const status = async (dag: string) =>
        JSON.parse((await runCli(['status', dag, '--json'], { env })).stdout || '{}') as {
          statusLabel?: string;
          dagRunId?: string;
        };
      const waitFor = async (check: () => Promise<boolean>, ms: number) => {
        const deadline = Date.now() + ms;
        while (!(await check())) {
          if (Date.now() > deadline) throw new Error(`timed out; scheduler output:\n${output}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      };
      await waitFor(async () => (await status('queued')).statusLabel === 'finished', 20_000);
      expect((await status('queued')).dagRunId).toBe('waiting');
      await waitFor(async () => (await status('minutely')).statusLabel === 'finished', 75_000);
      expect(output).toContain('scheduled run started');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  },
);
