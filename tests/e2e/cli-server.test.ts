// One configuration and one composition for every role (the built `dagu-ts`, real processes):
// `dagu-ts start` queues on a shared queue exactly as a server start does, and the server
// dispatches what the CLI queued; `server` and `start-all` serve the API (cron only in
// start-all); the CLI reads config.yaml with flag > environment > file; and start-all's cron
// runs a DAG, its time injected through the scheduler's clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DagRunStatus, type SchedulerClock } from '@dagu-ts/core';
import { loadConfig, serve } from '@dagu-ts/server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cliBin, cliEnv, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-cli-server-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

let homes = 0;
function newHome(): { home: string; env: NodeJS.ProcessEnv } {
  const home = join(work, `home-${++homes}`);
  mkdirSync(join(home, 'dags'), { recursive: true });
  return { home, env: cliEnv(home) };
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns `dagu-ts args…` and resolves once a line of its output matches `ready`. */
async function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<Started & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, [cliBin, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = ready.exec(output);
      if (found) resolve(found);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then(() => reject(new Error(`dagu-ts ${args[0]} exited:\n${output}`)), reject);
  });
  return { child, output: () => output, exited, match };
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function statusOf(
  env: NodeJS.ProcessEnv,
  dag: string,
  runId: string,
): Promise<{ statusLabel?: string }> {
  const result = await runCli(['status', dag, '-r', runId, '--json'], { env });
  return JSON.parse(result.stdout || '{}') as { statusLabel?: string };
}

describe('dagu-ts start goes through the launcher the server uses', () => {
  it('a DAG on a shared queue at its queues.config limit is queued, and the server starts it when the slot frees', async () => {
    const { home, env } = newHome();
    const release = join(home, 'release');
    writeFileSync(
      join(home, 'config.yaml'),
      'queues:\n  config:\n    - name: shared\n      maxActiveRuns: 1\n',
    );
    writeFileSync(
      join(home, 'dags', 'holder.yaml'),
      `queue: shared\nsteps:\n  - name: hold\n    command: sh -c 'while [ ! -f ${release} ]; do sleep 0.1; done'\n`,
    );
    // Its own maxActiveRuns (1) is free: only the shared queue's limit makes it wait.
    writeFileSync(
      join(home, 'dags', 'waiter.yaml'),
      'queue: shared\nsteps:\n  - {name: a, command: echo waited}\n',
    );
    const server = await spawnCli(
      ['start-all', '--port', '0', '--host', '127.0.0.1'],
      env,
      /"api":"([^"]+)"/,
    );
    const api = server.match[1]!;
    const started = await fetch(`${api}/dags/holder/start`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ dagRunId: 'h1' }),
    });
    expect(started.status, await started.text()).toBe(200);
    await waitFor(
      async () => (await statusOf(env, 'holder', 'h1')).statusLabel === 'running',
      'the holder to run',
    );

    const queued = await runCli(['start', 'waiter', '-r', 'w1'], { env });
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toContain('queued waiter w1 (queue shared: at most 1 active run(s)');
    expect((await statusOf(env, 'waiter', 'w1')).statusLabel).toBe('queued');

    // --no-queue runs now, whatever the queue says (Dagu's flag).
    const forced = await runCli(['start', '--no-queue', 'waiter', '-r', 'w2'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect((await statusOf(env, 'waiter', 'w2')).statusLabel).toBe('finished');

    writeFileSync(release, '');
    await waitFor(
      async () => (await statusOf(env, 'waiter', 'w1')).statusLabel === 'finished',
      `the server to start the queued run:\n${server.output()}`,
    );
    expect((await statusOf(env, 'holder', 'h1')).statusLabel).toBe('finished');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('a run queued by dagu-ts start while nothing dispatches is started by dagu-ts scheduler', async () => {
    const { home, env } = newHome();
    const release = join(home, 'release');
    writeFileSync(
      join(home, 'dags', 'single.yaml'),
      `maxActiveRuns: 1\nsteps:\n  - name: hold\n    command: sh -c 'while [ ! -f ${release} ]; do sleep 0.1; done'\n`,
    );
    const first = await spawnCli(['start', 'single', '-r', 'first'], env, /step hold: running/);
    const second = await runCli(['start', 'single', '-r', 'second'], { env });
    expect(second.stdout).toContain('queued single second');
    writeFileSync(release, '');
    expect(await first.exited).toBe(0);
    // The CLI that ran `first` starts no other run: `second` waits for a dispatcher.
    expect((await statusOf(env, 'single', 'second')).statusLabel).toBe('queued');
    const scheduler = await spawnCli(['scheduler'], env, /"msg":"running"/);
    await waitFor(
      async () => (await statusOf(env, 'single', 'second')).statusLabel === 'finished',
      'the scheduler to start the queued run',
    );
    scheduler.child.kill('SIGTERM');
    expect(await scheduler.exited).toBe(0);
  });
});

describe('dagu-ts server and start-all', () => {
  for (const [verb, scheduling] of [
    ['start-all', '1'],
    ['server', '0'],
  ] as const) {
    it(`${verb} serves /api/v2/health; cron ${scheduling === '1' ? 'runs' : 'does not run'}`, async () => {
      const { env } = newHome();
      const server = await spawnCli([verb, '-p', '0'], env, /"api":"([^"]+)"/);
      const api = server.match[1]!;
      const health = await fetch(`${api}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'healthy' });
      const metrics = await (await fetch(`${api}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^dagu_scheduler_running ${scheduling}$`, 'm'));
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    });
  }

  it('--help says that server runs no cron schedules and start-all does', async () => {
    const server = await runCli(['server', '--help']);
    expect(server.stdout).toContain('cron schedules do not run');
    for (const flag of ['--host', '--port', '--dags', '--base-path'])
      expect(server.stdout).toContain(flag);
    expect((await runCli(['start-all', '--help'])).stdout).toContain('run cron schedules');
  });

  it('start-all runs a cron DAG at its minute (time from the scheduler clock)', async () => {
    const { home } = newHome();
    writeFileSync(
      join(home, 'dags', 'nightly.yaml'),
      'schedule: "0 3 * * *"\nsteps:\n  - {name: a, command: echo nightly}\n',
    );
    let now = new Date('2031-03-04T02:59:30Z');
    const clock: SchedulerClock = {
      now: () => now,
      setTimeout: () => ({ cancel: () => undefined }),
    };
    const config = loadConfig({ flags: { port: '0' }, env: { DAGU_HOME: home, DAGU_TZ: 'UTC' } });
    const lines: string[] = [];
    const logger = {
      info: (msg: string) => lines.push(msg),
      warn: (msg: string) => lines.push(msg),
      error: (msg: string) => lines.push(msg),
      write: (entry: Record<string, unknown>) => lines.push(String(entry.msg)),
    };
    const running = await serve(config, { scheduler: true, clock, logger, signals: false });
    try {
      const health = await fetch(`${running.url}/api/v2/health`);
      expect(health.status).toBe(200);
      const scheduler = running.dagu.scheduler!;
      now = new Date('2031-03-04T03:00:02Z');
      await scheduler.tick(new Date('2031-03-04T03:00:00Z'));
      const runs = running.dagu.store.runs;
      await waitFor(async () => {
        const [run] = (await runs.listRuns({ name: 'nightly' })).runs;
        return run?.status === DagRunStatus.Success;
      }, 'the scheduled run');
      const [run] = (await runs.listRuns({ name: 'nightly' })).runs;
      expect((await runs.getRun('nightly', run!.dagRunId))?.trigger).toBe('schedule');
    } finally {
      await running.shutdown('test');
    }
    expect(await running.done).toBe(0);
  });
});

describe('the CLI reads the server configuration', () => {
  it('dirs from config.yaml; an environment variable beats the file, a flag beats both', async () => {
    const { home, env } = newHome();
    const dirs = Object.fromEntries(
      ['file', 'env', 'flag'].map((source) => {
        const dir = join(home, `${source}-dags`);
        mkdirSync(dir);
        writeFileSync(
          join(dir, `from-${source}.yaml`),
          `steps:\n  - {name: a, command: echo ${source}}\n`,
        );
        return [source, dir];
      }),
    ) as Record<'file' | 'env' | 'flag', string>;
    writeFileSync(
      join(home, 'config.yaml'),
      `paths:\n  dagsDir: ${dirs.file}\n  dataDir: state\n  logDir: state/logs\n`,
    );
    const fromFile = await runCli(['start', 'from-file', '-r', 'f1'], { env });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    // dataDir relative to the file: the run is in <home>/state, not <home>/data.
    expect(existsSync(join(home, 'state', 'dagu.db'))).toBe(true);
    expect(existsSync(join(home, 'data'))).toBe(false);

    const withEnv = { ...env, DAGU_DAGS_DIR: dirs.env };
    expect((await runCli(['list'], { env: withEnv })).stdout).toContain('from-env');
    expect((await runCli(['list'], { env: withEnv })).stdout).not.toContain('from-file');
    const scheduler = await spawnCli(
      ['scheduler', '--dags', dirs.flag],
      withEnv,
      /"msg":"running".*\n/,
    );
    expect(scheduler.match[0]).toContain(JSON.stringify(dirs.flag));
    scheduler.child.kill('SIGTERM');
    expect(await scheduler.exited).toBe(0);

    // A bad setting is named with its source, as the server names it.
    const bad = await runCli(['list'], { env: { ...env, DAGU_TZ: 'Mars/Olympus' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid DAGU_TZ');
  });
});
