// Issue #11, findings 1 and 2, through the built server over HTTP: the server's secrets reach no
// param, run detail or step environment, and API params are data that no shell runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const serverMain = fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'dagu-security-params-'));
const home = join(work, 'home');
const markers = join(work, 'markers');
const SECRETS = {
  DAGU_AUTH_JWT_SECRET: 'jwt-secret-0123456789abcdef',
  DAGU_AUTH_BASIC_PASSWORD: 'basic-password-9876543210',
};
const AUTH = `Basic ${Buffer.from(`ops:${SECRETS.DAGU_AUTH_BASIC_PASSWORD}`).toString('base64')}`;
let server: ChildProcess;
let api: string;

// Every way a step meets $X: command (bare, quoted, nested shell), script, a command-form
// precondition, a handler, and a child DAG's params (the child's output comes back to the parent).
const MATRIX = `params: X=default
steps:
  - name: bare
    command: echo $X
  - name: quoted
    command: echo "$X"
  - name: nested
    command: sh -c 'echo "$X"'
  - name: script
    script: |
      echo "$X"
  - name: precondition
    command: echo met
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
    command: sh -c 'echo "$V"'
    output: SHOWN
`;

beforeAll(async () => {
  const dags = join(home, 'dags');
  mkdirSync(dags, { recursive: true });
  mkdirSync(markers);
  writeFileSync(
    join(dags, 'quick.yaml'),
    'steps:\n  - {name: show, command: echo "X=$X Y=$Y"}\n  - {name: env, command: printenv}\n',
  );
  writeFileSync(join(dags, 'matrix.yaml'), MATRIX);
  server = spawn(process.execPath, [serverMain, '--port', '0', '--host', '127.0.0.1'], {
    env: {
      ...process.env,
      ...SECRETS,
      DAGU_HOME: home,
      DAGU_AUTH_BASIC_USERNAME: 'ops',
      DAGU_SKIP_EXAMPLES: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"([^"]+)"/.exec(out);
      if (match) resolve(match[1]!);
    });
    server.on('close', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  api = `${url}/api/v2`;
});

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked by the tests
async function call(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  expect(response.status, text).toBeLessThan(300);
  return text === '' ? undefined : JSON.parse(text);
}

/** Starts a run with `params` and waits until it has ended; returns its details' raw JSON too. */
async function startAndWait(dag: string, params: string) {
  const { dagRunId } = (await call('POST', `/dags/${dag}/start`, { params })) as {
    dagRunId: string;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const details = await call('GET', `/dag-runs/${dag}/${dagRunId}`);
    // 0 not started, 1 running, 5 queued.
    if (![0, 1, 5].includes(details.dagRunDetails.status)) return { dagRunId, details };
    if (Date.now() > deadline) throw new Error(`run ${dag}/${dagRunId} did not end`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stepLog(dag: string, dagRunId: string, step: string): Promise<string> {
  return (
    (await call('GET', `/dag-runs/${dag}/${dagRunId}/steps/${step}/log`)) as {
      content: string;
    }
  ).content;
}

describe("the server's secrets", () => {
  it('are not expanded into params, run details or a step environment', async () => {
    const params = 'X=${DAGU_AUTH_JWT_SECRET} Y="$DAGU_AUTH_BASIC_PASSWORD"';
    const { dagRunId, details } = await startAndWait('quick', params);
    const seen = [
      JSON.stringify(details),
      await stepLog('quick', dagRunId, 'show'),
      await stepLog('quick', dagRunId, 'env'),
    ].join('\n');
    for (const secret of Object.values(SECRETS)) expect(seen).not.toContain(secret);
    expect(details.dagRunDetails.params).toBe(
      'X=${DAGU_AUTH_JWT_SECRET} Y=$DAGU_AUTH_BASIC_PASSWORD',
    );
    expect(await stepLog('quick', dagRunId, 'show')).toBe(
      'X=${DAGU_AUTH_JWT_SECRET} Y=$DAGU_AUTH_BASIC_PASSWORD',
    );
    expect(await stepLog('quick', dagRunId, 'env')).not.toMatch(/^DAGU_AUTH_/m);
  });
});

describe('API params are data', () => {
  const values = [
    `$(touch ${markers}/subst)`,
    `\`touch ${markers}/backtick\``,
    `a; touch ${markers}/semicolon`,
    `a && touch ${markers}/and`,
    `a | touch ${markers}/pipe`,
    `a\ntouch ${markers}/newline`,
    `a" ; touch ${markers}/dquote ; echo "b`,
    `a' ; touch ${markers}/squote ; echo 'b`,
  ];

  it.each(values)('%j is printed by every step and runs nothing', async (value) => {
    const { dagRunId, details } = await startAndWait(
      'matrix',
      `X="${value.replaceAll('"', '\\"')}"`,
    );
    expect(readdirSync(markers)).toEqual([]);
    expect(details.dagRunDetails.statusLabel).toBe('finished');
    // Unquoted, the shell splits the value into words, as it would any variable.
    expect(await stepLog('matrix', dagRunId, 'bare')).toBe(value.split(/\s+/).join(' '));
    for (const step of ['quoted', 'nested', 'script', 'onExit'])
      expect(await stepLog('matrix', dagRunId, step), step).toBe(value);
    expect(await stepLog('matrix', dagRunId, 'precondition')).toBe('met');
    const child = JSON.parse(await stepLog('matrix', dagRunId, 'child')) as {
      outputs: Record<string, string>;
    };
    expect(child.outputs.SHOWN).toBe(value);
  });

  it('keeps ordinary values as Dagu has them', async () => {
    const { dagRunId } = await startAndWait('matrix', 'X="hello world"');
    for (const step of ['bare', 'quoted', 'nested', 'script', 'onExit'])
      expect(await stepLog('matrix', dagRunId, step), step).toBe('hello world');
  });
});
