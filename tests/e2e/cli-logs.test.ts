// `dagu-ts logs`: a step's output, the run log, and --follow tailing a running step live until
// the run ends; each through the built binary against its own DAGU_HOME.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cliBin, cliEnv, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-cli-logs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let home: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  home = mkdtempSync(join(work, 'home-'));
  mkdirSync(join(home, 'dags'));
  env = cliEnv(home);
});

const cli = (...args: string[]) => runCli(args, { env, cwd: home });

/** A child process with its stdout collected, each chunk stamped with when it arrived. */
function background(args: string[]) {
  const child = spawn(process.execPath, [cliBin, ...args], {
    env,
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Array<{ at: number; text: string }> = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) =>
    chunks.push({ at: Date.now(), text: chunk.toString() }),
  );
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on('close', (code) => resolve({ code, at: Date.now() })),
  );
  return { exit, chunks, stdout: () => chunks.map((c) => c.text).join(''), stderr: () => stderr };
}

async function waitUntil(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('logs', () => {
  it("prints a step's stdout or stderr, and the run log without --step", async () => {
    writeFileSync(
      join(home, 'dags', 'talk.yaml'),
      'steps:\n  - {name: say, command: sh -c "echo out-line; echo err-line >&2"}\n  - {name: later, command: echo second, depends: say}\n',
    );
    expect((await cli('start', 'talk', '-r', 't1')).code).toBe(0);
    const stdout = await cli('logs', 'talk', '--step', 'say');
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(stdout.stdout).toBe('out-line\n');
    expect((await cli('logs', 'talk', '-r', 't1', '-s', 'say', '--stderr')).stdout).toBe(
      'err-line\n',
    );
    const runLog = await cli('logs', 'talk');
    expect(runLog.code, runLog.stderr).toBe(0);
    expect(runLog.stdout).toMatch(/run started[^]*run finished/);
    const unknown = await cli('logs', 'talk', '--step', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('is not a step');
    expect((await cli('logs', 'talk', '-r', 'missing')).code).toBe(1);
  });

  it('--follow prints a running step’s lines as they come and ends when the run ends', async () => {
    // The step prints two lines, then waits for a gate file: lines seen before the gate opens
    // were followed live, whatever the machine's speed.
    const gate = join(home, 'gate');
    writeFileSync(
      join(home, 'dags', 'ticker.yaml'),
      `steps:\n  - name: tick\n    command: sh -c 'echo "tick 1"; echo "tick 2"; while [ ! -e ${gate} ]; do sleep 0.05; done; echo "tick 3"'\n  - {name: after, command: echo done, depends: tick}\n`,
    );
    const run = background(['start', 'ticker', '-r', 'live']);
    await waitUntil(
      async () => (await cli('status', 'ticker', '--json')).stdout.includes('"running"'),
      30_000,
    );
    const follow = background(['logs', 'ticker', '--step', 'tick', '--follow']);
    await waitUntil(async () => follow.stdout().includes('tick 2'), 30_000);
    expect(follow.stdout()).toBe('tick 1\ntick 2\n');
    writeFileSync(gate, '');
    const [followed, ran] = await Promise.all([follow.exit, run.exit]);
    expect(ran.code).toBe(0);
    expect(followed.code, follow.stderr()).toBe(0);
    expect(follow.stdout()).toBe('tick 1\ntick 2\ntick 3\n');
  });

  it('--follow of the run log waits for a queued run and ends when it ends', async () => {
    writeFileSync(
      join(home, 'dags', 'short.yaml'),
      'steps:\n  - {name: a, command: echo short-run}\n',
    );
    const follow = background(['logs', 'short', '--follow', '-r', 'q1']);
    // Not there yet: logs reports it and exits 1.
    expect((await follow.exit).code).toBe(1);
    expect((await cli('enqueue', 'short', '-r', 'q1')).code).toBe(0);
    const waiting = background(['logs', 'short', '--follow', '-r', 'q1']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await cli('retry', 'short', '-r', 'q1')).code).toBe(0);
    const done = await waiting.exit;
    expect(done.code, waiting.stderr()).toBe(0);
    expect(waiting.stdout()).toContain('short');
  });
});
