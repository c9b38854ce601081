// The CLI in remote mode (--server / DAGU_SERVER_URL) against the built server app: the same
// commands, output and exit codes as locally, with the CLI's own home left empty.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const serverMain = fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'dagu-cli-remote-'));
const serverHome = join(work, 'server');
const cliHome = join(work, 'cli');
let server: ChildProcess;
let url: string;

beforeAll(async () => {
  mkdirSync(join(serverHome, 'dags'), { recursive: true });
  mkdirSync(cliHome);
  const dags = join(serverHome, 'dags');
  writeFileSync(
    join(dags, 'ok.yaml'),
    'params: "WHO=world"\nsteps:\n  - {name: greet, command: echo hi $WHO}\n',
  );
  writeFileSync(join(dags, 'bad.yaml'), 'steps:\n  - {name: boom, command: exit 3}\n');
  writeFileSync(join(dags, 'long.yaml'), 'steps:\n  - {name: wait, command: sleep 30}\n');
  writeFileSync(
    join(dags, 'noisy.yaml'),
    'steps:\n  - name: talk\n    command: sh -c \'for i in 1 2 3; do echo "line $i"; sleep 0.4; done; echo oops >&2; exit 4\'\n',
  );
  writeFileSync(
    join(dags, 'flaky.yaml'),
    `steps:\n  - {name: check, command: test -f ${join(work, 'marker')}}\n`,
  );
  const env = {
    ...process.env,
    DAGU_HOME: serverHome,
    DAGU_AUTH_BASIC_USERNAME: 'ops',
    DAGU_AUTH_BASIC_PASSWORD: 'pw',
    DAGU_AUTH_TOKEN: 'static-token',
    DAGU_SKIP_EXAMPLES: '1',
  };
  server = spawn(process.execPath, [serverMain, '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"([^"]+)"/.exec(out);
      if (match) resolve(match[1]!);
    });
    server.on('close', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
});

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const env = () => ({
  DAGU_HOME: cliHome,
  DAGU_AUTH_BASIC_USERNAME: 'ops',
  DAGU_AUTH_BASIC_PASSWORD: 'pw',
  SHELL: '/bin/sh',
});
const remote = (...args: string[]) => runCli(['--server', url, ...args], { env: env(), cwd: work });

describe('remote CLI', () => {
  it('start waits for the run and exits like a local start; status, history and list show it', async () => {
    const ok = await remote('start', 'ok', '-r', 'r-ok', '--', 'WHO=remote');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('step greet: finished');
    expect(ok.stderr.trim().split('\n').at(-1)).toMatch(/run ok r-ok finished$/);
    const bad = await remote('start', 'bad');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/step boom: failed, exit status 3/);

    const status = await runCli(['status', 'ok'], {
      env: { ...env(), DAGU_SERVER_URL: url },
      cwd: work,
    });
    expect(status.stdout).toContain('Status:   finished');
    expect(status.stdout).toContain('Params:   WHO=remote');
    const json = JSON.parse((await remote('status', 'ok', '--json')).stdout) as {
      dagRunId: string;
      statusLabel: string;
    };
    expect(json).toMatchObject({ dagRunId: 'r-ok', statusLabel: 'finished' });
    expect((await remote('history', 'ok')).stdout).toContain('r-ok');
    const list = await remote('list');
    expect(list.stdout).toMatch(/ok\s+ok\s+finished/);
    // Nothing was written to the CLI's own home.
    expect(existsSync(join(cliHome, 'data')) ? readdirSync(join(cliHome, 'data')) : []).toEqual([]);
  });

  it('stop, retry, enqueue and dequeue go through the server', async () => {
    const long = spawn(
      process.execPath,
      [
        fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url)),
        '--server',
        url,
        'start',
        'long',
        '-r',
        'l1',
      ],
      {
        env: { ...process.env, ...env() },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const longExit = new Promise<number | null>((resolve) => long.on('close', resolve));
    let started = false;
    for (let i = 0; i < 100 && !started; i++) {
      started = (await remote('status', 'long', '--json')).stdout.includes(
        '"statusLabel": "running"',
      );
      if (!started) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stopped = await remote('stop', 'long');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('stopped long l1');
    expect(await longExit).toBe(0);

    expect((await remote('start', 'flaky', '-r', 'f1')).code).toBe(1);
    writeFileSync(join(work, 'marker'), '');
    const retried = await remote('retry', 'flaky', '--run-id', 'f1');
    expect(retried.code, retried.stderr).toBe(0);
    expect((await remote('status', 'flaky')).stdout).toContain('Status:   finished');

    const queued = await remote('enqueue', 'long', '-r', 'q-later');
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toContain('queued long q-later');
    await remote('stop', 'long', '--run-id', 'q-later').then(async (result) => {
      if (result.code === 0) return;
      const dequeued = await remote('dequeue', 'long', '--run-id', 'q-later');
      expect(dequeued.code, dequeued.stderr).toBe(0);
    });
  });

  it('logs prints and follows a step over HTTP; status shows the failed step’s last lines', async () => {
    const starting = remote('start', 'noisy', '-r', 'n1', '-p', '{"WHO":"json"}');
    for (let i = 0; i < 100; i++) {
      if ((await remote('status', 'noisy', '--json')).stdout.includes('"dagRunId": "n1"')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const followed = await remote('logs', 'noisy', '-r', 'n1', '--step', 'talk', '--follow');
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toBe('line 1\nline 2\nline 3\n');
    expect((await starting).code).toBe(1);
    const logs = await remote('logs', 'noisy', '-r', 'n1', '--step', 'talk');
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('line 1\nline 2\nline 3\n');
    expect((await remote('logs', 'noisy', '--step', 'talk', '--stderr')).stdout).toBe('oops\n');
    const status = await remote('status', 'noisy');
    expect(status.stdout).toMatch(/talk\s+failed/);
    expect(status.stdout).toContain('Log of talk (last 1 line(s)):\n  | oops');
    expect(status.stdout).toContain('Params:   WHO=json');
  });

  it('authenticates with DAGU_AUTH_TOKEN as documented', async () => {
    const withToken = await runCli(['--server', url, 'list'], {
      env: { DAGU_HOME: cliHome, DAGU_AUTH_TOKEN: 'static-token' },
      cwd: work,
    });
    expect(withToken.code, withToken.stderr).toBe(0);
    expect(withToken.stdout).toContain('noisy');
  });

  it('reports API errors and unreachable servers on one line with exit 1', async () => {
    const missing = await remote('status', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no run of DAG nope yet');
    const unauthorized = await runCli(['--server', url, 'list'], {
      env: { DAGU_HOME: cliHome },
      cwd: work,
    });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toContain('401 unauthorized');
    const down = await runCli(['--server', 'http://127.0.0.1:9', 'list'], {
      env: env(),
      cwd: work,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach the server');
  });
});
