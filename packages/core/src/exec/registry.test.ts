// An executor defined outside core, registered by type and run as a step through the public entry.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createExecutorRegistry,
  DagRunner,
  DagRunStatus,
  EXECUTOR_TYPES,
  evaluateStepConfig,
  NodeStatus,
  parseDag,
  unknownExecutorIssues,
  type Executor,
} from '@dagu-ts/core';

const logDir = mkdtempSync(join(tmpdir(), 'dagu-executors-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

/** Prints its evaluated command, with `config.prefix`; `config.fail` fails with exit code 3. */
const testEcho: Executor = {
  async run(context) {
    const config = await evaluateStepConfig(context);
    if (config.fail === true) return { exitCode: 3, error: 'test-echo: told to fail' };
    const text = await context.commandLine(true, 'text');
    context.write('stdout', `${String(config.prefix ?? '')}${text}\n`);
    context.write('stderr', 'test-echo ran\n');
    return { exitCode: 0, error: undefined };
  },
};

const executors = createExecutorRegistry().register('test-echo', testEcho);

const yaml = `params: "NAME=world"
steps:
  - name: greet
    executor: {type: test-echo, config: {prefix: "hi "}}
    command: hello \${NAME}
    output: GREETING
  - name: shout
    command: echo "\${GREETING}" | tr a-z A-Z
    output: LOUD
`;

describe('executor registry', () => {
  it('runs a registered executor as a step type: its stdout is logged and captured', async () => {
    const dag = parseDag(yaml, { name: 'echo' });
    const result = await new DagRunner({ dag, logDir, executors }).run();

    expect(result.status).toBe(DagRunStatus.Success);
    expect(result.outputs).toEqual({ GREETING: 'hi hello world', LOUD: 'HI HELLO WORLD' });
    const greet = result.snapshot.nodes[0]!;
    expect(readFileSync(greet.stdout, 'utf8')).toBe('hi hello world\n');
    expect(readFileSync(greet.stderr, 'utf8')).toBe('test-echo ran\n');
  });

  it('a failing executor fails the step through the usual retry policy', async () => {
    const dag = parseDag(
      `steps:
  - name: nope
    executor: {type: test-echo, config: {fail: true}}
    command: x
    retryPolicy: {limit: 1, intervalSec: 0}
`,
      { name: 'echo-fail' },
    );
    const result = await new DagRunner({ dag, logDir, executors }).run();
    const node = result.snapshot.nodes[0]!;
    expect([node.status, node.exitCode, node.error, node.retryCount]).toEqual([
      NodeStatus.Failed,
      3,
      'test-echo: told to fail',
      1,
    ]);
  });

  it('child runs use the same registry', async () => {
    const dag = parseDag(
      `steps:
  - name: call
    run: child
    params: "WHO=child"
---
name: child
params: "WHO=nobody"
steps:
  - name: inner
    executor: test-echo
    command: from \${WHO}
    output: INNER
`,
      { name: 'parent' },
    );
    const result = await new DagRunner({ dag, logDir, executors }).run();
    expect(result.status).toBe(DagRunStatus.Success);
    const report = JSON.parse(readFileSync(result.snapshot.nodes[0]!.stdout, 'utf8')) as {
      outputs: Record<string, string>;
    };
    expect(report.outputs).toEqual({ INNER: 'from child' });
  });

  it('without the registration the type is unknown: the step fails, validate names it', async () => {
    const dag = parseDag(yaml, { name: 'echo-unknown' });
    const result = await new DagRunner({ dag, logDir }).run();
    const node = result.snapshot.nodes[0]!;
    expect([node.status, node.error]).toEqual([
      NodeStatus.Failed,
      'invalid executor: "test-echo" is not a known executor type',
    ]);

    expect(unknownExecutorIssues(dag).map((issue) => issue.path)).toEqual(['step "greet"']);
    expect(unknownExecutorIssues(dag, executors)).toEqual([]);
    expect(EXECUTOR_TYPES).toEqual([
      '',
      'command',
      'shell',
      'dag',
      'subworkflow',
      'parallel',
      'jq',
      'http',
      'ssh',
      'mail',
    ]);
  });
  it('a docker step fails with a message naming the missing Docker support', async () => {
    const dag = parseDag(
      'steps:\n  - name: box\n    executor: {type: docker, config: {image: alpine}}\n    command: echo hi\n',
      { name: 'docker' },
    );
    const result = await new DagRunner({ dag, logDir }).run();
    const node = result.snapshot.nodes[0]!;
    expect(node.status).toBe(NodeStatus.Failed);
    expect(node.error).toBe(
      'invalid executor: docker steps are not supported yet: dagu-ts has no Docker executor (it needs a Docker engine, reached through DOCKER_HOST or /var/run/docker.sock)',
    );
    expect(unknownExecutorIssues(dag).map((issue) => issue.message)).toEqual([
      expect.stringMatching(/^docker steps are not supported yet/),
    ]);
  });
});
