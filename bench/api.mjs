// The REST API end to end: the BUILT server (`node apps/server/dist/main.js --port 0`) as a child
// process on 127.0.0.1 with a temporary home, driven over HTTP. Measures
//   1. the server tree's RSS when idle (empty home, 2 s after it listens; then idle again after
//      one run: the spawn helper ends once it has had no step for HELPER_IDLE_MS, 10 s), the
//      private pages of a spawn helper, while one runs, added to the server's RSS;
//   2. completed one-step runs (`true`) per second started through POST /api/v2/dags/{f}/start by
//      8 concurrent clients, each polling its run every 10 ms until it is finished, with the CPU
//      per run of the server, its spawn helper, the step processes and this bench (/proc); beside
//      it the machine's floor: this process forking the step's `<shell> -c true` 8 at a time;
//   3. start → first step running: 100 sequential runs of a step `date +%s%N`, from the moment the
//      POST is sent to the wall-clock time the step process printed;
//   4. p50/p95 of GET /dag-runs (default query: today's runs, up to 1000) and of
//      GET /dags/{f}/dag-runs (a DAG's last 30 runs) once the same home holds N runs of 500 DAGs
//      (filled with SqliteRunStore.importRuns while the server is stopped; 1 % of them today).
// Run after a build: `node bench/api.mjs [runs] [historyRuns]` (or BENCH_API_RUNS=<historyRuns>);
// defaults 400 and 1,000,000. BENCH_SERVER_NODE_ARGS passes Node flags to the server (profiling).
import { spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DagRunStatus, HELPER_IDLE_MS, NodeStatus, parseDag } from '../packages/core/dist/index.js';
import { openStore } from '../packages/store/dist/index.js';

const MAIN = fileURLToPath(new URL('../apps/server/dist/main.js', import.meta.url));
const throughputRuns = Number(process.argv[2] ?? 400);
const historyRuns = Number(process.argv[3] ?? process.env.BENCH_API_RUNS ?? 1_000_000);
const clients = 8;
// The shell the engine runs a step's command with (dag-yaml.md §2.1).
const stepShell = process.env.DAGU_DEFAULT_SHELL || process.env.SHELL || 'sh';
// Node flags for the server only, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p".
const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const latencyRuns = 100;
const historyDags = 500;
const listingSamples = 200;
const batchSize = 10_000;
const TERMINAL = new Set([
  DagRunStatus.Failed,
  DagRunStatus.Canceled,
  DagRunStatus.Success,
  DagRunStatus.PartialSuccess,
]);

const home = mkdtempSync(join(tmpdir(), 'dagu-bench-api-'));
const dagsDir = join(home, 'dags');
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
let server; // { child, api, exited }

/** Wall-clock time in ms with sub-millisecond resolution. */
const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const must = (condition, message) => {
  if (!condition) throw new Error(`bench sanity check failed: ${message}`);
};

// ---- the server ------------------------------------------------------------------------------

function startServer() {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('DAGU_')),
  );
  const child = spawn(
    process.execPath,
    [...serverNodeArgs, MAIN, '--port', '0', '--host', '127.0.0.1'],
    {
      env: { ...env, DAGU_HOME: home, DAGU_SKIP_EXAMPLES: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line; stderr: ${stderr}`)),
      60_000,
    );
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          resolve({ child, api: new URL(entry.api), exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; stderr: ${stderr}`));
    }, reject);
  });
}

async function stopServer() {
  if (!server) return;
  const { child, exited } = server;
  server = undefined;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timeout = sleep(15_000).then(() => 'timeout');
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

function rssMb(pid) {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  must(match, 'VmRSS in /proc/<pid>/status');
  return Number(match[1]) / 1024;
}

/** A process's own pages (USS): what it adds to the pages it shares with the server. */
function privateMb(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  let kb = 0;
  for (const match of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+)\s+kB/gm))
    kb += Number(match[1]);
  return kb / 1024;
}

function descendants(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/**
 * The server tree's resident memory with shared pages counted once: the server's RSS plus the
 * private pages of every process under it (the spawn helper; its Node binary pages are the
 * server's too). Returns the total and how many helper processes it counted.
 */
function treeRssMb(pid) {
  const others = descendants(pid);
  let total = rssMb(pid);
  for (const child of others) {
    try {
      total += privateMb(child);
    } catch {
      // Gone in between.
    }
  }
  return { total, processes: others.length };
}

/** CPU time (user + system) of a process and of its reaped children, in ms (/proc/<pid>/stat). */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14 … cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = (i) => Number(fields[i - 3]);
    return { own: (ticks(14) + ticks(15)) * 10, children: (ticks(16) + ticks(17)) * 10 };
  } catch {
    return { own: 0, children: 0 };
  }
}

/**
 * CPU of the server tree so far: the server itself, its spawn helper(s) alive now, and the step
 * processes (reaped by the helper, so counted in the helper's children's time).
 */
function treeCpuMs(pid) {
  const server = cpuMs(pid);
  let helper = 0;
  let steps = 0;
  for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)) {
    const cpu = cpuMs(Number(child));
    helper += cpu.own;
    steps += cpu.children;
  }
  return { server: server.own, helper, steps };
}

/** One JSON request to the API; rejects on a non-2xx status. */
function call(method, path, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: server.api.hostname,
        port: server.api.port,
        method,
        path: `${server.api.pathname}${path}`,
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode < 200 || res.statusCode >= 300) {
            const error = new Error(`${method} ${path}: HTTP ${res.statusCode} ${text}`);
            error.status = res.statusCode;
            reject(error);
            return;
          }
          try {
            resolve(text ? JSON.parse(text) : {});
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** POST …/start; resolves with the run id. */
async function startRun(fileName) {
  const { dagRunId } = await call('POST', `/dags/${fileName}/start`, {});
  must(typeof dagRunId === 'string' && dagRunId !== '', 'start returns a dagRunId');
  return dagRunId;
}

/** Polls the run every 10 ms until its status is terminal; resolves with its details. */
let polls = 0;
async function waitFinished(name, dagRunId) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    polls++;
    try {
      const { dagRunDetails } = await call('GET', `/dag-runs/${name}/${dagRunId}`);
      if (TERMINAL.has(dagRunDetails.status)) return dagRunDetails;
    } catch (error) {
      if (error.status !== 404) throw error; // not recorded yet
    }
    if (Date.now() > deadline) throw new Error(`run ${name}/${dagRunId} did not finish in 60 s`);
    await sleep(10);
  }
}

// ---- 2. throughput ---------------------------------------------------------------------------

async function throughput() {
  const name = 'bench-one-step';
  let started = 0;
  let failed = 0;
  const client = async () => {
    while (started < throughputRuns) {
      started++;
      const dagRunId = await startRun(name);
      const details = await waitFinished(name, dagRunId);
      if (details.status !== DagRunStatus.Success) failed++;
    }
  };
  const cpuBefore = treeCpuMs(server.child.pid);
  const pollsBefore = polls;
  const benchBefore = process.cpuUsage();
  const at = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - at) / 1000;
  const cpuAfter = treeCpuMs(server.child.pid);
  const bench = process.cpuUsage(benchBefore);
  must(failed === 0, `${failed} of ${throughputRuns} one-step runs did not succeed`);
  const perRun = (ms) => (ms / throughputRuns).toFixed(2);
  const cpu =
    [
      `server ${perRun(cpuAfter.server - cpuBefore.server)}`,
      `helper ${perRun(cpuAfter.helper - cpuBefore.helper)}`,
      `steps ${perRun(cpuAfter.steps - cpuBefore.steps)}`,
      `bench ${perRun((bench.user + bench.system) / 1000)} ms`,
    ].join(' / ') + `; ${((polls - pollsBefore) / throughputRuns).toFixed(1)} GETs per run`;
  return { runsPerSecond: throughputRuns / seconds, cpu };
}

/**
 * The machine's floor for the runs/s phase: this process forking the step's program
 * (`<shell> -c true`, the shell the engine runs steps with) as the spawn helper does (own
 * process group, output to a file), as many at a time as the bench has clients, with no server.
 */
async function spawnFloor(count) {
  const logPath = join(home, 'spawn-floor.log');
  const one = () =>
    new Promise((resolve, reject) => {
      const out = openSync(logPath, 'a');
      const child = spawn(stepShell, ['-c', 'true'], {
        stdio: ['ignore', out, out],
        detached: true,
      });
      closeSync(out);
      child.once('error', reject);
      child.once('exit', resolve);
    });
  let started = 0;
  const at = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (started < count) {
        started++;
        await one();
      }
    }),
  );
  return count / ((performance.now() - at) / 1000);
}

// ---- 3. start → first step running -----------------------------------------------------------

async function startToStepRunning() {
  const name = 'bench-stamp';
  const latencies = [];
  for (let i = 0; i < latencyRuns; i++) {
    const sentAt = wallMs();
    const dagRunId = await startRun(name);
    const details = await waitFinished(name, dagRunId);
    must(details.status === DagRunStatus.Success, `stamp run ${dagRunId} succeeded`);
    const { content } = await call('GET', `/dag-runs/${name}/${dagRunId}/steps/stamp/log`);
    const stamp = /^\s*(\d{16,})\s*$/.exec(content ?? '');
    must(stamp, `step stdout is nanoseconds since the epoch, got ${JSON.stringify(content)}`);
    const stepMs = Number(BigInt(stamp[1]) / 1000n) / 1000;
    latencies.push(stepMs - sentAt);
  }
  return latencies;
}

// ---- 4. history fill -------------------------------------------------------------------------

/** A UUID v7 for run `i` at `ms`, without the cost of random bytes per id (as bench/store.mjs). */
function runId(ms, i) {
  const hex =
    ms.toString(16).padStart(12, '0') + (i * 2654435761).toString(16).padStart(20, '0').slice(-20);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** 85 % success, 10 % failed, 4 % canceled, 1 % partial success. */
function statusOf(i) {
  const r = (i * 7919) % 100;
  if (r < 85) return DagRunStatus.Success;
  if (r < 95) return DagRunStatus.Failed;
  if (r < 99) return DagRunStatus.Canceled;
  return DagRunStatus.PartialSuccess;
}

function snapshot(dag, dagRunId, status, at) {
  const ok = status === DagRunStatus.Success;
  return {
    name: dag.name,
    dagRunId,
    attemptId: dagRunId.slice(-6),
    root: { name: dag.name, dagRunId },
    parent: undefined,
    status,
    pid: 1,
    queuedAt: '',
    startedAt: at,
    finishedAt: at,
    log: '',
    params: '',
    paramsList: [],
    nodes: dag.steps.map((step) => ({
      step,
      status: ok ? NodeStatus.Success : NodeStatus.Failed,
      stdout: '',
      stderr: '',
      startedAt: at,
      finishedAt: at,
      retriedAt: '',
      retryCount: 0,
      doneCount: 1,
      repeated: false,
      exitCode: ok ? 0 : 1,
      error: ok ? '' : 'exit status 1',
      preconditions: [],
      children: [],
      childrenRepeated: [],
      outputs: {},
    })),
    handlers: {},
    preconditions: [],
    error: ok ? '' : 'exit status 1',
  };
}

const historyYaml =
  'steps:\n  - name: step0\n    command: echo 0\n  - name: step1\n    command: echo 1\n  - name: step2\n    command: echo 2\n';

/**
 * Fills the stopped server's store with `historyRuns` runs over `historyDags` DAGs: 100 days, one
 * per `historyRuns / 100` runs, the last one today (from UTC midnight until a second ago), so the
 * default GET /dag-runs window (today) holds 1 % of them.
 */
async function fillHistory() {
  const dags = Array.from({ length: historyDags }, (_, i) =>
    parseDag(historyYaml, { name: `hist-${String(i).padStart(3, '0')}` }),
  );
  const now = Date.now();
  const midnight = new Date(now);
  midnight.setUTCHours(0, 0, 0, 0);
  const today = midnight.getTime();
  const todaySpan = Math.max(1, now - 1000 - today);
  const days = 100;
  const perDay = historyRuns / days;
  const store = openStore({ home });
  const at = performance.now();
  try {
    for (let first = 0; first < historyRuns; first += batchSize) {
      const batch = [];
      for (let i = first; i < Math.min(first + batchSize, historyRuns); i++) {
        const dag = dags[i % historyDags];
        const day = Math.floor(i / perDay); // 0 = 99 days ago … 99 = today
        const within = (i - day * perDay) / perDay; // [0, 1)
        const ms =
          day === days - 1
            ? today + Math.floor(within * todaySpan)
            : today - (days - 1 - day) * 86_400_000 + Math.floor(within * 86_400_000);
        const dagRunId = runId(ms, i);
        batch.push({
          dag,
          snapshot: snapshot(dag, dagRunId, statusOf(i), new Date(ms).toISOString()),
          trigger: 'schedule',
        });
      }
      await store.runs.importRuns(batch);
    }
  } finally {
    store.close();
  }
  // The DAG file of one of those names, for GET /dags/{f}/dag-runs.
  writeFileSync(join(dagsDir, `${dags[0].name}.yaml`), historyYaml);
  return { seconds: (performance.now() - at) / 1000, fileName: dags[0].name };
}

async function measureGet(path, check) {
  for (let i = 0; i < 20; i++) await call('GET', path); // warm-up
  const times = [];
  let last;
  for (let i = 0; i < listingSamples; i++) {
    const t = performance.now();
    last = await call('GET', path);
    times.push(performance.now() - t);
  }
  check(last);
  return { p50: percentile(times, 50), p95: percentile(times, 95), last };
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  mkdirSync(dagsDir, { recursive: true });
  writeFileSync(
    join(dagsDir, 'bench-one-step.yaml'),
    'maxActiveRuns: -1\nsteps:\n  - name: one\n    command: "true"\n',
  );
  writeFileSync(
    join(dagsDir, 'bench-stamp.yaml'),
    'maxActiveRuns: -1\nsteps:\n  - name: stamp\n    command: "date +%s%N"\n',
  );

  // 1. idle RSS: before any request, then (below) idle again with the spawn helper running
  server = await startServer();
  await sleep(2000);
  const idleRss = treeRssMb(server.child.pid);

  // 2., 3.
  await startRun('bench-one-step').then((id) => waitFinished('bench-one-step', id)); // warm-up
  // Idle again: the spawn helper ends once it has had no step for HELPER_IDLE_MS.
  const idleWaitMs = HELPER_IDLE_MS + 1000;
  await sleep(idleWaitMs);
  const helperRss = treeRssMb(server.child.pid);
  const { runsPerSecond, cpu } = await throughput();
  const busyRss = treeRssMb(server.child.pid); // right after the runs: the helper still runs
  const stepLatency = await startToStepRunning();
  await sleep(idleWaitMs);
  const afterRss = treeRssMb(server.child.pid);
  await stopServer();
  const floorPerSecond = await spawnFloor(throughputRuns);

  // 4. history
  const fill = await fillHistory();
  server = await startServer();
  const perDay = historyRuns / 100;
  // The default page of GET /dag-runs is 100 runs (RUN_LIST_DEFAULT_LIMIT).
  const expectedToday = Math.min(100, Math.ceil(perDay));
  const all = await measureGet('/dag-runs', ({ dagRuns }) =>
    must(
      Array.isArray(dagRuns) && dagRuns.length >= expectedToday - 1,
      `GET /dag-runs lists today's runs (got ${dagRuns?.length})`,
    ),
  );
  const perDag = await measureGet(`/dags/${fill.fileName}/dag-runs`, ({ dagRuns }) =>
    must(
      Array.isArray(dagRuns) && dagRuns.length === Math.min(30, historyRuns / historyDags),
      `GET /dags/${fill.fileName}/dag-runs lists the last 30 runs (got ${dagRuns?.length})`,
    ),
  );
  const loadedRss = rssMb(server.child.pid);
  await stopServer();

  const p50Latency = percentile(stepLatency, 50);
  const p95Latency = percentile(stepLatency, 95);
  const rows = [
    [
      `server tree RSS, idle before any request (${idleRss.processes} helper)`,
      `${idleRss.total.toFixed(1)} MB`,
      '≤ 80 MB',
      idleRss.total <= 80,
    ],
    [
      `server tree RSS, idle ${idleWaitMs / 1000} s after one run (server + ${helperRss.processes} helper)`,
      `${helperRss.total.toFixed(1)} MB`,
      '≤ 80 MB',
      helperRss.total <= 80,
    ],
    [
      `completed one-step runs/s (${throughputRuns} runs, ${clients} clients)`,
      `${runsPerSecond.toFixed(1)} /s`,
      '≥ 200 /s',
      runsPerSecond >= 200,
    ],
    [
      `start → first step running (${latencyRuns} runs), p50 / p95`,
      `${p50Latency.toFixed(2)} / ${p95Latency.toFixed(2)} ms`,
      'p95 ≤ 20 ms',
      p95Latency <= 20,
    ],
    [
      `GET /dag-runs (${all.last.dagRuns.length} of today's runs), p50 / p95`,
      `${all.p50.toFixed(2)} / ${all.p95.toFixed(2)} ms`,
      'p95 ≤ 20 ms',
      all.p95 <= 20,
    ],
    [
      `GET /dags/${fill.fileName}/dag-runs (last ${perDag.last.dagRuns.length}), p50 / p95`,
      `${perDag.p50.toFixed(2)} / ${perDag.p95.toFixed(2)} ms`,
      'p95 ≤ 20 ms',
      perDag.p95 <= 20,
    ],
  ];
  const info = [
    ['CPU per run in the runs/s phase: server / helper / step processes / bench', cpu],
    [
      `spawn floor: this process forking \`${stepShell} -c true\`, ${clients} at a time, no server`,
      `${floorPerSecond.toFixed(1)} /s (runs/s above: ${((100 * runsPerSecond) / floorPerSecond).toFixed(0)} % of it)`,
    ],
    [
      `history fill (${historyRuns.toLocaleString('en')} runs, ${historyDags} DAGs, importRuns)`,
      `${fill.seconds.toFixed(1)} s (${Math.round(historyRuns / fill.seconds).toLocaleString('en')} runs/s)`,
    ],
    [
      `server tree RSS right after the runs/s phase (server + ${busyRss.processes} helper)`,
      `${busyRss.total.toFixed(1)} MB`,
    ],
    [
      `server tree RSS, idle ${idleWaitMs / 1000} s after the runs (server + ${afterRss.processes} helper)`,
      `${afterRss.total.toFixed(1)} MB`,
    ],
    ['server RSS after the listings', `${loadedRss.toFixed(1)} MB`],
  ];

  console.log(
    `api: built server on 127.0.0.1, ${process.version}, ${historyRuns.toLocaleString('en')} runs in the store ` +
      `for the listings (${listingSamples} samples each)`,
  );
  const width = Math.max(...[...rows, ...info].map((r) => r[0].length));
  const figureWidth = Math.max(...[...rows, ...info].map((r) => r[1].length));
  console.log(
    `${'measure'.padEnd(width)}  ${'figure'.padEnd(figureWidth)}  ${'target'.padEnd(11)}`,
  );
  for (const [label, figure, target, ok] of rows)
    console.log(
      `${label.padEnd(width)}  ${figure.padEnd(figureWidth)}  ${target.padEnd(11)}  ${ok ? 'ok' : 'MISSED'}`,
    );
  console.log('-- for information');
  for (const [label, figure] of info) console.log(`${label.padEnd(width)}  ${figure}`);
  process.exitCode = rows.every((row) => row[3]) ? 0 : 1;
}

const cleanUp = async () => {
  try {
    await stopServer();
  } finally {
    agent.destroy();
    rmSync(home, { recursive: true, force: true });
  }
};
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    server?.child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
    process.exit(130);
  });

try {
  await main();
} catch (error) {
  server?.child.kill('SIGKILL');
  process.exitCode = 1;
  console.error(error);
} finally {
  await cleanUp();
}
