// Fault tolerance of the BUILT server (`node apps/server/dist/main.js`, from `npx tsc -b`): a
// database that cannot be written mid-run (immutable files, a full disk) leaves the server up and
// answering, and a server killed with SIGKILL leaves no step process alive once it restarts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  truncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DagRunStatus, NodeStatus } from '@dagu-ts/core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface RunningServer {
  child: ChildProcess;
  api: string;
  lines: Record<string, unknown>[];
  exited: Promise<unknown>;
}

let work: string;
let home: string;
const servers: Array<{ child: ChildProcess; detached: boolean }> = [];
/** Undone after each test whatever happened: chattr -i, umount. */
const undo: Array<() => void> = [];
/** Step processes a test saw, killed at the end if anything is left. */
const stepPids: number[] = [];

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -b\` first`);
});

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'dagu-faults-'));
  home = join(work, 'home');
  mkdirSync(home);
});

afterEach(() => {
  for (const { child, detached } of servers.splice(0)) {
    try {
      // A detached server leads its own group, the spawn helper included.
      process.kill(detached ? -child.pid! : child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const pid of stepPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const step of undo.splice(0).reverse()) step();
  rmSync(work, { recursive: true, force: true });
});

function startServer(options: { detached?: boolean } = {}): Promise<RunningServer> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('DAGU_')),
  );
  const child = spawn(process.execPath, [MAIN, '--port', '0'], {
    env: { ...env, DAGU_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  servers.push({ child, detached: options.detached ?? false });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'listening') resolve({ child, api: entry.api as string, lines, exited });
      }
    });
    void exited.then(() => reject(new Error(`server exited before listening: ${stderr}`)), reject);
  });
}

async function call(
  server: RunningServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${server.api}${path}`, {
    method,
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

async function createDag(server: RunningServer, name: string, spec: string): Promise<void> {
  expect((await call(server, 'POST', '/dags', { name })).status).toBe(201);
  expect((await call(server, 'PUT', `/dags/${name}/spec`, { spec })).status).toBe(200);
}

async function startRun(server: RunningServer, name: string): Promise<string> {
  const started = await call(server, 'POST', `/dags/${name}/start`, {});
  expect(started.status).toBe(200);
  return started.body.dagRunId as string;
}

interface RunDetails {
  status: number;
  error?: string;
  nodes: Array<{ status: number }>;
}

async function runDetails(server: RunningServer, name: string, id: string): Promise<RunDetails> {
  const response = await call(server, 'GET', `/dag-runs/${name}/${id}`);
  expect(response.status).toBe(200);
  return response.body.dagRunDetails as RunDetails;
}

async function waitFor<T>(read: () => Promise<T> | T, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const runDirs = (dag: string): string[] =>
  existsSync(join(home, 'logs', dag))
    ? readdirSync(join(home, 'logs', dag)).filter((entry) => entry.startsWith('dag-run_'))
    : [];

/** Alive = it exists and is not a zombie (a killed orphan may wait for a reaper for a while). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const readPid = (file: string): Promise<number> =>
  waitFor(
    () => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0),
    (pid) => pid > 0,
  );

/** The server's behaviour while its store refuses writes, and after it takes them again. */
async function expectServesWhileUnwritable(server: RunningServer, dag: string): Promise<void> {
  const health = await call(server, 'GET', '/health');
  expect(health.status).toBe(200);
  const refused = await call(server, 'POST', `/dags/${dag}/start`, {});
  expect(refused.status).toBe(503);
  expect(refused.headers.get('content-type')).toMatch(/application\/json/);
  expect(refused.body).toMatchObject({
    code: 'internal_error',
    message: expect.stringMatching(/database cannot be written/),
  });
  expect(refused.headers.get('retry-after')).toBe('5');
  // The refused start left no log directory behind: only the first run's is there.
  expect(runDirs(dag)).toHaveLength(1);
  expect(server.child.exitCode).toBeNull();
}

describe('a database that cannot be written mid-run', () => {
  it('keeps the server up (chattr +i), answers 503 JSON and records again once writable', async (context) => {
    const server = await startServer();
    const gate = join(work, 'gate');
    await createDag(
      server,
      'e2e-immutable',
      `steps:\n  - name: wait\n    command: sh -c 'while [ ! -e ${gate} ]; do sleep 0.05; done'\n`,
    );
    const dagRunId = await startRun(server, 'e2e-immutable');
    await waitFor(
      () => runDetails(server, 'e2e-immutable', dagRunId),
      (run) => run.nodes[0]?.status === NodeStatus.Running,
    );

    // Not the -shm file: SQLite maps it into memory, and a write fault on an immutable mapping
    // is SIGBUS, which no process can survive (a separate hazard from the one tested here).
    const files = ['dagu.db', 'dagu.db-wal'].map((file) => join(home, 'data', file));
    const chattr = spawnSync('chattr', ['+i', ...files], { encoding: 'utf8' });
    if (chattr.status !== 0)
      return context.skip(`chattr +i is refused here: ${chattr.stderr || chattr.error?.message}`);
    undo.push(() => spawnSync('chattr', ['-i', ...files]));

    // The step ends and the run finishes while no write succeeds.
    rmSync(gate, { force: true });
    spawnSync('touch', [gate]);
    const runLog = join(home, 'logs', 'e2e-immutable', runDirs('e2e-immutable')[0]!);
    await waitFor(
      () => readdirSync(runLog).filter((file) => file.endsWith('.log')),
      (logs) =>
        logs.some((file) => readFileSync(join(runLog, file), 'utf8').includes('run finished')),
    );
    expect((await runDetails(server, 'e2e-immutable', dagRunId)).status).toBe(DagRunStatus.Running);
    await expectServesWhileUnwritable(server, 'e2e-immutable');

    undo.pop()!();
    const recorded = await waitFor(
      () => runDetails(server, 'e2e-immutable', dagRunId),
      (run) => run.status !== DagRunStatus.Running,
    );
    expect(recorded.status).toBe(DagRunStatus.Success);
    const next = await startRun(server, 'e2e-immutable');
    const again = await waitFor(
      () => runDetails(server, 'e2e-immutable', next),
      (run) => run.status !== DagRunStatus.Running && run.status !== DagRunStatus.Queued,
    );
    expect(again.status).toBe(DagRunStatus.Success);
    expect(server.child.exitCode).toBeNull();
  });

  it('keeps the server up on a full disk (3 MB tmpfs) and fails the step whose log cannot be written', async (context) => {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', home], {
      encoding: 'utf8',
    });
    if (mounted.status !== 0)
      return context.skip(`mounting a tmpfs is refused here: ${mounted.stderr}`);
    undo.push(() => spawnSync('umount', ['-l', home]));

    const server = await startServer();
    // 5 MB of stdout into the step's log file on a 3 MB disk.
    await createDag(
      server,
      'e2e-full',
      'steps:\n  - name: flood\n    command: head -c 5242880 /dev/zero\n',
    );
    const dagRunId = await startRun(server, 'e2e-full');
    const runLog = join(home, 'logs', 'e2e-full', runDirs('e2e-full')[0]!);
    const out = await waitFor(
      () =>
        readdirSync(runLog, { recursive: true })
          .map(String)
          .find((file) => file.endsWith('.out')),
      (file) => file !== undefined,
    );
    await waitFor(
      () => statfsSync(home).bavail,
      (free) => free === 0,
    );
    await expectServesWhileUnwritable(server, 'e2e-full');

    truncateSync(join(runLog, out!), 0);
    const recorded = await waitFor(
      () => runDetails(server, 'e2e-full', dagRunId),
      (run) => run.status !== DagRunStatus.Running,
    );
    expect(recorded.status).toBe(DagRunStatus.Failed);
    expect(recorded.nodes[0]!.status).toBe(NodeStatus.Failed);
    expect(server.child.exitCode).toBeNull();
  });
});

describe('a server killed with SIGKILL', () => {
  const spec = (dir: string) =>
    `steps:\n  - name: wait\n    command: sh -c 'sleep 300 & echo $! > ${dir}/grandchild.pid; echo $$ > ${dir}/step.pid; wait'\n`;

  async function startCrashRun(server: RunningServer): Promise<{ id: string; pids: number[] }> {
    await createDag(server, 'e2e-orphans', spec(work));
    const id = await startRun(server, 'e2e-orphans');
    const pids = [
      await readPid(join(work, 'step.pid')),
      await readPid(join(work, 'grandchild.pid')),
    ];
    stepPids.push(...pids);
    return { id, pids };
  }

  async function expectClosedAfterRestart(id: string, pids: number[]): Promise<void> {
    const second = await startServer();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    const run = await runDetails(second, 'e2e-orphans', id);
    expect(run.status).toBe(DagRunStatus.Failed);
    expect(second.lines.find((line) => String(line.msg).startsWith('closed runs'))).toMatchObject({
      runs: [{ name: 'e2e-orphans', dagRunId: id }],
    });
  }

  it('leaves no step process alive when only the server is killed (the spawn helper ends them)', async () => {
    const first = await startServer();
    const { id, pids } = await startCrashRun(first);
    first.child.kill('SIGKILL');
    await first.exited;
    // The helper follows its parent and takes the steps with it, before any restart.
    await waitFor(
      () => pids.some(isAlive),
      (alive) => !alive,
    );
    await expectClosedAfterRestart(id, pids);
  });

  it('ends the steps on restart when the server and its spawn helper were killed together', async () => {
    const first = await startServer({ detached: true });
    const { id, pids } = await startCrashRun(first);
    // The whole group of the server at once (as the OOM killer or `kill -9 -PGID` would):
    // the helper gets no chance to clean up, so the steps run on.
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    await expectClosedAfterRestart(id, pids);
  });
});
