// Engine overhead: a 200-step chain and a 200-step fan-out (graph, maxActiveSteps: 2) of `true`
// through the DagRunner, next to (a) a bare Node loop spawning `/bin/sh -c true` the same way
// (own process group, output to a file descriptor) and (b) the same graph as a Makefile run with
// make -j1 / -j2. Prints milliseconds (median of 5 runs) and the ratios. Run after a build:
// `node bench/executor.mjs [steps]`.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DagRunner, parseDag, ProcessSpawner } from '../packages/core/dist/index.js';

const steps = Number(process.argv[2] ?? 200);
const rounds = 5;
const dir = mkdtempSync(join(tmpdir(), 'dagu-bench-exec-'));

function dagYaml(kind) {
  const lines = kind === 'chain' ? ['type: chain'] : ['type: graph', 'maxActiveSteps: 2'];
  lines.push('steps:');
  for (let i = 0; i < steps; i++) lines.push(`  - name: s${i}`, '    command: "true"');
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

function spawnTrue(fd) {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'true'], {
      cwd: dir,
      env: process.env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
}

async function bareNode(concurrency) {
  const fd = openSync(join(dir, 'bare.log'), 'a');
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < steps) {
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

async function median(measure) {
  const values = [];
  for (let i = 0; i < rounds; i++) values.push(await measure());
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

let hasMake = true;
try {
  execFileSync('make', ['--version'], { stdio: 'ignore' });
} catch {
  hasMake = false;
}

const spawner = new ProcessSpawner();
try {
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
  console.log(`executor: ${steps} steps of \`true\`, median of ${rounds} runs, ${process.version}`);
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
} finally {
  spawner.close();
  rmSync(dir, { recursive: true, force: true });
}
