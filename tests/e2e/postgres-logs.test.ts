// Logs across servers on one PostgreSQL database: two `dagu-ts start-all` processes (the built
// CLI, real HTTP on loopback), each with its own DAGU_HOME; a run executed on server A is read
// through server B's /api/v2 log endpoints, its step's tail while the step still runs included.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DagRunStatus } from '@dagu-ts/core';
import { createTestDatabase } from '@dagu-ts/testing';
import { cliBin, cliEnv } from './helpers.js';

const adminUrl = inject('postgresUrl');
const work = mkdtempSync(join(tmpdir(), 'dagu-pg-logs-'));
const dagsDir = join(work, 'dags');
mkdirSync(dagsDir, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

let database: { url: string; drop(): Promise<void> };
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Server {
  api: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

let servers = 0;
async function startServer(): Promise<Server> {
  const home = join(work, `home-${++servers}`);
  const env = { ...cliEnv(home), DAGU_DAGS_DIR: dagsDir, DAGU_DATABASE_URL: database.url };
  const child = spawn(
    process.execPath,
    [cliBin, 'start-all', '--port', '0', '--host', '127.0.0.1'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let output = '';
  const api = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /"api":"([^"]+)"/.exec(output);
      if (found) resolve(found[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then(() => reject(new Error(`start-all exited:\n${output}`)), reject);
  });
  return { api, child, exited };
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as Record<string, unknown>;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.runIf(adminUrl !== '')('logs on PostgreSQL, read through another server', () => {
  beforeAll(async () => {
    database = await createTestDatabase(adminUrl);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('shows a run executed on A through B: the live tail of a running step, then all of it', async () => {
    const gate = join(work, 'gate');
    // The step prints, then waits for the test to open the gate: it is running while B reads.
    writeFileSync(
      join(dagsDir, 'talker.yaml'),
      [
        'steps:',
        '  - name: talk',
        `    command: sh -c 'for i in 1 2 3; do echo "before $i"; done; echo oops >&2; while [ ! -f ${gate} ]; do sleep 0.05; done; echo after'`,
        '',
      ].join('\n'),
    );
    const [a, b] = [await startServer(), await startServer()];
    const started = await fetch(`${a.api}/dags/talker/start`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(started.status).toBe(200);
    const { dagRunId } = (await started.json()) as { dagRunId: string };
    const stepLog = (query = '') =>
      getJson(`${b.api}/dag-runs/talker/${dagRunId}/steps/talk/log${query}`);

    await waitFor(async () => {
      const details = (await getJson(`${b.api}/dag-runs/talker/${dagRunId}`)) as {
        dagRunDetails: { nodes: Array<{ stdout: string }> };
      };
      return details.dagRunDetails.nodes[0]!.stdout !== '';
    }, 'the step to record its log');
    await waitFor(
      async () => (await stepLog('?tail=1')).content === 'before 3',
      'the live tail on B',
    );
    // Still running: the tail came while the step was waiting for the gate.
    const running = (await getJson(`${b.api}/dag-runs/talker/${dagRunId}`)) as {
      dagRunDetails: { status: number };
    };
    expect(running.dagRunDetails.status).toBe(DagRunStatus.Running);
    expect(await stepLog('?head=2')).toMatchObject({
      content: 'before 1\nbefore 2',
      hasMore: true,
    });
    expect((await stepLog('?stream=stderr')).content).toBe('oops');

    writeFileSync(gate, '');
    await waitFor(
      async () =>
        (
          (await getJson(`${b.api}/dag-runs/talker/${dagRunId}`)) as {
            dagRunDetails: { status: number };
          }
        ).dagRunDetails.status === DagRunStatus.Success,
      'the run to succeed',
    );
    await waitFor(
      async () => (await stepLog()).content === 'before 1\nbefore 2\nbefore 3\nafter',
      'the whole step log on B',
    );
    expect(await stepLog('?offset=2&limit=2')).toMatchObject({
      content: 'before 2\nbefore 3',
      lineCount: 2,
      totalLines: 4,
      hasMore: true,
    });
    await waitFor(
      async () =>
        String((await getJson(`${b.api}/dag-runs/talker/${dagRunId}/log`)).content).includes(
          'run finished',
        ),
      'the run log on B',
    );
    // A reads its own files; the same content.
    expect((await getJson(`${a.api}/dag-runs/talker/${dagRunId}/steps/talk/log`)).content).toBe(
      'before 1\nbefore 2\nbefore 3\nafter',
    );
    for (const server of [a, b]) server.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  });
});
