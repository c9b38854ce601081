// Engine overhead: a 200-step chain and a 200-step fan-out (graph, maxActiveSteps: 2) of `true`
// through the DagRunner, next to (a) a bare Node loop spawning `<shell> -c true` the same way
// (own process group, output to a file descriptor; the shell the engine runs steps with:
// $DAGU_DEFAULT_SHELL, else $SHELL, else sh) and (b) the same graph as a Makefile run with
// make -j1 / -j2. Prints milliseconds (median of 5 runs) and the ratios. Then the CLI as users
// run it (`dagu-ts start`, SQLite persistence on a temporary DAGU_HOME) over a size sweep: a
// chain of 50, 200 and 1,000 steps and a 200-wide fan-out with maxActiveSteps: 2, per step
// (the start-up cost of a 1-step run subtracted) against a bare Node spawn loop of the same size,
// run back to back in each round (median of the rounds' ratios; target ≤ 1.35). Run after a
// build: `node bench/executor.mjs [steps] [--cli-only]` (BENCH_CLI_ROUNDS sets the CLI rounds,
// default 5).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DagRunner, parseDag, ProcessSpawner } from '../packages/core/dist/index.js';

const args = process.argv.slice(2);
const cliOnly = args.includes('--cli-only');
const steps = Number(args.find((a) => !a.startsWith('--')) ?? 200);
const rounds = 5;
const cliRounds = Number(process.env.BENCH_CLI_ROUNDS ?? 5);
const cliBin = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dagu-bench-exec-'));

function dagYaml(kind, count = steps) {
  const lines = kind === 'chain' ? ['type: chain'] : ['type: graph', 'maxActiveSteps: 2'];
  lines.push('steps:');
  for (let i = 0; i < count; i++) lines.push(`  - name: s${i}`, '    command: "true"');
  return lines.join('\n');
}

async function engine(kind, spawner) {
  const dag = parseDag(dagYaml(kind), { location: join(dir, `${kind}.yaml`) });
  const started = performance.now();
  const result = await new DagRunner({
    dag,
    logDir: join(dir, 'logs'),
    cwd: dir,
    ...(spawner ? { spawner } : {}),
  }).run();
  const elapsed = performance.now() - started;
  if (result.status !== 4) throw new Error(`engine run ended with status ${result.status}`);
  return elapsed;
}

// The engine's default shell (dag-yaml.md §2.1): the bare loop forks the same program.
const stepShell = process.env.DAGU_DEFAULT_SHELL || process.env.SHELL || 'sh';

function spawnTrue(fd) {
  return new Promise((resolve, reject) => {
    const child = spawn(stepShell, ['-c', 'true'], {
      cwd: dir,
      env: process.env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
}

async function bareNode(concurrency, count = steps) {
  const fd = openSync(join(dir, 'bare.log'), 'a');
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await spawnTrue(fd);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  closeSync(fd);
  return elapsed;
}

function makefile(kind) {
  const targets = Array.from({ length: steps }, (_, i) => `s${i}`);
  const lines = [
    '.PHONY: all ' + targets.join(' '),
    `all: ${kind === 'chain' ? targets.at(-1) : targets.join(' ')}`,
  ];
  targets.forEach((target, i) => {
    const dependency = kind === 'chain' && i > 0 ? targets[i - 1] : '';
    lines.push(`${target}: ${dependency}`, '\t@true');
  });
  const file = join(dir, `Makefile.${kind}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function make(kind, jobs) {
  const file = makefile(kind);
  const started = performance.now();
  execFileSync('make', ['-s', `-j${jobs}`, '-f', file], { cwd: dir, stdio: 'ignore' });
  return performance.now() - started;
}

async function median(measure, times = rounds) {
  const values = [];
  for (let i = 0; i < times; i++) values.push(await measure());
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

let hasMake = true;
try {
  execFileSync('make', ['--version'], { stdio: 'ignore' });
} catch {
  hasMake = false;
}

/** One `dagu-ts start` of a DAG file as users run it: its own process, stderr to a file. */
function cliStart(home, file) {
  const started = performance.now();
  const err = openSync(join(home, 'progress.log'), 'a');
  try {
    execFileSync(process.execPath, [cliBin, 'start', file], {
      cwd: dir,
      env: { ...process.env, DAGU_HOME: home },
      stdio: ['ignore', 'ignore', err],
    });
  } finally {
    closeSync(err);
  }
  return performance.now() - started;
}

async function cliSweep() {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const write = (name, yaml) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, yaml);
    return file;
  };
  const one = write('cli-one', dagYaml('chain', 1));
  cliStart(home, one); // warm-up: creates and migrates the database
  const cases = [
    ['chain', 50, 1],
    ['chain', 200, 1],
    ['chain', 1000, 1],
    ['fan-out', 200, 2],
  ];
  console.log(
    `\ncli: \`dagu-ts start\` with SQLite persistence, ${cliRounds} rounds; each round runs the ` +
      'start-up (1-step run), the CLI and the bare loop back to back, and its ratio compares ' +
      'them within the round (the machine is shared: ratios, not times, are the figure); ' +
      `steps and the bare loop run \`${stepShell} -c true\``,
  );
  console.log(
    'graph                    steps   cli ms  per step ms  bare node ms  bare per step  cli/bare (median, min-max)  target',
  );
  for (const [kind, count, jobs] of cases) {
    const file = write(`cli-${kind}-${count}`, dagYaml(kind, count));
    const rows = [];
    for (let round = 0; round < cliRounds; round++) {
      const startup = cliStart(home, one);
      const cli = cliStart(home, file);
      const bare = await bareNode(jobs, count);
      const perStep = (cli - startup) / (count - 1);
      const barePerStep = bare / count;
      rows.push({ cli, bare, perStep, barePerStep, ratio: perStep / barePerStep });
    }
    const mid = (key) => {
      const values = rows.map((row) => row[key]).sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)];
    };
    const ratios = rows.map((row) => row.ratio).sort((a, b) => a - b);
    const ratio = mid('ratio');
    const label = kind === 'chain' ? 'chain (-j1)' : 'fan-out (max 2, -j2)';
    console.log(
      `${label.padEnd(22)} ${String(count).padStart(7)} ${mid('cli').toFixed(0).padStart(8)} ` +
        `${mid('perStep').toFixed(2).padStart(12)} ${mid('bare').toFixed(0).padStart(13)} ` +
        `${mid('barePerStep').toFixed(2).padStart(14)} ` +
        `${`${ratio.toFixed(2)} (${ratios[0].toFixed(2)}-${ratios.at(-1).toFixed(2)})`.padStart(27)}` +
        `  ≤ 1.35 ${ratio <= 1.35 ? 'ok' : 'MISSED'}`,
    );
  }
}

const spawner = new ProcessSpawner();
try {
  if (!cliOnly) await inProcess();
  await cliSweep();
} finally {
  spawner.close();
  rmSync(dir, { recursive: true, force: true });
}

async function inProcess() {
  await engine('chain'); // warm-up: module loading and JIT
  await engine('chain', spawner);
  const rows = [];
  for (const [kind, jobs] of [
    ['chain', 1],
    ['fan-out', 2],
  ]) {
    const runner = await median(() => engine(kind));
    const helper = await median(() => engine(kind, spawner));
    const bare = await median(() => bareNode(jobs));
    const makeMs = hasMake ? await median(() => make(kind, jobs)) : NaN;
    rows.push({ kind, runner, helper, bare, makeMs });
  }
  console.log(
    `executor: ${steps} steps of \`${stepShell} -c true\`, median of ${rounds} runs, ${process.version}`,
  );
  console.log('("runner" forks steps itself, as `dagu-ts start` does; "helper" through the spawn');
  console.log(' helper process the server uses)');
  console.log(
    'graph                 runner ms  helper ms  per step  bare node ms  make ms  runner/bare  helper/bare  runner/make',
  );
  for (const r of rows) {
    const label = r.kind === 'chain' ? 'chain (-j1)' : 'fan-out (max 2, -j2)';
    const cells = [
      r.runner.toFixed(0).padStart(9),
      r.helper.toFixed(0).padStart(10),
      (Math.min(r.runner, r.helper) / steps).toFixed(2).padStart(9),
      r.bare.toFixed(0).padStart(13),
      r.makeMs.toFixed(0).padStart(8),
      (r.runner / r.bare).toFixed(2).padStart(12),
      (r.helper / r.bare).toFixed(2).padStart(12),
      (r.runner / r.makeMs).toFixed(2).padStart(12),
    ];
    console.log(`${label.padEnd(21)} ${cells.join(' ')}`);
  }
}
