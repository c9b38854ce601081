import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDag } from '../dag/loader.js';
import { DagRunner, type DagRunResult } from './runner.js';
import { DagRunStatus, NodeStatus } from './status.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-runner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(yaml: string, options: { params?: string } = {}): Promise<DagRunResult> {
  const dir = mkdtempSync(join(work, 'run-'));
  const file = join(dir, 'dag.yaml');
  writeFileSync(file, yaml);
  const dag = parseDag(yaml, { location: file });
  return new DagRunner({
    dag,
    logDir: join(dir, 'logs'),
    cwd: dir,
    ...(options.params ? { params: { text: options.params } } : {}),
  }).run();
}

const statuses = (result: DagRunResult) =>
  Object.fromEntries(result.snapshot.nodes.map((n) => [n.step.name, [n.status, n.error]]));

describe('readiness table (§4.2)', () => {
  it('failed → downstream canceled with "upstream failed"; skipped → skipped; canceled → canceled', async () => {
    const result = await run(`type: graph
steps:
  - {name: fail, command: exit 1}
  - {name: after-fail, command: "true", depends: fail}
  - {name: after-after, command: "true", depends: after-fail}
  - {name: skip, command: "true", preconditions: ["false"]}
  - {name: after-skip, command: "true", depends: skip}
`);
    expect(statuses(result)).toEqual({
      fail: [NodeStatus.Failed, 'exit status 1'],
      'after-fail': [NodeStatus.Canceled, 'upstream failed'],
      'after-after': [NodeStatus.Canceled, ''],
      skip: [NodeStatus.Skipped, ''],
      'after-skip': [NodeStatus.Skipped, 'upstream skipped'],
    });
    expect(result.status).toBe(DagRunStatus.Failed);
  });

  it('marks a step as soon as one upstream failed, without waiting for the others', async () => {
    const result = await run(`type: graph
steps:
  - {name: fail, command: exit 1}
  - {name: slow, command: sleep 1}
  - {name: join, command: "true", depends: [slow, fail]}
`);
    const join = result.snapshot.nodes.find((n) => n.step.name === 'join')!;
    const slow = result.snapshot.nodes.find((n) => n.step.name === 'slow')!;
    expect(join.status).toBe(NodeStatus.Canceled);
    expect(join.error).toBe('upstream failed');
    expect(slow.status).toBe(NodeStatus.Success);
  });

  it('continueOn.exitCode lets downstream run after a failure', async () => {
    const result = await run(`type: graph
steps:
  - {name: code3, command: exit 3, continueOn: {exitCode: [3]}}
  - {name: next, command: "true", depends: code3}
`);
    expect(statuses(result).next?.[0]).toBe(NodeStatus.Success);
    expect(result.status).toBe(DagRunStatus.PartialSuccess);
  });
});

describe('run behaviour', () => {
  it('a failing onExit handler turns success into failed', async () => {
    const result = await run(
      'steps:\n  - {name: a, command: "true"}\nhandlerOn:\n  exit: {command: exit 5}\n',
    );
    expect(result.status).toBe(DagRunStatus.Failed);
    expect(result.exitCode).toBe(1);
    expect(result.snapshot.handlers.onExit?.status).toBe(NodeStatus.Failed);
  });

  it('a missing working directory fails the step with a clear error', async () => {
    const result = await run(
      'steps:\n  - {name: a, command: "true", dir: /nonexistent/dagu-dir}\n',
    );
    expect(statuses(result).a).toEqual([
      NodeStatus.Failed,
      'working directory does not exist: /nonexistent/dagu-dir',
    ]);
  });

  it('stdout/stderr redirects append, relative to the working directory', async () => {
    const yaml =
      'steps:\n  - {name: a, command: "echo out; echo err >&2", stdout: o.txt, stderr: e.txt}\n';
    const first = await run(yaml);
    const dir = join(first.snapshot.log, '..', '..', '..', '..');
    expect(readFileSync(join(dir, 'o.txt'), 'utf8')).toBe('out\n');
    expect(readFileSync(join(dir, 'e.txt'), 'utf8')).toBe('err\n');
  });

  it('retries with backoff and records retry counts', async () => {
    const result = await run(`steps:
  - name: flaky
    command: exit 2
    retryPolicy: {limit: 2, intervalSec: 0, backoff: 2}
`);
    const node = result.snapshot.nodes[0]!;
    expect([node.status, node.retryCount, node.exitCode]).toEqual([NodeStatus.Failed, 2, 2]);
  });

  it('writes the run log and per-step log files in Dagu’s layout', async () => {
    const result = await run('steps:\n  - {name: hello world, command: echo hi}\n');
    const node = result.snapshot.nodes[0]!;
    expect(node.stdout).toMatch(
      /\/dag\/dag-run_\d{8}_\d{6}Z_[0-9a-f-]{36}\/run_\d{8}_\d{6}Z_[0-9a-f]{6}\/hello_world\.\d{8}\.\d{6}\.\d{3}\.[0-9a-f]{8}\.out$/,
    );
    expect(readFileSync(node.stdout, 'utf8')).toBe('hi\n');
    expect(readFileSync(result.snapshot.log, 'utf8')).toContain('run finished: status=finished');
  });

  it('runs the parameters through positional numbering in commands', async () => {
    const result = await run(
      'params: "a K=v b"\nsteps:\n  - {name: s, command: echo "$1-$K-$3", output: O}\n',
    );
    expect(result.snapshot.nodes[0]?.outputs.O).toBe('O=a-v-b');
  });
});

describe('processes', () => {
  it('stop leaves no orphan: a grandchild that ignores SIGTERM is killed after maxCleanUpTimeSec', async () => {
    const pidFile = join(work, `grandchild-${process.pid}-${Date.now()}`);
    const dir = mkdtempSync(join(work, 'orphan-'));
    const yaml = `maxCleanUpTimeSec: 1
steps:
  - name: spawner
    command: |
      trap '' TERM
      sh -c "trap '' TERM; sleep 60" &
      echo $! > ${pidFile}
      wait
`;
    const dag = parseDag(yaml, { location: join(dir, 'orphan.yaml') });
    const runner = new DagRunner({ dag, logDir: join(dir, 'logs') });
    runner.subscribe((event) => {
      if (event.type === 'step-started') setTimeout(() => runner.stop(), 300);
    });
    const result = await runner.run();
    expect(result.status).toBe(DagRunStatus.Canceled);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isAlive(pid)).toBe(false);
  });

  it('streams 100 MB of output to the log file without buffering it in memory', async () => {
    const before = process.memoryUsage().rss;
    const result = await run(`type: graph
steps:
  - {name: flood, command: "head -c 100000000 /dev/zero"}
  - {name: captured, command: "head -c 100000000 /dev/zero", output: BIG}
`);
    const [flood, captured] = result.snapshot.nodes;
    expect(statSync(flood!.stdout).size).toBe(100_000_000);
    expect(flood!.status).toBe(NodeStatus.Success);
    expect(captured!.status).toBe(NodeStatus.Failed);
    expect(captured!.error).toContain('output exceeded maximum size limit of 1048576 bytes');
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const status = existsSync(`/proc/${pid}/status`)
    ? readFileSync(`/proc/${pid}/status`, 'utf8')
    : '';
  return !/^State:\s+Z/m.test(status);
}

describe('retry (§4.13)', () => {
  const yaml = (marker: string) => `type: graph
params: "P=first"
steps:
  - {name: a, command: echo a-$P, output: A}
  - {name: b, command: "test -f ${marker}", depends: a}
  - name: c
    command: echo "c-\${A}"
    depends: b
    output: C
  - {name: d, command: echo d, output: D}
`;

  it('re-runs failed and canceled steps and their descendants, keeping the rest and its outputs', async () => {
    const dir = mkdtempSync(join(work, 'retry-'));
    const marker = join(dir, 'marker');
    const dag = parseDag(yaml(marker), { location: join(dir, 'retry.yaml') });
    const first = await new DagRunner({ dag, logDir: join(dir, 'logs') }).run();
    expect(first.snapshot.nodes.map((n) => n.status)).toEqual([4, 2, 3, 4]);
    writeFileSync(marker, '');
    const aStarted = first.snapshot.nodes[0]!.startedAt;
    const retried = await new DagRunner({
      dag,
      logDir: join(dir, 'logs'),
      dagRunId: first.snapshot.dagRunId,
      retry: { previous: first.snapshot },
    }).run();
    expect(retried.status).toBe(DagRunStatus.Success);
    expect(retried.snapshot.dagRunId).toBe(first.snapshot.dagRunId);
    expect(retried.snapshot.attemptId).not.toBe(first.snapshot.attemptId);
    expect(retried.snapshot.paramsList).toEqual(['P=first']);
    expect(retried.snapshot.nodes[0]!.startedAt).toBe(aStarted);
    expect(retried.snapshot.nodes[2]!.outputs.C).toBe('C=c-a-first');
  });

  it('--step re-runs only that step and leaves its downstream as it was', async () => {
    const dir = mkdtempSync(join(work, 'retry-step-'));
    const marker = join(dir, 'marker');
    const dag = parseDag(yaml(marker), { location: join(dir, 'retry.yaml') });
    const first = await new DagRunner({ dag, logDir: join(dir, 'logs') }).run();
    writeFileSync(marker, '');
    const retried = await new DagRunner({
      dag,
      logDir: join(dir, 'logs'),
      dagRunId: first.snapshot.dagRunId,
      retry: { previous: first.snapshot, step: 'b' },
    }).run();
    expect(retried.snapshot.nodes.map((n) => n.status)).toEqual([4, 4, 3, 4]);
  });
});

describe('steps forked by a ProcessSpawner helper', () => {
  it('gives the same exit codes, outputs and stop escalation as in-process spawning', async () => {
    const { ProcessSpawner } = await import('./spawner.js');
    const spawner = new ProcessSpawner();
    try {
      const dir = mkdtempSync(join(work, 'spawner-'));
      const yaml = `type: graph
steps:
  - {name: out, command: echo from-helper, output: OUT}
  - {name: bad, command: exit 3}
  - {name: nowhere, command: "true", dir: /nonexistent/dagu-dir}
`;
      const dag = parseDag(yaml, { location: join(dir, 'spawned.yaml') });
      const result = await new DagRunner({ dag, logDir: join(dir, 'logs'), spawner }).run();
      expect(statuses(result)).toEqual({
        out: [NodeStatus.Success, ''],
        bad: [NodeStatus.Failed, 'exit status 3'],
        nowhere: [NodeStatus.Failed, 'working directory does not exist: /nonexistent/dagu-dir'],
      });
      expect(result.snapshot.nodes[0]?.outputs.OUT).toBe('OUT=from-helper');

      const pidFile = join(dir, 'grandchild.pid');
      const stubborn = parseDag(
        `maxCleanUpTimeSec: 1\nsteps:\n  - name: spawner\n    command: |\n      trap '' TERM\n      sh -c "trap '' TERM; sleep 60" &\n      echo $! > ${pidFile}\n      wait\n`,
        { location: join(dir, 'stubborn.yaml') },
      );
      const runner = new DagRunner({ dag: stubborn, logDir: join(dir, 'logs'), spawner });
      runner.subscribe((event) => {
        if (event.type === 'step-started') setTimeout(() => runner.stop(), 300);
      });
      expect((await runner.run()).status).toBe(DagRunStatus.Canceled);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    } finally {
      spawner.close();
    }
  });
  it('gives each step its own environment (the helper gets what changed since the last step)', async () => {
    const { ProcessSpawner } = await import('./spawner.js');
    const spawner = new ProcessSpawner();
    try {
      const dir = mkdtempSync(join(work, 'spawner-env-'));
      const yaml = `type: chain
env:
  - SHARED: all
steps:
  - {name: a, command: 'echo "$SHARED-\${ONLY_A:-none}"', env: [ONLY_A: yes], output: A}
  - {name: b, command: 'echo "$SHARED-\${ONLY_A:-none}"', output: B}
  - {name: c, command: 'echo "$SHARED-\${ONLY_A:-none}"', env: [SHARED: changed], output: C}
`;
      const dag = parseDag(yaml, { location: join(dir, 'env.yaml') });
      const result = await new DagRunner({ dag, logDir: join(dir, 'logs'), spawner }).run();
      expect(result.snapshot.nodes.map((node) => Object.values(node.outputs)[0])).toEqual([
        'A=all-yes',
        'B=all-none',
        'C=changed-none',
      ]);
    } finally {
      spawner.close();
    }
  });
  it('with forkHereUntilReady, forks steps in the engine until the helper is up', async () => {
    const { ProcessSpawner } = await import('./spawner.js');
    const spawner = new ProcessSpawner({ forkHereUntilReady: true });
    try {
      const dir = mkdtempSync(join(work, 'spawner-ready-'));
      const dag = parseDag('steps:\n  - {name: parent, command: echo $PPID, output: PARENT}\n', {
        location: join(dir, 'ready.yaml'),
      });
      const parentOfStep = async () =>
        Number(
          (
            await new DagRunner({ dag, logDir: join(dir, 'logs'), spawner }).run()
          ).snapshot.nodes[0]?.outputs.PARENT?.split('=')[1],
        );
      // The helper is still starting: the engine forks the step itself.
      expect(await parentOfStep()).toBe(process.pid);
      const deadline = Date.now() + 10_000;
      while (!spawner.takesStep() && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(spawner.helperPid).toBeGreaterThan(0);
      expect(await parentOfStep()).toBe(spawner.helperPid);
    } finally {
      spawner.close();
    }
  });
  it('ends an idle helper and starts a new one for the next step', async () => {
    const { ProcessSpawner } = await import('./spawner.js');
    const spawner = new ProcessSpawner({ idleMs: 100 });
    try {
      const dir = mkdtempSync(join(work, 'spawner-idle-'));
      const dag = parseDag('steps:\n  - {name: a, command: echo one, output: A}\n', {
        location: join(dir, 'idle.yaml'),
      });
      const first = await new DagRunner({ dag, logDir: join(dir, 'logs'), spawner }).run();
      expect(first.snapshot.nodes[0]?.outputs.A).toBe('A=one');
      const helper = spawner.helperPid;
      expect(helper).toBeGreaterThan(0);
      expect(isAlive(helper!)).toBe(true);
      const deadline = Date.now() + 5_000;
      while (isAlive(helper!) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(isAlive(helper!)).toBe(false);
      expect(spawner.helperPid).toBeUndefined();
      const second = await new DagRunner({ dag, logDir: join(dir, 'logs'), spawner }).run();
      expect(second.snapshot.nodes[0]?.outputs.A).toBe('A=one');
      expect(spawner.helperPid).not.toBe(helper);
    } finally {
      spawner.close();
    }
  });
});
