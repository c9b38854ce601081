// Dagu's CLI habits (issue #12) through the built binary: JSON `-p`, `version`, `dequeue
// --dag-run name:id`, global `-c/--config` and `-q/--quiet`, `scheduler --dags`, status of a
// child run, the richer `status`, `history`'s QUEUED column, remote-mode help, and the README's
// way to call dagu-ts from any directory.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cliBin, cliEnv, repoRoot, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-cli-habits-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let home: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  home = mkdtempSync(join(work, 'home-'));
  mkdirSync(join(home, 'dags'));
  env = cliEnv(home);
});

function dagFile(name: string, yaml: string, dir = join(home, 'dags')): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

const cli = (...args: string[]) => runCli(args, { env, cwd: home });

interface RunJson {
  dagRunId: string;
  statusLabel: string;
  params?: string;
  nodes: Array<{ step: { name: string }; stdout: string; children?: Array<{ dagRunId: string }> }>;
}

async function statusJson(dag: string, runId?: string): Promise<RunJson> {
  const result = await cli('status', dag, '--json', ...(runId ? ['-r', runId] : []));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as RunJson;
}

/** The cells of a `history` row under each header (columns are padded to the widest cell). */
function historyColumns(text: string, runId: string): Record<string, string> {
  const [header, ...rows] = text.split('\n');
  const row = rows.find((r) => r.startsWith(`${runId} `))!;
  const names = [...header!.matchAll(/\S+(?: \S+)*/g)];
  return Object.fromEntries(
    names.map((match, i) => [
      match[0],
      row.slice(match.index, names[i + 1]?.index ?? row.length).trim(),
    ]),
  );
}

describe('-p accepts a JSON object', () => {
  it('start, dry and enqueue turn {"K":"v"} into K="v" params like the API', async () => {
    dagFile(
      'region',
      'params: "REGION=eu TIER=1"\nsteps:\n  - {name: show, command: echo "region=$REGION tier=$TIER"}\n',
    );
    const started = await cli('start', 'region', '-r', 'j1', '-p', '{"REGION":"us east","TIER":2}');
    expect(started.code, started.stderr).toBe(0);
    const run = await statusJson('region', 'j1');
    expect(readFileSync(run.nodes[0]!.stdout, 'utf8')).toBe('region=us east tier=2\n');
    expect(run.params).not.toContain('1={');

    const dry = await cli('dry', 'region', '-p', '{"REGION":"us"}');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('params: REGION=us TIER=1');

    expect((await cli('enqueue', 'region', '-r', 'q1', '-p', '{"TIER":"3"}')).code).toBe(0);
    expect((await statusJson('region', 'q1')).params).toBe('REGION=eu TIER=3');

    const bad = await cli('start', 'region', '-p', '{"bad name":"x"}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid parameter name');
  });
});

describe("Dagu's verbs and flags", () => {
  it('version prints the version like --version', async () => {
    const version = await cli('version');
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toBe((await cli('--version')).stdout);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('dequeue --dag-run name:id, next to <dag> --run-id', async () => {
    dagFile('later', 'steps:\n  - {name: a, command: echo a}\n');
    expect((await cli('enqueue', 'later', '-r', 'q1')).code).toBe(0);
    const dequeued = await cli('dequeue', '--dag-run', 'later:q1');
    expect(dequeued.code, dequeued.stderr).toBe(0);
    expect(dequeued.stdout).toContain('dequeued later q1');
    expect((await statusJson('later', 'q1')).statusLabel).toBe('canceled');
    const malformed = await cli('dequeue', '--dag-run', 'later');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('<name>:<run id>');
  });

  it('-c/--config takes the directories from a config file; a missing file is an error', async () => {
    const site = join(work, `site-${Date.now()}`);
    mkdirSync(join(site, 'flows'), { recursive: true });
    dagFile('elsewhere', 'steps:\n  - {name: a, command: echo from-config}\n', join(site, 'flows'));
    writeFileSync(
      join(site, 'config.yaml'),
      'paths:\n  dagsDir: flows\n  dataDir: state\n  logDir: state/logs\n',
    );
    const started = await cli('-c', join(site, 'config.yaml'), 'start', 'elsewhere', '-r', 'c1');
    expect(started.code, started.stderr).toBe(0);
    const status = await cli('--config', join(site, 'config.yaml'), 'status', 'elsewhere');
    expect(status.stdout).toContain('Status:   finished');
    expect(readFileSync(join(site, 'state', 'dagu.db')).length).toBeGreaterThan(0);
    // Without the config file the run is not in DAGU_HOME's store.
    expect((await cli('status', 'elsewhere')).code).toBe(1);
    // $DAGU_HOME/config.yaml is read by default, as the server does.
    writeFileSync(join(home, 'config.yaml'), `paths:\n  dagsDir: ${join(site, 'flows')}\n`);
    expect((await cli('validate', 'elsewhere')).code).toBe(0);
    const missing = await cli('-c', join(site, 'nope.yaml'), 'list');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('config file not found');
  });

  it('-q/--quiet leaves out the progress lines', async () => {
    dagFile('hello', 'steps:\n  - {name: a, command: echo hi}\n');
    const loud = await cli('start', 'hello');
    expect(loud.stderr).toContain('step a: finished');
    const quiet = await cli('start', '-q', 'hello');
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    const failing = dagFile('failing', 'steps:\n  - {name: a, command: exit 1}\n');
    expect((await cli('--quiet', 'start', failing)).code).toBe(1);
  });

  it('scheduler --dags DIR (and -d) schedules the DAGs of that directory', async () => {
    const dir = join(work, `scheduled-${Date.now()}`);
    mkdirSync(dir);
    dagFile('nightly', 'schedule: "0 3 * * *"\nsteps:\n  - {name: a, command: echo a}\n', dir);
    for (const flag of ['--dags', '-d']) {
      const child = spawn(process.execPath, [cliBin, 'scheduler', flag, dir], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      let output = '';
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('"msg":"running"')) resolve();
        });
        void exited.then(() => reject(new Error(`scheduler exited: ${output}`)), reject);
      });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const running = JSON.parse(output.split('\n').find((l) => l.includes('"running"'))!) as {
        dagsDir: string;
        dags: unknown;
      };
      expect(running.dagsDir).toBe(dir);
      expect(JSON.stringify(running.dags)).toContain('nightly');
    }
  });

  it('status <dag> -r <child-id> shows a child run', async () => {
    dagFile('child', 'steps:\n  - {name: greet, command: echo child-says-hi}\n');
    dagFile('parent', 'steps:\n  - {name: call, run: child}\n');
    expect((await cli('start', 'parent', '-r', 'p1')).code).toBe(0);
    const childId = (await statusJson('parent', 'p1')).nodes[0]!.children![0]!.dagRunId;
    const byParent = await cli('status', 'parent', '-r', childId);
    expect(byParent.code, byParent.stderr).toBe(0);
    expect(byParent.stdout).toContain('DAG:      child');
    expect(byParent.stdout).toContain(`Run ID:   ${childId}`);
    expect(byParent.stdout).toContain('Root:     parent p1');
    expect((await statusJson('child', childId)).statusLabel).toBe('finished');
    expect((await cli('status', 'parent', '-r', 'no-such-child')).code).toBe(1);
  });
});

describe('status and history', () => {
  it('status shows the pid, per-step durations and exit codes, and the last lines of a failed step', async () => {
    dagFile(
      'mixed',
      [
        'steps:',
        '  - {name: quick, command: echo fine}',
        '  - name: broken',
        '    command: sh -c \'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "line $i" >&2; done; exit 3\'',
        '    depends: quick',
        '',
      ].join('\n'),
    );
    expect((await cli('start', 'mixed', '-r', 'm1')).code).toBe(1);
    const status = await cli('status', 'mixed');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^PID: {6}\d+$/m);
    expect(status.stdout).toMatch(/STEP\s+STATUS\s+STARTED\s+DURATION\s+EXIT/);
    expect(status.stdout).toMatch(/quick\s+finished\s+\S+\s+\d+(\.\d+)?m?s\s+0/);
    expect(status.stdout).toMatch(/broken\s+failed\s+\S+\s+\d+(\.\d+)?m?s\s+3/);
    expect(status.stdout).toContain('Log of broken (last 10 line(s)):');
    expect(status.stdout).toContain('  | line 12');
    expect(status.stdout).toContain('  | line 3\n');
    expect(status.stdout).not.toContain('  | line 2\n');
  });

  it('history shows - under STARTED for a run that never started, and its queue time apart', async () => {
    dagFile('waits', 'steps:\n  - {name: a, command: echo a}\n');
    expect((await cli('start', 'waits', '-r', 'ran')).code).toBe(0);
    expect((await cli('enqueue', 'waits', '-r', 'queued')).code).toBe(0);
    expect((await cli('enqueue', 'waits', '-r', 'dropped')).code).toBe(0);
    expect((await cli('dequeue', 'waits', '-r', 'dropped')).code).toBe(0);
    const history = await cli('history', 'waits');
    expect(history.code, history.stderr).toBe(0);
    for (const id of ['queued', 'dropped']) {
      const row = historyColumns(history.stdout, id);
      expect(row.STARTED).toBe('-');
      expect(row.QUEUED).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(historyColumns(history.stdout, 'ran').STARTED).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe('documentation', () => {
  it('--help says how remote mode authenticates and which commands are local only', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const text of ['DAGU_AUTH_TOKEN', 'DAGU_AUTH_BASIC_USERNAME', 'JWT', 'Local only'])
      expect(help.stdout).toContain(text);
    expect(help.stdout).toMatch(/Local only[^.]*validate and dry/);
  });

  it("the README's ways to call dagu-ts work from any directory", async () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const line = (pattern: RegExp) => pattern.exec(readme)?.[0].replace(/\s+#.*$/, '') ?? 'false';
    const bin = join(work, `bin-${Date.now()}`);
    mkdirSync(bin);
    // As a user would: set up in the repository, then call dagu-ts somewhere else. The wrapper
    // goes to a temporary directory instead of ~/.local/bin.
    const setup = [
      line(/^alias dagu-ts=.*$/m),
      line(/^printf .*dagu-ts$/m).replace('~/.local/bin', bin),
      line(/^chmod \+x .*dagu-ts$/m).replace('~/.local/bin', bin),
    ];
    const script = [
      'shopt -s expand_aliases',
      `cd ${JSON.stringify(repoRoot)}`,
      ...setup,
      `cd ${JSON.stringify(work)}`,
      'dagu-ts version',
      `${bin}/dagu-ts version`,
    ].join('\n');
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/^(\d+\.\d+\.\d+\n){2}$/);
  });
});
