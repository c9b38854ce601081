// `dagu-ts migrate --from-dagu`: a Dagu v1.17 data directory, written here in Dagu's file layout
// (internal/persistence/filedagrun), is imported into a fresh DAGU_HOME, idempotently.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-cli-migrate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let home: string;
let dagu: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  home = mkdtempSync(join(work, 'home-'));
  dagu = mkdtempSync(join(work, 'dagu-'));
  env = cliEnv(home);
});

const cli = (...args: string[]) => runCli(args, { env, cwd: work });

function write(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** Dagu's Node JSON for a step that ran. */
function node(name: string, status: number, extra: Record<string, unknown> = {}) {
  return {
    step: { name, command: 'echo', args: [name], cmdWithArgs: `echo ${name}`, depends: [] },
    stdout: '',
    stderr: '',
    startedAt: '2025-01-02T12:04:05+09:00',
    finishedAt: '2025-01-02T12:04:07+09:00',
    status,
    ...extra,
  };
}

/** One dag-run directory of Dagu with the given attempts (each a list of status lines). */
function daguRun(dag: string, stamp: string, id: string, attempts: string[][], under?: string) {
  const runDir = under
    ? join(under, 'children', `child_${id}`)
    : join(
        dagu,
        'dag-runs',
        dag,
        'dag-runs',
        stamp.slice(0, 4),
        stamp.slice(4, 6),
        stamp.slice(6, 8),
        `dag-run_${stamp}_${id}`,
      );
  attempts.forEach((lines, i) => {
    const attempt = `attempt_${stamp.slice(0, 15)}_00${i}Z_att${i}`;
    write(join(runDir, attempt, 'status.jsonl'), `${lines.join('\n')}\n`);
  });
  return runDir;
}

function status(fields: Record<string, unknown>): string {
  return JSON.stringify({
    attemptId: 'att',
    pid: 4242,
    createdAt: 1735787045000,
    startedAt: '2025-01-02T12:04:05+09:00',
    finishedAt: '2025-01-02T12:04:09+09:00',
    ...fields,
  });
}

describe('migrate --from-dagu', () => {
  it('imports finished runs, child runs and logs; a second run imports nothing new', async () => {
    const logs = join(dagu, 'logs', 'etl');
    const extractOut = write(join(logs, 'extract.20250102.120405.out'), 'rows: 42\n');
    const loadErr = write(join(logs, 'load.20250102.120406.err'), 'disk full\n');
    const runLog = write(join(logs, 'dag-run_20250102.120405.log'), 'run log of run-a\n');
    const succeeded = status({
      name: 'etl',
      dagRunId: 'run-a',
      status: 4,
      params: 'DAY=2025-01-02',
      paramsList: ['DAY=2025-01-02'],
      log: runLog,
      nodes: [
        node('extract', 4, { stdout: extractOut, outputVariables: { ROWS: 'ROWS=42' } }),
        node('load', 4, { step: { name: 'load', cmdWithArgs: 'echo load', depends: ['extract'] } }),
      ],
      onExit: node('onExit', 4),
    });
    // Two attempts: the first failed, the retry (the newest attempt directory) succeeded; its
    // file also has an earlier "running" line and a torn last line, as after a crash.
    const runA = daguRun('etl', '20250102_030405Z', 'run-a', [
      [status({ name: 'etl', dagRunId: 'run-a', status: 2, nodes: [node('extract', 2)] })],
      [
        status({ name: 'etl', dagRunId: 'run-a', status: 1, nodes: [] }),
        succeeded,
        '{"name": "etl", "dag',
      ],
    ]);
    daguRun('etl', '20250103_030405Z', 'run-b', [
      [
        status({
          name: 'etl',
          dagRunId: 'run-b',
          status: 2,
          startedAt: '2025-01-03 12:04:05',
          nodes: [node('extract', 4), node('load', 2, { stderr: loadErr, error: 'exit status 7' })],
        }),
      ],
    ]);
    daguRun('etl', '20250104_030405Z', 'still-running', [
      [status({ name: 'etl', dagRunId: 'still-running', status: 1, nodes: [node('extract', 1)] })],
    ]);
    daguRun(
      'etl',
      '20250102_030405Z',
      'child-1',
      [
        [
          status({
            name: 'transform',
            dagRunId: 'child-1',
            root: { name: 'etl', id: 'run-a' },
            parent: { name: 'etl', id: 'run-a' },
            status: 4,
            nodes: [node('map', 4)],
          }),
        ],
      ],
      runA,
    );

    const migrated = await cli('migrate', '--from-dagu', dagu);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('imported 3 run(s)');
    expect(migrated.stdout).toContain('1 not finished in Dagu, left out');

    const history = await cli('history', 'etl');
    expect(history.stdout).toMatch(/run-b\s+failed/);
    expect(history.stdout).toMatch(/run-a\s+finished/);
    expect(history.stdout).not.toContain('still-running');

    const json = JSON.parse((await cli('status', 'etl', '-r', 'run-a', '--json')).stdout) as {
      statusLabel: string;
      params: string;
      startedAt: string;
      nodes: Array<{ step: { name: string; depends?: string[] }; statusLabel: string }>;
      onExit?: { statusLabel: string };
    };
    expect(json.statusLabel).toBe('finished');
    expect(json.params).toBe('DAY=2025-01-02');
    expect(new Date(json.startedAt).toISOString()).toBe('2025-01-02T03:04:05.000Z');
    expect(json.nodes.map((n) => [n.step.name, n.statusLabel])).toEqual([
      ['extract', 'finished'],
      ['load', 'finished'],
    ]);
    expect(json.nodes[1]!.step.depends).toEqual(['extract']);
    expect(json.onExit?.statusLabel).toBe('finished');

    const failed = await cli('status', 'etl', '-r', 'run-b');
    expect(failed.stdout).toMatch(/load\s+failed\s+\S+\s+\S+\s+7\s+exit status 7/);
    expect(failed.stdout).toContain('  | disk full');
    expect((await cli('status', 'etl', '-r', 'child-1')).stdout).toContain('DAG:      transform');

    // The logs were copied: they stay readable once Dagu's directory is gone.
    rmSync(logs, { recursive: true });
    expect((await cli('logs', 'etl', '-r', 'run-a', '--step', 'extract')).stdout).toBe(
      'rows: 42\n',
    );
    expect((await cli('logs', 'etl', '-r', 'run-a')).stdout).toBe('run log of run-a\n');

    const again = await cli('migrate', '--from-dagu', join(dagu, 'dag-runs'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('imported 0 run(s)');
    expect(again.stdout).toContain('3 already imported');
    expect((await cli('history', 'etl')).stdout.trim().split('\n')).toHaveLength(3);
  });

  it('fails with a message for a directory without Dagu runs', async () => {
    const result = await cli('migrate', '--from-dagu', join(work, 'nowhere'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no such directory|no Dagu dag-runs/);
    const empty = await cli('migrate', '--from-dagu', dagu);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('no Dagu dag-runs found');
  });
});
