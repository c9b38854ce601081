// Distributed execution on this machine (run after a build: `node bench/workers.mjs [runs]`): a
// real server process and 0, 1 or 2 worker processes on loopback.
// (1) claim latency: enqueue (POST …/start) → the first step running on a worker, one run at a
//     time, p50/p95 in ms (the run's status is polled every 5 ms, which bounds the resolution);
// (2) throughput: `runs` runs of a one-step DAG submitted at once, runs/s until all finished,
//     with 0 workers (the server executes them), 1 and 2 workers.
// On a 2-core machine more processes add no throughput; the point is the server's cost per remote
// run compared with a local one: (3) the server process's CPU time per run during (2), from
// /proc (Linux; n/a elsewhere).
// With DAGU_BENCH_DATABASE_URL=postgres://… the server uses that PostgreSQL database (the runs of
// each row go to DAGs of their own, so one empty database serves all three rows).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 100);
const latencyRuns = Math.min(50, runs);
const root = fileURLToPath(new URL('..', import.meta.url));
const serverBin = join(root, 'apps/server/dist/main.js');
const workerBin = join(root, 'apps/worker/dist/main.js');

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const databaseUrl = process.env.DAGU_BENCH_DATABASE_URL;

/** User + system CPU seconds of a process so far (Linux /proc; clock ticks at 100 Hz). */
function cpuSeconds(pid) {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return undefined;
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function cleanEnv(home) {
  const env = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('DAGU_')) env[key] = value;
  return { ...env, DAGU_HOME: home, SHELL: '/bin/sh' };
}

async function scenario(workers) {
  const home = mkdtempSync(join(tmpdir(), 'dagu-bench-workers-'));
  mkdirSync(join(home, 'dags'), { recursive: true });
  const selector = workers > 0 ? 'workerSelector: {bench: "yes"}\n' : '';
  const quick = `quick${workers}`;
  const hold = `hold${workers}`;
  writeFileSync(
    join(home, 'dags', `${quick}.yaml`),
    `${selector}maxActiveRuns: 1000\nsteps:\n  - {name: a, command: "true"}\n`,
  );
  writeFileSync(
    join(home, 'dags', `${hold}.yaml`),
    `${selector}maxActiveRuns: 1000\nsteps:\n  - {name: a, command: sleep 0.2}\n`,
  );
  const procs = [];
  const server = spawn(process.execPath, [serverBin, '--port', '0', '--host', '127.0.0.1'], {
    env: {
      ...cleanEnv(home),
      DAGU_SHUTDOWN_GRACE_SEC: '0',
      ...(databaseUrl ? { DAGU_DATABASE_URL: databaseUrl } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(server);
  let output = '';
  server.stderr.on('data', (chunk) => (output += chunk));
  server.stdout.on('data', (chunk) => (output += chunk));
  let api;
  while (!(api = /"api":"([^"]+)"/.exec(output)?.[1])) await sleep(50);
  for (let i = 0; i < workers; i++) {
    const worker = spawn(
      process.execPath,
      [workerBin, `--worker.id=bench-${i}`, '--worker.labels=bench=yes'],
      {
        env: { ...cleanEnv(join(home, `w${i}`)), DAGU_SERVER_URL: api.replace(/\/api\/v2$/, '') },
        stdio: 'ignore',
      },
    );
    procs.push(worker);
  }
  if (workers > 0) {
    for (;;) {
      const body = await (await fetch(`${api}/workers`)).json();
      if (body.workers.length === workers) break;
      await sleep(50);
    }
  }
  const start = (dag, dagRunId) =>
    fetch(`${api}/dags/${dag}/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dagRunId }),
    }).then((response) => response.text());
  const details = async (dag, id) =>
    (await (await fetch(`${api}/dag-runs/${dag}/${id}`)).json()).dagRunDetails;

  const latencies = [];
  for (let i = 0; i < latencyRuns; i++) {
    const at = performance.now();
    await start(hold, `l${i}`);
    for (;;) {
      const run = await details(hold, `l${i}`);
      if (run.nodes[0].status >= 1) break;
      await sleep(5);
    }
    latencies.push(performance.now() - at);
  }
  // Let the last holds end before the throughput run.
  await sleep(400);

  const cpuBefore = cpuSeconds(server.pid);
  const began = performance.now();
  await Promise.all(Array.from({ length: runs }, (_, i) => start(quick, `t${i}`)));
  for (;;) {
    const list = await (await fetch(`${api}/dag-runs/${quick}?limit=1000`)).json();
    if (list.dagRuns.filter((run) => run.status === 4).length >= runs) break;
    await sleep(50);
  }
  const seconds = (performance.now() - began) / 1000;
  const cpuAfter = cpuSeconds(server.pid);
  for (const proc of procs) proc.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
  const serverCpuMsPerRun =
    cpuBefore === undefined || cpuAfter === undefined
      ? undefined
      : ((cpuAfter - cpuBefore) * 1000) / runs;
  return { latencies, perSecond: runs / seconds, serverCpuMsPerRun };
}

console.log(`store: ${databaseUrl ? 'PostgreSQL' : 'SQLite'}`);
for (const workers of [0, 1, 2]) {
  const { latencies, perSecond, serverCpuMsPerRun } = await scenario(workers);
  const where = workers === 0 ? 'server (no worker)' : `${workers} worker(s)`;
  const cpu = serverCpuMsPerRun === undefined ? 'n/a' : `${serverCpuMsPerRun.toFixed(1)} ms`;
  console.log(
    `${where.padEnd(20)} enqueue→step running p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
      `p95 ${percentile(latencies, 95).toFixed(1)} ms; ${runs} runs: ${perSecond.toFixed(1)} runs/s, ` +
      `server CPU ${cpu}/run`,
  );
}
