// Issue #11: params of a remote caller are data (never shell syntax, never expanded against the
// server's environment), and the server's own secrets reach no run.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDag } from '../dag/loader.js';
import { DagRunner, type DagRunResult } from './runner.js';
import type { ParamsOverride } from './environment.js';
import { DagRunStatus } from './status.js';
import { InMemoryRunRecorder, type DagRunSnapshot } from './types.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-remote-params-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Every way a step can meet $X: command (bare, quoted, nested shell, list form), script,
// a command-form precondition, a handler, and a child DAG's params.
const MATRIX_DAG = `params: X=default
steps:
  - name: bare
    command: echo $X
  - name: quoted
    command: echo "$X"
  - name: braced
    command: echo "\${X}"
  - name: nested
    command: sh -c 'echo "$X"'
  - name: list
    command: [echo, "$X"]
  - name: script
    script: |
      echo "$X"
  - name: precondition
    command: echo precondition-met
    preconditions: ['test -n "$X"']
  - name: child
    run: child
    params: "V=\${X}"
handlerOn:
  exit:
    command: echo "$X"
---
name: child
params: V=none
steps:
  - name: show
    command: echo "$V"
  - name: nested
    command: sh -c 'echo "$V"'
`;

interface Outcome {
  result: DagRunResult;
  stdout: (step: string) => string;
  child: DagRunSnapshot | undefined;
}

async function run(yaml: string, params?: ParamsOverride, dir = mkdtempSync(join(work, 'run-'))) {
  const file = join(dir, 'dag.yaml');
  writeFileSync(file, yaml);
  const recorder = new InMemoryRunRecorder();
  const result = await new DagRunner({
    dag: parseDag(yaml, { location: file }),
    logDir: join(dir, 'logs'),
    cwd: dir,
    recorder,
    ...(params ? { params } : {}),
  }).run();
  const nodes = [...result.snapshot.nodes, ...Object.values(result.snapshot.handlers)];
  const outcome: Outcome = {
    result,
    stdout: (step) => {
      const node = nodes.find((n) => n.step.name === step);
      return node?.stdout ? readFileSync(node.stdout, 'utf8') : '';
    },
    child: recorder.list().find((s) => s.name === 'child'),
  };
  return outcome;
}

function childStdout(child: DagRunSnapshot | undefined, step: string): string {
  const node = child?.nodes.find((n) => n.step.name === step);
  return node?.stdout ? readFileSync(node.stdout, 'utf8') : '';
}

/** The params grammar's double-quoted form of a value (`\"` inside). */
const quoted = (value: string) => `"${value.replaceAll('"', '\\"')}"`;

describe('params from a remote caller are data', () => {
  const markers = mkdtempSync(join(work, 'markers-'));
  const values = [
    `$(touch ${markers}/subst)`,
    `\`touch ${markers}/backtick\``,
    `a; touch ${markers}/semicolon`,
    `a && touch ${markers}/and`,
    `a | touch ${markers}/pipe`,
    `a\ntouch ${markers}/newline`,
    `a" ; touch ${markers}/dquote ; echo "b`,
    `a' ; touch ${markers}/squote ; echo 'b`,
    `\${HOME} $PATH`,
  ];

  it.each(values)('prints %j everywhere and runs nothing', async (value) => {
    const outcome = await run(MATRIX_DAG, { text: `X=${quoted(value)}`, source: 'remote' });
    expect(readdirSync(markers)).toEqual([]);
    expect(outcome.result.status).toBe(DagRunStatus.Success);
    expect(outcome.result.snapshot.paramsList).toEqual([`X=${value}`]);
    expect(outcome.result.snapshot.untrustedParams).toEqual(['X']);
    const line = `${value}\n`;
    // Unquoted, the shell splits the value into words (as it would any variable).
    for (const step of ['bare', 'list'])
      expect(outcome.stdout(step), step).toBe(`${value.split(/\s+/).join(' ')}\n`);
    for (const step of ['quoted', 'braced', 'nested', 'script', 'onExit'])
      expect(outcome.stdout(step), step).toBe(line);
    expect(outcome.stdout('precondition')).toBe('precondition-met\n');
    expect(childStdout(outcome.child, 'show')).toBe(line);
    expect(childStdout(outcome.child, 'nested')).toBe(line);
  });

  it('keeps ordinary values exactly as before, for remote and local callers alike', async () => {
    const remote = await run(MATRIX_DAG, { text: 'X="hello world"', source: 'remote' });
    const local = await run(MATRIX_DAG, { text: 'X="hello world"' });
    for (const outcome of [remote, local]) {
      expect(outcome.result.status).toBe(DagRunStatus.Success);
      for (const step of ['bare', 'quoted', 'nested', 'list', 'script', 'onExit'])
        expect(outcome.stdout(step), step).toBe('hello world\n');
      expect(childStdout(outcome.child, 'show')).toBe('hello world\n');
    }
  });

  it('reaches a positional param through its shell alias', async () => {
    const dag = `steps:\n  - {name: show, command: echo "$1"}\n`;
    const outcome = await run(dag, {
      text: quoted(`$(touch ${markers}/positional)`),
      source: 'remote',
    });
    expect(outcome.stdout('show')).toBe(`$(touch ${markers}/positional)\n`);
    expect(readdirSync(markers)).toEqual([]);
  });

  it('keeps untrusted values data on a retry of the run', async () => {
    const value = `$(touch ${markers}/retry)`;
    const dag = `steps:\n  - {name: show, command: echo "$X"}\n  - {name: fail, command: exit 1}\n`;
    const first = await run(dag, { text: `X=${quoted(value)}`, source: 'remote' });
    const dir = mkdtempSync(join(work, 'retry-'));
    writeFileSync(join(dir, 'dag.yaml'), dag);
    const retried = await new DagRunner({
      dag: parseDag(dag, { location: join(dir, 'dag.yaml') }),
      dagRunId: first.result.snapshot.dagRunId,
      logDir: join(dir, 'logs'),
      cwd: dir,
      retry: { previous: { ...first.result.snapshot, nodes: [] } },
    }).run();
    expect(retried.snapshot.paramsList).toEqual([`X=${value}`]);
    expect(retried.snapshot.untrustedParams).toEqual(['X']);
    const show = retried.snapshot.nodes.find((n) => n.step.name === 'show')!;
    expect(readFileSync(show.stdout, 'utf8')).toBe(`${value}\n`);
    expect(existsSync(join(markers, 'retry'))).toBe(false);
  });

  it('lets a local caller (the CLI user) keep Dagu semantics', async () => {
    const dag = `steps:\n  - {name: show, command: echo $X}\n`;
    const outcome = await run(dag, { text: 'X="$(echo from-shell)"' });
    expect(outcome.stdout('show')).toBe('from-shell\n');
  });
});

describe("the server's secrets", () => {
  const secrets = {
    DAGU_AUTH_JWT_SECRET: 'jwt-secret-value',
    DAGU_AUTH_BASIC_PASSWORD: 'basic-password-value',
    DAGU_DATABASE_URL: 'postgres://u:db-password@localhost/db',
  };
  const dag = `params: D=\${DAGU_AUTH_JWT_SECRET}
env:
  - E: \${DAGU_AUTH_BASIC_PASSWORD}
steps:
  - name: env
    command: printenv
  - name: values
    command: echo "D=$D E=$E X=$X"
`;

  it('are in no step environment, param or env value (process.env)', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, secrets);
    let outcome: Outcome;
    try {
      outcome = await run(dag, { text: 'X=${DAGU_AUTH_JWT_SECRET}', source: 'remote' });
    } finally {
      for (const name of Object.keys(secrets)) if (!(name in saved)) delete process.env[name];
    }
    const printed = outcome.stdout('env') + outcome.stdout('values');
    for (const value of Object.values(secrets)) expect(printed).not.toContain(value);
    expect(printed).not.toMatch(/^DAGU_(AUTH_|DATABASE_URL)/m);
    expect(outcome.stdout('values')).toBe('D= E= X=${DAGU_AUTH_JWT_SECRET}\n');
    expect(JSON.stringify(outcome.result.snapshot)).not.toContain(secrets.DAGU_AUTH_JWT_SECRET);
  });

  it('are left out of an explicit base environment too', async () => {
    const dir = mkdtempSync(join(work, 'base-'));
    writeFileSync(join(dir, 'dag.yaml'), dag);
    const result = await new DagRunner({
      dag: parseDag(dag, { location: join(dir, 'dag.yaml') }),
      logDir: join(dir, 'logs'),
      cwd: dir,
      baseEnv: { PATH: process.env.PATH, ...secrets },
    }).run();
    const env = result.snapshot.nodes.find((n) => n.step.name === 'env')!;
    const printed = readFileSync(env.stdout, 'utf8');
    for (const value of Object.values(secrets)) expect(printed).not.toContain(value);
  });
});
