// The persisted CLI commands against a real DAGU_HOME (SQLite database and log files), each
// run as the built `dagu-ts` binary in its own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cliBin, cliEnv, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-cli-store-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let home: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  home = mkdtempSync(join(work, 'home-'));
  mkdirSync(join(home, 'dags'));
  env = cliEnv(home);
});

/** Alive and not a zombie waiting to be reaped. */
function processRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function dagFile(name: string, yaml: string): string {
  const file = join(home, 'dags', `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

const cli = (...args: string[]) => runCli(args, { env, cwd: home });

/** Starts `dagu-ts start` in the background; resolves once `marker` appears in its output. */
function startInBackground(
  args: string[],
  marker: string,
): Promise<{ child: ChildProcess; exit: Promise<number | null>; output: () => string }> {
  const child = spawn(process.execPath, [cliBin, 'start', ...args], {
    env,
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(marker)) resolve({ child, exit, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exit.then(
      (code) => reject(new Error(`start exited ${code} before "${marker}": ${output}`)),
      reject,
    );
  });
}

interface RunJson {
  dagRunId: string;
  status: number;
  statusLabel: string;
  params?: string;
  nodes: Array<{
    step: { name: string };
    status: number;
    statusLabel: string;
    error?: string;
    stdout: string;
  }>;
  onExit?: { stdout: string; status: number };
}

async function statusJson(dag: string, runId?: string): Promise<RunJson> {
  const result = await cli('status', dag, '--json', ...(runId ? ['--run-id', runId] : []));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as RunJson;
}

describe('persisted runs', () => {
  it('start records the run; status, status --json and history show it', async () => {
    dagFile(
      'hello',
      'params: "WHO=world"\nsteps:\n  - {name: greet, command: echo hello $WHO}\n  - {name: fail-soft, command: exit 0}\n',
    );
    const started = await cli('start', 'hello', '-r', 'run-1', '--', 'WHO=you');
    expect(started.code, started.stderr).toBe(0);
    const run = await statusJson('hello');
    expect(run).toMatchObject({
      dagRunId: 'run-1',
      status: 4,
      statusLabel: 'finished',
      params: 'WHO=you',
    });
    expect(run.nodes.map((n) => [n.step.name, n.statusLabel])).toEqual([
      ['greet', 'finished'],
      ['fail-soft', 'finished'],
    ]);
    expect(readFileSync(run.nodes[0]!.stdout, 'utf8')).toBe('hello you\n');
    const text = await cli('status', join(home, 'dags', 'hello.yaml'));
    expect(text.stdout).toContain('Status:   finished');
    expect(text.stdout).toMatch(/greet\s+finished/);
    await cli('start', 'hello');
    const history = await cli('history', 'hello');
    expect(history.stdout.trim().split('\n')).toHaveLength(3);
    expect(history.stdout).toContain('run-1');
    const duplicate = await cli('start', 'hello', '-r', 'run-1');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already exists');
  });

  it('stop from another process stops the run with the step’s signalOnStop (C27b)', async () => {
    const file = dagFile(
      'stoppable',
      readFileSync(new URL('../corpus/c27b-stop-signal-on-stop.yaml', import.meta.url), 'utf8'),
    );
    const background = await startInBackground([file, '-r', 'to-stop'], 'step long: running');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stopped = await cli('stop', 'stoppable');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(await background.exit).toBe(0);
    const run = await statusJson('stoppable', 'to-stop');
    expect(run.statusLabel).toBe('canceled');
    expect(readFileSync(run.onExit!.stdout, 'utf8').trim()).toBe('INT');
    const again = await cli('stop', 'stoppable');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not running');
  });

  it('retry re-runs the failed part with the same run id; --step retries one step', async () => {
    const marker = join(home, 'marker');
    dagFile(
      'flaky',
      `steps:\n  - {name: prepare, command: echo p}\n  - {name: check, command: test -f ${marker}}\n  - {name: after, command: echo done}\n`,
    );
    expect((await cli('start', 'flaky', '-r', 'r1')).code).toBe(1);
    expect((await statusJson('flaky')).nodes.map((n) => n.statusLabel)).toEqual([
      'finished',
      'failed',
      'canceled',
    ]);
    writeFileSync(marker, '');
    const retried = await cli('retry', 'flaky', '--run-id', 'r1');
    expect(retried.code, retried.stderr).toBe(0);
    const run = await statusJson('flaky');
    expect(run.dagRunId).toBe('r1');
    expect(run.nodes.map((n) => n.statusLabel)).toEqual(['finished', 'finished', 'finished']);

    rmSync(marker);
    expect((await cli('start', 'flaky', '-r', 'r2')).code).toBe(1);
    writeFileSync(marker, '');
    expect((await cli('retry', 'flaky', '--run-id', 'r2', '--step', 'check')).code).toBe(0);
    expect((await statusJson('flaky', 'r2')).nodes.map((n) => n.statusLabel)).toEqual([
      'finished',
      'finished',
      'canceled',
    ]);
    const missing = await cli('retry', 'flaky', '--run-id', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');
  });

  it('enqueue leaves a queued run that dequeue cancels', async () => {
    dagFile('later', 'steps:\n  - {name: a, command: echo a}\n');
    const queued = await cli('enqueue', 'later', '-r', 'q1', '--', 'X=1');
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toContain('queued later q1');
    expect(await statusJson('later')).toMatchObject({
      dagRunId: 'q1',
      status: 5,
      statusLabel: 'queued',
      params: 'X=1',
    });
    const dequeued = await cli('dequeue', 'later', '--run-id', 'q1');
    expect(dequeued.code, dequeued.stderr).toBe(0);
    expect((await statusJson('later')).statusLabel).toBe('canceled');
    expect((await cli('dequeue', 'later', '--run-id', 'q1')).code).toBe(1);
  });

  it('start queues the run when maxActiveRuns is reached, unless --no-queue', async () => {
    const file = dagFile(
      'single',
      'maxActiveRuns: 1\nsteps:\n  - {name: long, command: sleep 30}\n',
    );
    const background = await startInBackground([file, '-r', 'first'], 'step long: running');
    const second = await cli('start', 'single', '-r', 'second');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('queued single second');
    expect((await statusJson('single', 'second')).statusLabel).toBe('queued');
    expect((await cli('stop', 'single', '--run-id', 'first')).code).toBe(0);
    expect(await background.exit).toBe(0);
  });

  it('a run whose process was killed with SIGKILL is closed as failed by the next command, its step ended', async () => {
    const pidFile = join(home, 'step.pid');
    const file = dagFile(
      'doomed',
      `steps:\n  - name: long\n    command: sh -c 'echo $$ > ${pidFile}; exec sleep 300'\n`,
    );
    const background = await startInBackground([file, '-r', 'k1'], 'step long: running');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const stepPid = Number(readFileSync(pidFile, 'utf8'));
    background.child.kill('SIGKILL');
    await background.exit;
    // The step runs in its own process group: it outlives the killed CLI...
    expect(processRunning(stepPid)).toBe(true);
    const run = await statusJson('doomed', 'k1');
    // ...until the next command's recovery ends it, before it closes the run.
    await waitFor(() => !processRunning(stepPid));
    expect(run.statusLabel).toBe('failed');
    const text = await cli('status', 'doomed');
    expect(text.stdout).toContain('process exited unexpectedly');
  });

  it('a 300-step run killed with SIGKILL mid-run keeps its finished steps; the next command closes the rest', async () => {
    const pidFile = join(home, 'middle.pid');
    const lines = ['type: chain', 'steps:'];
    for (let i = 0; i < 300; i++) {
      lines.push(`  - name: s${i}`);
      if (i === 10) lines.push('    command: echo ten', '    output: TEN');
      else if (i === 150) lines.push(`    command: sh -c 'echo $$ > ${pidFile}; exec sleep 300'`);
      else lines.push('    command: "true"');
    }
    const file = dagFile('many', lines.join('\n'));
    const background = await startInBackground([file, '-r', 'm1'], 'step s150: running');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const stepPid = Number(readFileSync(pidFile, 'utf8'));
    background.child.kill('SIGKILL');
    await background.exit;

    // The next command's recovery closes the run and its running step, and ends the step.
    const run = await statusJson('many', 'm1');
    await waitFor(() => !processRunning(stepPid));
    expect(run.statusLabel).toBe('failed');
    expect(run.nodes).toHaveLength(300);
    run.nodes.slice(0, 150).forEach((node, i) => {
      expect([node.step.name, node.statusLabel], node.step.name).toEqual([`s${i}`, 'finished']);
      expect(existsSync(node.stdout), node.step.name).toBe(true);
    });
    expect(readFileSync(run.nodes[10]!.stdout, 'utf8')).toBe('ten\n');
    expect(run.nodes[150]).toMatchObject({
      statusLabel: 'failed',
      error: 'process exited unexpectedly',
    });
    expect(run.nodes.slice(151).every((node) => node.statusLabel === 'not started')).toBe(true);
    expect(run.nodes.some((node) => node.status === 1)).toBe(false);
    // Only one recovery: a later command finds nothing left to close.
    expect((await statusJson('many', 'm1')).statusLabel).toBe('failed');
  });

  it('restart stops the running run and starts a new one with the same params', async () => {
    const marker = join(home, 'restarted');
    const file = dagFile(
      'again',
      `params: "P=1"\nsteps:\n  - name: work\n    command: if [ -f ${marker} ]; then echo second-$P; else touch ${marker}; sleep 30; fi\n`,
    );
    const background = await startInBackground(
      [file, '-r', 'orig', '--', 'P=7'],
      'step work: running',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const restarted = await cli('restart', 'again');
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(await background.exit).toBe(0);
    expect((await statusJson('again', 'orig')).statusLabel).toBe('canceled');
    const latest = await statusJson('again');
    expect(latest.dagRunId).not.toBe('orig');
    expect(latest).toMatchObject({ statusLabel: 'finished', params: 'P=7' });
    expect(readFileSync(latest.nodes[0]!.stdout, 'utf8')).toBe('second-7\n');
  });
});
