import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, corpusDir, runCli } from './helpers.js';

interface CorpusCase {
  id: string;
  file: string;
  expect: { load: 'ok' | 'error'; loadErrorIncludes?: string };
}
const cases = JSON.parse(readFileSync(join(corpusDir, 'cases.json'), 'utf8')) as CorpusCase[];
const files = [...new Map(cases.map((c) => [c.file, c])).values()];
const UNKNOWN_EXECUTOR_CASE = 'c28-11-unknown-executor.yaml';

beforeAll(() => {
  if (!existsSync(cliBin)) throw new Error(`build first: ${cliBin} is missing (run pnpm build)`);
});

describe('dagu-ts validate on the corpus', () => {
  for (const entry of files) {
    it(`${entry.id} ${entry.file}`, async () => {
      const result = await runCli(['validate', join(corpusDir, entry.file)]);
      if (entry.file === UNKNOWN_EXECUTOR_CASE) {
        // It loads (start records a run whose step fails), but validate says so up front.
        expect(result.code).toBe(1);
        expect(result.stderr.trim()).toBe(
          `${join(corpusDir, entry.file)}:3: step "odd": executor type "nosuch" is not supported by this engine (known: command, shell, dag, subworkflow, parallel, jq, http, ssh, mail)`,
        );
      } else if (entry.expect.load === 'ok') {
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('valid DAG');
      } else {
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(entry.expect.loadErrorIncludes!);
        // Every line is file:line: message.
        for (const line of result.stderr.trim().split('\n')) {
          expect(line).toMatch(new RegExp(`^${join(corpusDir, entry.file)}:\\d+: `));
        }
      }
    });
  }
});

describe('dagu-ts validate and dry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dagu-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every problem of a file as file:line: message', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      'steps:\n  - name: a\n    command: echo\n    retries: 3\n  - name: b\n    depends: nope\n    command: x\n',
    );
    const result = await runCli(['validate', file]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `${file}:4: steps[0].retries: unknown key "retries"`,
      `${file}:5: steps: step "b" depends on "nope", which is not a step of this DAG`,
    ]);
  });

  it('reports a missing file clearly', async () => {
    const result = await runCli(['validate', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no such DAG file');
  });

  it('finds a DAG by name in $DAGU_HOME/dags', async () => {
    const home = join(dir, 'home');
    const dags = join(home, 'dags');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dags, { recursive: true });
    writeFileSync(join(dags, 'named.yaml'), 'steps:\n  - name: a\n    command: echo a\n');
    const result = await runCli(['validate', 'named'], { env: { DAGU_HOME: home } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid DAG "named" (1 step(s))');
  });

  it('dry prints the plan in dependency order with params applied (C18b)', async () => {
    const result = await runCli([
      'dry',
      join(corpusDir, 'c18-params.yaml'),
      '--',
      'GREETING=yo',
      'omega',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('DAG c18-params (chain, 2 step(s))');
    expect(lines[1]).toBe('params: 1=alpha GREETING=yo 3=beta 2=omega');
    expect(lines[2]).toMatch(/^ {2}1\. show +echo "alpha\|yo\|omega\|beta"$/);
    expect(lines[3]).toMatch(/^ {2}2\. quoted +echo '\$1' is alpha {2}\(after show\)$/);
  });

  it('dry accepts -p and runs no step', async () => {
    const marker = join(dir, 'marker');
    const file = join(dir, 'side-effect.yaml');
    writeFileSync(file, `params: "A=1"\nsteps:\n  - name: touch\n    command: touch ${marker}\n`);
    const result = await runCli(['dry', file, '-p', 'A=2 B="x y"']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('params: A=2 B=x y');
    expect(existsSync(marker)).toBe(false);
  });

  it('--version and --help exit 0; an unknown command exits 1', async () => {
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('validate');
    expect(help.stdout).toContain('dry');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown command');
  });
});
